"""Hostile use of the request flow (core/src/flow/): requests parked on a decision fetch and woken
with calls of their own (listing pages, the HEAD before a conditional GET or a suffix range),
on both listeners at once; clients that go away while parked or mid-listing; a policy service
that stops answering or answers garbage. Each request must get its own, correct answer, nothing
may hang or pile up, and every failure fails closed."""

import socket
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import stack as stack_mod
from conftest import start_stack
from gateway import DAY, KEYS, S3_NS, SECRET, disk_file, fresh_region, http, md5_hex, s3_error

KEY = "sales/region=eu/part-00001.csv"
QKEY = quote(KEY)  # as clients send it (botocore signs it so)
HIDDEN = "sales/_SUCCESS"  # housekeeping: hidden from everyone
CLUSTER_HEADER = "x-s3gate-upstream"


class PolicyGate(BaseHTTPRequestHandler):
    """Stands on the policy service's port in front of the real service: passes calls through
    while `open` is set (holding them while it is not), or answers `garbage` when set."""
    open = threading.Event()
    garbage = None
    upstream = None  # (host, port) of the real service

    def do_GET(self):
        self._relay()

    def do_POST(self):
        self._relay()

    def _relay(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        type(self).open.wait(30)
        if type(self).garbage is not None:
            status, data, kind = type(self).garbage + ("application/json",)
        else:
            conn = HTTPConnection(*type(self).upstream, timeout=10)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            status, data = resp.status, resp.read()
            kind = resp.getheader("content-type") or "application/json"
            conn.close()
        try:
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the gateway gave up on the call

    def log_message(self, *_):
        pass


@pytest.fixture(scope="module")
def stack(demo_dir, tmp_path_factory):
    """A stack of its own whose policy calls pass through `PolicyGate`."""
    run = tmp_path_factory.mktemp("attacks-flow")
    s = start_stack(demo_dir, run)
    s.stop_policy()
    real_port = stack_mod.free_ports(1)[0]
    real = s._policy()
    real.argv[real.argv.index("--listen") + 1] = f"127.0.0.1:{real_port}"
    real.log = run / "policy-real.log"
    real.start()
    deadline = time.monotonic() + 20
    while not stack_mod.port_open(real_port):
        assert time.monotonic() < deadline, "the policy service did not start"
        time.sleep(0.1)
    PolicyGate.upstream = ("127.0.0.1", real_port)
    PolicyGate.open.set()
    server = ThreadingHTTPServer(("127.0.0.1", s.policy_port), PolicyGate)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield s
    PolicyGate.open.set()
    server.shutdown()
    server.server_close()
    stack_mod.Stack._stop([real])
    s.stop()


def base(stack, root):
    return stack.root_endpoint if root else stack.endpoint


def prefix(root):
    return "" if root else "/s3p"


def sigv4(stack, method, path, region, principal="alice", headers=None, root=False):
    """`path` (from the listener's root) signed by botocore for `region`; the headers to send."""
    url = f"{base(stack, root).split('/s3p')[0]}{path}"
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}))
    S3SigV4Auth(Credentials(KEYS[principal], SECRET), "s3", region).add_auth(request)
    return dict(request.headers.items())


def sigv2(stack, method, path, principal="bob", headers=None, root=False):
    url = f"{base(stack, root).split('/s3p')[0]}{path}"
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}))
    request.auth_path = path[len(prefix(root)):].split("?")[0]
    HmacV1Auth(Credentials(KEYS[principal], SECRET)).add_auth(request)
    return dict(request.headers.items())


def send(stack, method, path, headers, root=False):
    return http(base(stack, root), method, path, headers=headers)


def summary(resp):
    """What must be the same for the same request, whoever else is asking at the time."""
    if resp.status >= 400 and resp.body:
        return resp.status, s3_error(resp)[0]
    keep = ("etag", "content-range", "content-length")
    return resp.status, resp.body, tuple(resp.headers.get(h) for h in keep)


def stop_policy(_stack):
    PolicyGate.open.clear()


def cont_policy(_stack):
    PolicyGate.open.set()


