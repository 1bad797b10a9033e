"""Open finding of the sixth hostile pass over masked Parquet (issue 16), not collected: run it
by path, `.venv/bin/pytest tests/e2e/open_leaks_parquet_6.py -q -p no:cacheprovider`. The objects
and the stack are `test_attacks_parquet_6.py`'s; its other findings are fixed and collected there.

- Usability, low, a crafted file only: `region`'s logicalType an empty union. The view drops the
  empty union, and pyarrow then reads the column as `string` where upstream it reads `binary`.
"""
import pytest

from test_attacks_parquet_3 import READERS  # noqa: F401
from test_attacks_parquet_5 import unmasked_differences  # noqa: F401
from test_attacks_parquet_6 import MASKED, arrow_type_differences, atk6  # noqa: F401


@pytest.mark.parametrize("principal", MASKED)
def test_an_empty_logical_type_reads_as_upstream_in_pyarrow(atk6, principal):
    """Usability (crafted file): region's LogicalType is an empty union. Upstream pyarrow reads
    region as binary; the view drops the empty union (no variant to copy) and pyarrow falls
    back to the ConvertedType UTF8: string."""
    diff = unmasked_differences(atk6, principal, "union-empty.parquet", READERS["pyarrow"])
    assert not diff, f"{principal}: {diff}"
