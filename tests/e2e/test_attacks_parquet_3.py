"""Third hostile pass over the masked Parquet `orders` (issue 16), through real Envoy, against
the design "a masked view serves only what the footer gives unmasked columns" and "the footer
of a masked view keeps only what this reader knows" (docs/tables.md, "Parquet").

Goal of every probe: alice (customer_email null) or erin (customer_email null, amount 0) gets a
clear value of a masked column, an inconsistent masked object, or an unmasked column that reads
otherwise than upstream. Each test asserts the SAFE outcome; the probes at the end (after "found
open by this pass") leaked when this pass was made and hold since. Crafted objects live under `orders/crafted3/`; each is a real writer's file (pyarrow,
pandas, polars, DuckDB) or one precise footer edit of the demo's pyarrow file, made with the
Thrift compact codec of `test_attacks_parquet_2.py`.
"""
import base64
import concurrent.futures
import io
import os
import random
import shutil
import struct
import tempfile
import time
from http.client import HTTPConnection

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import start_stack
from gateway import KEYS, SECRET, s3_client
from test_attacks_parquet_2 import (
    BINARY, I32, LIST, STRUCT, TRUE, chunk, chunks, clear_values, drop, edit, footer_of, plain,
    put, pyarrow_bytes, refused, request, row_groups, value,
)

CRAFTED = "orders/crafted3"
MASKED = ("alice", "erin")


# --- crafting ----------------------------------------------------------------------------------

def an_email(fm):
    """A clear email of the file: the masked chunk's max statistic of row group 0."""
    return value(value(chunk(fm, 0, "customer_email")[1], 12), 5)


def unmasked_chunk_key_value(data):
    """`ColumnMetaData.key_value_metadata` (field 8) of the UNMASKED order_id chunks holding an
    email: the file-level key-value metadata is dropped for that reason, a chunk's is copied."""
    def fn(fm):
        email = an_email(fm)
        for rg in row_groups(fm):
            md = next(md for n, _, md in chunks(rg) if n == "order_id")
            put(md, 8, LIST, (STRUCT, [[[1, BINARY, b"sample"], [2, BINARY, email]]]))
    return edit(data, fn)


def unmasked_unknown(where):
    """An unknown field (id 40) holding an email in an UNMASKED chunk's ColumnChunk or
    ColumnMetaData (a newer format's field: copied verbatim as the chunk is)."""
    def craft(data):
        def fn(fm):
            email = an_email(fm)
            for rg in row_groups(fm):
                _, cc, md = next(c for c in chunks(rg) if c[0] == "region")
                (cc if where == "chunk" else md).append([40, BINARY, email])
        return edit(data, fn)
    return craft


def logical_type_unknown(data):
    """The masked column's `SchemaElement.logicalType` (field 10, a union kept verbatim) with an
    unknown field holding an email inside its StringType struct."""
    def fn(fm):
        email = an_email(fm)
        element = next(e for e in value(fm, 2)[1] if value(e, 4) == b"customer_email")
        put(element, 10, STRUCT, [[1, STRUCT, [[40, BINARY, email]]]])
    return edit(data, fn)


def column_orders_unknown(data):
    """`FileMetaData.column_orders` (field 7, kept verbatim): the masked column's
    TypeDefinedOrder with an unknown field holding an email."""
    def fn(fm):
        email = an_email(fm)
        orders = value(fm, 7)[1]
        orders[1] = [[1, STRUCT, [[40, BINARY, email]]]]
    return edit(data, fn)


def sorting_columns_unknown(data):
    """`RowGroup.sorting_columns` (field 4, kept verbatim in a masked row group): a SortingColumn
    of the masked column with an unknown field holding an email."""
    def fn(fm):
        email = an_email(fm)
        for rg in row_groups(fm):
            put(rg, 4, LIST, (STRUCT, [[[1, I32, 1], [2, TRUE, False], [3, TRUE, True],
                                         [40, BINARY, email]]]))
    return edit(data, fn)


