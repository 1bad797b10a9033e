"""Hostile probes of the rules "the name whose visibility is decided is the name the upstream
serves" and "invisible is nonexistent" (a hidden object behaves exactly like a missing one):
every name, encoding, addressing and store trick a client could use to make the gateway judge
one name while the store serves another, or to tell a hidden object from a missing one. Each
test asserts the secure answer.

Run on both stores: `pytest tests/e2e/test_attacks_visibility.py` (rclone) and
`pytest --upstream-store s3s-fs tests/e2e/test_attacks_visibility.py`."""

import datetime
import hashlib
import os
import re
import shutil
import xml.etree.ElementTree as ET
from email.utils import format_datetime
from urllib.parse import quote, unquote, urlsplit

import botocore.exceptions
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import start_stack
from gateway import (DATA_SOURCES, KEYS, S3_NS, SECRET, client_error, disk_file, disk_keys, http,
                     is_housekeeping, s3_client, s3_error)
from test_trailing_slash import upstream_calls
from test_vhost import HOST

# Hidden objects that exist on disk, by principal: housekeeping files, and for bob the region
# he does not hold.
HIDDEN = {
    "alice": ["events/2026-11-03/part-00000.jsonl.crc", "events/2026-11-03/.part-00007.jsonl.crc",
              "sales/region=eu/.part-00000.csv.crc", "sales/_SUCCESS"],
    "bob": ["sales/region=us/part-00000.csv", "sales/region=us/.part-00000.csv.crc",
            "sales/_SUCCESS"],
}
# What any byte of a hidden object's body would show: the crc files' magic, CSV and JSON rows.
DATA_MARKERS = (b"crc\x00", b"order_id", b"event_id")
LONG_AGO = format_datetime(datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc),
                           usegmt=True)
# Each probe is sent plain, as a HEAD, ranged and conditional: none may answer data.
KINDS = [("GET", {}), ("HEAD", {}), ("GET", {"Range": "bytes=0-3"}),
         ("GET", {"Range": "bytes=-4"}), ("GET", {"If-Modified-Since": LONG_AGO}),
         ("GET", {"If-None-Match": '"x"'}), ("HEAD", {"If-Match": "*"})]


def enc(key):
    return quote(key, safe="/")


def assert_refused(resp, method, what):
    """404 NoSuchKey (a missing object), 400 InvalidArgument (a refused name) or Envoy's own 400;
    never data, a range, a validator or another status."""
    assert resp.status in (400, 404), (what, resp.status, resp.headers, resp.body[:200])
    for marker in DATA_MARKERS:
        assert marker not in resp.body, (what, resp.body[:200])
    for header in ("content-range", "etag", "last-modified", "accept-ranges"):
        assert header not in resp.headers, (what, header, resp.headers)
    if method == "GET" and resp.body:
        code = s3_error(resp)[0]
        assert (resp.status, code) in ((404, "NoSuchKey"), (400, "InvalidArgument")), \
            (what, code)
    if method == "GET" and not resp.body:
        assert resp.status == 400, what  # Envoy's codec refused the request line


def tricks(key):
    """(raw path of the key, decodes to a hidden name) for every spelling trick of `key`."""
    raw = enc(key)
    head, dot, ext = raw.rpartition(".")
    stem = head if dot else raw
    last = raw[-1]
    out = [
        # Percent-encodings of the name itself decode to the hidden name: judged as it.
        (raw[:-1] + "%" + format(ord(last), "02X"), True),
        (raw[:-1] + "%" + format(ord(last), "02x"), True),
        (raw + "/", True),
        (raw.rsplit("/", 1)[0] + "/x/%2e%2e/" + raw.rsplit("/", 1)[1], False),
        # Refused: encoded separators, dot and empty segments, backslashes, controls, bad UTF-8.
        (raw + "%2F", False), (raw + "%2f", False), (raw + "/.", False), (raw + "/./", False),
        (raw + "/%2e", False), (raw + "/%2E/", False), (raw + "//", False), (raw + "/..", False),
        (raw + "%5C", False), (raw + "\\", False), (raw.replace("/", "//", 1), False),
        (raw.replace("/", "/./", 1), False), (raw + "%00", False), (raw + "%0A", False),
        (raw + "%09", False), (raw + "%7F", False), (raw + "%C2%85", False),
        (raw + "%C0%AF", False), (raw + "%C0%AE", False), (raw + "%E0%80%AF", False),
        (raw + "%ED%A0%80", False), (raw + "%ff", False), (raw + "%2", False),
        (raw + "%u002e", False), (raw + "%%32%66", False),
        # Other names (no store serves the hidden object for them): missing.
        (raw + "%252F", False), (raw + "%255C", False), (raw + "%2500", False),
        (raw + ";", False), (raw + ";/", False), (raw + "%3B", False), (raw + ";x=1", False),
        (raw + "%23", False), (raw + "%3F", False), (raw + "%20", False), (raw + "+", False),
        (raw + "%2B", False), (raw + ".", False), (raw + "%E2%80%8B", False),
        (raw + "%EF%BB%BF", False), (raw + "%EF%BC%8F", False), (raw + "%E2%81%84", False),
        (raw + "%E2%88%95", False), (raw.upper().replace("%3D", "%3d"), False),
        ("%E2%80%9B" + raw, False), (raw + "%E2%90%80", False),
    ]
    if dot:
        out += [
            (stem + "%2E" + ext, True), (stem + "%2e" + ext, True),
            (stem + "%252E" + ext, False),  # a literal "%2E": a store decoding twice would fail
            (stem + "%EF%BC%8E" + ext, False),  # fullwidth full stop
            (stem + "%E2%80%A4" + ext, False),  # one dot leader
            (stem + "." + ext.upper(), False),
            (stem + "." + ext[:-1] + "%" + format(ord(ext[-1]), "02X") + "/", True),
        ]
    return out


