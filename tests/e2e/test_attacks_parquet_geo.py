"""Hostile pass over GeoParquet's `geo` entry and `arrow.fixed_shape_tensor` in masked Parquet
views (issue 16), through real Envoy, on the masked `orders` (alice: customer_email null; erin:
amount 0 too). Each probe here asserts the safe outcome it found.

The routes tried: the masked column named through JSON escapes (`customer\\u005femail`), a NUL,
a covering path, per principal (erin's `amount`); keys twice after unescaping; lone surrogates,
non-UTF-8 bytes, a BOM, deep nesting and long inputs; the key spelled otherwise (case, white
space, a NUL, a Cyrillic look-alike); two entries where one has no binary value, a key or value
given twice inside one entry; a tensor's metadata spelled otherwise than pyarrow writes it or
with a custom key beside it. What still reads as upstream: DuckDB's two geometry columns.
"""
import io
import json
import os
import re
import tempfile

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from parquet_crafted import crafted_stack
from test_attacks_parquet_2 import (
    BINARY, I32, LIST, SET, STRUCT, clear_values, edit, footer_of, plain, put, refused, value,
)
from test_attacks_parquet_3 import an_email, arrow_schema_of
from test_attacks_parquet_4 import fetch
from test_attacks_parquet_5 import MASKED, duckdb_file, duckdb_types
from test_parquet_geo import KEPT_GEO, V1, as_doubles, geo_doc, geo_of, spelled, with_geo

LOC = {"encoding": "WKB", "geometry_types": ["Point"]}


# --- crafting ----------------------------------------------------------------------------------

def with_entries(data, entries):
    """`data` with its key-value metadata exactly `entries` (each a list of thrift fields)."""
    return edit(data, lambda fm: put(fm, 5, LIST, (STRUCT, entries)))


def kv(key, val):
    return [[1, BINARY, key], [2, BINARY, val]]


def raw_doc(columns, primary="loc", version="1.0.0"):
    """A `geo` text whose `columns` object is written as given (escapes kept literal)."""
    return ('{"version":"%s","primary_column":"%s","columns":{%s}}'
            % (version, primary, columns)).encode()


def hostile_escapes(email):
    """{name: geo text}: names and keys spelled through JSON escapes, surrogates, NULs, bytes
    that are not UTF-8; each would name the masked column or keep a second reading."""
    e = email.decode()
    loc = json.dumps(LOC)
    masked = json.dumps(dict(LOC, bbox=(as_doubles(email) * 4)[:4]))
    good = json.dumps(geo_doc()).encode()
    return {
        # serde decodes the escape before the name check: the masked column, refused.
        "escaped-masked-column": raw_doc(f'"loc":{loc},"customer\\u005femail":{masked}'),
        "escaped-masked-primary": raw_doc(f'"loc":{loc},"customer\\u005femail":{masked}',
                                          primary="customer\\u005femail"),
        # Twice after unescaping: a reader keeping the last would read Polygon.
        "escaped-column-twice": raw_doc(
            f'"loc":{loc},"l\\u006fc":{{"encoding":"WKB","geometry_types":["Polygon"]}}'),
        "escaped-version-twice": good.replace(b'"version": "1.0.0"',
                                              b'"version": "1.0.0", "versi\\u006fn": "1.1.0"'),
        # Look-alikes a case-folding or normalizing reader may take for the masked column.
        "case-masked-column": raw_doc(f'"loc":{loc},"Customer_Email":{masked}'),
        "space-masked-column": raw_doc(f'"loc":{loc},"customer_email ":{masked}'),
        "zwsp-masked-column": raw_doc(f'"loc":{loc},"customer\u200b_email":{masked}'),
        "fullwidth-masked-column": raw_doc(f'"loc":{loc},"\uff43ustomer_email":{masked}'),
        # A NUL cuts a name in C readers: `customer_email` to them.
        "masked-nul-suffix": raw_doc(f'"loc":{loc},"customer_email\\u0000":{masked}'),
        "loc-nul-suffix": raw_doc(f'"loc\\u0000":{loc}', primary="loc\\u0000"),
        # Lone surrogates (readers replace them or fail), a pair in a name.
        "lone-surrogate": raw_doc('"loc":{"encoding":"WKB","geometry_types":["Point"],'
                                  '"edges":"pl\\ud800anar"}'),
        "surrogate-pair-name": raw_doc(f'"lo\\ud83d\\ude00c":{loc}'),
        # Not UTF-8: the email after a byte a decoder may skip or replace.
        "not-utf8": good.replace(b'"WKB"', b'"WKB\xff' + email + b'"'),
        "bom": b"\xef\xbb\xbf" + good,
        "trailing-nul": good + b"\0" + email,
        # The masked column as a covering's column.
        "masked-covering": json.dumps(geo_doc(covering={"bbox": {
            "xmin": ["customer_email", "xmin"], "ymin": ["customer_email", "ymin"],
            "xmax": ["customer_email", "xmax"], "ymax": ["customer_email", "ymax"]}})).encode(),
        # Deep nesting where a value is read, and a long list of repeats: refused, no crash.
        "deep-crs": good.replace(b'"bbox"', b'"crs": ' + b"[" * 200_000 + b"]" * 200_000
                                 + b', "bbox"'),
        "deep-unknown": good.replace(b'"bbox"', b'"' + email + b'": ' + b"[" * 200_000
                                     + b"]" * 200_000 + b', "bbox"'),
        "many-types": json.dumps(geo_doc(geometry_types=["Point"] * 100_000)).encode(),
        "escaped-email-edges": json.dumps(geo_doc(edges=e)).encode()
        .replace(b"@", b"\\u0040"),
    }