def arrow_schema_edit(data, fn):
    """`data` with its ARROW:schema value's decoded message replaced by `fn(message)`."""
    def edit_fm(fm):
        for kv in value(fm, 5)[1]:
            if value(kv, 1) == b"ARROW:schema":
                put(kv, 2, BINARY, base64.b64encode(fn(base64.b64decode(value(kv, 2)))))
    return edit(data, edit_fm)


def arrow_schema_trailing(email):
    """Bytes after the IPC message's flatbuffer (where a message's body would be)."""
    return lambda message: message + email


def arrow_schema_inside(email):
    """Bytes inside the flatbuffer's declared length that no offset reaches."""
    def fn(message):
        assert message[:4] == b"\xff" * 4
        n = int.from_bytes(message[4:8], "little")
        fb = message[8:8 + n] + email + b"\0" * (-len(email) % 8)
        return message[:4] + len(fb).to_bytes(4, "little") + fb + message[8 + n:]
    return fn


def arrow_schema_timezone(table):
    """A real pyarrow file whose UNMASKED order_ts is a timestamp with a time zone: the zone's
    name is free text in ARROW:schema (here an email); pyarrow writes it as given."""
    email = next(e for e in table["customer_email"].to_pylist() if e)
    ts = table["order_ts"].cast(pa.timestamp("us", tz="UTC"))
    return plain(table.set_column(4, pa.field("order_ts", pa.timestamp("us", tz=email)),
                                  ts.cast(pa.timestamp("us", tz=email))))


def dag_schema_message(levels):
    """An Arrow IPC schema message whose Field k has two children, both Field k + 1
    (flatbuffer offsets only point forward, but nothing stops two pointing at one table):
    a walk of the children visits 2^levels fields in a message of about 20 bytes a level."""
    def u16(*v):
        return struct.pack(f"<{len(v)}H", *v)
    buf = bytearray(44)
    buf[0:4] = struct.pack("<I", 44)                 # root: the Message at 44
    buf[4:14] = u16(10, 12, 4, 6, 8)                 # Message vtable: version, header_type, header
    buf[16:24] = u16(8, 8, 0, 4)                     # Schema vtable: fields
    buf[24:40] = u16(16, 8, 0, 0, 0, 0, 0, 4)        # Field vtable: children
    buf[40:44] = u16(4, 4)                           # leaf Field vtable: nothing
    buf += struct.pack("<ihBxI", 44 - 4, 4, 1, 4)    # Message: V5, Schema, header at 56
    buf += struct.pack("<iI", 56 - 16, 4)            # Schema at 56: fields vector at 64
    buf += struct.pack("<II", 1, 4)                  # fields: [Field at 72]
    for _ in range(levels):
        p = len(buf)
        buf += struct.pack("<iIIII", p - 24, 4, 2, 8, 4)   # Field; children [p+20, p+20]
    p = len(buf)
    buf += struct.pack("<i", p - 40)
    return b"\xff" * 4 + len(buf).to_bytes(4, "little") + bytes(buf)


def arrow_schema_dag(data, levels=60):
    return arrow_schema_edit(data, lambda _: dag_schema_message(levels))


def duplicate_field_id(table):
    """Iceberg-style field ids (`PARQUET:field_id`): an UNMASKED column `contact` (the emails
    again) carrying customer_email's field id 2. Iceberg readers (Spark, Trino, pyiceberg)
    project columns by field id, not by name."""
    ids = {"order_id": 1, "customer_email": 2, "amount": 3, "region": 4, "order_ts": 5}
    fields = [f.with_metadata({b"PARQUET:field_id": str(ids[f.name]).encode()})
              for f in table.schema]
    t = table.cast(pa.schema(fields))
    contact = pa.field("contact", pa.string(), metadata={b"PARQUET:field_id": b"2"})
    return plain(t.append_column(contact, table["customer_email"]))


def pandas_file(table):
    """What `DataFrame.to_parquet` writes (pyarrow engine): ARROW:schema carries the "pandas"
    schema metadata. Unmasked columns whose type only ARROW:schema gives: a timedelta
    (Parquet INT64, no logical type), a time zone, a categorical."""
    import pandas as pd
    df = table.to_pandas()
    df["wait"] = pd.to_timedelta(df["order_id"] % 97, unit="s")
    df["order_ts"] = df["order_ts"].dt.tz_localize("Europe/Paris")
    df["region"] = df["region"].astype("category")
    buf = io.BytesIO()
    df.to_parquet(buf, engine="pyarrow", index=False)
    return buf.getvalue()