@pytest.mark.parametrize("principal", sorted(HIDDEN))
def test_no_spelling_of_a_hidden_key_reads_it(gateway, demo_dir, principal):
    local = 0
    for key in HIDDEN[principal]:
        assert disk_file(demo_dir, key).is_file(), key  # hidden, not missing
        for raw, decodes_to_hidden in tricks(key):
            for method, headers in KINDS:
                resp = http(gateway.endpoint, method, f"/s3p/immuta/{raw}",
                            key=KEYS[principal], headers=headers)
                assert_refused(resp, method, (principal, raw, method, headers))
                if decodes_to_hidden:
                    local += 1
                    assert resp.status == 404, (raw, method, headers)
    # Names that decode to a hidden one were all answered 404 (the next test: by the gateway
    # itself); the others reached the store only as names the principal may see, of which it
    # had none.
    assert local


@pytest.mark.parametrize("principal", sorted(HIDDEN))
def test_spellings_that_decode_to_a_hidden_name_never_reach_the_store(gateway, principal):
    before = upstream_calls(gateway)
    for key in HIDDEN[principal]:
        for raw, decodes_to_hidden in tricks(key):
            if not decodes_to_hidden:
                continue
            for method, headers in KINDS:
                resp = http(gateway.endpoint, method, f"/s3p/immuta/{raw}",
                            key=KEYS[principal], headers=headers)
                assert resp.status == 404, (raw, method)
    assert upstream_calls(gateway) == before


# Bob holds only region=eu of sales: every way to name region=us from there.
BOB_CLIMBS = [
    "sales/region=eu/../region=us/part-00000.csv",
    "sales/region=eu/%2e%2e/region=us/part-00000.csv",
    "sales/region=eu/%2E%2E/region%3Dus/part-00000.csv",
    "sales/region=eu%2F..%2Fregion=us/part-00000.csv",
    "sales/region=eu/.%2E/region=us/part-00000.csv",
    "sales/region=eu//../region=us/part-00000.csv",
    "sales/region=eu/./../region=us/part-00000.csv",
    "sales/region=eu\\..\\region=us/part-00000.csv",
    "sales/region=eu%5C..%5Cregion=us/part-00000.csv",
    "sales/region=eu/%C0%AE%C0%AE/region=us/part-00000.csv",
    "sales/region=eu/%EF%BC%8E%EF%BC%8E/region=us/part-00000.csv",
    "sales/region=eu/%252e%252e/region=us/part-00000.csv",
    "sales/region%3Dus/part-00000.csv",
    "sales/region=u%73/part-00000.csv",
    "sales/region=us/part-00000.csv/",
    "sales/region=us/part-00000.csv%2F",
    "sales/region=us/part-00000.csv;",
    "sales/region=US/part-00000.csv",
    "sales/region%EF%BC%9Dus/part-00000.csv",
    "sales/region=us%00/part-00000.csv",
    "sales/region=us/",
    "sales/region=us",
    "sales/region=eu/..",
    "sales/region=eu/../",
    "sales/region=eu/part-00000.csv/../../region=us/part-00000.csv",
    "Sales/region=us/part-00000.csv",
    "sales%2Fregion=us/part-00000.csv",
    "sales/./region=us/part-00000.csv",
    "%73ales/region=us/part-00000.csv",
]


