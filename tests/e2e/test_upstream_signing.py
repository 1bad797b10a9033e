"""Upstream signing, the other way from envoy/envoy.yaml: the gateway can sign its requests to S3
itself (plugin `upstreams.*.sign`, credentials from the VM's environment) or leave it to
Envoy's `aws_request_signing` upstream filter. The rest of the suite runs the checked-in
choice; this module runs the other one against the same signature-checking rclone: objects,
ranges (the suffix-range HEAD the filter dispatches itself), listings (the filter's own
upstream page fetches) and a bad credential. docs/benchmarks.md says which is shipped and why."""

import os
import subprocess
import sys
from pathlib import Path

import botocore.exceptions
import pytest
import render_envoy
import yaml

from conftest import start_stack
from gateway import KEYS, disk_file, s3_client, view_of

SHIPPED = render_envoy.upstream_signing_mode(yaml.safe_load(render_envoy.SOURCE.read_text()))
OTHER = {"envoy": "filter", "filter": "envoy"}[SHIPPED]
OBJECT = "sales/region=eu/part-00000.csv"
ENVOY = str(Path(sys.executable).parent / "envoy")


@pytest.fixture(scope="module")
def other(demo_dir, tmp_path_factory):
    s = start_stack(demo_dir, tmp_path_factory.mktemp(f"run-{OTHER}-signing"),
                    upstream_signing=OTHER)
    yield s
    s.stop()


def test_objects_ranges_and_conditions(other, demo_dir):
    s3 = s3_client(other.endpoint, KEYS["alice"])
    data = disk_file(demo_dir, OBJECT).read_bytes()
    got = s3.get_object(Bucket="immuta", Key=OBJECT)
    assert got["Body"].read() == data
    etag = got["ETag"]
    assert s3.head_object(Bucket="immuta", Key=OBJECT)["ContentLength"] == len(data)
    assert s3.get_object(Bucket="immuta", Key=OBJECT, Range="bytes=0-9")["Body"].read() \
        == data[:10]
    # A suffix longer than the object: the filter asks the store for the size first (its own
    # signed HEAD), then the whole object comes back as 206.
    longer = s3.get_object(Bucket="immuta", Key=OBJECT, Range=f"bytes=-{len(data) + 100}")
    assert longer["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert longer["Body"].read() == data
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.get_object(Bucket="immuta", Key=OBJECT, IfNoneMatch=etag)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304


def test_masked_views_in_either_signing_mode(other, gateway, demo_dir):
    # The mask secret reaches the VM however upstream requests are signed (render_envoy.py
    # rewrites host_env_keys): alice's view is the same bytes from both stacks.
    key = "customers/customers.csv"
    view = view_of(demo_dir, "alice", key, other.mask_secret)
    for s in (gateway, other):
        got = s3_client(s.endpoint, KEYS["alice"]).get_object(Bucket="immuta", Key=key)
        assert got["Body"].read() == view, s.upstream_signing


def test_listings_page_through_signed_fetches(other, gateway):
    # The root of the bucket in pages of 7: every page is one or more of the filter's own
    # upstream fetches. The listing must equal the checked-in configuration's.
    def keys(endpoint):
        s3 = s3_client(endpoint, KEYS["alice"])
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket="immuta", PaginationConfig={"PageSize": 7})
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    listed = keys(other.endpoint)
    assert len(listed) > 14, "several pages"
    assert listed == keys(gateway.endpoint)


def test_a_wrong_upstream_secret_is_refused_by_the_store(demo_dir, tmp_path):
    # The gateway's credentials really sign the upstream requests: with a wrong secret the
    # store refuses them, and the client sees an S3 error, never the object or a listing.
    s = start_stack(demo_dir, tmp_path / "run", upstream_signing=OTHER,
                    gateway_credentials=("s3gate-upstream", "not-the-secret"))
    try:
        assert s.credentials[1] != "not-the-secret"  # rclone expects the real one
        s3 = s3_client(s.endpoint, KEYS["alice"])
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            s3.get_object(Bucket="immuta", Key=OBJECT)
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] in (403, 500, 502, 503)
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            s3.list_objects_v2(Bucket="immuta", Prefix="sales/")
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] in (403, 500, 502, 503)
    finally:
        s.stop()


def test_filter_signing_without_credentials_is_a_clear_configuration_error(gateway, tmp_path):
    out = render_envoy.render(tmp_path / "envoy.yaml", gateway.wasm, port=1, admin_port=2,
                              policy_port=3, upstream_port=4, root_port=5,
                              upstream_signing="filter")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run([ENVOY, "--mode", "validate", "-c", str(out), "-l", "error"],
                            capture_output=True, text=True, env=env)
    assert result.returncode != 0
    assert "AWS_ACCESS_KEY_ID is not in the VM's environment" in result.stdout + result.stderr
    assert "host_env_keys" in result.stdout + result.stderr
    env.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y", S3GATE_POLICY_TOKEN="z")
    ok = subprocess.run([ENVOY, "--mode", "validate", "-c", str(out), "-l", "error"],
                        capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
