"""Open findings of the sixth pass (not collected: `open_leaks_*` is not a test module name).
Each asserts the SAFE or usable outcome and FAILED when written. Run with:
  .venv/bin/pytest tests/e2e/open_leaks_parquet_6.py -q -p no:cacheprovider
The objects are test_attacks_parquet_6.py's (its `atk6` stack).

Both ARROW:schema leaks are vectors whose length the writer chooses and whose values the walk
never reads (`Flatbuffer::vector` marks them covered): Parquet stores no union (tag 14 could be
refused), and `features` holds Feature enum values (0, 1, 2). The walk does not compare
ARROW:schema's fields with the Parquet schema's, so such a field need not be a column."""
import pytest

from test_attacks_parquet_3 import READERS
from test_attacks_parquet_4 import fetch
from test_attacks_parquet_5 import unmasked_differences
from test_attacks_parquet_6 import MASKED, arrow_type_differences, atk6, clear_in_view  # noqa: F401


@pytest.mark.parametrize("principal", MASKED)
def test_a_unions_type_ids_hold_no_clear_value(atk6, principal):
    """LEAK: `check_type` (arrow_schema.rs, tag 14) sizes a Union's `typeIds` vector (i32s) and
    marks its bytes covered without reading them; the vector's length is the writer's, so its
    bytes are free text of any length. An email written there (zero-padded to 4 bytes) is
    kept verbatim in the view's ARROW:schema (base64: decoded by any reader of the footer).
    The union field is one more than the file's columns; the gateway does not compare."""
    found = clear_in_view(atk6, principal, "union-type-ids.parquet")
    assert not found, f"{principal} read clear emails in ARROW:schema: {found}"


@pytest.mark.parametrize("principal", MASKED)
def test_schema_features_hold_no_clear_value(atk6, principal):
    """LEAK: `check_message` sizes `Schema.features` (a vector of i64, `fb.vector(.., 8)`) and
    never reads the values: an email there is kept verbatim in the view's ARROW:schema, which
    pyarrow still reads as the file's schema."""
    found = clear_in_view(atk6, principal, "schema-features.parquet")
    assert not found, f"{principal} read clear emails in ARROW:schema: {found}"


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["histogram-balanced-def.parquet",
                                  "histogram-balanced-rep.parquet"])
def test_a_level_histogram_that_sums_to_the_count_holds_no_clear_value(atk6, principal, name):
    """`histogram_sums` keeps a histogram whose entries SUM to num_values; entries may be
    negative, so an email as one-byte varints and one balancing entry pass."""
    found = clear_in_view(atk6, principal, name)
    assert not found, f"{principal} read clear emails in {name}: {found}"


@pytest.mark.parametrize("principal", MASKED)
def test_an_empty_logical_type_reads_as_upstream_in_pyarrow(atk6, principal):
    """Usability (crafted file): region's LogicalType is an empty union. Upstream pyarrow reads
    region as binary; the view drops the empty union (no variant to copy) and pyarrow falls
    back to the ConvertedType UTF8: string."""
    diff = unmasked_differences(atk6, principal, "union-empty.parquet", READERS["pyarrow"])
    assert not diff, f"{principal}: {diff}"


@pytest.mark.parametrize("principal", MASKED)
def test_field_ids_keep_arrow_schema(atk6, principal):
    """Usability: pyarrow writes a field id as the Arrow field's custom metadata
    `PARQUET:field_id` in ARROW:schema (pyiceberg-style files carry one on every field), and
    `canonical_extension` refuses any custom metadata but extension names: ARROW:schema is
    dropped whole, so an unmasked zoned timestamp reads as UTC and a large string as string
    (pyarrow; polars likewise)."""
    diff = arrow_type_differences(atk6, principal, "writer-field-ids-everywhere.parquet")
    assert not diff, f"{principal}: {diff}"


def test_the_union_object_is_served_not_refused(atk6):
    """Context for the leak: alice gets 200, not an S3 error."""
    status, _, body = fetch(atk6, "alice", "union-type-ids.parquet")
    assert status == 200
