"""Second hostile pass over the masked Parquet `orders` (issue 16), through real Envoy. The
probes at the end (after "found open by this pass") leaked when the pass was made; the codec
has masked or refused them since.

Goal of every probe: alice (customer_email null) or erin (customer_email null, amount 0) gets a
clear value of a masked column, or an inconsistent masked object. Each test asserts the SAFE
outcome. Crafted objects live under `orders/crafted2/`; they are built from the demo's own
orders table by real writers (pyarrow with other encodings and types, DuckDB, polars) or by
re-encoding a real pyarrow footer with a small Thrift compact codec (`read_struct` /
`write_struct` below), so every footer lie is one precise edit of a real file.
"""
import base64
import concurrent.futures
import io
import os
import random
import shutil
import tempfile
from http.client import HTTPConnection
from urllib.parse import quote

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import start_stack
from gateway import KEYS, SECRET, s3_client

BUCKET = "immuta"
ORDERS = "acme-warehouse-prod/curated/orders"
CRAFTED = "orders/crafted2"
MASKED = ("alice", "erin")


# --- Thrift compact protocol (parquet.thrift's FileMetaData as nested field lists) -----------
# A struct is a list of [field id, compact type, value]; a list value is (element type, items).

STOP, TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(13)


def _varint(b, i):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if not x & 0x80:
            return r, i


def _read_value(b, i, t):
    if t in (TRUE, FALSE):
        return t == TRUE, i
    if t == BYTE:
        return b[i], i + 1
    if t in (I16, I32, I64):
        n, i = _varint(b, i)
        return (n >> 1) ^ -(n & 1), i
    if t == DOUBLE:
        return bytes(b[i:i + 8]), i + 8
    if t == BINARY:
        n, i = _varint(b, i)
        return bytes(b[i:i + n]), i + n
    if t in (LIST, SET):
        h = b[i]
        i += 1
        n, et = h >> 4, h & 0xF
        if n == 15:
            n, i = _varint(b, i)
        items = []
        for _ in range(n):
            if et in (TRUE, FALSE):
                items.append(b[i] == 1)
                i += 1
            else:
                v, i = _read_value(b, i, et)
                items.append(v)
        return (et, items), i
    if t == STRUCT:
        return read_struct(b, i)
    raise ValueError(f"compact type {t}")


def read_struct(b, i=0):
    fields, last = [], 0
    while True:
        h = b[i]
        i += 1
        if h == 0:
            return fields, i
        d, t = h >> 4, h & 0xF
        if d:
            fid = last + d
        else:
            n, i = _varint(b, i)
            fid = (n >> 1) ^ -(n & 1)
        v, i = _read_value(b, i, t)
        fields.append([fid, t, v])
        last = fid


def _wvarint(n):
    out = bytearray()
    while True:
        x = n & 0x7F
        n >>= 7
        if n:
            out.append(x | 0x80)
        else:
            out.append(x)
            return bytes(out)


def _zz(n):
    return _wvarint((n << 1) ^ (n >> 63))


def _write_value(t, v):
    if t in (TRUE, FALSE):
        return b""
    if t == BYTE:
        return bytes([v])
    if t in (I16, I32, I64):
        return _zz(v)
    if t == DOUBLE:
        return bytes(v)
    if t == BINARY:
        return _wvarint(len(v)) + v
    if t in (LIST, SET):
        et, items = v
        head = (bytes([(len(items) << 4) | et]) if len(items) < 15
                else bytes([0xF0 | et]) + _wvarint(len(items)))
        return head + b"".join((b"\x01" if x else b"\x02") if et in (TRUE, FALSE)
                               else _write_value(et, x) for x in items)
    if t == STRUCT:
        return write_struct(v)
    raise ValueError(f"compact type {t}")


def write_struct(fields):
    out, last = bytearray(), 0
    for fid, t, v in fields:
        if t in (TRUE, FALSE):
            t = TRUE if v else FALSE
        d = fid - last
        if 0 < d <= 15:
            out.append((d << 4) | t)
        else:
            out.append(t)
            out += _zz(fid)
        out += _write_value(t, v)
        last = fid
    out.append(0)
    return bytes(out)


def field(fields, fid):
    return next((f for f in fields if f[0] == fid), None)


def value(fields, fid, default=None):
    f = field(fields, fid)
    return default if f is None else f[2]


def drop(fields, *fids):
    fields[:] = [f for f in fields if f[0] not in fids]


def put(fields, fid, t, v):
    """Sets field `fid` (kept in id order)."""
    drop(fields, fid)
    fields.append([fid, t, v])
    fields.sort(key=lambda f: f[0])


def footer_of(data):
    n = int.from_bytes(data[-8:-4], "little")
    fm, end = read_struct(data, len(data) - 8 - n)
    assert end == len(data) - 8
    return fm


def with_footer(data, fm):
    """`data` with its footer replaced by `fm` (every byte before the old footer kept)."""
    n = int.from_bytes(data[-8:-4], "little")
    f = write_struct(fm)
    return data[:len(data) - 8 - n] + f + len(f).to_bytes(4, "little") + b"PAR1"


def row_groups(fm):
    return value(fm, 4)[1]


def chunks(rg):
    """(name, ColumnChunk fields, ColumnMetaData fields) of a row group."""
    out = []
    for cc in value(rg, 1)[1]:
        md = value(cc, 3)
        out.append((value(md, 3)[1][0].decode(), cc, md))
    return out


def chunk(fm, rg, name):
    return next((cc, md) for n, cc, md in chunks(row_groups(fm)[rg]) if n == name)


def span(md):
    starts = [v for v in (value(md, 11), value(md, 9)) if v is not None and v >= 4]
    return min(starts), min(starts) + value(md, 7)


def edit(data, fn):
    fm = footer_of(data)
    fn(fm)
    return with_footer(data, fm)


# --- tables and writers ------------------------------------------------------------------

def pyarrow_bytes(table, **kw):
    buf = io.BytesIO()
    pq.write_table(table, buf, **kw)
    return buf.getvalue()


def plain(table, **kw):
    """Uncompressed, 300 rows a group, the page index on: clear values are literal bytes."""
    kw.setdefault("compression", "none")
    kw.setdefault("row_group_size", 300)
    kw.setdefault("write_page_index", True)
    return pyarrow_bytes(table, **kw)


def duckdb_bytes(table, options):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.parquet")
        con = duckdb.connect()
        con.register("t", table)
        con.execute(f"COPY (SELECT * FROM t) TO '{path}' (FORMAT parquet{options})")
        con.close()
        with open(path, "rb") as f:
            return f.read()


