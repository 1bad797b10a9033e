"""boto3 object reads: a 50 MB download (HEAD plus parallel ranged GETs), HEAD, the Range
forms clients send, response-* overrides."""

import hashlib

import botocore.exceptions
import pytest
from boto3.s3.transfer import TransferConfig

from gateway import BIG, KEYS, RECORDER, client_error, disk_file, http, md5_hex

KEY = "sales/region=us/part-00000.csv"


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def test_download_50mb_object(clients, demo_dir, tmp_path):
    expected = disk_file(demo_dir, BIG)
    out = tmp_path / "archive.bin"
    start = len(RECORDER.responses)
    clients["carol"].download_file(Bucket="immuta", Key=BIG, Filename=str(out),
                                   Config=TransferConfig(max_concurrency=8))
    assert out.stat().st_size == expected.stat().st_size > 50 * 1024 * 1024
    assert _sha256(out) == _sha256(expected)
    seen = [(r.what, r.status) for r in RECORDER.responses[start:]]
    # s3transfer's shape: one HEAD, then ranged GETs answered 206 (never 200).
    assert seen[0] == ("boto3 HeadObject", 200)
    gets = [status for what, status in seen[1:] if what == "boto3 GetObject"]
    assert len(gets) == len(seen) - 1 >= 6 and set(gets) == {206}


def test_head_object(clients, demo_dir):
    path = disk_file(demo_dir, BIG)
    resp = clients["carol"].head_object(Bucket="immuta", Key=BIG)
    assert resp["ContentLength"] == path.stat().st_size
    assert resp["ETag"] == f'"{md5_hex(path)}"'
    assert resp["LastModified"].year >= 2024
    assert resp["AcceptRanges"] == "bytes"
    assert resp["ResponseMetadata"]["HTTPHeaders"]["server"] == "s3gate"


@pytest.mark.parametrize("spec, first, last", [
    ("bytes=0-0", 0, 0),
    ("bytes=100-199", 100, 199),
    ("bytes=100-", 100, None),     # open-ended
    ("bytes=-100", -100, None),    # the last 100 bytes (Parquet footers are read so)
    ("bytes=2600-999999", 2600, None),  # past the end: clipped to the object
])
def test_get_object_range(clients, demo_dir, spec, first, last):
    data = disk_file(demo_dir, KEY).read_bytes()
    size = len(data)
    first = first % size
    last = size - 1 if last is None else last
    resp = clients["alice"].get_object(Bucket="immuta", Key=KEY, Range=spec)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert resp["ContentRange"] == f"bytes {first}-{last}/{size}"
    assert resp["ContentLength"] == last - first + 1
    assert resp["Body"].read() == data[first:last + 1]


def test_range_past_the_end_is_invalid_range(clients, demo_dir):
    size = disk_file(demo_dir, KEY).stat().st_size
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        clients["alice"].get_object(Bucket="immuta", Key=KEY, Range=f"bytes={size}-")
    assert client_error(exc) == (416, "InvalidRange")


def test_range_on_hidden_object_is_no_such_key(clients):
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        clients["alice"].get_object(Bucket="immuta", Key="sales/_SUCCESS", Range="bytes=0-0")
    assert client_error(exc) == (404, "NoSuchKey")


def test_response_overrides(endpoint):
    resp = http(endpoint, "GET", f"/s3p/immuta/{KEY}?response-content-type=text%2Fplain"
                "&response-content-disposition=attachment%3B%20filename%3Dx.csv",
                key=KEYS["alice"])
    assert resp.status == 200
    assert resp.headers["content-type"] == "text/plain"
    assert resp.headers["content-disposition"] == "attachment; filename=x.csv"
