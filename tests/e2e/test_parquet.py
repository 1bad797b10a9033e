"""The Parquet `orders` through real Envoy (issue 16): pyarrow on the root mount, DuckDB's httpfs,
pandas over s3fs read alice's view with `customer_email` null, erin's with `customer_email` null
and `amount` 0, carol's in clear; every other column is carol's. The masked view is a consistent
object: listing size = HEAD = GET Content-Length = the upstream size, and every range is the
slice of the whole view. No byte of alice's masked objects holds a clear email. An encrypted or
corrupt Parquet object is an S3 error before any byte.

polars (its Rust `object_store`) reads the same glob with `read_parquet` and `scan_parquet`.

Its own stack: the demo data plus crafted objects under `orders/bad/` (out of the readers'
`orders/*.parquet`).
"""
import os
import random
import shutil
from pathlib import Path

import aiobotocore.session
import boto3
import botocore.exceptions
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from botocore.config import Config

from conftest import REPO, start_stack
from gateway import KEYS, PARQUET_TABLES, SECRET, client_error

BUCKET = "immuta"
ORDERS = "acme-warehouse-prod/curated/orders"
FIXTURES = REPO / "core" / "tests" / "fixtures" / "parquet"
PRINCIPALS = ("alice", "erin", "carol")
BAD = {
    "orders/bad/encrypted.parquet": "encrypted",
    "orders/bad/plaintext-footer-encrypted.parquet": "encrypted",
    "orders/bad/corrupt.parquet": "not a valid Parquet file",
    "orders/bad/not-parquet.parquet": "not a valid Parquet file",
}


def corrupt(data):
    """A demo file with bytes in the middle of its footer garbled."""
    footer_len = int.from_bytes(data[-8:-4], "little")
    at = len(data) - 8 - footer_len // 2
    return data[:at] + b"\xff" * 48 + data[at + 48:]


@pytest.fixture(scope="module")
def pqstack(demo_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("parquet") / "data"
    shutil.copytree(demo_dir, root, copy_function=os.link)
    bad = root / ORDERS / "bad"
    bad.mkdir()
    first = sorted((root / ORDERS).glob("*.parquet"))[0].read_bytes()
    (bad / "encrypted.parquet").write_bytes((FIXTURES / "encrypted_footer.parquet").read_bytes())
    (bad / "plaintext-footer-encrypted.parquet").write_bytes(
        (FIXTURES / "encrypted_plaintext_footer.parquet").read_bytes())
    (bad / "corrupt.parquet").write_bytes(corrupt(first))
    (bad / "not-parquet.parquet").write_bytes(b"order_id,customer_email\n1,x@example.com\n" * 50)
    s = start_stack(root, tmp_path_factory.mktemp("run-parquet"))
    s.data_root = root
    yield s
    s.stop()


def client(stack, principal):
    return boto3.client("s3", endpoint_url=stack.endpoint, aws_access_key_id=KEYS[principal],
                        aws_secret_access_key=SECRET, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))


def order_keys(stack):
    return sorted(f"orders/{p.name}" for p in (stack.data_root / ORDERS).glob("*.parquet"))


def clear_table(stack):
    """The orders as stored, all files, by order_id."""
    paths = sorted(str(p) for p in (stack.data_root / ORDERS).glob("*.parquet"))
    return pq.read_table(paths).sort_by("order_id")


def expected(stack, principal):
    """`principal`'s view of the orders, from the clear files and PARQUET_TABLES."""
    table = clear_table(stack)
    for column, mask in PARQUET_TABLES.get(principal, {}).items():
        i = table.schema.get_field_index(column)
        field = table.schema.field(i)
        if mask == "null":
            values = pa.nulls(table.num_rows, field.type)
        else:
            kind, text = mask
            assert kind == "constant"
            values = pa.array([float(text)] * table.num_rows, field.type)
        table = table.set_column(i, field, values)
    return table


def clear_emails(stack):
    return {e for e in clear_table(stack)["customer_email"].to_pylist() if e}


# --- readers -------------------------------------------------------------------------------

