"""Ninth hostile pass over the masked Parquet `orders` (issue 16), through real Envoy: the
seventh and eighth passes' fixes in arrow_schema.rs (every flatbuffer byte read once, scalars
bounded, names the Parquet schema's or structural, field ids held to `Context`, pandas'
labels) and footer.rs (`Leaf`).

Each test here asserts the SAFE or usable outcome and passed when written, or once what it
found was fixed.

Held: nested Arrow names that are the masked columns' (readers name nested fields by the
Parquet schema); real pyarrow maps, large lists, structs and Iceberg-style ids at every depth,
pandas' MultiIndex, zoned and named indexes and extension dtypes, polars' Array, Decimal,
zoned Datetime, Duration and Binary keep ARROW:schema and read as upstream; a masked column
without an id keeps no Arrow id; decimals typed by their LogicalType alone (no converted type)
and polars' decimals read as upstream in every reader. Found and fixed since: ARROW:schema's
tree was not held to the Parquet schema's (each top-level field now has its column's leaves),
its ids to the Parquet ids, its time zones to zone names (hex spelled an email); pandas'
numbers (one RangeIndex over the file's rows, one column-index level, decimal parameters and
category counts bounded) and a RangeIndex named as the masked column; polars' shared strings
dropped ARROW:schema (usability: a string may be shared).
"""
import base64
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from parquet_crafted import clear_in, crafted_stack, view_or_none  # noqa: F401
from test_attacks_parquet_2 import I32, drop, edit, footer_of, plain, put, refused, value
from test_attacks_parquet_3 import READERS, an_email, arrow_schema_edit
from test_attacks_parquet_4 import fetch
from test_attacks_parquet_5 import unmasked_differences

MASKED = ("alice", "erin")


# --- crafting ---------------------------------------------------------------------------------

def words(email, size=8):
    """`email` as little-endian unsigned ints of `size` bytes (the last padded with zeros)."""
    return [int.from_bytes(email[i:i + size].ljust(size, b"\0"), "little")
            for i in range(0, len(email), size)]


def pandas_doc_edit(data, fn):
    """`data` (a pandas file) with pandas' entry in ARROW:schema replaced by `fn(doc)`, spelled
    as `json.dumps` spells it."""
    def edit_message(message):
        s = pa.ipc.read_schema(pa.py_buffer(message))
        doc = fn(json.loads(s.metadata[b"pandas"]))
        return s.with_metadata({b"pandas": json.dumps(doc).encode()}).serialize().to_pybytes()
    return arrow_schema_edit(data, edit_message)


def pandas_file(table, index=None):
    df = table.to_pandas()
    if index is not None:
        index(df)
    buf = io.BytesIO()
    df.to_parquet(buf)
    return buf.getvalue()


def range_named(data, name):
    """pandas' RangeIndex named `name`."""
    def fn(doc):
        doc["index_columns"][0]["name"] = name
        return doc
    return pandas_doc_edit(data, fn)


def range_numbers(table):
    """`DataFrame.to_parquet` of the orders (a RangeIndex, stored as numbers in pandas' entry
    alone), then: the range's `start` the email's first 8 bytes (pandas shows the index from
    it), and one more range per 24 email bytes whose start, stop and step are the rest (a range
    of another length is skipped by pandas: the file reads)."""
    data = pandas_file(table)
    email = an_email(footer_of(data))

    def fn(doc):
        (rng,) = doc["index_columns"]
        n = rng["stop"] - rng["start"]
        ws = words(email)
        rng.update(start=ws[0], stop=ws[0] + n, step=1)
        rest = ws[1:] + [1] * (-len(ws[1:]) % 3)  # a step is never 0
        doc["index_columns"] = [rng] + [
            {"kind": "range", "name": None, "start": a, "stop": b, "step": c}
            for a, b, c in zip(rest[0::3], rest[1::3], rest[2::3])]
        return doc
    return pandas_doc_edit(data, fn)


def categories_numbers(table):
    """pandas' column index entry repeated, one per 8 email bytes, each entry's
    `num_categories` (a u64) those bytes."""
    data = pandas_file(table)
    email = an_email(footer_of(data))

    def fn(doc):
        (axis,) = doc["column_indexes"]
        doc["column_indexes"] = [dict(axis, metadata={"encoding": "UTF-8", "num_categories": w})
                                 for w in words(email)]
        return doc
    return pandas_doc_edit(data, fn)


