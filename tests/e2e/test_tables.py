"""Masked tables end to end (issue 15): real Envoy with the built filter, the real policy service
compiling the demo's masks and filters, rclone as the store, and the readers data teams use:
boto3, pandas over s3fs, DuckDB's httpfs, pyarrow, the AWS CLI.

What the demo promises (README, policies/): alice reads `customers` with `email` hashed and `ssn`
partially masked (last four kept), `events` with `user_id` hashed and `purchases` with `email`
hashed; erin reads `customers` only, its `region = eu` rows only, `ssn` null, `email` hashed;
carol reads everything in clear. Every expected view here is computed from carol's clear bytes
by an oracle written from docs/tables.md (HMAC-SHA256 under a key derived from the stack's mask
secret as core/src/tables/mask.rs `MaskKeys` derives it), so a view is checked byte for byte,
not only in shape.

This module runs its own stacks on a hard-linked copy of the demo data (the shared data stays
pristine): one with a generated CSV of more than 30 MB and an upload that carries a checksum,
one with unparsable table objects. Every response alice and erin get in this module (headers,
bodies, downloaded files, the frames readers built) is checked for clear text of the masked
columns after each test (`no_clear_values`)."""

import csv
import functools
import hashlib
import hmac
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiobotocore.session
import boto3
import botocore.exceptions
import pandas as pd
import pytest
import s3fs
from botocore.config import Config

import gen_demo_data
from conftest import start_stack
from gateway import DATA_SOURCES, DAY, KEYS, RECORDER, SECRET, Recorded, \
    client_error, http, record_response_dicts, s3_error, table_view

PRINCIPALS = KEYS
WATCHED = ("alice", "erin")  # whose responses must never hold a masked column's clear text
BUCKET = "immuta"
CUSTOMERS = "customers/customers.csv"
EVENTS = ["events/2026-11-01.jsonl", "events/2026-11-02.jsonl", f"{DAY}part-00042.jsonl"]
BIG = "customers/generated/customers-big.csv"  # written by the `tables` fixture
BIG_MIN = 30 * 1024 * 1024
CHECKSUMMED = "customers/uploaded/checksummed.csv"  # uploaded with a SHA-256 checksum
VERSIONED = "customers/uploaded/versioned.csv"  # overwritten by a test
AWS = str(Path(sys.executable).parent / "aws")


# --- the oracle: what each principal's view of an object is ------------------------------

HASH, NULL, LAST4 = "hash", "null", "last4"
# (principal, data source) -> (format, {column: mask}, row filter (column, allowed values)).
# Rows of customers are kept by the principal's regions (rules.yaml `regional-customers`):
# alice's are eu and us, all of the demo's rows; the generated table has apac rows too.
SPECS = {
    ("alice", "customers"): ("csv", {"email": HASH, "ssn": LAST4}, ("region", {"eu", "us"})),
    ("alice", "events"): ("jsonl", {"user_id": HASH}, None),
    ("alice", "purchases"): ("csv", {"email": HASH}, None),
    ("erin", "customers"): ("csv", {"email": HASH, "ssn": NULL}, ("region", {"eu"})),
}
VISIBLE = {"alice": {"sales", "customers", "events", "orders", "purchases"},
           "erin": {"customers", "orders"}}


class Oracle:
    def __init__(self, mask_secret):
        secret = mask_secret.encode() if isinstance(mask_secret, str) else bytes(mask_secret)
        assert len(secret) >= 32, "the stack's mask secret is shorter than the filter accepts"
        # MaskKeys::new: the hash key is HMAC(secret, label); a value's hash HMAC(key, text).
        key = hmac.new(secret, b"s3gate table mask: hash v1", hashlib.sha256).digest()
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def hash(self, text):
        mac = self._mac.copy()
        mac.update(text.encode())
        return mac.hexdigest()

    def mask(self, kind, text):
        if kind == HASH:
            return self.hash(text)
        if kind == NULL:
            return ""
        # partial keep_first 0, keep_last 4, fill '*': characters, not bytes; short values whole
        n = len(text)
        return "*" * n if n <= 4 else "*" * (n - 4) + text[-4:]

    def view(self, principal, key, clear):
        spec = SPECS.get((principal, key.split("/", 1)[0]))
        if spec is None:
            return clear
        fmt, masks, keep = spec
        if fmt == "csv":
            return self.csv_view(clear, masks, keep)
        assert keep is None
        return self.jsonl_view(clear, masks)

    def csv_view(self, clear, masks, keep=None):
        """The writer's rule: every byte of a kept record copied except the masked fields, the
        header as it is. The replacements here never need quotes (hex, '*', digits, empty)."""
        out, header = [], None
        for fields, seps in csv_records(clear):
            if header is None:
                header = [unquote(f) for f in fields]
                out.append(b"".join(f + s for f, s in zip(fields, seps)))
                continue
            values = dict(zip(header, (unquote(f) for f in fields)))
            if keep is not None and values.get(keep[0]) not in keep[1]:
                continue
            row = []
            for name, f, s in zip(header, fields, seps):
                if name in masks:
                    f = self.mask(masks[name], unquote(f)).encode()
                row.append(f + s)
            out.append(b"".join(row))
        return b"".join(out)

    def jsonl_view(self, clear, masks):
        """A JSON Lines view: each masked number or string replaced by the JSON string of its
        hash where it stands (the rest of the line byte for byte)."""
        (column, kind), = masks.items()
        assert kind == HASH
        pattern = re.compile(rb'("' + column.encode() + rb'"\s*:\s*)'
                             rb'(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|"(?:[^"\\]|\\.)*")')

        def replace(m):
            raw = m.group(2).decode()
            text = json.loads(raw) if raw.startswith('"') else raw
            return m.group(1) + json.dumps(self.hash(text)).encode()

        lines = clear.splitlines(keepends=True)
        out = [pattern.sub(replace, line) for line in lines]
        assert all(json.loads(line)[column] is not None for line in out if line.strip())
        return b"".join(out)


