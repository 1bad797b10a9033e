"""GeoParquet's `geo` entry and Arrow's `arrow.fixed_shape_tensor` in masked Parquet views
(issue 16), through real Envoy, on the masked `orders` (alice: customer_email null; erin:
amount 0 too).

A masked view keeps the file's `geo` entry only as `core/src/tables/parquet/geo.rs` writes it
again (GeoParquet 1.0/1.1 read strictly, names the schema's top-level unmasked columns, no
`crs` but null, no `bbox` or `epoch`), so DuckDB reads a GEOPARQUET_VERSION 'V1' geometry as
GEOMETRY in the view too. It keeps an ARROW:schema with a fixed-shape tensor only when the
tensor's metadata is pyarrow's shape (and permutation) of the storage's list size, without
dimension names (`tensor.rs`). Every hostile entry spells a clear email of the file where a
writer could put it: in no case may that email (as text, or as a number's bytes) reach the
view.
"""
import io
import json
import struct

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from parquet_crafted import crafted_stack
from test_attacks_parquet_2 import BINARY, LIST, STRUCT, edit, footer_of, plain, put, value
from test_attacks_parquet_3 import an_email
from test_attacks_parquet_4 import fetch, served_clear
from test_attacks_parquet_5 import MASKED, duckdb_file, duckdb_types, view_of

V1 = "writer-duckdb-geo-v1.parquet"
# What DuckDB 1.5 writes for `loc` (points) with GEOPARQUET_VERSION 'V1', without its bbox.
KEPT_GEO = {"version": "1.0.0", "primary_column": "loc",
            "columns": {"loc": {"encoding": "WKB", "geometry_types": ["Point"]}}}


# --- crafting ----------------------------------------------------------------------------------

def with_geo(data, *texts):
    """`data` with its key-value metadata one `geo` entry per text (no other entry)."""
    def fn(fm):
        put(fm, 5, LIST, (STRUCT, [[[1, BINARY, b"geo"], [2, BINARY, t]] for t in texts]))
    return edit(data, fn)


def geo_doc(**column):
    """DuckDB's document with the `loc` column's entry updated by `column`."""
    doc = {"version": "1.0.0", "primary_column": "loc",
           "columns": {"loc": {"encoding": "WKB", "geometry_types": ["Point"],
                               "bbox": [1.0, 1.5, 3.0, 3.5]}}}
    doc["columns"]["loc"].update(column)
    return doc


def as_doubles(email):
    """The email's bytes as finite doubles (ASCII keeps sign and exponent in range): a number
    kept as written gives the bytes back."""
    data = email + b"\0" * (-len(email) % 8)
    return [struct.unpack("<d", data[i:i + 8])[0] for i in range(0, len(data), 8)]