def decimal_numbers(table):
    """Each column's pandas entry given `precision` (a u32) and `scale` (an i32): the email's
    next 8 bytes."""
    data = pandas_file(table)
    email = an_email(footer_of(data))

    def fn(doc):
        ws = iter(words(email, 4))
        for c in doc["columns"]:
            p, s = next(ws, 1), next(ws, 0)
            c["metadata"] = {"precision": p, "scale": s - (1 << 32) if s >> 31 else s}
        return doc
    return pandas_doc_edit(data, fn)


def arrow_tree_spelling(data):
    """ARROW:schema's `region` (a string in the Parquet schema) declared a struct of one
    `item` child per email byte, each a FixedSizeBinary of that byte's width: every name
    structural, every width bounded, the tree not the Parquet schema's."""
    email = an_email(footer_of(data))

    def fn(message):
        s = pa.ipc.read_schema(pa.py_buffer(message)).remove_metadata()
        tree = pa.struct([pa.field("item", pa.binary(b)) for b in email])
        return pa.schema([pa.field("region", tree) if f.name == "region" else f
                          for f in s]).serialize().to_pybytes()
    return arrow_schema_edit(data, fn)


def arrow_tree_zones(data):
    """ARROW:schema's `region` a struct of `item` timestamps whose time zones (the characters
    zone names use, 64 at most) are the email's hex, 64 digits each: text, in a tree the
    Parquet schema does not have."""
    text = an_email(footer_of(data)).hex()

    def fn(message):
        s = pa.ipc.read_schema(pa.py_buffer(message)).remove_metadata()
        tree = pa.struct([pa.field("item", pa.timestamp("us", tz=text[i:i + 64]))
                          for i in range(0, len(text), 64)])
        return pa.schema([pa.field("region", tree) if f.name == "region" else f
                          for f in s]).serialize().to_pybytes()
    return arrow_schema_edit(data, fn)


def arrow_tree_of_masked_names(data):
    """ARROW:schema's `region` a struct whose children are named `customer_email` and
    `amount` (names the Parquet schema holds): readers take nested names from the Parquet
    schema."""
    def fn(message):
        s = pa.ipc.read_schema(pa.py_buffer(message)).remove_metadata()
        tree = pa.struct([pa.field("customer_email", pa.string()), pa.field("amount", pa.int64())])
        return pa.schema([pa.field("region", tree) if f.name == "region" else f
                          for f in s]).serialize().to_pybytes()
    return arrow_schema_edit(data, fn)


ID_SPELLERS = ("order_id", "region", "order_ts")


def arrow_ids_spelling(data):
    """customer_email given a Parquet field id (9), no other field one; ARROW:schema's
    order_id, region and order_ts given ids (never 9) the email's first 12 bytes as
    little-endian i32s. pyarrow reports an Arrow field id where the Parquet schema has none."""
    email = an_email(footer_of(data))
    ids = dict(zip(ID_SPELLERS, words(email, 4)))

    def fn(message):
        s = pa.ipc.read_schema(pa.py_buffer(message)).remove_metadata()
        return pa.schema([f.with_metadata({b"PARQUET:field_id": str(ids[f.name]).encode()})
                          if f.name in ids else f for f in s]).serialize().to_pybytes()

    def masked_id(fm):
        element = next(e for e in value(fm, 2)[1] if value(e, 4) == b"customer_email")
        put(element, 9, I32, 9)
    return edit(arrow_schema_edit(data, fn), masked_id)


# --- real writers: what keeps ARROW:schema upstream should keep it in the view ----------------

