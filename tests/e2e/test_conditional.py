"""Conditional GET and HEAD with S3's documented answers: If-Match / If-Unmodified-Since fail
with 412 PreconditionFailed, If-None-Match / If-Modified-Since with 304 Not Modified; when
If-Match holds, If-Unmodified-Since is not looked at, and when If-None-Match is present,
If-Modified-Since is not. A hidden object stays NoSuchKey whatever the conditions."""

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime

import botocore.exceptions
import pytest

from gateway import BIG, KEYS, client_error, disk_file, http, md5_hex, s3_error

KEY = "sales/region=eu/part-00001.csv"
PATH = f"/s3p/immuta/{KEY}"


@pytest.fixture(scope="module")
def current(endpoint, demo_dir):
    """ETag, Last-Modified (as sent) and times either side of it."""
    head = http(endpoint, "HEAD", PATH, key=KEYS["alice"])
    assert head.status == 200
    assert head.headers["etag"] == f'"{md5_hex(disk_file(demo_dir, KEY))}"'
    modified = parsedate_to_datetime(head.headers["last-modified"])
    http_date = lambda t: format_datetime(t.astimezone(timezone.utc), usegmt=True)  # noqa: E731
    return {
        "etag": head.headers["etag"],
        "last_modified": head.headers["last-modified"],
        "before": http_date(modified - timedelta(days=1)),
        "after": http_date(modified + timedelta(days=1)),
        "future": http_date(datetime.now(timezone.utc) + timedelta(days=365)),
    }


def _get(endpoint, method="GET", **conditions):
    headers = {name.replace("_", "-").title(): value for name, value in conditions.items()}
    return http(endpoint, method, PATH, headers=headers, key=KEYS["alice"])


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_single_conditions(endpoint, demo_dir, current, method):
    data = disk_file(demo_dir, KEY).read_bytes()
    etag, before, after = current["etag"], current["before"], current["after"]
    cases = [
        ({"if_match": etag}, 200),
        ({"if_match": etag.strip('"')}, 200),
        ({"if_match": "*"}, 200),
        ({"if_match": f'"0123", {etag}'}, 200),
        ({"if_match": '"0123"'}, 412),
        ({"if_none_match": etag}, 304),
        ({"if_none_match": "*"}, 304),
        ({"if_none_match": '"0123"'}, 200),
        ({"if_modified_since": before}, 200),
        ({"if_modified_since": current["last_modified"]}, 304),
        ({"if_modified_since": after}, 304),
        ({"if_unmodified_since": before}, 412),
        ({"if_unmodified_since": current["last_modified"]}, 200),
        ({"if_unmodified_since": after}, 200),
        ({"if_modified_since": "not a date"}, 200),  # unparsable dates are ignored
    ]
    for conditions, status in cases:
        resp = _get(endpoint, method, **conditions)
        assert resp.status == status, (method, conditions, resp.status, resp.body[:200])
        if status == 200:
            assert resp.body == (data if method == "GET" else b"")
        elif status == 304:
            assert resp.body == b""
            assert resp.headers["etag"] == etag  # S3 names the current entity
        elif method == "GET":
            assert s3_error(resp)[0] == "PreconditionFailed"
        else:
            assert resp.body == b""


def test_s3_precedence(endpoint, current):
    etag, before, after = current["etag"], current["before"], current["after"]
    for conditions, status in [
        # If-Match holds: If-Unmodified-Since (false) is not looked at.
        ({"if_match": etag, "if_unmodified_since": before}, 200),
        ({"if_match": '"0123"', "if_unmodified_since": after}, 412),
        # If-None-Match decides; If-Modified-Since is not looked at.
        ({"if_none_match": etag, "if_modified_since": before}, 304),
        ({"if_none_match": '"0123"', "if_modified_since": after}, 200),
        ({"if_unmodified_since": before, "if_modified_since": after}, 412),
    ]:
        resp = _get(endpoint, **conditions)
        assert resp.status == status, (conditions, resp.status, resp.body[:200])


def test_boto3_conditions(clients, current):
    s3 = clients["alice"]
    assert s3.get_object(Bucket="immuta", Key=KEY, IfMatch=current["etag"])["ETag"] == \
        current["etag"]
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.get_object(Bucket="immuta", Key=KEY, IfMatch='"0123"')
    assert client_error(exc) == (412, "PreconditionFailed")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.get_object(Bucket="immuta", Key=KEY, IfNoneMatch=current["etag"])
    assert client_error(exc)[0] == 304
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.head_object(Bucket="immuta", Key=KEY, IfModifiedSince=datetime.now(timezone.utc))
    assert client_error(exc)[0] == 304


def test_conditions_with_range(endpoint, demo_dir, current):
    data = disk_file(demo_dir, KEY).read_bytes()
    resp = http(endpoint, "GET", PATH, key=KEYS["alice"],
                headers={"Range": "bytes=0-9", "If-Match": current["etag"]})
    assert (resp.status, resp.body) == (206, data[:10])
    resp = http(endpoint, "GET", PATH, key=KEYS["alice"],
                headers={"Range": "bytes=0-9", "If-None-Match": current["etag"]})
    assert (resp.status, resp.body) == (304, b"")


@pytest.mark.parametrize("key", ["sales/_SUCCESS", "sales/region=eu/nope.csv",
                                 "customers/customers.csv"])