def arrow_only_types(table):
    """A pyarrow file without schema metadata whose unmasked columns need ARROW:schema: a
    duration, a dictionary, a large string, a time zone (kept: no custom metadata)."""
    t = table.append_column("wait", pa.array(
        [i % 97 for i in table["order_id"].to_pylist()], pa.duration("s")))
    t = t.set_column(3, "region", t["region"].cast(pa.large_string()))
    t = t.append_column("region_dict", table["region"].dictionary_encode())
    t = t.set_column(4, "order_ts", t["order_ts"].cast(pa.timestamp("us", tz="Europe/Paris")))
    return pyarrow_bytes(t)


def many_row_groups(data, copies):
    """Row group 0's metadata repeated `copies` times (each chunk names the same pages): a
    footer near the 16 MiB maximum of a hundred thousand chunks."""
    def fn(fm):
        groups = row_groups(fm)
        groups[:] = [groups[0]] * copies
        put(fm, 3, 6, value(groups[0], 3) * copies)
    return edit(data, fn)


def bloom_without_length(table):
    """Bloom filters on the UNMASKED order_id without `bloom_filter_length`, as parquet-mr 1.12
    (Spark 3.2, 3.3) writes them: 48,000 rows in three row groups, each filter 32 KiB, the
    first two further from the end than the 64 KiB tail read."""
    big = pa.concat_tables([table] * 40)
    big = big.set_column(0, "order_id", pa.array(range(big.num_rows), pa.int64()))
    data = pyarrow_bytes(big, row_group_size=16000,
                         bloom_filter_options={"order_id": {"ndv": 60000, "fpp": 0.01}})

    def fn(fm):
        for rg in row_groups(fm):
            md = next(md for n, _, md in chunks(rg) if n == "order_id")
            assert value(md, 14) is not None
            drop(md, 15)
    return edit(data, fn)


def real_writers(table):
    """The orders table as real writers write it by default (besides the demo's pyarrow)."""
    import polars as pl
    from test_attacks_parquet_2 import duckdb_bytes
    buf = io.BytesIO()
    pl.from_arrow(table).write_parquet(buf)
    return {"writer-duckdb.parquet": duckdb_bytes(table, ", ROW_GROUP_SIZE 300"),
            "writer-polars.parquet": buf.getvalue(),
            "writer-pyarrow.parquet": pyarrow_bytes(table)}


def arrow_schema_names_swapped(table):
    """A sixth column `notes` (the emails again, unmasked) that ARROW:schema names
    `customer_email`, and customer_email named `notes` there: a reader taking names from
    ARROW:schema would show the clear emails as customer_email."""
    t = table.append_column("notes", table["customer_email"])
    names = [f.name for f in t.schema]
    names[1], names[5] = "notes", "customer_email"
    message = pa.schema([f.with_name(n) for f, n in zip(t.schema, names)]).serialize()
    return arrow_schema_edit(plain(t), lambda _: message.to_pybytes())


def created_by(data):
    """`FileMetaData.created_by` (a known field, kept as it is) holding an email: the writer's
    name is free text too."""
    def fn(fm):
        put(fm, 6, BINARY, b"parquet-cpp-arrow version 21.0.0 " + an_email(fm))
    return edit(data, fn)


def big_footer_copies(data, n):
    """`n` copies of `data`, each another object version: the last character of its
    created_by changed (same length, so no footer re-encoding of a 16 MB footer)."""
    created_by = value(footer_of(data), 6)
    at = data.rindex(created_by)
    return {f"big-footer-{i}.parquet":
            data[:at] + created_by[:-1] + b"abcdefghij"[i:i + 1] + data[at + len(created_by):]
            for i in range(n)}


BIG_COPIES = 16


