"""Virtual-hosted-style addressing: the bucket in the Host header (`immuta.localhost`, plugin
setting `virtual_host_domain`), as S3 SDKs address buckets by default. `*.localhost` need not
resolve here: requests go to 127.0.0.1 with the Host header set (raw HTTP), or through the
gateway's port as an HTTP proxy (boto3), which sends the absolute URL and so the same Host."""

import xml.etree.ElementTree as ET

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from gateway import (DAY, KEYS, S3_NS, SECRET, client_error, disk_file, http, keys_under,
                     record_response_dicts, s3_error)

DOMAIN = "localhost"  # envoy/envoy.yaml: "virtual_host_domain"
HOST = f"immuta.{DOMAIN}"


def _port(url):
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


def vhost_client(gateway_url, principal, path=""):
    """boto3 in its default (virtual) addressing, sending to the gateway whatever the DNS."""
    port = _port(gateway_url)
    client = boto3.session.Session().client(
        "s3", aws_access_key_id=KEYS[principal], aws_secret_access_key=SECRET,
        region_name="us-east-1", endpoint_url=f"http://{DOMAIN}:{port}{path}",
        config=Config(s3={"addressing_style": "virtual"}, signature_version="s3v4",
                      proxies={"http": f"http://127.0.0.1:{port}"},
                      retries={"total_max_attempts": 1}))
    record_response_dicts(client.meta.events)
    sent = []
    client.meta.events.register("before-send.s3", lambda request, **_: sent.append(request.url))
    return client, sent


@pytest.mark.parametrize("listener", ["path", "root"])
def test_boto3_virtual_hosted_style(endpoint, root_endpoint, demo_dir, listener):
    gateway_url, path = (endpoint, "/s3p") if listener == "path" else (root_endpoint, "")
    s3, sent = vhost_client(gateway_url, "alice", path)
    resp = s3.list_objects_v2(Bucket="immuta", Delimiter="/")
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["customers/", "events/", "orders/",
                                                              "purchases/", "sales/"]
    base = f"http://{HOST}:{_port(gateway_url)}{path}"  # really virtual-hosted
    assert sent[-1].split("?")[0] in (base, base + "/"), sent[-1]
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket="immuta", Prefix=DAY, PaginationConfig={"PageSize": 1000})
    assert [o["Key"] for p in pages for o in p["Contents"]] == keys_under(demo_dir, DAY,
                                                                          ["events"])
    key = "sales/region=us/part-00001.csv"
    assert s3.get_object(Bucket="immuta", Key=key)["Body"].read() == \
        disk_file(demo_dir, key).read_bytes()
    assert sent[-1] == f"http://{HOST}:{_port(gateway_url)}{path}/{key.replace('=', '%3D')}"
    assert s3.head_object(Bucket="immuta", Key=key)["ContentLength"] == \
        disk_file(demo_dir, key).stat().st_size
    assert s3.head_bucket(Bucket="immuta")["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_boto3_virtual_hosted_download(endpoint, demo_dir, tmp_path):
    s3, _ = vhost_client(endpoint, "carol", "/s3p")
    key = "documents/large scan.bin"
    out = tmp_path / "scan.bin"
    s3.download_file(Bucket="immuta", Key=key, Filename=str(out))
    assert out.read_bytes() == disk_file(demo_dir, key).read_bytes()


def test_virtual_hosted_visibility(endpoint):
    s3, _ = vhost_client(endpoint, "bob", "/s3p")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.get_object(Bucket="immuta", Key="customers/customers.csv")
    assert client_error(exc) == (404, "NoSuchKey")
    resp = s3.list_objects_v2(Bucket="immuta", Prefix="sales/", Delimiter="/")
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["sales/region=eu/"]


def _raw(gateway_url, path, host, principal="alice"):
    return http(gateway_url, "GET", path, headers={"Host": host}, key=KEYS[principal])


def test_raw_host_header(endpoint, root_endpoint, demo_dir):
    key = "sales/region=eu/part-00000.csv"
    data = disk_file(demo_dir, key).read_bytes()
    for gateway_url, path in ((endpoint, "/s3p"), (root_endpoint, "")):
        port = _port(gateway_url)
        for host in (f"{HOST}:{port}", HOST, f"IMMUTA.{DOMAIN.upper()}:{port}"):
            resp = _raw(gateway_url, f"{path}/{key}", host)
            assert (resp.status, resp.body) == (200, data), (gateway_url, host)
        resp = _raw(gateway_url, f"{path}/?list-type=2&prefix=sales%2F&delimiter=%2F",
                    f"{HOST}:{port}")
        assert resp.status == 200
        root = ET.fromstring(resp.body)
        assert root.findtext(f"{S3_NS}Name") == "immuta"
        assert [p.text for p in root.iter(f"{S3_NS}Prefix")][1:] == [
            "sales/region=eu/", "sales/region=us/"]


def test_other_bucket_hosts_do_not_exist(endpoint, root_endpoint):
    for gateway_url, path in ((endpoint, "/s3p"), (root_endpoint, "")):
        port = _port(gateway_url)
        for host in (f"acme-warehouse-prod.{DOMAIN}:{port}", f"immuta2.{DOMAIN}:{port}"):
            resp = _raw(gateway_url, f"{path}/sales/region=eu/part-00000.csv", host)
            assert resp.status == 404 and s3_error(resp)[0] == "NoSuchBucket", host


def test_bare_domain_and_ip_stay_path_style(endpoint, demo_dir):
    port = _port(endpoint)
    key = "sales/region=eu/part-00000.csv"
    for host in (f"{DOMAIN}:{port}", f"127.0.0.1:{port}"):
        resp = _raw(endpoint, f"/s3p/immuta/{key}", host)
        assert resp.status == 200 and resp.body == disk_file(demo_dir, key).read_bytes()
    # In virtual-hosted style the path holds only the key: /s3p/immuta/... names "immuta/...".
    resp = _raw(endpoint, f"/s3p/immuta/{key}", f"{HOST}:{port}")
    assert resp.status == 404 and s3_error(resp)[0] == "NoSuchKey"
