"""Signatures checked with real signers (botocore, curl) through the real Envoy and filter: SigV4
in the header and presigned, SigV2 in the header and presigned, expiry, clock skew, tampering,
and what a refused request is told (nothing that helps forge the next one). Also: the policy
service is not reachable through the gateway, and no response carries a secret or signing key.
docs/security.md names these tests."""

import base64
import datetime
import email.utils
import functools
import hashlib
import json
import re
import shutil
import subprocess
import time
import urllib.request
import xml.etree.ElementTree as ET
from unittest import mock
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import botocore.auth
import botocore.compat
import botocore.exceptions
import pytest
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from gateway import (KEYS, RECORDER, S3_NS, SECRET, Recorded, client_error, disk_file, http,
                     s3_client, s3_error)

OBJECT = "sales/region=eu/part-00000.csv"
OTHER_OBJECT = "sales/region=eu/part-00001.csv"
WRONG = "not-the-secret"
# An S3 error body names these and nothing else: no canonical request, string to sign,
# signature provided or expected.
ERROR_ELEMENTS = {"Code", "Message", "Resource", "RequestId"}


# --- signers ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def v4(endpoint, access_key, secret=SECRET):
    """The suite's SigV4 boto3 client, one per principal and secret (clients cost 0.15 s)."""
    return s3_client(endpoint, access_key, secret)


@functools.lru_cache(maxsize=None)
def sigv2_client(endpoint, access_key, secret=SECRET):
    """boto3 with SigV2 (botocore's HmacV1Auth: `signature_version='s3'`), path style."""
    return s3_client(endpoint, access_key, secret, signature_version="s3")


def signing_time(shift_seconds):
    """Patch the clock botocore's SigV4 signers read (naive UTC, as botocore uses it)."""
    when = botocore.compat.get_current_datetime() + datetime.timedelta(seconds=shift_seconds)
    return mock.patch("botocore.auth.get_current_datetime", lambda remove_tzinfo=True: when)


def sigv4_signed(url, access_key, secret, shift_seconds=0, region="us-east-1"):
    """SigV4 headers for a GET of `url` (path and query signed as given), signed at now+shift."""
    request = AWSRequest(method="GET", url=url)
    with signing_time(shift_seconds):
        S3SigV4Auth(Credentials(access_key, secret), "s3", region).add_auth(request)
    return dict(request.headers.items())


def path_of(url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def assert_no_hint(resp, *secrets):
    """A refused request learns the code and a fixed message, nothing to forge the next one."""
    root = ET.fromstring(resp.body)
    assert {child.tag for child in root} <= ERROR_ELEMENTS, resp.body
    text = resp.body.decode()
    for needle in ("StringToSign", "CanonicalRequest", "SignatureProvided", "AWS4-HMAC-SHA256",
                   "aws4_request", "x-amz-date", *secrets):
        assert needle not in text, (needle, text)
    assert not re.search(r"[0-9a-fA-F]{40,}", text), text  # no signature or hash


# --- SigV4 -----------------------------------------------------------------------------------

def test_sigv4_header_boto3_lists_and_reads(endpoint, demo_dir):
    s3 = v4(endpoint, KEYS["alice"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="immuta", Prefix="sales/")["Contents"]]
    assert OBJECT in keys
    body = s3.get_object(Bucket="immuta", Key=OBJECT)["Body"].read()
    assert body == disk_file(demo_dir, OBJECT).read_bytes()


def test_sigv4_wrong_secret_is_refused_without_hints(endpoint):
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        v4(endpoint, KEYS["alice"], secret=WRONG).get_object(Bucket="immuta", Key=OBJECT)
    assert client_error(exc) == (403, "SignatureDoesNotMatch")

    # The same request signed both ways, at the same instant: the right signature must not be
    # in the refusal of the wrong one.
    url = f"{endpoint}/immuta/{quote(OBJECT)}"
    wrong = sigv4_signed(url, KEYS["alice"], WRONG)
    with mock.patch("botocore.auth.get_current_datetime",
                    lambda remove_tzinfo=True: datetime.datetime.strptime(
                        wrong["X-Amz-Date"], "%Y%m%dT%H%M%SZ")):
        right = sigv4_signed(url, KEYS["alice"], SECRET)
    assert right["X-Amz-Date"] == wrong["X-Amz-Date"]
    expected = right["Authorization"].rsplit("Signature=", 1)[1]
    resp = http(endpoint, "GET", path_of(url), headers=wrong)
    assert resp.status == 403
    assert s3_error(resp)[0] == "SignatureDoesNotMatch"
    assert_no_hint(resp, expected, WRONG)
    assert all(expected not in v for v in resp.headers.values())
    assert http(endpoint, "GET", path_of(url), headers=right).status == 200


def test_sigv4_presigned_get_and_listing(endpoint, demo_dir):
    s3 = v4(endpoint, KEYS["alice"])
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "immuta", "Key": OBJECT})
    assert "X-Amz-Signature=" in url
    resp = http(endpoint, "GET", path_of(url))
    assert resp.status == 200
    assert resp.body == disk_file(demo_dir, OBJECT).read_bytes()

    url = s3.generate_presigned_url("list_objects_v2",
                                    Params={"Bucket": "immuta", "Prefix": "sales/region=eu/"})
    resp = http(endpoint, "GET", path_of(url))
    assert resp.status == 200, resp.body
    keys = [k.text for k in ET.fromstring(resp.body).iter(f"{S3_NS}Key")]
    # boto3 asks for encoding-type=url: keys come back encoded.
    assert "sales/region%3Deu/part-00000.csv" in keys

    # v1 listing, presigned too
    url = s3.generate_presigned_url("list_objects", Params={"Bucket": "immuta", "Delimiter": "/"})
    resp = http(endpoint, "GET", path_of(url))
    assert resp.status == 200
    prefixes = [p.text for p in ET.fromstring(resp.body).iter(f"{S3_NS}Prefix") if p.text]
    assert prefixes == ["customers/", "events/", "orders/", "purchases/", "sales/"]


