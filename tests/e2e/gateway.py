"""Helpers for the end-to-end tests: S3 clients and raw HTTP that record every response the
gateway sends (so the suite can check that nothing real leaks), and the demo data's layout."""

import hashlib
import hmac
import json
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import unquote, urlsplit

import boto3
from botocore.config import Config

S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
SECRET = "immuta"  # the seed's secret: the same for every user
KEYS = {"alice": "alice-demo-key", "bob": "bob-demo-key", "carol": "carol-demo-key",
        "dave": "dave-demo-key", "erin": "erin-demo-key"}

# The regions the test stacks accept: the demo's, then a pool of test regions, each signed for
# by one test only, so a SigV4 request for it finds no decision cached (decisions are cached
# per scope) and the policy service is asked (`fresh_region`).
TEST_REGIONS = ["us-east-1"] + [f"zz-{i:04d}" for i in range(3000)]
_FRESH = iter(TEST_REGIONS[1:])


def fresh_region():
    """A test region no request used before in this run."""
    return next(_FRESH)


# Real names (buckets, prefixes) that must never reach a client.
FORBIDDEN = ["acme-warehouse-prod", "acme-docs-archive", "curated/", "raw/events",
             "archive/documents", "secrets"]

# Demo data the client tests lean on (scripts/gen_demo_data.py).
DAY = "events/2026-11-03/"  # 3,000 small parts and housekeeping for every 7th: > 2 pages
BIG = "documents/big/archive 50MB.bin"
ODD = "documents/odd names/"  # keys with space, '+', '%', '&', '<', '>', non-ASCII, emoji
ALICE_SOURCES = ("customers", "events", "orders", "purchases", "sales")

# Where each data source really lives in the demo data (see policies/data_sources.yaml).
DATA_SOURCES = {
    "sales": "acme-warehouse-prod/curated/sales",
    "customers": "acme-warehouse-prod/curated/customers",
    "orders": "acme-warehouse-prod/curated/orders",
    "purchases": "acme-warehouse-prod/curated/purchases",
    "events": "acme-warehouse-prod/raw/events",
    "documents": "acme-docs-archive/archive/documents",
}


# --- recording every response -------------------------------------------------------------

@dataclass
class Recorded:
    what: str
    status: int
    headers: list
    body: bytes = None  # None for streamed object bodies (they are compared to the files)
    sent: str = ""  # what the client itself put in the request line: echoing it is no leak


@dataclass
class Recorder:
    responses: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)  # s3transfer uses threads

    def add(self, rec):
        with self.lock:
            self.responses.append(rec)

    def leaks(self, start=0):
        """(what, where, needle) for every recorded response from `start` on that leaks."""
        found = []
        for rec in self.responses[start:]:
            parts = [("header", f"{k}: {v}".lower().encode()) for k, v in rec.headers]
            if rec.body is not None:
                parts.append(("body", rec.body.lower()))
            needles = [n for n in FORBIDDEN if n not in rec.sent.lower()]
            for where, data in parts:
                found += [(rec.what, where, n) for n in needles if n.encode() in data]
        return found


RECORDER = Recorder()


def _on_response(response_dict=None, context=None, **_):
    # botocore's `response-received` fires once per HTTP attempt, errors included.
    if response_dict is None:
        return
    body = response_dict.get("body")
    RECORDER.add(Recorded(f"boto3 {response_dict['context']['operation_name']}",
                          response_dict["status_code"], list(response_dict["headers"].items()),
                          body if isinstance(body, bytes) else None))


def record_response_dicts(events):
    """Record every response of a botocore (or aiobotocore) client or session."""
    events.register("response-received.s3", _on_response)


def s3_client(endpoint, access_key, secret=SECRET, signature_version="s3v4"):
    """The seed's boto3 client (path-style, SigV4 unless told otherwise, us-east-1); one attempt
    per call so errors surface as they are."""
    client = boto3.session.Session().client(
        service_name="s3", aws_access_key_id=access_key, aws_secret_access_key=secret,
        endpoint_url=endpoint, region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version=signature_version,
                      retries={"total_max_attempts": 1}))
    record_response_dicts(client.meta.events)
    return client


@dataclass
class Response:
    status: int
    headers: dict  # lower-case names
    body: bytes


def http(endpoint, method, path, headers=None, body=None, key=None):
    """A raw HTTP request to the gateway; `path` is sent as is (already percent-encoded).
    `key` adds the seed's `Authorization: AWS <key>:immuta` header."""
    url = urlsplit(endpoint)
    headers = dict(headers or {})
    if key is not None:
        headers["Authorization"] = f"AWS {key}:{SECRET}"
    conn = HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        result = Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()
    RECORDER.add(Recorded(f"http {method} {path}", result.status,
                          list(result.headers.items()), data,
                          sent=f"{unquote(path)} {headers.get('Host', '')}"))
    return result


def refused_as_unreadable(resp):
    """Whether `resp` is the refusal of an object its masks cannot be applied to."""
    return resp.status == 403 and s3_error(resp)[0] == "InvalidObjectState"


def s3_error(resp):
    """(Code, Message) of an S3 error response; asserts the S3 error shape."""
    assert "xml" in resp.headers.get("content-type", ""), resp.headers
    root = ET.fromstring(resp.body)
    assert root.tag == "Error", resp.body
    code, message = root.findtext("Code"), root.findtext("Message")
    assert code and message is not None, resp.body
    return code, message