_FIELD = re.compile(rb'("(?:[^"]|"")*"|[^,"\r\n]*)(,|\r?\n|$)')


def csv_records(data):
    """Each record's raw fields (quotes included) and what follows each (`,`, the terminator,
    or nothing at the end); strict like the gateway: a field must match whole."""
    pos, fields, seps = 0, [], []
    while pos < len(data):
        m = _FIELD.match(data, pos)
        assert m and m.end() > pos or m.group(2) == b"", f"not CSV at byte {pos}"
        fields.append(m.group(1))
        seps.append(m.group(2))
        pos = m.end()
        if m.group(2) != b",":
            yield fields, seps
            fields, seps = [], []
            if m.group(2) == b"":
                break
    if fields:
        yield fields, seps


def unquote(field):
    field = field.decode()
    if field.startswith('"'):
        return field[1:-1].replace('""', '"')
    return field


# --- clear text detection -----------------------------------------------------------------

_EMAIL = re.compile(rb"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SSN = re.compile(rb"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])")
_USER_ID = re.compile(rb'"user_id"\s*:\s*')
_HEX64 = re.compile(rb'"[0-9a-f]{64}"')


def clear_text_in(data):
    """What of a masked column's clear text `data` holds. Every e-mail column alice and erin
    read is hashed and every ssn masked, so any e-mail- or SSN-shaped text at all is a leak
    (a superset of carol's exact values); user_id is a small number whose digits occur in any
    hash, so there the check is that every `"user_id":` is followed by a 64-hex string."""
    found = []
    at = data.find(b"@")  # the e-mail pattern only where an '@' is: hex runs make it slow
    while at != -1 and len(found) < 3:
        m = next((m for m in _EMAIL.finditer(data, max(0, at - 256), at + 256)
                  if m.start() < at < m.end()), None)
        if m:
            found.append(m.group().decode(errors="replace"))
        at = data.find(b"@", m.end() if m else at + 1)
    found += [m.group().decode() for m in _SSN.finditer(data)][:3]
    for m in _USER_ID.finditer(data):
        if not _HEX64.match(data, m.end()):
            found.append(data[m.start():m.end() + 20].decode(errors="replace"))
            break
    return found


SEEN = []  # (principal, what, bytes) since the last check
SEEN_LOCK = threading.Lock()


def saw(principal, what, data):
    if principal in WATCHED:
        with SEEN_LOCK:
            SEEN.append((principal, what, bytes(data)))


def saw_headers(principal, what, headers):
    saw(principal, f"{what} headers", "\n".join(f"{k}: {v}" for k, v in headers).encode())


@pytest.fixture(autouse=True)
def no_clear_values():
    """After every test: nothing alice or erin got in this module shows a masked column's clear
    text (responses recorded by their clients, and what the test hands to `saw`)."""
    yield
    with SEEN_LOCK:
        seen, SEEN[:] = list(SEEN), []
    leaks = [(p, what, found) for p, what, data in seen if (found := clear_text_in(data))]
    assert not leaks, f"clear text of masked columns reached a client: {leaks[:5]}"


def _recorder(principal):
    def on_response(response_dict=None, **_):
        if response_dict is None:
            return
        what = f"boto3 {response_dict['context']['operation_name']}"
        saw_headers(principal, what, response_dict["headers"].items())
        if isinstance(response_dict.get("body"), bytes):
            saw(principal, what, response_dict["body"])
    return on_response


def client(endpoint, principal, **config):
    s3 = boto3.session.Session().client(
        service_name="s3", aws_access_key_id=PRINCIPALS[principal],
        aws_secret_access_key=SECRET, endpoint_url=endpoint, region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                      max_pool_connections=16, **config))
    record_response_dicts(s3.meta.events)  # the suite's check for real names
    s3.meta.events.register("response-received.s3", _recorder(principal))
    return s3


def get(endpoint, principal, key, method="GET", headers=None):
    """A raw request as `principal` (the seed's AWS key:secret header), recorded."""
    path = endpoint.split("127.0.0.1", 1)[1].split("/", 1)
    prefix = "/" + path[1] if len(path) > 1 else ""
    resp = http(endpoint, method, f"{prefix}/{BUCKET}/{key}", headers=headers,
                key=PRINCIPALS[principal])
    saw_headers(principal, f"http {method} {key}", resp.headers.items())
    saw(principal, f"http {method} {key}", resp.body)
    return resp


# --- the generated table ------------------------------------------------------------------

def render_csv(rows):
    def field(v):
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\r\n') else v
    return "".join(",".join(field(v) for v in row) + "\n" for row in rows).encode()


