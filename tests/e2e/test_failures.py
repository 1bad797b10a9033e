"""Failures of the gateway's dependencies, on stacks of this module's own (so no other test's
cached decisions play a part): the policy service stopped, answering garbage, errors or
nothing at all (a stand-in HTTP server on its port: a failure-injection double for the
dependency; Envoy, the filter and rclone stay real), stale-if-error, and the S3 upstream
stopped. Every failure ends in S3 error XML, in time, and the gateway recovers by itself.
docs/security.md names these tests."""

import re
import shutil
import socket
import threading
import time
import tomllib
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from http.client import HTTPConnection, IncompleteRead
from urllib.parse import quote, urlsplit

import pytest
import render_envoy
import stack
import yaml
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import REPO, start_stack
from gateway import KEYS, SECRET, disk_file, fresh_region, http, s3_error

OBJECT = "sales/region=eu/part-00000.csv"
LIST = "/s3p/immuta?list-type=2&prefix=sales%2F"
POLICY_TIMEOUT = 2.0  # policy_timeout_ms in envoy/envoy.yaml
SLACK = 1.5


@pytest.fixture(scope="module")
def lone(demo_dir, tmp_path_factory):
    """A stack with the checked-in configuration (no stale-if-error), but for one user
    metadata name allowed: `note`."""
    s = start_stack(demo_dir, tmp_path_factory.mktemp("run-failures"),
                    plugin_overrides={"user_metadata": ["note"]})
    yield s
    s.stop()


STALE_GRACE = 2


def policies_with_ttl(tmp_path_factory, ttl):
    """A copy of the demo policies whose decisions live `ttl` seconds."""
    policies = tmp_path_factory.mktemp(f"policies-ttl{ttl}")
    for name in ("data_sources.yaml", "principals.yaml", "rules.yaml"):
        shutil.copy(REPO / "policies" / name, policies / name)
    rules = policies / "rules.yaml"
    text, n = re.subn(r"(?m)^decision_ttl_seconds: \d+$", f"decision_ttl_seconds: {ttl}",
                      rules.read_text())
    assert n == 1, "rules.yaml no longer sets decision_ttl_seconds"
    rules.write_text(text)
    return policies


@pytest.fixture(scope="module")
def stale(demo_dir, tmp_path_factory):
    """Decisions live 1 s (a copy of the demo policies) and may be served 2 s past that."""
    policies = policies_with_ttl(tmp_path_factory, 1)
    s = start_stack(demo_dir, tmp_path_factory.mktemp("run-stale"), policies=policies,
                    plugin_overrides={"stale_if_error_seconds": STALE_GRACE})
    yield s
    s.stop()


# --- helpers -----------------------------------------------------------------------------------

def sigv4_headers(stack, path, region, principal="alice"):
    """The headers of a GET of `path` SigV4-signed by botocore for `region`."""
    request = AWSRequest(method="GET", url=f"http://127.0.0.1:{stack.port}{path}")
    S3SigV4Auth(Credentials(KEYS[principal], SECRET), "s3", region).add_auth(request)
    return dict(request.headers.items())


def fresh_sigv4(stack, path, principal="alice"):
    """A SigV4 GET signed for a fresh region: the policy service is asked."""
    headers = sigv4_headers(stack, path, fresh_region(), principal)
    return http(stack.endpoint, "GET", path, headers=headers)


def sigv2(stack, key, principal="bob"):
    """A SigV2-signed GET: the signature is always checked by the policy service."""
    path = f"/s3p/immuta/{quote(key)}"
    request = AWSRequest(method="GET", url=f"http://127.0.0.1:{stack.port}{path}")
    request.auth_path = f"/immuta/{quote(key)}"  # SigV2 signs the S3 resource
    HmacV1Auth(Credentials(KEYS[principal], SECRET)).add_auth(request)
    return http(stack.endpoint, "GET", path, headers=dict(request.headers.items()))


def assert_unavailable(resp, code="ServiceUnavailable", status=503):
    assert resp.status == status, (resp.status, resp.body[:200])
    assert "html" not in resp.headers.get("content-type", "")
    assert s3_error(resp)[0] == code
    assert b"order_id" not in resp.body