def polars_bytes(table, **kw):
    import polars as pl
    buf = io.BytesIO()
    pl.from_arrow(table).write_parquet(buf, **kw)
    return buf.getvalue()


def writer_variants(table):
    """Real writers' files of the orders table: name -> bytes."""
    n = table.num_rows
    amounts = table["amount"].to_pylist()
    emails = table["customer_email"].to_pylist()
    out = {
        "pa-v2-delta.parquet": pyarrow_bytes(
            table, data_page_version="2.0", use_dictionary=False, compression="zstd",
            column_encoding={"customer_email": "DELTA_BYTE_ARRAY", "amount": "BYTE_STREAM_SPLIT",
                             "order_id": "DELTA_BINARY_PACKED", "region": "PLAIN",
                             "order_ts": "DELTA_BINARY_PACKED"},
            write_page_index=True, row_group_size=300),
        "pa-delta-length.parquet": pyarrow_bytes(
            table, use_dictionary=False, compression="lz4",
            column_encoding={"customer_email": "DELTA_LENGTH_BYTE_ARRAY"}, row_group_size=500),
        "pa-plain-gzip-small-pages.parquet": pyarrow_bytes(
            table, use_dictionary=False, compression="gzip", data_page_size=512,
            write_page_index=True, row_group_size=400),
        "pa-brotli-v2-dict.parquet": pyarrow_bytes(
            table, compression="brotli", data_page_version="2.0", write_page_index=True,
            bloom_filter_options={"customer_email": {"ndv": 200, "fpp": 0.01}}),
        "pa-int96-none.parquet": pyarrow_bytes(
            table, use_deprecated_int96_timestamps=True, compression="none",
            store_schema=False, row_group_size=250),
    }
    # Other physical types of the masked columns.
    fixed = pa.array([e.ljust(40).encode() if e else None for e in emails], pa.binary(40))
    typed = table.set_column(1, pa.field("customer_email", pa.binary(40)), fixed)
    typed = typed.set_column(2, pa.field("amount", pa.decimal128(12, 2)),
                             pa.array([None if a is None else
                                       __import__("decimal").Decimal(f"{a:.2f}")
                                       for a in amounts], pa.decimal128(12, 2)))
    out["pa-flba-decimal128.parquet"] = pyarrow_bytes(typed, write_page_index=True,
                                                     row_group_size=300)
    out["pa-flba-decimal-plain.parquet"] = pyarrow_bytes(typed, use_dictionary=False,
                                                        compression="none",
                                                        row_group_size=300)
    dec64 = table.set_column(2, pa.field("amount", pa.decimal64(9, 2)),
                             pa.array([None if a is None else
                                       __import__("decimal").Decimal(f"{a:.2f}")
                                       for a in amounts], pa.decimal64(9, 2)))
    out["pa-decimal-int32.parquet"] = pyarrow_bytes(dec64, store_decimal_as_integer=True)
    f32 = table.set_column(2, pa.field("amount", pa.float32()),
                           pa.array(amounts, pa.float32()))
    out["pa-float32.parquet"] = pyarrow_bytes(f32, write_page_index=True,
                                             column_encoding={"amount": "BYTE_STREAM_SPLIT"},
                                             use_dictionary=["customer_email"])
    i64 = table.set_column(2, pa.field("amount", pa.int64()),
                           pa.array([round(a * 100) for a in amounts], pa.int64()))
    out["pa-int64-cents.parquet"] = pyarrow_bytes(i64, row_group_size=200)
    out["duckdb-snappy.parquet"] = duckdb_bytes(table, ", ROW_GROUP_SIZE 300")
    out["duckdb-v2-zstd.parquet"] = duckdb_bytes(
        table, ", ROW_GROUP_SIZE 400, COMPRESSION zstd, PARQUET_VERSION V2")
    out["duckdb-uncompressed.parquet"] = duckdb_bytes(
        table, ", ROW_GROUP_SIZE 2048, COMPRESSION uncompressed")
    try:
        out["polars-zstd.parquet"] = polars_bytes(table, row_group_size=300, statistics=True)
        out["polars-plain.parquet"] = polars_bytes(table, compression="uncompressed",
                                                   statistics="full", data_page_size=1024)
    except ImportError:
        pass  # polars not pinned yet: its files are left out
    assert n
    return out


# --- crafted footers that the gateway must mask or refuse --------------------------------

def reversed_row_groups(data):
    return edit(data, lambda fm: row_groups(fm).reverse())


def masked_unknown_field(data):
    def fn(fm):
        for rg in row_groups(fm):
            _, md = next((cc, md) for n, cc, md in chunks(rg) if n == "customer_email")
            md.append([40, BINARY, b"clear:" + value(value(md, 12), 5)])
    return edit(data, fn)


def masked_chunk_field(mutate):
    def craft(data):
        def fn(fm):
            cc, md = chunk(fm, 0, "customer_email")
            mutate(fm, cc, md)
        return edit(data, fn)
    return craft


def dictionary_offset_zero(fm, cc, md):
    put(md, 11, I64, 0)


def data_offset_in_magic(fm, cc, md):
    drop(md, 11)
    put(md, 9, I64, 2)


def span_into_footer(fm, cc, md):
    put(md, 7, I64, value(md, 7) + 40_000)


def shares_unmasked_span(fm, cc, md):
    _, order_id = chunk(fm, 0, "order_id")
    put(md, 9, I64, value(order_id, 9))
    put(md, 11, I64, value(order_id, 11))


def two_masked_share_a_span(fm, cc, md):
    _, amount = chunk(fm, 0, "amount")
    for fid in (7, 9, 11):
        put(amount, fid, I64, value(md, fid))


def masked_external(fm, cc, md):
    put(cc, 1, BINARY, b"other.parquet")


def bloom_length_dropped(fm, cc, md):
    for rg in row_groups(fm):
        drop(next(m for n, _, m in chunks(rg) if n == "customer_email"), 15)


def duplicate_row_group(data):
    def fn(fm):
        groups = row_groups(fm)
        groups.insert(1, groups[0])
        put(fm, 3, I64, value(fm, 3) + value(groups[0], 3))
    return edit(data, fn)


def footer_length(n):
    return lambda data: data[:-8] + n.to_bytes(4, "little") + b"PAR1"


def tiny(table):
    return pyarrow_bytes(table.slice(0, 1), compression="none", use_dictionary=False)


def required_email(table):
    schema = table.schema.set(1, pa.field("customer_email", pa.string(), nullable=False))
    return pyarrow_bytes(table.cast(schema))


def with_look_alike(table, name):
    return pyarrow_bytes(table.append_column(name, table["customer_email"]))