def big_rows(min_size):
    """Customers with names that need quotes (commas, doubled quotes, line breaks inside the
    field), so ranges cross quoted line breaks as well as record ends."""
    rng = random.Random(15)
    first = ["Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances"]
    last = ["Lovelace", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie"]
    rows, size, i = [["id", "name", "email", "ssn", "region"]], 0, 0
    while size < min_size:
        i += 1
        f, la = rng.choice(first), rng.choice(last)
        name = rng.choice([f"{f} {la}", f"{la}, {f}", f'{f} "{la[:3]}" {la}', f"{f}\n{la}"])
        row = [str(i), name, f"{f.lower()}.{la.lower()}{i}@example.org",
               f"{rng.randint(900, 999)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
               rng.choice(["eu", "us", "us", "apac"])]
        rows.append(row)
        size += sum(len(v) for v in row) + 10
    return rows


def checksummed_csv(tag):
    rows = [["id", "name", "email", "ssn", "region"]]
    rows += [[str(i), f"Test {tag} {i}", f"test.{tag}{i}@example.net", f"955-12-{1000 + i}",
              "eu" if i % 2 else "us"] for i in range(1, 40)]
    return render_csv(rows)


# --- the stacks ---------------------------------------------------------------------------

class Tables:
    """A module's stack, its clients and the oracle."""

    def __init__(self, stack):
        self.stack = stack
        self.endpoint = stack.endpoint
        self.oracle = Oracle(stack.mask_secret)
        self.clients = {p: client(stack.endpoint, p) for p in ("alice", "erin", "carol")}
        self._clear = {}

    def clear(self, key):
        """carol's bytes of an object: the store's, served in clear."""
        if key not in self._clear:
            self._clear[key] = self.clients["carol"].get_object(
                Bucket=BUCKET, Key=key)["Body"].read()
        return self._clear[key]

    def expected(self, principal, key):
        return self.oracle.view(principal, key, self.clear(key))

    def read(self, principal, key, **kwargs):
        resp = self.clients[principal].get_object(Bucket=BUCKET, Key=key, **kwargs)
        data = resp["Body"].read()
        saw(principal, f"GET {key}", data)
        return resp, data

    def keys(self, principal, prefix):
        """(key, size) of every object listed to `principal` under `prefix`."""
        pages = self.clients[principal].get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix=prefix)
        return [(o["Key"], o["Size"]) for p in pages for o in p.get("Contents", [])]


def upstream_client(stack):
    ak, sk = stack.credentials
    return boto3.session.Session().client(
        service_name="s3", aws_access_key_id=ak, aws_secret_access_key=sk,
        endpoint_url=f"http://127.0.0.1:{stack.upstream_port}", region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}))


def real(key):
    """(bucket, key) in the store behind a virtual key."""
    data_source, rest = key.split("/", 1)
    bucket, prefix = DATA_SOURCES[data_source].split("/", 1)
    return bucket, f"{prefix}/{rest}"


def linked_copy(demo_dir, root):
    shutil.copytree(demo_dir, root, copy_function=os.link)
    return root


@functools.cache
def generated_rows():
    return big_rows(BIG_MIN)


@pytest.fixture(scope="module")
def tables(demo_dir, tmp_path_factory):
    root = linked_copy(demo_dir, tmp_path_factory.mktemp("tables") / "data")
    bucket, path = real(BIG)
    big = root / bucket / path
    big.parent.mkdir(parents=True)
    big.write_bytes(render_csv(generated_rows()))  # a new file, not one of the links
    s = start_stack(root, tmp_path_factory.mktemp("run-tables"))
    try:
        # Uploaded to the store itself, with a checksum it may keep and send back.
        up = upstream_client(s)
        for key in (CHECKSUMMED, VERSIONED):
            bucket, path = real(key)
            up.put_object(Bucket=bucket, Key=path, Body=checksummed_csv("v1"),
                          ChecksumAlgorithm="SHA256")
        yield Tables(s)
    finally:
        s.stop()


@pytest.fixture(scope="module")
def broken(demo_dir, tmp_path_factory):
    """A stack whose store holds a valid customers table and events next to unparsable ones."""
    root = tmp_path_factory.mktemp("broken") / "data"
    (root).mkdir(parents=True)
    shutil.copy2(demo_dir / gen_demo_data.STAMP, root / gen_demo_data.STAMP)
    files = {
        CUSTOMERS: (demo_dir / real(CUSTOMERS)[0] / real(CUSTOMERS)[1]).read_bytes(),
        EVENTS[0]: (demo_dir / real(EVENTS[0])[0] / real(EVENTS[0])[1]).read_bytes(),
        # A bare quote inside an unquoted field, after rows that parse.
        "customers/bare-quote.csv": checksummed_csv("bq")
        + b'99,Jo"e Smith,joe.smith99@example.net,955-12-9999,eu\n',
        # A line that is JSON but not an object, after lines that are.
        "events/not-an-object.jsonl": b"".join(
            json.dumps({"event_id": f"x-{i}", "user_id": 7000 + i, "type": "search"}).encode()
            + b"\n" for i in range(20)) + b"[1, 2, 3]\n",
    }
    for key, data in files.items():
        bucket, path = real(key)
        (root / bucket / path).parent.mkdir(parents=True, exist_ok=True)
        (root / bucket / path).write_bytes(data)
    s = start_stack(root, tmp_path_factory.mktemp("run-broken"))
    yield Tables(s), files
    s.stop()


def s3fs_options(tables, principal):
    session = aiobotocore.session.AioSession()
    record_response_dicts(session)
    session.register("response-received.s3", _recorder(principal))
    return {"key": PRINCIPALS[principal], "secret": SECRET, "session": session,
            "client_kwargs": {"endpoint_url": tables.endpoint, "region_name": "us-east-1"},
            "skip_instance_cache": True}


def s3fs_for(tables, principal):
    return s3fs.S3FileSystem(**s3fs_options(tables, principal))


def demo_objects(principal):
    """The demo's table objects each principal reads in these tests."""
    if principal == "erin":
        return [CUSTOMERS]
    return [CUSTOMERS, *EVENTS] + (["purchases"] if principal in ("alice", "carol") else [])


def orders_keys(tables):
    """The CSV orders (`purchases`; the Parquet `orders` are test_parquet.py's)."""
    keys = [k for k, _ in tables.keys("carol", "purchases/")]
    assert keys, "the demo has a `purchases` data source with objects"
    return keys


def objects_of(tables, principal):
    out = []
    for key in demo_objects(principal):
        out += orders_keys(tables) if key == "purchases" else [key]
    return out


# --- the oracle against the clear data: the expected views are what the demo promises -----

