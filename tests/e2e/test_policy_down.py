"""Fail closed when the policy service is down: every request ends in an S3 error, never an
unfiltered answer. A separate stack, so the main
stack's cached decisions play no part."""

import time

import botocore.exceptions
import pytest

from conftest import start_stack
from gateway import KEYS, client_error, http, s3_client, s3_error

LIST = "/s3p/immuta?list-type=2&prefix=sales%2F"


@pytest.fixture(scope="module")
def lone_gateway(demo_dir, tmp_path_factory):
    s = start_stack(demo_dir, tmp_path_factory.mktemp("run-policy-down"))
    yield s
    s.stop()


def test_policy_service_down_then_back(lone_gateway):
    endpoint = lone_gateway.endpoint
    assert http(endpoint, "GET", LIST, key=KEYS["bob"]).status == 200  # the stack works

    lone_gateway.stop_policy()
    # alice and carol have not been looked up on this stack: nothing cached to fall back on.
    resp = http(endpoint, "GET", LIST, key=KEYS["alice"])
    assert resp.status == 503
    assert "html" not in resp.headers.get("content-type", "")
    assert s3_error(resp)[0] == "ServiceUnavailable"
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3_client(endpoint, KEYS["carol"]).list_objects(Bucket="immuta", Prefix="sales/")
    assert client_error(exc) == (503, "ServiceUnavailable")

    lone_gateway.start_policy()
    deadline = time.monotonic() + 10  # Envoy reconnects to the restarted service
    while http(endpoint, "GET", LIST, key=KEYS["alice"]).status != 200:
        assert time.monotonic() < deadline, "requests still fail after the policy service is back"
        time.sleep(0.2)
    assert http(endpoint, "GET", LIST, key=KEYS["carol"]).status == 200
    resp = s3_client(endpoint, KEYS["carol"]).list_objects(Bucket="immuta", Delimiter="/")
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == [
        "customers/", "documents/", "events/", "orders/", "purchases/", "sales/"]
