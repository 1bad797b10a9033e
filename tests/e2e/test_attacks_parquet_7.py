"""Seventh hostile pass over the masked Parquet `orders` (issue 16), through real Envoy: the
sixth pass's fixes (arrow_schema.rs' `Schema.features`, Union types refused, a field's
`PARQUET:field_id`; footer.rs' level histograms of counts none negative) and the footer fields
around them.

Each test here asserts the SAFE or usable outcome and passed when written, or once what it
found was fixed.

Held: a Union nested as a struct's child leaves ARROW:schema out; a field id that is not a
number, or longer than an i32's digits, leaves it out; an ARROW:schema field id cannot replace
the Parquet schema's where that has one (pyarrow takes the Parquet schema's); a histogram whose
counts spell an email verbatim needs odd counts as negative numbers, refused since; the MASKED
chunk's geospatial statistics and over-wide statistics are dropped with its other metadata; an
unmasked chunk over another row group's masked bytes is refused; a single 3,600-row group,
polars' and pandas' files are consistent views.
Fixed since (arrow_schema.rs): names and scalars (Decimal parameters laid over each other,
dictionary ids) in ARROW:schema; pandas' names of two columns swapped; its field ids for fields
the Parquet schema gives none; polars' Categorical and pandas' period and interval columns
(usability: ARROW:schema kept); and (footer.rs' `Leaf`) an unmasked fixed-width column's
statistics wider than its type, geospatial statistics on a string column, level histograms
longer than the levels, sorting columns past the leaves.
"""
import base64
import io
import json
import random
import struct

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from parquet_crafted import clear_in, crafted_stack, view_or_none  # noqa: F401
from gateway import KEYS, s3_client
from test_attacks_parquet_2 import (
    BINARY, DOUBLE, FALSE, I32, I64, LIST, STRUCT, chunks, drop, edit, field, footer_of, plain,
    put, refused, request, row_groups, value,
)
from test_attacks_parquet_3 import READERS, an_email, arrow_schema_edit
from test_attacks_parquet_4 import CRAFTED, fetch, masked_chunk_edit, unmasked_fields
from test_attacks_parquet_5 import unmasked_differences, view_of

MASKED = ("alice", "erin")


# --- crafting: ARROW:schema --------------------------------------------------------------------

def arrow_schema(message):
    return pa.ipc.read_schema(pa.py_buffer(message))


def region_renamed(email):
    """ARROW:schema's `region` field named by the email: readers name columns by the Parquet
    schema (test_attacks_parquet_3), so this name is shown by none."""
    def fn(message):
        s = arrow_schema(message)
        return pa.schema([f.with_name(email.decode()) if f.name == "region" else f
                          for f in s], metadata=s.metadata).serialize().to_pybytes()
    return fn


def nested_child_named(email):
    """ARROW:schema's `region` a struct whose one child is named by the email."""
    def fn(message):
        s = arrow_schema(message)
        child = pa.struct([pa.field(email.decode(), pa.string())])
        return pa.schema([pa.field("region", child) if f.name == "region" else f
                          for f in s]).serialize().to_pybytes()
    return fn


