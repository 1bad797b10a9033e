"""Fixtures: one gateway stack for the session, built from the same scripts/stack.py that
`make run` uses, on free ports; per-principal boto3 clients; a leak check after every test.
`--upstream-store s3s-fs` puts s3s-fs behind every stack of the session instead of rclone
(`make e2e` runs the hostile tests that way too)."""

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import gen_demo_data  # noqa: E402
import stack  # noqa: E402
from gateway import KEYS, RECORDER, TEST_REGIONS, s3_client  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--upstream-store", choices=stack.UPSTREAM_STORES,
                     default=os.environ.get("S3GATE_UPSTREAM_STORE", "rclone"),
                     help="the S3 upstream behind every stack of the session")


def pytest_configure(config):
    # Every Stack of the session (the shared one and modules' own) reads it.
    os.environ["S3GATE_UPSTREAM_STORE"] = config.getoption("--upstream-store")


def pytest_report_header(config):
    return f"upstream store: {config.getoption('--upstream-store')}"


@pytest.fixture(scope="session")
def upstream_store(pytestconfig):
    """`rclone` or `s3s-fs`: which S3 store is behind the gateway, for tests of its quirks."""
    return pytestconfig.getoption("--upstream-store")


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    """Fresh demo data for this session (a PUT that wrongly got through can't spoil `make run`)."""
    root = tmp_path_factory.mktemp("demo") / "data"
    gen_demo_data.ensure(root)
    return root


def demo_data_with(tmp_path_factory, name, objects):
    """A fresh demo data tree (folder `name`) with `objects` (path -> bytes) written into it,
    for a stack of a module's own over crafted objects."""
    root = tmp_path_factory.mktemp(name) / "data"
    gen_demo_data.ensure(root)
    for path, data in objects.items():
        (root / path).write_bytes(data)
    return root


def start_stack(demo_dir, run_dir, **kwargs):
    kwargs.setdefault("regions", TEST_REGIONS)
    try:
        return stack.Stack(demo_dir, run_dir, **kwargs).start()
    except RuntimeError as err:
        pytest.fail(f"the gateway stack did not start: {err}", pytrace=False)


@pytest.fixture(scope="session")
def gateway(demo_dir, tmp_path_factory):
    s = start_stack(demo_dir, tmp_path_factory.mktemp("run"))
    yield s
    s.stop()


@pytest.fixture(scope="session")
def endpoint(gateway):
    return gateway.endpoint


@pytest.fixture(scope="session")
def root_endpoint(gateway):
    """The same gateway at the root of its own port."""
    return gateway.root_endpoint


@pytest.fixture(scope="session")
def mask_secret(gateway):
    """The secret the gateway keys its table masks with (scripts/stack.py), to compute views."""
    return gateway.mask_secret


@pytest.fixture(scope="session")
def clients(endpoint):
    """boto3 clients by principal name (alice, bob, carol, dave, erin)."""
    return {name: s3_client(endpoint, key) for name, key in KEYS.items()}


@pytest.fixture(autouse=True)
def no_leaks():
    """Checked after every test: nothing real reaches a client, so no response leaked a real
    bucket or prefix."""
    start = len(RECORDER.responses)
    yield
    leaks = RECORDER.leaks(start)
    assert not leaks, f"real names leaked to the client: {leaks}"