def wait_until_ok(request, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while (resp := request()).status != 200:
        assert time.monotonic() < deadline, f"{what}: still {resp.status} after {timeout}s"
        time.sleep(0.1)
    return resp


@pytest.fixture(scope="module")
def short_ttl(demo_dir, tmp_path_factory):
    """Decisions live 5 s (a copy of the demo policies)."""
    policies = policies_with_ttl(tmp_path_factory, 5)
    s = start_stack(demo_dir, tmp_path_factory.mktemp("run-ttl5"), policies=policies)
    yield s
    s.stop()


def test_hot_key_is_refreshed_once_per_ttl_not_by_every_request(short_ttl):
    # 16 clients on one key across two expiries: one request refreshes the decision ahead of
    # time while the others go on with it, instead of all of them missing at once at expiry.
    url = f"/s3p/immuta/{quote(OBJECT)}"
    assert http(short_ttl.endpoint, "GET", url, key=KEYS["carol"]).status == 200
    before = short_ttl.stat("cluster.policy.upstream_rq_total")
    deadline = time.monotonic() + 11

    def client():
        statuses = set()
        while time.monotonic() < deadline:
            statuses.add(http(short_ttl.endpoint, "GET", url, key=KEYS["carol"]).status)
        return statuses

    with ThreadPoolExecutor(16) as pool:
        statuses = set().union(*pool.map(lambda _: client(), range(16)))
    assert statuses == {200}
    calls = short_ttl.stat("cluster.policy.upstream_rq_total") - before
    # Two or three TTLs went by: a refresh every 3 to 4 s (the filter counts whole seconds),
    # with room for one late refresh on a loaded machine.
    assert 1 <= calls <= 4, calls


def test_concurrent_cold_misses_make_one_policy_call(lone, demo_dir):
    # 32 clients at once with a decision nobody has cached (a fresh SigV4 scope), spread over
    # both Envoy workers: one request fetches it, the others wait for that answer (in its VM,
    # or through shared data from the other worker) instead of each asking the service.
    path = f"/s3p/immuta/{quote(OBJECT)}"
    region = fresh_region()
    # Signed first: the requests go out at once.
    signed = [sigv4_headers(lone, path, region) for _ in range(32)]
    before = lone.stat("cluster.policy.upstream_rq_total")
    barrier = threading.Barrier(32)

    def client(i):
        barrier.wait()
        started = time.monotonic()
        resp = http(lone.endpoint, "GET", path, headers=signed[i])
        return resp, time.monotonic() - started

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(client, range(32)))
    responses = [r for r, _ in results]
    assert [r.status for r in responses] == [200] * 32
    assert all(r.body == disk_file(demo_dir, OBJECT).read_bytes() for r in responses)
    assert lone.stat("cluster.policy.upstream_rq_total") - before == 1
    # Whoever waited was resumed by the answer, not by a deadline (a few seconds). How many
    # waited depends on how fast the service answers; the hanging test below makes them all.
    assert max(elapsed for _, elapsed in results) < POLICY_TIMEOUT, results


# A policy service that fails in one way; the filter must fail closed on each.
class Impostor(BaseHTTPRequestHandler):
    behaviour = "error"
    release = threading.Event()

    def log_message(self, *args):
        pass

    def _answer(self):
        if self.behaviour == "hang":
            self.release.wait(30)  # past the filter's timeout: it must give up first
            return
        if self.behaviour == "not http":
            self.wfile.write(b"garbage garbage\r\n\r\n")
            return
        if self.behaviour == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            return
        status, body = {
            "error": (500, b'{"error":"internal"}'),
            "unavailable": (503, b"upstream overloaded"),
            "garbage": (200, b"\x00\xffnot json at all{"),
            "wrong json": (200, b'{"principal": 42, "data_sources": "all"}'),
            "html": (200, b"<html><body>hello</body></html>"),
            "redirect": (302, b""),
        }[self.behaviour]
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        if status == 302:
            self.send_header("location", "http://127.0.0.1:1/")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