def nested_union(email):
    """ARROW:schema with one more field, a struct whose child is a sparse union: Union types
    are refused at any depth, not only at the top."""
    def fn(message):
        s = arrow_schema(message).remove_metadata()
        n = -(-len(email) // 4)
        u = pa.sparse_union([pa.field(f"c{i}", pa.int8()) for i in range(n)],
                            type_codes=list(range(n)))
        return pa.schema(list(s) + [pa.field("st", pa.struct([pa.field("u", u)]))]) \
            .serialize().to_pybytes()
    return fn


def with_field_ids(ids):
    """ARROW:schema whose fields carry `PARQUET:field_id` `ids[name]` (bytes), others none."""
    def fn(message):
        s = arrow_schema(message).remove_metadata()
        return pa.schema([f.with_metadata({b"PARQUET:field_id": ids[f.name]})
                          if f.name in ids else f for f in s]).serialize().to_pybytes()
    return fn


def pandas_names_swapped(table):
    """`DataFrame.to_parquet` of the orders and `contact`, an UNMASKED copy of the emails; then
    pandas' entry in ARROW:schema with the two columns' `name`s swapped (each `field_name` its
    own): pandas labels a DataFrame's columns by `name`, the gateway masks by the field."""
    df = table.to_pandas()
    df["contact"] = df["customer_email"]
    buf = io.BytesIO()
    df.to_parquet(buf)

    def fn(message):
        s = arrow_schema(message)
        doc = json.loads(s.metadata[b"pandas"])
        swap = {"customer_email": "contact", "contact": "customer_email"}
        for c in doc["columns"]:
            c["name"] = swap.get(c["name"], c["name"])
        return s.with_metadata({b"pandas": json.dumps(doc).encode()}).serialize().to_pybytes()
    return arrow_schema_edit(buf.getvalue(), fn)


def decimal_fields_message(payload):
    """An IPC schema message built by hand: unnamed Decimal fields whose `precision`, `scale`
    and `bitWidth` (i32s the walk marks read, whatever their values) lie end to end over
    `payload`. The Decimal tables sit 4 bytes apart and share one vtable whose field offsets
    reach past them, so table k's three i32s are payload bytes 4k to 4k + 12."""
    n = max(1, -(-(len(payload) - 8) // 4))
    payload = payload.ljust(4 * n + 8, b"\0")
    b = bytearray()

    def u16(*v):
        b.extend(struct.pack(f"<{len(v)}H", *v))

    def u32(v):
        b.extend(struct.pack("<I", v))

    def table(vtable):
        at = len(b)
        b.extend(struct.pack("<i", at - vtable))
        return at

    def patch(at, target):
        struct.pack_into("<I", b, at, target - at)

    root = len(b)
    u32(0)
    vm = len(b)
    u16(10, 12, 10, 8, 4)                      # Message: version +10, header_type +8, header +4
    vs = len(b)
    u16(8, 8, 0, 4)                            # Schema: fields +4
    vf = len(b)
    u16(12, 12, 0, 0, 8, 4)                    # Field: type_type +8, type +4
    vd = len(b)
    u16(10, 4, 4 * n, 4 * n + 4, 4 * n + 8)    # Decimal: precision, scale, bitWidth
    while len(b) % 4:
        b.append(0)
    m = table(vm)
    header = len(b)
    u32(0)
    b.extend(b"\x01\0\x04\0")                  # header_type Schema, version V5
    s = table(vs)
    fields_at = len(b)
    u32(0)
    vector = len(b)
    u32(n)
    b.extend(bytes(4 * n))
    fields = []
    for _ in range(n):
        f = table(vf)
        fields.append((f, len(b)))
        u32(0)
        b.extend(b"\x07\0\0\0")                # type_type Decimal
    decimals = [table(vd) for _ in range(n)]
    b.extend(payload)
    patch(root, m)
    patch(header, s)
    patch(fields_at, vector)
    for k, (f, type_at) in enumerate(fields):
        patch(vector + 4 + 4 * k, f)
        patch(type_at, decimals[k])
    while len(b) % 8:
        b.append(0)
    return b"\xff" * 4 + struct.pack("<I", len(b)) + bytes(b)


def dictionary_id_positions(message):
    """Where each field's `DictionaryEncoding.id` (an i64 inline in its table) lies in the IPC
    schema message (an id 0, the default, is left out by builders: not listed)."""
    fb = message[8:]

    def u32(at):
        return struct.unpack_from("<I", fb, at)[0]

    def slots(table):
        vtable = table - struct.unpack_from("<i", fb, table)[0]
        n = (struct.unpack_from("<H", fb, vtable)[0] - 4) // 2
        return [struct.unpack_from("<H", fb, vtable + 4 + 2 * i)[0] for i in range(n)]

    def follow(at):
        return at + u32(at)

    msg = u32(0)
    schema = follow(msg + slots(msg)[2])
    fields = follow(schema + slots(schema)[1])
    out = []
    for k in range(u32(fields)):
        f = follow(fields + 4 + 4 * k)
        fs = slots(f)
        if len(fs) > 4 and fs[4]:
            d = follow(f + fs[4])
            ds = slots(d)
            if ds and ds[0]:
                out.append(8 + d + ds[0])
    return sorted(out)


def dictionaries(table):
    """A real pyarrow file with four dictionary columns (`region` dictionary-encoded), its
    ARROW:schema as written (dictionary ids 0 to 3)."""
    for i in range(4):
        table = table.append_column(f"dict{i}", table["region"].dictionary_encode())
    return plain(table)


def dictionary_ids_spelling(table):
    """A real pyarrow file with four dictionary columns (`region` dictionary-encoded): their
    ARROW:schema dictionary ids 1 to 3 rewritten in place to the email, 8 bytes each. Readers
    take types, not ids, from ARROW:schema: pyarrow, polars and pandas read it as before."""
    data = dictionaries(table)
    email = an_email(footer_of(data)).ljust(24, b"\0")

    def fn(message):
        b = bytearray(message)
        positions = dictionary_id_positions(message)
        assert len(positions) == 3
        for k, at in enumerate(positions):
            b[at:at + 8] = email[8 * k:8 * k + 8]
        return bytes(b)
    return arrow_schema_edit(data, fn)


# --- crafting: the Thrift footer ---------------------------------------------------------------

def no_parquet_field_ids(data):
    """The Parquet schema without field ids (SchemaElement 9), ARROW:schema as it is."""
    def fn(fm):
        for e in value(fm, 2)[1]:
            drop(e, 9)
    return edit(data, fn)


def without_field_id(data, name):
    """The Parquet schema's element `name` without its field id."""
    def fn(fm):
        for e in value(fm, 2)[1]:
            if value(e, 4) == name:
                drop(e, 9)
    return edit(data, fn)


def with_contact(table):
    """The orders table and `contact`, an UNMASKED copy of the emails (the writer's), each
    field with an Iceberg-style id 1.. in the Parquet schema and in ARROW:schema."""
    t = table.append_column("contact", table["customer_email"])
    return t.cast(pa.schema([f.with_metadata({b"PARQUET:field_id": str(i + 1).encode()})
                             for i, f in enumerate(t.schema)]))


def wide_statistic(column):
    """`column`'s chunks' `max_value` (Statistics 5) the email: for a fixed-width physical type
    (INT64, DOUBLE) readers decode the first 8 bytes and never show the rest."""
    def craft(data):
        def fn(fm):
            email = an_email(fm)
            for rg in row_groups(fm):
                _, cc, md = next(c for c in chunks(rg) if c[0] == column)
                put(value(md, 12), 5, BINARY, email)
        return edit(data, fn)
    return craft


def bbox_of(email):
    """A BoundingBox (8 DOUBLEs: raw 8-byte values) spelling `email` 8 bytes at a time."""
    p = email.ljust(64, b"\0")
    return [[1, STRUCT, [[i + 1, DOUBLE, p[8 * i:8 * i + 8]] for i in range(8)]]]


def unmasked_geo_stats(rg, cc, md, email):
    """The UNMASKED region chunk (a STRING column, no GEOMETRY) with geospatial statistics."""
    put(md, 17, STRUCT, bbox_of(email))


def masked_geo_stats(cc, md, email):
    put(md, 17, STRUCT, bbox_of(email))


def masked_wide_statistic(cc, md, email):
    """The MASKED chunk's statistics with the email in `max_value` twice over."""
    put(md, 12, STRUCT, [[5, BINARY, email * 2]])


def long_histogram(data):
    """The UNMASKED region chunk's definition level histogram (region is OPTIONAL and flat:
    levels 0 and 1, two counts) of one count per email byte, then one count bringing the sum
    to num_values: every count non-negative, the sum right. One row group of 3,600 rows
    leaves room for an email's bytes (about 2,300)."""
    def fn(fm):
        email = an_email(fm)
        for rg in row_groups(fm):
            _, cc, md = next(c for c in chunks(rg) if c[0] == "region")
            entries = list(email)
            entries.append(value(md, 5) - sum(entries))
            assert entries[-1] >= 0
            put(value(md, 16), 3, LIST, (I64, entries))
    return edit(data, fn)


def even_histogram(rg, cc, md, email):
    """The region chunk's definition level histogram spelling the email verbatim as one-byte
    varints: an odd byte is a negative count, so the histogram is dropped."""
    entries = [(b >> 1) ^ -(b & 1) for b in email]
    entries.append(max(0, value(md, 5) - sum(entries)))
    put(value(md, 16), 3, LIST, (I64, entries))


def sorting_columns(data):
    """Each row group's `sorting_columns` one SortingColumn per email byte, its column_idx the
    byte (the file has 5 leaves): pyarrow shows them as `SortingColumn(column_index=116)`."""
    def fn(fm):
        email = an_email(fm)
        for rg in row_groups(fm):
            put(rg, 4, LIST, (STRUCT, [[[1, I32, b], [2, FALSE, False], [3, FALSE, False]]
                                       for b in email]))
    return edit(data, fn)


def polars_categorical(table):
    """What polars writes for a Categorical column (`_PL_CATEGORICAL2` custom metadata on its
    ARROW:schema field) beside a zoned timestamp and its strings (large_string in Arrow)."""
    df = pl.from_arrow(table).with_columns(
        pl.col("region").cast(pl.Categorical).alias("cat"),
        pl.col("order_ts").dt.replace_time_zone("Europe/Paris").alias("ts_zone"))
    buf = io.BytesIO()
    df.write_parquet(buf)
    return buf.getvalue()


def pandas_period_interval(table):
    """What `DataFrame.to_parquet` writes for a period and an interval column: pyarrow's
    extension types `pandas.period` and `pandas.interval`, whose ARROW:schema fields carry
    `ARROW:extension:name` and a non-empty `ARROW:extension:metadata` (`{"freq": "M"}`)."""
    import pandas as pd
    df = table.to_pandas()
    n = len(df)
    df["period"] = pd.period_range("2020-01", periods=n, freq="M")
    df["interval"] = pd.arrays.IntervalArray.from_breaks(range(n + 1))
    buf = io.BytesIO()
    df.to_parquet(buf)
    return buf.getvalue()


def region_reads_masked_bytes(data):
    """Row group 1's UNMASKED region chunk given row group 0's customer_email chunk's offsets,
    sizes, encodings and statistics (both BYTE_ARRAY): upstream, region's rows 300.. read the
    emails. An overlap across row groups, where test_attacks_parquet_2's shared span is within
    one."""
    def fn(fm):
        rgs = row_groups(fm)
        _, _, masked = next(c for c in chunks(rgs[0]) if c[0] == "customer_email")
        _, cc, md = next(c for c in chunks(rgs[1]) if c[0] == "region")
        for fid in (2, 4, 6, 7, 9, 11, 12, 13, 14, 15, 16):
            f = field(masked, fid)
            if f is None:
                drop(md, fid)
            else:
                put(md, fid, f[1], f[2])
        drop(cc, 4, 5, 6, 7)
    return edit(data, fn)


def crafted_objects(first):
    table = pq.read_table(io.BytesIO(first))
    email = an_email(footer_of(first))
    contact = plain(with_contact(table))
    out = {
        "arrow-region-renamed.parquet": arrow_schema_edit(first, region_renamed(email)),
        "arrow-nested-child-named.parquet": arrow_schema_edit(first, nested_child_named(email)),
        "arrow-nested-union.parquet": arrow_schema_edit(first, nested_union(email)),
        "arrow-decimal-params.parquet": arrow_schema_edit(
            first, lambda message: decimal_fields_message(email)),
        "arrow-field-id-text.parquet": arrow_schema_edit(
            first, with_field_ids({"region": email})),
        "arrow-field-id-long.parquet": arrow_schema_edit(
            first, with_field_ids({"region": b"12345678901"})),
        # contact (clear) takes customer_email's id 2 in ARROW:schema; the Parquet schema's
        # ids are 1 to 6 (kept) or none.
        "contact-ids-swapped.parquet": arrow_schema_edit(
            contact, with_field_ids({"customer_email": b"6", "contact": b"2"})),
        "contact-ids-arrow-only.parquet": no_parquet_field_ids(arrow_schema_edit(
            contact, with_field_ids({"customer_email": b"6", "contact": b"2"}))),
        # ids on every column but contact in the Parquet schema; ARROW:schema gives contact 2.
        "contact-id-arrow-only.parquet": without_field_id(arrow_schema_edit(
            contact, with_field_ids({n: str(i + 1).encode() for i, n in enumerate(
                ["order_id", "customer_email", "amount", "region", "order_ts"])}
                | {"contact": b"2"})), b"contact"),
        "wide-statistic-order-id.parquet": wide_statistic("order_id")(first),
        "unmasked-geo-stats.parquet": unmasked_fields(unmasked_geo_stats)(first),
        "masked-geo-stats.parquet": masked_chunk_edit(masked_geo_stats)(first),
        "masked-wide-statistic.parquet": masked_chunk_edit(masked_wide_statistic)(first),
        "histogram-long.parquet": long_histogram(plain(pa.concat_tables([table] * 3),
                                                       row_group_size=3600)),
        "histogram-even-literal.parquet": unmasked_fields(even_histogram)(first),
        "sorting-columns-bytes.parquet": sorting_columns(first),
        "polars-categorical.parquet": polars_categorical(table),
        "arrow-dictionary-ids.parquet": dictionary_ids_spelling(table),
        "arrow-dictionaries.parquet": dictionaries(table),
        "contact-ids.parquet": contact,
        "pandas-names-swapped.parquet": pandas_names_swapped(table),
        "region-reads-masked-bytes.parquet": region_reads_masked_bytes(first),
        "pandas-period-interval.parquet": pandas_period_interval(table),
    }
    return out


# --- the stack -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def atk7(demo_dir, tmp_path_factory):
    yield from crafted_stack(demo_dir, tmp_path_factory, "7", crafted_objects)


# --- reading a view ------------------------------------------------------------------------

def arrow_schema_decoded(body):
    """The view's ARROW:schema messages, decoded from the Thrift footer itself."""
    return b"".join(base64.b64decode(value(kv, 2))
                    for kv in (value(footer_of(body), 5) or [None, []])[1]
                    if value(kv, 1) == b"ARROW:schema")


def clear_in_view(stack, principal, name):
    """Clear emails in the view's bytes or its decoded ARROW:schema (none if refused)."""
    body = view_or_none(stack, principal, name)
    return [] if body is None else clear_in(stack, body + arrow_schema_decoded(body))


def region_md(body, rg=0):
    return next(md for n, cc, md in chunks(row_groups(footer_of(body))[rg]) if n == "region")


def masked_md(body, rg=0):
    return next(md for n, cc, md in chunks(row_groups(footer_of(body))[rg])
                if n == "customer_email")


def pyarrow_field_ids(body):
    """{column: PARQUET:field_id} as pyarrow reports them (what pyiceberg matches by)."""
    return {f.name: (f.metadata or {}).get(b"PARQUET:field_id")
            for f in pq.ParquetFile(io.BytesIO(body)).schema_arrow}


# --- what held -------------------------------------------------------------------------------

@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["arrow-nested-union.parquet", "arrow-field-id-text.parquet",
                                  "arrow-field-id-long.parquet"])
def test_a_nested_union_or_a_field_id_not_a_number_leaves_arrow_schema_out(atk7, principal,
                                                                           name):
    body = view_of(atk7, principal, name)
    assert arrow_schema_decoded(body) == b"", f"{principal}: ARROW:schema kept in {name}"
    assert not clear_in(atk7, body), principal


@pytest.mark.parametrize("principal", MASKED)
def test_arrow_schema_field_ids_do_not_replace_the_parquet_schemas(atk7, principal):
    """With ids in the Parquet schema, pyarrow reports those, whatever ARROW:schema says:
    contact keeps its own id 6, customer_email the masked 2."""
    ids = pyarrow_field_ids(view_of(atk7, principal, "contact-ids-swapped.parquet"))
    assert ids["customer_email"] == b"2" and ids["contact"] == b"6", ids


@pytest.mark.parametrize("principal", MASKED)
def test_a_histogram_spelling_an_email_verbatim_is_dropped(atk7, principal):
    """One-byte varints spell an odd byte only as a negative count (zigzag): refused since the
    sixth pass, the histogram is not in the view."""
    body = view_of(atk7, principal, "histogram-even-literal.parquet")
    assert not clear_in(atk7, body), principal
    sizes = value(region_md(body), 16) or []
    assert value(sizes, 3) is None, sizes


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["masked-geo-stats.parquet", "masked-wide-statistic.parquet"])
def test_the_masked_chunks_geo_and_wide_statistics_are_dropped(atk7, principal, name):
    body = view_or_none(atk7, principal, name)
    if body is None:
        return
    md = masked_md(body)
    assert value(md, 12) is None and value(md, 17) is None, md
    assert not clear_in(atk7, body + arrow_schema_decoded(body)), principal


# Readers name columns by the Parquet schema, so a renamed ARROW:schema field changes nothing
# they show (the name itself leaves ARROW:schema out: test_arrow_schema_field_names_...).
@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("reader", ["pyarrow", "duckdb", "polars"])
def test_a_renamed_arrow_field_reads_as_upstream(atk7, principal, reader):
    diff = unmasked_differences(atk7, principal, "arrow-region-renamed.parquet",
                                READERS[reader])
    assert not diff, f"{principal}/{reader}: {diff}"


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["histogram-long.parquet", "polars-categorical.parquet",
                                  "pandas-period-interval.parquet"])
