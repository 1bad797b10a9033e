"""The rows of docs/s3-compatibility.md that no client test covers: bucket-level reads, listing
parameters at their limits, and the exact error for everything the gateway does not serve."""

import xml.etree.ElementTree as ET

import botocore.exceptions
import pytest

from gateway import KEYS, client_error, http, s3_error

OBJECT = "/s3p/immuta/sales/region=eu/part-00000.csv"


def _error(resp):
    return resp.status, s3_error(resp)


def test_get_bucket_location(clients):
    resp = clients["alice"].get_bucket_location(Bucket="immuta")
    assert resp["LocationConstraint"] is None  # us-east-1, as S3 says it


def test_head_bucket(endpoint):
    resp = http(endpoint, "HEAD", "/s3p/immuta", key=KEYS["bob"])
    assert resp.status == 200 and resp.headers["x-amz-bucket-region"] == "us-east-1"
    assert http(endpoint, "HEAD", "/s3p/other", key=KEYS["bob"]).status == 404


def test_other_buckets_do_not_exist(endpoint, clients):
    status, (code, _) = _error(http(endpoint, "GET", "/s3p/other?list-type=2", key=KEYS["alice"]))
    assert (status, code) == (404, "NoSuchBucket")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        clients["alice"].get_object(Bucket="other", Key="sales/region=eu/part-00000.csv")
    assert client_error(exc) == (404, "NoSuchBucket")


@pytest.mark.parametrize("query, message", [
    ("list-type=3", "Invalid List Type specified"),
    ("max-keys=-1", "Provided max-keys not an integer or within integer range"),
    ("max-keys=ten", "Provided max-keys not an integer or within integer range"),
    ("encoding-type=xml", "Invalid Encoding Method specified in Request"),
    ("list-type=2&continuation-token=bm9wZQ", "The continuation token provided is incorrect"),
])
def test_bad_listing_arguments(endpoint, query, message):
    resp = http(endpoint, "GET", f"/s3p/immuta?{query}", key=KEYS["alice"])
    assert _error(resp) == (400, ("InvalidArgument", message))


def test_max_keys_above_1000_lists_1000(clients):
    resp = clients["alice"].list_objects_v2(Bucket="immuta", Prefix="events/", MaxKeys=5000)
    assert resp["KeyCount"] == len(resp["Contents"]) == 1000 and resp["IsTruncated"] is True


def test_fetch_owner(clients):
    s3 = clients["alice"]
    plain = s3.list_objects_v2(Bucket="immuta", Prefix="sales/", MaxKeys=2)["Contents"]
    assert all("Owner" not in o for o in plain)  # v2 names owners only when asked
    owned = s3.list_objects_v2(Bucket="immuta", Prefix="sales/", MaxKeys=2,
                               FetchOwner=True)["Contents"]
    assert [o["Owner"] for o in owned] == [{"DisplayName": "Immuta", "ID": "Immuta"}] * 2
    v1 = s3.list_objects(Bucket="immuta", Prefix="sales/", MaxKeys=2)["Contents"]
    assert [o["Owner"]["ID"] for o in v1] == ["Immuta", "Immuta"]  # v1 always does


def test_response_header_overrides(endpoint):
    resp = http(endpoint, "GET", f"{OBJECT}?response-cache-control=no-cache"
                "&response-expires=Tue%2C%2001%20Dec%202026%2016%3A00%3A00%20GMT"
                "&response-content-language=fr&response-content-encoding=identity",
                key=KEYS["alice"])
    assert resp.status == 200
    assert (resp.headers["cache-control"], resp.headers["expires"],
            resp.headers["content-language"], resp.headers["content-encoding"]) == (
        "no-cache", "Tue, 01 Dec 2026 16:00:00 GMT", "fr", "identity")


def test_folder_keys_are_no_such_key(endpoint):
    for path in ("/s3p/immuta/sales/", "/s3p/immuta/sales", "/s3p/immuta/sales/region=eu/"):
        status, (code, _) = _error(http(endpoint, "GET", path, key=KEYS["alice"]))
        assert (status, code) == (404, "NoSuchKey"), path


@pytest.mark.parametrize("path", [
    "/s3p/immuta/sales/../customers/customers.csv",
    "/s3p/immuta/sales/%2E%2E/customers/customers.csv",
    "/s3p/immuta/sales/./region=eu/part-00000.csv",
    "/s3p/immuta/sales%2Fregion=eu/part-00000.csv",
    "/s3p/immuta/sales/region=eu%5Cpart-00000.csv",
    "/s3p/immuta/sales//region=eu/part-00000.csv",
    "/s3p/immuta/sales/region=eu/part%0A.csv",
])
def test_path_tricks_are_invalid_argument(endpoint, path):
    status, (code, _) = _error(http(endpoint, "GET", path, key=KEYS["carol"]))
    assert (status, code) == (400, "InvalidArgument"), path


@pytest.mark.parametrize("path", [
    "/s3p/immuta?acl", "/s3p/immuta?policy", "/s3p/immuta?versioning", "/s3p/immuta?versions",
    "/s3p/immuta?uploads", "/s3p/immuta?cors", "/s3p/immuta?lifecycle", "/s3p/immuta?tagging",
    f"{OBJECT}?acl", f"{OBJECT}?tagging", f"{OBJECT}?versionId=3HL4kqtJlcpXroDTDmJ",
    f"{OBJECT}?partNumber=1", f"{OBJECT}?attributes", f"{OBJECT}?retention",
    f"{OBJECT}?legal-hold", f"{OBJECT}?torrent",
])
def test_unsupported_sub_resources(endpoint, path):
    resp = http(endpoint, "GET", path, key=KEYS["carol"])
    status, (code, message) = _error(resp)
    sub = path.split("?")[1].split("=")[0]
    assert (status, code) == (501, "NotImplemented")
    assert message == f"The '{sub}' sub-resource is not supported by this gateway"


def test_unsupported_operations_through_boto3(clients):
    s3 = clients["carol"]
    for call in (lambda: s3.list_object_versions(Bucket="immuta"),
                 lambda: s3.get_object_tagging(Bucket="immuta", Key="sales/_SUCCESS"),
                 lambda: s3.get_bucket_policy(Bucket="immuta"),
                 lambda: s3.list_multipart_uploads(Bucket="immuta")):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            call()
        assert client_error(exc) == (501, "NotImplemented")


@pytest.mark.parametrize("method, path", [
    ("PUT", OBJECT), ("DELETE", OBJECT), ("PATCH", OBJECT), ("POST", "/s3p/immuta?delete"),
    ("PUT", f"{OBJECT}?tagging"),
])
def test_writes_are_access_denied(endpoint, method, path):
    resp = http(endpoint, method, path, body=b"x", key=KEYS["carol"])
    assert _error(resp) == (403, ("AccessDenied", "Access Denied: the gateway is read-only"))


def test_select_is_not_implemented(endpoint):
    # S3 Select is a read, but one whose answer the gateway could not filter.
    resp = http(endpoint, "POST", f"{OBJECT}?select&select-type=2", body=b"x", key=KEYS["carol"])
    status, (code, _) = _error(resp)
    assert (status, code) == (501, "NotImplemented")


def test_other_methods_are_not_allowed(endpoint):
    resp = http(endpoint, "OPTIONS", OBJECT, key=KEYS["carol"])
    status, (code, _) = _error(resp)
    assert (status, code) == (405, "MethodNotAllowed")
    assert ET.fromstring(resp.body).findtext("Method") == "OPTIONS"