def two_geometries(table):
    """DuckDB's V1 file with two geometry columns, `loc` and `area` (polygons)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.parquet")
        con = duckdb.connect()
        con.register("t", table)
        con.execute("CREATE TABLE g AS SELECT *, ('POINT(' || order_id || ' 1)')::GEOMETRY AS loc, "
                    "('POLYGON((0 0, ' || order_id || ' 0, 0 1, 0 0))')::GEOMETRY AS area FROM t")
        con.execute(f"COPY g TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 300, "
                    "GEOPARQUET_VERSION 'V1')")
        con.close()
        with open(path, "rb") as f:
            return f.read()


def crafted_objects(first):
    table = pq.read_table(io.BytesIO(first))
    email = an_email(footer_of(first))
    e = email.decode()
    v1 = duckdb_file(table, ", ROW_GROUP_SIZE 300, GEOPARQUET_VERSION 'V1'")
    out = {V1: v1}
    for name, text in hostile_escapes(email).items():
        out[f"esc-{name}.parquet"] = with_geo(v1, text)
    # Both other names a masked principal may hold: erin's `amount` as a geometry column and
    # as a covering (alice: an unmasked column, kept).
    out["amount-column.parquet"] = with_geo(v1, json.dumps(dict(geo_doc(), columns={
        "loc": geo_doc()["columns"]["loc"], "amount": dict(LOC)})).encode())
    out["amount-covering.parquet"] = with_geo(v1, json.dumps(geo_doc(covering={"bbox": {
        k: ["amount", k] for k in ("xmin", "ymin", "xmax", "ymax")}})).encode())
    # The key spelled otherwise, its text the email: dropped whole, never copied.
    hostile = json.dumps(geo_doc(edges=e)).encode()
    for i, key in enumerate([b"GEO", b"Geo", b"geo ", b" geo", b"geo\0", b"ge\xd0\xbe",
                             b"geo\xff", b"\xef\xbb\xbfgeo"]):
        out[f"key-{i}.parquet"] = with_entries(v1, [kv(key, hostile)])
    good = json.dumps(geo_doc()).encode()
    masked_doc = json.dumps(dict(geo_doc(edges=e), columns={
        "loc": geo_doc()["columns"]["loc"], "customer_email": dict(LOC)})).encode()
    # Two entries where one value is no binary: the gateway skips it, readers take an empty
    # value or the other entry.
    out["first-value-i32.parquet"] = with_entries(
        v1, [[[1, BINARY, b"geo"], [2, I32, 5]], kv(b"geo", masked_doc)])
    out["second-value-i32.parquet"] = with_entries(
        v1, [kv(b"geo", good), [[1, BINARY, b"geo"], [2, I32, 5]]])
    out["second-no-value.parquet"] = with_entries(v1, [kv(b"geo", good), [[1, BINARY, b"geo"]]])
    # A key or a value twice inside one entry (thrift readers take the last).
    out["value-twice.parquet"] = with_entries(
        v1, [[[1, BINARY, b"geo"], [2, BINARY, good], [2, BINARY, masked_doc]]])
    out["key-twice.parquet"] = with_entries(
        v1, [[[1, BINARY, b"geo"], [2, BINARY, masked_doc], [1, BINARY, b"other"]],
             kv(b"geo", good)])
    out["key-twice-geo-last.parquet"] = with_entries(
        v1, [[[1, BINARY, b"other"], [2, BINARY, masked_doc], [1, BINARY, b"geo"]]])
    # ARROW:schema beside geo, both with a masked name.
    out["geo-and-email-kv.parquet"] = with_entries(v1, [kv(b"geo", good), kv(email, email)])
    # A field beside key and value (id 3) holding the email, in `geo` and in ARROW:schema's
    # entry (pyarrow's for DuckDB's columns, `loc` as plain binary: it names the file's
    # columns, as a kept ARROW:schema must): entries are written again from key and value alone.
    columns = pq.read_table(io.BytesIO(v1)).replace_schema_metadata(None)
    columns = columns.set_column(columns.schema.get_field_index("loc"), "loc",
                                 columns["loc"].cast(pa.binary()))
    arrow_kv = next(kv_ for kv_ in value(footer_of(plain(columns)), 5)[1]
                    if value(kv_, 1) == b"ARROW:schema")
    out["extra-field.parquet"] = with_entries(
        v1, [kv(b"geo", good) + [[3, BINARY, email]], arrow_kv + [[3, BINARY, email]]])
    # The key-value list as a set, and twice (the second the email's): neither is copied.
    out["kv-set.parquet"] = edit(v1, lambda fm: put(fm, 5, SET, (STRUCT, [kv(b"geo", good),
                                                                        kv(email, email)])))

    def twice(fm):
        put(fm, 5, LIST, (STRUCT, [kv(b"geo", good)]))
        fm.insert(next(i for i, f in enumerate(fm) if f[0] == 5) + 1,
                  [5, LIST, (STRUCT, [kv(b"geo", masked_doc), kv(email, email)])])
    out["kv-twice.parquet"] = edit(v1, twice)
    # Not a list of structs.
    out["kv-binary-list.parquet"] = edit(v1, lambda fm: put(fm, 5, LIST, (BINARY, [b"geo", good])))
    # GeoPandas' entry for a frame without a CRS, less its `creator` (test_parquet_geopandas.py):
    # `"crs": null` and its key order read.
    out["geopandas-less-creator.parquet"] = with_geo(v1, json.dumps({
        "primary_column": "loc", "columns": {"loc": {
            "encoding": "WKB", "crs": None, "geometry_types": ["Point"],
            "bbox": [1.0, 1.5, 3.0, 3.5]}}, "version": "1.0.0"}).encode())
    # Megabytes around a good entry (white space: kept, written short) or in one string.
    out["huge-whitespace.parquet"] = with_geo(v1, b" " * (8 << 20) + good + b" " * 1000)
    out["huge-string.parquet"] = with_geo(
        v1, json.dumps(geo_doc(edges=e + "x" * (8 << 20))).encode())
    # A bbox of 6.5 million numbers (13 MB, inside the 16 MiB footer bound): read into a
    # Vec<f64> of 52 MB before its length is checked.
    out["huge-bbox.parquet"] = with_geo(v1, json.dumps(geo_doc()).encode().replace(
        b"[1.0, 1.5, 3.0, 3.5]", b"[" + b"0," * 6_500_000 + b"0]"))
    # DuckDB's two geometry columns: both read as GEOMETRY in the view too.
    out["duckdb-two-geometries.parquet"] = two_geometries(table)
    # Tensors spelled otherwise than pyarrow writes them, or with a custom key beside.
    ids = table["order_id"].to_pylist()
    storage = pa.array([[i % 7] * 6 for i in ids], pa.list_(pa.int32(), 6))
    for name, meta in {
        "tensor-escaped": {"ARROW:extension:metadata": '{"sh\\u0061pe":[2,3]}'},
        "tensor-spaced": {"ARROW:extension:metadata": '{"shape":[2, 3]}'},
        "tensor-email-key": {"ARROW:extension:metadata": '{"shape":[2,3]}', e: "1"},
        "tensor-email-dim-names-escaped": {
            "ARROW:extension:metadata":
                '{"shape":[2,3],"dim_n\\u0061mes":["%s","y"]}' % e},
        "tensor-email-in-name": {"ARROW:extension:metadata": '{"shape":[2,3]}',
                                 "ARROW:extension:name": "arrow.fixed_shape_tensor " + e},
    }.items():
        meta = {"ARROW:extension:name": "arrow.fixed_shape_tensor", **meta}
        field = pa.field("tensor", storage.type, metadata=meta)
        schema = table.schema.append(field)
        out[f"{name}.parquet"] = plain(pa.Table.from_arrays(
            list(table.columns) + [storage], schema=schema))
    return out


# --- the stack -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def atkgeo(demo_dir, tmp_path_factory):
    yield from crafted_stack(demo_dir, tmp_path_factory, "geo", crafted_objects)


def served(stack, principal, name):
    """The view's body, None if refused; a clear value in it (its bytes or its decoded
    ARROW:schema) fails. Runs of zeros are shortened before the search (every 8-byte window
    and every email survives it): the megabyte views are mostly zeros."""
    status, headers, body = fetch(stack, principal, name)
    if refused(status, headers, body):
        return None
    assert status == 200, (status, body[:300])
    try:
        schema = arrow_schema_of(body)
    except OSError:  # a view readers refuse: its bytes alone
        schema = b""
    found = clear_values(stack, principal, re.sub(rb"\0{64,}", b"\0" * 16, body) + schema)
    assert not found, f"{principal} read clear values in {name}: {found}"
    return body


def metadata_of(body):
    return pq.ParquetFile(io.BytesIO(body)).metadata.metadata or {}


# --- escapes, NULs, surrogates, bytes, nesting --------------------------------------------

ESCAPES = sorted(f"esc-{n}.parquet" for n in hostile_escapes(b"a@b.c"))


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ESCAPES)
def test_a_geo_entry_through_escapes_and_odd_bytes_is_dropped(atkgeo, principal, name):
    """serde_json unescapes before the name checks and the duplicate-key check; a surrogate,
    a byte that is not UTF-8, a BOM, trailing bytes, 200,000 levels of nesting and 100,000
    repeated types are each refused: the view is served without `geo`, no clear value in it."""
    body = served(atkgeo, principal, name)
    assert body is not None, "refused whole: the entry alone should be dropped"
    doc = geo_of(body)
    assert doc is None, (name, doc)
    # The unmasked geometry still reads, as BLOB without `geo`.
    assert duckdb_types(body)["loc"] == "BLOB"


@pytest.mark.parametrize("principal", MASKED)
def test_erins_masked_amount_as_a_geometry_column_or_covering_drops_geo(atkgeo, principal):
    """A name masked for one principal alone: erin's view drops `geo`, alice's keeps it (for
    her `amount` is a clear column)."""
    for name in ("amount-column.parquet", "amount-covering.parquet"):
        doc = geo_of(served(atkgeo, principal, name))
        if principal == "erin":
            assert doc is None, (name, doc)
        else:
            assert doc is not None, name
            assert not spelled(atkgeo, doc), doc


# --- the key, entries, fields twice -------------------------------------------------------

@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("i", range(8))
def test_a_geo_key_spelled_otherwise_is_dropped_whole(atkgeo, principal, i):
    """`GEO`, `Geo`, `geo `, ` geo`, `geo\\0`, a Cyrillic o, a stray byte, a BOM: no entry at all
    in the view (neither copied under its key nor written again as `geo`)."""
    body = served(atkgeo, principal, f"key-{i}.parquet")
    assert body is not None
    meta = metadata_of(body)
    assert not meta, meta


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["first-value-i32.parquet", "second-value-i32.parquet",
                                  "second-no-value.parquet", "value-twice.parquet",
                                  "key-twice.parquet", "key-twice-geo-last.parquet",
                                  "geo-and-email-kv.parquet", "kv-binary-list.parquet",
                                  "extra-field.parquet", "kv-set.parquet", "kv-twice.parquet"])
def test_entries_with_a_field_missing_twice_or_of_another_type(atkgeo, principal, name):
    """An entry whose value is no binary, or missing, is skipped (the other written again); a
    value twice reads the last (here naming the masked column: dropped); a key twice the last;
    a list of binaries or a set is no metadata, a third field of an entry is not kept, the
    list twice is each time written again. In every case the view holds one canonical `geo` at
    most, never one naming the masked column, and no other key."""
    body = served(atkgeo, principal, name)
    if body is None:
        return
    meta = metadata_of(body)
    assert set(meta) <= {b"geo", b"ARROW:schema"}, meta
    if name == "extra-field.parquet":
        assert b"ARROW:schema" in meta and geo_of(body) == KEPT_GEO, meta.keys()
    else:
        assert b"ARROW:schema" not in meta, meta
    doc = geo_of(body)
    assert doc in (None, KEPT_GEO), (name, doc)
    if doc is not None:
        assert meta[b"geo"] == json.dumps(KEPT_GEO, separators=(",", ":")).encode()
    if name in ("first-value-i32.parquet", "value-twice.parquet", "key-twice-geo-last.parquet"):
        assert doc is None, (name, doc)


# --- what reads as upstream -------------------------------------------------------------------

@pytest.mark.parametrize("principal", MASKED)
def test_two_duckdb_geometry_columns_both_stay_geometry(atkgeo, principal):
    """DuckDB 1.5 with two GEOMETRY columns (its default V2 writes GEOMETRY and a `geo` for both);
    every unmasked column reads as upstream's type in DuckDB."""
    name = "duckdb-two-geometries.parquet"
    up = duckdb_types(atkgeo.objects[name])
    view = duckdb_types(served(atkgeo, principal, name))
    masked = {"customer_email"} | ({"amount"} if principal == "erin" else set())
    diff = {c: (up[c], view.get(c)) for c in up if c not in masked and view.get(c) != up[c]}
    assert not diff, diff


