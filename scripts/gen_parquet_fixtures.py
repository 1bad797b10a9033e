"""Writes the small Parquet fixtures of the footer codec's tests (core/src/tables/parquet/,
core/tests/parquet.rs, tests/e2e/test_parquet_codec.py) into core/tests/fixtures/parquet/.

Deterministic: the same pyarrow and duckdb versions (requirements.txt) write the same bytes,
but for the two encrypted files (their data keys are random; the tests only need them refused).
Several row groups each; dictionary and plain encodings; snappy, zstd, gzip and no compression;
statistics, the page index and bloom filters where the writer offers them; optional and required
columns; nested columns (a struct, a list) that a mask must refuse; DuckDB's writer too; an
encrypted file (Parquet modular encryption, plaintext footer and encrypted footer); two
ARROW:schema values (`*.b64`).

Usage: .venv/bin/python scripts/gen_parquet_fixtures.py [OUT_DIR]
"""
import base64
import datetime
import decimal
import os
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "core", "tests", "fixtures", "parquet")
ROWS = 240

# Clear values the tests scan masked files for: every email is unique and long enough that a
# match is no accident.
def email(i):
    return f"customer{i:04d}.secret@example.org"


def table(rows=ROWS):
    regions = ["eu-west", "us-east", "ap-south", "sa-east"]
    return pa.table({
        "order_id": pa.array(range(1, rows + 1), pa.int64()),
        "customer_email": pa.array([None if i % 17 == 0 else email(i) for i in range(rows)], pa.string()),
        "amount": pa.array([round(10 + i * 1.25, 2) for i in range(rows)], pa.float64()),
        "region": pa.array([regions[i % 4] for i in range(rows)], pa.string()),
        "order_ts": pa.array([datetime.datetime(2026, 1, 1) + datetime.timedelta(minutes=7 * i)
                              for i in range(rows)], pa.timestamp("us")),
        "qty": pa.array([i % 9 for i in range(rows)], pa.int32()),
        "weight": pa.array([i / 8 for i in range(rows)], pa.float32()),
        "paid": pa.array([i % 3 == 0 for i in range(rows)], pa.bool_()),
        "price": pa.array([decimal.Decimal(f"{i}.{i % 100:02d}") for i in range(rows)], pa.decimal128(9, 2)),
        "code": pa.array([f"C{i % 1000:03d}".encode() for i in range(rows)], pa.binary(4)),
        "info": pa.array([{"city": f"city{i % 5}", "zip": i} for i in range(rows)]),
        "tags": pa.array([[f"t{i % 3}", f"u{i % 4}"] for i in range(rows)]),
    }, schema=pa.schema([
        pa.field("order_id", pa.int64(), nullable=False),
        pa.field("customer_email", pa.string()),
        pa.field("amount", pa.float64()),
        pa.field("region", pa.string()),
        pa.field("order_ts", pa.timestamp("us")),
        pa.field("qty", pa.int32(), nullable=False),
        pa.field("weight", pa.float32()),
        pa.field("paid", pa.bool_()),
        pa.field("price", pa.decimal128(9, 2)),
        pa.field("code", pa.binary(4)),
        pa.field("info", pa.struct([("city", pa.string()), ("zip", pa.int64())])),
        pa.field("tags", pa.list_(pa.string())),
    ]))


def write_pyarrow():
    t = table()
    bloom = {"customer_email": {"ndv": ROWS, "fpp": 0.05}}
    pq.write_table(t, f"{OUT}/pyarrow_snappy_dict.parquet", row_group_size=60, compression="snappy",
                   write_page_index=True, bloom_filter_options=bloom)
    pq.write_table(t, f"{OUT}/pyarrow_zstd_plain_v2.parquet", row_group_size=80, compression="zstd",
                   use_dictionary=False, data_page_version="2.0", write_page_index=True)
    pq.write_table(t, f"{OUT}/pyarrow_gzip_pages.parquet", row_group_size=120, compression="gzip",
                   max_rows_per_page=25, write_page_index=True, bloom_filter_options=bloom,
                   use_dictionary=["region", "customer_email"])
    pq.write_table(t.drop_columns(["info", "tags"]), f"{OUT}/pyarrow_none_nostats.parquet",
                   row_group_size=100, compression="none", write_statistics=False, store_schema=False)
    pq.write_table(t.drop_columns(["info", "tags"]), f"{OUT}/pyarrow_lz4_int96.parquet",
                   row_group_size=100, compression="lz4", use_deprecated_int96_timestamps=True,
                   column_encoding={"amount": "BYTE_STREAM_SPLIT", "qty": "DELTA_BINARY_PACKED"},
                   use_dictionary=["region"])


