"""The policy author's commands of `s3gate-policy`, run as a newcomer would: `key create`,
`explain`, `test` (a failing case names itself), `check DIR`."""

import hashlib
import os
import re
import subprocess

from stack import DEFAULT_POLICY_BIN, REPO

ENV = {**os.environ, "S3GATE_DEFAULT_SECRET": "immuta"}


def run(*args):
    return subprocess.run([str(DEFAULT_POLICY_BIN), *args], capture_output=True, text=True,
                          env=ENV, timeout=60, cwd=REPO)


def test_key_create_prints_a_key_once_and_its_digest_line():
    out = run("key", "create", "--principal", "frank")
    assert out.returncode == 0, out.stderr
    key = re.search(r"^  (s3g-[0-9a-f]{64})$", out.stdout, re.M).group(1)
    digest = re.search(r"key_sha256: ([0-9a-f]{64})   # frank", out.stdout).group(1)
    assert hashlib.sha256(key.encode()).hexdigest() == digest
    assert run("key", "create", "--principal", "frank").stdout != out.stdout


def test_explain_says_what_a_principal_sees():
    out = run("explain", "--principal", "erin", "customers/customers.csv")
    assert out.returncode == 0, out.stderr
    assert "visible" in out.stdout and "ssn:null" in out.stdout
    assert "region in [eu]" in out.stdout and "regional-customers" in out.stdout
    hidden = run("explain", "--principal", "bob", "sales/region=us/part-00000.csv")
    assert "not visible" in hidden.stdout and "region=eu/**" in hidden.stdout
    unknown = run("explain", "--principal", "nobody", "sales/x")
    assert unknown.returncode == 1 and "no principal" in unknown.stderr


def test_policy_tests_pass_on_the_demo_and_a_failing_case_names_itself(tmp_path):
    demo = run("test", "--policies", "policies", "policies/tests/demo.yaml")
    assert demo.returncode == 0 and "0 failed" in demo.stdout, demo.stdout + demo.stderr
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("cases:\n"
                     "- name: alice sees emails in clear\n"
                     "  principal: alice\n  path: customers/customers.csv\n"
                     "  expect: visible\n  masks: {}\n"
                     "- name: bob sees us sales\n"
                     "  principal: bob\n  path: sales/region=us/part-00000.csv\n"
                     "  expect: visible\n")
    out = run("test", "--policies", "policies", str(wrong))
    assert out.returncode == 1
    assert 'FAILED "alice sees emails in clear"' in out.stdout
    assert 'FAILED "bob sees us sales": expected visible, got denied' in out.stdout
    assert "0 passed, 2 failed" in out.stdout


def test_check_takes_the_folder_as_an_argument():
    out = run("check", "policies")
    assert out.returncode == 0 and "policies are valid" in out.stdout, out.stdout + out.stderr


def test_check_cross_checks_the_shipped_envoy_yaml():
    out = run("check", "policies", "--envoy", "envoy/envoy.yaml")
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.fullmatch(r"policies: policies are valid \(6 data sources, .*, version [0-9a-f]{12}; "
                        r"they fit envoy/envoy\.yaml\)\n", out.stdout), out.stdout


def test_check_names_each_cross_file_mistake_of_a_broken_envoy_yaml(tmp_path):
    shipped = (REPO / "envoy/envoy.yaml").read_text()
    broken = shipped.replace('"policy_cluster": "policy"', '"policy_cluster": "polcy"', 1)
    broken = broken.replace('"demo": {"cluster": "s3_demo"', '"warehouse": {"cluster": "s3_dem"', 1)
    assert broken.count("polcy") == 1 and broken.count("s3_dem\"") == 1
    envoy = tmp_path / "envoy.yaml"
    envoy.write_text(broken)
    out = run("check", "policies", "--envoy", str(envoy))
    assert out.returncode == 1, out.stdout + out.stderr
    first = f'{envoy}: listener "s3gate", plugin "s3gate"'
    assert f'{first}: policy_cluster: cluster "polcy" is not defined in {envoy}' in out.stdout
    assert f'{first}: upstream "warehouse": cluster "s3_dem" is not defined' in out.stdout
    # Every data source names upstream `demo`, which that listener's plugin no longer has; the
    # second listener's plugin (unchanged) still fits.
    for name in ("sales", "customers", "orders", "purchases", "events", "documents"):
        assert (f'data source "{name}": upstream "demo" is not among the upstreams of '
                f"{envoy}'s listener \"s3gate\", plugin \"s3gate\" (upstreams: warehouse)"
                in out.stdout), out.stdout
    assert 'listener "s3gate_root"' not in out.stdout
    # The policies themselves are still valid; only the pair does not fit.
    assert "policies are valid" in out.stdout and "does not fit" in out.stdout