def test_expected_views_are_what_the_demo_promises(tables):
    """The oracle's view, checked by reading it back with Python's csv: alice's email is the
    hash of carol's, ssn keeps its last four; erin has only eu rows and no ssn; each view
    differs from the clear data, so the tests below compare against a real transformation."""
    for key in (CUSTOMERS, EVENTS[0], BIG):
        bucket, path = real(key)
        assert tables.clear(key) == (tables.stack.data_dir / bucket / path).read_bytes(), key
    # The suite's other reference (gateway.table_view, for the demo's files) agrees.
    for principal in ("alice", "erin", "carol"):
        for key in objects_of(tables, principal):
            assert tables.expected(principal, key) == table_view(
                principal, key, tables.clear(key), tables.stack.mask_secret), (principal, key)
    clear = list(csv.DictReader(io.StringIO(tables.clear(CUSTOMERS).decode())))
    alice = list(csv.DictReader(io.StringIO(tables.expected("alice", CUSTOMERS).decode())))
    erin = list(csv.DictReader(io.StringIO(tables.expected("erin", CUSTOMERS).decode())))
    assert len(alice) == len(clear) > 50
    for c, a in zip(clear, alice):
        assert a["email"] == tables.oracle.hash(c["email"]) != c["email"]
        assert a["ssn"] == "*******" + c["ssn"][-4:] and len(c["ssn"]) == 11
        assert (a["id"], a["name"], a["region"]) == (c["id"], c["name"], c["region"])
    eu = [c for c in clear if c["region"] == "eu"]
    assert 0 < len(eu) < len(clear)
    assert [e["id"] for e in erin] == [c["id"] for c in eu]
    assert all(e["ssn"] == "" and e["email"] == tables.oracle.hash(c["email"])
               for e, c in zip(erin, eu))
    events = tables.expected("alice", EVENTS[0]).decode().splitlines()
    clear_events = tables.clear(EVENTS[0]).decode().splitlines()
    assert len(events) == len(clear_events) > 10
    for line, c in zip(events, clear_events):
        e, c = json.loads(line), json.loads(c)
        assert e["user_id"] == tables.oracle.hash(str(c["user_id"]))
        assert {k: v for k, v in e.items() if k != "user_id"} == \
            {k: v for k, v in c.items() if k != "user_id"}


# --- boto3 and pandas read the demo tables as promised -----------------------------------

@pytest.mark.parametrize("principal", ["alice", "erin", "carol"])
def test_boto3_download_file_reads_the_views(tables, principal, tmp_path):
    for key in objects_of(tables, principal):
        target = tmp_path / key.replace("/", "_")
        tables.clients[principal].download_file(BUCKET, key, str(target))
        data = target.read_bytes()
        saw(principal, f"download_file {key}", data)
        assert data == tables.expected(principal, key), key
        if principal != "carol":
            assert data != tables.clear(key), f"{key} reached {principal} in clear"


@pytest.mark.parametrize("principal", ["alice", "erin", "carol"])
def test_pandas_over_s3fs_reads_the_views(tables, principal):
    """pandas opening `s3://` URLs (s3fs asks HEAD for the size, then reads ranges)."""
    for key in objects_of(tables, principal):
        df = _pandas_read(key, f"s3://{BUCKET}/{key}",
                          storage_options=s3fs_options(tables, principal))
        saw(principal, f"pandas {key}", df.to_csv(index=False).encode())
        pd.testing.assert_frame_equal(df, _pandas_read(
            key, io.BytesIO(tables.expected(principal, key))))
    df = pd.read_csv(f"s3://{BUCKET}/{CUSTOMERS}",
                     storage_options=s3fs_options(tables, principal))
    clear = pd.read_csv(io.BytesIO(tables.clear(CUSTOMERS)))
    if principal == "carol":
        pd.testing.assert_frame_equal(df, clear)
        return
    saw(principal, "pandas customers", df.to_csv(index=False).encode())
    if principal == "erin":
        clear = clear[clear["region"] == "eu"].reset_index(drop=True)
        assert df["ssn"].isna().all()
    else:
        assert list(df["ssn"]) == ["*******" + s[-4:] for s in clear["ssn"]]
    assert list(df["id"]) == list(clear["id"]) and set(df["region"]) <= {"eu", "us"}
    assert list(df["email"]) == [tables.oracle.hash(e) for e in clear["email"]]


def _pandas_read(key, source, **kwargs):
    if key.endswith(".jsonl"):
        return pd.read_json(source, lines=True, **kwargs)
    return pd.read_csv(source, **kwargs)


@pytest.mark.parametrize("principal", ["alice", "erin", "carol"])
def test_pandas_over_s3fs_after_a_listing(tables, principal):
    """The same after the folders were listed: s3fs then opens each file with the size and
    ETag its listing cached (it reads with If-Match on that ETag)."""
    fs = s3fs_for(tables, principal)
    keys = objects_of(tables, principal)
    for folder in sorted({k.rsplit("/", 1)[0] for k in keys}):
        fs.ls(f"{BUCKET}/{folder}", detail=True)
    for key in keys:
        with fs.open(f"{BUCKET}/{key}", "rb") as f:
            df = _pandas_read(key, f)
        saw(principal, f"pandas {key}", df.to_csv(index=False).encode())
        pd.testing.assert_frame_equal(df, _pandas_read(
            key, io.BytesIO(tables.expected(principal, key))))


def test_equal_values_hash_equally_across_files_and_principals(tables):
    """The hash joins: customers' emails in alice's and erin's views and in alice's purchases are
    the same hashes for the same clear e-mail addresses."""
    alice = pd.read_csv(io.BytesIO(tables.read("alice", CUSTOMERS)[1]))
    erin = pd.read_csv(io.BytesIO(tables.read("erin", CUSTOMERS)[1]))
    assert set(erin["email"]) < set(alice["email"])
    assert all(re.fullmatch(r"[0-9a-f]{64}", e) for e in alice["email"])
    joined = alice.merge(erin, on="email", suffixes=("_a", "_e"))
    assert len(joined) == len(erin) and (joined["id_a"] == joined["id_e"]).all()
    orders = pd.concat(pd.read_csv(io.BytesIO(tables.read("alice", k)[1]))
                       for k in orders_keys(tables))
    assert len(orders) >= 100
    assert set(orders["email"]) <= set(alice["email"]), "orders' emails are customers' emails"
    assert len(set(orders["email"])) > 1