def write_duckdb():
    con = duckdb.connect()
    # DuckDB cuts row groups at multiples of its 2,048-row vectors.
    con.register("t", table(4100).drop_columns(["tags", "code", "weight", "qty", "order_ts", "price", "info"]))
    con.execute(f"COPY (SELECT * FROM t) TO '{OUT}/duckdb_snappy.parquet' "
                "(FORMAT parquet, ROW_GROUP_SIZE 2048, COMPRESSION snappy)")
    con.execute(f"COPY (SELECT order_id, customer_email, amount, region FROM t LIMIT 600) TO "
                f"'{OUT}/duckdb_zstd.parquet' (FORMAT parquet, ROW_GROUP_SIZE 200, COMPRESSION zstd)")


class InMemoryKms:
    """Parquet modular encryption's KMS, in memory (pyarrow's documented test pattern)."""

    def __init__(self, config):
        self.keys = config.custom_kms_conf

    def wrap_key(self, key_bytes, master_key_identifier):
        return base64.b64encode(bytes(a ^ b for a, b in zip(key_bytes, self.keys[master_key_identifier].encode() * 4)))

    def unwrap_key(self, wrapped_key, master_key_identifier):
        raw = base64.b64decode(wrapped_key)
        return bytes(a ^ b for a, b in zip(raw, self.keys[master_key_identifier].encode() * 4))


def write_encrypted():
    try:
        import pyarrow.parquet.encryption as pe
    except ImportError:
        print("pyarrow has no encryption: encrypted fixtures skipped")
        return

    class Kms(pe.KmsClient):
        def __init__(self, config):
            pe.KmsClient.__init__(self)
            self.inner = InMemoryKms(config)

        def wrap_key(self, key_bytes, master_key_identifier):
            return self.inner.wrap_key(key_bytes, master_key_identifier)

        def unwrap_key(self, wrapped_key, master_key_identifier):
            return self.inner.unwrap_key(wrapped_key, master_key_identifier)

    kms = pe.KmsConnectionConfig(custom_kms_conf={"footer": "0123456789012345", "col": "1234567890123450"})
    factory = pe.CryptoFactory(lambda config: Kms(config))
    t = table(40).drop_columns(["info", "tags"])
    for name, plaintext in [("encrypted_footer", False), ("encrypted_plaintext_footer", True)]:
        config = pe.EncryptionConfiguration(footer_key="footer", column_keys={"col": ["customer_email"]},
                                            plaintext_footer=plaintext, double_wrapping=False,
                                            internal_key_material=True)
        props = factory.file_encryption_properties(kms, config)
        pq.write_table(t, f"{OUT}/{name}.parquet", encryption_properties=props, row_group_size=20)


def write_arrow_schemas():
    """ARROW:schema values (base64 IPC schema messages, as pyarrow stores them) of many types,
    for `arrow_schema.rs`'s tests: one with a time zone's name, one with an email as the zone."""
    def schema(tz):
        return pa.schema([
            pa.field("id", pa.int64(), nullable=False), pa.field("s", pa.large_string()),
            pa.field("ts", pa.timestamp("us", tz=tz)),
            pa.field("d", pa.dictionary(pa.int16(), pa.string())),
            pa.field("l", pa.list_(pa.int32())), pa.field("st", pa.struct([("x", pa.float32())])),
            pa.field("dec", pa.decimal128(10, 2)), pa.field("dur", pa.duration("ms")),
            pa.field("m", pa.map_(pa.string(), pa.int8())), pa.field("fx", pa.binary(4))])
    for name, tz in [("arrow_schema_types", "Europe/Paris"), ("arrow_schema_zone_email", email(7))]:
        with open(f"{OUT}/{name}.b64", "wb") as out:
            out.write(base64.b64encode(schema(tz).serialize().to_pybytes()))


def main():
    os.makedirs(OUT, exist_ok=True)
    write_pyarrow()
    write_duckdb()
    write_encrypted()
    write_arrow_schemas()
    total = 0
    for name in sorted(os.listdir(OUT)):
        size = os.path.getsize(os.path.join(OUT, name))
        total += size
        print(f"{size:8d} {name}")
    print(f"{total:8d} total")


if __name__ == "__main__":
    main()