def test_bob_reaches_no_other_region_by_any_name(gateway):
    for raw in BOB_CLIMBS:
        for method, headers in KINDS:
            resp = http(gateway.endpoint, method, f"/s3p/immuta/{raw}", key=KEYS["bob"],
                        headers=headers)
            assert_refused(resp, method, (raw, method, headers))
    # What he holds still reads, so the refusals are the rule's, not a broken gateway.
    resp = http(gateway.endpoint, "GET", "/s3p/immuta/sales/region=eu/part-00000.csv",
                key=KEYS["bob"])
    assert resp.status == 200 and resp.body.startswith(b"order_id")


def test_a_fragment_stops_at_envoy_and_an_encoded_hash_is_a_name(gateway):
    key = enc(HIDDEN["alice"][0])
    before = upstream_calls(gateway)
    resp = http(gateway.endpoint, "GET", f"/s3p/immuta/{key}#x", key=KEYS["alice"])
    assert resp.status == 400 and not any(m in resp.body for m in DATA_MARKERS)
    resp = http(gateway.endpoint, "GET", f"/s3p/immuta/{key}/#/", key=KEYS["alice"])
    assert resp.status == 400
    assert upstream_calls(gateway) == before
    resp = http(gateway.endpoint, "GET", f"/s3p/immuta/{key}%23", key=KEYS["alice"])
    assert resp.status == 404 and s3_error(resp)[0] == "NoSuchKey"


QUERY_TRICKS = ["?", "?x-id=GetObject", "?response-content-type=text/plain",
                "?response-content-disposition=attachment%3B%20filename%3Dx.crc",
                "?list-type=2", "?prefix=", "?delimiter=/", "?versionid=1", "?VersionId=1",
                "?partnumber=1", "?Response-Content-Type=x", "??", "?&&", "?a=%2F",
                "?x-amz-expires=1", "?acl=", "?uploads="]


@pytest.mark.parametrize("principal", sorted(HIDDEN))
def test_query_strings_open_no_hidden_object(gateway, principal):
    before = upstream_calls(gateway)
    for key in HIDDEN[principal]:
        for name in (enc(key), enc(key) + "/"):
            for query in QUERY_TRICKS:
                for method in ("GET", "HEAD"):
                    resp = http(gateway.endpoint, method, f"/s3p/immuta/{name}{query}",
                                key=KEYS[principal])
                    if query in ("?acl=", "?uploads="):
                        # Unsupported sub-resources are refused as such, whatever the key.
                        assert resp.status == 501, (name, query, method, resp.status)
                        assert not any(m in resp.body for m in DATA_MARKERS)
                        continue
                    assert_refused(resp, method, (name, query, method))
    assert upstream_calls(gateway) == before


def _root_and_virtual(gateway):
    root = urlsplit(gateway.root_endpoint).port
    port = gateway.port
    return [
        (gateway.endpoint, "/s3p/immuta/{}", {}),
        (gateway.endpoint, "/s3p/{}", {"Host": f"{HOST}:{port}"}),
        (gateway.endpoint, "/s3p/{}", {"Host": f"{HOST.upper()}:{port}"}),
        (gateway.endpoint, "/s3p/{}", {"Host": HOST}),
        (gateway.endpoint, "/s3p/%69mmuta/{}", {}),
        (gateway.endpoint, "/s3p//immuta/{}", {}),
        (gateway.root_endpoint, "/immuta/{}", {}),
        (gateway.root_endpoint, "//immuta/{}", {}),
        (gateway.root_endpoint, "/{}", {"Host": f"{HOST}:{root}"}),
        (gateway.root_endpoint, "/%69mmuta/{}", {}),
    ]


@pytest.mark.parametrize("principal", sorted(HIDDEN))
def test_every_listener_and_addressing_style_hides_alike(gateway, principal):
    before = upstream_calls(gateway)
    for url, path, host in _root_and_virtual(gateway):
        for key in HIDDEN[principal]:
            for name in (enc(key), enc(key) + "/", enc(key)[:-1] + "%"
                         + format(ord(key[-1]), "02X")):
                for method, headers in KINDS:
                    resp = http(url, method, path.format(name), key=KEYS[principal],
                                headers={**host, **headers})
                    assert resp.status == 404, (url, path, name, method, resp.status)
                    assert_refused(resp, method, (url, path, name))
    assert upstream_calls(gateway) == before