def test_new_writers_views_are_consistent(atk7, principal, name):
    """One row group of 3,600 rows, polars' and pandas' files: listing Size, HEAD and GET
    lengths are the upstream size under one ETag, and ranges across the masked chunk's edges
    and the footer are the whole view's bytes."""
    key = f"{CRAFTED}/{name}"
    s3 = s3_client(atk7.endpoint, KEYS[principal])
    listed = {o["Key"]: o for o in
              s3.list_objects_v2(Bucket="immuta", Prefix=f"{CRAFTED}/")["Contents"]}[key]
    hs, hh, _ = request(atk7, principal, key, method="HEAD")
    gs, gh, whole = request(atk7, principal, key)
    size = len(atk7.objects[name])
    assert hs == gs == 200
    assert int(hh["content-length"]) == len(whole) == listed["Size"] == size
    assert hh["etag"] == gh["etag"] == listed["ETag"]
    c = pq.ParquetFile(io.BytesIO(whole)).metadata.row_group(0).column(1)
    start = c.dictionary_page_offset or c.data_page_offset
    flen = int.from_bytes(whole[-8:-4], "little")
    cases = [(start - 1, start), (start + c.total_compressed_size - 1, size - 1),
             (size - 8 - flen, size - 1), (0, start + 3)]
    rng = random.Random(name)
    cases += [tuple(sorted(rng.sample(range(size), 2))) for _ in range(6)]
    for a, b in cases:
        status, rh, body = request(atk7, principal, key, {"Range": f"bytes={a}-{b}"})
        assert status == 206 and rh["etag"] == gh["etag"], (a, b, status)
        assert body == whole[a:b + 1], (a, b)