def crafted_objects(first):
    table = pq.read_table(io.BytesIO(first))
    email = an_email(footer_of(first))
    many = many_row_groups(first, 27_000)
    out = real_writers(table)
    out.update(big_footer_copies(many, BIG_COPIES))
    out.update({
        "unmasked-chunk-kv.parquet": unmasked_chunk_key_value(first),
        "unmasked-unknown-chunk.parquet": unmasked_unknown("chunk")(first),
        "unmasked-unknown-meta.parquet": unmasked_unknown("meta")(first),
        "logical-type-unknown.parquet": logical_type_unknown(first),
        "column-orders-unknown.parquet": column_orders_unknown(first),
        "sorting-columns-unknown.parquet": sorting_columns_unknown(first),
        "created-by.parquet": created_by(first),
        "arrow-schema-trailing.parquet": arrow_schema_edit(first, arrow_schema_trailing(email)),
        "arrow-schema-inside.parquet": arrow_schema_edit(first, arrow_schema_inside(email)),
        "arrow-schema-timezone.parquet": arrow_schema_timezone(table),
        "duplicate-field-id.parquet": duplicate_field_id(table),
        "arrow-schema-names-swapped.parquet": arrow_schema_names_swapped(table),
        "pandas.parquet": pandas_file(table),
        "arrow-only-types.parquet": arrow_only_types(table),
        "many-row-groups.parquet": many,
        # A real writer's pathological file: one row a group (19,200 groups, 96,000 chunks,
        # a 10.8 MB footer, 19.7 MB in all).
        "one-row-groups.parquet": pyarrow_bytes(pa.concat_tables([table] * 16),
                                                row_group_size=1, compression="none"),
        "bloom-no-length.parquet": bloom_without_length(table),
        "bloom-page-index.parquet": pyarrow_bytes(
            table, row_group_size=300, write_page_index=True, data_page_size=1024,
            bloom_filter_options={c: {"ndv": 1200, "fpp": 0.01}
                                  for c in ("order_id", "customer_email", "region")}),
        # Last: a walk without a bound would never end on this one (the stall probe, last).
        "arrow-schema-dag.parquet": arrow_schema_dag(first),
    })
    return out


# --- the stack -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def atk3(demo_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("attack-parquet-3") / "data"
    shutil.copytree(demo_dir, root, copy_function=os.link)
    orders = root / "acme-warehouse-prod/curated/orders"
    crafted = orders / "crafted3"
    crafted.mkdir()
    first = sorted(orders.glob("*.parquet"))[0].read_bytes()
    objects = crafted_objects(first)
    for name, data in objects.items():
        (crafted / name).write_bytes(data)
    s = start_stack(root, tmp_path_factory.mktemp("run-attack-parquet-3"))
    s.first = first
    s.objects = objects
    s.emails = {e.encode() for p in orders.glob("*.parquet")
                for e in pq.read_table(p)["customer_email"].to_pylist() if e}
    s.amounts = {pa.array([a], pa.float64()).buffers()[1].to_pybytes()
                 for p in orders.glob("*.parquet")
                 for a in pq.read_table(p)["amount"].to_pylist() if a is not None}
    yield s
    s.stop()


def get(stack, principal, name, timeout=60):
    """A GET of crafted object `name`: (status, body), or None when no answer in `timeout` s."""
    port = int(stack.endpoint.rsplit(":", 1)[1].split("/")[0])
    conn = HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", f"/s3p/immuta/{CRAFTED}/{name}",
                     headers={"Authorization": f"AWS {KEYS[principal]}:{SECRET}"})
        r = conn.getresponse()
        return r.status, r.read()
    except TimeoutError:
        return None
    finally:
        conn.close()


def arrow_schema_of(body):
    """The decoded ARROW:schema message of a Parquet file (b"" if none): base64 hides its
    text from a byte search, not from a reader."""
    meta = pq.ParquetFile(io.BytesIO(body)).metadata.metadata or {}
    return base64.b64decode(meta.get(b"ARROW:schema", b""))


def served_clear(stack, principal, name):
    """The clear values a masked principal reads in crafted object `name` (none if refused):
    in its bytes or its decoded ARROW:schema."""
    status, headers, body = request(stack, principal,
                                    f"{CRAFTED}/{name}")
    if refused(status, headers, body):
        return []
    assert status == 200, (status, body[:300])
    return clear_values(stack, principal, body + arrow_schema_of(body))