def test_erin_reads_customers_only(tables):
    erin = tables.clients["erin"]
    listed = erin.list_objects_v2(Bucket=BUCKET, Delimiter="/")
    # (and the Parquet orders, test_parquet.py)
    assert [p["Prefix"] for p in listed.get("CommonPrefixes", [])] == ["customers/", "orders/"]
    for key in (EVENTS[0], "sales/region=eu/part-00000.csv", orders_keys(tables)[0]):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            erin.get_object(Bucket=BUCKET, Key=key)
        assert client_error(exc) == (404, "NoSuchKey")


# --- DuckDB and pyarrow --------------------------------------------------------------------

def duckdb_for(tables, principal):
    duckdb = pytest.importorskip("duckdb")
    httpfs = pytest.importorskip("duckdb_extension_httpfs")
    # The extension ships in its wheel (requirements.txt): nothing is downloaded at test time.
    ext = Path(httpfs.__file__).parent / "extensions" / f"v{duckdb.__version__}" / \
        "httpfs.duckdb_extension"
    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    con.execute(f"LOAD '{ext}'")
    con.execute(f"""CREATE SECRET gateway (TYPE s3, KEY_ID '{PRINCIPALS[principal]}',
        SECRET '{SECRET}', REGION 'us-east-1', ENDPOINT '127.0.0.1:{tables.stack.root_port}',
        URL_STYLE 'path', USE_SSL false)""")
    return con


def _duck_read(key, source):
    if key.endswith(".jsonl"):
        return f"SELECT * FROM read_json('{source}', format='newline_delimited') ORDER BY ALL"
    return f"SELECT * FROM read_csv('{source}', all_varchar=true) ORDER BY ALL"


@pytest.mark.parametrize("principal", ["alice", "erin", "carol"])
def test_duckdb_httpfs_reads_the_views(tables, principal, tmp_path):
    con = duckdb_for(tables, principal)
    for key in objects_of(tables, principal) + [BIG]:
        local = tmp_path / key.replace("/", "_")
        local.write_bytes(tables.expected(principal, key) if key != BIG
                          else big_view(tables, principal))
        got = con.execute(_duck_read(key, f"s3://{BUCKET}/{key}")).fetchall()
        want = con.execute(_duck_read(key, str(local))).fetchall()
        saw(principal, f"duckdb {key}", repr(got).encode())
        assert len(got) == len(want) and got == want, key


@pytest.mark.parametrize("principal", ["alice", "erin"])
def test_pyarrow_reads_the_views(tables, principal):
    pafs = pytest.importorskip("pyarrow.fs")
    pacsv = pytest.importorskip("pyarrow.csv")
    pajson = pytest.importorskip("pyarrow.json")
    fs = pafs.S3FileSystem(access_key=PRINCIPALS[principal], secret_key=SECRET,
                           region="us-east-1", scheme="http",
                           endpoint_override=f"127.0.0.1:{tables.stack.root_port}",
                           force_virtual_addressing=False)
    for key in objects_of(tables, principal):
        info = fs.get_file_info(f"{BUCKET}/{key}")
        assert info.size == len(tables.expected(principal, key)), key
        with fs.open_input_file(f"{BUCKET}/{key}") as f:  # HEAD, then ranged reads
            reader = pajson.read_json if key.endswith(".jsonl") else pacsv.read_csv
            got = reader(f)
        want = reader(io.BytesIO(tables.expected(principal, key)))
        saw(principal, f"pyarrow {key}", got.to_pandas().to_csv(index=False).encode())
        assert got.equals(want), key


# --- the 30 MB table: parallel ranged downloads and random ranges -------------------------

_BIG_VIEWS = {}


def big_view(tables, principal):
    """The oracle's view of the generated table, from its rows (the writer never needs quotes
    for the replacements, and the names are rendered as the store has them)."""
    if principal not in _BIG_VIEWS:
        rows = generated_rows()
        if principal == "carol":
            _BIG_VIEWS[principal] = render_csv(rows)
        else:
            _, masks, keep = SPECS[(principal, "customers")]
            header, out = rows[0], [rows[0]]
            for row in rows[1:]:
                values = dict(zip(header, row))
                if keep and values[keep[0]] not in keep[1]:
                    continue
                out.append([tables.oracle.mask(masks[n], v) if n in masks else v
                            for n, v in zip(header, row)])
            _BIG_VIEWS[principal] = render_csv(out)
    return _BIG_VIEWS[principal]


@pytest.fixture(scope="module")
def big_whole(tables):
    """Each principal's whole GET of the generated table."""
    out = {}
    for principal in ("alice", "erin"):
        resp, data = tables.read(principal, BIG)
        out[principal] = (resp, data)
    return out


@pytest.mark.parametrize("principal", ["alice", "erin"])
def test_big_view_whole_get(tables, big_whole, principal):
    resp, data = big_whole[principal]
    assert resp["ContentLength"] == len(data)
    assert data == big_view(tables, principal)
    if principal == "alice":
        assert len(data) >= BIG_MIN
    assert tables.clear(BIG) == big_view(tables, "carol")
    head = tables.clients[principal].head_object(Bucket=BUCKET, Key=BIG)
    assert head["ContentLength"] == len(data) and head["ETag"] == resp["ETag"]