def test_a_bucket_named_in_both_host_and_path_is_a_data_source_name(gateway):
    # Virtual-hosted style with a path-style path: "immuta" becomes the data source, which
    # does not exist; the listing of the bucket from there shows only alice's folders.
    port = gateway.port
    key = enc(HIDDEN["alice"][0])
    resp = http(gateway.endpoint, "GET", f"/s3p/immuta/{key}/", key=KEYS["alice"],
                headers={"Host": f"{HOST}:{port}"})
    assert resp.status == 404 and s3_error(resp)[0] == "NoSuchKey"
    resp = http(gateway.endpoint, "GET", f"/s3p/{key}", key=KEYS["alice"],
                headers={"Host": f"{HOST}.:{port}"})  # not the configured domain: path style
    assert resp.status == 404 and s3_error(resp)[0] == "NoSuchBucket"
    resp = http(gateway.endpoint, "GET", f"/s3p/{key}", key=KEYS["alice"],
                headers={"Host": f"x.{HOST}:{port}"})
    assert resp.status == 404 and s3_error(resp)[0] == "NoSuchBucket"


# --- signed requests ---------------------------------------------------------------------

def _canonical(raw_path):
    """The path a correct SigV4 client signs for a raw path: each segment decoded once and
    encoded with AWS's unreserved set (what the gateway checks)."""
    return "/".join(quote(unquote(s, errors="strict"), safe="-_.~") for s in raw_path.split("/"))


def sigv4_get(gateway, method, raw_path, principal, headers=None, host=None):
    """`raw_path` sent byte for byte, SigV4-signed over its canonical form."""
    url = urlsplit(gateway.endpoint)
    netloc = host or f"{url.hostname}:{url.port}"
    request = AWSRequest(method=method, url=f"http://{netloc}{_canonical(raw_path)}",
                         headers=dict(headers or {}))
    S3SigV4Auth(Credentials(KEYS[principal], SECRET), "s3", "us-east-1").add_auth(request)
    sent = dict(request.headers.items())
    if host:
        sent["Host"] = host
    return http(gateway.endpoint, method, raw_path, headers=sent)


SIGNED_TRICKS = ["{}/", "{}%2F", "{}/.", "{}//", "{};", "{}%3B", "{}%20", "{}%252E"]


@pytest.mark.parametrize("principal", sorted(HIDDEN))
def test_sigv4_signed_spellings_read_no_hidden_object(gateway, principal):
    for key in HIDDEN[principal]:
        raw = enc(key)
        for trick in SIGNED_TRICKS + [raw[:-1] + "%" + format(ord(key[-1]), "02X")]:
            name = trick.format(raw) if "{}" in trick else trick
            for method, headers in KINDS[:3]:
                resp = sigv4_get(gateway, method, f"/s3p/immuta/{name}", principal, headers)
                assert resp.status != 403, (name, resp.body[:300])  # the signature held
                assert_refused(resp, method, (principal, name, method))
            resp = sigv4_get(gateway, "GET", f"/s3p/{name}", principal,
                             host=f"{HOST}:{gateway.port}")
            assert resp.status != 403, (name, resp.body[:300])
            assert_refused(resp, "GET", (principal, name, "virtual"))
    # The signer is right: a visible key reads with it.
    resp = sigv4_get(gateway, "GET", "/s3p/immuta/sales/region%3Deu/part-00000.csv", principal)
    assert resp.status == 200 and resp.body.startswith(b"order_id")


BOTO3_SUFFIXES = ["/", ";", " ", "+", ".", "\u200b", "\ufeff", "\uff0f", "/x", "#", "?"]


@pytest.mark.parametrize("principal", sorted(HIDDEN))
def test_boto3_spellings_read_no_hidden_object(gateway, principal):
    s3 = s3_client(gateway.endpoint, KEYS[principal])
    for key in HIDDEN[principal]:
        names = [key + s for s in BOTO3_SUFFIXES] + [key.upper(), key.swapcase()]
        for name in names:
            for call, extra in ((s3.get_object, {}), (s3.head_object, {}),
                                (s3.get_object, {"Range": "bytes=0-3"}),
                                (s3.get_object, {"ResponseContentType": "text/plain"})):
                with pytest.raises(botocore.exceptions.ClientError) as exc:
                    call(Bucket="immuta", Key=name, **extra)
                assert client_error(exc)[0] in (400, 404), (name, call, extra)


# --- listings ------------------------------------------------------------------------------

def listing(gateway, principal, query):
    resp = http(gateway.endpoint, "GET", f"/s3p/immuta?{query}", key=KEYS[principal])
    return resp


def names_in(resp, url_encoded):
    root = ET.fromstring(resp.body)
    keys = [e.findtext(f"{S3_NS}Key") for e in root.iter(f"{S3_NS}Contents")]
    prefixes = [e.findtext(f"{S3_NS}Prefix") for e in root.iter(f"{S3_NS}CommonPrefixes")]
    if url_encoded:
        keys, prefixes = [unquote(k) for k in keys], [unquote(p) for p in prefixes]
    return keys, prefixes