@pytest.mark.parametrize("principal", MASKED)
def test_an_unmasked_chunk_over_another_row_groups_masked_bytes_is_refused(atk7, principal):
    name = "region-reads-masked-bytes.parquet"
    assert pq.read_table(io.BytesIO(atk7.objects[name]))["region"][300].as_py().encode() \
        in atk7.emails
    status, headers, body = fetch(atk7, principal, name)
    assert refused(status, headers, body), (status, clear_in(atk7, body))


# ARROW:schema of a real file with dictionaries is kept (pyarrow numbers them 0, 1, ...), so
# readers read them as upstream; the hostile ids above drop it.
@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("reader", ["pyarrow", "polars", "pandas"])
def test_dictionaries_read_as_upstream(atk7, principal, reader):
    name = "arrow-dictionaries.parquet"
    assert arrow_schema_decoded(view_of(atk7, principal, name)), principal
    diff = unmasked_differences(atk7, principal, name, READERS[reader])
    assert not diff, f"{principal}/{reader}: {diff}"


@pytest.mark.parametrize("principal", MASKED)
def test_field_ids_that_agree_keep_arrow_schema(atk7, principal):
    """The Parquet schema's ids 1 to 6 repeated in ARROW:schema: kept, each field its own."""
    body = view_of(atk7, principal, "contact-ids.parquet")
    assert arrow_schema_decoded(body), principal
    ids = pyarrow_field_ids(body)
    assert ids["customer_email"] == b"2" and ids["contact"] == b"6", ids


