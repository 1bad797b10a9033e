"""Open findings of the ninth hostile pass over masked Parquet (issue 16), not collected: run
it by path, `.venv/bin/pytest tests/e2e/open_leaks_parquet_9.py -q -p no:cacheprovider`. The
objects and the stack are `test_attacks_parquet_9.py`'s; each test asserts the SAFE (or
usable) outcome and fails today.

- MEDIUM: ARROW:schema's tree is never held to the Parquet schema's: only its top-level names
  (equal, in order) and the set its nested names come from (arrow_schema.rs `names_ok`) are.
  `region`, a string leaf in Parquet, declared a struct of 23 `item` children, child k a
  FixedSizeBinary of width email[k] (each width within `MAX_WIDTH`, every name structural):
  the view keeps it, pyarrow reads region as a string (it ignores an origin type that does
  not fit), and `pa.ipc.read_schema` of the view's ARROW:schema lists the widths
  `fixed_size_binary[116], [97], ...`, the email a byte a number. The count of such
  numbers is bounded by `MAX_FLATBUFFER` (1 MiB) alone, so a whole column's emails fit, and
  any bounded scalar (a FixedSizeList's listSize, 20 bits; a Decimal's precision; an Int's
  width) does as well. The four-byte window bound holds; the "few bits a number" of the docs
  does not, since the numbers are not the Parquet schema's. Nested timestamps' zones are
  text (`zone_like`: 64 alphanumerics, `_+-/:`), held to the Parquet schema nowhere either:
  region as a struct of timestamps zoned by the email's hex is kept, so the tree carries
  text in a base-16 alphabet, any length. A fix: walk the Arrow tree with
  the Parquet tree, a field's children count that of its group (a list's and map's levels
  as Arrow nests them), each leaf's Arrow type one the leaf's physical and logical type read
  as (a FixedSizeBinary's width its type_length, a Decimal's precision and scale the
  leaf's).
- MEDIUM (the tree's scalars, and without it): an Arrow field id is held only to differ from a
  masked column's (arrow_schema.rs `ids_ok`), never to equal the Parquet schema's, and
  pyarrow reports the Arrow id where the Parquet schema gives none. customer_email given a
  Parquet id (9), nothing else one, and ARROW:schema's order_id, region and order_ts the ids
  1634492788, ... : alice's view keeps them and pyarrow reads `PARQUET:field_id` of those
  columns as the email's first 12 bytes (4 a field, more with amount or the tree above; erin's
  view drops ARROW:schema, her masked amount having no id). A fix: an Arrow field id only
  equal to its Parquet element's id (none where that has none).
- MEDIUM: pandas' entry keeps numbers pandas_doc_ok types but never bounds
  (arrow_schema.rs `RangeIndex` start/stop/step i64s, `ColumnMetadata` num_categories u64,
  precision u32, scale i32), and its lists have any length: `index_columns` may hold any
  number of ranges (pandas skips one of another length than the table, so the file reads),
  `column_indexes` any number of entries. A range's start the email's first 8 bytes and two
  more ranges' numbers the rest: the kept document's numbers, as little-endian words, are the
  email, and `pd.read_parquet` of the view shows an index starting at `b"tala.sat"` as an
  int. The same with one column index entry per 8 bytes (num_categories) or every column's
  precision and scale. Decimal digits in the view, not the bytes; 8 bytes a number, without
  bound. A fix: a RangeIndex only as pyarrow writes one (start 0, step 1, stop the row
  count, one at most), `column_indexes` of one entry (or as many as the column names' tuple
  levels), num_categories no more than the dictionary can hold, precision and scale the
  Parquet leaf's (or absent where the column is no decimal). And a range's `name` may be a
  masked column's (`index_ok` takes any top-level name; `labels_ok`'s masked check covers
  field index levels only): `pd.read_parquet` of alice's view shows an index named
  `customer_email` whose first value is the email's first 8 bytes, where the seventh pass's
  HIGH was a clear column so labelled. A range named as no masked column closes that part.
- LOW-MEDIUM (usability): polars' flatbuffer builder stores equal strings once, so a polars
  file with two list columns, a list of lists, or a list of structs of lists (two `item`
  names) has two fields pointing at one string; the walk reads each byte once
  (`Flatbuffer::claim` through `string`) and drops ARROW:schema. In the view pyarrow reads
  polars' large_string and large_list as string and list, and both pyarrow and polars read a
  Categorical beside them as a plain string, where upstream polars reads Categorical. One
  string read twice as the same string carries nothing a single reading does not: a fix is
  to let a string be shared when every reader reads it at the same offset as a string (as
  equal vtables are).
"""
import pyarrow as pa
import pytest

from test_attacks_parquet_3 import READERS
from test_attacks_parquet_5 import unmasked_differences
from test_attacks_parquet_9 import (  # noqa: F401
    ID_SPELLERS, MASKED, arrow_schema_message, atk9, clear_in, pandas_doc, pandas_read, spelled_by,
    view_or_none,
)


def range_words(doc):
    """The first range's start, then every other range's start, stop and step."""
    ranges = [i for i in doc["index_columns"] if isinstance(i, dict)]
    return ranges[:1] and [ranges[0]["start"]] + [
        n for r in ranges[1:] for n in (r["start"], r["stop"], r["step"])]


