"""Authentication and read-only enforcement: unknown keys, missing credentials and disabled
principals are refused, and writes are refused without ever reaching the upstream."""


import botocore.exceptions
import pytest

from gateway import KEYS, client_error, disk_file, http, s3_client, s3_error


def upstream_requests(gateway):
    """Envoy's count of requests sent to the demo upstream (both routed and dispatched)."""
    return gateway.stat("cluster.s3_demo.upstream_rq_total")


def test_unknown_key_raw(endpoint):
    resp = http(endpoint, "GET", "/s3p", key="nobody-demo-key")
    assert resp.status == 403
    assert s3_error(resp)[0] == "InvalidAccessKeyId"


def test_unknown_key_boto3(endpoint):
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3_client(endpoint, "nobody-demo-key").list_objects(Bucket="immuta", Prefix="sales/")
    assert client_error(exc) == (403, "InvalidAccessKeyId")


@pytest.mark.parametrize("path", ["/s3p", "/s3p/immuta", "/s3p/immuta/sales/region=eu/part-00000.csv"])
def test_no_credentials(endpoint, path):
    resp = http(endpoint, "GET", path)
    assert resp.status == 403
    assert s3_error(resp)[0] == "AccessDenied"


def test_disabled_principal(endpoint, clients):
    resp = http(endpoint, "GET", "/s3p/immuta?list-type=2", key=KEYS["dave"])
    assert resp.status == 403
    assert s3_error(resp)[0] == "AccessDenied"
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        clients["dave"].list_objects(Bucket="immuta", Delimiter="/")
    assert client_error(exc) == (403, "AccessDenied")


def test_writes_refused_and_never_reach_upstream(gateway, clients, demo_dir):
    existing = "sales/region=eu/part-00000.csv"
    before_bytes = disk_file(demo_dir, existing).read_bytes()
    s3 = clients["carol"]
    before = upstream_requests(gateway)

    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.put_object(Bucket="immuta", Key="sales/new-upload.csv", Body=b"a,b\n1,2\n")
    assert client_error(exc)[0] == 403
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.delete_object(Bucket="immuta", Key=existing)
    assert client_error(exc)[0] == 403

    for method, path, body in [
        ("PUT", "/s3p/immuta/sales/raw-upload.csv", b"x,y\n"),
        ("DELETE", f"/s3p/immuta/{existing}", None),
        ("PUT", "/s3p/immuta", None),  # CreateBucket
        ("DELETE", "/s3p/immuta", None),  # DeleteBucket
        ("POST", "/s3p/immuta/sales/multi.csv?uploads", None),  # CreateMultipartUpload
    ]:
        resp = http(gateway.endpoint, method, path, body=body, key=KEYS["carol"])
        if method == "POST":
            assert 400 <= resp.status < 500, (method, path, resp.status)
        else:
            assert resp.status == 403, (method, path, resp.status)
        s3_error(resp)

    assert upstream_requests(gateway) == before
    assert not disk_file(demo_dir, "sales/new-upload.csv").exists()
    assert not disk_file(demo_dir, "sales/raw-upload.csv").exists()
    assert not disk_file(demo_dir, "sales/multi.csv").exists()
    assert disk_file(demo_dir, existing).read_bytes() == before_bytes