def cases(etag, root):
    """(name, method, path, extra headers) of requests whose answers each need a call of
    their own once the decision is known."""
    p = prefix(root)
    obj = f"{p}/immuta/{QKEY}"
    return [
        ("list-v2", "GET", f"{p}/immuta?list-type=2&prefix=sales%2F&delimiter=%2F", {}),
        ("list-day", "GET", f"{p}/immuta?list-type=2&prefix={DAY.replace('/', '%2F')}"
                            "&max-keys=1000", {}),
        ("list-v1", "GET", f"{p}/immuta?prefix=events%2F&delimiter=%2F", {}),
        ("inm", "GET", obj, {"If-None-Match": etag}),
        ("im", "GET", obj, {"If-Match": '"0123"'}),
        ("suffix", "GET", obj, {"Range": "bytes=-10"}),
        ("suffix-long", "GET", obj, {"Range": "bytes=-100000000"}),
        ("if-range", "GET", obj, {"Range": "bytes=0-9", "If-Range": etag}),
        ("if-range-no", "GET", obj, {"Range": "bytes=0-9", "If-Range": '"0123"'}),
        ("head", "HEAD", obj, {}),
        ("get", "GET", obj, {}),
        ("hidden-inm", "GET", f"{p}/immuta/{HIDDEN}", {"If-None-Match": "*"}),
        ("hidden-suffix", "GET", f"{p}/immuta/{HIDDEN}", {"Range": "bytes=-5"}),
        ("hidden-head", "HEAD", f"{p}/immuta/{HIDDEN}", {}),
        ("missing-if-range", "GET", f"{p}/immuta/sales/region%3Deu/nope.csv",
         {"Range": "bytes=0-3", "If-Range": etag}),
        ("cluster-header", "GET", obj, {CLUSTER_HEADER: "policy", "If-None-Match": '"0"'}),
        ("cluster-header-list", "GET", f"{p}/immuta?list-type=2&prefix=sales%2F",
         {CLUSTER_HEADER: "policy"}),
    ]


def expected_answers(stack, demo_dir):
    """Each case's answer with the decision warm (us-east-1, asked one at a time)."""
    data = disk_file(demo_dir, KEY).read_bytes()
    etag = f'"{md5_hex(disk_file(demo_dir, KEY))}"'
    want = {}
    for root in (False, True):
        for name, method, path, extra in cases(etag, root):
            resp = send(stack, method, path, sigv4(stack, method, path, "us-east-1",
                                                   headers=extra, root=root), root)
            want[(root, name)] = summary(resp)
    # The cases ask what they mean to ask (so a crossing of answers would show).
    assert want[(False, "inm")][0] == 304
    assert want[(False, "im")] == (412, "PreconditionFailed")
    assert want[(False, "suffix")][:2] == (206, data[-10:])
    assert want[(False, "suffix-long")][:2] == (206, data)
    assert want[(False, "if-range")][:2] == (206, data[:10])
    assert want[(False, "if-range-no")][:2] == (200, data)
    assert want[(False, "get")][:2] == (200, data)
    assert want[(False, "cluster-header")][:2] == (200, data)
    for hidden in ("hidden-inm", "hidden-suffix"):
        assert want[(False, hidden)] == (404, "NoSuchKey")
    assert want[(False, "hidden-head")][0] == 404
    assert want[(False, "missing-if-range")] == (404, "NoSuchKey")
    for root in (False, True):
        for name in ("list-v2", "list-day", "list-v1", "cluster-header-list"):
            assert want[(root, name)][0] == 200 and b"ListBucketResult" in want[(root, name)][1]
    return etag, want


def fire_parked(stack, jobs, hold=0.6):
    """Sends `jobs` (callables) at once while the policy service is stopped, so that one
    request per decision fetches and the others park; then lets the service answer."""
    stop_policy(stack)
    try:
        with ThreadPoolExecutor(len(jobs)) as pool:
            futures = [pool.submit(job) for job in jobs]
            time.sleep(hold)
            cont_policy(stack)
            return [f.result(timeout=60) for f in futures]
    finally:
        cont_policy(stack)


def parked_count(stack):
    """Requests parked so far (the filter's counter, whatever prefix Envoy gives it)."""
    import re
    import urllib.request
    with urllib.request.urlopen(f"{stack.admin_url}/stats?filter=s3gate_parked_requests",
                                timeout=5) as resp:
        text = resp.read().decode()
    found = re.findall(r"s3gate_parked_requests: (\d+)$", text, re.M)
    assert found, text
    return sum(int(n) for n in found)