@pytest.mark.parametrize("principal", ["alice", "erin"])
def test_big_view_download_file_is_the_whole_view(tables, big_whole, principal, tmp_path):
    target = tmp_path / "big.csv"
    start = len(RECORDER.responses)
    tables.clients[principal].download_file(BUCKET, BIG, str(target))  # default TransferConfig
    data = target.read_bytes()
    saw(principal, "download_file big", data)
    ranged = [r for r in RECORDER.responses[start:]
              if r.what == "boto3 GetObject" and r.status == 206]
    # s3transfer's default: parts of 8 MiB once the (HEAD) size is over 8 MiB.
    parts = -(-len(big_whole[principal][1]) // (8 << 20))
    assert parts >= 2 and len(ranged) == parts, "boto3 downloaded in parallel ranged GETs"
    assert len(data) == len(big_whole[principal][1]) and data == big_whole[principal][1]


def _ranges(view, rng):
    """A sample: random ranges, narrow ones across line breaks (record ends and quoted breaks
    in names), around 1 MiB multiples (where an index may keep checkpoints), suffix and open
    ranges, the first and last bytes."""
    size = len(view)
    out = ["bytes=0-0", f"bytes={size - 1}-", "bytes=-1", f"bytes=-{size}",
           f"bytes=-{size + 10}", "bytes=0-", f"bytes=0-{size + 100}"]
    for _ in range(12):
        a = rng.randrange(size)
        out.append(f"bytes={a}-{min(size - 1, a + rng.randrange(1, 3 << 20))}")
    for _ in range(12):
        p = view.index(b"\n", rng.randrange(size - 1000))
        out.append(f"bytes={p - rng.randrange(0, 40)}-{p + rng.randrange(0, 40)}")
    for k in range(1, 6):
        m = k << 20
        out.append(f"bytes={m - 7}-{m + 7}")
    for _ in range(4):
        out.append(f"bytes=-{rng.randrange(1, 4 << 20)}")
        out.append(f"bytes={rng.randrange(size)}-")
    return out


def _slice(size, spec):
    first, last = spec[len("bytes="):].split("-")
    if first == "":
        n = int(last)
        return max(0, size - n), size - 1
    return int(first), min(size - 1, int(last)) if last else size - 1


@pytest.mark.parametrize("principal", ["alice", "erin"])
def test_big_view_random_ranges_are_slices_of_the_whole(tables, big_whole, principal):
    view = big_whole[principal][1]
    size = len(view)
    wrong = []
    for spec in _ranges(view, random.Random(f"ranges-{principal}")):
        a, b = _slice(size, spec)
        resp = get(tables.endpoint, principal, BIG, headers={"Range": spec})
        want = view[a:b + 1]
        if (resp.status, resp.headers.get("content-range"), resp.body) != (
                206, f"bytes {a}-{b}/{size}", want):
            wrong.append((spec, resp.status, resp.headers.get("content-range"),
                          len(resp.body), len(want)))
        elif int(resp.headers["content-length"]) != len(want):
            wrong.append((spec, "content-length", resp.headers["content-length"]))
    assert not wrong, f"{len(wrong)} ranges wrong, e.g. {wrong[:5]}"


@pytest.mark.parametrize("principal", ["alice", "erin"])
def test_big_view_ranges_past_the_end(tables, big_whole, principal):
    size = len(big_whole[principal][1])
    for spec in (f"bytes={size}-", f"bytes={size + 100}-{size + 200}"):
        resp = get(tables.endpoint, principal, BIG, headers={"Range": spec})
        assert resp.status == 416, (spec, resp.status, resp.headers)
        assert resp.headers.get("content-range") == f"bytes */{size}", resp.headers
        assert s3_error(resp)[0] == "InvalidRange"
    # Against the view's size, not the store's: alice's view is larger than the stored
    # object (hashes are longer than e-mails), erin's smaller (rows dropped, ssn emptied).
    clear_size = len(tables.clear(BIG))
    if principal == "alice":
        assert clear_size < size
        resp = get(tables.endpoint, principal, BIG, headers={"Range": f"bytes={clear_size}-"})
        assert resp.status == 206 and resp.body == big_whole[principal][1][clear_size:]
    else:
        assert size < clear_size
        resp = get(tables.endpoint, principal, BIG, headers={"Range": f"bytes={size}-"})
        assert resp.status == 416 and resp.headers.get("content-range") == f"bytes */{size}"


# --- listings agree with the bytes ---------------------------------------------------------

def _sizes(tables, principal, items):
    s3 = tables.clients[principal]

    def one(item):
        key, listed = item
        try:
            head = s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"]
            if key == BIG:  # its bytes are checked by the tests above
                return key, listed, head, len(big_view(tables, principal))
            resp = s3.get_object(Bucket=BUCKET, Key=key)
        except botocore.exceptions.ClientError as err:
            return key, listed, f"error {err.response['ResponseMetadata']['HTTPStatusCode']}", None
        data = resp["Body"].read()
        saw(principal, f"GET {key}", data)
        return key, listed, head, len(data)

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, items))


@pytest.mark.parametrize("principal, data_source", [
    ("alice", "customers"), ("alice", "purchases"), ("alice", "events"), ("erin", "customers")])
def test_listing_sizes_equal_downloaded_sizes(tables, principal, data_source):
    """Every object of a masked table: its listed size, HEAD's Content-Length and the bytes a
    GET delivers agree (for events: the day folder's 3,000 parts too)."""
    items = tables.keys(principal, f"{data_source}/")
    assert len(items) >= (3000 if data_source == "events" else 1)
    wrong = [r for r in _sizes(tables, principal, items) if not r[1] == r[2] == r[3]]
    assert not wrong, (f"{len(wrong)} of {len(items)} objects with (key, listed, HEAD, GET) "
                       f"sizes that disagree, e.g. {wrong[:5]}")