def unmasked_columns_agree(stack, principal, name, reader):
    """The unmasked columns (all but customer_email, and amount for erin) where
    `reader(bytes)` -> {column: (type, values)} of the view and of upstream differ; the masked
    ones checked to read as masked."""
    status, headers, body = request(stack, principal,
                                    f"{CRAFTED}/{name}")
    assert status == 200, (status, body[:300])
    view, upstream = reader(body), reader(stack.objects[name])
    # The masked columns as this reader reads them: all null, erin's amount all 0.
    assert set(view["customer_email"][1]) == {None}, view["customer_email"][1][:3]
    if principal == "erin":
        assert set(view["amount"][1]) == {0}, view["amount"][1][:3]
    masked = {"customer_email"} | ({"amount"} if principal == "erin" else set())
    return {c: (upstream[c], view.get(c)) for c in upstream
            if c not in masked and view.get(c) != upstream[c]}


def arrow_columns(data):
    t = pq.read_table(io.BytesIO(data))
    return {f.name: (str(f.type), t[f.name].to_pylist()) for f in t.schema}


def duckdb_columns(data):
    import duckdb
    con = duckdb.connect()
    with tempfile.NamedTemporaryFile(suffix=".parquet") as f:
        f.write(data)
        f.flush()
        t = con.execute(f"SELECT * FROM read_parquet('{f.name}')").arrow()
    con.close()
    if not isinstance(t, pa.Table):
        t = t.read_all()  # a RecordBatchReader in newer DuckDB
    return {f.name: (str(f.type), t[f.name].to_pylist()) for f in t.schema}


def polars_columns(data):
    import polars as pl
    df = pl.read_parquet(io.BytesIO(data))
    return {n: (str(df[n].dtype), df[n].to_list()) for n in df.columns}


def pandas_columns(data):
    import pandas as pd
    df = pd.read_parquet(io.BytesIO(data))
    return {n: (str(df[n].dtype), df[n].astype(object).where(df[n].notna(), None).tolist())
            for n in df.columns}


READERS = {"pyarrow": arrow_columns, "duckdb": duckdb_columns, "polars": polars_columns,
           "pandas": pandas_columns}


# --- what held -------------------------------------------------------------------------------

@pytest.mark.parametrize("principal", MASKED)
def test_arrow_only_types_of_unmasked_columns_read_as_upstream(atk3, principal):
    """ARROW:schema without custom metadata is kept: a duration, a dictionary, a large string
    and a zoned timestamp read back with their Arrow types and values."""
    diff = unmasked_columns_agree(atk3, principal, "arrow-only-types.parquet", arrow_columns)
    assert not diff, diff


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("name", ["writer-duckdb.parquet", "writer-polars.parquet",
                                  "writer-pyarrow.parquet"])
@pytest.mark.parametrize("principal", MASKED)
def test_real_writers_unmasked_columns_read_as_upstream(atk3, principal, name, reader):
    """Every reader gets the unmasked columns of a real writer's file, types and values, as
    upstream, and the masked ones all null (erin's amount all 0)."""
    diff = unmasked_columns_agree(atk3, principal, name, READERS[reader])
    assert not diff, {c: (u[0], v and v[0]) for c, (u, v) in diff.items()}


@pytest.mark.parametrize("principal", MASKED)
def test_a_pandas_files_unmasked_columns_read_as_upstream_in_duckdb(atk3, principal):
    """DuckDB takes types from the Parquet schema alone, so the dropped ARROW:schema of a
    pandas file changes nothing for it (pyarrow, pandas, polars: the end of this module)."""
    diff = unmasked_columns_agree(atk3, principal, "pandas.parquet", duckdb_columns)
    assert not diff, {c: (u[0], v and v[0]) for c, (u, v) in diff.items()}