@contextmanager
def serving(port, handler):
    """A throw-away HTTP server on `port` while the block runs."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def policy_replaced_by(stack, behaviour):
    """The real policy service stopped, an impostor on its port; the real one back after."""
    stack.stop_policy()
    handler = type("Impostor", (Impostor,), {"behaviour": behaviour,
                                              "release": threading.Event()})
    try:
        with serving(stack.policy_port, handler):
            try:
                yield
            finally:
                handler.release.set()  # let hanging answers go before the server stops
    finally:
        stack.start_policy()


# --- the policy service stopped ---------------------------------------------------------------

def test_policy_service_stopped_fails_closed_then_recovers(lone):
    cached = http(lone.endpoint, "GET", LIST, key=KEYS["alice"])
    assert cached.status == 200
    lone.stop_policy()
    try:
        for request in (lambda: fresh_sigv4(lone, LIST),
                        lambda: fresh_sigv4(lone, f"/s3p/immuta/{quote(OBJECT)}"),
                        lambda: sigv2(lone, OBJECT),
                        lambda: http(lone.endpoint, "GET", LIST, key=KEYS["carol"])):
            started = time.monotonic()
            assert_unavailable(request())
            assert time.monotonic() - started < POLICY_TIMEOUT + SLACK
        # A decision cached before the outage holds until its TTL (60 s in the demo).
        assert http(lone.endpoint, "GET", LIST, key=KEYS["alice"]).body == cached.body
    finally:
        lone.start_policy()
    wait_until_ok(lambda: fresh_sigv4(lone, LIST), "SigV4 after the restart")
    assert sigv2(lone, OBJECT).status == 200
    assert http(lone.endpoint, "GET", LIST, key=KEYS["carol"]).status == 200


# --- the policy service misbehaving -----------------------------------------------------------

@pytest.mark.parametrize("behaviour", ["error", "unavailable", "garbage", "wrong json", "html",
                                       "redirect", "not http", "reset"])
def test_policy_service_misbehaving_fails_closed(lone, behaviour):
    calls = lone.stat("wasmcustom.s3gate_policy_calls")
    with policy_replaced_by(lone, behaviour):
        for request in (lambda: fresh_sigv4(lone, LIST),
                        lambda: fresh_sigv4(lone, f"/s3p/immuta/{quote(OBJECT)}"),
                        lambda: sigv2(lone, OBJECT)):
            started = time.monotonic()
            assert_unavailable(request())
            assert time.monotonic() - started < POLICY_TIMEOUT + SLACK
    assert lone.stat("wasmcustom.s3gate_policy_calls") >= calls + 3  # it really was asked
    wait_until_ok(lambda: fresh_sigv4(lone, LIST), f"after {behaviour}")


def test_policy_service_hanging_times_out(lone):
    def timed(request):
        started = time.monotonic()
        resp = request()
        return resp, time.monotonic() - started

    with policy_replaced_by(lone, "hang"):
        with ThreadPoolExecutor(3) as pool:  # side by side: one timeout's wait for all three
            results = list(pool.map(timed, (
                lambda: fresh_sigv4(lone, f"/s3p/immuta/{quote(OBJECT)}"),
                lambda: fresh_sigv4(lone, LIST),
                lambda: sigv2(lone, OBJECT))))
    for resp, elapsed in results:
        assert_unavailable(resp)
        # The filter's own timeout answered: not sooner, and not much later.
        assert POLICY_TIMEOUT - 0.3 <= elapsed < POLICY_TIMEOUT + SLACK, elapsed
    wait_until_ok(lambda: fresh_sigv4(lone, LIST), "after a hang")


def test_requests_waiting_on_a_hanging_fetch_fail_with_it(lone):
    # 12 clients miss the same decision while the service hangs: one call goes out, and every
    # request (the ones parked on it in both workers included) gets 503 at its timeout.
    path = f"/s3p/immuta/{quote(OBJECT)}"
    region = fresh_region()
    barrier = threading.Barrier(12)

    def client(_):
        headers = sigv4_headers(lone, path, region)
        barrier.wait()
        started = time.monotonic()
        resp = http(lone.endpoint, "GET", path, headers=headers)
        return resp, time.monotonic() - started

    before = lone.stat("cluster.policy.upstream_rq_total")
    parked = lone.stat("wasmcustom.s3gate_parked_requests")
    by_tick = lone.stat("wasmcustom.s3gate_parked_resumed_by_tick")
    with policy_replaced_by(lone, "hang"):
        with ThreadPoolExecutor(12) as pool:
            results = list(pool.map(client, range(12)))
    for resp, elapsed in results:
        assert_unavailable(resp)
        assert elapsed < POLICY_TIMEOUT + SLACK, elapsed
    assert lone.stat("cluster.policy.upstream_rq_total") - before == 1
    assert lone.stat("wasmcustom.s3gate_parked_requests") - parked == 11
    # 12 connections over 2 workers: the other worker's requests learnt of the failure through
    # shared data, resumed by its root context's tick.
    assert lone.stat("wasmcustom.s3gate_parked_resumed_by_tick") - by_tick >= 1


# --- stale-if-error ---------------------------------------------------------------------------

def test_stale_if_error_serves_cached_principals_within_the_grace(stale):
    served = "wasmcustom.s3gate_stale_decisions_served"
    assert stale.stat(served) == 0
    fresh = http(stale.endpoint, "GET", LIST, key=KEYS["alice"])
    assert fresh.status == 200
    answered = time.time()
    stale.stop_policy()
    try:
        time.sleep(max(0.0, answered + 1.05 - time.time()))  # the 1 s decision has expired
        for _ in range(4):  # whichever worker answers: the decision is in shared data
            assert http(stale.endpoint, "GET", LIST, key=KEYS["alice"]).body == fresh.body
        assert stale.stat(served) >= 4
        # Only known principals, only what was cached: everything else fails closed.
        assert_unavailable(http(stale.endpoint, "GET", LIST, key=KEYS["bob"]))
        assert_unavailable(http(stale.endpoint, "GET", LIST, key=f"nobody-{uuid.uuid4().hex}"))
        assert_unavailable(fresh_sigv4(stale, LIST))  # another scope: nothing cached
        # Past the grace, alice fails closed too.
        time.sleep(max(0.0, answered + 1 + STALE_GRACE + 0.05 - time.time()))
        count = stale.stat(served)
        assert_unavailable(http(stale.endpoint, "GET", LIST, key=KEYS["alice"]))
        assert stale.stat(served) == count
    finally:
        stale.start_policy()
    wait_until_ok(lambda: http(stale.endpoint, "GET", LIST, key=KEYS["alice"]), "after stale")
    assert http(stale.endpoint, "GET", LIST, key=KEYS["bob"]).status == 200


def test_stale_if_error_is_off_by_default(lone):
    # The checked-in configuration sets no grace: nothing stale is ever served.
    assert lone.stat("wasmcustom.s3gate_stale_decisions_served") == 0


# --- the S3 upstream stopped ------------------------------------------------------------------

def test_upstream_stopped_fails_closed_then_recovers(lone, demo_dir):
    path = f"/s3p/immuta/{quote(OBJECT)}"
    assert http(lone.endpoint, "GET", path, key=KEYS["alice"]).status == 200  # alice cached
    lone.stop_upstream()
    try:
        assert_unavailable(http(lone.endpoint, "GET", path, key=KEYS["alice"]))
        assert_unavailable(http(lone.endpoint, "GET", LIST, key=KEYS["alice"]))
        assert_unavailable(http(lone.endpoint, "GET", "/s3p/immuta?prefix=events/&delimiter=/",
                                key=KEYS["alice"]))
        head = http(lone.endpoint, "HEAD", path, key=KEYS["alice"])
        assert head.status == 503 and head.body == b""
        # What needs no upstream still works.
        assert http(lone.endpoint, "GET", "/s3p", key=KEYS["alice"]).status == 200
        assert http(lone.endpoint, "GET", "/s3p/immuta?delimiter=/",
                    key=KEYS["alice"]).status == 200
    finally:
        lone.start_upstream()
    resp = wait_until_ok(lambda: http(lone.endpoint, "GET", path, key=KEYS["alice"]),
                         "object GET after the upstream restart")
    assert resp.body == disk_file(demo_dir, OBJECT).read_bytes()
    assert http(lone.endpoint, "GET", LIST, key=KEYS["alice"]).status == 200


# A misbehaving S3 store: answers that must never reach the client as they are.
REAL_DETAIL = b"acme-warehouse-prod curated/sales/ s3.internal.example REQ-1234"


class BadStore(BaseHTTPRequestHandler):
    behaviour = "truncated listing"

    def log_message(self, *args):
        pass

    def do_GET(self):
        listing = "list-type=2" in self.path
        if self.behaviour == "truncated listing" and listing:
            body = (b'<?xml version="1.0"?><ListBucketResult><Name>acme-warehouse-prod</Name>'
                    b"<Contents><Key>curated/sales/region=eu/part-00000.csv</Key><Size>1")
            return self._send(200, "application/xml", body)
        if self.behaviour == "foreign keys" and listing:
            body = (b'<?xml version="1.0"?><ListBucketResult><IsTruncated>false</IsTruncated>'
                    b"<Contents><Key>secrets/credentials.txt</Key><Size>1</Size></Contents>"
                    b"</ListBucketResult>")
            return self._send(200, "application/xml", body)
        if self.behaviour == "detailed errors":
            body = (b"<Error><Code>AccessDenied</Code><Message>" + REAL_DETAIL +
                    b"</Message><BucketName>acme-warehouse-prod</BucketName></Error>")
            self.send_response(403)
            self.send_header("x-amz-request-id", "REQ-1234")
            self.send_header("x-amz-bucket-region", "eu-west-9")
            self.send_header("content-type", "application/xml")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None
        if self.behaviour == "latin-1 metadata":
            body = b"order_id,region\n1,eu\n"
            self.send_response(200)
            self.send_header("content-type", "text/csv")
            self.send_header("content-length", str(len(body)))
            self.send_header("x-amz-meta-note", "caf\xe9")  # sent as the byte 0xE9
            self.send_header("x-amz-id-2", "caf\xe9 REQ-1234")
            self.end_headers()
            self.wfile.write(body)
            return None
        if self.behaviour == "user metadata":
            body = b"order_id,region\n1,eu\n"
            self.send_response(200)
            self.send_header("content-type", "text/csv")
            self.send_header("content-length", str(len(body)))
            self.send_header("x-amz-meta-note", "kept")
            self.send_header("x-amz-meta-source-path", "s3://acme-warehouse-prod/curated/x")
            self.send_header("x-amz-meta-owner", "someone@acme")
            self.send_header("x-amz-meta-owner", "again")
            self.end_headers()
            self.wfile.write(body)
            return None
        if self.behaviour == "reset mid-body":
            self.send_response(200)
            self.send_header("content-type", "text/csv")
            self.send_header("content-length", "100000")
            self.end_headers()
            self.wfile.write(b"order_id,region\n" * 100)
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            return None
        return self._send(500, "text/plain", b"unexpected")

    do_HEAD = do_GET

    def _send(self, status, content_type, body):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def upstream_replaced_by(stack, behaviour):
    """rclone stopped, a misbehaving store on its port; rclone back after."""
    stack.stop_upstream()
    try:
        with serving(stack.upstream_port, type("BadStore", (BadStore,), {"behaviour": behaviour})):
            yield
    finally:
        stack.start_upstream()


@pytest.mark.parametrize("behaviour", ["truncated listing", "foreign keys"])
def test_broken_upstream_listings_are_a_clean_error(lone, behaviour):
    # Never a partially filtered listing: the page is refused whole.
    with upstream_replaced_by(lone, behaviour):
        resp = http(lone.endpoint, "GET", LIST, key=KEYS["alice"])
    assert resp.status == 502, (resp.status, resp.body[:300])
    assert s3_error(resp)[0] == "InternalError"
    assert b"secrets" not in resp.body and b"part-00000" not in resp.body


def test_upstream_error_details_never_reach_the_client(lone):
    path = f"/s3p/immuta/{quote(OBJECT)}"
    with upstream_replaced_by(lone, "detailed errors"):
        resp = http(lone.endpoint, "GET", path, key=KEYS["alice"])
    assert resp.status == 403
    assert s3_error(resp) == ("AccessDenied", "Access Denied")
    everything = resp.body + repr(resp.headers).encode()
    for detail in REAL_DETAIL.split() + [b"eu-west-9"]:
        assert detail not in everything, detail


def test_upstream_header_values_that_are_not_utf8_pass_as_bytes(lone):
    # A store's metadata may hold any byte (RFC 9110 obs-text): the filter reads the map without
    # failing, passes kept headers byte for byte, still scrubs the rest, and keeps serving.
    with upstream_replaced_by(lone, "latin-1 metadata"):
        resp = raw_get(lone, f"/s3p/immuta/{quote(OBJECT)}")
        again = raw_get(lone, f"/s3p/immuta/{quote(OBJECT)}")
    for answer in (resp, again):
        assert answer.status == 200, answer.status
        assert answer.body == b"order_id,region\n1,eu\n"
        assert answer.getheader("x-amz-meta-note").encode("latin-1") == b"caf\xe9"
        assert answer.getheader("x-amz-id-2") is None


def test_only_allowed_user_metadata_reaches_the_client(lone):
    # A store may keep real names in x-amz-meta-*: only the names the plugin configuration
    # allows (`user_metadata`, here ["note"]) pass, on GET and HEAD.
    with upstream_replaced_by(lone, "user metadata"):
        resp = raw_get(lone, f"/s3p/immuta/{quote(OBJECT)}")
        head = raw_get(lone, f"/s3p/immuta/{quote(OBJECT)}", method="HEAD")
    for answer in (resp, head):
        assert answer.status == 200, answer.status
        meta = [(n.lower(), v) for n, v in answer.getheaders()
                if n.lower().startswith("x-amz-meta-")]
        assert meta == [("x-amz-meta-note", "kept")], meta
    assert resp.body == b"order_id,region\n1,eu\n"


def raw_get(stack, path, method="GET"):
    url = urlsplit(stack.endpoint)
    conn = HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request(method, path, headers={"Authorization": f"AWS {KEYS['alice']}:{SECRET}"})
    resp = conn.getresponse()
    resp.body = resp.read()
    conn.close()
    return resp


def test_upstream_reset_mid_body_is_a_reset_not_a_whole_answer(lone):
    # Headers already went out: the client must see the body cut short, never a complete 200.
    url = urlsplit(lone.endpoint)
    with upstream_replaced_by(lone, "reset mid-body"):
        conn = HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request("GET", f"/s3p/immuta/{quote(OBJECT)}",
                     headers={"Authorization": f"AWS {KEYS['alice']}:{SECRET}"})
        resp = conn.getresponse()
        assert resp.status == 200
        with pytest.raises((IncompleteRead, ConnectionError)):
            resp.read()
        conn.close()


def test_policy_service_port_is_not_the_gateways(lone):
    # The service has no authentication of its own: it must sit where only Envoy reaches it.
    assert lone.policy_port not in (lone.port, lone.root_port, lone.admin_port)


# --- the plugin itself failing ----------------------------------------------------------------

def test_a_plugin_that_cannot_configure_never_serves(demo_dir, tmp_path):
    # An invalid plugin configuration makes the filter's on_configure fail; with
    # failure_policy FAIL_CLOSED Envoy then refuses to start rather than run without it.
    broken = stack.Stack(demo_dir, tmp_path / "run", plugin_overrides={"bucket": "a/b"})
    with pytest.raises(RuntimeError) as exc:
        broken.start()
    assert not broken.children  # everything it started is stopped again
    log = (tmp_path / "run" / "envoy.log").read_text()
    assert "Plugin configured to fail closed failed to load" in log
    assert "must be a non-empty name" in log  # the filter said why
    assert "envoy" in str(exc.value)


def test_without_a_mask_secret_masked_tables_fail_closed(demo_dir, tmp_path_factory):
    # No S3GATE_MASK_SECRET in Envoy's environment: the plugin loads, objects without a table
    # policy are served, a masked view is refused (never served in clear) and says nothing of it.
    s = start_stack(demo_dir, tmp_path_factory.mktemp("run-no-mask-secret"), mask_secret="")
    try:
        assert s.mask_secret == ""
        key = "customers/customers.csv"
        carol = http(s.endpoint, "GET", f"/s3p/immuta/{key}", key=KEYS["carol"])
        assert carol.status == 200 and carol.body == disk_file(demo_dir, key).read_bytes()
        for method in ("GET", "HEAD"):
            resp = http(s.endpoint, method, f"/s3p/immuta/{key}", key=KEYS["alice"])
            assert resp.status == 503, (method, resp.status)
            assert b"@example.com" not in resp.body
        assert s3_error(http(s.endpoint, "GET", f"/s3p/immuta/{key}", key=KEYS["erin"]))[0] \
            == "ServiceUnavailable"
    finally:
        s.stop()


def test_a_mask_secret_shorter_than_32_bytes_stops_the_plugin(demo_dir, tmp_path):
    short = stack.Stack(demo_dir, tmp_path / "run", mask_secret="x" * 31)
    with pytest.raises(RuntimeError):
        short.start()
    assert not short.children
    log = (tmp_path / "run" / "envoy.log").read_text()
    assert "must be at least 32 bytes" in log
    assert "x" * 31 not in log


def test_panics_abort_and_both_listeners_fail_closed(lone):
    cargo = tomllib.loads((REPO / "Cargo.toml").read_text())
    # A panic aborts the VM (no unwinding into a half-updated state); Envoy's failure policy
    # then decides, and clippy keeps panicking calls out of the code in the first place.
    assert cargo["profile"]["release"]["panic"] == "abort"
    assert cargo["lints"]["workspace"] is True
    lints = cargo["workspace"]["lints"]["clippy"]
    assert {lints[n] for n in ("unwrap_used", "expect_used", "panic")} == {"deny"}
    for source in (render_envoy.SOURCE, lone.envoy_config):
        listeners = yaml.safe_load(Path(source).read_text())["static_resources"]["listeners"]
        policies = [render_envoy.plugin_config(listener)["failure_policy"]
                    for listener in listeners]
        assert policies == ["FAIL_CLOSED"] * 2, source
