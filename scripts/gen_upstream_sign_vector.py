"""Print SigV4 vectors for core/src/signature/upstream.rs, signed by botocore's own S3 signer.

Run: .venv/bin/python scripts/gen_upstream_sign_vector.py

Unlike gen_sigv4_vectors.py (a whole client, as a user's boto3 signs), this drives
`botocore.auth.S3SigV4Auth` directly on a bare request, so the signed headers are exactly the
gateway's upstream set: host, x-amz-content-sha256 (UNSIGNED-PAYLOAD), x-amz-date, and
x-amz-security-token when the credentials carry one. The paths are already encoded the way the
gateway sends them (`mapping::upstream_object_path`): botocore signs an S3 path and query as
given. The clock is pinned so the output is stable.
"""

import datetime
from unittest import mock

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE/session+token=="
REGION = "us-east-1"
NOW = 1795687200  # 2026-11-26T10:00:00Z

CASES = [
    # (label, method, url, session token)
    (
        "GET, encoded key with a space, unicode and an encoded slash; two query params",
        "GET",
        "https://store.example:9000/acme-warehouse/curated/q1%20report%2Fv2%20%C3%A9.csv"
        "?response-content-type=text%2Fcsv&partNumber=1",
        None,
    ),
    (
        "HEAD with a session token",
        "HEAD",
        "https://store.example:9000/acme-warehouse/curated/a~b%3Dc.csv",
        TOKEN,
    ),
    (
        "GET ListObjectsV2 with an empty value",
        "GET",
        "https://store.example:9000/acme-warehouse?list-type=2&prefix=curated%2F&delimiter=%2F"
        "&continuation-token=",
        None,
    ),
]


def sign(method, url, token):
    request = AWSRequest(method=method, url=url)
    # payload_signing_enabled=False makes S3SigV4Auth sign UNSIGNED-PAYLOAD, as the gateway does.
    request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    credentials = Credentials(ACCESS_KEY, SECRET, token)
    botocore.auth.S3SigV4Auth(credentials, "s3", REGION).add_auth(request)
    return request


def main():
    fixed = datetime.datetime.fromtimestamp(NOW, datetime.timezone.utc)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=fixed):
        for label, method, url, token in CASES:
            request = sign(method, url, token)
            print(f"// {label}")
            print(f"//   {method} {url}")
            for name, value in request.headers.items():
                value = value.decode() if isinstance(value, bytes) else value
                print(f"//   {name.lower()}: {value}")
            print()


if __name__ == "__main__":
    main()
