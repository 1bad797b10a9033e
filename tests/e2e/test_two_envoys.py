"""Two Envoys with the filter in front of the same policy service and upstream, as two sidecars
or two gateway pods would be: both serve, each caches decisions on its own (its own VM and
shared data), and the policy service sees one call per key per decision TTL per Envoy. Calls
are counted on both sides: each Envoy's `s3gate_policy_calls` and the policy service's
`s3gate_policy_requests_total{endpoint="entitlements"}`. A stack of its own, with a short TTL."""

import re
import shutil
import threading
import time
import urllib.request

import pytest

from conftest import REPO, start_stack
from gateway import KEYS, http

TTL = 6
# The filter refreshes a decision in the last fifth of its TTL (at least its last second).
REFRESH_AFTER = TTL - max(TTL // 5, 1)
PRINCIPALS = ["alice", "bob", "carol", "erin"]
OBJECT = "/s3p/immuta/sales/region%3Deu/part-00000.csv"


@pytest.fixture(scope="module")
def two(demo_dir, tmp_path_factory):
    policies = tmp_path_factory.mktemp("policies-two-envoys") / "policies"
    shutil.copytree(REPO / "policies", policies)
    rules = policies / "rules.yaml"
    text = rules.read_text()
    assert "decision_ttl_seconds: 60" in text
    rules.write_text(text.replace("decision_ttl_seconds: 60", f"decision_ttl_seconds: {TTL}"))
    s = start_stack(demo_dir, tmp_path_factory.mktemp("run-two-envoys"), policies=policies,
                    envoys=2)
    yield s
    s.stop()


def _service_calls(stack):
    """Entitlement lookups the policy service answered (all statuses)."""
    with urllib.request.urlopen(stack.policy_metrics_url, timeout=5) as resp:
        text = resp.read().decode()
    found = re.findall(r'^s3gate_policy_requests_total\{endpoint="entitlements",'
                       r'status="\d+"\} (\d+)$', text, re.M)
    return sum(int(n) for n in found)


def _envoy_calls(stack, envoy):
    return stack.stat("wasmcustom.s3gate_policy_calls", envoy=envoy)


def _endpoint(stack, envoy):
    return stack.endpoint if envoy == 1 else stack.endpoint_2


def _each_principal(stack, envoy, times=3):
    for _ in range(times):
        for name in PRINCIPALS:
            resp = http(_endpoint(stack, envoy), "GET", "/s3p", key=KEYS[name])
            assert resp.status == 200, (envoy, name, resp.status)


def test_both_envoys_serve_and_each_caches_on_its_own(two):
    started = time.monotonic()
    assert _service_calls(two) == 0 and _envoy_calls(two, 1) == _envoy_calls(two, 2) == 0
    # Both serve the same object from the same upstream.
    first = http(two.endpoint, "GET", OBJECT, key=KEYS["bob"])
    second = http(two.endpoint_2, "GET", OBJECT, key=KEYS["bob"])
    assert first.status == second.status == 200
    assert first.body == second.body and first.body
    # Within one TTL: one call per key by the first Envoy, none by the second yet.
    _each_principal(two, 1)
    assert _envoy_calls(two, 1) == len(PRINCIPALS)
    assert _envoy_calls(two, 2) == 1  # bob's, for the object above
    # The second Envoy has its own cache: each key it had not seen costs it one call.
    _each_principal(two, 2)
    assert _envoy_calls(two, 2) == len(PRINCIPALS)
    assert _envoy_calls(two, 1) == len(PRINCIPALS)
    assert _service_calls(two) == 2 * len(PRINCIPALS)
    # Before any refresh could be due: otherwise the exact counts above say nothing.
    assert time.monotonic() - started < REFRESH_AFTER - 1


def _steady(stack, envoy, stop, statuses):
    while not stop.is_set():
        for name in PRINCIPALS:
            statuses.append(http(_endpoint(stack, envoy), "GET", "/s3p", key=KEYS[name]).status)
        time.sleep(0.05)


def test_under_steady_load_policy_calls_stay_at_one_per_key_per_ttl_per_envoy(two):
    # From a cold cache: whatever the first test left has expired.
    time.sleep(TTL + 1)
    before = {e: _envoy_calls(two, e) for e in (1, 2)}
    service_before = _service_calls(two)
    stop, statuses = threading.Event(), {1: [], 2: []}
    workers = [threading.Thread(target=_steady, args=(two, e, stop, statuses[e]))
               for e in (1, 2)]
    started = time.monotonic()
    for w in workers:
        w.start()
    try:
        time.sleep(3 * TTL)
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=30)
    elapsed = time.monotonic() - started
    calls = {e: _envoy_calls(two, e) - before[e] for e in (1, 2)}
    for e in (1, 2):
        assert len(statuses[e]) > 20 * len(PRINCIPALS), "the load ran through both Envoys"
        assert set(statuses[e]) == {200}, (e, [s for s in statuses[e] if s != 200][:5])
        # Per key: the first miss, then one refresh per REFRESH_AFTER seconds at most (the
        # clock is in whole seconds: one more of slack), and at least one per TTL.
        most = len(PRINCIPALS) * (elapsed // REFRESH_AFTER + 2)
        least = len(PRINCIPALS) * (elapsed // TTL)
        assert least <= calls[e] <= most, (e, calls, elapsed)
    # The service saw exactly the calls the two Envoys made: nothing shared between them.
    assert _service_calls(two) - service_before == calls[1] + calls[2]
    print(f"two Envoys, {len(PRINCIPALS)} keys, TTL {TTL}s, {elapsed:.1f}s of load: "
          f"policy calls {calls}, requests {len(statuses[1])}+{len(statuses[2])}")
