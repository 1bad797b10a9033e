"""A key whose visibility is decided must be the key the upstream serves. File-backed stores
resolve keys as paths: `rclone serve s3` and s3s-fs serve the file `x.crc` for the key `x.crc/`,
so a hidden object asked for with a trailing `/` (whose last segment is empty and matches no
name pattern) must still be hidden. The gateway judges every key under every name a known store
may serve for it (core/src/policy/store_names.rs): GET, HEAD, ranges and conditional GETs of such keys are
`NoSuchKey` and never reach the upstream; listings leave out folder markers (keys ending in `/`,
which S3 keeps as objects) that name a hidden object. `make e2e` runs this module against rclone
and s3s-fs. docs/security.md names these tests."""

import datetime
import unicodedata
import xml.etree.ElementTree as ET
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, quote, unquote, urlsplit

import botocore.exceptions
import pytest
import yaml

from conftest import REPO, start_stack
from gateway import (KEYS, S3_NS, client_error, disk_file, http, s3_client, s3_error)
from test_failures import serving
from test_vhost import HOST, vhost_client

# Hidden from each principal (housekeeping, and for bob the region he does not hold).
HIDDEN = {
    "alice": ["events/2026-11-03/part-00000.jsonl.crc", "events/2026-11-03/.part-00007.jsonl.crc",
              "sales/region=eu/.part-00000.csv.crc", "sales/_SUCCESS"],
    "bob": ["sales/region=eu/.part-00000.csv.crc", "sales/region=us/.part-00000.csv.crc",
            "sales/_SUCCESS", "sales/region=us/part-00000.csv"],
}
LONG_AGO = format_datetime(datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc),
                           usegmt=True)