def test_sigv4_presigned_url_expires(endpoint):
    s3 = v4(endpoint, KEYS["alice"])
    # ExpiresIn=1, signed 10 s ago: expired 9 s ago (no sleeping in the suite).
    with signing_time(-10):
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "immuta", "Key": OBJECT},
                                        ExpiresIn=1)
    assert "X-Amz-Expires=1&" in url
    resp = http(endpoint, "GET", path_of(url))
    assert resp.status == 403
    assert s3_error(resp) == ("AccessDenied", "Request has expired")

    # Signed 20 minutes ahead: not valid yet (beyond the 15 minutes of allowed skew).
    with signing_time(20 * 60):
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "immuta", "Key": OBJECT})
    resp = http(endpoint, "GET", path_of(url))
    assert resp.status == 403
    assert s3_error(resp) == ("AccessDenied", "Request is not valid yet")


def _tamper_query(url, name, value):
    parts = urlsplit(url)
    query = [(k, value if k == name else v) for k, v in parse_qsl(parts.query)]
    return parts.path + "?" + urlencode(query, quote_via=quote, safe="")


@pytest.mark.parametrize("tamper", ["key", "data source", "expires", "signed param",
                                    "added param", "credential", "signature"])
def test_sigv4_presigned_url_tampered(endpoint, tamper):
    s3 = v4(endpoint, KEYS["alice"])
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "immuta", "Key": OBJECT, "ResponseContentType": "text/csv"})
    path, query = path_of(url), dict(parse_qsl(urlsplit(url).query))
    assert http(endpoint, "GET", path).status == 200  # untouched, it works
    encoded = quote(OBJECT, safe="/")
    tampered = {
        "key": lambda: path.replace(encoded, quote(OTHER_OBJECT, safe="/")),
        "data source": lambda: path.replace(encoded, "customers/customers.csv"),
        "expires": lambda: _tamper_query(url, "X-Amz-Expires", "604800"),
        "signed param": lambda: _tamper_query(url, "response-content-type", "text/html"),
        "added param": lambda: path + "&response-content-disposition=attachment",
        "credential": lambda: _tamper_query(
            url, "X-Amz-Credential",
            query["X-Amz-Credential"].replace(KEYS["alice"], KEYS["carol"])),
        "signature": lambda: _tamper_query(
            url, "X-Amz-Signature",
            ("0" if query["X-Amz-Signature"][0] != "0" else "1") + query["X-Amz-Signature"][1:]),
    }[tamper]()
    assert tampered != path
    resp = http(endpoint, "GET", tampered)
    assert resp.status == 403, (tampered, resp.body)
    assert s3_error(resp)[0] == "SignatureDoesNotMatch"
    assert_no_hint(resp)