# Fixed since the seventh pass (arrow_schema.rs): field names not the Parquet schema's,
# scalars out of Arrow's values or laid over each other, dictionary ids past the fields, field
# ids giving a clear field the masked id, pandas labels swapped: ARROW:schema is dropped.
@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["arrow-region-renamed.parquet",
                                  "arrow-nested-child-named.parquet"])
def test_arrow_schema_field_names_hold_no_clear_value(atk7, principal, name):
    """HIGH: an ARROW:schema field name (top level or a child) that is no Parquet column's is
    an email, kept verbatim."""
    found = clear_in_view(atk7, principal, name)
    assert not found, f"{principal} read clear emails in ARROW:schema's names: {found}"


@pytest.mark.parametrize("principal", MASKED)
def test_arrow_schema_scalars_hold_no_clear_value(atk7, principal):
    """HIGH: Decimal parameters laid end to end over an email, kept verbatim."""
    found = clear_in_view(atk7, principal, "arrow-decimal-params.parquet")
    assert not found, f"{principal} read clear emails in ARROW:schema's scalars: {found}"


@pytest.mark.parametrize("principal", MASKED)
def test_arrow_schema_dictionary_ids_hold_no_clear_value(atk7, principal):
    """HIGH: three dictionary ids carry the email's three 8-byte pieces, in order."""
    name = "arrow-dictionary-ids.parquet"
    body = view_or_none(atk7, principal, name)
    if body is None:
        return
    schema = arrow_schema_decoded(body)
    email = an_email(footer_of(atk7.objects[name]))
    pieces = [email[i:i + 8] for i in range(0, len(email), 8)]
    assert not all(p in schema for p in pieces), f"{principal}: {pieces} in ARROW:schema"


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["contact-ids-arrow-only.parquet",
                                  "contact-id-arrow-only.parquet"])