def pandas_frames(table):
    """Real `DataFrame.to_parquet` files of dtypes and indexes readers rebuild from pandas'
    entry."""
    import decimal

    import numpy as np
    import pandas as pd

    def multi(df):
        df.index = pd.MultiIndex.from_arrays([df["region"], df["order_id"]], names=[None, None])

    def named_ts(df):
        df.index = pd.DatetimeIndex(df["order_ts"]).tz_localize("Europe/Paris")
        df.index.name = "when"

    def same_name(df):
        # pyarrow stores it as __index_level_0__ labelled order_id.
        df.index = pd.Index(df["order_id"] * 2, name="order_id")

    def dtypes(df):
        n = len(df)
        df["cat"] = pd.Categorical(df["region"])
        df["nint"] = pd.array([None if i % 4 == 0 else i for i in range(n)], "Int64")
        df["nbool"] = pd.array([None if i % 5 == 0 else i % 2 == 0 for i in range(n)],
                               "boolean")
        df["s"] = pd.array(df["region"], "string")
        df["lst"] = [[i, i + 1][: i % 3] for i in range(n)]
        df["dec"] = [decimal.Decimal(i) / 100 for i in range(n)]
        df["td"] = pd.to_timedelta(np.arange(n), unit="s")
        df["u8"] = np.arange(n, dtype=np.uint8)
        df["f32"] = np.arange(n, dtype=np.float32)

    def more(df):
        n = len(df)
        df["tz"] = pd.DatetimeIndex(df["order_ts"]).tz_localize("America/New_York")
        df["icat"] = pd.Categorical([i % 3 for i in range(n)], ordered=True)
        df["st"] = [{"a": i, "b": str(i)} for i in range(n)]
        df["ls"] = [[str(i)] * (i % 2) for i in range(n)]
        df["raw"] = [bytes([i % 256]) for i in range(n)]
        df["f64"] = pd.array([None if i % 3 else i / 2 for i in range(n)], "Float64")

    return {
        "pandas-more.parquet": pandas_file(table, more),
        "pandas-multiindex.parquet": pandas_file(table, multi),
        "pandas-zoned-index.parquet": pandas_file(table, named_ts),
        "pandas-index-as-column.parquet": pandas_file(table, same_name),
        "pandas-dtypes.parquet": pandas_file(table, dtypes),
    }


POLARS_COLUMNS = ("ls", "arr", "dec", "zoned", "dur", "bin")


def polars_nested(table, only=POLARS_COLUMNS):
    """polars' list of structs of lists, Array, Decimal, zoned Datetime, Duration and Binary
    columns (those of `only`)."""
    import polars as pl
    n = table.num_rows
    columns = {
        "ls": pl.Series("ls", [[{"x": i, "y": [i % 2 == 0] * (i % 3)}] * (i % 2)
                               for i in range(n)]),
        "arr": pl.Series("arr", [[i, i + 1] for i in range(n)], dtype=pl.Array(pl.Int64, 2)),
        "dec": pl.Series("dec", list(range(n))).cast(pl.Decimal(10, 2)),
        "zoned": pl.col("order_ts").dt.replace_time_zone("UTC").alias("zoned"),
        "dur": pl.Series("dur", list(range(n))).cast(pl.Duration("ms")),
        "bin": pl.Series("bin", [bytes([i % 256]) for i in range(n)]),
    }
    df = pl.from_arrow(table).with_columns(*(columns[c] for c in only))
    buf = io.BytesIO()
    df.write_parquet(buf)
    return buf.getvalue()


def polars_lists(table):
    """What polars writes for two list columns and a Categorical: its flatbuffer builder
    stores the two fields' equal name `item` once, both fields pointing at it."""
    import polars as pl
    n = table.num_rows
    df = pl.from_arrow(table).with_columns(
        pl.Series("a", [[i] * (i % 3) for i in range(n)]),
        pl.Series("b", [[str(i)] * (i % 2) for i in range(n)]),
        pl.col("region").cast(pl.Categorical).alias("cat"))
    buf = io.BytesIO()
    df.write_parquet(buf)
    return buf.getvalue()


def pyarrow_nested(table):
    """pyarrow's map, large list and list of dictionary strings, and field ids on nested
    fields (Iceberg's files number every field)."""
    n = table.num_rows
    t = (table
         .append_column("m", pa.array([[(f"k{j}", j) for j in range(i % 3)] for i in range(n)],
                                      pa.map_(pa.string(), pa.int32())))
         .append_column("ll", pa.array([[i] * (i % 2) for i in range(n)],
                                       pa.large_list(pa.int16())))
         .append_column("st", pa.array([{"a": i, "b": str(i)} for i in range(n)])))
    return plain(t)