@pytest.mark.parametrize("name", ["many-row-groups.parquet", "one-row-groups.parquet"])
@pytest.mark.parametrize("principal", MASKED)
def test_a_footer_of_many_chunks_is_answered_promptly(atk3, principal, name):
    """27,000 row groups (135,000 chunks naming the same pages, a 16.7 MB footer, just under
    the 16 MiB maximum), or pyarrow's file of one row a group (96,000 chunks): the view or an
    S3 error in seconds, and four other requests made meanwhile are answered in seconds too."""
    def timed(who, name):
        t0 = time.monotonic()
        answer = get(atk3, who, name, timeout=30)
        took = time.monotonic() - t0
        if answer and answer[0] == 200:
            assert len(answer[1]) == len(atk3.objects[name])
            assert not clear_values(atk3, who, answer[1]), (who, name)
            if name == "one-row-groups.parquet":
                t = pq.read_table(io.BytesIO(answer[1]), columns=["customer_email"])
                assert t["customer_email"].null_count == t.num_rows
        why = answer[1][answer[1].find(b"<Message>"):][:120] if answer and answer[0] == 403 else b""
        return answer and answer[0], took, why
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        big = pool.submit(timed, principal, name)
        time.sleep(0.3)
        others = [pool.submit(timed, "erin", "writer-pyarrow.parquet") for _ in range(4)]
        status, took, why = big.result()
        other = [f.result() for f in others]
    print(f"{name} for {principal}: {status} {why} in {took:.2f} s; others: {other}")
    assert status in (200, 403) and took < 10, (status, took)
    assert all(s == 200 and t < 5 for s, t, _ in other), other


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["bloom-no-length.parquet", "writer-duckdb.parquet",
                                  "writer-polars.parquet", "pandas.parquet",
                                  "arrow-only-types.parquet"])
def test_crafted_views_are_consistent(atk3, principal, name):
    """Listing size = HEAD Content-Length = GET bytes = upstream size, one ETag, and ranges
    (around the footer, the regenerated chunks, random cuts) agree with the whole view."""
    key = f"{CRAFTED}/{name}"
    s3 = s3_client(atk3.endpoint, KEYS[principal])
    listed = {o["Key"]: o for o in
              s3.list_objects_v2(Bucket="immuta", Prefix=f"{CRAFTED}/")["Contents"]}
    hs, hh, _ = request(atk3, principal, key, method="HEAD")
    gs, gh, whole = request(atk3, principal, key)
    assert hs == gs == 200
    size = len(atk3.objects[name])
    assert int(hh["content-length"]) == len(whole) == listed[key]["Size"] == size
    assert hh["etag"] == gh["etag"] == listed[key]["ETag"]
    flen = int.from_bytes(whole[-8:-4], "little")
    rng = random.Random(name)
    cases = [(0, 3), (size - 8, size - 1), (size - 8 - flen, size - 1),
             (size - 9 - flen, size - 9 - flen)]
    md = pq.ParquetFile(io.BytesIO(whole)).metadata
    for rg in range(min(md.num_row_groups, 2)):
        c = md.row_group(rg).column(1)
        start = c.dictionary_page_offset or c.data_page_offset
        cases.append((start - 1, start + c.total_compressed_size + 1))
    cases += [tuple(sorted(rng.sample(range(size), 2))) for _ in range(12)]
    for a, b in cases:
        status, rh, body = request(atk3, principal, key, {"Range": f"bytes={a}-{b}"})
        assert status == 206 and rh["etag"] == gh["etag"], (a, b, status)
        assert body == whole[a:b + 1], (a, b)


