"""Open findings of the eighth hostile pass over masked Parquet (issue 16), not collected: run
it by path, `.venv/bin/pytest tests/e2e/open_leaks_parquet_8.py -q -p no:cacheprovider`. The
objects and the stack are `test_attacks_parquet_8.py`'s; each test asserts the SAFE outcome and
fails today.

- MEDIUM: a leaf is taken as geospatial when ANY field of its LogicalType union has id 17 or
  18, whatever its type and place (footer.rs `schema`, `17 | 18 => logical_geospatial`), while
  the view's schema keeps only the union's first conforming variant (shape.rs
  `copy_conforming`, Union). region (STRING) with the union {STRING, GEOMETRY}, {GEOMETRY as
  an i32} or {STRING, GEOMETRY as an i32} is STRING, or untyped, in the view, yet its chunks'
  geospatial statistics are kept: the BoundingBox's 8 doubles are the email verbatim, 8 bytes
  each between one-byte field headers, and pyarrow shows them as the String column's
  `geo_statistics` (`Drops::geospatial` trusts `Leaf::geospatial`). The seventh pass's
  MEDIUM reopened. A fix: take the flag from the variant the view keeps (the first known,
  conforming one), or drop geospatial statistics unless that variant is GEOMETRY/GEOGRAPHY.
- LOW: a leaf of a physical type this reader does not know (a nested leaf's `type` 99) has no
  width (`stat_width` None, as BYTE_ARRAY), so its statistics are kept whatever their length:
  the email verbatim in `max_value` of an INT64 list's element retyped 99. Top-level leaves of
  an unknown type are refused ("a leaf without a known physical type"), nested and REPEATED
  top-level ones are not (footer.rs `schema`). pyarrow refuses such a file ("Invalid physical
  column type"), so no reader shows it; the bytes are in the view for anyone who reads them.
- LOW: `PageEncodingStats.page_type` is an enumeration of four values (DATA_PAGE to
  DATA_PAGE_V2) typed a plain I32 (shape.rs `PAGE_ENCODING_STATS` slot 1), and the list has
  any length: one entry per 4 email bytes, each a page_type no reader takes as written
  (parquet-cpp reads it as an enum), is kept. Numbers, not verbatim bytes, as the seventh
  pass's sorting columns; unlike a count, no reader shows them.
- LOW: a schema element's `type_length`, `scale` and `precision` are kept on every leaf
  (footer.rs `known_schema` through shape.rs `SCHEMA_ELEMENT`), though readers take the first
  only for a FIXED_LEN_BYTE_ARRAY and the others only for a DECIMAL: three free i32s a
  column, no reader shows them. The email's six words on order_id, region and order_ts, read
  by pyarrow, DuckDB and polars as upstream. Numbers, not verbatim bytes.
- LOW (the seventh pass's MEDIUM, bounded not closed): a level histogram is held to its
  leaf's max level + 1 counts, but a writer chooses the levels: two int64 leaves under 15
  optional structs (the deepest schema taken, thrift `MAX_DEPTH`) have 17 definition counts
  each, 16 of them an email byte and one the balance to num_values; both are kept, and
  `bytes(counts)` over the two is the email. footer.rs `sizes_uncounted` checks length and
  sum, never that the split matches the pages (it cannot without reading them); the docs'
  "a histogram's split of the row count over the levels" names this, at one byte a count.
- LOW (usability): a LogicalType union whose only field is an unknown variant, or a known one
  of another type, is dropped from the view (shape.rs `copy_conforming`, Union: kept empty only
  when it has no field at all). Upstream every Thrift reader skips that field and sees the
  empty union the seventh pass keeps: pyarrow reads region as `binary` upstream, `string` (the
  converted type) in the view; polars refuses upstream ("LogicalType union has no variant
  set") and reads the view.
"""
import pytest