def with_ids(table, masked_id=True):
    """Iceberg-style ids on every field at any depth (a struct's children too); customer_email
    without one when `masked_id` is false, in Arrow and Parquet alike."""
    n = table.num_rows
    t = table.append_column("st", pa.array([{"a": i, "b": str(i)} for i in range(n)]))
    counter = iter(range(1, 100))

    def ided(f):
        if f.name == "customer_email" and not masked_id:
            return f
        ty = f.type
        if pa.types.is_struct(ty):
            ty = pa.struct([ided(c) for c in ty])
        return f.with_type(ty).with_metadata({b"PARQUET:field_id": str(next(counter)).encode()})
    return plain(t.cast(pa.schema([ided(f) for f in t.schema])))


def decimal_logical_only(table):
    """A DECIMAL(20, 2) column `dec` (FIXED_LEN_BYTE_ARRAY) and a DECIMAL(9, 3) one (INT32)
    with their LogicalType and the element's scale and precision, without the converted type
    (the writer's choice: parquet.thrift deprecates it)."""
    import decimal
    n = table.num_rows
    t = (table
         .append_column("dec", pa.array([decimal.Decimal(i) / 100 for i in range(n)],
                                        pa.decimal128(20, 2)))
         .append_column("dec32", pa.array([decimal.Decimal(i) / 1000 for i in range(n)],
                                          pa.decimal128(9, 3))))
    data = plain(t, store_decimal_as_integer=True)

    def fn(fm):
        for e in value(fm, 2)[1]:
            if value(e, 4) in (b"dec", b"dec32"):
                drop(e, 6)
    return edit(data, fn)


def crafted_objects(first):
    table = pq.read_table(io.BytesIO(first))
    out = {
        "pandas-range-numbers.parquet": range_numbers(table),
        "pandas-range-masked-name.parquet": range_named(range_numbers(table), "customer_email"),
        "pandas-categories-numbers.parquet": categories_numbers(table),
        "pandas-decimal-numbers.parquet": decimal_numbers(table),
        "arrow-tree-spelling.parquet": arrow_tree_spelling(first),
        "arrow-tree-masked-names.parquet": arrow_tree_of_masked_names(first),
        "arrow-tree-zones.parquet": arrow_tree_zones(first),
        "arrow-ids-spelling.parquet": arrow_ids_spelling(first),
        "polars-nested.parquet": polars_nested(table),
        "pyarrow-nested.parquet": pyarrow_nested(table),
        "polars-lists.parquet": polars_lists(table),
        "decimal-logical-only.parquet": decimal_logical_only(table),
        "ids-everywhere.parquet": with_ids(table),
        "ids-but-masked.parquet": with_ids(table, masked_id=False),
    }
    out.update(pandas_frames(table))
    out.update({f"polars-{c}.parquet": polars_nested(table, (c,)) for c in POLARS_COLUMNS})
    return out


# --- the stack -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def atk9(demo_dir, tmp_path_factory):
    yield from crafted_stack(demo_dir, tmp_path_factory, "9", crafted_objects)


# --- reading a view ------------------------------------------------------------------------

def arrow_schema_message(body):
    meta = pq.ParquetFile(io.BytesIO(body)).metadata.metadata or {}
    return base64.b64decode(meta.get(b"ARROW:schema", b""))


def pandas_doc(body):
    message = arrow_schema_message(body)
    if not message:
        return None
    meta = pa.ipc.read_schema(pa.py_buffer(message)).metadata or {}
    return json.loads(meta[b"pandas"]) if b"pandas" in meta else None


def spelled_by(numbers, size):
    """`numbers` as `size`-byte little-endian words, end to end."""
    return b"".join((n % (1 << (8 * size))).to_bytes(size, "little") for n in numbers)


def pandas_read(data):
    import pandas as pd
    return pd.read_parquet(io.BytesIO(data))


# --- what held -------------------------------------------------------------------------------