def test_parked_requests_with_calls_of_their_own_get_their_own_answers(stack, demo_dir):
    """Cold misses of one scope on both listeners at once, parked while the policy service is
    stopped, then woken: each listing, conditional GET, If-Range, suffix range and HEAD gets
    exactly the answer it gets alone (none hangs, none crosses to another client), a client's
    cluster header never picks the upstream, hidden objects stay NoSuchKey, and every answer
    carries its own request id."""
    etag, want = expected_answers(stack, demo_dir)
    parked_before = parked_count(stack)
    for _ in range(2):
        region = fresh_region()
        jobs, names = [], []
        for root in (False, True):
            for name, method, path, extra in cases(etag, root):
                headers = sigv4(stack, method, path, region, headers=extra, root=root)
                jobs.append(lambda m=method, p=path, h=headers, r=root: send(stack, m, p, h, r))
                names.append((root, name))
        answers = fire_parked(stack, jobs)
        got = {n: summary(a) for n, a in zip(names, answers)}
        assert got == want
        ids = [a.headers.get("x-amz-request-id") for a in answers]
        assert all(ids) and len(set(ids)) == len(ids), ids
        for answer in answers:
            if answer.status >= 400 and answer.body:
                root = ET.fromstring(answer.body)
                assert root.findtext("RequestId") == answer.headers["x-amz-request-id"]
    assert parked_count(stack) > parked_before + 20


def test_sigv2_and_principals_parked_together_do_not_cross(stack, demo_dir):
    """SigV2 (bob, checked by the policy service first) and SigV4 requests of alice and bob,
    each key's decision cold, parked together: each principal sees only its own view."""
    p = "/s3p"
    listing = f"{p}/immuta?list-type=2&delimiter=%2F"
    obj = f"{p}/immuta/{QKEY}"
    alone = {}
    for who in ("alice", "bob"):
        h = sigv4(stack, "GET", listing, "us-east-1", principal=who)
        alone[who] = summary(send(stack, "GET", listing, h))
    assert alone["alice"] != alone["bob"]
    region = fresh_region()
    jobs, names = [], []
    for i in range(6):
        for who in ("alice", "bob"):
            h = sigv4(stack, "GET", listing, region, principal=who)
            jobs.append(lambda h=h: send(stack, "GET", listing, h))
            names.append(who)
        h2 = sigv2(stack, "GET", obj, principal="bob", headers={"Range": "bytes=-7"})
        jobs.append(lambda h=h2: send(stack, "GET", obj, h))
        names.append("bob-v2")
    answers = fire_parked(stack, jobs)
    v2_bob = summary(send(stack, "GET", obj, sigv2(stack, "GET", obj, principal="bob",
                                                   headers={"Range": "bytes=-7"})))
    assert v2_bob[:2] == (206, disk_file(demo_dir, KEY).read_bytes()[-7:])
    for who, answer in zip(names, answers):
        if who == "bob-v2":
            assert summary(answer) == v2_bob
        else:
            assert summary(answer) == alone[who], who