def categories_words(doc):
    return [(c.get("metadata") or {}).get("num_categories", 0) for c in doc["column_indexes"]]


def decimal_words(doc):
    return [n for c in doc["columns"] for key in ("precision", "scale")
            for n in [(c.get("metadata") or {}).get(key, 0)]]


@pytest.mark.parametrize("principal", MASKED)
def test_an_arrow_tree_not_the_parquet_schemas_is_not_kept(atk9, principal):
    """MEDIUM: region (a Parquet string) a struct of FixedSizeBinary widths spelling the
    email in the view's ARROW:schema."""
    body = view_or_none(atk9, principal, "arrow-tree-spelling.parquet")
    if body is None:
        return
    message = arrow_schema_message(body)
    if not message:
        return
    region = pa.ipc.read_schema(pa.py_buffer(message)).field("region").type
    widths = bytes(c.type.byte_width for c in region) if pa.types.is_struct(region) else b""
    assert not clear_in(atk9, widths), f"{principal}: ARROW:schema's widths spell {widths}"


@pytest.mark.parametrize("principal", MASKED)
def test_an_arrow_tree_holds_no_text_in_its_zones(atk9, principal):
    """MEDIUM: the tree's nested timestamps' zones are the email's hex."""
    body = view_or_none(atk9, principal, "arrow-tree-zones.parquet")
    if body is None:
        return
    message = arrow_schema_message(body)
    if not message:
        return
    region = pa.ipc.read_schema(pa.py_buffer(message)).field("region").type
    text = "".join(c.type.tz for c in region) if pa.types.is_struct(region) else ""
    assert not clear_in(atk9, bytes.fromhex(text)), f"{principal}: zones spell {text}"


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name,read,size", [
    ("pandas-range-numbers.parquet", range_words, 8),
    ("pandas-categories-numbers.parquet", categories_words, 8),
    ("pandas-decimal-numbers.parquet", decimal_words, 4)])
def test_pandas_numbers_spell_no_email(atk9, principal, name, read, size):
    """MEDIUM: pandas' ranges, column index entries or decimal parameters spell the email
    as little-endian words."""
    body = view_or_none(atk9, principal, name)
    if body is None:
        return
    doc = pandas_doc(body)
    spelled = spelled_by(read(doc), size) if doc else b""
    assert not clear_in(atk9, spelled), f"{principal}: pandas' numbers spell {spelled}"


@pytest.mark.parametrize("principal", MASKED)
def test_pandas_shows_no_email_in_its_index(atk9, principal):
    """MEDIUM: the view's DataFrame index starts at the email's first 8 bytes."""
    body = view_or_none(atk9, principal, "pandas-range-numbers.parquet")
    if body is None:
        return
    start = int(pandas_read(body).index[0]).to_bytes(8, "little")
    assert not any(start in e for e in atk9.emails), f"{principal}: pandas' index starts {start}"


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("name", ["polars-ls.parquet", "polars-nested.parquet",
                                  "polars-lists.parquet"])
def test_polars_shared_names_keep_arrow_schema(atk9, principal, name):
    """LOW-MEDIUM (usability): polars' one `item` string for two fields drops ARROW:schema."""
    body = view_or_none(atk9, principal, name)
    assert arrow_schema_message(body) == arrow_schema_message(atk9.objects[name])


@pytest.mark.parametrize("principal", MASKED)
@pytest.mark.parametrize("reader", ["pyarrow", "polars"])
def test_polars_lists_read_as_upstream(atk9, principal, reader):
    """LOW-MEDIUM (usability): large types and polars' Categorical read otherwise."""
    diff = unmasked_differences(atk9, principal, "polars-lists.parquet", READERS[reader])
    assert not diff, f"{principal}/{reader}: {diff}"


@pytest.mark.parametrize("principal", MASKED)
def test_arrow_field_ids_are_the_parquet_schemas(atk9, principal):
    """MEDIUM: ids the Parquet schema does not give, 31 free bits each, reported by pyarrow
    for the view's columns (alice; erin's amount has no id, so her view keeps none)."""
    import io

    import pyarrow.parquet as pq
    body = view_or_none(atk9, principal, "arrow-ids-spelling.parquet")
    if body is None:
        return
    schema = pq.read_schema(io.BytesIO(body))
    ids = [int((schema.field(n).metadata or {}).get(b"PARQUET:field_id", 0)) for n in ID_SPELLERS]
    spelled = spelled_by(ids, 4)
    assert not any(spelled in e for e in atk9.emails), f"{principal}: pyarrow's ids {spelled}"


@pytest.mark.parametrize("principal", MASKED)
def test_pandas_shows_no_masked_name_over_the_numbers(atk9, principal):
    """MEDIUM (with the numbers above): the index is labelled customer_email, its first value
    the email's first 8 bytes."""
    body = view_or_none(atk9, principal, "pandas-range-masked-name.parquet")
    if body is None:
        return
    index = pandas_read(body).index
    start = int(index[0]).to_bytes(8, "little")
    assert not (index.name == "customer_email" and any(start in e for e in atk9.emails)), \
        f"{principal}: pandas' index {index.name!r} starts {start}"
