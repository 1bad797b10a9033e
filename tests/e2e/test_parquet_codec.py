"""The Parquet footer codec (core/src/tables/parquet/) checked by independent readers: the
codec's example writes each fixture's masked view to disk (as the gateway would serve it, the
overlay applied range by range), and pyarrow and DuckDB read it. Masked columns are all null or
all the constant, every other column equals the original, the file's size is the original's, and
no byte of it holds a clear value of a masked column. No gateway runs here: the data path's
tests come with the flow (issue 16).
"""
import pathlib
import struct
import subprocess

import duckdb
import pyarrow.parquet as pq
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "core" / "tests" / "fixtures" / "parquet"
PLAIN = ["duckdb_snappy", "duckdb_zstd", "pyarrow_gzip_pages", "pyarrow_lz4_int96",
         "pyarrow_none_nostats", "pyarrow_snappy_dict", "pyarrow_zstd_plain_v2"]


@pytest.fixture(scope="session")
def example():
    """Builds the example once; returns its path."""
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "s3gate-core", "--example",
                    "parquet_mask"], cwd=ROOT, check=True)
    return ROOT / "target" / "release" / "examples" / "parquet_mask"


def run(example, source, out, *masks):
    return subprocess.run([str(example), str(source), str(out), *masks], capture_output=True,
                          text=True)


def masked(example, tmp_path, name, *masks):
    out = tmp_path / f"{name}.masked.parquet"
    result = run(example, FIXTURES / f"{name}.parquet", out, *masks)
    assert result.returncode == 0, result.stderr
    return out


def duck(sql):
    return duckdb.sql(sql).fetchall()


@pytest.mark.parametrize("name", PLAIN)
def test_masked_columns_read_null_and_constant_others_unchanged(example, tmp_path, name):
    source = FIXTURES / f"{name}.parquet"
    out = masked(example, tmp_path, name, "customer_email=null", "amount=constant:0",
                 "region=constant:XX")
    assert out.stat().st_size == source.stat().st_size
    original = pq.read_table(source)
    view = pq.read_table(out)
    assert view.num_rows == original.num_rows
    assert view.schema == original.schema
    for column in view.column_names:
        values = view[column].to_pylist()
        if column == "customer_email":
            assert values == [None] * len(values)
        elif column == "amount":
            assert values == [0.0] * len(values)
        elif column == "region":
            assert values == ["XX"] * len(values)
        else:
            assert view[column].equals(original[column]), column
    # DuckDB: its own reader, statistics-driven filters and projections.
    path = str(out)
    assert duck(f"SELECT count(*), count(customer_email), min(amount), max(amount), "
                f"min(region), max(region) FROM '{path}'") == [
        (original.num_rows, 0, 0.0, 0.0, "XX", "XX")]
    assert duck(f"SELECT count(*) FROM '{path}' WHERE customer_email IS NOT NULL") == [(0,)]
    assert duck(f"SELECT count(*) FROM '{path}' WHERE amount > 0") == [(0,)]
    assert duck(f"SELECT count(*) FROM '{path}' WHERE region = 'eu-west'") == [(0,)]
    assert duck(f"SELECT sum(order_id), count(*) FROM '{path}' WHERE order_id > 10") == duck(
        f"SELECT sum(order_id), count(*) FROM '{source}' WHERE order_id > 10")


@pytest.mark.parametrize("name", PLAIN)
def test_no_byte_of_the_masked_file_holds_a_clear_value(example, tmp_path, name):
    source = FIXTURES / f"{name}.parquet"
    out = masked(example, tmp_path, name, "customer_email=null", "amount=constant:0",
                 "region=constant:XX")
    original = pq.read_table(source)
    raw = out.read_bytes()
    clear = source.read_bytes()
    emails = {e for e in original["customer_email"].to_pylist() if e}
    regions = set(original["region"].to_pylist())
    amounts = {struct.pack("<d", a) for a in original["amount"].to_pylist() if a}
    found_before = sum(e.encode() in clear for e in emails)
    for value in [e.encode() for e in emails] + [r.encode() for r in regions] + list(amounts):
        assert value not in raw, f"{name}: {value!r} is in the masked file"
    # The scan means something: the statistics at least hold clear values in the original.
    if "nostats" not in name:
        assert found_before > 0 or any(r.encode() in clear for r in regions)


