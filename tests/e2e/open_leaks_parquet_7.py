"""Open findings of the seventh hostile pass over masked Parquet (issue 16), not collected: run
it by path, `.venv/bin/pytest tests/e2e/open_leaks_parquet_7.py -q -p no:cacheprovider`. The
objects and the stack are `test_attacks_parquet_7.py`'s; each test asserts the SAFE outcome and
fails today.

- HIGH: an UNMASKED INT64 column's `max_value` statistic holding a 23-byte email: readers
  decode the first 8 bytes and never show the rest, yet all of it is served (shape.rs
  `STATISTICS` is typed Binary for every physical type).
- MEDIUM: geospatial statistics on a STRING column (no GEOMETRY type) are kept: a BoundingBox's
  8 DOUBLEs are raw bytes, the email 8 bytes at a time (pyarrow's `geo_statistics` shows them as
  xmin, xmax, ...). shape.rs `COLUMN_META_DATA` field 17, whatever the column's type.
- MEDIUM: a level histogram is held to non-negative counts summing to num_values, not to its
  length (max level + 1): a flat OPTIONAL column's definition histogram of 24 counts, one per
  email byte, is kept (footer.rs `histogram_sums`). Not verbatim; `bytes(counts)` is the email.
- LOW: `sorting_columns` is copied through its shape with any column_idx, any number of
  entries: one per email byte, pyarrow shows `SortingColumn(column_index=116)` and so on
  (footer.rs `known_list` with shape.rs `SORTING_COLUMN`). Numbers, as other typed counts.
- LOW (usability, a real writer): polars writes a Categorical column's ARROW:schema field with
  custom metadata `_PL_CATEGORICAL2` (`0;0;u32;`), an Enum's with `_PL_ENUM_VALUES2` (its
  categories: free text). arrow_schema.rs `Extension::entry` refuses both, so ARROW:schema
  is dropped whole:
  in polars the Categorical reads as String, a zoned Datetime as UTC, a Duration as Int64; in
  pyarrow every string as `string` not `large_string`, lists as `list` not `large_list`.
- LOW (usability, a real writer; docs/tables.md says periods and intervals qualify): pandas'
  period and interval columns are pyarrow extension types `pandas.period` / `pandas.interval`
  with `ARROW:extension:metadata` `{"freq": "M"}` / `{"subtype": "int64", "closed": "right"}`;
  `Extension::check` keeps only arrow.json/uuid/bool8 with empty metadata, so ARROW:schema
  (and pandas' entry with it) is dropped: pandas reads the period as int64 and the interval as
  object. The pandas entry's own check passes; the field metadata is what refuses.
"""

import pytest

from test_attacks_parquet_2 import row_groups, footer_of, value
from test_attacks_parquet_3 import READERS
from test_attacks_parquet_5 import unmasked_differences, view_of
from test_attacks_parquet_7 import (  # noqa: F401
    MASKED, atk7, clear_in, clear_in_view, region_md,
)


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


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("reader", ["polars", "pyarrow"])
def test_a_polars_categorical_reads_as_upstream(atk7, principal, reader):
    """LOW (usability): a polars file with a Categorical column loses ARROW:schema whole."""
    diff = unmasked_differences(atk7, principal, "polars-categorical.parquet", READERS[reader])
    assert not diff, f"{principal}/{reader}: {diff}"


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("reader", ["pandas", "pyarrow"])
def test_a_pandas_period_and_interval_read_as_upstream(atk7, principal, reader):
    """LOW (usability): `DataFrame.to_parquet` of a period and an interval column."""
    diff = unmasked_differences(atk7, principal, "pandas-period-interval.parquet",
                                READERS[reader])
    assert not diff, f"{principal}/{reader}: {diff}"