def nested_copy(table):
    contact = pa.StructArray.from_arrays([table["customer_email"].combine_chunks()],
                                         names=["customer_email"])
    return table.append_column("contact", contact)


def inline_column_metadata(data):
    """The layout of older parquet-cpp writers ("write metadata at end of column chunk"): each chunk's pages followed by a copy of its ColumnMetaData, with its
    statistics (min and max email), `file_offset` pointing to it. Rebuilt from `data`'s pages
    (page index and bloom filters left out)."""
    fm = footer_of(data)
    out = bytearray(b"PAR1")
    for rg in row_groups(fm):
        first = None
        for _, cc, md in chunks(rg):
            start, end = span(md)
            shift = len(out) - start
            first = len(out) if first is None else first
            for fid in (9, 11):
                if value(md, fid) is not None and value(md, fid) >= 4:
                    put(md, fid, I64, value(md, fid) + shift)
            drop(md, 14, 15)
            drop(cc, 4, 5, 6, 7)
            out += data[start:end]
            put(cc, 2, I64, len(out))
            out += write_struct(md)
        put(rg, 5, I64, first)
    f = write_struct(fm)
    return bytes(out) + f + len(f).to_bytes(4, "little") + b"PAR1"


def big_footer(table, bloom_length=True):
    """Two rows a row group: a footer of ~370 KB, past the first 64 KiB tail read."""
    data = pyarrow_bytes(table, row_group_size=2, write_page_index=True,
                         bloom_filter_options={"customer_email": {"ndv": 4, "fpp": 0.05}})
    if bloom_length:
        return data

    def fn(fm):
        for rg in row_groups(fm):
            drop(next(md for n, _, md in chunks(rg) if n == "customer_email"), 15)
    return edit(data, fn)


# --- crafted footers that leaked when this pass was made ----------------------------------

def masked_column_index_unreferenced(data):
    """The masked chunks' `column_index_offset/length` dropped: their column indexes (each
    page's min and max email) stay where the writer put them, between unmasked ones."""
    def fn(fm):
        for rg in row_groups(fm):
            drop(next(cc for n, cc, _ in chunks(rg) if n == "customer_email"), 6, 7)
    return edit(data, fn)


def masked_bloom_unreferenced(data):
    def fn(fm):
        for rg in row_groups(fm):
            drop(next(md for n, _, md in chunks(rg) if n == "customer_email"), 14, 15)
    return edit(data, fn)


def orphan_row_group(data):
    """Row group 1 left out of the footer (its rows too): its chunks are still in the file,
    between row groups 0 and 2."""
    def fn(fm):
        groups = row_groups(fm)
        gone = groups.pop(1)
        put(fm, 3, I64, value(fm, 3) - value(gone, 3))
    return edit(data, fn)


def pinned_gap(pin):
    """The masked chunk of row group 0 claims `total_compressed_size` 200 (its pages run on),
    and two unmasked columns' claims (`pin`) stand 400 and 800 bytes after the declared start,
    inside the masked column's real pages: the widened gap ends at the first, and the bytes
    between the two are in no gap (the second keeps erin's widened `amount` span from
    reaching back over them)."""
    def craft(data):
        def fn(fm):
            _, md = chunk(fm, 0, "customer_email")
            start, _ = span(md)
            drop(md, 11)
            put(md, 9, I64, start)  # the dictionary page first, one declared span
            put(md, 7, I64, 200)
            cc, region = chunk(fm, 3, "region")
            pin(cc, region, start + 400)
            cc, order_ts = chunk(fm, 3, "order_ts")
            pin(cc, order_ts, start + 800)
        return edit(data, fn)
    return craft


def pin_bloom(cc, md, at):
    put(md, 14, I64, at)  # a bloom filter without length: an empty span at `at`
    drop(md, 15)


def pin_column_index(cc, md, at):
    put(cc, 6, I64, at)
    put(cc, 7, I32, 1)


def pin_external(cc, md, at):
    # An external chunk's offsets are in another file, yet bound this file's gaps.
    put(cc, 1, BINARY, b"elsewhere.parquet")
    drop(md, 11)
    put(md, 9, I64, at)
    put(md, 7, I64, 10)


def key_value_record_keys(table):
    """What Apache Hudi writes in every base file's footer (its record key here the email):
    `hoodie_min_record_key` / `hoodie_max_record_key`, key-value metadata of the file."""
    emails = sorted(e for e in table["customer_email"].to_pylist() if e)
    meta = dict(table.schema.metadata or {})
    meta.update({b"hoodie_min_record_key": emails[0].encode(),
                 b"hoodie_max_record_key": emails[-1].encode()})
    return plain(table.replace_schema_metadata(meta))


def field_metadata_sample(table):
    """A field's own metadata (kept in ARROW:schema, base64 of Arrow IPC) naming a value."""
    email = next(e for e in table["customer_email"].to_pylist() if e)
    schema = table.schema.set(1, table.schema.field(1).with_metadata({"example": email}))
    return plain(table.cast(schema))


def unknown_field_in(where):
    """An unknown field holding an email in the FileMetaData, a RowGroup or the masked column's
    SchemaElement (a newer format's field this reader copies verbatim)."""
    def craft(data):
        def fn(fm):
            email = value(value(chunk(fm, 0, "customer_email")[1], 12), 5)
            target = {"file": fm, "row-group": row_groups(fm)[0],
                      "schema": next(e for e in value(fm, 2)[1]
                                     if value(e, 4) == b"customer_email")}[where]
            target.append([40, BINARY, email])
        return edit(data, fn)
    return craft


def path_names_the_masked_column(table):
    """A sixth column `notes` (the emails again) whose chunks' `path_in_schema` say
    `customer_email`: pyarrow, DuckDB and polars match chunks to columns by position; parquet-mr
    and Deephaven, as their code reads, by `path_in_schema`, so they would take this chunk for
    customer_email."""
    data = plain(table.append_column("notes", table["customer_email"]))

    def fn(fm):
        for rg in row_groups(fm):
            md = next(md for n, _, md in chunks(rg) if n == "notes")
            put(md, 3, LIST, (BINARY, [b"customer_email"]))
    return edit(data, fn)


PINS = {"bloom-filter": pin_bloom, "column-index": pin_column_index, "external": pin_external}
UNKNOWN = ("file", "row-group", "schema")


