"""Open leaks and bugs of the fifth hostile pass over masked Parquet (issue 16): each test
asserts the SAFE outcome and FAILED when this pass was made (not collected: run it by path,
`.venv/bin/pytest tests/e2e/open_leaks_parquet_5.py -q -p no:cacheprovider`). The objects and
the stack are `test_attacks_parquet_5.py`'s.
"""
import pytest

from test_attacks_parquet_4 import served_clear
from test_attacks_parquet_5 import (  # noqa: F401 (atk5: the fixture)
    MASKED, atk5, duckdb_types, view_of,
)

LEAKS = ["encodings-literal.parquet", "size-histogram-literal.parquet",
         "geospatial-types-literal.parquet", "unmasked-path-extra.parquet",
         "unmasked-file-path.parquet", "root-name.parquet", "root-geometry-crs.parquet",
         "masked-second-variant.parquet", "unmasked-second-variant.parquet"]


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