def visible_keys(demo_dir, principal):
    """Every key the principal may see, from the files on disk."""
    if principal == "bob":
        return [k for k in disk_keys(demo_dir, "sales") if k.startswith("sales/region=eu/")]
    return [k for ds in ("customers", "events", "orders", "purchases", "sales")
            for k in disk_keys(demo_dir, ds)]


def assert_only_visible(visible, keys, prefixes, what):
    """Listed keys are visible objects; a common prefix starts at least one of them (so no
    rolled-up prefix betrays a hidden object, by `/` or any other delimiter)."""
    assert not [k for k in keys if k not in visible], (what, keys)
    assert not [p for p in prefixes if not any(v.startswith(p) for v in visible)], \
        (what, prefixes)


LISTING_TRICKS = {
    "alice": [
        "prefix=events/2026-11-03/part-00000.jsonl&delimiter=.",
        "prefix=events/2026-11-03/part-00000.jsonl.",
        "prefix=events/2026-11-03/part-00000.jsonl.c",
        "prefix=events/2026-11-03/part-00000.jsonl.crc",
        "prefix=events/2026-11-03/part-00000.jsonl.crc/",
        "prefix=events/2026-11-03/part-00000.jsonl%2Ecrc",
        "prefix=events/2026-11-03/.p",
        "prefix=events/2026-11-03/.&delimiter=p",
        "prefix=events/2026-11-03//part-00000",
        "prefix=events//2026-11-03/",
        "prefix=events/2026-11-03/part-0000&delimiter=c",
        "prefix=events/2026-11-03/part-0000&delimiter=.crc",
        "prefix=events/2026-11-03/part-0000&delimiter=rc",
        "prefix=events/2026-11-03/part-00000&delimiter=l.",
        "list-type=2&prefix=events/2026-11-03/part-00000.jsonl.c&max-keys=1",
        "list-type=2&prefix=events/2026-11-03/&start-after=events/2026-11-03/part-00000.jsonl"
        "&max-keys=2",
        "prefix=events/2026-11-03/&marker=events/2026-11-03/part-00000.jsonl&max-keys=3",
        "prefix=events/2026-11-03/&marker=events/2026-11-03/.part-00000.jsonl.crc&max-keys=3",
        "prefix=events/2026-11-03/part-00007&encoding-type=url",
        "prefix=events%2F2026-11-03%2Fpart-00007.jsonl.crc&encoding-type=url",
        "prefix=events/2026-11-03/part-00007.jsonl%2Bcrc",
        "prefix=events/2026-11-03/part-00007.jsonl+crc",
        "prefix=sales/_",
        "prefix=sales/_S&delimiter=S",
        "prefix=sales/&delimiter=_",
        "prefix=sales/&delimiter=S",
        "prefix=sales/&delimiter=/",
        "prefix=sales/region=eu/.&delimiter=c",
        "prefix=sales/region=eu/&delimiter=.csv.",
        "prefix=sales&delimiter=_",
        "prefix=&delimiter=.crc",
        "prefix=&delimiter=S",
        "prefix=events/&delimiter=/&prefix=events/2026-11-03/.",
        "list-type=2&prefix=events/2026-11-03/part-00000.jsonl&max-keys=1&fetch-owner=true",
    ],
    "bob": [
        "prefix=sales/&delimiter=u",
        "prefix=sales/&delimiter=s",
        "prefix=sales/&delimiter=%3Du",
        "prefix=sales/region%3D&delimiter=s",
        "prefix=sales/region=u&delimiter=/",
        "prefix=sales/region=us",
        "prefix=sales/region=us/",
        "prefix=sales/region%3Dus%2F",
        "prefix=sales/region=u%73/",
        "prefix=sales/region=US/",
        "prefix=sales//",
        "prefix=sales//region=us/",
        "prefix=sales//&delimiter=/",
        "prefix=sales/region=eu//",
        "prefix=sales/region=eu/../region=us/",
        "prefix=sales/region=eu/%2e%2e/region=us/",
        "prefix=sales/&delimiter=/",
        "prefix=sales/&delimiter=/&encoding-type=url",
        "prefix=sales/&delimiter=/&marker=sales/region%3Deu/",
        "prefix=sales/&marker=sales/region%3Deu/part-00001.csv",
        "list-type=2&prefix=sales/&start-after=sales/region%3Deu/zzz",
        "list-type=2&prefix=sales/&start-after=sales/region%3Dus/",
        "prefix=sales/region=eu/&delimiter=crc",
        "prefix=sales&delimiter=/",
        "prefix=&delimiter=es/",
        "prefix=&delimiter=s/",
        "prefix=&delimiter=u",
        "prefix=s",
        "prefix=sales/region=&delimiter=/",
        "prefix=sales/region=&delimiter==",
        "prefix=sales/region=&delimiter=s/",
        "prefix=sales/region=eu/&prefix=sales/region=us/",
        "list-type=2&prefix=sales/region=eu/&prefix=sales/region=us/",
    ],
}