# Plain, ranged (also a suffix range: the gateway learns the size first) and conditional
# requests that would each answer data for a visible object.
KINDS = [
    ("GET", {}),
    ("HEAD", {}),
    ("GET", {"Range": "bytes=0-3"}),
    ("GET", {"Range": "bytes=-4"}),
    ("HEAD", {"Range": "bytes=0-3"}),
    ("GET", {"If-None-Match": '"not-its-etag"'}),
    ("GET", {"If-Modified-Since": LONG_AGO}),
    ("GET", {"If-Match": "*"}),
    ("HEAD", {"If-Unmodified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}),
]


def upstream_calls(stack):
    return stack.stat("cluster.s3_demo.upstream_rq_total")


def _port(url):
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


def target(gateway, listener, addressing):
    """(gateway URL, path of the key `{}`, Host header) for one way of addressing the bucket."""
    url, path = (gateway.endpoint, "/s3p") if listener == "path" else (gateway.root_endpoint, "")
    if addressing == "virtual":
        return url, path + "/{}", {"Host": f"{HOST}:{_port(url)}"}
    return url, path + "/immuta/{}", {}


def assert_missing(resp, method, what):
    assert resp.status == 404, (what, resp.status, resp.body[:200])
    if method == "HEAD":
        assert resp.body == b"", what
    else:
        assert s3_error(resp)[0] == "NoSuchKey", what
    assert b"crc\x00" not in resp.body and b"order_id" not in resp.body, what
    assert "content-range" not in resp.headers and "etag" not in resp.headers, what


@pytest.mark.parametrize("addressing", ["path", "virtual"])
@pytest.mark.parametrize("listener", ["path", "root"])
@pytest.mark.parametrize("principal", sorted(HIDDEN))
def test_a_trailing_slash_opens_no_hidden_object(gateway, demo_dir, principal, listener,
                                                 addressing):
    url, path, host = target(gateway, listener, addressing)
    before = upstream_calls(gateway)
    for key in HIDDEN[principal]:
        assert disk_file(demo_dir, key).is_file(), key  # hidden, not missing
        for name in (key, key + "/"):
            for method, headers in KINDS:
                resp = http(url, method, path.format(quote(name)), key=KEYS[principal],
                            headers={**host, **headers})
                assert_missing(resp, method, (principal, name, method, headers))
        # Two slashes: an empty segment, refused before any mapping.
        resp = http(url, "GET", path.format(quote(key + "//")), key=KEYS[principal],
                    headers=host)
        assert resp.status == 400 and s3_error(resp)[0] == "InvalidArgument"
    assert upstream_calls(gateway) == before  # all answered by the gateway itself


@pytest.fixture(scope="module")
def boto3_clients(gateway):
    clients = {}
    for principal in HIDDEN:
        clients[principal, "path"] = s3_client(gateway.endpoint, KEYS[principal])
        clients[principal, "root"] = s3_client(gateway.root_endpoint, KEYS[principal])
        clients[principal, "virtual"] = vhost_client(gateway.endpoint, principal, "/s3p")[0]
    return clients


@pytest.mark.parametrize("style", ["path", "root", "virtual"])
@pytest.mark.parametrize("principal", sorted(HIDDEN))
def test_boto3_reads_no_hidden_object_with_a_trailing_slash(boto3_clients, principal, style):
    s3 = boto3_clients[principal, style]
    long_ago = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    for key in HIDDEN[principal]:
        for name in (key, key + "/"):
            for call, extra in ((s3.get_object, {}), (s3.head_object, {}),
                                (s3.get_object, {"Range": "bytes=0-3"}),
                                (s3.get_object, {"IfModifiedSince": long_ago}),
                                (s3.get_object, {"IfNoneMatch": '"not-its-etag"'})):
                with pytest.raises(botocore.exceptions.ClientError) as exc:
                    call(Bucket="immuta", Key=name, **extra)
                assert client_error(exc)[0] == 404, (name, call, extra)
                if call == s3.get_object:
                    assert client_error(exc) == (404, "NoSuchKey"), (name, extra)


def test_a_visible_object_with_a_trailing_slash_is_still_forwarded(gateway, demo_dir,
                                                                    upstream_store):
    # Its every name is visible, so the rule refuses nothing the principal may read: the store
    # answers. Both file-backed stores serve the file (S3 would answer NoSuchKey: another key).
    key = "sales/region=eu/part-00000.csv"
    before = upstream_calls(gateway)
    resp = http(gateway.endpoint, "GET", f"/s3p/immuta/{quote(key)}/", key=KEYS["bob"])
    assert upstream_calls(gateway) == before + 1
    assert (resp.status, resp.body) == (200, disk_file(demo_dir, key).read_bytes()), \
        upstream_store


def test_a_unicode_equivalent_key_is_another_key(gateway, demo_dir):
    # rclone's VFS would serve the NFC file for an NFD key by default; the stacks turn that
    # off (the model of store names has no Unicode fixup), so each store serves names as given.
    key = "documents/r\u00e9sum\u00e9 \u00fc.bin"
    assert disk_file(demo_dir, key).is_file()
    resp = http(gateway.endpoint, "GET", f"/s3p/immuta/{quote(key)}", key=KEYS["carol"])
    assert resp.status == 200
    other = unicodedata.normalize("NFD", key)
    resp = http(gateway.endpoint, "GET", f"/s3p/immuta/{quote(other)}", key=KEYS["carol"])
    assert_missing(resp, "GET", other)


# --- hide patterns with a '/' and no '**' at the end -------------------------------------------

# An object rule whose patterns name paths: one literal, one with a wildcard.
WITHDRAWN = ["region=eu/part-00001.csv", "region=us/part-*1.csv"]


@pytest.fixture(scope="module")
def ruled(demo_dir, tmp_path_factory):
    """A stack whose analysts also lose the parts WITHDRAWN names."""
    policies = tmp_path_factory.mktemp("policies-withdrawn")
    for name in ("data_sources.yaml", "principals.yaml"):
        (policies / name).write_text((REPO / "policies" / name).read_text())
    rules = yaml.safe_load((REPO / "policies" / "rules.yaml").read_text())
    rules["object_rules"].append({"name": "withdrawn", "data_sources": ["sales"],
                                  "hide": WITHDRAWN, "unless_roles": ["steward"]})
    (policies / "rules.yaml").write_text(yaml.safe_dump(rules))
    s = start_stack(demo_dir, tmp_path_factory.mktemp("run-withdrawn"), policies=policies)
    yield s
    s.stop()


def test_path_patterns_hold_with_a_trailing_slash(ruled, demo_dir):
    withdrawn = ["sales/region=eu/part-00001.csv", "sales/region=us/part-00001.csv"]
    before = upstream_calls(ruled)
    for key in withdrawn:
        assert disk_file(demo_dir, key).is_file()
        for name in (key, key + "/"):
            for method, headers in KINDS:
                resp = http(ruled.endpoint, method, f"/s3p/immuta/{quote(name)}",
                            key=KEYS["alice"], headers=headers)
                assert_missing(resp, method, (name, method, headers))
    assert upstream_calls(ruled) == before
    # The rule is the policy's: the steward still reads them, and alice the rest.
    for key in withdrawn:
        resp = http(ruled.endpoint, "GET", f"/s3p/immuta/{quote(key)}", key=KEYS["carol"])
        assert (resp.status, resp.body) == (200, disk_file(demo_dir, key).read_bytes())
    listed = [o["Key"] for o in
              s3_client(ruled.endpoint, KEYS["alice"]).list_objects_v2(
                  Bucket="immuta", Prefix="sales/")["Contents"]]
    assert listed == ["sales/region=eu/part-00000.csv", "sales/region=us/part-00000.csv"]


# --- a store that keeps keys ending in '/' (folder markers) ------------------------------------

# What the store holds under the sales data source's real prefix: S3 keeps `x/` as an object of
# its own (a folder marker), next to or instead of `x`.
MARKER_PREFIX = "curated/sales/"
MARKER_KEYS = {
    "region=eu/": b"",
    "region=eu/.part-00000.csv.crc/": b"",
    "region=eu/2026/": b"",
    "region=eu/part-00000.csv": b"order_id,region\n1,eu\n",
    "region=eu/part-00000.csv.crc/": b"crc\x00\x00\x00\x00\x00",
    "region=us/part-00000.csv/": b"order_id,region\n2,us\n",
    "_SUCCESS/": b"",
}
# Every marker above names a hidden object for analysts, or (for region=eu/, under the partition
# rule's `region=eu/**`) the file a file-backed store would serve for it, region=eu, which is
# outside every partition: hidden too.
MARKERS_SEEN = {
    "alice": ["sales/region=eu/2026/", "sales/region=eu/part-00000.csv",
              "sales/region=us/part-00000.csv/"],
    "bob": ["sales/region=eu/2026/", "sales/region=eu/part-00000.csv"],
    "carol": sorted(f"sales/{k}" for k in MARKER_KEYS),
}


class MarkerStore(BaseHTTPRequestHandler):
    """A small S3 store that keeps keys as names, markers included (like S3 or MinIO)."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urlsplit(self.path)
        bucket, _, key = url.path.lstrip("/").partition("/")
        objects = {MARKER_PREFIX + k: v for k, v in MARKER_KEYS.items()}
        if bucket != "acme-warehouse-prod":
            return self._send(404, b"<Error><Code>NoSuchBucket</Code></Error>")
        if key:
            data = objects.get(unquote(key))
            if data is None:
                return self._send(404, b"<Error><Code>NoSuchKey</Code></Error>")
            return self._send(200, data, "application/octet-stream",
                              {"ETag": '"0123456789abcdef0123456789abcdef"',
                               "Last-Modified": "Mon, 02 Nov 2026 00:00:00 GMT"})
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter")
        after = query.get("continuation-token") or query.get("start-after") or ""
        entries = []
        for name in sorted(k for k in objects if k.startswith(prefix) and k > after):
            cut = name.find(delimiter, len(prefix)) if delimiter else -1
            entry = ("prefix", name[:cut + 1]) if cut >= 0 else ("key", name)
            if entry not in entries:
                entries.append(entry)
        max_keys = int(query.get("max-keys", "1000"))
        page, truncated = entries[:max_keys], len(entries) > max_keys
        body = ['<?xml version="1.0" encoding="UTF-8"?><ListBucketResult '
                'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>acme-warehouse-prod</Name>'
                f"<Prefix>{prefix}</Prefix><KeyCount>{len(page)}</KeyCount>"
                f"<MaxKeys>{max_keys}</MaxKeys>"
                f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"]
        if truncated:
            body.append(f"<NextContinuationToken>{page[-1][1]}</NextContinuationToken>")
        for kind, name in page:
            if kind == "key":
                body.append(f"<Contents><Key>{name}</Key>"
                            "<LastModified>2026-11-02T00:00:00.000Z</LastModified>"
                            '<ETag>"0123456789abcdef0123456789abcdef"</ETag>'
                            f"<Size>{len(objects[name])}</Size>"
                            "<StorageClass>STANDARD</StorageClass></Contents>")
            else:
                body.append(f"<CommonPrefixes><Prefix>{name}</Prefix></CommonPrefixes>")
        body.append("</ListBucketResult>")
        return self._send(200, "".join(body).encode(), "application/xml")

    do_HEAD = do_GET

    def _send(self, status, body, content_type="application/xml", headers=None):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@pytest.fixture(scope="module")
def markers(ruled):
    """The module's stack with MarkerStore in place of its file-backed store."""
    ruled.stop_upstream()
    try:
        with serving(ruled.upstream_port, MarkerStore):
            yield ruled
    finally:
        ruled.start_upstream()


@pytest.mark.parametrize("principal", sorted(MARKERS_SEEN))
def test_listed_folder_markers_follow_the_names_they_resolve_to(markers, principal):
    s3 = s3_client(markers.endpoint, KEYS[principal])
    for page_size in (1000, 1):  # also page by page: a hidden marker on every boundary
        listed = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket="immuta", Prefix="sales/", PaginationConfig={"PageSize": page_size})
            for o in page.get("Contents", [])]
        assert listed == MARKERS_SEEN[principal], page_size
    v1 = s3.list_objects(Bucket="immuta", Prefix="sales/region=eu/")
    assert [o["Key"] for o in v1.get("Contents", [])] == [
        k for k in MARKERS_SEEN[principal] if k.startswith("sales/region=eu/")]
    # Each marker answers GET and HEAD exactly as the listing has it.
    for virtual in (f"sales/{k}" for k in MARKER_KEYS):
        resp = http(markers.endpoint, "GET", f"/s3p/immuta/{quote(virtual)}", key=KEYS[principal])
        head = http(markers.endpoint, "HEAD", f"/s3p/immuta/{quote(virtual)}",
                    key=KEYS[principal])
        if virtual in MARKERS_SEEN[principal]:
            data = MARKER_KEYS[virtual.removeprefix("sales/")]
            assert (resp.status, resp.body) == (200, data), virtual
            assert head.status == 200 and head.headers["content-length"] == str(len(data))
        else:
            assert_missing(resp, "GET", virtual)
            assert_missing(head, "HEAD", virtual)


def test_markers_are_not_listed_where_the_store_rolls_them_up(markers):
    # With the `/` delimiter the store rolls markers below the prefix up into folders; only the
    # visible object is listed as an object.
    resp = http(markers.endpoint, "GET",
                "/s3p/immuta?list-type=2&prefix=sales%2Fregion%3Deu%2F&delimiter=%2F",
                key=KEYS["alice"])
    assert resp.status == 200, resp.body[:300]
    root = ET.fromstring(resp.body)
    assert [k.text for k in root.iter(f"{S3_NS}Key")] == ["sales/region=eu/part-00000.csv"]
