"""A valid policy change reaches the gateway within the decision TTL: the policy service looks
at its folder every RELOAD_EVERY seconds (policy-service/src/reload.rs) and the filter keeps a
decision at most its TTL, so from the edit to the client seeing the new decision takes at most
TTL + RELOAD_EVERY (and a little slack for the clock's whole seconds and the polling). Measured
for a grant and for a revocation, with the old decision kept hot by requests all along (the
worst case: a refresh just before the reload). A stack of its own, over a copy of the demo's
policies with a short TTL."""

import os
import shutil
import time

import pytest

from conftest import REPO, start_stack
from gateway import KEYS, disk_file, http

TTL = 4
RELOAD_EVERY = 2  # policy-service/src/reload.rs RELOAD_EVERY
SLACK = 1.5
EU = "sales/region=eu/part-00000.csv"
US = "sales/region=us/part-00000.csv"
BOB = """  - name: bob
    # digest of the demo key bob-demo-key, see README
    key_sha256: 3a1f6bae21de4f036f2aba80fce463677f1070f8bf81f0f475604cccd8e2d7f3
    roles: [analyst]
    data_sources: [sales]
    attributes:
      region: {regions}
"""


@pytest.fixture(scope="module")
def reloading(demo_dir, tmp_path_factory):
    policies = tmp_path_factory.mktemp("policies-reload") / "policies"
    shutil.copytree(REPO / "policies", policies)
    rules = policies / "rules.yaml"
    rules.write_text(rules.read_text().replace("decision_ttl_seconds: 60",
                                               f"decision_ttl_seconds: {TTL}"))
    s = start_stack(demo_dir, tmp_path_factory.mktemp("run-reload"), policies=policies)
    s.policies_dir = policies
    yield s
    s.stop()


def _set_bob_regions(policies, regions):
    """Rewrites bob's entry, as an atomic save (or a ConfigMap swap) would: a new file renamed
    over the old one."""
    path = policies / "principals.yaml"
    text = path.read_text()
    start = text.index("  - name: bob\n")
    end = text.index("\n  - name: ", start + 1) + 1
    new = text[:start] + BOB.format(regions=regions) + text[end:]
    assert new != text
    draft = path.with_name("principals.yaml.new")
    draft.write_text(new)
    os.replace(draft, path)


def _status(gateway, key):
    return http(gateway.endpoint, "GET", f"/s3p/immuta/{key.replace('=', '%3D')}",
                key=KEYS["bob"]).status


def _until(gateway, key, status):
    """Seconds until bob's read of `key` answers `status`, polling (which keeps his decision
    hot in the filter's cache); fails past a bound well over the promise."""
    started = time.monotonic()
    while _status(gateway, key) != status:
        assert time.monotonic() - started < 3 * (TTL + RELOAD_EVERY), f"{key} never {status}"
        time.sleep(0.1)
    return time.monotonic() - started


def _reloads(gateway):
    return (gateway.run_dir / "policy.log").read_text().count("reloaded ")


def test_a_valid_policy_change_reaches_the_gateway_within_the_ttl(reloading, demo_dir):
    assert disk_file(demo_dir, US).exists() and disk_file(demo_dir, EU).exists()
    assert _status(reloading, EU) == 200 and _status(reloading, US) == 404
    # Keep bob's decision hot for a while first, so that it is refreshed ahead of expiry.
    for _ in range(20):
        assert _status(reloading, US) == 404
        time.sleep(0.1)

    # A grant: bob gets the us region.
    _set_bob_regions(reloading.policies_dir, "[eu, us]")
    granted = _until(reloading, US, 200)
    assert _reloads(reloading) == 1, "the service reloaded the edited folder"
    assert _status(reloading, EU) == 200

    # A revocation: bob loses the eu region.
    _set_bob_regions(reloading.policies_dir, "[us]")
    revoked = _until(reloading, EU, 404)
    assert _reloads(reloading) == 2
    assert _status(reloading, US) == 200

    print(f"policy change to client: grant {granted:.2f}s, revocation {revoked:.2f}s "
          f"(TTL {TTL}s, reload every {RELOAD_EVERY}s)")
    for took in (granted, revoked):
        assert took <= TTL + RELOAD_EVERY + SLACK, (granted, revoked)