@pytest.mark.parametrize("principal", sorted(LISTING_TRICKS))
def test_listing_tricks_show_no_hidden_name(gateway, demo_dir, principal):
    visible = set(visible_keys(demo_dir, principal))
    for query in LISTING_TRICKS[principal]:
        for version in ("", "list-type=2&"):
            q = version + query if "list-type" not in query else query
            resp = listing(gateway, principal, q)
            if resp.status == 400:  # a '.'/'..' segment or control character: refused
                assert s3_error(resp)[0] == "InvalidArgument", q
                continue
            assert resp.status == 200, (q, resp.status, resp.body[:300])
            keys, prefixes = names_in(resp, "encoding-type=url" in q)
            assert_only_visible(visible, keys, prefixes, q)


def _same(a, b, a_text, b_text):
    """Two answers are the same but for the text each was asked with."""
    norm = lambda r, t, by: (r.status, re.sub(rb"<RequestId>[^<]*</RequestId>", b"",
                                               r.body.replace(t.encode(), by.encode())))
    return norm(a, a_text, "@") == norm(b, b_text, "@")


# (principal, query naming something hidden, the same naming something missing)
HIDDEN_VS_MISSING = [
    ("bob", "prefix=sales/region%3Dus/", "prefix=sales/region%3Dzz/", "region=us", "region=zz"),
    ("bob", "prefix=sales/region%3Dus", "prefix=sales/region%3Dzz", "region=us", "region=zz"),
    ("bob", "prefix=sales/region%3Du&delimiter=/", "prefix=sales/region%3Dz&delimiter=/",
     "region=u", "region=z"),
    ("bob", "prefix=sales/region%3Dus/&max-keys=1", "prefix=sales/region%3Dzz/&max-keys=1",
     "region=us", "region=zz"),
    ("bob", "prefix=sales/region%3Dus/&max-keys=0", "prefix=sales/region%3Dzz/&max-keys=0",
     "region=us", "region=zz"),
    ("bob", "prefix=sales/_SUCCESS", "prefix=sales/_SUCCESX", "_SUCCESS", "_SUCCESX"),
    ("alice", "prefix=events/2026-11-03/part-00000.jsonl.c",
     "prefix=events/2026-11-03/part-00001.jsonl.c", "00000", "00001"),
    ("alice", "prefix=events/2026-11-03/part-00000.jsonl.crc&max-keys=1",
     "prefix=events/2026-11-03/part-00001.jsonl.crc&max-keys=1", "00000", "00001"),
    ("alice", "prefix=events/2026-11-03/.p&max-keys=1", "prefix=events/2026-11-04/.p&max-keys=1",
     "11-03", "11-04"),
    ("alice", "prefix=sales/_&delimiter=/", "prefix=sales/~&delimiter=/", "sales/_", "sales/~"),
    ("alice", "prefix=events/2026-11-03/part-00007.jsonl.crc/&delimiter=/",
     "prefix=events/2026-11-03/part-00008.jsonl.crc/&delimiter=/", "00007", "00008"),
]


@pytest.mark.parametrize("principal,hidden,missing,h_text,m_text", HIDDEN_VS_MISSING)
def test_a_listing_of_hidden_things_is_a_listing_of_nothing(gateway, principal, hidden,
                                                              missing, h_text, m_text):
    for version in ("", "list-type=2&"):
        a = listing(gateway, principal, version + hidden)
        b = listing(gateway, principal, version + missing)
        assert a.status == 200 and a.headers.get("content-length") == \
            b.headers.get("content-length"), (hidden, a.body, b.body)
        assert _same(a, b, h_text, m_text), (hidden, a.body, b.body)


