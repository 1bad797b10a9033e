"""The same gateway at the root of a second port (listener `s3gate_root`), for clients that
cannot put a path in their endpoint URL (Arrow's C++ SDK, Go and Rust object stores, DuckDB)."""

import hashlib
import re
import urllib.request

import pytest

from gateway import DAY, KEYS, disk_file, http, keys_under, s3_client, s3_error


@pytest.fixture(scope="module")
def root_clients(root_endpoint):
    return {name: s3_client(root_endpoint, key) for name, key in KEYS.items()}


def test_lists(root_clients, demo_dir):
    alice = root_clients["alice"]
    assert [b["Name"] for b in alice.list_buckets()["Buckets"]] == ["immuta"]
    resp = alice.list_objects_v2(Bucket="immuta", Delimiter="/")
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["customers/", "events/", "orders/",
                                                              "purchases/", "sales/"]
    pages = alice.get_paginator("list_objects_v2").paginate(
        Bucket="immuta", Prefix=DAY, PaginationConfig={"PageSize": 1000})
    assert [o["Key"] for p in pages for o in p["Contents"]] == keys_under(demo_dir, DAY,
                                                                          ["events"])
    bob = root_clients["bob"].list_objects(Bucket="immuta", Prefix="sales/", Delimiter="/")
    assert [p["Prefix"] for p in bob["CommonPrefixes"]] == ["sales/region=eu/"]


def test_downloads(root_clients, demo_dir, tmp_path):
    key = "documents/large scan.bin"  # > 20 MB: HEAD plus ranged GETs
    out = tmp_path / "scan.bin"
    root_clients["carol"].download_file(Bucket="immuta", Key=key, Filename=str(out))
    assert hashlib.sha256(out.read_bytes()).digest() == \
        hashlib.sha256(disk_file(demo_dir, key).read_bytes()).digest()
    small = "sales/region=eu/part-00000.csv"
    body = root_clients["alice"].get_object(Bucket="immuta", Key=small)["Body"].read()
    assert body == disk_file(demo_dir, small).read_bytes()


def test_seed_header_at_the_root(root_endpoint):
    resp = http(root_endpoint, "GET", "/", key=KEYS["alice"])
    assert resp.status == 200 and b"<Name>immuta</Name>" in resp.body
    resp = http(root_endpoint, "GET", "/immuta/sales/region=eu/part-00000.csv",
                key=KEYS["alice"])
    assert resp.status == 200


def test_prefixed_paths_are_other_buckets_there(root_endpoint):
    # At the root, /s3p/... names a bucket "s3p", which does not exist.
    resp = http(root_endpoint, "GET", "/s3p/immuta/sales/region=eu/part-00000.csv",
                key=KEYS["alice"])
    assert resp.status == 404 and s3_error(resp)[0] == "NoSuchBucket"


def _policy_calls(gateway):
    url = f"{gateway.admin_url}/stats?filter=^cluster\\.policy\\.upstream_rq_total$"
    with urllib.request.urlopen(url, timeout=5) as resp:
        match = re.search(r"upstream_rq_total: (\d+)", resp.read().decode())
    return int(match.group(1)) if match else 0


def test_decisions_are_shared_between_the_listeners(gateway, endpoint, root_endpoint):
    # One VM (same vm_id and code): a key looked up through one listener is cached for both.
    assert http(endpoint, "GET", "/s3p", key=KEYS["bob"]).status == 200
    before = _policy_calls(gateway)
    for _ in range(4):  # both Envoy workers, whichever takes the connection
        assert http(root_endpoint, "GET", "/", key=KEYS["bob"]).status == 200
    assert _policy_calls(gateway) == before