@pytest.mark.parametrize("principal", MASKED)
def test_an_arrow_tree_naming_masked_columns_shows_no_masked_column(atk9, principal):
    """The nested names may be the masked columns' (the Parquet schema's names), but readers
    name nested fields by the Parquet schema: region reads as upstream, as a string."""
    name = "arrow-tree-masked-names.parquet"
    body = view_or_none(atk9, principal, name)
    if body is None:
        return
    for reader in ("pyarrow", "polars", "pandas"):
        try:
            view = READERS[reader](body)
        except Exception:  # noqa: BLE001 - a reader refusing the view shows nothing
            continue
        up = READERS[reader](atk9.objects[name])
        assert view["region"] == up["region"], reader


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["pyarrow-nested.parquet",
                                  *[f"polars-{c}.parquet" for c in POLARS_COLUMNS
                                    if c != "ls"],
                                  "ids-everywhere.parquet",
                                  "pandas-multiindex.parquet", "pandas-zoned-index.parquet",
                                  "pandas-index-as-column.parquet", "pandas-dtypes.parquet",
                                  "pandas-more.parquet"])
def test_real_writers_arrow_schema_is_kept(atk9, principal, name):
    """pyarrow's maps, large lists, structs and nested field ids, pandas' MultiIndex, zoned
    and named indexes and extension dtypes: ARROW:schema kept as written."""
    body = view_or_none(atk9, principal, name)
    assert body is not None
    assert arrow_schema_message(body) == arrow_schema_message(atk9.objects[name])


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["pandas-multiindex.parquet", "pandas-zoned-index.parquet",
                                  "pandas-index-as-column.parquet", "pandas-dtypes.parquet",
                                  "pandas-more.parquet"])
def test_real_pandas_frames_read_as_upstream(atk9, principal, name):
    import pandas as pd
    view, up = pandas_read(view_or_none(atk9, principal, name)), pandas_read(atk9.objects[name])
    masked = {"customer_email"} | ({"amount"} if principal == "erin" else set())
    pd.testing.assert_index_equal(view.index, up.index)
    keep = [c for c in up.columns if c not in masked]
    pd.testing.assert_frame_equal(view[keep], up[keep])


@pytest.mark.parametrize("principal", MASKED)
def test_a_masked_column_without_an_id_keeps_no_arrow_ids(atk9, principal):
    """customer_email has no id where every other field has one: pyarrow reports the Parquet
    schema's ids either way, and the view's ARROW:schema (if kept) carries none."""
    name = "ids-but-masked.parquet"
    body = view_or_none(atk9, principal, name)
    if body is None:
        return
    message = arrow_schema_message(body)
    if message:
        s = pa.ipc.read_schema(pa.py_buffer(message))
        assert all(not f.metadata for f in s), s
    view = pq.read_schema(io.BytesIO(body))
    assert not (view.field("customer_email").metadata or {}).get(b"PARQUET:field_id")


def test_the_stack_still_answers_others(atk9):
    name = "pandas-range-numbers.parquet"
    status, _, body = fetch(atk9, "carol", name)
    assert status == 200 and body == atk9.objects[name]



@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("reader", ["pyarrow", "duckdb", "polars", "pandas"])
@pytest.mark.parametrize("name", ["decimal-logical-only.parquet", "polars-dec.parquet"])
def test_decimals_read_as_upstream(atk9, principal, reader, name):
    from test_attacks_parquet_5 import unmasked_differences
    diff = unmasked_differences(atk9, principal, name, READERS[reader])
    assert not diff, f"{principal}/{reader}: {diff}"


# --- found open, fixed since ---------------------------------------------------------------

def range_words(doc):
    """The first range's start, then every other range's start, stop and step."""
    ranges = [i for i in doc["index_columns"] if isinstance(i, dict)]
    return ranges[:1] and [ranges[0]["start"]] + [
        n for r in ranges[1:] for n in (r["start"], r["stop"], r["step"])]


def categories_words(doc):
    return [(c.get("metadata") or {}).get("num_categories", 0) for c in doc["column_indexes"]]


def decimal_words(doc):
    return [n for c in doc["columns"] for key in ("precision", "scale")
            for n in [(c.get("metadata") or {}).get(key, 0)]]


@pytest.mark.parametrize("principal", MASKED)
def test_an_arrow_tree_not_the_parquet_schemas_is_not_kept(atk9, principal):
    """MEDIUM: region (a Parquet string) a struct of FixedSizeBinary widths spelling the
    email in the view's ARROW:schema."""
    body = view_or_none(atk9, principal, "arrow-tree-spelling.parquet")
    if body is None:
        return
    message = arrow_schema_message(body)
    if not message:
        return
    region = pa.ipc.read_schema(pa.py_buffer(message)).field("region").type
    widths = bytes(c.type.byte_width for c in region) if pa.types.is_struct(region) else b""
    assert not clear_in(atk9, widths), f"{principal}: ARROW:schema's widths spell {widths}"