from test_attacks_parquet_2 import chunks, footer_of, row_groups, value
from test_attacks_parquet_3 import READERS
from test_attacks_parquet_5 import unmasked_differences
from test_attacks_parquet_8 import (  # noqa: F401
    DEEP, MASKED, SPELLING_ELEMENTS, atk8, clear_in, clear_in_view, md_of, schema_element,
    view_or_none,
)


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["geo-second-variant.parquet",
                                  "geo-variant-not-a-struct.parquet",
                                  "geo-string-then-i32.parquet"])
def test_geospatial_statistics_follow_the_views_logical_type(atk8, principal, name):
    """MEDIUM: region is no GEOMETRY in the view's schema, its bbox spells the email."""
    body = view_or_none(atk8, principal, name)
    if body is None:
        return
    fm = footer_of(body)
    region = next(e for e in value(fm, 2)[1] if value(e, 4) == b"region")
    variants = [v[0] for v in value(region, 10) or []]
    assert 17 not in variants, variants
    box = value(value(md_of(row_groups(fm)[0], "region"), 17) or [], 1) or []
    joined = b"".join(v for _, _, v in sorted(box))
    assert not clear_in(atk8, joined), \
        f"{principal}: region's logical type {variants}, its bbox {joined.rstrip(bytes(1))}"


@pytest.mark.parametrize("principal", MASKED)
def test_statistics_of_an_unknown_physical_type_hold_no_clear_value(atk8, principal):
    """LOW: tags.list.element of physical type 99, its max_value the email."""
    found = clear_in_view(atk8, principal, "tags-unknown-physical.parquet")
    assert not found, f"{principal}: {found}"


@pytest.mark.parametrize("principal", MASKED)
def test_page_encoding_stats_hold_page_types_only(atk8, principal):
    """LOW: region's encoding_stats, one entry per 4 email bytes as its page_type."""
    body = view_or_none(atk8, principal, "page-types-spelling.parquet")
    if body is None:
        return
    stats = value(md_of(row_groups(footer_of(body))[0], "region"), 13)
    types = [value(s, 1) for s in stats[1]] if stats else []
    spelled = b"".join(t.to_bytes(4, "little", signed=True) for t in types if t not in range(4))
    assert not spelled, f"{principal}: page_type values spell {spelled.rstrip(bytes(1))}"


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["logical-unknown-variant.parquet",
                                  "logical-mistyped-variant.parquet"])
def test_a_union_of_no_known_variant_reads_as_upstream(atk8, principal, name):
    """LOW (usability): pyarrow's region is binary upstream, string in the view."""
    diff = unmasked_differences(atk8, principal, name, READERS["pyarrow"])
    assert not diff, f"{principal}: {diff and {k: (v[0], v[1][:40]) for k, v in diff.items()}}"


@pytest.mark.parametrize("principal", MASKED)
def test_schema_ints_readers_ignore_are_not_kept(atk8, principal):
    """LOW: type_length, scale and precision on INT64, STRING and TIMESTAMP leaves."""
    body = view_or_none(atk8, principal, "schema-ints-spelling.parquet")
    if body is None:
        return
    fm = footer_of(body)
    words = [value(schema_element(fm, n), fid) for n in SPELLING_ELEMENTS for fid in (2, 7, 8)]
    spelled = b"".join(w.to_bytes(4, "little", signed=True) for w in words if w is not None)
    assert not clear_in(atk8, spelled), f"{principal}: the words spell {spelled.rstrip(bytes(1))}"


@pytest.mark.parametrize("principal", MASKED)
def test_deep_leaves_histograms_spell_no_clear_value(atk8, principal):
    """LOW: d1's and d2's definition histograms, 16 email bytes each and a balance."""
    body = view_or_none(atk8, principal, "deep-histograms.parquet")
    if body is None:
        return
    spelled = b""
    for rg in row_groups(footer_of(body)):
        for name in DEEP:
            md = next(md for _, _, md in chunks(rg) if value(md, 3)[1][0] == name.encode())
            hist = value(value(md, 16) or [], 3)
            spelled += bytes(c for c in (hist[1][:-1] if hist else []) if 0 <= c < 256)
    assert not clear_in(atk8, spelled), f"{principal}: {spelled.rstrip(bytes(1))}"
