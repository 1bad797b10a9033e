"""Tenth hostile pass over the masked Parquet `orders` (issue 16), through real Envoy: the
ninth pass's fixes (ARROW:schema's top-level leaves and ids held to the Parquet schema's, time
zones IANA names or offsets, shared strings; pandas' RangeIndex over the file's rows).

Each test here asserts the SAFE or usable outcome and passed when written, or once what it
found was fixed; known_limits_parquet_10.py (uncollected) keeps the probes left as limits.

Held: a pandas `numpy_type` zone spelled in hex (no timestamp of the schema carries it); a
real single-file pandas frame keeps ARROW:schema. Found and fixed since: a primitive column
declared a FixedSizeList chain in ARROW:schema (a primitive Parquet column's Arrow field has
no children now); pandas' entries not one per field (extra `columns`, `__index_level_N__`
names of no field); real pandas ranges of another step or length dropped ARROW:schema
(usability). Left as limits: numbers a reader shows as written (Arrow leaves' type
parameters, pandas' versions, `created_by` in hex, num_rows, offsets, distinct_count).
"""
import io
import os
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from parquet_crafted import crafted_stack
from test_attacks_parquet_2 import (BINARY, I64, chunks, edit, footer_of, plain, put,
                                    row_groups, value)
from test_attacks_parquet_3 import an_email, arrow_schema_edit
from test_attacks_parquet_4 import fetch
from test_attacks_parquet_9 import (MASKED, arrow_schema_message, clear_in, pandas_doc,
                                    pandas_doc_edit, pandas_read, spelled_by, view_or_none,
                                    words)


# --- crafting ---------------------------------------------------------------------------------

def arrow_list_sizes(data):
    """ARROW:schema's `region` (a Parquet string) a chain of FixedSizeLists of `item`, one per
    2 email bytes, outermost first, each `listSize` those bytes: one leaf, names structural."""
    sizes = words(an_email(footer_of(data)), 2)

    def fn(message):
        s = pa.ipc.read_schema(pa.py_buffer(message)).remove_metadata()
        ty = pa.string()
        for size in reversed(sizes):
            ty = pa.list_(pa.field("item", ty), size)
        return pa.schema([pa.field("region", ty) if f.name == "region" else f
                          for f in s]).serialize().to_pybytes()
    return arrow_schema_edit(data, fn)


def list_sizes(message):
    """The chain's listSizes, spelled as 2-byte words."""
    ty = pa.ipc.read_schema(pa.py_buffer(message)).field("region").type
    sizes = []
    while pa.types.is_fixed_size_list(ty):
        sizes.append(ty.list_size)
        ty = ty.value_type
    return spelled_by(sizes, 2)


def num_rows_spelling(data):
    """FileMetaData.num_rows the email's first 8 bytes; the row groups' untouched."""
    email = an_email(footer_of(data))
    return edit(data, lambda fm: put(fm, 3, I64, int.from_bytes(email[:8], "little")))


def frame(table):
    import pandas as pd
    df = table.to_pandas()
    df["cat"] = pd.Categorical(df["region"])
    return df


def pandas_bytes(df):
    buf = io.BytesIO()
    df.to_parquet(buf)
    return buf.getvalue()


def pandas_partitioned(table):
    """One file of `df.to_parquet(dir, partition_cols=["region"])`: its pandas entry's
    RangeIndex is the whole frame's, the file holds one region's rows."""
    df = frame(table)
    with tempfile.TemporaryDirectory() as d:
        df.to_parquet(d, partition_cols=["region"])
        path = sorted(os.path.join(p, f) for p, _, fs in os.walk(d) for f in fs)[0]
        with open(path, "rb") as f:
            return f.read()


def pandas_step_2(table):
    return pandas_bytes(frame(table).iloc[::2])


def pandas_writer_chunks(table):
    """A `ParquetWriter` fed the frame in two chunks: the schema (and its range) the first's."""
    df = frame(table)
    half = len(df) // 2
    first = pa.Table.from_pandas(df.iloc[:half])
    buf = io.BytesIO()
    with pq.ParquetWriter(buf, first.schema) as w:
        w.write_table(first)
        w.write_table(pa.Table.from_pandas(df.iloc[half:]).cast(first.schema))
    return buf.getvalue()