def crafted_objects(first):
    table = pq.read_table(io.BytesIO(first))
    flat = plain(table)
    out = dict(writer_variants(table))
    out.update({
        "reversed-row-groups.parquet": reversed_row_groups(first),
        "masked-unknown-field.parquet": masked_unknown_field(first),
        "dict-offset-zero.parquet": masked_chunk_field(dictionary_offset_zero)(first),
        "data-offset-in-magic.parquet": masked_chunk_field(data_offset_in_magic)(first),
        "span-into-footer.parquet": masked_chunk_field(span_into_footer)(first),
        "shares-unmasked-span.parquet": masked_chunk_field(shares_unmasked_span)(first),
        "two-masked-share-span.parquet": masked_chunk_field(two_masked_share_a_span)(first),
        "masked-external.parquet": masked_chunk_field(masked_external)(first),
        "bloom-length-dropped.parquet": masked_chunk_field(bloom_length_dropped)(first),
        "duplicate-row-group.parquet": duplicate_row_group(first),
        "footer-len-huge.parquet": footer_length(0xFFFFFFF0)(first),
        "footer-len-whole.parquet": footer_length(len(first) - 12)(first),
        "footer-len-zero.parquet": footer_length(0)(first),
        "footer-len-short.parquet": footer_length(footer_length_of(first) - 1)(first),
        "tiny.parquet": tiny(table),
        "empty.parquet": b"",
        "magic-only.parquet": b"PAR1PAR1",
        "twelve-bytes.parquet": b"PAR1\0\0\0\0PAR1",
        "no-leading-magic.parquet": b"XXXX" + first[4:],
        "empty-table.parquet": pyarrow_bytes(table.slice(0, 0)),
        "inline-metadata.parquet": inline_column_metadata(first),
        "big-footer.parquet": big_footer(table),
        "big-footer-bloom-no-length.parquet": big_footer(table, bloom_length=False),
        "required-email.parquet": required_email(table),
        "nested-copy.parquet": pyarrow_bytes(nested_copy(table)),
        "look-alike-long-s.parquet": with_look_alike(table, "cu\u017ftomer_email"),
        "look-alike-upper.parquet": with_look_alike(table, "CUSTOMER_EMAIL"),
        "look-alike-zwsp.parquet": with_look_alike(table, "customer\u200b_email"),
        "look-alike-fullwidth.parquet": with_look_alike(table, "\uff43ustomer_email"),
        "look-alike-nul.parquet": with_look_alike(table, "customer_email\x00x"),
        "look-alike-bidi.parquet": with_look_alike(table, "\u202elieme_remotsuc"),
        "look-alike-cyrillic.parquet": with_look_alike(table, "customer_\u0435mail"),
        # Leaked when this pass was made (the end of this module).
        "ci-unreferenced.parquet": masked_column_index_unreferenced(first),
        "bloom-unreferenced.parquet": masked_bloom_unreferenced(first),
        "orphan-row-group.parquet": orphan_row_group(flat),
        "kv-record-keys.parquet": key_value_record_keys(table),
        "field-metadata.parquet": field_metadata_sample(table),
        "path-names-masked.parquet": path_names_the_masked_column(table),
    })
    for name, pin in PINS.items():
        out[f"pin-{name}.parquet"] = pinned_gap(pin)(flat)
    for where in UNKNOWN:
        out[f"unknown-{where}.parquet"] = unknown_field_in(where)(first)
    return out


def footer_length_of(data):
    return int.from_bytes(data[-8:-4], "little")


# --- the stack -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def atk2(demo_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("attack-parquet-2") / "data"
    shutil.copytree(demo_dir, root, copy_function=os.link)
    crafted = root / ORDERS / "crafted2"
    crafted.mkdir()
    first = sorted((root / ORDERS).glob("*.parquet"))[0].read_bytes()
    objects = crafted_objects(first)
    for name, data in objects.items():
        (crafted / name).write_bytes(data)
    # Fresh copies for first reads (each one read first by one test only).
    for i in range(4):
        (crafted / f"fresh-{i}.parquet").write_bytes(first)
    s = start_stack(root, tmp_path_factory.mktemp("run-attack-parquet-2"))
    s.data_root = root
    s.first = first
    s.objects = objects
    s.table = pq.read_table(io.BytesIO(first))
    s.emails = {e.encode() for p in (root / ORDERS).glob("*.parquet")
                for e in pq.read_table(p)["customer_email"].to_pylist() if e}
    s.amounts = {pa.array([a], pa.float64()).buffers()[1].to_pybytes()
                 for p in (root / ORDERS).glob("*.parquet")
                 for a in pq.read_table(p)["amount"].to_pylist() if a is not None}
    yield s
    s.stop()


def port_of(stack, root):
    return stack.root_port if root else int(stack.endpoint.rsplit(":", 1)[1].split("/")[0])


def request(stack, principal, key, headers=None, method="GET", root=False, query="",
            vhost=False):
    """A raw request (the seed's scheme) on the /s3p mount or the root mount, path-style or
    virtual-hosted (`immuta.localhost`)."""
    prefix = "" if root else "/s3p"
    path = f"{prefix}/{key}" if vhost else f"{prefix}/{BUCKET}/{key}"
    h = {"Authorization": f"AWS {KEYS[principal]}:{SECRET}"}
    if vhost:
        h["Host"] = f"{BUCKET}.localhost"
    h.update(headers or {})
    conn = HTTPConnection("127.0.0.1", port_of(stack, root), timeout=60)
    conn.request(method, path + query, headers=h)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def clear_values(stack, principal, body):
    """The masked columns' clear values found in `body`: emails as text; for erin, amounts as
    their 8 bytes (the demo's DOUBLEs)."""
    found = sorted(e.decode() for e in stack.emails if e in body)[:5]
    if principal == "erin":
        found += [a.hex() for a in stack.amounts if a in body][:5]
    return found


def masked_read(stack, principal, body):
    """The masked columns of a served view, as a reader gets them: all null / all 0."""
    t = pq.ParquetFile(io.BytesIO(body)).read()
    assert t["customer_email"].null_count == t.num_rows
    if principal == "erin":
        assert set(t["amount"].to_pylist()) == {0}, set(t["amount"].to_pylist())
    return t


def refused(status, headers, body):
    return status == 403 and b"InvalidObjectState" in body


# --- real writers: other encodings, page versions, physical types -------------------------