@pytest.mark.parametrize("principal", MASKED)
def test_an_arrow_tree_holds_no_text_in_its_zones(atk9, principal):
    """MEDIUM: the tree's nested timestamps' zones are the email's hex."""
    body = view_or_none(atk9, principal, "arrow-tree-zones.parquet")
    if body is None:
        return
    message = arrow_schema_message(body)
    if not message:
        return
    region = pa.ipc.read_schema(pa.py_buffer(message)).field("region").type
    text = "".join(c.type.tz for c in region) if pa.types.is_struct(region) else ""
    assert not clear_in(atk9, bytes.fromhex(text)), f"{principal}: zones spell {text}"


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name,read,size", [
    ("pandas-range-numbers.parquet", range_words, 8),
    ("pandas-categories-numbers.parquet", categories_words, 8),
    ("pandas-decimal-numbers.parquet", decimal_words, 4)])
def test_pandas_numbers_spell_no_email(atk9, principal, name, read, size):
    """MEDIUM: pandas' ranges, column index entries or decimal parameters spell the email
    as little-endian words."""
    body = view_or_none(atk9, principal, name)
    if body is None:
        return
    doc = pandas_doc(body)
    spelled = spelled_by(read(doc), size) if doc else b""
    assert not clear_in(atk9, spelled), f"{principal}: pandas' numbers spell {spelled}"


@pytest.mark.parametrize("principal", MASKED)
def test_pandas_shows_no_email_in_its_index(atk9, principal):
    """MEDIUM: the view's DataFrame index starts at the email's first 8 bytes."""
    body = view_or_none(atk9, principal, "pandas-range-numbers.parquet")
    if body is None:
        return
    start = int(pandas_read(body).index[0]).to_bytes(8, "little")
    assert not any(start in e for e in atk9.emails), f"{principal}: pandas' index starts {start}"


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["polars-ls.parquet", "polars-nested.parquet",
                                  "polars-lists.parquet"])
def test_polars_shared_names_keep_arrow_schema(atk9, principal, name):
    """LOW-MEDIUM (usability): polars' one `item` string for two fields drops ARROW:schema."""
    body = view_or_none(atk9, principal, name)
    assert arrow_schema_message(body) == arrow_schema_message(atk9.objects[name])


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("reader", ["pyarrow", "polars"])
def test_polars_lists_read_as_upstream(atk9, principal, reader):
    """LOW-MEDIUM (usability): large types and polars' Categorical read otherwise."""
    diff = unmasked_differences(atk9, principal, "polars-lists.parquet", READERS[reader])
    assert not diff, f"{principal}/{reader}: {diff}"


@pytest.mark.parametrize("principal", MASKED)
def test_arrow_field_ids_are_the_parquet_schemas(atk9, principal):
    """MEDIUM: ids the Parquet schema does not give, 31 free bits each, reported by pyarrow
    for the view's columns (alice; erin's amount has no id, so her view keeps none)."""
    import io

    import pyarrow.parquet as pq
    body = view_or_none(atk9, principal, "arrow-ids-spelling.parquet")
    if body is None:
        return
    schema = pq.read_schema(io.BytesIO(body))
    ids = [int((schema.field(n).metadata or {}).get(b"PARQUET:field_id", 0)) for n in ID_SPELLERS]
    spelled = spelled_by(ids, 4)
    assert not any(spelled in e for e in atk9.emails), f"{principal}: pyarrow's ids {spelled}"


@pytest.mark.parametrize("principal", MASKED)
def test_pandas_shows_no_masked_name_over_the_numbers(atk9, principal):
    """MEDIUM (with the numbers above): the index is labelled customer_email, its first value
    the email's first 8 bytes."""
    body = view_or_none(atk9, principal, "pandas-range-masked-name.parquet")
    if body is None:
        return
    index = pandas_read(body).index
    start = int(index[0]).to_bytes(8, "little")
    assert not (index.name == "customer_email" and any(start in e for e in atk9.emails)), \
        f"{principal}: pandas' index {index.name!r} starts {start}"