@pytest.mark.parametrize("principal", ["alice", "erin"])
def test_listing_etags_are_the_views(tables, principal):
    """A listing names each masked object by its view's ETag, as HEAD does: s3fs and others
    read with `If-Match` on the listed ETag, so the store's ETag there fails their reads."""
    listed = tables.clients[principal].list_objects_v2(Bucket=BUCKET, Prefix="customers/")
    wrong = []
    for o in listed["Contents"]:
        head = get(tables.endpoint, principal, o["Key"], method="HEAD")
        if o["ETag"] != head.headers.get("etag"):
            wrong.append((o["Key"], o["ETag"], head.status, head.headers.get("etag")))
    assert not wrong, f"(key, listed ETag, HEAD status, HEAD ETag): {wrong}"


@pytest.mark.parametrize("principal", ["alice", "erin"])
def test_s3fs_reads_whole_views_by_listed_sizes(tables, principal):
    """s3fs opened with the size its listing gave reads ranges up to that size: a listed size
    that is the store's, not the view's, truncates or overruns the view."""
    fs = s3fs_for(tables, principal)
    listed = fs.find(f"{BUCKET}/customers", detail=True)
    assert f"{BUCKET}/{BIG}" in listed
    for name, info in listed.items():
        key = name.split("/", 1)[1]
        with fs.open(name, "rb", size=info["size"], block_size=8 << 20) as f:
            data = f.read()
        saw(principal, f"s3fs {key}", data)
        want = big_view(tables, principal) if key == BIG else tables.expected(principal, key)
        assert (len(data), info["size"]) == (len(want), len(want)), key
        assert data == want, key


# --- headers: no upstream checksums, the view's own ETag, conditions ----------------------

def test_upload_kept_a_checksum_upstream(tables):
    """Whether the store keeps the upload's checksum; if not, the checksum tests below still
    check that none is sent, but cannot show one being removed."""
    bucket, path = real(CHECKSUMMED)
    head = upstream_client(tables.stack).head_object(Bucket=bucket, Key=path,
                                                     ChecksumMode="ENABLED")
    headers = head["ResponseMetadata"]["HTTPHeaders"]
    carol = tables.clients["carol"].head_object(Bucket=BUCKET, Key=CHECKSUMMED,
                                                ChecksumMode="ENABLED")
    if not any(h.startswith("x-amz-checksum-") for h in headers):
        pytest.skip(f"{tables.stack.upstream_store} keeps no checksum of an upload: {headers}")
    assert "ChecksumSHA256" in carol  # served in clear, as stored


CHECKED_KEYS = [CHECKSUMMED, CUSTOMERS, EVENTS[0], BIG]


@pytest.mark.parametrize("principal", ["alice", "erin"])
def test_masked_objects_carry_no_checksums(tables, principal):
    s3 = tables.clients[principal]
    for key in CHECKED_KEYS if principal == "alice" else [CHECKSUMMED, CUSTOMERS]:
        for method in ("HEAD", "GET"):
            resp = get(tables.endpoint, principal, key, method=method,
                       headers={"x-amz-checksum-mode": "ENABLED", "Range": "bytes=0-99"}
                       if key == BIG else {"x-amz-checksum-mode": "ENABLED"})
            assert resp.status in (200, 206), (key, method, resp.status)
            bad = [h for h in resp.headers if h.startswith("x-amz-checksum") or h == "content-md5"]
            assert not bad, (key, method, bad)
        head = s3.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        assert not [k for k in head if k.startswith("Checksum")], (key, head)
        if key != BIG:
            # boto3 validates a checksum when one is sent: the read succeeding proves nothing,
            # the headers' absence does.
            resp, data = tables.read(principal, key, ChecksumMode="ENABLED")
            assert not [k for k in resp if k.startswith("Checksum")]
            assert data == tables.expected(principal, key)


@pytest.mark.parametrize("principal", ["alice", "erin"])
def test_view_etag_is_its_own_and_stable(tables, principal):
    keys = [CUSTOMERS, CHECKSUMMED] + ([EVENTS[0]] if principal == "alice" else [])
    for key in keys:
        upstream = tables.clients["carol"].head_object(Bucket=BUCKET, Key=key)["ETag"]
        view = tables.expected(principal, key)
        etags = {get(tables.endpoint, principal, key, method=m).headers.get("etag")
                 for m in ("HEAD", "GET", "HEAD", "HEAD", "GET", "HEAD")}
        assert len(etags) == 1, (key, etags)
        etag = etags.pop()
        assert etag and etag != upstream, (key, etag, upstream)
        assert etag.strip('"') != hashlib.md5(view).hexdigest()
        assert not re.fullmatch(r'"[0-9a-f]{32}"', etag), "an ETag of the MD5 form"
        assert tables.clients[principal].head_object(Bucket=BUCKET, Key=key)["ETag"] == etag


def test_view_etags_differ_by_policy_outcome(tables):
    alice = tables.clients["alice"].head_object(Bucket=BUCKET, Key=CUSTOMERS)["ETag"]
    erin = tables.clients["erin"].head_object(Bucket=BUCKET, Key=CUSTOMERS)["ETag"]
    carol = tables.clients["carol"].head_object(Bucket=BUCKET, Key=CUSTOMERS)["ETag"]
    assert len({alice, erin, carol}) == 3