@pytest.mark.parametrize("principal", PRINCIPALS)
def test_pyarrow_reads_the_views_on_the_root_mount(pqstack, principal):
    fs = pafs.S3FileSystem(access_key=KEYS[principal], secret_key=SECRET, region="us-east-1",
                           scheme="http", endpoint_override=f"127.0.0.1:{pqstack.root_port}",
                           force_virtual_addressing=False)
    paths = [f"{BUCKET}/{k}" for k in order_keys(pqstack)]
    got = pq.read_table(paths, filesystem=fs).sort_by("order_id")
    want = expected(pqstack, principal)
    assert got.num_rows == want.num_rows >= 3000
    assert got.equals(want)
    if principal == "carol":
        assert got["customer_email"].null_count == 0
    else:
        assert got["customer_email"].null_count == got.num_rows
    amounts = set(got["amount"].to_pylist())
    assert (amounts == {0.0}) == (principal == "erin")
    # A single file, its row groups read by their statistics-free footer, and a filter.
    one = pq.read_table(paths[0], filesystem=fs, filters=[("region", "=", "eu")])
    clear = pq.read_table(str(pqstack.data_root / ORDERS / Path(paths[0]).name),
                          filters=[("region", "=", "eu")])
    assert one.num_rows == clear.num_rows > 0
    assert one["order_id"].to_pylist() == clear["order_id"].to_pylist()


def duckdb_for(stack, principal):
    duckdb = pytest.importorskip("duckdb")
    httpfs = pytest.importorskip("duckdb_extension_httpfs")
    ext = Path(httpfs.__file__).parent / "extensions" / f"v{duckdb.__version__}" / \
        "httpfs.duckdb_extension"
    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    con.execute(f"LOAD '{ext}'")
    con.execute(f"""CREATE SECRET gateway (TYPE s3, KEY_ID '{KEYS[principal]}',
        SECRET '{SECRET}', REGION 'us-east-1', ENDPOINT '127.0.0.1:{stack.root_port}',
        URL_STYLE 'path', USE_SSL false)""")
    return con


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_duckdb_httpfs_reads_the_views(pqstack, principal):
    con = duckdb_for(pqstack, principal)
    source = f"read_parquet('s3://{BUCKET}/orders/*.parquet')"
    local = f"read_parquet('{pqstack.data_root / ORDERS}/*.parquet')"
    got = con.execute(f"SELECT * FROM {source} ORDER BY order_id").to_arrow_table()
    want = expected(pqstack, principal)
    assert got.num_rows == want.num_rows
    for column in want.column_names:
        assert got[column].to_pylist() == want[column].to_pylist(), column
    # COUNT(*) and filters on unmasked columns are carol's.
    for query in ["SELECT COUNT(*) FROM {}",
                  "SELECT COUNT(*) FROM {} WHERE region = 'eu'",
                  "SELECT region, COUNT(*), MIN(order_id), MAX(order_ts) FROM {} GROUP BY ALL "
                  "ORDER BY ALL",
                  "SELECT order_id FROM {} WHERE order_id BETWEEN 1000 AND 1100 ORDER BY 1"]:
        assert con.execute(query.format(source)).fetchall() == \
            con.execute(query.format(local)).fetchall(), query
    # On the masked columns: nothing left to find (no statistics to mislead a filter).
    emails = con.execute(f"SELECT COUNT(*) FROM {source} WHERE customer_email IS NOT NULL"
                         ).fetchone()[0]
    assert (emails == 0) == (principal != "carol")
    big = con.execute(f"SELECT COUNT(*) FROM {source} WHERE amount > 100").fetchone()[0]
    assert (big == 0) == (principal == "erin")


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_pandas_reads_the_views_over_s3fs(pqstack, principal):
    options = {"key": KEYS[principal], "secret": SECRET, "skip_instance_cache": True,
               "session": aiobotocore.session.AioSession(),
               "client_kwargs": {"endpoint_url": pqstack.endpoint, "region_name": "us-east-1"}}
    want = expected(pqstack, principal).to_pandas()
    frames = [pd.read_parquet(f"s3://{BUCKET}/{k}", storage_options=options)
              for k in order_keys(pqstack)]
    got = pd.concat(frames).sort_values("order_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)


def polars_options(stack, principal):
    """object_store's S3 settings for the root mount: path style, plain HTTP."""
    return {"aws_endpoint_url": f"http://127.0.0.1:{stack.root_port}",
            "aws_access_key_id": KEYS[principal], "aws_secret_access_key": SECRET,
            "aws_region": "us-east-1", "aws_allow_http": "true",
            "aws_virtual_hosted_style_request": "false"}


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_polars_reads_and_scans_the_views(pqstack, principal):
    source = f"s3://{BUCKET}/orders/*.parquet"
    options = polars_options(pqstack, principal)
    want = pl.from_arrow(expected(pqstack, principal))
    got = pl.read_parquet(source, storage_options=options).sort("order_id")
    assert got.height == want.height >= 3000
    assert got.equals(want)
    if principal == "carol":
        assert got["customer_email"].null_count() == 0
    else:
        assert got["customer_email"].null_count() == got.height
    assert (set(got["amount"].to_list()) == {0.0}) == (principal == "erin")
    # The lazy scan: a filter and a projection on unmasked columns are carol's, and the count.
    local = pl.scan_parquet(f"{pqstack.data_root / ORDERS}/*.parquet")
    lazy = pl.scan_parquet(source, storage_options=options)
    def query(frame):
        return (frame.filter((pl.col("region") == "eu") & (pl.col("order_id") < 2000))
                .select("order_id", "region", "order_ts").sort("order_id").collect())
    assert query(lazy).equals(query(local))
    assert query(lazy).height > 0
    assert lazy.select(pl.len()).collect().item() == local.select(pl.len()).collect().item()
    # On a masked column the scan finds nothing left (no statistics to mislead its pruning).
    emails = lazy.filter(pl.col("customer_email").is_not_null()).select(pl.len()).collect()
    assert (emails.item() == 0) == (principal != "carol")
    scanned = lazy.select("order_id", "customer_email", "amount").sort("order_id").collect()
    assert scanned.equals(want.select("order_id", "customer_email", "amount"))


# --- the view as an object -----------------------------------------------------------------

def test_no_clear_email_in_any_byte_of_alices_objects(pqstack):
    alice = client(pqstack, "alice")
    emails = clear_emails(pqstack)
    assert len(emails) > 20
    for key in order_keys(pqstack):
        body = alice.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        clear = (pqstack.data_root / ORDERS / Path(key).name).read_bytes()
        assert len(body) == len(clear) and body != clear
        assert any(e.encode() in clear for e in emails)
        found = [e for e in emails if e.encode() in body]
        assert not found, (key, found[:3])
        # The email suffix is in no dictionary, page, statistic or bloom filter either.
        assert b"@example.com" not in body, key


@pytest.mark.parametrize("principal", ["alice", "erin"])
def test_listing_size_head_and_get_agree_and_are_the_upstream_size(pqstack, principal):
    s3 = client(pqstack, principal)
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="orders/part-")["Contents"]
    assert [o["Key"] for o in listed] == order_keys(pqstack)
    etags = set()
    for entry in listed:
        size = (pqstack.data_root / ORDERS / Path(entry["Key"]).name).stat().st_size
        head = s3.head_object(Bucket=BUCKET, Key=entry["Key"])
        got = s3.get_object(Bucket=BUCKET, Key=entry["Key"])
        body = got["Body"].read()
        assert entry["Size"] == head["ContentLength"] == got["ContentLength"] == len(body) == size
        assert entry["ETag"] == head["ETag"] == got["ETag"]
        assert head["ETag"].endswith('-m"'), head["ETag"]
        assert not any(k.startswith("x-amz-checksum") for k in got["ResponseMetadata"]
                       ["HTTPHeaders"])
        etags.add(head["ETag"])
    assert len(etags) == len(listed)
    # carol's objects are the upstream's, with the upstream's ETag.
    carol = client(pqstack, "carol")
    key = listed[0]["Key"]
    assert carol.head_object(Bucket=BUCKET, Key=key)["ETag"] not in etags


