"""Shadow policies through the real gateway: a candidate policy folder beside the enforced one
(`--shadow-policies`). The client's answer follows the enforced set; the policy service logs each
difference as a JSON line and counts it in its metrics."""

import json
import shutil
import urllib.request

import pytest

from conftest import REPO, start_stack
from gateway import KEYS, s3_client


def _metric(url, name):
    with urllib.request.urlopen(url, timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
    raise KeyError(name)


def _differences(stack):
    lines = (stack.run_dir / "policy.log").read_text(errors="replace").splitlines()
    # The JSON lines (the plain start-up lines mention the event's name too).
    return [json.loads(line) for line in lines
            if line.startswith("{") and '"shadow_difference"' in line]


@pytest.fixture(scope="module")
def shadowed(demo_dir, tmp_path_factory):
    # The candidate drops the email hash from customers (kept on purchases) and lets bob see
    # the us sales partition: both would widen what analysts read.
    shadow = tmp_path_factory.mktemp("shadow-policies")
    for name in ("data_sources.yaml", "principals.yaml", "rules.yaml"):
        shutil.copy(REPO / "policies" / name, shadow / name)
    rules = (shadow / "rules.yaml").read_text()
    candidate = rules.replace("data_sources: [customers, purchases]\n    column: email",
                              "data_sources: [purchases]\n    column: email")
    assert candidate != rules
    (shadow / "rules.yaml").write_text(candidate)
    principals = (shadow / "principals.yaml").read_text()
    bob = principals.index("name: bob")
    wider = principals[:bob] + principals[bob:].replace("region: [eu]", "region: [eu, us]", 1)
    assert wider != principals
    (shadow / "principals.yaml").write_text(wider)
    s = start_stack(demo_dir, tmp_path_factory.mktemp("run"),
                    policy_args=["--shadow-policies", str(shadow)])
    yield s
    s.stop()


def test_the_start_log_says_loudly_that_shadow_policies_are_on(shadowed):
    log = (shadowed.run_dir / "policy.log").read_text()
    assert "WARN: SHADOW POLICIES ON (--shadow-policies " in log


def test_a_mask_difference_is_logged_and_counted_while_alice_stays_masked(shadowed):
    metrics = shadowed.policy_metrics_url
    before = _metric(metrics, 's3gate_policy_shadow_differences_total{kind="masks"}')
    alice = s3_client(shadowed.endpoint, KEYS["alice"])
    body = alice.get_object(Bucket="immuta", Key="customers/customers.csv")["Body"].read()
    header, first = body.decode().splitlines()[:2]
    email = first.split(",")[header.split(",").index("email")]
    # Enforced: a keyed hash (64 hex), not the address the shadow set would show.
    assert len(email) == 64 and "@" not in email, email
    diffs = [d for d in _differences(shadowed)
             if d["principal"] == "alice" and d["kind"] == "masks"]
    # One line per lookup of alice's decision (the filter caches it, so one here).
    assert diffs and {d["data_source"] for d in diffs} == {"customers"}, diffs
    enforced = {m["column"]: m["mask"]["kind"] for m in diffs[0]["enforced"]}
    shadow = {m["column"]: m["mask"]["kind"] for m in diffs[0]["shadow"]}
    assert enforced["email"] == "hash" and "email" not in shadow, diffs[0]
    assert _metric(metrics, 's3gate_policy_shadow_differences_total{kind="masks"}') >= before + 1
    assert _metric(metrics, "s3gate_policy_shadow_differing_decisions_total") >= 1


def test_a_wider_partition_in_the_shadow_set_does_not_open_it_to_bob(shadowed):
    bob = s3_client(shadowed.endpoint, KEYS["bob"])
    listed = bob.list_objects_v2(Bucket="immuta", Prefix="sales/", Delimiter="/")
    prefixes = [p["Prefix"] for p in listed.get("CommonPrefixes", [])]
    assert prefixes == ["sales/region=eu/"], prefixes
    diffs = [d for d in _differences(shadowed) if d["principal"] == "bob"]
    assert diffs and {(d["kind"], d["data_source"]) for d in diffs} == {("partitions", "sales")}, \
        diffs
    assert diffs[0]["enforced"] == ["region=eu/**"] and "region=us/**" in diffs[0]["shadow"]
    metrics = shadowed.policy_metrics_url
    assert _metric(metrics, 's3gate_policy_shadow_differences_total{kind="partitions"}') >= 1
    # Carol (a steward) is the same under both sets: no line for her.
    s3_client(shadowed.endpoint, KEYS["carol"]).list_objects_v2(Bucket="immuta", Prefix="sales/")
    assert not [d for d in _differences(shadowed) if d["principal"] == "carol"]
