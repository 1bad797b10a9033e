"""Open leaks and bugs of the fifth hostile pass over masked Parquet (issue 16): each test
asserts the SAFE outcome and FAILED when this pass was made (not collected: run it by path,
`.venv/bin/pytest tests/e2e/open_leaks_parquet_5.py -q -p no:cacheprovider`). The objects and
the stack are `test_attacks_parquet_5.py`'s.

- HIGH, a schema two parsers read as two trees (`typeless-leaf`, `i16-typed-leaf`): footer.rs
  takes a child without a type and without children for a leaf; parquet-cpp for an empty group
  (a leaf needs a type) and does not check a row group's chunk count. Leaves shift by one: the
  chunk the gateway keeps as the unmasked `z` is pyarrow's customer_email (clear emails, read
  by pyarrow and pandas as the masked column; DuckDB and polars refuse the file). The same with
  `z`'s type an i16: footer.rs's `Field::i32` takes I16 and BYTE, the view's shape drops it.
- MEDIUM, typed fields that still carry free text, copied into every masked view: lists of
  integers whose one-byte varints spell an email verbatim (an unmasked chunk's `encodings`,
  SizeStatistics histograms, GeospatialStatistics `geospatial_types`); an unmasked chunk's
  `path_in_schema` with a second name and its `file_path`; the schema root's name; a GEOMETRY
  or GEOGRAPHY `crs` (on the root, or as a second variant of a LogicalType union after STRING,
  on the masked column itself: readers take the first variant and never show the second).
- MEDIUM, the field-id refusal bypassed: customer_email's field_id as an i16 (the gateway reads
  it, `field_ids` counts only i32 ids, the view drops it) or absent, while the unmasked
  `contact` holding the emails has id 2: an Iceberg reader projecting id 2 reads them.
- USABILITY: DuckDB's default GeoParquet file (GEOPARQUET_VERSION V1: the geometry type in the
  `geo` key-value metadata only) reads its unmasked geometry column as BLOB in the view;
  polars reads pyarrow's json (extension) column as Binary and a null column as Int32 (the view
  drops ARROW:schema when it holds extension names, as documented).
"""
import io

import pyarrow.parquet as pq
import pytest

from test_attacks_parquet_2 import refused
from test_attacks_parquet_3 import READERS
from test_attacks_parquet_4 import fetch, served_clear
from test_attacks_parquet_5 import (  # noqa: F401 (atk5: the fixture)
    MASKED, atk5, duckdb_types, unmasked_differences, view_of,
)

LEAKS = ["encodings-literal.parquet", "size-histogram-literal.parquet",
         "geospatial-types-literal.parquet", "unmasked-path-extra.parquet",
         "unmasked-file-path.parquet", "root-name.parquet", "root-geometry-crs.parquet",
         "masked-second-variant.parquet", "unmasked-second-variant.parquet",
         "typeless-leaf.parquet", "i16-typed-leaf.parquet"]


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", LEAKS)
def test_typed_free_text_holds_no_clear_value(atk5, principal, name):  # noqa: F811
    found = served_clear(atk5, principal, name)
    assert not found, f"{principal} read clear emails in {name}: {found}"


@pytest.mark.parametrize("principal", MASKED)
def test_a_geoparquet_v1_column_stays_geometry_in_duckdb(atk5, principal):  # noqa: F811
    """DuckDB's default GeoParquet file (GEOPARQUET_VERSION V1: the geometry type is in the
    file's `geo` key-value metadata only): the view drops it, DuckDB reads GEOMETRY('OGC:CRS84')
    upstream and BLOB in the view."""
    name = "writer-duckdb-geo-v1.parquet"
    up = duckdb_types(atk5.objects[name])
    view = duckdb_types(view_of(atk5, principal, name))
    assert up["loc"].startswith("GEOMETRY"), up
    assert view["loc"] == up["loc"], (up["loc"], view["loc"])


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["typeless-leaf.parquet", "i16-typed-leaf.parquet"])
def test_pyarrow_reads_no_clear_email_through_a_typeless_leaf(atk5, principal, name):  # noqa: F811
    """`typeless_leaf`: footer.rs counts a child without a type or children as a leaf,
    parquet-cpp as an empty group, so the leaves shift by one between them: the chunk the
    gateway keeps as the unmasked `z` is what pyarrow reads as customer_email. With `z`'s type
    an i16, the gateway reads a type the view drops: the same shift."""
    status, headers, body = fetch(atk5, principal, name)
    if refused(status, headers, body):
        return
    assert status == 200, (status, body[:300])
    emails = pq.ParquetFile(io.BytesIO(body)).read(columns=["customer_email"])["customer_email"]
    clear = [e for e in emails.to_pylist() if e is not None]
    assert not clear, f"{principal}: pyarrow reads customer_email {clear[:3]}"


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["writer-pyarrow-types.parquet",
                                  "writer-pyarrow-types-v1.parquet"])
def test_extension_and_null_columns_read_as_upstream_in_polars(atk5, principal, name):  # noqa: F811
    """USABILITY (a documented consequence, not a leak): pyarrow's ARROW:schema of a json
    (extension) column carries `ARROW:extension:name`, custom metadata, so the view drops
    ARROW:schema whole: polars reads the unmasked `js` as Binary (upstream arrow.json) and the
    all-null `nul` as Int32 (upstream Null). pyarrow and DuckDB read them as upstream."""
    diff = unmasked_differences(atk5, principal, name, READERS["polars"])
    assert not diff, f"{principal}: {diff}"


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["field-id-i16.parquet", "field-id-absent.parquet"])
def test_another_column_with_the_masked_field_id_is_refused(atk5, principal, name):  # noqa: F811
    """`masked_field_id`: the unmasked `contact` (the emails) has field id 2; customer_email's
    own id 2 is an i16 (the gateway reads it, its duplicate check does not count it, the view
    drops it) or absent. An Iceberg reader projecting id 2 reads clear emails."""
    status, headers, body = fetch(atk5, principal, name)
    assert refused(status, headers, body), (status, body[:200])