@pytest.mark.parametrize("principal", MASKED)
def test_duckdb_filters_over_bloom_filters_and_page_indexes(atk3, principal, tmp_path):
    """DuckDB's pushdown (statistics, bloom filters) over a view: the unmasked columns' filters
    give upstream's rows, the masked column's give what all-null gives."""
    import duckdb
    name = "bloom-page-index.parquet"
    status, body = get(atk3, principal, name)
    assert status == 200
    up, view = tmp_path / "up.parquet", tmp_path / "view.parquet"
    up.write_bytes(atk3.objects[name])
    view.write_bytes(body)
    t = pq.read_table(up)
    email = t["customer_email"].drop_null()[7].as_py()
    oid = t["order_id"][611].as_py()
    con = duckdb.connect()

    def count(path, where):
        return con.execute(f"SELECT count(*) FROM '{path}' WHERE {where}").fetchone()[0]
    for where in (f"order_id = {oid}", "region = 'eu'", f"order_id BETWEEN {oid} AND {oid + 40}",
                  "region IN ('eu', 'nowhere')"):
        assert count(view, where) == count(up, where), where
    assert count(up, f"customer_email = '{email}'") >= 1
    assert count(view, f"customer_email = '{email}'") == 0
    assert count(view, "customer_email IS NULL") == t.num_rows
    con.close()


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("principal", MASKED)
def test_readers_name_columns_by_the_parquet_schema(atk3, principal, reader):
    """ARROW:schema calls the clear `notes` customer_email: dropped since the seventh pass
    (its top-level names must be the Parquet columns, in order), and every reader names columns
    by the Parquet schema anyway, so its customer_email is the masked one."""
    status, body = get(atk3, principal, "arrow-schema-names-swapped.parquet")
    assert status == 200
    assert b"ARROW:schema" not in body[-int.from_bytes(body[-8:-4], "little") - 8:]
    columns = READERS[reader](body)
    assert set(columns["customer_email"][1]) == {None}, columns["customer_email"][1][:3]


def envoy_rss_mib(stack):
    pid = stack.children["envoy"].proc.pid
    with open(f"/proc/{pid}/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kb / 1024


def test_concurrent_big_footers_bound_envoys_memory(atk3):
    """Sixteen first reads at once of sixteen versions of a 16.7 MB footer (each read whole
    into the VM, then refused): Envoy's memory afterwards (wasm memory does not shrink) stays
    within 512 MiB over what it was, and a request meanwhile is answered. Measured when this
    pass was made: 125 MiB before, 451 at the peak, 408 after (six reads: 122, 346, 321)."""
    before = envoy_rss_mib(atk3)
    peak = before
    with concurrent.futures.ThreadPoolExecutor(BIG_COPIES + 1) as pool:
        futures = [pool.submit(get, atk3, "alice", f"big-footer-{i}.parquet", 60)
                   for i in range(BIG_COPIES)]
        t0 = time.monotonic()
        other = get(atk3, "erin", "writer-pyarrow.parquet", timeout=30)
        other_took = time.monotonic() - t0
        while not all(f.done() for f in futures):
            peak = max(peak, envoy_rss_mib(atk3))
            time.sleep(0.05)
        answers = [f.result() and f.result()[0] for f in futures]
    after = envoy_rss_mib(atk3)
    print(f"Envoy RSS {before:.0f} MiB before, {peak:.0f} peak, {after:.0f} after; "
          f"answers {answers}; other {other and other[0]} in {other_took:.2f} s")
    assert all(a == 403 for a in answers), answers
    assert other is not None and other[0] == 200 and other_took < 10
    assert after - before < 512, f"{before:.0f} -> {after:.0f} MiB (peak {peak:.0f})"


# --- found open by this pass, fixed since (docs/tables.md, "Parquet"); the stall probe is last
# on purpose: had it stalled, it would have kept an Envoy worker busy for good.

@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["unmasked-chunk-kv.parquet",
                                  "unmasked-unknown-chunk.parquet",
                                  "unmasked-unknown-meta.parquet"])
def test_an_unmasked_chunks_metadata_holds_no_clear_value(atk3, principal, name):
    """An UNMASKED chunk's ColumnChunk is copied verbatim: its ColumnMetaData's
    key_value_metadata and any unknown field of either struct, free text the file-level and
    masked-chunk rewrites drop for the same reason."""
    found = served_clear(atk3, principal, name)
    assert not found, f"{principal} read clear emails in {name}: {found}"


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["column-orders-unknown.parquet",
                                  "sorting-columns-unknown.parquet",
                                  "arrow-schema-trailing.parquet",
                                  "logical-type-unknown.parquet",
                                  "created-by.parquet",
                                  "arrow-schema-inside.parquet",
                                  "arrow-schema-timezone.parquet"])
