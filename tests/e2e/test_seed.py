"""The seed's own examples keep working: its curl request with the literal
`Authorization: AWS <key>:immuta` header, and its boto3 listing and download code."""

import hashlib
import xml.etree.ElementTree as ET

from gateway import KEYS, S3_NS, disk_file, disk_keys, http, md5_hex


def test_seed_curl_lists_the_one_bucket(endpoint):
    resp = http(endpoint, "GET", "/s3p", key=KEYS["alice"])
    assert resp.status == 200
    assert "xml" in resp.headers["content-type"]
    root = ET.fromstring(resp.body)
    assert root.tag == f"{S3_NS}ListAllMyBucketsResult"
    names = [b.findtext(f"{S3_NS}Name") for b in root.iter(f"{S3_NS}Bucket")]
    assert names == ["immuta"]


def test_boto3_list_buckets(clients):
    assert [b["Name"] for b in clients["alice"].list_buckets()["Buckets"]] == ["immuta"]


def test_seed_list_objects_with_delimiter(clients):
    resp = clients["alice"].list_objects(Bucket="immuta", Delimiter="/", Prefix="sales")
    assert resp["CommonPrefixes"] == [{"Prefix": "sales/"}]
    assert "Contents" not in resp


def test_seed_list_objects_in_data_source(clients, demo_dir):
    resp = clients["alice"].list_objects(Bucket="immuta", Prefix="sales/")
    contents = resp["Contents"]
    assert [o["Key"] for o in contents] == disk_keys(demo_dir, "sales")
    assert resp["IsTruncated"] is False
    for obj in contents:
        path = disk_file(demo_dir, obj["Key"])
        assert obj["ETag"].strip('"') == md5_hex(path)
        assert obj["Size"] == path.stat().st_size
        assert obj["StorageClass"] == "STANDARD"
        assert obj["Owner"] == {"DisplayName": "Immuta", "ID": "Immuta"}


def test_seed_download_file(clients, demo_dir, tmp_path):
    key = "sales/region=eu/part-00001.csv"
    out = tmp_path / "part.csv"
    clients["alice"].download_file(Bucket="immuta", Key=key, Filename=str(out))
    assert out.read_bytes() == disk_file(demo_dir, key).read_bytes()


def test_download_large_document(clients, demo_dir, tmp_path):
    # > 20 MB: boto3 downloads it as a HEAD plus concurrent ranged GETs.
    key = "documents/large scan.bin"
    out = tmp_path / "scan.bin"
    clients["carol"].download_file(Bucket="immuta", Key=key, Filename=str(out))
    expected = disk_file(demo_dir, key)
    assert out.stat().st_size == expected.stat().st_size > 20 * 1024 * 1024
    assert hashlib.sha256(out.read_bytes()).digest() == \
        hashlib.sha256(expected.read_bytes()).digest()