def client_error(exc_info):
    """(HTTP status, Code) of a botocore ClientError."""
    err = exc_info.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"]


# --- the demo data on disk ----------------------------------------------------------------

def is_housekeeping(key):
    name = key.rsplit("/", 1)[-1]
    return name == "_SUCCESS" or name.endswith(".crc")


def s3_sorted(keys):
    return sorted(keys, key=lambda k: k.encode())  # S3 lists in UTF-8 byte order


def disk_keys(demo_dir, data_source, housekeeping=False):
    """Virtual keys of every object of a data source, in listing order."""
    root = Path(demo_dir) / DATA_SOURCES[data_source]
    keys = [f"{data_source}/{p.relative_to(root).as_posix()}"
            for p in root.rglob("*") if p.is_file()]
    return s3_sorted(k for k in keys if housekeeping or not is_housekeeping(k))


def keys_under(demo_dir, prefix, data_sources, housekeeping=False):
    """Virtual keys starting with `prefix` across the given data sources, in listing order."""
    keys = [k for ds in data_sources for k in disk_keys(demo_dir, ds, housekeeping)]
    return s3_sorted(k for k in keys if k.startswith(prefix))


def disk_file(demo_dir, key):
    """The file behind a virtual key."""
    data_source, rest = key.split("/", 1)
    return Path(demo_dir) / DATA_SOURCES[data_source] / rest


def md5_hex(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


# --- the demo's table policies (policies/rules.yaml), computed from the files on disk ---------

# What each principal's view of a table data source masks and keeps: column -> mask
# ("hash", "null", or ("partial", keep_first, keep_last)), and the row filter (column, values
# kept). A data source not listed for a principal is served as it is. The Parquet `orders`
# (PARQUET_TABLES) are masked in place: tests/e2e/test_parquet.py.
DEMO_TABLES = {
    ("alice", "customers"): ({"email": "hash", "ssn": ("partial", 0, 4)}, ("region", {"eu", "us"})),
    ("alice", "events"): ({"user_id": "hash"}, None),
    ("alice", "purchases"): ({"email": "hash"}, None),
    ("erin", "customers"): ({"email": "hash", "ssn": "null"}, ("region", {"eu"})),
}


# The Parquet `orders`' masks: column -> "null" or ("constant", text); carol reads them clear.
PARQUET_TABLES = {
    "alice": {"customer_email": "null"},
    "erin": {"customer_email": "null", "amount": ("constant", "0")},
}


def mask_hash(secret, text):
    """The gateway's `hash` mask (core/src/tables/mask.rs): HMAC-SHA256 of the value's text under
    a key derived from the mask secret, lower-case hex."""
    key = hmac.new(secret.encode(), b"s3gate table mask: hash v1", hashlib.sha256).digest()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def mask_partial(text, first, last, fill="*"):
    """The `partial` mask: the first and last characters kept, the rest `fill`; a value no
    longer than both together filled whole."""
    n = len(text)
    if n <= first + last:
        return fill * n
    return text[:first] + fill * (n - first - last) + text[n - last:]


def _masked(secret, mask, text):
    """A value's masked text; None for null."""
    if mask == "hash":
        return mask_hash(secret, text)
    if mask == "null":
        return None
    kind, first, last = mask
    assert kind == "partial", mask
    return mask_partial(text, first, last)


def table_view(principal, key, data, secret):
    """The bytes `principal` should get for the object `key` whose upstream bytes are `data`,
    under the demo's table policies: the object itself where none applies. Only for the demo's
    tables (simple CSV without quotes, JSON Lines as json.dumps(sort_keys=True) writes them)."""
    spec = DEMO_TABLES.get((principal, key.split("/", 1)[0]))
    assert not (key.startswith("orders/") and principal in PARQUET_TABLES), \
        "a masked Parquet view: see test_parquet.py"
    if spec is None:
        return data
    masks, row_filter = spec
    out = []
    if key.endswith(".csv"):
        assert b'"' not in data, key
        lines = data.decode().split("\n")
        assert lines[-1] == "", key
        header = lines[0].split(",")
        out.append(lines[0])
        for line in lines[1:-1]:
            fields = line.split(",")
            row = dict(zip(header, fields))
            if row_filter and row.get(row_filter[0]) not in row_filter[1]:
                continue
            for i, name in enumerate(header):
                if name in masks:
                    fields[i] = _masked(secret, masks[name], fields[i]) or ""
            out.append(",".join(fields))
        return ("\n".join(out) + "\n").encode()
    for line in data.decode().splitlines():
        record = json.loads(line)
        assert json.dumps(record, sort_keys=True) == line, key  # the writer keeps the rest
        if row_filter and record.get(row_filter[0]) not in row_filter[1]:
            continue
        for name, mask in masks.items():
            if name in record and record[name] is not None:
                value = record[name]
                text = value if isinstance(value, str) else json.dumps(value)
                record[name] = _masked(secret, mask, text)
        out.append(json.dumps(record, sort_keys=True))
    return "".join(line + "\n" for line in out).encode()


def view_of(demo_dir, principal, key, secret):
    """`table_view` of the demo file behind `key`."""
    return table_view(principal, key, disk_file(demo_dir, key).read_bytes(), secret)
