"""Attribute-based rules (policies/rules.yaml `partition_rules`): bob's `region` attribute is
[eu], so of sales he sees only sales/region=eu/...; alice holds eu and us; carol, a steward,
sees every region. A partition the principal lacks behaves exactly like one that does not exist."""

from urllib.parse import quote

import botocore.exceptions
import pytest

from gateway import KEYS, client_error, disk_file, http, keys_under, s3_error

EU, US = "sales/region=eu/", "sales/region=us/"


def _keys(s3, **kwargs):
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="immuta", **kwargs)
    return [o["Key"] for p in pages for o in p.get("Contents", [])]


def _prefixes(s3, **kwargs):
    resp = s3.list_objects_v2(Bucket="immuta", Delimiter="/", **kwargs)
    return [p["Prefix"] for p in resp.get("CommonPrefixes", [])]


@pytest.mark.parametrize("principal, regions", [
    ("bob", [EU]), ("alice", [EU, US]), ("carol", [EU, US])])
def test_partitions_listed_by_attribute(clients, principal, regions):
    s3 = clients[principal]
    assert _prefixes(s3, Prefix="sales/") == regions
    assert _prefixes(s3, Prefix="sales/region=") == regions
    assert _prefixes(s3, Prefix="sales/region=u") == [p for p in regions if p == US]


def test_bob_lists_only_his_region(clients, demo_dir):
    bob = clients["bob"]
    eu = keys_under(demo_dir, EU, ["sales"])
    assert _keys(bob, Prefix="sales/") == eu
    assert _keys(bob) == eu  # the whole bucket
    assert _keys(bob, Prefix=US) == []
    assert _keys(bob, Prefix="sales/", PaginationConfig={"PageSize": 1}) == eu
    assert _prefixes(bob) == ["sales/"]


def test_alice_lists_both_regions(clients, demo_dir):
    assert _keys(clients["alice"], Prefix="sales/") == keys_under(demo_dir, "sales/", ["sales"])


def test_hidden_partition_is_nonexistent(clients, endpoint, demo_dir):
    hidden, missing = f"{US}part-00000.csv", f"{EU}no-such-part.csv"
    assert disk_file(demo_dir, hidden).exists()
    bob = clients["bob"]
    for key in (hidden, missing):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            bob.get_object(Bucket="immuta", Key=key)
        assert client_error(exc) == (404, "NoSuchKey")
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            bob.head_object(Bucket="immuta", Key=key)
        assert client_error(exc)[0] == 404
    raw = [http(endpoint, "GET", f"/s3p/immuta/{k}", key=KEYS["bob"]) for k in (hidden, missing)]
    assert [r.status for r in raw] == [404, 404]
    assert [s3_error(r)[0] for r in raw] == ["NoSuchKey", "NoSuchKey"]


def test_bob_reads_his_region(clients, demo_dir):
    key = f"{EU}part-00001.csv"
    body = clients["bob"].get_object(Bucket="immuta", Key=key)["Body"].read()
    assert body == disk_file(demo_dir, key).read_bytes()
    resp = clients["alice"].get_object(Bucket="immuta", Key=f"{US}part-00001.csv")
    assert resp["Body"].read() == disk_file(demo_dir, f"{US}part-00001.csv").read_bytes()


# A hidden partition after bob's last visible key behaves like no partition at all: the page
# that ends on that key is not truncated, whatever the prefix (v2 start-after, v1 marker).
@pytest.mark.parametrize("query", ["list-type=2&start-after", "marker"])
@pytest.mark.parametrize("prefix", ["sales/", EU])
def test_hidden_partition_after_the_last_visible_key_does_not_truncate(
        endpoint, demo_dir, query, prefix):
    eu = keys_under(demo_dir, EU, ["sales"])
    resp = http(endpoint, "GET",
                f"/s3p/immuta?prefix={quote(prefix)}&max-keys=1&{query}={quote(eu[-2], safe='')}",
                key=KEYS["bob"])
    assert resp.status == 200, resp.body
    assert f"<Key>{eu[-1]}</Key>".encode() in resp.body
    assert b"<IsTruncated>false</IsTruncated>" in resp.body, resp.body
    assert b"NextMarker" not in resp.body and b"NextContinuationToken" not in resp.body