WRITERS = ["pa-v2-delta.parquet", "pa-delta-length.parquet", "pa-plain-gzip-small-pages.parquet",
           "pa-brotli-v2-dict.parquet", "pa-int96-none.parquet", "pa-flba-decimal128.parquet",
           "pa-flba-decimal-plain.parquet", "pa-decimal-int32.parquet", "pa-float32.parquet",
           "pa-int64-cents.parquet", "duckdb-snappy.parquet", "duckdb-v2-zstd.parquet",
           "duckdb-uncompressed.parquet", "polars-zstd.parquet", "polars-plain.parquet"]


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", WRITERS)
def test_real_writers_files_are_masked_or_refused(atk2, name, principal):
    if name not in atk2.objects:
        pytest.fail(f"{name} was not written (polars missing?)")
    status, headers, body = request(atk2, principal, f"{CRAFTED}/{name}")
    if refused(status, headers, body):
        return
    assert status == 200, (status, body[:300])
    assert len(body) == len(atk2.objects[name])
    emails = sorted(e.decode() for e in atk2.emails if e in body)
    assert not emails, f"{principal} read clear emails in {name}: {emails[:5]}"
    t = masked_read(atk2, principal, body)
    original = pq.read_table(io.BytesIO(atk2.objects[name]))
    for col in ("order_id", "region", "order_ts") + (() if principal == "erin" else ("amount",)):
        assert t[col].equals(original[col]), col
    md = pq.ParquetFile(io.BytesIO(body)).metadata
    names = [md.schema.column(i).name for i in range(md.num_columns)]
    masked = ["customer_email"] + (["amount"] if principal == "erin" else [])
    for rg in range(md.num_row_groups):
        for col in masked:
            c = md.row_group(rg).column(names.index(col))
            assert not c.is_stats_set, (name, rg, col)
            assert not c.has_column_index and not c.has_offset_index, (name, rg, col)


@pytest.mark.parametrize("principal", MASKED)
def test_fixed_length_emails_are_not_served_clear(atk2, principal):
    # FIXED_LEN_BYTE_ARRAY emails are padded to 40 bytes: each is found as its text too.
    for name in ("pa-flba-decimal128.parquet", "pa-flba-decimal-plain.parquet"):
        status, headers, body = request(atk2, principal, f"{CRAFTED}/{name}")
        assert refused(status, headers, body) or not [e for e in atk2.emails if e in body]


# --- crafted footers that are masked anyway or refused -------------------------------------

MASKED_ANYWAY = ["reversed-row-groups.parquet", "masked-unknown-field.parquet",
                 "bloom-length-dropped.parquet", "nested-copy.parquet", "inline-metadata.parquet",
                 "big-footer.parquet", "big-footer-bloom-no-length.parquet"]


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", MASKED_ANYWAY)
def test_crafted_footers_that_are_still_masked(atk2, name, principal):
    status, headers, body = request(atk2, principal, f"{CRAFTED}/{name}")
    if refused(status, headers, body):
        return
    assert status == 200
    if name == "nested-copy.parquet":
        # `contact.customer_email` is another (nested) column: only the top-level one is masked.
        t = pq.ParquetFile(io.BytesIO(body)).read(columns=["customer_email"])
        assert t["customer_email"].null_count == t.num_rows
        return
    assert not clear_values(atk2, principal, body), clear_values(atk2, principal, body)
    masked_read(atk2, principal, body)


def test_masked_bloom_filter_without_length_is_zeroed(atk2):
    """The bloom filter's bitset is measured from its header in the tail and zeroed."""
    data = atk2.objects["bloom-length-dropped.parquet"]
    fm = footer_of(data)
    status, _, body = request(atk2, "alice", f"{CRAFTED}/bloom-length-dropped.parquet")
    assert status == 200
    for rg in range(len(row_groups(fm))):
        _, md = chunk(fm, rg, "customer_email")
        at = value(md, 14)
        assert body[at:at + 144] == b"\0" * 144


REFUSED = ["dict-offset-zero.parquet", "data-offset-in-magic.parquet", "span-into-footer.parquet",
           "shares-unmasked-span.parquet", "masked-external.parquet",
           "duplicate-row-group.parquet", "footer-len-huge.parquet", "footer-len-whole.parquet",
           "footer-len-zero.parquet", "footer-len-short.parquet", "required-email.parquet",
           "look-alike-long-s.parquet", "look-alike-upper.parquet", "look-alike-zwsp.parquet",
           "look-alike-fullwidth.parquet", "look-alike-cyrillic.parquet", "empty.parquet", "magic-only.parquet",
           "twelve-bytes.parquet"]


@pytest.mark.parametrize("name", REFUSED)
def test_unmaskable_layouts_are_an_error_before_any_byte(atk2, name):
    for principal in MASKED:
        for root in (False, True):
            status, headers, body = request(atk2, principal, f"{CRAFTED}/{name}", root=root)
            assert status >= 400, (principal, status)
            assert not clear_values(atk2, principal, body)
            assert not body.startswith(b"PAR1")
            status, _, _ = request(atk2, principal, f"{CRAFTED}/{name}", method="HEAD",
                                   root=root)
            assert status >= 400, ("HEAD", principal, status)
        # A ranged read of the masked chunk's bytes too.
        status, _, body = request(atk2, principal, f"{CRAFTED}/{name}",
                                  {"Range": "bytes=1603-3173"})
        assert status >= 400 and not clear_values(atk2, principal, body)


def test_two_masked_columns_sharing_a_span_are_refused_for_erin(atk2):
    status, headers, body = request(atk2, "erin", f"{CRAFTED}/two-masked-share-span.parquet")
    assert refused(status, headers, body), (status, body[:200])
    # alice masks one of them only: the other column's span overlaps it.
    status, headers, body = request(atk2, "alice", f"{CRAFTED}/two-masked-share-span.parquet")
    assert status >= 400 or not clear_values(atk2, "alice", body)


@pytest.mark.parametrize("principal", MASKED)
def test_a_chunk_too_small_for_the_regenerated_one_is_refused_not_clear(atk2, principal):
    status, headers, body = request(atk2, principal, f"{CRAFTED}/tiny.parquet")
    if refused(status, headers, body):
        return
    assert status == 200 and not clear_values(atk2, principal, body)
    masked_read(atk2, principal, body)


# --- the masked view as an object: sizes, ranges, ETags, mounts ----------------------------

DEMO = "orders/part-00001.parquet"


@pytest.mark.parametrize("principal", MASKED)
def test_view_is_one_consistent_object_on_every_mount(atk2, principal):
    s3 = s3_client(atk2.endpoint, KEYS[principal])
    listed = {o["Key"]: o for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="orders/")["Contents"]}
    views = []
    for root, vhost in ((False, False), (True, False), (False, True), (True, True)):
        hs, hh, _ = request(atk2, principal, DEMO, method="HEAD", root=root, vhost=vhost)
        gs, gh, body = request(atk2, principal, DEMO, root=root, vhost=vhost)
        assert hs == gs == 200
        assert int(hh["content-length"]) == int(gh["content-length"]) == len(body) == \
            listed[DEMO]["Size"]
        assert hh["etag"] == gh["etag"] == listed[DEMO]["ETag"]
        assert not [k for k in gh if k.startswith("x-amz-checksum") or k == "content-md5"]
        assert not clear_values(atk2, principal, body)
        views.append(body)
    assert all(v == views[0] for v in views)
    # Every object of the listing is the same size through HEAD.
    for key, o in listed.items():
        status, h, _ = request(atk2, principal, key, method="HEAD")
        assert status == 403 or int(h["content-length"]) == o["Size"], key