@pytest.mark.parametrize("principal", MASKED)
def test_geopandas_entry_less_its_creator_is_kept(atkgeo, principal):
    """The control of test_parquet_geopandas.py: with `creator` left out, GeoPandas' entry
    (`"crs": null`) is kept, `crs` still null, and DuckDB reads GEOMETRY as upstream."""
    name = "geopandas-less-creator.parquet"
    body = served(atkgeo, principal, name)
    assert geo_of(body) == {"version": "1.0.0", "primary_column": "loc", "columns": {
        "loc": {"encoding": "WKB", "geometry_types": ["Point"], "crs": None}}}
    assert duckdb_types(body)["loc"] == duckdb_types(atkgeo.objects[name])["loc"]


@pytest.mark.parametrize("principal", MASKED)
def test_megabytes_of_geo_are_read_and_written_short_or_dropped(atkgeo, principal):
    """8 MiB of white space around a good entry: kept, written canonically (a few hundred
    bytes); 8 MiB in one string after the email: dropped. Neither fails the view open."""
    body = served(atkgeo, principal, "huge-whitespace.parquet")
    assert metadata_of(body)[b"geo"] == json.dumps(KEPT_GEO, separators=(",", ":")).encode()
    body = served(atkgeo, principal, "huge-string.parquet")
    assert body is None or geo_of(body) is None


