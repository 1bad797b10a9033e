"""High availability through real Envoy: the policy service runs as two replicas behind the
`policy` cluster (active health checks, outlier detection, the filter's one retry), so losing
one under load fails no request; a dead upstream gives prompt S3 errors and recovers; the
policy service's own metrics and decision log. A stack of its own (replicas are killed)."""

import json
import threading
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config

from conftest import start_stack
from gateway import KEYS, SECRET, fresh_region, http

OBJECT = "sales/region=eu/part-00000.csv"


@pytest.fixture(scope="module")
def ha(demo_dir, tmp_path_factory):
    s = start_stack(demo_dir, tmp_path_factory.mktemp("run-ha"), policy_replicas=2)
    yield s
    s.stop()


def _load(stack, stop, results):
    """Bounded steady load: each request signs for a region not used before, so each needs a
    decision from the policy service; with the seed header's cached decision in between."""
    while not stop.is_set():
        client = boto3.session.Session().client(
            service_name="s3", aws_access_key_id=KEYS["bob"], aws_secret_access_key=SECRET,
            endpoint_url=stack.endpoint, region_name=fresh_region(),
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
        try:
            client.head_object(Bucket="immuta", Key=OBJECT)
            results.append(200)
        except Exception as err:  # noqa: BLE001 - every failure is what the test counts
            results.append(repr(err))
        results.append(http(stack.endpoint, "GET", f"/s3p/immuta/{OBJECT}",
                            key=KEYS["bob"]).status)
        time.sleep(0.02)


def _until(check, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_losing_a_policy_replica_under_load_fails_no_request(ha):
    results, stop = [], threading.Event()
    worker = threading.Thread(target=_load, args=(ha, stop, results))
    worker.start()
    try:
        time.sleep(1.5)
        assert ha.stat("cluster.policy.health_check.success") > 0
        failed_checks = ha.stat("cluster.policy.health_check.failure")
        before = len(results)
        ha.stop_policy_replica(1)
        # Outlier detection (a failed call) or the active health check (a TCP connect every
        # 2 s) takes the dead replica out; requests go on meanwhile.
        assert _until(lambda: ha.stat("cluster.policy.membership_healthy") == 1, 10)
        assert _until(lambda: ha.stat("cluster.policy.health_check.failure") > failed_checks, 10)
        time.sleep(1)
        during = len(results)
        ha.start_policy_replica(1)
        # And takes it back after one success.
        assert _until(lambda: ha.stat("cluster.policy.membership_healthy") == 2, 10)
        time.sleep(2)
    finally:
        stop.set()
        worker.join(timeout=30)
    failures = [r for r in results if r != 200]
    assert before >= 4, "the load ran before the replica was lost"
    assert during - before >= 8, "the load ran while it was lost"
    assert len(results) - during >= 8, "and after it came back"
    assert not failures, failures[:5]


# Each way a request reaches the upstream: routed by Envoy (an object), the filter's own calls
# (a listing page; a masked table's HEAD and measuring pass), a HEAD.
UPSTREAM_PATHS = [("GET", f"/s3p/immuta/{OBJECT}", "carol"),
                  ("HEAD", f"/s3p/immuta/{OBJECT}", "carol"),
                  ("GET", "/s3p/immuta?list-type=2&prefix=sales/", "bob"),
                  ("GET", "/s3p/immuta/customers/customers.csv", "erin")]


def test_a_dead_upstream_gives_prompt_s3_errors_and_recovers(ha):
    ha.stop_upstream()
    try:
        for method, path, who in UPSTREAM_PATHS:
            started = time.monotonic()
            resp = http(ha.endpoint, method, path, key=KEYS[who])
            took = time.monotonic() - started
            print(f"dead upstream: {method} {path} -> {resp.status} in {took:.2f}s")
            assert took < 5, f"{method} {path}: an S3 error, promptly, not a hang ({took:.1f}s)"
            assert resp.status in (502, 503), (method, path, resp.status)
            if method != "HEAD":
                assert b"<Error>" in resp.body, (path, resp.body[:200])
    finally:
        ha.start_upstream()
    for method, path, who in UPSTREAM_PATHS:
        deadline = time.monotonic() + 10
        while http(ha.endpoint, method, path, key=KEYS[who]).status != 200:
            assert time.monotonic() < deadline, f"{path} still failing after the upstream returned"
            time.sleep(0.2)


def test_the_policy_service_serves_metrics_and_logs_decisions_as_json(ha):
    assert http(ha.endpoint, "GET", "/s3p", key=KEYS["alice"]).status == 200
    # Envoy picks either replica for a decision: what they serve together.
    text = ""
    for url in ha.policy_metrics_urls:
        with urllib.request.urlopen(url, timeout=5) as resp:
            text += resp.read().decode()
    assert 's3gate_policy_requests_total{endpoint="entitlements",status="200"}' in text
    assert "s3gate_policy_request_seconds_bucket" in text
    assert "s3gate_policy_reload_failures_total 0" in text
    assert 's3gate_policy_info{policy_version="' in text
    assert "alice" not in text and KEYS["alice"] not in text
    decisions = []
    for name in ("policy.log", "policy2.log"):
        for line in (ha.run_dir / name).read_text().splitlines():
            if line.startswith("{"):
                decisions.append(json.loads(line))
    alice = [d for d in decisions if d.get("principal") == "alice"]
    assert alice, decisions[:3]
    assert alice[-1]["event"] == "decision" and "time" in alice[-1]
    assert "customers" in alice[-1]["data_sources"]
    assert "emails-hashed" in alice[-1]["rules"]
