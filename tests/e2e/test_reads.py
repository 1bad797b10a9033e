"""ListObjectsV2, pagination, ranges, HEAD and awkward key names, answered as S3 answers them."""

import pytest

from gateway import KEYS, disk_file, disk_keys, http, md5_hex, s3_sorted, view_of


def test_list_objects_v2_root_with_delimiter(clients):
    resp = clients["alice"].list_objects_v2(Bucket="immuta", Delimiter="/")
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["customers/", "events/", "orders/",
                                                              "purchases/", "sales/"]
    assert "Contents" not in resp
    assert resp["KeyCount"] == 5


def test_list_objects_v2_with_delimiter(clients):
    # Only housekeeping lies directly under sales/, and alice may not see it.
    resp = clients["alice"].list_objects_v2(Bucket="immuta", Prefix="sales/", Delimiter="/")
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["sales/region=eu/",
                                                              "sales/region=us/"]
    assert "Contents" not in resp
    assert resp["KeyCount"] == 2


def test_list_objects_v2_without_delimiter(clients, demo_dir):
    resp = clients["alice"].list_objects_v2(Bucket="immuta", Prefix="sales/")
    keys = [o["Key"] for o in resp["Contents"]]
    assert keys == disk_keys(demo_dir, "sales")
    assert resp["KeyCount"] == len(keys) == 4
    assert "CommonPrefixes" not in resp
    assert resp["IsTruncated"] is False


def test_list_objects_v2_whole_bucket(clients, demo_dir):
    # More than 1,000 visible keys: the first page is full and says so.
    expected = s3_sorted(disk_keys(demo_dir, "customers") + disk_keys(demo_dir, "events")
                         + disk_keys(demo_dir, "orders") + disk_keys(demo_dir, "purchases")
                         + disk_keys(demo_dir, "sales"))
    resp = clients["alice"].list_objects_v2(Bucket="immuta")
    assert [o["Key"] for o in resp["Contents"]] == expected[:1000]
    assert resp["KeyCount"] == 1000 and resp["IsTruncated"] is True
    keys = []
    for page in clients["alice"].get_paginator("list_objects_v2").paginate(Bucket="immuta"):
        keys += [o["Key"] for o in page["Contents"]]
    assert keys == expected


@pytest.mark.parametrize("operation", ["list_objects", "list_objects_v2"])
def test_paginated_listing_is_complete(clients, demo_dir, operation):
    pages = clients["alice"].get_paginator(operation).paginate(
        Bucket="immuta", Prefix="sales/", PaginationConfig={"PageSize": 1})
    keys = []
    for page in pages:
        contents = page.get("Contents", [])
        assert len(contents) <= 1
        if operation == "list_objects_v2":
            assert page["KeyCount"] == len(contents)
        keys += [o["Key"] for o in contents]
    assert keys == disk_keys(demo_dir, "sales")


def test_get_object_range_is_206(clients, demo_dir):
    key = "sales/region=us/part-00000.csv"
    data = disk_file(demo_dir, key).read_bytes()
    resp = clients["alice"].get_object(Bucket="immuta", Key=key, Range="bytes=100-199")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert resp["ContentRange"] == f"bytes 100-199/{len(data)}"
    assert resp["ContentLength"] == 100
    assert resp["Body"].read() == data[100:200]


def test_get_object_range_raw_http(endpoint, demo_dir):
    key = "sales/region=eu/part-00000.csv"
    data = disk_file(demo_dir, key).read_bytes()
    resp = http(endpoint, "GET", f"/s3p/immuta/{key}", headers={"Range": "bytes=0-9"},
                key=KEYS["alice"])
    assert resp.status == 206
    assert resp.headers["content-range"] == f"bytes 0-9/{len(data)}"
    assert resp.body == data[:10]


def test_get_whole_object(clients, demo_dir, mask_secret):
    key = "customers/customers.csv"
    # The steward gets the object as stored; alice her masked view of it, whole.
    resp = clients["carol"].get_object(Bucket="immuta", Key=key)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["Body"].read() == disk_file(demo_dir, key).read_bytes()
    resp = clients["alice"].get_object(Bucket="immuta", Key=key)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    view = view_of(demo_dir, "alice", key, mask_secret)
    assert view != disk_file(demo_dir, key).read_bytes()
    assert resp["Body"].read() == view
    assert resp["ContentLength"] == len(view)


def test_head_object(clients, demo_dir, mask_secret):
    key = "events/2026-11-01.jsonl"
    path = disk_file(demo_dir, key)
    resp = clients["carol"].head_object(Bucket="immuta", Key=key)
    assert resp["ContentLength"] == path.stat().st_size
    assert resp["ETag"] == f'"{md5_hex(path)}"'
    # alice's view (user_id hashed) has its own size and ETag.
    resp = clients["alice"].head_object(Bucket="immuta", Key=key)
    assert resp["ContentLength"] == len(view_of(demo_dir, "alice", key, mask_secret))
    assert resp["ContentLength"] != path.stat().st_size
    assert resp["ETag"] and md5_hex(path) not in resp["ETag"]


def test_head_bucket(clients):
    resp = clients["bob"].head_bucket(Bucket="immuta")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_keys_with_spaces_and_non_ascii(clients, demo_dir):
    s3 = clients["carol"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="immuta", Prefix="documents/")["Contents"]]
    assert keys == disk_keys(demo_dir, "documents")
    assert "documents/Q3 report \u2013 final.pdf" in keys
    assert "documents/notes/\u65e5\u672c\u8a9e \u30e1\u30e2.txt" in keys
    for key in ("documents/r\u00e9sum\u00e9 \u00fc.bin", "documents/notes/\u65e5\u672c\u8a9e \u30e1\u30e2.txt"):
        body = s3.get_object(Bucket="immuta", Key=key)["Body"].read()
        assert body == disk_file(demo_dir, key).read_bytes()
