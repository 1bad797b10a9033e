"""Request ids the gateway chooses, one x-amz-request-id per response, no bearer credentials
in any log of the stack, and the production settings of the running Envoy configuration."""

import json
import re
import time
import urllib.request
from http.client import HTTPConnection
from urllib.parse import urlsplit

import pytest

from gateway import KEYS, SECRET, s3_client

ID = re.compile(r"^[0-9A-F]{16}$")
HOSTILE_ID = 'evil" "injected\\'


def raw_get(endpoint, path, method="GET", headers=None):
    """(status, every header as a (name, value) list): repeated headers stay apart."""
    url = urlsplit(endpoint)
    conn = HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheaders()
    finally:
        conn.close()


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/s3p", 200),                                   # ListBuckets
    ("HEAD", "/s3p/immuta", 200),                           # HeadBucket
    ("GET", "/s3p/immuta?list-type=2&prefix=sales/", 200),  # a listing
    ("GET", "/s3p/immuta/sales/no-such-key", 404),          # an error from the store
    ("GET", "/s3p/other-bucket/x", 404),                    # an error of the filter
    ("GET", "/s3p/immuta/sales/region%3Deu/part-00000.csv", 200),  # a forwarded object
    ("GET", "/s3p/immuta/customers/customers.csv", 200),    # a masked view of one
])
def test_one_request_id_of_the_gateways_own(endpoint, method, path, status):
    got, headers = raw_get(endpoint, path, method, {
        "Authorization": f"AWS {KEYS['alice']}:{SECRET}", "x-request-id": HOSTILE_ID})
    assert got == status
    ids = [v for n, v in headers if n.lower() == "x-amz-request-id"]
    assert len(ids) == 1, headers
    assert ID.match(ids[0]), ids


def test_request_ids_differ_and_boto3_sees_one(endpoint, clients):
    seen = {clients["alice"].list_objects_v2(Bucket="immuta", Prefix="sales/")
            ["ResponseMetadata"]["RequestId"] for _ in range(20)}
    assert len(seen) == 20 and all(ID.match(i) for i in seen), seen


def test_running_config_is_hardened(gateway):
    with urllib.request.urlopen(f"{gateway.admin_url}/config_dump", timeout=10) as resp:
        dump = json.loads(resp.read())
    configs = {c["@type"].rsplit(".", 1)[-1]: c for c in dump["configs"]}
    bootstrap = configs["BootstrapConfigDump"]["bootstrap"]
    overload = bootstrap["overload_manager"]
    assert overload["resource_monitors"][0]["name"] == "envoy.resource_monitors.fixed_heap"
    assert int(overload["resource_monitors"][0]["typed_config"]["max_heap_size_bytes"]) > 0
    assert {a["name"] for a in overload["actions"]} >= {
        "envoy.overload_actions.stop_accepting_requests"}
    listeners = [l["listener"]
                 for l in configs["ListenersConfigDump"]["static_listeners"]]
    assert len(listeners) == 2
    for listener in listeners:
        assert listener["per_connection_buffer_limit_bytes"] <= 65536
        hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
        assert hcm["use_remote_address"] is True
        assert hcm.get("xff_num_trusted_hops", 0) == 0
        assert hcm["request_headers_timeout"] == "10s"
        assert hcm["stream_idle_timeout"] == "60s"
        routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
        assert routes[0]["route"]["timeout"] == "0s"
        assert routes[0]["route"]["idle_timeout"] == "60s"
        assert "x-amz-request-id" not in json.dumps(routes[0].get("response_headers_to_add"))
    for cluster in configs["ClustersConfigDump"]["static_clusters"]:
        if cluster["cluster"]["name"] == "s3_demo":
            assert cluster["cluster"]["per_connection_buffer_limit_bytes"] <= 65536


def access_log_lines(gateway, wanted_ids, timeout=10):
    """The JSON access log lines, once every id in wanted_ids is in (Envoy flushes later)."""
    deadline = time.monotonic() + timeout
    while True:
        text = (gateway.run_dir / "envoy-access.log").read_text(errors="replace")
        lines = [json.loads(l) for l in text.splitlines() if l.startswith("{")]
        if wanted_ids <= {l["request_id"] for l in lines} or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


def test_no_credentials_in_any_log(gateway, endpoint):
    v4 = s3_client(endpoint, KEYS["bob"])
    v2 = s3_client(endpoint, KEYS["carol"], signature_version="s3")
    urls = [
        v4.generate_presigned_url("get_object", Params={
            "Bucket": "immuta", "Key": "customers/customers.csv"}, ExpiresIn=300),
        v4.generate_presigned_url("list_objects_v2", Params={"Bucket": "immuta"},
                                  ExpiresIn=300),
        v2.generate_presigned_url("list_objects", Params={"Bucket": "immuta"}, ExpiresIn=300),
        v2.generate_presigned_url("get_object", Params={
            "Bucket": "immuta", "Key": "sales/nope"}, ExpiresIn=300),
    ]
    # (The demo's shared secret is the bucket's name, "immuta": it cannot be looked for.)
    secrets = {KEYS["bob"], KEYS["carol"], KEYS["alice"], gateway.mask_secret}
    ids = set()
    for url in urls:
        query = dict(p.split("=", 1) for p in urlsplit(url).query.split("&"))
        secrets |= {v for k, v in query.items()
                    if k in ("X-Amz-Signature", "Signature", "X-Amz-Credential",
                             "AWSAccessKeyId")}
        # Also what a log might decode.
        secrets |= {urllib.request.unquote(v) for v in list(secrets)}
        path = url[len(f"http://{urlsplit(endpoint).netloc}"):]
        status, headers = raw_get(endpoint, path, headers={"x-request-id": HOSTILE_ID})
        assert status in (200, 404), (url, status)
        ids.add(dict((n.lower(), v) for n, v in headers)["x-amz-request-id"])
    # Header-signed requests (SigV4 and SigV2) and the seed's header.
    v4.list_objects_v2(Bucket="immuta", Prefix="customers/")
    v2.list_objects(Bucket="immuta")
    status, headers = raw_get(endpoint, "/s3p/immuta?prefix=sales/", headers={
        "Authorization": f"AWS {KEYS['alice']}:{SECRET}"})
    ids.add(dict((n.lower(), v) for n, v in headers)["x-amz-request-id"])
    lines = access_log_lines(gateway, ids)
    logged = {l["request_id"]: l for l in lines}
    assert ids <= set(logged), "every request is in the access log under the gateway's id"
    assert any("Signature=REDACTED" in (logged[i]["path"] or "") for i in ids)
    # Each line parses (the hostile x-request-id cannot break it) and names the gateway's id;
    # the client's x-request-id, where Envoy keeps it, is only in its own field.
    for i in ids:
        assert ID.match(logged[i]["request_id"]) and logged[i]["client_request_id"] != i
    logs = sorted(gateway.run_dir.glob("*.log"))
    assert {p.name for p in logs} >= {"envoy-access.log", "envoy.log", "policy.log",
                                      "rclone.log"}
    for path in logs:
        text = path.read_text(errors="replace")
        found = [s for s in secrets if len(s) >= 6 and s in text]
        assert not found, f"{path.name} holds {found}"
