"""S3 behaviour that stores behind the gateway may not share, answered as S3 answers it (each
case: what S3 answers)."""

from email.utils import format_datetime, parsedate_to_datetime
from datetime import timedelta, timezone

import pytest

from gateway import DAY, KEYS, disk_file, http, keys_under

KEY = "sales/region=us/part-00000.csv"


def test_delimiter_other_than_slash(clients, demo_dir):
    # rclone treats every delimiter as '/'; S3 rolls up at the first '=' after the prefix.
    s3 = clients["alice"]
    resp = s3.list_objects_v2(Bucket="immuta", Prefix="sales/", Delimiter="=")
    assert [p["Prefix"] for p in resp.get("CommonPrefixes", [])] == ["sales/region="]
    assert "Contents" not in resp
    resp = s3.list_objects_v2(Bucket="immuta", Prefix="events/", Delimiter="=", MaxKeys=5)
    assert "CommonPrefixes" not in resp  # no key below events/ holds a '='
    assert [o["Key"] for o in resp["Contents"]] == keys_under(demo_dir, "events/",
                                                              ["events"])[:5]


def test_max_keys_one_after_a_run_of_hidden_keys(clients, demo_dir):
    # The day folder lists 429 hidden .part-N.jsonl.crc before its first part.
    resp = clients["alice"].list_objects_v2(Bucket="immuta", Prefix=DAY, MaxKeys=1)
    assert [o["Key"] for o in resp["Contents"]] == [f"{DAY}part-00000.jsonl"]
    assert resp["IsTruncated"] is True


def test_pages_are_full_after_a_run_of_hidden_keys(clients, demo_dir):
    everything = keys_under(demo_dir, "", ["customers", "events", "sales"])
    resp = clients["alice"].list_objects_v2(Bucket="immuta", StartAfter="events/2026-11-02",
                                            MaxKeys=5)
    start = next(i for i, k in enumerate(everything) if k > "events/2026-11-02")
    assert [o["Key"] for o in resp["Contents"]] == everything[start:start + 5]


@pytest.mark.parametrize("spec", ["bytes=0-1,5-6", "bytes=abc", "bytes=5-2"])
def test_ranges_s3_ignores(endpoint, demo_dir, spec):
    # S3 serves the whole object (200) for several ranges or a Range it cannot read.
    resp = http(endpoint, "GET", f"/s3p/immuta/{KEY}", headers={"Range": spec},
                key=KEYS["alice"])
    assert (resp.status, resp.body) == (200, disk_file(demo_dir, KEY).read_bytes()), spec


def test_suffix_range_longer_than_the_object(endpoint, demo_dir):
    # RFC 9110: a suffix longer than the representation selects all of it.
    data = disk_file(demo_dir, KEY).read_bytes()
    resp = http(endpoint, "GET", f"/s3p/immuta/{KEY}",
                headers={"Range": f"bytes=-{len(data) + 10}"}, key=KEYS["alice"])
    assert resp.status == 206
    assert resp.headers["content-range"] == f"bytes 0-{len(data) - 1}/{len(data)}"
    assert resp.body == data


def test_failed_precondition_wins_over_not_modified(endpoint):
    # RFC 9110 13.2.2: If-Match (then If-Unmodified-Since) is evaluated before If-None-Match.
    path = f"/s3p/immuta/{KEY}"
    head = http(endpoint, "HEAD", path, key=KEYS["alice"])
    etag = head.headers["etag"]
    modified = parsedate_to_datetime(head.headers["last-modified"])
    before = format_datetime((modified - timedelta(days=1)).astimezone(timezone.utc),
                             usegmt=True)
    for headers in ({"If-Match": '"0123"', "If-None-Match": etag},
                    {"If-Unmodified-Since": before, "If-None-Match": etag}):
        resp = http(endpoint, "GET", path, headers=headers, key=KEYS["alice"])
        assert resp.status == 412, (headers, resp.status)