def test_constants_of_every_physical_type(example, tmp_path):
    out = masked(example, tmp_path, "pyarrow_snappy_dict", "order_id=constant:7",
                 "qty=constant:-3", "weight=constant:1.5", "paid=constant:true",
                 "price=constant:1.50", "code=constant:ABCD", "order_ts=constant:1000000",
                 "customer_email=constant:redacted")
    view = pq.read_table(out)
    single = {c: set(map(str, view[c].to_pylist())) for c in view.column_names}
    assert single["order_id"] == {"7"}
    assert single["qty"] == {"-3"}
    assert single["weight"] == {"1.5"}
    assert single["paid"] == {"True"}
    assert single["price"] == {"1.50"}
    assert single["code"] == {"b'ABCD'"}
    assert single["order_ts"] == {"1970-01-01 00:00:01"}
    assert single["customer_email"] == {"redacted"}
    assert duck(f"SELECT DISTINCT order_id, qty, weight, paid, price, code, order_ts, "
                f"customer_email FROM '{out}'") == [
        (7, -3, 1.5, True, pytest.approx(1.5), b"ABCD",
         __import__("datetime").datetime(1970, 1, 1, 0, 0, 1), "redacted")]
    int96 = masked(example, tmp_path, "pyarrow_lz4_int96", "order_ts=constant:86400000000000")
    assert set(map(str, pq.read_table(int96)["order_ts"].to_pylist())) == {"1970-01-02 00:00:00"}


@pytest.mark.parametrize("name,masks,error", [
    ("encrypted_footer", ["amount=null"], "Encrypted"),
    ("encrypted_plaintext_footer", ["amount=null"], "Encrypted"),
    ("pyarrow_snappy_dict", ["info=null"], "NestedColumn"),
    ("pyarrow_snappy_dict", ["tags=null"], "NestedColumn"),
    ("pyarrow_snappy_dict", ["Customer_Email=null"], "LookAlikeColumn"),
    ("pyarrow_snappy_dict", ["order_id=null"], "NullOnRequired"),
    ("duckdb_snappy", ["paid=constant:true"], "ChunkTooSmall"),
])
def test_refusals(example, tmp_path, name, masks, error):
    result = run(example, FIXTURES / f"{name}.parquet", tmp_path / "out.parquet", *masks)
    assert result.returncode == 3
    assert error in result.stderr
    assert not (tmp_path / "out.parquet").exists()


def test_corrupt_file_is_refused(example, tmp_path):
    data = bytearray((FIXTURES / "duckdb_zstd.parquet").read_bytes())
    data[-20:-12] = b"\xff" * 8
    source = tmp_path / "corrupt.parquet"
    source.write_bytes(bytes(data))
    result = run(example, source, tmp_path / "out.parquet", "amount=null")
    assert result.returncode == 3, result.stdout


@pytest.mark.parametrize("name", PLAIN)
def test_masked_metadata_as_pyarrow_sees_it(example, tmp_path, name):
    """The masked chunks' metadata: no statistics, page index or bloom filter; uncompressed;
    pyarrow's statistics-driven filters see the masked values, never the originals."""
    out = masked(example, tmp_path, name, "customer_email=null", "amount=constant:0")
    meta = pq.ParquetFile(out).metadata
    names = [meta.schema.column(i).path for i in range(meta.num_columns)]
    for rg in range(meta.num_row_groups):
        for column in ("customer_email", "amount"):
            chunk = meta.row_group(rg).column(names.index(column))
            assert not chunk.is_stats_set
            assert not chunk.has_column_index and not chunk.has_offset_index
            assert chunk.bloom_filter_offset is None
            assert chunk.compression == "UNCOMPRESSED"
    assert pq.read_table(out, filters=[("amount", ">", 1)]).num_rows == 0
    assert pq.read_table(out, filters=[("amount", "=", 0)]).num_rows == meta.num_rows
    assert pq.read_table(out, filters=[("customer_email", "=", "customer0001.secret@example.org")]).num_rows == 0
    # Row groups one by one, as a ranged reader reads them.
    for rg in range(meta.num_row_groups):
        part = pq.ParquetFile(out).read_row_group(rg, columns=["customer_email", "amount"])
        assert part["customer_email"].null_count == part.num_rows