# (principal, path or query of something that exists but is not theirs, the same made up)
NOT_THEIRS = [
    ("alice", "/s3p/immuta/documents/scan-0001.bin", "/s3p/immuta/documentz/scan-0001.bin",
     "documents", "documentz"),
    ("alice", "/s3p/immuta?prefix=documents/", "/s3p/immuta?prefix=documentz/",
     "documents", "documentz"),
    ("alice", "/s3p/immuta?prefix=documents/&delimiter=/", "/s3p/immuta?prefix=documentz/"
     "&delimiter=/", "documents", "documentz"),
    ("bob", "/s3p/immuta/customers/customers.csv", "/s3p/immuta/customerz/customers.csv",
     "customers/customers.csv", "customerz/customers.csv"),
    ("bob", "/s3p/immuta?list-type=2&prefix=events/2026-11-03/",
     "/s3p/immuta?list-type=2&prefix=eventz/2026-11-03/", "events", "eventz"),
    ("bob", "/s3p/acme-warehouse-prod/curated/sales/region=us/part-00000.csv",
     "/s3p/acme-warehouse-prox/curated/sales/region=us/part-00000.csv",
     "acme-warehouse-prod", "acme-warehouse-prox"),
    ("bob", "/s3p/immuta/sales_eu/leak.csv", "/s3p/immuta/sales_ez/leak.csv", "sales_eu",
     "sales_ez"),
]


@pytest.mark.parametrize("principal,theirs,made_up,t_text,m_text", NOT_THEIRS)
def test_what_is_not_theirs_is_answered_as_what_does_not_exist(gateway, principal, theirs,
                                                                 made_up, t_text, m_text):
    for method in ("GET", "HEAD"):
        a = http(gateway.endpoint, method, theirs, key=KEYS[principal])
        b = http(gateway.endpoint, method, made_up, key=KEYS[principal])
        assert a.status in (200, 404), (theirs, a.status)
        drop = ("date", "x-amz-request-id")
        assert {k: v for k, v in a.headers.items() if k not in drop} == \
            {k: v for k, v in b.headers.items() if k not in drop}, (theirs, method)
        assert _same(a, b, t_text, m_text), (theirs, a.body, b.body)


def test_a_common_prefix_of_hidden_objects_only_is_not_listed_for_bob(gateway):
    # region=us/ is a folder bob's attribute rule excludes as a whole: never a common prefix,
    # whatever the delimiter rolls it up into.
    for q in ("prefix=sales/&delimiter=/", "prefix=sales/region%3D&delimiter=/",
              "prefix=&delimiter=/us", "prefix=sales/&delimiter=us/"):
        for version in ("", "list-type=2&"):
            resp = listing(gateway, "bob", version + q)
            assert resp.status == 200, q
            keys, prefixes = names_in(resp, False)
            assert not [p for p in prefixes if "region=u" in p], (q, prefixes)


# --- the policy service is never reached ---------------------------------------------------

def test_policy_service_paths_are_not_served_by_any_trick(gateway):
    digest = hashlib.sha256(KEYS["bob"].encode()).hexdigest()
    paths = [f"/v1/entitlements/{digest}", f"//v1/entitlements/{digest}",
             f"/s3p/../v1/entitlements/{digest}", f"/s3p/%2e%2e/v1/entitlements/{digest}",
             f"/s3p/immuta/../../v1/entitlements/{digest}",
             f"/s3p/immuta/%2e%2e/%2e%2e/v1/entitlements/{digest}",
             f"/s3p/immuta/..%2F..%2Fv1/entitlements/{digest}",
             f"/immuta/../v1/entitlements/{digest}", f"/v1%2Fentitlements%2F{digest}",
             f"/V1/entitlements/{digest}", f"/v1/verify-sigv2/{digest}"]
    before = gateway.stat("cluster.policy.upstream_rq_total")
    for url in (gateway.endpoint, gateway.root_endpoint):
        for path in paths:
            for method in ("GET", "HEAD", "POST"):
                for extra in ({}, {"x-s3gate-upstream": "policy"},
                              {"Host": f"{HOST}:{urlsplit(url).port}"}):
                    resp = http(url, method, path, key=KEYS["bob"], headers=extra)
                    assert 400 <= resp.status < 500, (url, path, method, resp.status)
                    assert b"signing_key" not in resp.body and b"token_key" not in resp.body
                    assert not resp.body.startswith(b"{"), (url, path)
    assert gateway.stat("cluster.policy.upstream_rq_total") == before


# --- differential: the same requests against a store without what the principal can't see ----

HOLDS = {"alice": ("sales", "customers", "events", "orders", "purchases"), "bob": ("sales",)}


def _visible_to(principal, key):
    data_source = key.split("/", 1)[0]
    return (data_source in HOLDS[principal] and not is_housekeeping(key)
            and (principal != "bob" or key.startswith("sales/region=eu/")))