def test_arrow_schema_field_ids_give_no_column_the_masked_id(atk7, principal, name):
    """HIGH (id-matching readers): ARROW:schema gives `contact` (clear) id 2, customer_email's
    in the writer's table, where the Parquet schema has no ids at all, or none on contact
    alone (customer_email 2 there too): pyarrow reports ARROW:schema's id for a field the
    Parquet schema gives none, field by field."""
    body = view_or_none(atk7, principal, name)
    if body is None:
        return
    ids = pyarrow_field_ids(body)
    assert ids.get("contact") != b"2", f"{principal}: pyarrow reports {ids}"


@pytest.mark.parametrize("principal", MASKED)
def test_pandas_labels_no_clear_column_customer_email(atk7, principal):
    """HIGH: pandas' `customer_email` of the view is the masked column, all null."""
    import pandas as pd
    body = view_or_none(atk7, principal, "pandas-names-swapped.parquet")
    if body is None:
        return
    col = pd.read_parquet(io.BytesIO(body))["customer_email"]
    clear = sorted({e for e in col.dropna() if e.encode() in atk7.emails})[:3]
    assert col.isna().all(), f"{principal}: pandas' customer_email reads {clear}"


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("reader", ["polars", "pyarrow"])
def test_a_polars_categorical_reads_as_upstream(atk7, principal, reader):
    """A polars file with a Categorical column (unnamed categories) keeps ARROW:schema."""
    diff = unmasked_differences(atk7, principal, "polars-categorical.parquet", READERS[reader])
    assert not diff, f"{principal}/{reader}: {diff}"


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("reader", ["pandas", "pyarrow"])
def test_a_pandas_period_and_interval_read_as_upstream(atk7, principal, reader):
    """`DataFrame.to_parquet` of a period and an interval column keeps ARROW:schema."""
    diff = unmasked_differences(atk7, principal, "pandas-period-interval.parquet",
                                READERS[reader])
    assert not diff, f"{principal}/{reader}: {diff}"


