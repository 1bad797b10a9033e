"""GeoPandas' `geo` entry in masked Parquet views (issue 16), through real Envoy: GeoPandas writes
a top-level `"creator": {"library": "geopandas", "version": ...}` (geopandas/io/arrow.py
`_create_metadata`) and `"crs": null` for a frame without a CRS; the view keeps the entry
without `creator`, so DuckDB reads the unmasked geometry as upstream. GeoPandas is not installed
here: its entry is reproduced as its `json.dumps` writes it, over DuckDB's V1 file. (A `bbox`
past six numbers is refused as it is read: geo.rs' native tests.)
"""
import io
import json

import pyarrow.parquet as pq
import pytest

from parquet_crafted import crafted_stack
from test_attacks_parquet_2 import footer_of
from test_attacks_parquet_3 import an_email
from test_attacks_parquet_5 import MASKED, duckdb_file, duckdb_types
from test_attacks_parquet_geo import served
from test_parquet_geo import geo_of, spelled, with_geo

GEOPANDAS = "geopandas-no-crs.parquet"


def geopandas_doc():
    """What GeoPandas 1.1 writes for a point column `loc` of a frame without a CRS."""
    return {"primary_column": "loc",
            "columns": {"loc": {"encoding": "WKB", "crs": None, "geometry_types": ["Point"],
                                "bbox": [1.0, 1.5, 3.0, 3.5]}},
            "version": "1.0.0", "creator": {"library": "geopandas", "version": "1.1.4"}}


def crafted_objects(first):
    assert an_email(footer_of(first))
    v1 = duckdb_file(pq.read_table(io.BytesIO(first)),
                     ", ROW_GROUP_SIZE 300, GEOPARQUET_VERSION 'V1'")
    return {GEOPANDAS: with_geo(v1, json.dumps(geopandas_doc()).encode())}


@pytest.fixture(scope="module")
def openg(demo_dir, tmp_path_factory):
    yield from crafted_stack(demo_dir, tmp_path_factory, "geopandas", crafted_objects)


@pytest.mark.parametrize("principal", MASKED)
def test_a_geopandas_geo_entry_is_kept_without_its_creator(openg, principal):
    """GeoPandas' `creator` is read and left out; were the entry dropped, DuckDB would read the
    unmasked geometry as BLOB (GEOMETRY upstream) and GeoPandas could not open the view."""
    body = served(openg, principal, GEOPANDAS)
    doc = geo_of(body)
    assert doc is not None, "geo dropped: GeoPandas' `creator` is an unknown key to GeoDoc"
    assert not spelled(openg, doc), doc
    assert "creator" not in doc and "bbox" not in doc["columns"]["loc"], doc
    up = duckdb_types(openg.objects[GEOPANDAS])
    assert up["loc"].startswith("GEOMETRY"), up
    assert duckdb_types(body)["loc"] == up["loc"], duckdb_types(body)["loc"]