def _abort(stack, path, headers, root=False, wait=0.05):
    """Sends a request and goes away without reading the answer."""
    url = urlsplit(base(stack, root))
    sock = socket.create_connection((url.hostname, url.port), timeout=5)
    lines = [f"GET {path} HTTP/1.1", f"Host: {url.hostname}:{url.port}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "host"]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    time.sleep(wait)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


def _active(stack):
    return {
        "downstream": sum(stack.stat(f"http.{p}.downstream_rq_active")
                          for p in _http_prefixes(stack)),
        "policy": stack.stat("cluster.policy.upstream_rq_active"),
    }


def _http_prefixes(stack):
    import urllib.request
    with urllib.request.urlopen(f"{stack.admin_url}/stats?filter=downstream_rq_active$",
                                timeout=5) as resp:
        text = resp.read().decode()
    return sorted({line.split(".")[1] for line in text.splitlines()
                   if line.startswith("http.") and "admin" not in line})


def _settled(stack, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        active = _active(stack)
        if not any(active.values()) or time.monotonic() > deadline:
            return active
        time.sleep(0.2)


def test_clients_gone_while_parked_leave_nothing_behind(stack, demo_dir):
    """Hundreds of clients go away while parked on a stopped policy service (some of them the
    one fetching), on both listeners: afterwards no stream or policy call stays active, and the
    next request of the same scope is answered at once and rightly."""
    etag = f'"{md5_hex(disk_file(demo_dir, KEY))}"'
    region = fresh_region()
    stop_policy(stack)
    try:
        with ThreadPoolExecutor(32) as pool:
            futures = []
            for i in range(200):
                root = bool(i % 2)
                name, method, path, extra = cases(etag, root)[i % 10]
                if method != "GET":
                    continue
                headers = sigv4(stack, method, path, region, headers=extra, root=root)
                futures.append(pool.submit(_abort, stack, path, headers, root))
            for f in futures:
                f.result(timeout=60)
    finally:
        cont_policy(stack)
    assert _settled(stack) == {"downstream": 0, "policy": 0}
    path = f"/s3p/immuta/{QKEY}"
    started = time.monotonic()
    resp = send(stack, "GET", path, sigv4(stack, "GET", path, region,
                                          headers={"If-None-Match": etag}))
    assert resp.status == 304 and time.monotonic() - started < 3
    listing = "/immuta?list-type=2&prefix=sales%2F"
    resp = send(stack, "GET", listing, sigv4(stack, "GET", listing, region, root=True), True)
    assert resp.status == 200 and b"<Key>sales/" in resp.body


def test_clients_gone_mid_listing_or_head_leave_nothing_behind(stack, demo_dir):
    """Clients that go away while their listing pages or HEADs are being fetched (warm
    decision): no stream stays active, and listings still answer whole."""
    etag = f'"{md5_hex(disk_file(demo_dir, KEY))}"'
    day = f"/s3p/immuta?list-type=2&prefix={DAY.replace('/', '%2F')}"
    obj = f"/s3p/immuta/{QKEY}"
    reqs = [(day, {}), (obj, {"If-None-Match": etag}), (obj, {"Range": "bytes=-4"})]

    def round_of(n):
        with ThreadPoolExecutor(16) as pool:
            futures = [pool.submit(_abort, stack, path, sigv4(stack, "GET", path, "us-east-1",
                                                               headers=extra), False, 0.01)
                       for i in range(n) for path, extra in [reqs[i % len(reqs)]]]
            for f in futures:
                f.result(timeout=60)

    round_of(600)
    assert _settled(stack) == {"downstream": 0, "policy": 0}
    resp = send(stack, "GET", day, sigv4(stack, "GET", day, "us-east-1"))
    assert resp.status == 200
    assert ET.fromstring(resp.body).findtext(f"{S3_NS}KeyCount") == "1000"


@pytest.mark.parametrize("answer", [(200, b"not json"), (200, b"{}"),
                                    (200, b'{"enabled": true}'), (500, b"oops"),
                                    (204, b""), (302, b"")])
def test_policy_garbage_while_parked_fails_closed(stack, demo_dir, answer):
    """A policy service that answers nonsense: every parked request of a cold scope (listings,
    conditional GETs, HEADs, SigV2) fails with 503 ServiceUnavailable, none is served; a
    decision cached before keeps serving."""
    warm_path = f"/s3p/immuta/{QKEY}"
    assert send(stack, "GET", warm_path, sigv4(stack, "GET", warm_path, "us-east-1")).status \
        == 200
    PolicyGate.garbage = answer
    try:
        etag = f'"{md5_hex(disk_file(demo_dir, KEY))}"'
        region = fresh_region()
        jobs = []
        for root in (False, True):
            for name, method, path, extra in cases(etag, root):
                headers = sigv4(stack, method, path, region, headers=extra, root=root)
                jobs.append(lambda m=method, p=path, h=headers, r=root: send(stack, m, p, h, r))
        with ThreadPoolExecutor(len(jobs)) as pool:
            answers = list(pool.map(lambda j: j(), jobs))
        for resp in answers:
            assert resp.status == 503, (resp.status, resp.body[:200])
            if resp.body:
                assert s3_error(resp)[0] == "ServiceUnavailable"
        v2 = f"/s3p/immuta/{QKEY}"
        resp = send(stack, "GET", v2, sigv2(stack, "GET", v2, principal="carol"))
        assert resp.status in (403, 503), resp.status
        assert resp.status == 503 or s3_error(resp)[0] == "SignatureDoesNotMatch"
        resp = send(stack, "GET", warm_path, sigv4(stack, "GET", warm_path, "us-east-1"))
        assert resp.status == 200
    finally:
        PolicyGate.garbage = None


def test_listener_paths_do_not_cross(stack, demo_dir):
    """Each listener keeps its own addressing while both share a VM and wake parked requests:
    the root mount does not serve /s3p/... and the /s3p listener does not serve the root
    mount's paths, whether the decision is cold or warm."""
    data = disk_file(demo_dir, KEY).read_bytes()
    for region in (fresh_region(), "us-east-1"):
        jobs = []
        for root, path in ((True, f"/s3p/immuta/{QKEY}"), (False, f"/immuta/{QKEY}"),
                           (False, f"/s3p/s3p/immuta/{QKEY}"), (True, f"/immuta/{QKEY}")):
            headers = sigv4(stack, "GET", path, region, root=root)
            jobs.append(lambda p=path, h=headers, r=root: (p, r, send(stack, "GET", p, h, r)))
        with ThreadPoolExecutor(len(jobs)) as pool:
            results = list(pool.map(lambda j: j(), jobs))
        for path, root, resp in results:
            if root and path == f"/immuta/{QKEY}":
                assert (resp.status, resp.body) == (200, data)
            else:
                assert resp.status >= 400 and resp.body != data, (path, root, resp.status)
