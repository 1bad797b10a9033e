"""Open findings of the hostile pass over GeoParquet's `geo` and `arrow.fixed_shape_tensor` in
masked Parquet views (issue 16), not collected: run it by path,
`.venv/bin/pytest tests/e2e/open_leaks_parquet_geo.py -q -p no:cacheprovider`. Each test
asserts the SAFE or upstream-equal outcome and fails today. No clear value reached a view
through `geo` or tensor metadata (`test_attacks_parquet_geo.py` holds what held).

- LOW (usability; docs/tables.md names GeoPandas among the writers whose `geo` is kept):
  GeoPandas writes a top-level `"creator": {"library": "geopandas", "version": ...}` in every
  `geo` entry (geopandas/io/arrow.py `_create_metadata`), and `"crs": null` for a frame without
  a CRS. `GeoDoc` is `deny_unknown_fields` and has no `creator`, so the whole entry is dropped:
  DuckDB reads the geometry as BLOB in the view (GEOMETRY upstream) and
  `geopandas.read_parquet` refuses the file (its reader requires `geo`: "Missing geo
  metadata", per its source). Fix: read `creator` (as
  `serde::de::IgnoredAny`, or typed: `library` and `version` strings) and never write it again;
  readers need neither. core/src/tables/parquet/geo.rs `GeoDoc`. GeoPandas is not installed
  here, so its entry is reproduced byte for byte as its `json.dumps` writes it, over DuckDB's
  V1 file.
- LOW (availability, not a leak): geo.rs reads a `bbox` of any length into a `Vec<f64>`
  before checking it has 4 or 6 numbers: a 13 MB bbox inside the 16 MiB footer bound grows
  Envoy's wasm memory by ~115-135 MiB a worker VM (a same-size footer of white space:
  ~30), and it does not shrink. geo.rs `GeoColumn::bbox` (a bounded seq visitor).
"""
import io
import json
import os
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import start_stack
from test_attacks_parquet_2 import footer_of
from test_attacks_parquet_3 import an_email, envoy_rss_mib
from test_attacks_parquet_4 import fetch
from test_attacks_parquet_5 import MASKED, duckdb_file, duckdb_types
from test_attacks_parquet_geo import served
from test_parquet_geo import geo_doc, geo_of, spelled, with_geo

GEOPANDAS = "geopandas-no-crs.parquet"
def huge_bbox(v1):
    """A `geo` whose bbox is 6.5 million numbers (13 MB, inside the 16 MiB footer bound)."""
    return with_geo(v1, json.dumps(geo_doc()).encode().replace(
        b"[1.0, 1.5, 3.0, 3.5]", b"[" + b"0," * 6_500_000 + b"0]"))


def geopandas_doc():
    """What GeoPandas 1.1 writes for a point column `loc` of a frame without a CRS."""
    return {"primary_column": "loc",
            "columns": {"loc": {"encoding": "WKB", "crs": None, "geometry_types": ["Point"],
                                "bbox": [1.0, 1.5, 3.0, 3.5]}},
            "version": "1.0.0", "creator": {"library": "geopandas", "version": "1.1.4"}}


@pytest.fixture(scope="module")
def openg(demo_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("parquet-open-geo") / "data"
    shutil.copytree(demo_dir, root, copy_function=os.link)
    orders = root / "acme-warehouse-prod/curated/orders"
    crafted = orders / "crafted4"  # `fetch` of test_attacks_parquet_4 reads orders/crafted4/
    crafted.mkdir()
    first = sorted(orders.glob("*.parquet"))[0].read_bytes()
    assert an_email(footer_of(first))
    table = pq.read_table(io.BytesIO(first))
    v1 = duckdb_file(table, ", ROW_GROUP_SIZE 300, GEOPARQUET_VERSION 'V1'")
    objects = {GEOPANDAS: with_geo(v1, json.dumps(geopandas_doc()).encode()),
               "huge-bbox.parquet": huge_bbox(v1),
               "huge-space.parquet": with_geo(
                   v1, b" " * 13_000_000 + json.dumps(geo_doc()).encode())}
    for name, data in objects.items():
        (crafted / name).write_bytes(data)
    s = start_stack(root, tmp_path_factory.mktemp("run-parquet-open-geo"))
    s.objects = objects
    s.emails = {e.encode() for p in orders.glob("*.parquet")
                for e in pq.read_table(p)["customer_email"].to_pylist() if e}
    s.amounts = {pa.array([a], pa.float64()).buffers()[1].to_pybytes()
                 for p in orders.glob("*.parquet")
                 for a in pq.read_table(p)["amount"].to_pylist() if a is not None}
    yield s
    s.stop()


@pytest.mark.parametrize("principal", MASKED)
def test_a_geopandas_geo_entry_is_kept_without_its_creator(openg, principal):
    """LOW, usability: GeoPandas' `creator` makes geo.rs drop the entry whole; DuckDB then reads
    the unmasked geometry as BLOB (GEOMETRY upstream), GeoPandas cannot open the view."""
    body = served(openg, principal, GEOPANDAS)
    doc = geo_of(body)
    assert doc is not None, "geo dropped: GeoPandas' `creator` is an unknown key to GeoDoc"
    assert not spelled(openg, doc), doc
    assert "creator" not in doc and "bbox" not in doc["columns"]["loc"], doc
    up = duckdb_types(openg.objects[GEOPANDAS])
    assert up["loc"].startswith("GEOMETRY"), up
    assert duckdb_types(body)["loc"] == up["loc"], duckdb_types(body)["loc"]



def test_a_huge_bbox_costs_no_more_memory_than_its_footer(openg):
    """LOW (availability, not a leak): geo.rs reads `bbox` into a `Vec<f64>` (8 bytes a
    number from 2 bytes of text, capacity doubling) and checks its length (4 or 6) only
    afterwards. A 13 MB footer of white space around a good `geo` grows Envoy by ~30 MiB; one
    bbox of 6.5 million numbers in the same size, read after it, by ~115-135 MiB more (wasm
    memory never shrinks and each worker has its VM: both principals' reads grew it by ~270
    MiB; eight reads at once peaked about as high, inside the 512 MiB that
    test_attacks_parquet_3.py bounds big footers by). Asserted: the bbox costs at most the
    white space's growth plus 32 MiB. Fix: a bounded seq visitor for `bbox` that refuses a
    7th element (geo.rs `GeoColumn::bbox`); `geometry_types` (14 at most) and tensor.rs
    `Metadata::shape` (MAX_DIMS) alike, though a 4-million-dimension shape measured only ~40
    MiB over a same-size ARROW:schema refused at its first key."""
    before = envoy_rss_mib(openg)
    status, _, body = fetch(openg, "alice", "huge-space.parquet")
    assert status == 200 and geo_of(body) is not None
    mid = envoy_rss_mib(openg)
    status, _, body = fetch(openg, "alice", "huge-bbox.parquet")
    assert status in (200, 403)
    after = envoy_rss_mib(openg)
    print(f"Envoy RSS {before:.0f} MiB, {mid:.0f} after the white space, "
          f"{after:.0f} after the bbox")
    assert after - mid <= (mid - before) + 32, (before, mid, after)