def test_thirty_random_ranges_are_slices_of_the_whole_view(pqstack):
    rng = random.Random(16)
    for principal in ("alice", "erin"):
        s3 = client(pqstack, principal)
        key = order_keys(pqstack)[1]
        whole = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        size = len(whole)
        ranges = [(0, 3), (size - 8, size - 1)]
        while len(ranges) < 30:
            a = rng.randrange(size)
            ranges.append((a, min(size - 1, a + rng.choice([0, 1, 7, 100, 4096, 30000]))))
        for a, b in ranges:
            got = s3.get_object(Bucket=BUCKET, Key=key, Range=f"bytes={a}-{b}")
            assert got["ContentRange"] == f"bytes {a}-{b}/{size}"
            assert got["Body"].read() == whole[a:b + 1], (principal, a, b)
        suffix = s3.get_object(Bucket=BUCKET, Key=key, Range="bytes=-1000")["Body"].read()
        assert suffix == whole[-1000:]


@pytest.mark.parametrize("key", sorted(BAD))
def test_encrypted_and_corrupt_objects_are_s3_errors(pqstack, key):
    for principal in ("alice", "erin"):
        s3 = client(pqstack, principal)
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            s3.get_object(Bucket=BUCKET, Key=key)
        assert client_error(exc) == (403, "InvalidObjectState")
        assert BAD[key] in exc.value.response["Error"]["Message"]
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            s3.head_object(Bucket=BUCKET, Key=key)
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # carol, with no mask, reads the object as stored.
    carol = client(pqstack, "carol")
    body = carol.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert body == (pqstack.data_root / ORDERS / key.split("/", 1)[1]).read_bytes()