def numpy_zone_hex(data):
    """pandas' entry's first datetime column's `numpy_type` zoned in the email's hex (the Arrow
    schema's own zones untouched)."""
    text = an_email(footer_of(data)).hex()

    def fn(doc):
        for c in doc["columns"]:
            if c["pandas_type"] in ("datetime", "datetimetz"):
                c["pandas_type"] = "datetimetz"
                c["numpy_type"] = f"datetime64[ns, {text}]"
                c["metadata"] = {"timezone": text}
        return doc
    return pandas_doc_edit(data, fn)


def pandas_extra_columns(data):
    """pandas' entry's `columns` given one more copy of its last entry per 2 email bytes, each
    copy's `num_categories` (bounded to 2^20 each) those bytes: the entries outnumber the
    fields."""
    sizes = words(an_email(footer_of(data)), 2)

    def fn(doc):
        last = doc["columns"][-1]
        doc["columns"] += [dict(last, metadata={"num_categories": n, "ordered": False})
                           for n in sizes]
        return doc
    return pandas_doc_edit(data, fn)


def extra_categories(doc):
    """Every column entry's `num_categories` after the fields', as 2-byte words."""
    return spelled_by([(c.get("metadata") or {}).get("num_categories", 0)
                       for c in doc["columns"]], 2)


def arrow_flat_widths(data):
    """Every top-level field of ARROW:schema a FixedSizeBinary whose `byteWidth` is 2 email
    bytes: no tree, names, ids or leaf counts changed, only each leaf's type."""
    email = an_email(footer_of(data))

    def fn(message):
        s = pa.ipc.read_schema(pa.py_buffer(message)).remove_metadata()
        widths = iter(words(email, 2))
        return pa.schema([pa.field(f.name, pa.binary(next(widths, 1))) for f in s]
                         ).serialize().to_pybytes()
    return arrow_schema_edit(data, fn)


def flat_widths(message):
    s = pa.ipc.read_schema(pa.py_buffer(message))
    return spelled_by([f.type.byte_width if pa.types.is_fixed_size_binary(f.type) else 0
                       for f in s], 2)


def pandas_index_levels(data):
    """pandas' `index_columns` given one `__index_level_N__` per 2 email bytes (N those
    bytes, 6 digits at most): names pyarrow's pattern allows, no field of the file."""
    sizes = words(an_email(footer_of(data)), 2)

    def fn(doc):
        doc["index_columns"] = [f"__index_level_{n}__" for n in sizes]
        return doc
    return pandas_doc_edit(data, fn)


def index_levels(doc):
    return spelled_by([int(i.strip("_").rsplit("_", 1)[1]) for i in doc["index_columns"]
                       if isinstance(i, str)], 2)


def base_10000(email):
    """The email's first 16 bytes as ten 4-digit groups (little-endian int, lowest first)."""
    n = int.from_bytes(email[:16].ljust(16, b"\0"), "little")
    return [f"{(n // 10000 ** i) % 10000:04d}" for i in range(10)]


def pandas_versions(data):
    """pandas' `creator.version` and `pandas_version` four numbers and an `rcN` / `.devN`
    each, every number 4 digits (leading zeros allowed): the email's first 16 bytes."""
    g = base_10000(an_email(footer_of(data)))

    def fn(doc):
        doc["creator"]["version"] = f"{g[0]}.{g[1]}.{g[2]}.{g[3]}rc{g[4]}"
        doc["pandas_version"] = f"{g[5]}.{g[6]}.{g[7]}.{g[8]}.dev{g[9]}"
        return doc
    return pandas_doc_edit(data, fn)


def versions_spelled(doc):
    import re
    groups = re.findall(r"\d+", doc["creator"]["version"] + " " + doc["pandas_version"])
    n = sum(int(d) * 10000 ** i for i, d in enumerate(groups))
    return n.to_bytes(16, "little") if n < 1 << 128 else b""


def created_by_hex(data):
    """`created_by` a writer's name and version, then the email in hex (letters and digits,
    which `reads_as_a_writer` allows)."""
    email = an_email(footer_of(data))
    return edit(data, lambda fm: put(fm, 6, BINARY,
                                     b"parquet-cpp-arrow version 21.0.0 " + email.hex().encode()))


def row_group_offsets(table):
    """The orders in row groups of 100 rows, each row group's `file_offset` (an i64 readers
    take nowhere: pyarrow shows it) 8 email bytes, the rest the first group's true offset."""
    data = plain(table, row_group_size=100)
    email = an_email(footer_of(data))

    def fn(fm):
        groups = row_groups(fm)
        ws = words(email)
        for i, rg in enumerate(groups):
            put(rg, 5, I64, ws[i] if i < len(ws) else 4)
    return edit(data, fn)