def test_verbatim_footer_fields_hold_no_clear_value(atk3, principal, name):
    """Once kept verbatim in a masked view's footer: `column_orders` and a row group's
    `sorting_columns` (unknown fields inside a ColumnOrder or SortingColumn), bytes after
    ARROW:schema's flatbuffer, an unknown field inside a `logicalType`, an email in `created_by`,
    bytes inside ARROW:schema's flatbuffer no offset reaches, an email as a time zone's name."""
    found = served_clear(atk3, principal, name)
    assert not found, f"{principal} read clear emails in {name}: {found}"


@pytest.mark.parametrize("principal", MASKED)
def test_an_unmasked_column_with_the_masked_field_id_is_masked_or_refused(atk3, principal):
    """Iceberg readers find a column by its field id: `contact` carries customer_email's id 2,
    so a projection of field 2 may read it. The gateway refuses an unmasked chunk whose
    path names a masked column; a field id naming one is the same claim."""
    status, body = get(atk3, principal, "duplicate-field-id.parquet")
    if status == 403:
        return
    assert status == 200
    t = pq.read_table(io.BytesIO(body))
    ids = {f.name: f.metadata.get(b"PARQUET:field_id") for f in t.schema}
    clear = [n for n, i in ids.items() if i == b"2" and t[n].null_count < t.num_rows]
    assert not clear, f"{principal}: columns with field id 2 served clear: {clear}"


@pytest.mark.parametrize("reader", ["pandas", "polars", "pyarrow"])
@pytest.mark.parametrize("principal", MASKED)
def test_a_pandas_files_unmasked_columns_read_as_upstream(atk3, principal, reader):
    """`DataFrame.to_parquet` puts the "pandas" metadata in ARROW:schema, so a masked view
    drops ARROW:schema whole: the unmasked timedelta reads as int64, the zoned timestamp
    loses its zone, the categorical its dictionary, in pyarrow, pandas and polars (a usability
    bug, not a leak; DuckDB, which reads no ARROW:schema, holds: test_attacks_parquet_3.py)."""
    diff = unmasked_columns_agree(atk3, principal, "pandas.parquet", READERS[reader])
    shown = {c: (u[0], v and v[0]) for c, (u, v) in diff.items()}
    assert not diff, f"{principal}: unmasked columns (upstream type, view type): {shown}"


@pytest.mark.parametrize("principal", MASKED)
def test_an_unmasked_bloom_filter_without_length_still_reads(atk3, principal, tmp_path):
    """A bloom filter of unknown length (parquet-mr 1.12) whose header is not in the tail read
    loses its reference in a masked view (its span unknown, its bytes zeros): DuckDB, which
    reads bloom filters for an equality filter, reads the view as upstream (it failed on
    zeros once: Spark 3.2/3.3 files with bloom filters)."""
    status, body = get(atk3, principal, "bloom-no-length.parquet")
    assert status == 200, (status, body[:200])
    counts = {}
    for which, data in (("upstream", atk3.objects["bloom-no-length.parquet"]), ("view", body)):
        path = tmp_path / f"{which}.parquet"
        path.write_bytes(data)
        try:
            counts[which] = duckdb.sql(
                f"SELECT count(*) FROM '{path}' WHERE order_id = 12345").fetchall()
        except duckdb.Error as e:
            counts[which] = f"{type(e).__name__}: {e}"[:120]
    assert counts["view"] == counts["upstream"], counts


def test_a_hostile_arrow_schema_does_not_stall_the_gateway(atk3):
    """ARROW:schema's walk follows every child: sixty Fields each with two children that are
    the next Field (a DAG, 1.2 KiB) is 2^60 visits. The view or an error in seconds; after a
    few such requests (one an Envoy worker: the stack runs two), the gateway still answers
    another principal's request for another object."""
    answers = []
    for _ in range(4):
        t0 = time.monotonic()
        answer = get(atk3, "alice", "arrow-schema-dag.parquet", timeout=8)
        answers.append((answer and answer[0], round(time.monotonic() - t0, 1)))
    t1 = time.monotonic()
    other = get(atk3, "erin", "arrow-only-types.parquet", timeout=20)
    other_took = time.monotonic() - t1
    assert all(a is not None and took < 5 for a, took in answers) and other is not None, (
        f"DAG ARROW:schema (status, s): {answers}; erin's GET then: "
        f"{'no answer' if other is None else other[0]} in {other_took:.1f} s")
