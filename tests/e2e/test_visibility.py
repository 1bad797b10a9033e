"""Who sees what: invisible is nonexistent, housekeeping is for stewards only,
decoys next to real data sources are never reachable."""

import botocore.exceptions
import pytest

from gateway import KEYS, client_error, disk_keys, http, keys_under, s3_error

ROOTS = {
    "bob": ["sales/"],
    "alice": ["customers/", "events/", "orders/", "purchases/", "sales/"],
    "carol": ["customers/", "documents/", "events/", "orders/", "purchases/", "sales/"],
    "erin": ["customers/", "orders/"],
}


@pytest.mark.parametrize("principal", sorted(ROOTS))
def test_root_listing_shows_granted_data_sources(clients, principal):
    resp = clients[principal].list_objects(Bucket="immuta", Delimiter="/")
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ROOTS[principal]
    assert "Contents" not in resp


def _get_error(s3, key):
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.get_object(Bucket="immuta", Key=key)
    return client_error(exc)


def test_hidden_data_source_is_nonexistent(clients):
    assert _get_error(clients["bob"], "customers/customers.csv") == (404, "NoSuchKey")
    assert _get_error(clients["bob"], "sales/no-such-file.csv") == (404, "NoSuchKey")
    assert _get_error(clients["bob"], "customers/no-such-file.csv") == (404, "NoSuchKey")


def test_hidden_data_source_raw_http_matches_missing_key(endpoint):
    hidden = http(endpoint, "GET", "/s3p/immuta/customers/customers.csv", key=KEYS["bob"])
    missing = http(endpoint, "GET", "/s3p/immuta/sales/nope.csv", key=KEYS["bob"])
    assert hidden.status == missing.status == 404
    assert s3_error(hidden)[0] == s3_error(missing)[0] == "NoSuchKey"


def test_hidden_data_source_not_listed_by_prefix(clients):
    resp = clients["bob"].list_objects(Bucket="immuta", Prefix="customers/")
    assert "Contents" not in resp and "CommonPrefixes" not in resp


def test_housekeeping_hidden_from_analysts(clients, demo_dir):
    # bob sees only the eu region of sales (test_abac.py).
    for principal, prefix in (("alice", "sales/"), ("bob", "sales/region=eu/")):
        keys = [o["Key"] for o in
                clients[principal].list_objects(Bucket="immuta", Prefix="sales/")["Contents"]]
        assert keys == keys_under(demo_dir, prefix, ["sales"])
        assert not any(k.endswith(("_SUCCESS", ".crc")) for k in keys)


def test_housekeeping_visible_to_steward(clients, demo_dir):
    keys = [o["Key"] for o in
            clients["carol"].list_objects(Bucket="immuta", Prefix="sales/")["Contents"]]
    assert keys == disk_keys(demo_dir, "sales", housekeeping=True)
    assert "sales/_SUCCESS" in keys
    assert "sales/region=eu/.part-00000.csv.crc" in keys
    assert clients["carol"].head_object(Bucket="immuta", Key="sales/_SUCCESS")["ContentLength"] == 0


def test_housekeeping_head_and_get_are_404(clients):
    s3 = clients["alice"]
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.head_object(Bucket="immuta", Key="sales/_SUCCESS")
    assert client_error(exc)[0] == 404
    assert _get_error(s3, "sales/region=eu/.part-00000.csv.crc") == (404, "NoSuchKey")


@pytest.mark.parametrize("principal", sorted(ROOTS))
def test_decoys_never_listed(clients, principal):
    keys, prefixes = [], []
    for page in clients[principal].get_paginator("list_objects_v2").paginate(Bucket="immuta"):
        keys += [o["Key"] for o in page.get("Contents", [])]
    for prefix in ("", "sales", "sales_"):
        resp = clients[principal].list_objects(Bucket="immuta", Prefix=prefix, Delimiter="/")
        prefixes += [p["Prefix"] for p in resp.get("CommonPrefixes", [])]
        keys += [o["Key"] for o in resp.get("Contents", [])]
    for name in keys + prefixes:
        assert not name.startswith(("sales_eu", "secrets")), name
        assert "leak.csv" not in name and "credentials.txt" not in name


@pytest.mark.parametrize("path", [
    "/s3p/immuta/sales_eu/leak.csv",
    "/s3p/immuta/secrets/credentials.txt",
    "/s3p/immuta/sales/../sales_eu/leak.csv",
    "/s3p/immuta/sales/..%2Fsales_eu/leak.csv",
    "/s3p/immuta/sales%2F..%2F..%2Fsecrets/credentials.txt",
])
def test_decoys_never_served(endpoint, path):
    resp = http(endpoint, "GET", path, key=KEYS["carol"])
    assert 400 <= resp.status < 500
    s3_error(resp)
    assert b"DECOY" not in resp.body