def test_key_state_is_visible_without_the_secret(endpoint):
    # A documented limit (docs/security.md): as with S3, whether an access key exists shows
    # before its signature is checked, and a disabled principal says so.
    codes = {}
    for key in (KEYS["alice"], KEYS["dave"], f"nobody-{time.time_ns()}"):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            v4(endpoint, key, WRONG).list_objects_v2(Bucket="immuta")
        codes[key[:5]] = client_error(exc)
    assert codes == {"alice": (403, "SignatureDoesNotMatch"), "dave-": (403, "AccessDenied"),
                     "nobod": (403, "InvalidAccessKeyId")}


def test_sigv4_unsigned_amz_headers_are_refused(endpoint):
    # An x-amz-* header changes what a request means; one the client did not sign is refused.
    url = f"{endpoint}/immuta/{quote(OBJECT)}"
    headers = sigv4_signed(url, KEYS["alice"], SECRET)
    assert http(endpoint, "GET", path_of(url), headers=headers).status == 200
    resp = http(endpoint, "GET", path_of(url),
                headers={**headers, "x-amz-request-payer": "requester"})
    assert resp.status == 403
    code, message = s3_error(resp)
    assert code == "AccessDenied" and "not signed" in message
    assert ET.fromstring(resp.body).findtext("HeadersNotSigned") == "x-amz-request-payer"


@pytest.mark.parametrize("minutes", [-20, 20])
def test_sigv4_clock_skew(endpoint, minutes):
    s3 = v4(endpoint, KEYS["alice"])
    with signing_time(minutes * 60):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            s3.list_objects_v2(Bucket="immuta", Prefix="sales/")
    assert client_error(exc) == (403, "RequestTimeTooSkewed")
    url = f"{endpoint}/immuta/{quote(OBJECT)}"
    resp = http(endpoint, "GET", path_of(url),
                headers=sigv4_signed(url, KEYS["alice"], SECRET, shift_seconds=minutes * 60))
    assert resp.status == 403
    assert s3_error(resp)[0] == "RequestTimeTooSkewed"


def test_sigv4_skew_within_fifteen_minutes_is_accepted(endpoint):
    s3 = v4(endpoint, KEYS["alice"])
    for minutes in (-14, 14):
        with signing_time(minutes * 60):
            assert s3.list_objects_v2(Bucket="immuta", Prefix="sales/")["KeyCount"] > 0


# --- SigV2 -----------------------------------------------------------------------------------

def test_sigv2_header_boto3(endpoint, demo_dir):
    s3 = sigv2_client(endpoint, KEYS["bob"])
    keys = [o["Key"] for o in s3.list_objects(Bucket="immuta", Prefix="sales/")["Contents"]]
    assert keys == ["sales/region=eu/part-00000.csv", "sales/region=eu/part-00001.csv"]
    assert s3.get_object(Bucket="immuta", Key=OBJECT)["Body"].read() == \
        disk_file(demo_dir, OBJECT).read_bytes()


def test_sigv2_header_wrong_secret(endpoint):
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        sigv2_client(endpoint, KEYS["bob"], secret=WRONG).get_object(Bucket="immuta", Key=OBJECT)
    assert client_error(exc) == (403, "SignatureDoesNotMatch")
    # The raw refusal, with the signature that would have been right at the same Date.
    url = f"{endpoint}/immuta/{quote(OBJECT)}"
    date = email.utils.formatdate(usegmt=True)
    signed = {}
    for secret in (WRONG, SECRET):
        request = AWSRequest(method="GET", url=url)
        request.auth_path = f"/immuta/{quote(OBJECT)}"  # SigV2 signs the S3 resource
        with mock.patch.object(HmacV1Auth, "_get_date", lambda self: date):
            HmacV1Auth(Credentials(KEYS["bob"], secret)).add_auth(request)
        signed[secret] = dict(request.headers.items())
    expected = signed[SECRET]["Authorization"].rsplit(":", 1)[1]
    resp = http(endpoint, "GET", path_of(url), headers=signed[WRONG])
    assert resp.status == 403
    assert s3_error(resp)[0] == "SignatureDoesNotMatch"
    assert_no_hint(resp, expected, "GET\n")
    assert http(endpoint, "GET", path_of(url), headers=signed[SECRET]).status == 200