@pytest.mark.parametrize("principal", ["alice", "erin"])
def test_conditions_against_the_view_etag(tables, principal):
    key = CUSTOMERS
    etag = get(tables.endpoint, principal, key, method="HEAD").headers["etag"]
    upstream = tables.clients["carol"].head_object(Bucket=BUCKET, Key=key)["ETag"]
    view = tables.expected(principal, key)
    cases = [  # (method, headers, status)
        ("GET", {"If-None-Match": etag}, 304), ("HEAD", {"If-None-Match": etag}, 304),
        ("GET", {"If-Match": '"0123456789abcdef0123456789abcdef"'}, 412),
        ("HEAD", {"If-Match": '"0123456789abcdef0123456789abcdef"'}, 412),
        ("GET", {"If-Match": upstream}, 412),  # the store's ETag names another object
        ("GET", {"If-Match": etag}, 200), ("GET", {"If-None-Match": upstream}, 200),
        ("GET", {"If-Match": etag, "Range": "bytes=10-19"}, 206),
        ("GET", {"If-None-Match": etag, "Range": "bytes=10-19"}, 304),
    ]
    for method, headers, status in cases:
        resp = get(tables.endpoint, principal, key, method=method, headers=headers)
        assert resp.status == status, (method, headers, resp.status, resp.body[:300])
        if status == 200 and method == "GET":
            assert resp.body == view and resp.headers["etag"] == etag
        elif status == 206:
            assert resp.body == view[10:20]
        elif status == 304:
            assert resp.body == b"" and resp.headers.get("etag") == etag
        elif method == "GET":
            assert s3_error(resp)[0] == "PreconditionFailed"
        else:
            assert resp.body == b""
    s3 = tables.clients[principal]
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.get_object(Bucket=BUCKET, Key=key, IfNoneMatch=etag)
    assert client_error(exc)[0] == 304
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        s3.get_object(Bucket=BUCKET, Key=key, IfMatch='"ffffffffffffffffffffffffffffffff"')
    assert client_error(exc) == (412, "PreconditionFailed")


def test_view_etag_changes_with_the_object(tables):
    before = get(tables.endpoint, "alice", VERSIONED, method="HEAD").headers["etag"]
    old = tables.read("alice", VERSIONED)[1]
    bucket, path = real(VERSIONED)
    upstream_client(tables.stack).put_object(Bucket=bucket, Key=path,
                                             Body=checksummed_csv("v2"))
    tables._clear.pop(VERSIONED, None)
    resp, new = tables.read("alice", VERSIONED)
    assert resp["ETag"] != before and new != old
    assert new == tables.expected("alice", VERSIONED)
    assert get(tables.endpoint, "alice", VERSIONED,
               headers={"If-None-Match": before}).status == 200


# --- the AWS CLI ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def aws(tables, tmp_path_factory):
    empty = tmp_path_factory.mktemp("aws-tables") / "empty"
    empty.write_text("")

    def run(*args, principal="alice"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=PRINCIPALS[principal], AWS_SECRET_ACCESS_KEY=SECRET,
                   AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=str(empty),
                   AWS_SHARED_CREDENTIALS_FILE=str(empty), AWS_EC2_METADATA_DISABLED="true")
        done = subprocess.run([AWS, "--endpoint-url", tables.endpoint, "--debug", *args],
                              env=env, capture_output=True, timeout=180)
        RECORDER.add(Recorded(f"aws {' '.join(args)}", done.returncode, [],
                              done.stdout + done.stderr, sent=" ".join(args)))
        saw(principal, f"aws {' '.join(args)}", done.stdout + done.stderr)
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
        return done.stdout.decode()

    return run


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in Path(root).rglob("*") if p.is_file()}


@pytest.mark.parametrize("principal", ["alice", "erin"])
def test_aws_cp_recursive_and_sync_get_the_views(tables, aws, principal, tmp_path):
    """The CLI plans downloads (and multipart ranges for the large table) from listing sizes."""
    keys = [k for k, _ in tables.keys(principal, "customers/")]
    assert BIG in keys and CUSTOMERS in keys
    expected = {k[len("customers/"):]: (big_view(tables, principal) if k == BIG
                                        else tables.expected(principal, k)) for k in keys}
    aws("s3", "cp", "--recursive", "s3://immuta/customers/", str(tmp_path / "cp"),
        principal=principal)
    got = _tree(tmp_path / "cp")
    for name, data in got.items():
        saw(principal, f"aws cp {name}", data)
    assert sorted(got) == sorted(expected)
    wrong = [(n, len(got[n]), len(expected[n])) for n in expected if got[n] != expected[n]]
    assert not wrong, f"(file, downloaded size, view size): {wrong}"
    aws("s3", "sync", "s3://immuta/customers/", str(tmp_path / "sync"), principal=principal)
    assert _tree(tmp_path / "sync") == got
    # A second sync compares listed sizes with the files: nothing to do.
    assert "download:" not in aws("s3", "sync", "s3://immuta/customers/",
                                  str(tmp_path / "sync"), principal=principal)


# --- fail closed: an unparsable table object is an S3 error, not data ----------------------

BROKEN = ["customers/bare-quote.csv", "events/not-an-object.jsonl"]


@pytest.mark.parametrize("principal", ["alice", "erin"])
def test_unparsable_objects_are_refused_before_any_byte(broken, principal, tmp_path):
    tables, files = broken
    keys = BROKEN if principal == "alice" else BROKEN[:1]
    for key in keys:
        for headers in ({}, {"Range": "bytes=0-99"}, {"Range": "bytes=-10"}):
            resp = get(tables.endpoint, principal, key, headers=headers)
            assert resp.status == 403, (key, headers, resp.status, resp.body[:200])
            code, _ = s3_error(resp)
            assert code == "InvalidObjectState", (key, headers, resp.body)
            data = files[key]
            assert not [line for line in data.splitlines()[1:] if line[:20] in resp.body]
        head = get(tables.endpoint, principal, key, method="HEAD")
        assert head.status == 403 and head.body == b""
        target = tmp_path / key.replace("/", "_")
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            tables.clients[principal].download_file(BUCKET, key, str(target))
        assert client_error(exc)[0] == 403
        assert not target.exists()
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            tables.read(principal, key)
        assert client_error(exc) == (403, "InvalidObjectState")
    # Next to them, the valid tables still read, and carol reads the broken ones in clear.
    assert tables.read(principal, CUSTOMERS)[1] == tables.expected(principal, CUSTOMERS)
    for key in keys:
        assert tables.clients["carol"].get_object(Bucket=BUCKET, Key=key)["Body"].read() \
            == files[key]
