"""Print SigV4 / SigV2 test vectors signed by real botocore, for src/sigv4.rs and src/sigv2.rs.

Run: .venv/bin/python scripts/gen_sigv4_vectors.py

A botocore S3 client pointed at an endpoint with the gateway's path prefix (`/s3p`) builds and
signs each request exactly as boto3 would send it; a `before-send` hook captures the request
instead of sending it. The clock is pinned so the output is stable.
"""

import datetime
import time
from unittest import mock
from urllib.parse import urlsplit

import botocore.auth
import botocore.session
from botocore.config import Config

ENDPOINT = "http://gw.example:8080/s3p"
ACCESS_KEY = "alice-demo-key"
SECRET = "gw+secret/with=odd chars"
NOW = 1795687200  # 2026-11-26T10:00:00Z
KEY = "sales/q1 report+final=v2 é/ünï.csv"


class Captured(Exception):
    """Stops the client once the signed request is built."""


def call(method, **params):
    try:
        method(**params)
    except Captured:
        pass


def client(signature_version, style="path"):
    session = botocore.session.get_session()
    c = session.create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET,
        config=Config(signature_version=signature_version, s3={"addressing_style": style}),
    )
    captured = []

    def capture(request, **_):
        captured.append(request)
        raise Captured()

    c.meta.events.register("before-send.s3", capture)
    return c, captured


def show(label, request):
    split = urlsplit(request.url)
    raw_path = split.path + ("?" + split.query if split.query else "")
    print(f"// {label}")
    print(f"//   {request.method} {raw_path}")
    print(f"//   host: {split.netloc}")
    for name, value in request.headers.items():
        print(f"//   {name.lower()}: {value.decode() if isinstance(value, bytes) else value}")
    print()


def url(label, presigned):
    split = urlsplit(presigned)
    print(f"// {label}")
    print(f"//   GET {split.path}?{split.query}")
    print(f"//   host: {split.netloc}")
    print()


def main():
    fixed = datetime.datetime.fromtimestamp(NOW, datetime.timezone.utc)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=fixed), mock.patch(
        "time.time", return_value=float(NOW)
    ):
        assert time.time() == NOW
        for version in ("s3v4", "s3"):
            for style in ("path", "virtual"):
                label = f"{version} {style}-style"
                c, captured = client(version, style)
                call(c.list_objects_v2, Bucket="immuta", Prefix="sales/q1 report+", Delimiter="/")
                call(c.get_object, Bucket="immuta", Key=KEY, Range="bytes=0-9")
                call(c.head_object, Bucket="immuta", Key=KEY)
                call(c.list_buckets)
                call(c.get_bucket_location, Bucket="immuta")
                for request in captured:
                    show(f"{label}, header auth", request)
                url(
                    f"{label}, presigned GetObject, 3600 s",
                    c.generate_presigned_url(
                        "get_object", Params={"Bucket": "immuta", "Key": KEY}, ExpiresIn=3600
                    ),
                )
                url(
                    f"{label}, presigned ListObjectsV2, 600 s",
                    c.generate_presigned_url(
                        "list_objects_v2",
                        Params={"Bucket": "immuta", "Prefix": "sales/a=b+c d", "Delimiter": "/"},
                        ExpiresIn=600,
                    ),
                )

if __name__ == "__main__":
    main()