def hostile_geo(email):
    """{name: geo text}: the email in each string and number position of a `geo` entry."""
    e = email.decode()
    bbox_doc = geo_doc(bbox=(as_doubles(email) * 4)[:4])
    covering = {"bbox": {k: ["loc", k] for k in ("xmin", "ymin", "xmax", "ymax")}}
    docs = {
        "version": dict(geo_doc(), version=e),
        "primary-column": dict(geo_doc(), primary_column=e),
        "column-name": dict(geo_doc(), columns={e: geo_doc()["columns"]["loc"]}),
        "top-level-key": dict(geo_doc(), note=e),
        "column-key": geo_doc(note=e),
        "encoding": geo_doc(encoding=e),
        "geometry-type": geo_doc(geometry_types=["Point", e]),
        "edges": geo_doc(edges=e),
        "orientation": geo_doc(orientation=e),
        "crs-projjson": geo_doc(crs={"type": "GeographicCRS", "name": e}),
        "crs-string": geo_doc(crs=e),
        "covering-column": geo_doc(covering={"bbox": dict(covering["bbox"], xmin=[e, "xmin"])}),
        "covering-field": geo_doc(covering={"bbox": dict(covering["bbox"], xmin=["loc", e])}),
        "covering-key": geo_doc(covering=dict(covering, note=e)),
        "bbox-text": geo_doc(bbox=[e, 1, 2, 3]),
        # The masked column named a geometry column: its geometry types would be its values'.
        "masked-column": dict(geo_doc(), columns={
            "loc": geo_doc()["columns"]["loc"],
            "customer_email": {"encoding": "WKB", "geometry_types": ["Point"],
                               "bbox": [0.0, 0.0, 1.0, 1.0]}}),
    }
    out = {name: json.dumps(doc).encode() for name, doc in docs.items()}
    # A key twice: serde's derive refuses the second; a map would keep one silently.
    good = json.dumps(geo_doc())
    out["version-twice"] = good.replace('"version": "1.0.0"',
                                        f'"version": "1.0.0", "version": "{e}"').encode()
    out["column-twice"] = good[:-2].encode() + (
        ', "loc": {"encoding": "WKB", "geometry_types": [], "crs": "%s"}}}' % e).encode()
    out["trailing-text"] = good.encode() + b" " + email
    # Numbers: read, never written.
    out["bbox-doubles"] = json.dumps(bbox_doc).encode()
    out["epoch-double"] = json.dumps(geo_doc(epoch=as_doubles(email)[0])).encode()
    return out


NUMBERS = ("bbox-doubles", "epoch-double")


def tensor_table(table, **kw):
    t = pa.fixed_shape_tensor(pa.int32(), [2, 3], **kw)
    ids = table["order_id"].to_pylist()
    storage = pa.array([[i % 7] * 6 for i in ids], t.storage_type)
    return table.append_column("tensor", pa.ExtensionArray.from_storage(t, storage))


def crafted_objects(first):
    table = pq.read_table(io.BytesIO(first))
    email = an_email(footer_of(first))
    v1 = duckdb_file(table, ", ROW_GROUP_SIZE 300, GEOPARQUET_VERSION 'V1'")
    out = {V1: v1}
    for name, text in hostile_geo(email).items():
        out[f"geo-{name}.parquet"] = with_geo(v1, text)
    # Two entries, the second spelling the email: which one a reader takes is its choice.
    out["geo-twice.parquet"] = with_geo(v1, json.dumps(geo_doc()).encode(),
                                        json.dumps(geo_doc(edges=email.decode())).encode())
    plain_tensor = tensor_table(table)
    out["tensor.parquet"] = plain(plain_tensor)
    out["tensor-permuted.parquet"] = plain(tensor_table(table, permutation=[1, 0]))
    out["tensor-dim-names.parquet"] = plain(tensor_table(table, dim_names=[email.decode(), "y"]))
    return out


# --- the stack -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def geo(demo_dir, tmp_path_factory):
    yield from crafted_stack(demo_dir, tmp_path_factory, "geo-writers", crafted_objects)


def geo_of(body):
    """The view's `geo` entry, parsed (None when absent)."""
    meta = pq.ParquetFile(io.BytesIO(body)).metadata.metadata or {}
    return json.loads(meta[b"geo"]) if b"geo" in meta else None


