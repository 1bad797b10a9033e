"""KNOWN LIMITS, not collected by pytest (the name does not start with `test_`), from the
tenth hostile pass over masked Parquet (issue 16). Run with
`.venv/bin/pytest tests/e2e/known_limits_parquet_10.py -q -p no:cacheprovider`; the objects and
the stack are `test_attacks_parquet_10.py`'s, whose other probes (fixed) are collected there.

Each probe has a hostile writer spell a clear email in NUMBERS a reader shows as written, or
in a writer's free text in its alphabet: an Arrow leaf's type parameters (a FixedSizeBinary's
width on a string column), pandas' version numbers, `created_by` in hex, the file's `num_rows`,
row groups' `file_offset`, unmasked chunks' offsets, `index_page_offset`, `distinct_count`.
None of them is a masked column's value reaching the view from where the writer's library put
it (its pages, statistics, indexes, dictionaries, blooms: all regenerated or dropped); each is
a value the writer chose to write elsewhere in its own file, as it could write the emails into
an unmasked column, which the view serves. docs/security.md names the class. Also a usability
limit: a `partition_cols` file's pandas entry names the partition column, no field of the file.
"""
import io

import pyarrow.parquet as pq
import pytest

from test_attacks_parquet_9 import (MASKED, arrow_schema_message, clear_in, pandas_doc,
                                    pandas_read, view_or_none)
from test_attacks_parquet_10 import (atk10, chunk_numbers_spelled, chunk_offsets_spelled,
                                     extra_categories, flat_widths,  # noqa: F401
                                     index_levels, list_sizes, offsets_spelled,
                                     versions_spelled)


@pytest.mark.parametrize("principal", MASKED)
def test_arrow_leaf_widths_spell_no_email(atk10, principal):
    """MEDIUM (the root of the listSize probe): with the tree, names, ids and leaf counts the
    Parquet schema's, each top-level field declared a FixedSizeBinary of 2 email bytes' width
    (<= 2^20): the view keeps it, ~20 bits per column whatever its Parquet type (a BYTE_ARRAY,
    an INT64). Decimals' precision/scale, timestamps' zones and units, Int widths carry bits
    the same way. At fault: arrow_schema.rs `check_fields`/`check_type`: a field's Arrow type
    is not held to its Parquet leaf's physical and logical type."""
    body = view_or_none(atk10, principal, "arrow-flat-widths.parquet")
    if body is None:
        return
    message = arrow_schema_message(body)
    spelled = flat_widths(message).rstrip(b"\0") if message else b""
    assert not (spelled and any(spelled in e for e in atk10.emails)), \
        f"{principal}: widths spell {spelled}"


@pytest.mark.parametrize("principal", MASKED)
def test_pandas_versions_spell_no_email(atk10, principal):
    """LOW-MEDIUM (bounded): pandas' `creator.version` and `pandas_version` each four
    numbers and an `rcN`/`.devN`, every number up to 4 digits with leading zeros: 10 groups of
    10^4, ~133 bits, the email's first 16 bytes (most of a local part) in every file. At fault:
    arrow_schema.rs `version_ok`/`small_number` (leading zeros; numbers no release has)."""
    body = view_or_none(atk10, principal, "pandas-versions.parquet")
    if body is None:
        return
    doc = pandas_doc(body)
    spelled = versions_spelled(doc) if doc else b""
    assert not (spelled and any(spelled in e for e in atk10.emails)), \
        f"{principal}: versions spell {spelled}"


@pytest.mark.parametrize("principal", MASKED)
def test_created_by_spells_no_email(atk10, principal):
    """MEDIUM (the widest channel found): `created_by` "parquet-cpp-arrow version 21.0.0 "
    then the email in hex: every byte a letter, digit or space, at most 128, so the view keeps
    it and pyarrow shows it as `metadata.created_by`: ~47 bytes of any value per file in hex
    (or an email written `name (at) example.com` in clear). test_attacks_parquet_3 only tried
    a literal `@`. At fault: footer.rs `reads_as_a_writer` (an alphabet, not a writer's name
    and version: hold it to `<name> version <numbers>` with a short suffix, as pandas'
    versions are held)."""
    body = view_or_none(atk10, principal, "created-by-hex.parquet")
    if body is None:
        return
    created = pq.ParquetFile(io.BytesIO(body)).metadata.created_by or ""
    assert not [e for e in atk10.emails if e.hex() in created], f"{principal}: {created}"