def test_sigv2_header_clock_skew(endpoint):
    late = email.utils.formatdate(time.time() - 20 * 60, usegmt=True)
    with mock.patch.object(HmacV1Auth, "_get_date", lambda self: late):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            sigv2_client(endpoint, KEYS["bob"]).get_object(Bucket="immuta", Key=OBJECT)
    assert client_error(exc) == (403, "RequestTimeTooSkewed")


def test_sigv2_presigned(endpoint, demo_dir):
    url = sigv2_client(endpoint, KEYS["bob"]).generate_presigned_url(
        "get_object", Params={"Bucket": "immuta", "Key": OBJECT})
    assert "AWSAccessKeyId=" in url and "Signature=" in url
    resp = http(endpoint, "GET", path_of(url))
    assert resp.status == 200
    assert resp.body == disk_file(demo_dir, OBJECT).read_bytes()

    url = sigv2_client(endpoint, KEYS["bob"], secret=WRONG).generate_presigned_url(
        "get_object", Params={"Bucket": "immuta", "Key": OBJECT})
    resp = http(endpoint, "GET", path_of(url))
    assert resp.status == 403
    assert s3_error(resp)[0] == "SignatureDoesNotMatch"
    assert_no_hint(resp)


def test_sigv2_presigned_tampered_or_expired(endpoint):
    s3 = sigv2_client(endpoint, KEYS["bob"])
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "immuta", "Key": OBJECT})
    path = path_of(url)
    encoded = quote(OBJECT, safe="/")
    for tampered in (path.replace(encoded, quote(OTHER_OBJECT, safe="/")),
                     _tamper_query(url, "Expires", str(int(time.time()) + 7 * 86400))):
        resp = http(endpoint, "GET", tampered)
        assert resp.status == 403
        assert s3_error(resp)[0] == "SignatureDoesNotMatch"

    url = s3.generate_presigned_url("get_object", Params={"Bucket": "immuta", "Key": OBJECT},
                                    ExpiresIn=-10)
    resp = http(endpoint, "GET", path_of(url))
    assert resp.status == 403
    assert s3_error(resp) == ("AccessDenied", "Request has expired")


WEEK = 7 * 86400  # sigv2_max_expires_seconds' default, SigV4's maximum


def policy_calls(gateway):
    return gateway.stat("cluster.policy.upstream_rq_total")


def test_sigv2_presigned_lifetime_is_capped(gateway):
    # S3 bounds no SigV2 Expires; the gateway caps it at SigV4's week (plugin setting
    # sigv2_max_expires_seconds), with SigV4's 15 minutes for a signer's clock running fast.
    s3 = sigv2_client(gateway.endpoint, KEYS["bob"])

    def get(expires_in):
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "immuta", "Key": OBJECT},
                                        ExpiresIn=expires_in)
        return http(gateway.endpoint, "GET", path_of(url))

    assert get(WEEK).status == 200
    before = policy_calls(gateway)
    for expires_in in (WEEK + 3600, 10 * 365 * 86400):
        resp = get(expires_in)
        assert resp.status == 400, resp.body
        code, message = s3_error(resp)
        assert code == "AuthorizationQueryParametersError"
        assert "604800" in message
    assert policy_calls(gateway) == before  # refused before any call


# Appended to a valid presigned SigV2 URL: overrides whose names are percent-encoded. The
# request parser decodes names before acting on them, so they must be signed decoded too.
ENCODED_OVERRIDES = ["response-content-typ%65=text/html",
                     "response-content-dispositio%6e=attachment%3Bfilename%3Devil.html",
                     "%72esponse-content-type=text/html",
                     "response-content-type=text/html"]


@pytest.mark.parametrize("override", ENCODED_OVERRIDES)
def test_sigv2_presigned_added_override_is_not_served(endpoint, override):
    url = sigv2_client(endpoint, KEYS["bob"]).generate_presigned_url(
        "get_object", Params={"Bucket": "immuta", "Key": OBJECT})
    resp = http(endpoint, "GET", f"{path_of(url)}&{override}")
    assert resp.status == 403, (resp.status, resp.headers)
    assert s3_error(resp)[0] == "SignatureDoesNotMatch"
    assert "text/html" not in resp.headers.get("content-type", "")
    assert "content-disposition" not in resp.headers