@pytest.mark.parametrize("principal", MASKED)
def test_every_range_agrees_with_the_whole_view(atk2, principal):
    _, h, whole = request(atk2, principal, DEMO)
    size = len(whole)
    flen = footer_length_of(whole)
    rng = random.Random(16)
    cases = [(0, 0), (0, 3), (size - 8, size - 1), (size - 8 - flen, size - 1),
             (size - 9 - flen, size - 1), (size - 9 - flen, size - 9 - flen), (4, size - 1),
             (1603, 3173), (1602, 1603), (3173, 3174)]
    cases += [tuple(sorted(rng.sample(range(size), 2))) for _ in range(25)]
    for a, b in cases:
        status, rh, body = request(atk2, principal, DEMO, {"Range": f"bytes={a}-{b}"})
        assert status == 206, (a, b, status)
        assert rh["content-range"] == f"bytes {a}-{b}/{size}"
        assert int(rh["content-length"]) == len(body) == b - a + 1
        assert rh["etag"] == h["etag"]
        assert body == whole[a:b + 1], (a, b)
    for spec, want in ((f"bytes=-{size + 100}", whole), ("bytes=-1", whole[-1:]),
                       (f"bytes={size - 5}-", whole[-5:]),
                       (f"bytes=10-{size * 4}", whole[10:])):
        status, _, body = request(atk2, principal, DEMO, {"Range": spec})
        assert status in (200, 206) and body == want, spec
    status, rh, _ = request(atk2, principal, DEMO, {"Range": f"bytes={size}-"})
    assert status == 416 and rh.get("content-range") == f"bytes */{size}"


@pytest.mark.parametrize("principal", MASKED)
def test_head_with_a_range_and_conditions_agree_with_the_view(atk2, principal):
    _, h, whole = request(atk2, principal, DEMO)
    etag = h["etag"]
    status, rh, body = request(atk2, principal, DEMO, {"Range": "bytes=0-99"}, method="HEAD")
    assert status in (200, 206) and body == b""
    if status == 206:
        assert rh["content-length"] == "100" and rh["etag"] == etag
    else:
        assert int(rh["content-length"]) == len(whole)
    status, _, body = request(atk2, principal, DEMO, {"If-None-Match": etag})
    assert status == 304 and body == b""
    status, _, body = request(atk2, principal, DEMO, {"If-Match": '"0123456789abcdef"'})
    assert status == 412 and not body.startswith(b"PAR1")
    # If-Range with another ETag: the whole view, never the raw range.
    status, _, body = request(atk2, principal, DEMO, {"If-Range": '"x"', "Range": "bytes=0-99"})
    assert status == 200 and body == whole
    status, _, body = request(atk2, principal, DEMO,
                              {"If-Range": etag, "Range": "bytes=1603-3173"})
    assert status == 206 and body == whole[1603:3174]
    status, _, body = request(atk2, principal, DEMO,
                              {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})
    assert status == 200 and body == whole


@pytest.mark.parametrize("query", [
    "?response-content-type=text%2Fplain&response-content-disposition=attachment",
    "?response-cache-control=no-cache&response-content-encoding=identity",
    "?x-id=GetObject", "?response-expires=0",
])
def test_response_overrides_still_serve_the_view(atk2, query):
    _, _, whole = request(atk2, "erin", DEMO)
    status, _, body = request(atk2, "erin", DEMO, query=query)
    assert status >= 400 or body == whole
    assert not clear_values(atk2, "erin", body)


@pytest.mark.parametrize("query", [
    "?partNumber=1", "?partNumber=2", "?versionId=1", "?versionId=", "?uploadId=1",
    "?versions", "?restore", "?legal-hold", "?retention", "?select", "?list-type=2",
])
def test_subresources_on_the_masked_key_serve_no_clear_bytes(atk2, query):
    for method in ("GET", "HEAD"):
        status, headers, body = request(atk2, "alice", DEMO, method=method, query=query)
        assert status >= 400 or not clear_values(atk2, "alice", body), (method, status)
        assert not [k for k in headers if k.startswith("x-amz-checksum")]


def test_checksum_mode_gets_no_upstream_checksum(atk2):
    status, headers, body = request(atk2, "alice", DEMO, {"x-amz-checksum-mode": "ENABLED"})
    assert status == 200 and not clear_values(atk2, "alice", body)
    assert not [k for k in headers if k.startswith("x-amz-checksum") or k == "content-md5"]


@pytest.mark.parametrize("key", [
    "orders/part-0000%31.parquet", "orders/part-00001.parque%74", "orders/part-00001.parquet/",
    "orders/part-00001.parquet%00", "orders/PART-00001.parquet", "orders/part-00001.parquet%20",
    "Orders/part-00001.parquet", "orders%2fpart-00001.parquet", "orders/%2e/part-00001.parquet",
    "orders/part-00001.parquet;", "orders/part-00001.parquet?", "orders/\u200bpart-00001.parquet",
])
def test_aliases_of_the_key_are_the_view_or_nothing(atk2, key):
    _, _, whole = request(atk2, "alice", DEMO)
    status, _, body = request(atk2, "alice", quote(key, safe="/%;?"))
    assert status >= 400 or body == whole, (key, status)


def test_concurrent_first_reads_agree(atk2):
    """Four fresh objects, each read first by 6 parallel ranged GETs and HEADs."""
    # The fresh objects are copies of part-00000: the same view bytes (not the same ETag).
    _, _, view = request(atk2, "alice", "orders/part-00000.parquet")
    size = len(view)
    ranges = [None, "bytes=0-4095", f"bytes={size - 8}-", "bytes=1603-9119", "bytes=-64",
              "HEAD"]

    def one(job):
        key, rng = job
        if rng == "HEAD":
            return key, rng, request(atk2, "alice", key, method="HEAD")
        return key, rng, request(atk2, "alice", key, {"Range": rng} if rng else {})

    jobs = [(f"{CRAFTED}/fresh-{i}.parquet", r) for i in range(4) for r in ranges]
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        results = list(pool.map(one, jobs))
    etags = {}
    for key, rng, (status, headers, body) in results:
        assert status in (200, 206), (key, rng, status)
        assert not clear_values(atk2, "alice", body), (key, rng)
        etags.setdefault(key, set()).add(headers["etag"])
        if rng == "HEAD":
            assert int(headers["content-length"]) == size
        elif rng is None:
            assert body == view
        else:
            a, b = headers["content-range"].split()[1].split("/")[0].split("-")
            assert body == view[int(a):int(b) + 1]
    assert all(len(e) == 1 for e in etags.values()), etags


