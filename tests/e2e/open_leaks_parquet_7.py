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
"""

import pytest

from test_attacks_parquet_2 import row_groups, footer_of, value
from test_attacks_parquet_5 import view_of
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
