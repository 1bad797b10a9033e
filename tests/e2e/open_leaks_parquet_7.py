"""Open findings of the seventh hostile pass over masked Parquet (issue 16), not collected: run
it by path, `.venv/bin/pytest tests/e2e/open_leaks_parquet_7.py -q -p no:cacheprovider`. The
objects and the stack are `test_attacks_parquet_7.py`'s; each test asserts the SAFE outcome and
fails today.

- HIGH: ARROW:schema's field names are free text. The walk reads every name (top level and
  any child) as covered and never compares them with the Parquet schema's, which readers name
  columns by: an email as `region`'s Arrow name, or a struct child's, is kept verbatim in the
  view (base64 in the footer's key-value metadata). `arrow_schema.rs` `check_fields`.
- HIGH: ARROW:schema's scalars are free bytes. `Flatbuffer::table` marks a known field's
  bytes covered whatever they hold (`check_type` bounds no value), and a vtable's field offsets
  may reach past its table: Decimal tables 4 bytes apart over one vtable lay their
  precision/scale/bitWidth i32s end to end, the email verbatim. In a file readers read as
  before: a real pyarrow file's dictionary ids (i64s) rewritten to the email 8 bytes at a
  time, read by pyarrow, polars and pandas as upstream (likewise a Message's bodyLength,
  bools, a vtable's table size). `arrow_schema.rs` `check_type`, `check_fields`.
- HIGH for readers that match columns by field id (pyiceberg reads them from pyarrow): for a
  field without an id in the Parquet schema (none has one, or only that one), pyarrow reports
  ARROW:schema's `PARQUET:field_id` (kept since the sixth pass), so the unmasked `contact`
  (the writer's clear copy) carries the masked column's id 2. The field-id rule (footer.rs
  `field_ids` and its check) reads the Parquet schema alone.
- HIGH (pandas): pandas labels a DataFrame's columns by the pandas entry's `name`, and
  `pandas_doc_ok` lets a column's `name` be ANY top-level field name, not its own
  `field_name`'s: with `customer_email` and `contact` (the writer's unmasked copy) swapped,
  `pd.read_parquet(view)["customer_email"]` is the clear emails (and `contact` the nulls).
  `arrow_schema.rs` `pandas_doc_ok` (a column's name must be its field_name, or null).
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
  categories: free text). `canonical_extension` refuses both, so ARROW:schema is dropped whole:
  in polars the Categorical reads as String, a zoned Datetime as UTC, a Duration as Int64; in
  pyarrow every string as `string` not `large_string`, lists as `list` not `large_list`.
- LOW (usability, a real writer; docs/tables.md says periods and intervals qualify): pandas'
  period and interval columns are pyarrow extension types `pandas.period` / `pandas.interval`
  with `ARROW:extension:metadata` `{"freq": "M"}` / `{"subtype": "int64", "closed": "right"}`;
  `canonical_extension` keeps only arrow.json/uuid/bool8 with empty metadata, so ARROW:schema
  (and pandas' entry with it) is dropped: pandas reads the period as int64 and the interval as
  object. The pandas entry's own check passes; the field metadata is what refuses.
"""
import io

import pytest

from test_attacks_parquet_2 import row_groups, footer_of, value
from test_attacks_parquet_3 import READERS, an_email
from test_attacks_parquet_5 import unmasked_differences, view_of
from test_attacks_parquet_7 import (  # noqa: F401
    MASKED, arrow_schema_decoded, atk7, clear_in, clear_in_view, pyarrow_field_ids, region_md,
    view_or_none,
)


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