def test_conditions_never_reveal_hidden_objects(endpoint, key):
    # bob: housekeeping, a missing key and a data source he lacks all look the same.
    for headers in ({"If-None-Match": "*"}, {"If-Match": "*"},
                    {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}):
        resp = http(endpoint, "GET", f"/s3p/immuta/{key}", headers=headers, key=KEYS["bob"])
        assert resp.status == 404 and s3_error(resp)[0] == "NoSuchKey", (key, headers)


BIG_PATH = "/s3p/immuta/" + BIG.replace(" ", "%20")


def _rx_bytes(gateway):
    return gateway.stat("cluster.s3_demo.upstream_cx_rx_bytes_total")


def test_conditional_answers_do_not_read_the_object(gateway, endpoint):
    """A 304/412 the gateway decides costs the store at most a little more than headers: 20
    answers of the 50 MB object pull < 5 MB from it in all (one read of what Envoy buffers per
    answer at most, far below the 1,049 MB of reading each object through)."""
    head = http(endpoint, "HEAD", BIG_PATH, key=KEYS["carol"])
    assert head.status == 200
    etag, modified = head.headers["etag"], head.headers["last-modified"]
    conditions = [{"If-None-Match": etag}, {"If-None-Match": "*"},
                  {"If-Modified-Since": modified}, {"If-Match": '"0123"'},
                  {"If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}]
    before = _rx_bytes(gateway)
    for i in range(20):
        headers = conditions[i % len(conditions)]
        resp = http(endpoint, "GET", BIG_PATH, headers=headers, key=KEYS["carol"])
        if "If-Match" in headers or "If-Unmodified-Since" in headers:
            assert resp.status == 412 and s3_error(resp)[0] == "PreconditionFailed", headers
        else:
            assert (resp.status, resp.body) == (304, b""), headers
            assert resp.headers["etag"] == etag and resp.headers["last-modified"] == modified
    pulled = _rx_bytes(gateway) - before
    assert pulled < 5 * 1024 * 1024, f"20 conditional answers pulled {pulled:,} bytes"


def test_if_range_decides_the_range(endpoint, demo_dir, current):
    """RFC 9110 §13.1.5, decided by the gateway (the store ignores If-Range): a strong ETag or
    a date exactly equal to Last-Modified serves the Range (206); anything else, a weak tag
    included, serves the whole object (200)."""
    data = disk_file(demo_dir, KEY).read_bytes()
    etag = current["etag"]
    partial = [etag, current["last_modified"]]
    whole = ['"0123"', f"W/{etag}", current["before"], current["after"], "not a date"]
    for if_range in partial + whole:
        resp = http(endpoint, "GET", PATH, key=KEYS["alice"],
                    headers={"Range": "bytes=0-9", "If-Range": if_range})
        if if_range in partial:
            assert (resp.status, resp.body) == (206, data[:10]), if_range
            assert resp.headers["content-range"] == f"bytes 0-9/{len(data)}"
        else:
            assert (resp.status, resp.body) == (200, data), if_range
            assert "content-range" not in resp.headers
        assert resp.headers["etag"] == etag
    # A suffix range under If-Range, and If-Range with another condition that fails first.
    resp = http(endpoint, "GET", PATH, key=KEYS["alice"],
                headers={"Range": "bytes=-5", "If-Range": etag})
    assert (resp.status, resp.body) == (206, data[-5:])
    resp = http(endpoint, "GET", PATH, key=KEYS["alice"],
                headers={"Range": "bytes=-5", "If-Range": '"0123"'})
    assert (resp.status, resp.body) == (200, data)
    resp = http(endpoint, "GET", PATH, key=KEYS["alice"],
                headers={"Range": "bytes=0-9", "If-Range": etag, "If-None-Match": etag})
    assert (resp.status, resp.body) == (304, b"")
    # HEAD: a true If-Range changes nothing (the answer is what HEAD with that Range gets),
    # a false one describes the whole object.
    def head(headers):
        resp = http(endpoint, "HEAD", PATH, key=KEYS["alice"], headers=headers)
        return resp.status, resp.headers.get("content-length"), resp.body

    assert head({"Range": "bytes=0-9", "If-Range": etag}) == head({"Range": "bytes=0-9"})
    assert head({"Range": "bytes=0-9", "If-Range": '"0123"'}) == (200, str(len(data)), b"")
    # Without a Range, If-Range means nothing.
    resp = http(endpoint, "GET", PATH, key=KEYS["alice"], headers={"If-Range": '"0123"'})
    assert (resp.status, resp.body) == (200, data)


def test_if_range_with_boto3(clients, demo_dir, current):
    """The same through a SigV4-signing client (boto3 has no IfRange: the header is added
    before signing, so it is signed like any other)."""
    data = disk_file(demo_dir, KEY).read_bytes()
    s3 = clients["alice"]
    wanted = {}

    def add_if_range(request, **_):
        request.headers["If-Range"] = wanted["if_range"]

    s3.meta.events.register("before-sign.s3.GetObject", add_if_range)
    try:
        for if_range, status, body in [(current["etag"], 206, data[:10]),
                                       ('"0123"', 200, data),
                                       (f"W/{current['etag']}", 200, data),
                                       (current["last_modified"], 206, data[:10]),
                                       (current["before"], 200, data)]:
            wanted["if_range"] = if_range
            resp = s3.get_object(Bucket="immuta", Key=KEY, Range="bytes=0-9")
            got = (resp["ResponseMetadata"]["HTTPStatusCode"], resp["Body"].read())
            assert got == (status, body), if_range
    finally:
        s3.meta.events.unregister("before-sign.s3.GetObject", add_if_range)