def test_a_huge_bbox_is_refused_and_the_gateway_keeps_serving(atkgeo):
    """13 MB of bbox numbers: the entry dropped (or the view refused), Envoy's memory within
    the 512 MiB big footers are bounded by, the next request answered (what it costs over a
    footer of white space is bounded as it is read: geo.rs' native tests)."""
    from test_attacks_parquet_3 import envoy_rss_mib
    before = envoy_rss_mib(atkgeo)
    for principal in MASKED:
        body = served(atkgeo, principal, "huge-bbox.parquet")
        assert body is None or geo_of(body) is None
    assert geo_of(served(atkgeo, "alice", V1)) == KEPT_GEO
    grew = envoy_rss_mib(atkgeo) - before
    print(f"envoy grew {grew:.0f} MiB")
    assert grew < 512, grew


# --- tensors ---------------------------------------------------------------------------------

TENSORS = ["tensor-escaped.parquet", "tensor-spaced.parquet", "tensor-email-key.parquet",
           "tensor-email-dim-names-escaped.parquet", "tensor-email-in-name.parquet"]


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", TENSORS)
def test_a_tensor_spelled_otherwise_drops_arrow_schema(atkgeo, principal, name):
    """pyarrow reads `{"sh\\u0061pe":[2,3]}` as shape [2,3] upstream; the gateway holds the text
    to pyarrow's own bytes, so escapes, spaces, a key beside (the email) and an email in the
    extension name all drop ARROW:schema: the column reads as a list, no email."""
    body = served(atkgeo, principal, name)
    assert body is not None
    assert b"ARROW:schema" not in metadata_of(body)
    # Without ARROW:schema the fixed-size list reads as a list of the same values.
    view = pq.read_table(io.BytesIO(body))
    assert view.schema.field("tensor").type == pa.list_(pa.int32())
    up = pq.read_table(io.BytesIO(atkgeo.objects[name]))["tensor"]
    assert view["tensor"].to_pylist() == [list(v) for v in up.to_pylist()]