def test_sigv2_presigned_signed_overrides_are_served(endpoint):
    # The other side: overrides the signer signed (botocore writes their names plainly).
    url = sigv2_client(endpoint, KEYS["bob"]).generate_presigned_url(
        "get_object", Params={"Bucket": "immuta", "Key": OBJECT, "ResponseContentType": "text/x-a",
                              "ResponseContentDisposition": "attachment; filename=a.csv"})
    resp = http(endpoint, "GET", path_of(url))
    assert resp.status == 200, resp.body
    assert resp.headers["content-type"] == "text/x-a"
    assert resp.headers["content-disposition"] == "attachment; filename=a.csv"


def _sigv2_header_request(endpoint, key, extra_headers):
    """A SigV2 header request with a well-formed signature no secret made."""
    headers = {"Date": email.utils.formatdate(usegmt=True),
               "Authorization": f"AWS {key}:WHo0oxlbF6okog2MWSjzK20o6BA=", **extra_headers}
    return http(endpoint, "GET", f"/s3p/immuta/{quote(OBJECT)}", headers=headers)


def test_sigv2_string_to_sign_over_the_limit_is_refused_locally(gateway):
    # The filter and the policy service share one limit (sigv2::MAX_STRING_TO_SIGN, 16 KiB); the
    # filter enforces it before any call, with S3's 400 for an oversized header section.
    key = f"nobody-{time.time_ns()}"
    before = policy_calls(gateway)
    for key_used in (key, KEYS["bob"]):
        resp = _sigv2_header_request(gateway.endpoint, key_used, {"x-amz-meta-pad": "a" * 17000})
        assert resp.status == 400, resp.body
        assert s3_error(resp)[0] == "RequestHeaderSectionTooLarge"
        assert b"<MaxSizeAllowed>16384</MaxSizeAllowed>" in resp.body
    assert policy_calls(gateway) == before
    # Under the limit the signature is checked as usual.
    resp = _sigv2_header_request(gateway.endpoint, KEYS["bob"], {"x-amz-meta-pad": "a" * 15000})
    assert resp.status == 403
    assert s3_error(resp)[0] == "SignatureDoesNotMatch"


def test_sigv2_presigned_listing_does_not_sign_the_prefix(endpoint):
    # A documented limit: SigV2 signs the path and sub-resources, not listing parameters, so
    # the holder of a presigned listing URL may list another prefix: still only what the
    # signer may see.
    url = sigv2_client(endpoint, KEYS["bob"]).generate_presigned_url(
        "list_objects", Params={"Bucket": "immuta", "Prefix": "sales/region=eu/"})
    resp = http(endpoint, "GET", _tamper_query(url, "prefix", "customers/"))
    assert resp.status == 200
    assert list(ET.fromstring(resp.body).iter(f"{S3_NS}Key")) == []  # bob sees no customers
    resp = http(endpoint, "GET", _tamper_query(url, "prefix", "sales/"))
    keys = [k.text for k in ET.fromstring(resp.body).iter(f"{S3_NS}Key")]
    assert keys and all(k.startswith("sales/region%3Deu/") for k in keys)


# --- curl --aws-sigv4 ------------------------------------------------------------------------

CURL = shutil.which("curl")


def curl(url, access_key, secret=SECRET):
    """curl's own SigV4 signer. curl 7.88 signs path and query exactly as written, so the URL
    must already be in AWS's canonical form: `=` in paths as %3D, `/` and `=` in query values
    encoded, parameters sorted."""
    argv = [CURL, "--silent", "--show-error", "--include", "--aws-sigv4", "aws:amz:us-east-1:s3",
            "--user", f"{access_key}:{secret}", url]
    out = subprocess.run(argv, capture_output=True, timeout=30, check=True).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = [tuple(line.split(": ", 1)) for line in lines[1:]]
    status = int(lines[0].split()[1])
    RECORDER.add(Recorded(f"curl {url}", status, headers, body, sent=url))
    return status, {k.lower(): v for k, v in headers}, body


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_curl_aws_sigv4(endpoint, demo_dir):
    status, _, body = curl(f"{endpoint}/immuta/sales/region%3Deu/part-00000.csv", KEYS["alice"])
    assert status == 200 and body == disk_file(demo_dir, OBJECT).read_bytes()

    status, headers, body = curl(
        f"{endpoint}/immuta?delimiter=%2F&list-type=2&prefix=sales%2Fregion%3Deu%2F", KEYS["bob"])
    assert status == 200 and "xml" in headers["content-type"]
    keys = [k.text for k in ET.fromstring(body).iter(f"{S3_NS}Key")]
    assert keys == ["sales/region=eu/part-00000.csv", "sales/region=eu/part-00001.csv"]

    status, headers, body = curl(f"{endpoint}/immuta/sales/region%3Deu/part-00000.csv",
                                 KEYS["alice"], secret=WRONG)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body