def test_a_clear_read_first_does_not_serve_the_masked_principals_clear(atk2):
    """carol (no masks) reads a fresh object first, then alice and erin, then all at once."""
    key = f"{CRAFTED}/fresh-3.parquet"
    status, _, clear = request(atk2, "carol", key)
    assert status == 200 and clear == atk2.first
    for principal in MASKED:
        status, _, body = request(atk2, principal, key)
        assert status == 200 and not clear_values(atk2, principal, body)
        masked_read(atk2, principal, body)
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda p: (p, request(atk2, p, key, {"Range": "bytes=4-9119"})),
                                ["carol", "alice", "erin"] * 2))
    for principal, (status, _, body) in results:
        assert status == 206
        if principal == "carol":
            assert body == atk2.first[4:9120]
        else:
            assert not clear_values(atk2, principal, body)


@pytest.mark.parametrize("principal", MASKED)
def test_inline_column_metadata_statistics_are_zeroed(atk2, principal):
    """The old parquet-cpp copy of a masked chunk's ColumnMetaData after its pages (outside its
    span) is in the masked gap: zeroed."""
    data = atk2.objects["inline-metadata.parquet"]
    status, _, body = request(atk2, principal, f"{CRAFTED}/inline-metadata.parquet")
    assert status == 200
    fm = footer_of(data)
    for rg in range(len(row_groups(fm))):
        cc, md = chunk(fm, rg, "customer_email")
        _, end = span(md)
        at = value(cc, 2)
        assert at == end and data[at:at + 20] != body[at:at + 20]
        assert body[at:at + 20] == b"\0" * 20


def test_presigned_urls_serve_the_view(atk2):
    s3 = s3_client(atk2.endpoint, KEYS["erin"])
    url = s3.generate_presigned_url("get_object", Params={
        "Bucket": BUCKET, "Key": DEMO, "ResponseContentType": "application/octet-stream"})
    _, _, whole = request(atk2, "erin", DEMO)
    path = url.split(str(port_of(atk2, False)), 1)[1]
    conn = HTTPConnection("127.0.0.1", port_of(atk2, False), timeout=30)
    conn.request("GET", path, headers={"Range": "bytes=1603-3173"})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    assert r.status == 206 and body == whole[1603:3174]
    assert not clear_values(atk2, "erin", body)


def test_field_names_come_from_the_parquet_schema_not_arrow_schema(atk2):
    """Readers (pyarrow, DuckDB, polars) name columns by the Parquet schema, which the gateway
    masks by; ARROW:schema only restores types. Checked on alice's view of the demo file."""
    _, _, body = request(atk2, "alice", DEMO)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "v.parquet")
        with open(path, "wb") as f:
            f.write(body)
        rows = duckdb.sql(f"SELECT count(customer_email), count(*) FROM '{path}'").fetchone()
    assert rows[0] == 0 and rows[1] == atk2.table.num_rows


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate, gzip;q=0.5", "identity;q=0, *",
                                      "zstd"])
def test_accept_encoding_still_gets_the_overlaid_view(atk2, encoding):
    """A compressed upstream body would put the overlay at the wrong offsets: the view must be
    the plain bytes, whatever the client accepts."""
    _, _, whole = request(atk2, "erin", DEMO)
    for rng in (None, "bytes=1603-9118"):
        h = {"Accept-Encoding": encoding}
        if rng:
            h["Range"] = rng
        status, headers, body = request(atk2, "erin", DEMO, h)
        assert status in (200, 206), status
        assert "content-encoding" not in headers or headers["content-encoding"] == "identity"
        assert body == (whole[1603:9119] if rng else whole)
        assert not clear_values(atk2, "erin", body)


@pytest.mark.parametrize("headers", [
    {"Range": "bytes=0-99", "x-amz-checksum-mode": "ENABLED", "If-Match": "*"},
    {"Range": "bytes=0-99", "If-None-Match": "*"},
    {"x-amz-request-payer": "requester", "x-amz-expected-bucket-owner": "123456789012"},
    {"x-amz-server-side-encryption-customer-algorithm": "AES256"},
    {"Cache-Control": "no-cache", "Pragma": "no-cache", "Connection": "close"},
])
def test_odd_request_headers_get_the_view_or_an_error(atk2, headers):
    _, _, whole = request(atk2, "alice", DEMO)
    status, rh, body = request(atk2, "alice", DEMO, headers)
    if status >= 300:
        assert not body.startswith(b"PAR1") and not clear_values(atk2, "alice", body)
        return
    want = whole[:100] if "Range" in headers else whole
    assert body == want
    assert not [k for k in rh if k.startswith("x-amz-checksum")]


@pytest.mark.parametrize("name", ["no-leading-magic.parquet", "empty-table.parquet"])
def test_odd_but_footer_valid_files_serve_no_clear_value(atk2, name):
    """No leading magic (readers never look there): masked as any file. No row groups: the
    footer and nothing to mask."""
    for principal in MASKED:
        status, _, body = request(atk2, principal, f"{CRAFTED}/{name}")
        assert status in (200, 403), status
        if status == 200:
            assert len(body) == len(atk2.objects[name])
            assert not clear_values(atk2, principal, body)


# --- found open by this pass, fixed since (docs/tables.md, "Parquet"): each was a leak ---
# 1. Bytes of a masked column that the footer does not reference are served as stored. The
#    overlay zeroes each masked span (and widens it to the unmasked spans around it), but a
#    masked column's column index, bloom filter or whole row group that the footer leaves out
#    lies between unmasked spans, in no masked gap: one omission in the footer.
# 2. The widened gap ends at any unmasked claim, however it was made: a bloom filter offset
#    without length (an empty span), a one-byte column index, an external chunk's offsets (which
#    are in another file) - so a masked chunk whose `total_compressed_size` is short keeps its
#    real pages clear past the first such claim.
# 3. A chunk's `path_in_schema` is checked for masked chunks only: an unmasked chunk whose
#    path names the masked column is what a reader that finds chunks by path reads as that
#    column (parquet-mr's readNextRowGroup and Deephaven's RowGroupReader, as their code reads;
#    not run here: pyarrow, DuckDB and polars go by position).
# 4. Top-level names with a NUL or a bidirectional override beside the masked column are served
#    (docs say such names are refused wherever masks apply; Parquet does not): DuckDB's
#    `.df()` ends a name at the NUL, so `customer_email\x00x` (clear) becomes the DataFrame's
#    only `customer_email` column, replacing the masked one; `\u202elieme_remotsuc` shows as
#    `customer_email`.
# 5. Metadata copied verbatim: the file's key-value metadata (Apache Hudi writes
#    `hoodie_min_record_key` / `hoodie_max_record_key` in every base file; a record key that is
#    the masked column is then in clear), a field's metadata inside `ARROW:schema`, and fields
#    the reader does not know at the FileMetaData, RowGroup or SchemaElement level.