def offsets_spelled(body):
    """The row groups' `file_offset`s as read from the footer (pyarrow's `to_dict` leaves
    them out; Thrift readers and parquet-tools show them)."""
    return spelled_by([value(rg, 5, 0) for rg in row_groups(footer_of(body))], 8)


def chunk_offsets(table):
    """The orders in row groups of 100 rows, the unmasked `order_id` chunk's `file_offset`
    (ColumnChunk field 2) in each 8 email bytes, the rest untouched."""
    data = plain(table, row_group_size=100)
    email = an_email(footer_of(data))

    def fn(fm):
        for rg, w in zip(row_groups(fm), words(email)):
            cc = next(cc for n, cc, _ in chunks(rg) if n == "order_id")
            put(cc, 2, I64, w)
    return edit(data, fn)


def chunk_offsets_spelled(body):
    """order_id's chunks' `file_offset`s as pyarrow shows them."""
    m = pq.ParquetFile(io.BytesIO(body)).metadata
    return spelled_by([m.row_group(i).column(0).file_offset for i in range(m.num_row_groups)],
                      8)


def chunk_numbers(table, set_number):
    """The orders in row groups of 100 rows, `set_number(md, word)` on the unmasked
    `order_id` chunk's ColumnMetaData in each, the word 8 email bytes."""
    data = plain(table, row_group_size=100)
    email = an_email(footer_of(data))

    def fn(fm):
        for rg, w in zip(row_groups(fm), words(email)):
            md = next(md for n, _, md in chunks(rg) if n == "order_id")
            set_number(md, w)
    return edit(data, fn)


def index_page_offset(md, w):
    put(md, 10, I64, w)


def distinct_count(md, w):
    put(value(md, 12), 4, I64, w)


NUMBER_READS = {
    "index-page-offset": lambda md: value(md, 10, 0),
    "distinct-count": lambda md: value(value(md, 12, []), 4, 0),
}


def chunk_numbers_spelled(body, name):
    """order_id's chunks' number `name` as read from the view's footer."""
    read = NUMBER_READS[name]
    return spelled_by([read(next(md for n, _, md in chunks(rg) if n == "order_id"))
                       for rg in row_groups(footer_of(body))], 8)


def crafted_objects(first):
    table = pq.read_table(io.BytesIO(first))
    single = pandas_bytes(frame(table))
    return {
        "arrow-list-sizes.parquet": arrow_list_sizes(first),
        "num-rows-spelling.parquet": num_rows_spelling(first),
        "pandas-single.parquet": single,
        "pandas-partitioned.parquet": pandas_partitioned(table),
        "pandas-step-2.parquet": pandas_step_2(table),
        "pandas-writer-chunks.parquet": pandas_writer_chunks(table),
        "pandas-numpy-zone-hex.parquet": numpy_zone_hex(single),
        "pandas-extra-columns.parquet": pandas_extra_columns(single),
        "pandas-index-levels.parquet": pandas_index_levels(single),
        "arrow-flat-widths.parquet": arrow_flat_widths(first),
        "pandas-versions.parquet": pandas_versions(single),
        "created-by-hex.parquet": created_by_hex(first),
        "row-group-offsets.parquet": row_group_offsets(table),
        "chunk-offsets.parquet": chunk_offsets(table),
        "index-page-offset.parquet": chunk_numbers(table, index_page_offset),
        "distinct-count.parquet": chunk_numbers(table, distinct_count),
    }


# --- the stack -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def atk10(demo_dir, tmp_path_factory):
    yield from crafted_stack(demo_dir, tmp_path_factory, "10", crafted_objects)


# --- what held -------------------------------------------------------------------------------

@pytest.mark.parametrize("principal", MASKED)
def test_a_numpy_type_zone_no_timestamp_carries_is_not_kept(atk10, principal):
    """pandas' `datetime64[ns, <hex>]` (and its `timezone`): no Arrow timestamp has the zone,
    so pandas' entry does not qualify and no reader sees the hex."""
    body = view_or_none(atk10, principal, "pandas-numpy-zone-hex.parquet")
    if body is None:
        return
    doc = str(pandas_doc(body))
    assert not [e for e in atk10.emails if e.hex() in doc], doc


@pytest.mark.parametrize("principal", MASKED)
def test_a_real_single_file_frame_keeps_arrow_schema(atk10, principal):
    """The baseline of the usability probes: one `to_parquet` file of a default RangeIndex."""
    name = "pandas-single.parquet"
    body = view_or_none(atk10, principal, name)
    assert arrow_schema_message(body) == arrow_schema_message(atk10.objects[name])
    assert pandas_read(body)["cat"].dtype.name == "category"