@pytest.mark.parametrize("principal", MASKED)
def test_row_group_offsets_spell_no_email(atk10, principal):
    """MEDIUM: each row group's `file_offset` (an i64, deprecated, no reader seeks by it;
    parquet-tools and any Thrift reader show it) 8 email bytes: the view copies it verbatim in every row group, 8 bytes
    per group, unbounded with many groups (`ordinal`, an i16, likewise; `total_byte_size` and
    `total_compressed_size` too, moved by the masked chunks' deltas only). At fault: footer.rs
    `rewrite_row_group`, the `3 | 5 | 7` arm: `file_offset` not held to the group's first
    chunk's offset, `ordinal` to the group's index."""
    body = view_or_none(atk10, principal, "row-group-offsets.parquet")
    if body is None:
        return
    spelled = offsets_spelled(body)
    assert not clear_in(atk10, spelled), f"{principal}: file_offsets spell {spelled}"


@pytest.mark.parametrize("principal", MASKED)
def test_unmasked_chunk_offsets_spell_no_email(atk10, principal):
    """MEDIUM: an unmasked chunk's `ColumnChunk.file_offset` (an i64 readers do not seek by:
    the pages' offsets are in its ColumnMetaData; pyarrow shows it as `file_offset`) 8 email
    bytes in each row group: the chunk conforms and is copied verbatim. At fault: footer.rs
    `KeptSpans`/the unmasked chunk copy: `file_offset` not held to the chunk's metadata or
    pages' offset (or written again like a masked chunk's)."""
    body = view_or_none(atk10, principal, "chunk-offsets.parquet")
    if body is None:
        return
    spelled = chunk_offsets_spelled(body)
    assert not clear_in(atk10, spelled), f"{principal}: chunks' file_offsets spell {spelled}"


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["index-page-offset", "distinct-count"])
def test_unmasked_chunk_numbers_spell_no_email(atk10, principal, name):
    """MEDIUM: an unmasked chunk's `index_page_offset` (ColumnMetaData 10, an i64 no writer
    sets: there is no index page) or its statistics' `distinct_count` (an i64 no reader
    checks) 8 email bytes in each row group: copied verbatim. At fault: footer.rs, the
    unmasked chunk's conformance (`KeptSpans`): numbers that are no span, count or value
    of the column's data are kept as written."""
    body = view_or_none(atk10, principal, f"{name}.parquet")
    if body is None:
        return
    spelled = chunk_numbers_spelled(body, name)
    assert not clear_in(atk10, spelled), f"{principal}: {name} spells {spelled}"


@pytest.mark.parametrize("principal", MASKED)
def test_file_num_rows_spells_no_email(atk10, principal):
    """MEDIUM: FileMetaData.num_rows set to the email's first 8 bytes (an i64; the row
    groups' own num_rows untouched): the view copies it verbatim and pyarrow reports it as
    `metadata.num_rows` (and pandas' RangeIndex is now held to it, so a range over it is
    kept too). At fault: footer.rs `rewrite`, the `(3, thrift::I64)` arm keeps num_rows
    without checking it is the sum of the row groups' num_rows."""
    body = view_or_none(atk10, principal, "num-rows-spelling.parquet")
    if body is None:
        return
    n = pq.ParquetFile(io.BytesIO(body)).metadata.num_rows
    spelled = n.to_bytes(8, "little", signed=True)
    assert not any(spelled in e for e in atk10.emails), f"{principal}: num_rows {spelled}"


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["pandas-partitioned.parquet"])
def test_real_pandas_files_keep_arrow_schema(atk10, principal, name):
    """LOW-MEDIUM (usability): real pandas files whose RangeIndex is not exactly the file's
    rows by steps of 1 lose ARROW:schema (categoricals, zones, dtypes) in the view:
    `df.iloc[::2].to_parquet()` writes a RangeIndex of step 2 (0 to 1200 over 600 rows: pandas
    rebuilds it, its length ceil((stop - start) / step)); a `ParquetWriter` fed a frame in two
    chunks keeps the first chunk's range (0 to 600 over 1200 rows; pandas falls back to a
    default index, the dtypes stay). `df.to_parquet(dir, partition_cols=["region"])` writes
    the whole frame's range in each partition's file, and also lists the partition column
    `region`, not a field of the file (dropped by `name_ok` before the ninth pass too). At
    fault: arrow_schema.rs `pandas_doc_ok` `range_ok` (and `name_ok` for the partition)."""
    body = view_or_none(atk10, principal, name)
    assert body is not None
    assert arrow_schema_message(body) == arrow_schema_message(atk10.objects[name])
    up = pandas_read(atk10.objects[name])
    assert list(pandas_read(body)["cat"].dtype.categories) == list(up["cat"].dtype.categories)