@pytest.mark.parametrize("root", [False, True], ids=["s3p", "root-mount"])
@pytest.mark.parametrize("principal", ["alice"])
def test_an_unreferenced_masked_column_index_is_not_served(atk2, principal, root):
    # erin is safe here by chance only: her masked `amount` column index, next to the email's,
    # is widened back over it.
    status, _, body = request(atk2, principal, f"{CRAFTED}/ci-unreferenced.parquet", root=root)
    assert status >= 400 or not clear_values(atk2, principal, body), (
        f"{principal} read the masked column index's min/max: "
        f"{clear_values(atk2, principal, body)}")


@pytest.mark.parametrize("principal", MASKED)
def test_an_unreferenced_masked_bloom_filter_is_not_served(atk2, principal):
    key = f"{CRAFTED}/bloom-unreferenced.parquet"
    original = footer_of(atk2.first)
    status, _, body = request(atk2, principal, key)
    assert status == 200
    served = []
    for rg in range(len(row_groups(original))):
        _, md = chunk(original, rg, "customer_email")
        at, length = value(md, 14), value(md, 15)
        bloom = atk2.first[at:at + length]
        if bloom in body:
            served.append(rg)
    assert not served, f"{principal} got the masked bloom filters of row groups {served}"


@pytest.mark.parametrize("principal", MASKED)
def test_the_pages_of_a_row_group_the_footer_leaves_out_are_not_served(atk2, principal):
    status, _, body = request(atk2, principal, f"{CRAFTED}/orphan-row-group.parquet")
    assert status >= 400 or not clear_values(atk2, principal, body), (
        f"{principal} read clear emails: {clear_values(atk2, principal, body)}")
    # A reader sees the orphan's absence only: 900 rows, all emails null.
    if status == 200:
        t = pq.ParquetFile(io.BytesIO(body)).read()
        assert t["customer_email"].null_count == t.num_rows


@pytest.mark.parametrize("pin", sorted(PINS))
@pytest.mark.parametrize("principal", MASKED)
def test_an_unmasked_claim_does_not_end_the_masked_gap(atk2, principal, pin):
    status, _, body = request(atk2, principal, f"{CRAFTED}/pin-{pin}.parquet")
    assert status >= 400 or not clear_values(atk2, principal, body), (
        f"{principal} read clear emails past the pin: {clear_values(atk2, principal, body)}")


@pytest.mark.parametrize("principal", MASKED)
def test_the_file_key_value_metadata_holds_no_clear_value(atk2, principal):
    status, _, body = request(atk2, principal, f"{CRAFTED}/kv-record-keys.parquet")
    assert status >= 400 or not clear_values(atk2, principal, body), (
        f"{principal} read clear emails (hoodie_min/max_record_key): "
        f"{clear_values(atk2, principal, body)}")


@pytest.mark.parametrize("principal", MASKED)
def test_a_fields_metadata_in_arrow_schema_holds_no_clear_value(atk2, principal):
    status, _, body = request(atk2, principal, f"{CRAFTED}/field-metadata.parquet")
    if status >= 400:
        return
    meta = pq.ParquetFile(io.BytesIO(body)).metadata.metadata or {}
    decoded = base64.b64decode(meta.get(b"ARROW:schema", b""))
    field_meta = pq.ParquetFile(io.BytesIO(body)).schema_arrow.field("customer_email").metadata
    found = clear_values(atk2, principal, decoded + body)
    assert not found, f"{principal} read clear emails in the field's metadata: {field_meta}"


@pytest.mark.parametrize("principal", MASKED)
def test_a_chunk_whose_path_names_the_masked_column_is_masked_or_refused(atk2, principal):
    """Which chunk is `customer_email` is the reader's choice: by position (pyarrow, DuckDB,
    polars) or by `path_in_schema` (parquet-mr, Deephaven). The gateway masks by position and checks
    the masked chunk's path only, so an unmasked chunk naming the masked column is served."""
    key = f"{CRAFTED}/path-names-masked.parquet"
    status, _, body = request(atk2, principal, key)
    if status >= 400:
        return
    md = pq.ParquetFile(io.BytesIO(body)).metadata
    for rg in range(md.num_row_groups):
        c = md.row_group(rg).column(5)
        assert c.path_in_schema == "customer_email"
        assert not c.is_stats_set, f"row group {rg}: the chunk named customer_email has stats"
    t = pq.ParquetFile(io.BytesIO(body)).read()
    assert t["notes"].null_count == t.num_rows, (
        f"{principal}: the chunk whose path is customer_email is served clear: "
        f"{clear_values(atk2, principal, body)}")


@pytest.mark.parametrize("where", UNKNOWN)
@pytest.mark.parametrize("principal", MASKED)
def test_unknown_footer_fields_hold_no_clear_value(atk2, principal, where):
    status, _, body = request(atk2, principal, f"{CRAFTED}/unknown-{where}.parquet")
    assert status >= 400 or not clear_values(atk2, principal, body), (
        f"{principal} read clear emails in an unknown {where} field: "
        f"{clear_values(atk2, principal, body)}")


@pytest.mark.parametrize("principal", MASKED)
def test_a_nul_in_a_column_name_is_refused(atk2, principal):
    status, _, body = request(atk2, principal, f"{CRAFTED}/look-alike-nul.parquet")
    if status >= 400:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "v.parquet")
        with open(path, "wb") as f:
            f.write(body)
        df = duckdb.sql(f"SELECT * FROM '{path}'").df()
    shown = df["customer_email"].dropna().head(3).tolist() if "customer_email" in df else []
    assert False, (f"{principal} got a column named 'customer_email\\x00x' served; DuckDB's "
                   f"DataFrame calls it customer_email: {shown}")


@pytest.mark.parametrize("principal", MASKED)
def test_a_bidi_override_in_a_column_name_is_refused(atk2, principal):
    status, _, body = request(atk2, principal, f"{CRAFTED}/look-alike-bidi.parquet")
    assert status >= 400, (f"{principal} got a column displayed as customer_email in clear: "
                           f"{clear_values(atk2, principal, body)}")