def numbers_and_strings(doc):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield k
            yield from numbers_and_strings(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from numbers_and_strings(v)
    elif doc is not None:
        yield doc


def spelled(stack, doc):
    """The clear emails `doc` spells: in a string, or in its numbers' bytes as doubles."""
    strings = b" ".join(str(x).encode() for x in numbers_and_strings(doc))
    numbers = b"".join(struct.pack("<d", x) for x in numbers_and_strings(doc)
                       if isinstance(x, (int, float)) and not isinstance(x, bool))
    return sorted(e.decode() for e in stack.emails if e in strings or e in numbers)


# --- a GeoParquet 1.0 file -------------------------------------------------------------------

@pytest.mark.parametrize("principal", MASKED)
def test_a_geoparquet_v1_column_stays_geometry_in_duckdb(geo, principal):
    """DuckDB's GEOPARQUET_VERSION 'V1' has the geometry type in `geo` alone (formerly
    `known_limits_parquet_5.py`, removed): the view keeps `geo`, so DuckDB reads GEOMETRY, not BLOB."""
    up = duckdb_types(geo.objects[V1])
    view = duckdb_types(view_of(geo, principal, V1))
    assert up["loc"].startswith("GEOMETRY"), up
    assert view["loc"] == up["loc"], (up["loc"], view["loc"])


@pytest.mark.parametrize("principal", MASKED)
def test_the_view_keeps_geo_written_again_without_its_bbox(geo, principal):
    body = view_of(geo, principal, V1)
    assert geo_of(geo.objects[V1])["columns"]["loc"]["bbox"], "DuckDB wrote no bbox"
    assert geo_of(body) == KEPT_GEO
    # Canonical bytes: what geo.rs writes, not the writer's text.
    meta = pq.ParquetFile(io.BytesIO(body)).metadata.metadata
    assert meta[b"geo"] == json.dumps(KEPT_GEO, separators=(",", ":")).encode()


def test_an_unmasked_principal_reads_geo_as_upstream(geo):
    status, _, body = fetch(geo, "carol", V1)
    assert status == 200 and body == geo.objects[V1]


# --- hostile entries ---------------------------------------------------------------------------

HOSTILE = sorted(f"geo-{n}.parquet" for n in hostile_geo(b"a@b.c")) + ["geo-twice.parquet"]


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", HOSTILE)
def test_a_geo_entry_spelling_an_email_never_reaches_the_view(geo, principal, name):
    """The email in every string and number position, a key twice, two entries, the masked
    column as a geometry column: the entry is dropped, or (numbers) kept without them."""
    short = name.removeprefix("geo-").removesuffix(".parquet")
    if short not in ("masked-column", "epoch-double"):  # one double holds 8 bytes
        up = geo.objects[name]
        assert any(e in up for e in geo.emails) or spelled(geo, geo_of(up)), "no email upstream"
    found = served_clear(geo, principal, name)
    assert not found, f"{principal} read clear emails in {name}: {found}"
    body = view_of(geo, principal, name)
    doc = geo_of(body)
    assert not spelled(geo, doc), (name, doc)
    if short in NUMBERS:
        assert doc == KEPT_GEO, doc
    else:
        assert doc is None, doc
    # The unmasked columns still read; the geometry as BLOB when `geo` is gone.
    assert duckdb_types(body)["loc"] in ("BLOB", duckdb_types(geo.objects[V1])["loc"])


# --- fixed-shape tensors -----------------------------------------------------------------------

@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["tensor.parquet", "tensor-permuted.parquet"])
def test_a_fixed_shape_tensor_reads_as_upstream_in_pyarrow(geo, principal, name):
    """ARROW:schema with `arrow.fixed_shape_tensor` (shape, permutation) is kept: pyarrow reads
    the tensor column as the same extension type, with the same values."""
    body = view_of(geo, principal, name)
    up = pq.read_table(io.BytesIO(geo.objects[name]))
    view = pq.read_table(io.BytesIO(body))
    assert isinstance(up.schema.field("tensor").type, pa.FixedShapeTensorType)
    assert view.schema.field("tensor").type == up.schema.field("tensor").type
    assert view["tensor"] == up["tensor"]


@pytest.mark.parametrize("principal", MASKED)
def test_a_tensor_with_dimension_names_drops_arrow_schema(geo, principal):
    """`dim_names` are free text (here a clear email): ARROW:schema is not kept, the column
    reads as its storage."""
    name = "tensor-dim-names.parquet"
    found = served_clear(geo, principal, name)
    assert not found, f"{principal} read clear emails in {name}: {found}"
    body = view_of(geo, principal, name)
    assert b"ARROW:schema" not in (pq.ParquetFile(io.BytesIO(body)).metadata.metadata or {})
    assert not isinstance(pq.read_schema(io.BytesIO(body)).field("tensor").type,
                          pa.FixedShapeTensorType)