# --- the seed's literal header ---------------------------------------------------------------

def test_seed_literal_header_still_accepted_in_the_demo(endpoint, demo_dir):
    resp = http(endpoint, "GET", f"/s3p/immuta/{quote(OBJECT)}", key=KEYS["alice"])
    assert resp.status == 200 and resp.body == disk_file(demo_dir, OBJECT).read_bytes()
    resp = http(endpoint, "GET", f"/s3p/immuta/{quote(OBJECT)}",
                headers={"Authorization": f"AWS {KEYS['alice']}:{WRONG}"})
    assert resp.status in (400, 403)  # any other literal is a (malformed) SigV2 signature
    s3_error(resp)


# --- the policy service stays behind the gateway ---------------------------------------------

def test_policy_service_is_not_reachable_through_the_gateway(gateway):
    assert gateway.policy_port not in (gateway.port, gateway.root_port, gateway.admin_port)
    digest = hashlib.sha256(KEYS["alice"].encode()).hexdigest()
    before = gateway.stat("cluster.policy.upstream_rq_total")
    for endpoint in (gateway.endpoint, gateway.root_endpoint):
        for path in (f"/v1/entitlements/{digest}", f"/v1/entitlements/{digest}?scope="
                     f"{time.strftime('%Y%m%d', time.gmtime())}/us-east-1/s3",
                     f"/s3p/v1/entitlements/{digest}", "/healthz", f"/v1/verify-sigv2/{digest}"):
            for extra in ({}, {"x-s3gate-upstream": "policy"}):
                resp = http(endpoint, "GET", path, key=KEYS["alice"], headers=extra)
                assert 400 <= resp.status < 500, (endpoint, path, resp.status)
                assert s3_error(resp)[0] == "NoSuchBucket"
                assert b"signing_key" not in resp.body and not resp.body.startswith(b"{")
    # Those were answered by the filter: none of them became a call to the policy service.
    assert gateway.stat("cluster.policy.upstream_rq_total") == before


# --- secrets stay home (runs last in this module: it checks everything recorded so far) -----

def _policy_answer(gateway, access_key, date):
    digest = hashlib.sha256(access_key.encode()).hexdigest()
    url = (f"http://127.0.0.1:{gateway.policy_port}/v1/entitlements/{digest}"
           f"?scope={date}/us-east-1/s3")
    # The test may, with the gateway's token; clients can't reach the service.
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {gateway.policy_token}"})
    with urllib.request.urlopen(request, timeout=5) as resp:
        return json.loads(resp.read())


def test_no_response_carries_a_secret_or_signing_key(gateway):
    # What the policy service really hands the filter, for every principal and every date a
    # test signed with (today, and 20 minutes either side).
    now = time.time()
    dates = {time.strftime("%Y%m%d", time.gmtime(now + d)) for d in (-1200, 0, 1200)}
    secrets = {gateway.credentials[1], WRONG, gateway.policy_token}
    for key in KEYS.values():
        for date in dates:
            doc = _policy_answer(gateway, key, date)
            for field in ("signing_key", "token_key"):
                if doc.get(field):
                    raw = bytes.fromhex(doc[field])
                    secrets |= {doc[field], raw.hex().upper(), base64.b64encode(raw).decode()}
    assert len(secrets) > 3, "the policy service handed out no keys to look for"
    assert len(RECORDER.responses) > 30
    for rec in RECORDER.responses:
        blobs = [f"{k}: {v}" for k, v in rec.headers]
        if rec.body is not None:
            blobs.append(rec.body.decode("utf-8", "replace"))
        for blob in blobs:
            for secret in secrets:
                assert secret not in blob, (rec.what, secret[:8] + "...")
