"""Open leaks and bugs of the fourth hostile pass over masked Parquet (issue 16): each test
asserts the SAFE outcome and FAILED when this pass was made (not collected: run it by path,
`.venv/bin/pytest tests/e2e/open_leaks_parquet_4.py -q -p no:cacheprovider`). The objects and
the stack are `test_attacks_parquet_4.py`'s.

- pandas' entry in ARROW:schema is kept whenever `attributes` is absent, null or empty: an
  email in another key, in a column's `metadata`, or in a first `attributes` that a second
  (null) one overrides for serde_json, is served (and decoded by pyarrow).
The footer's fields copied by id whatever their type are fixed (the footer is written through
typed shapes, `shape.rs`): their probes are `test_attacks_parquet_4.py`'s.
"""
import pytest

from test_attacks_parquet_4 import (  # noqa: F401 (atk4: the fixture)
    MASKED, atk4, served_clear,
)


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["pandas-other-key.parquet", "pandas-column-metadata.parquet",
                                  "pandas-duplicate-attributes.parquet"])
def test_pandas_schema_entry_holds_no_clear_value(atk4, principal, name):
    """pandas' entry inside ARROW:schema is kept when its `attributes` is absent, null or
    empty: nothing else of its JSON may carry a value."""
    found = served_clear(atk4, principal, name)
    assert not found, f"{principal} read clear emails in {name}: {found}"