def test_the_stack_still_answers_others(atk7):
    name = "arrow-decimal-params.parquet"
    status, _, body = fetch(atk7, "carol", name)
    assert status == 200 and body == atk7.objects[name]


# --- found open, fixed since: footer fields held to the column's type and levels ---

@pytest.mark.parametrize("principal", MASKED)
def test_an_unmasked_fixed_width_statistic_holds_no_clear_value(atk7, principal):
    """HIGH: order_id's max_value a 23-byte email; readers show an INT64 of its first 8."""
    found = clear_in_view(atk7, principal, "wide-statistic-order-id.parquet")
    assert not found, f"{principal} read clear emails in order_id's statistics: {found}"


@pytest.mark.parametrize("principal", MASKED)
def test_geospatial_statistics_of_a_string_column_hold_no_clear_value(atk7, principal):
    """MEDIUM: region (STRING) with a BoundingBox whose doubles are the email's bytes."""
    body = view_of(atk7, principal, "unmasked-geo-stats.parquet")
    geo = value(region_md(body), 17) or []
    box = value(geo, 1) or []
    joined = b"".join(v for _, _, v in sorted(box))
    assert not clear_in(atk7, joined), f"{principal}: the bbox spells {joined.rstrip(bytes(1))}"


@pytest.mark.parametrize("principal", MASKED)
def test_a_level_histogram_has_one_count_per_level(atk7, principal):
    """MEDIUM: region's definition histogram has 24 counts (levels 0 and 1 only), the email's
    bytes and one balancing count."""
    body = view_of(atk7, principal, "histogram-long.parquet")
    hist = value(value(region_md(body), 16) or [], 3)
    counts = hist[1] if hist else []
    assert len(counts) <= 2, f"{principal}: {len(counts)} counts kept, " \
        f"{bytes(c for c in counts if c < 256)!r}"


@pytest.mark.parametrize("principal", MASKED)
def test_sorting_columns_name_the_files_leaves(atk7, principal):
    """LOW: sorting_columns of column_idx 116, 97, 108, ... in a file of 5 leaves."""
    body = view_of(atk7, principal, "sorting-columns-bytes.parquet")
    leaves = len(value(footer_of(body), 2)[1]) - 1
    sc = value(row_groups(footer_of(body))[0], 4)
    idx = [value(s, 1) for s in sc[1]] if sc else []
    assert all(0 <= i < leaves for i in idx), \
        f"{principal}: column_idx {bytes(i for i in idx if 0 <= i < 256)!r}"