def pruned_stack(principal, demo_dir, tmp_path_factory):
    """A second stack whose store holds only what `principal` may see: the demo data
    hard-linked (same bytes, same times), every other file (hidden objects, other data sources,
    decoys) left out."""
    root = tmp_path_factory.mktemp(f"pruned-{principal}") / "data"
    shutil.copytree(demo_dir, root, copy_function=os.link)
    for path in [p for p in root.rglob("*") if p.is_file()]:
        rel = path.relative_to(root).as_posix()
        virtual = next((name + rel[len(real):] for name, real in DATA_SOURCES.items()
                        if rel.startswith(real + "/")), None)
        if virtual is None and "/" not in rel:
            continue  # the generator's stamp at the top
        if virtual is None or not _visible_to(principal, virtual):
            path.unlink()
    kept = [p for p in root.rglob("*") if p.is_file()]
    assert len(kept) >= 3 and not [p for p in kept if p.name.endswith(".crc")]
    return start_stack(root, tmp_path_factory.mktemp(f"run-pruned-{principal}"))


@pytest.fixture(scope="module")
def pruned_alice(gateway, demo_dir, tmp_path_factory):
    s = pruned_stack("alice", demo_dir, tmp_path_factory)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def pruned_bob(gateway, demo_dir, tmp_path_factory):
    s = pruned_stack("bob", demo_dir, tmp_path_factory)
    yield s
    s.stop()


def _answer(stack, principal, method, path):
    """Status, headers and body, request ids and dates aside; a continuation token only as
    "there is one" (each stack's policy service seals tokens with its own key)."""
    resp = http(stack.endpoint, method, path, key=KEYS[principal])
    body = re.sub(rb"<RequestId>[^<]*</RequestId>", b"", resp.body)
    body = re.sub(rb"<NextContinuationToken>[^<]*</NextContinuationToken>",
                  b"<NextContinuationToken/>", body)
    headers = {k: v for k, v in resp.headers.items()
               if k not in ("date", "x-amz-request-id")}
    return resp.status, headers, body


def differences(stack, control, principal, requests):
    """The requests ((method, path)) the two stacks answer differently, with both answers."""
    out = []
    for method, path in requests:
        a = _answer(stack, principal, method, path)
        b = _answer(control, principal, method, path)
        if a != b:
            out.append((method, path, a[0], a[2][:400], b[0], b[2][:400]))
    return out


def listing_queries(principal):
    queries = []
    for q in LISTING_TRICKS[principal]:
        queries += [q] if "list-type" in q else [q, "list-type=2&" + q]
    base = ["prefix=sales/", "prefix=sales/&delimiter=/", "prefix=sales/region%3D",
            "prefix=", "prefix=&delimiter=/", "prefix=events/2026-11-03/part-0299",
            "prefix=sales/region%3Deu/part-00001.csv", "prefix=events/2026-11-03/part-02996",
            "prefix=events/2026-11-03/part-00007.jsonl", "prefix=sales/region%3Deu/"]
    for q in base:
        for max_keys in (1, 2, 3, 5):
            queries += [f"{q}&max-keys={max_keys}", f"list-type=2&{q}&max-keys={max_keys}"]
    return [("GET", f"/s3p/immuta?{q}") for q in queries]


def object_requests(principal):
    """GET/HEAD of every hidden key, its spellings, and of visible and missing keys."""
    paths = [f"/s3p/immuta/{raw}" for key in HIDDEN[principal] for raw, _ in tricks(key)]
    paths += ["/s3p/immuta/sales/region%3Deu/part-00000.csv",
              "/s3p/immuta/sales/region%3Deu/part-99999.csv",
              "/s3p/immuta/documents/scan-0001.bin", "/s3p/immuta/sales_eu/leak.csv"]
    paths += [f"/s3p/immuta/{raw}" for raw in BOB_CLIMBS]
    return [(m, p) for p in paths for m in ("GET", "HEAD")]


def test_alices_listings_do_not_depend_on_what_she_cannot_see(gateway, pruned_alice):
    # Every listing probe, sent to the demo stack and to one whose store lacks exactly what
    # alice may not see, gets the same answer: nothing hidden shows, not even as a count or a
    # truncation. (That bob's pages end as they would without his hidden objects is checked in
    # test_attacks_listing_truncation.py.)
    assert not differences(gateway, pruned_alice, "alice", listing_queries("alice"))


@pytest.mark.parametrize("principal", sorted(HOLDS))
def test_object_answers_do_not_depend_on_what_the_principal_cannot_see(gateway, request,
                                                                         principal):
    control = request.getfixturevalue(f"pruned_{principal}")
    assert not differences(gateway, control, principal, object_requests(principal))