def test_the_stack_still_answers_others(atk10):
    name = "arrow-list-sizes.parquet"
    status, _, body = fetch(atk10, "carol", name)
    assert status == 200 and body == atk10.objects[name]


# --- found open, fixed since ------------------------------------------------------------------

@pytest.mark.parametrize("principal", MASKED)
def test_arrow_list_sizes_spell_no_email(atk10, principal):
    """MEDIUM: `region` (one Parquet leaf, a string) declared in ARROW:schema a chain of
    nested FixedSizeLists of `item`, one per 2 email bytes, each `listSize` those bytes. The
    leaf count (1), the names (structural) and every bound (listSize <= 2^20, depth <= 64)
    hold, so the view keeps it: ~20 free bits per level, the whole email in one column.
    At fault: arrow_schema.rs `names_ok`/`check_fields` hold the tree's leaves, not its shape
    or types to the Parquet column's (a BYTE_ARRAY leaf at repetition depth 0 is no list)."""
    body = view_or_none(atk10, principal, "arrow-list-sizes.parquet")
    if body is None:
        return
    message = arrow_schema_message(body)
    spelled = list_sizes(message) if message else b""
    assert not clear_in(atk10, spelled), f"{principal}: listSizes spell {spelled}"


@pytest.mark.parametrize("principal", MASKED)
def test_pandas_extra_column_entries_spell_no_email(atk10, principal):
    """MEDIUM: pandas' `columns` given one copy of an entry per 2 email bytes, each copy's
    `num_categories` (<= 2^20, as the ninth pass bounded it) those bytes: the bound holds per
    entry, but nothing holds the number of entries to the fields, so the count of a copied
    entry carries ~20 bits each, the whole email in one file (`pandas_type`, `numpy_type`,
    a decimal's parameters and `index_columns` names would do as well, fewer bits each).
    At fault: arrow_schema.rs `pandas_doc_ok`: `doc.columns` (and `index_columns`) are not
    one entry per Arrow field."""
    body = view_or_none(atk10, principal, "pandas-extra-columns.parquet")
    if body is None:
        return
    doc = pandas_doc(body)
    spelled = extra_categories(doc) if doc else b""
    assert not clear_in(atk10, spelled), f"{principal}: num_categories spell {spelled}"


@pytest.mark.parametrize("principal", MASKED)
def test_pandas_index_level_names_spell_no_email(atk10, principal):
    """MEDIUM: pandas' `index_columns` a list of `__index_level_N__` names, N 2 email bytes
    each: `index_level` accepts any 1-6 digit N whether or not the file has such a field, and
    nothing bounds the list. At fault: arrow_schema.rs `pandas_doc_ok` `name_ok` (an
    `__index_level_N__` need not be a field) and the unbounded `index_columns`."""
    body = view_or_none(atk10, principal, "pandas-index-levels.parquet")
    if body is None:
        return
    doc = pandas_doc(body)
    spelled = index_levels(doc) if doc else b""
    assert not clear_in(atk10, spelled), f"{principal}: index levels spell {spelled}"


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["pandas-step-2.parquet", "pandas-writer-chunks.parquet"])
def test_real_pandas_files_keep_arrow_schema(atk10, principal, name):
    """Usability: real pandas files whose RangeIndex is not exactly the file's rows by steps of
    1 keep ARROW:schema (categoricals, zones, dtypes) in the view:
    `df.iloc[::2].to_parquet()` writes a RangeIndex of step 2 (0 to 1200 over 600 rows: pandas
    rebuilds it, its length ceil((stop - start) / step)); a `ParquetWriter` fed a frame in two
    chunks keeps the first chunk's range (0 to 600 over 1200 rows; pandas falls back to a
    default index, the dtypes stay). `df.to_parquet(dir, partition_cols=["region"])` writes
    the whole frame's range in each partition's file, and also lists the partition column
    `region`, not a field of the file (dropped by `name_ok` before the ninth pass too). At
    fault: arrow_schema.rs `pandas_doc_ok` `range_ok` (and `name_ok` for the partition)."""
    body = view_or_none(atk10, principal, name)
    assert body is not None
    assert arrow_schema_message(body) == arrow_schema_message(atk10.objects[name])
    up = pandas_read(atk10.objects[name])
    assert list(pandas_read(body)["cat"].dtype.categories) == list(up["cat"].dtype.categories)
