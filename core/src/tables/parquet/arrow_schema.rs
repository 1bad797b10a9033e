//! The `ARROW:schema` key-value entry a masked view may keep: Arrow writers store the Arrow
//! schema there (base64 of an IPC `Message` whose header is a `Schema` flatbuffer), and Arrow
//! readers take types from it that Parquet's schema does not carry (large and dictionary
//! types, a timezone's name, extension types). Its custom metadata (the message's, the
//! schema's, any field's) is free text a writer may fill with values, so the entry is kept
//! only when it has none anywhere but a field's canonical extension type without parameters
//! (`arrow.json`, `arrow.uuid`, `arrow.bool8`), a field id, and pandas' own schema entry
//! (`pandas`: the columns' pandas types and the index, which `DataFrame.to_parquet` always
//! writes), and that entry only when it is a strictly typed pandas document holding no free
//! text (`pandas_doc_ok`).
//!
//! Nothing else in it may carry text either: every byte of the flatbuffer is read once, as a
//! known field, offset, vtable, string or vector (a writer could hide text where no offset
//! points, or in two tables laid over each other), and what is not read must be zero; every
//! scalar is held to the values Arrow gives it (widths, units, enums, flags, dictionary ids);
//! every field's name is one the Parquet schema holds (the top level exactly its columns, in
//! order) or a list's or map's structural name; a time zone's name reads as one; and field ids
//! give no field but a masked column that column's id ([`Context`]).

use std::collections::HashSet;

use base64::Engine;
use serde::Deserialize;

/// Nesting deeper than this is refused (a hostile schema's children).
const MAX_DEPTH: usize = 64;

/// A flatbuffer longer than this is refused: a real schema of thousands of columns is far
/// smaller, and with it every offset and length has its two high bytes below 0x10, so no
/// four of their bytes in a row are text.
const MAX_FLATBUFFER: usize = 1 << 20;

/// `FixedSizeBinary.byteWidth` and `FixedSizeList.listSize` at most (2^20: a 1 MiB value per
/// row, far past what Parquet pages carry well), so their i32s have one high byte below 0x10
/// and one zero.
const MAX_WIDTH: i32 = 1 << 20;

/// The names Arrow writers give a list's, a map's or a run-end encoding's children: pyarrow
/// and polars `item`, arrow-rs `item` or `element`, a map's `entries` (arrow-rs `key_value`)
/// of `key` and `value` (arrow-rs' `MapBuilder`: `keys` and `values`), Parquet's
/// `list`/`element` where a writer kept them. Names the Parquet schema holds are kept as well.
const STRUCTURAL: &[&[u8]] = &[
    b"item",
    b"element",
    b"list",
    b"array",
    b"bag",
    b"entries",
    b"key_value",
    b"map",
    b"key",
    b"value",
    b"keys",
    b"run_ends",
    b"values",
    b"",
];

/// What the Parquet schema says (public in the view anyway) and which columns are masked: an
/// Arrow schema kept in the view may repeat its names, and nothing else, and must give no other
/// field a masked column's id.
#[derive(Default)]
pub struct Context<'a> {
    /// The top-level columns' names, in order.
    pub top: Vec<&'a [u8]>,
    /// Each top-level column's number of leaves, in order.
    pub top_leaves: Vec<usize>,
    /// Each top-level column's field id, in order.
    pub top_ids: Vec<Option<i32>>,
    /// Whether each top-level column is a primitive leaf (its Arrow field has no children).
    pub top_flat: Vec<bool>,
    /// Every schema element's name, at any depth.
    pub names: HashSet<&'a [u8]>,
    /// Every schema element's `field_id`.
    pub ids: Vec<i32>,
    /// The masked columns: their names and Parquet field ids.
    pub masked: Vec<(&'a [u8], Option<i32>)>,
}

/// Whether `value` is an Arrow IPC schema message without custom metadata anywhere but pandas'
/// entry, canonical extension names and field ids, whose every byte the walk reads, and whose
/// names and ids agree with `context`.
pub fn keepable(value: &[u8], context: &Context<'_>) -> bool {
    walked(value, context, |known| {
        names_ok(known, context) && ids_ok(known, context)
    })
}

/// Walks the message in `value`: `then` of what it names when every byte reads, else false.
fn walked(value: &[u8], context: &Context<'_>, then: impl FnOnce(&Known<'_>) -> bool) -> bool {
    let Ok(message) = base64::engine::general_purpose::STANDARD.decode(value) else {
        return false;
    };
    // An encapsulated message: the continuation marker (absent before Arrow 0.15), the
    // flatbuffer's length, the flatbuffer.
    let rest = message
        .strip_prefix(&[0xff; 4])
        .unwrap_or(message.as_slice());
    let Some(len) = rest
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
    else {
        return false;
    };
    let Some(buf) = usize::try_from(len)
        .ok()
        .filter(|&len| len <= MAX_FLATBUFFER)
        .and_then(|len| rest.get(4..4usize.checked_add(len)?))
    else {
        return false;
    };
    // Bytes after the flatbuffer would be kept unread; zeros pad it to 8 bytes.
    let tail = rest.get(4 + buf.len()..).unwrap_or_default();
    if tail.len() >= 8 || tail.iter().any(|&b| b != 0) {
        return false;
    }
    let mut known = Known::default();
    check_message(&mut Flatbuffer::new(buf), &mut known, context).is_some() && then(&known)
}

/// The top-level fields are the Parquet columns, in order, each with as many leaves (a field
/// declared a struct of many where Parquet has one leaf would hold numbers no reader takes);
/// every other name is one of the Parquet schema's or a structural one.
fn names_ok(known: &Known<'_>, context: &Context<'_>) -> bool {
    known.top == context.top
        && known.top_leaves == context.top_leaves
        && known
            .top_nested
            .iter()
            .zip(&context.top_flat)
            .all(|(&nested, &flat)| !(nested && flat))
        && known
            .nested
            .iter()
            .all(|name| context.names.contains(name) || STRUCTURAL.contains(name))
}

/// pyarrow reports an Arrow field id for a field the Parquet schema gives none, so readers that
/// match columns by id (pyiceberg) take a field carrying a masked column's id in their table
/// for it. Where the masked column has a Parquet id, no other field may carry it (and its own
/// Arrow field no other id, for readers that take Arrow's); where it has none, its id in the
/// reader's table is unknown here, so no Arrow field may carry one.
fn ids_ok(known: &Known<'_>, context: &Context<'_>) -> bool {
    // A top-level field's Arrow id, where given, is its Parquet id; a nested one is one of the
    // Parquet schema's (else the ids are numbers a writer chose, reported by pyarrow).
    let agree = known.ids.iter().all(|&(top, id)| match top {
        Some(name) => context
            .top
            .iter()
            .zip(&context.top_ids)
            .any(|(&n, &parquet)| n == name && parquet == Some(id)),
        None => context.ids.contains(&id),
    });
    agree
        && context.masked.iter().all(|&(name, parquet)| {
            let Some(own) = parquet else {
                return known.ids.is_empty();
            };
            let arrow_ok = known
                .ids
                .iter()
                .all(|&(top, id)| (top == Some(name)) == (id == own));
            arrow_ok && context.ids.iter().filter(|&&id| id == own).count() <= 1
        })
}

/// A flatbuffer walked table by table, each byte read at most once as a known field, offset,
/// vtable, string or vector (vtables alone may be shared, as builders share equal ones): what
/// no walk reaches must be zero (builders pad with zeros), else it is free text kept unread.
struct Flatbuffer<'b> {
    buf: &'b [u8],
    covered: Vec<bool>,
    /// The vtables read so far, by position.
    vtables: HashSet<usize>,
    /// The strings read so far, by position (builders share equal strings: polars' `item`).
    strings: HashSet<usize>,
}

/// A table's present fields' positions, by index.
struct Table {
    fields: [Option<usize>; 8],
}

impl Table {
    fn at(&self, index: usize) -> Option<usize> {
        self.fields.get(index).copied().flatten()
    }
}

impl<'b> Flatbuffer<'b> {
    fn new(buf: &'b [u8]) -> Flatbuffer<'b> {
        Flatbuffer {
            buf,
            covered: vec![false; buf.len()],
            vtables: HashSet::new(),
            strings: HashSet::new(),
        }
    }

    /// The `len` bytes at `at`, not read before, marked read.
    fn claim(&mut self, at: usize, len: usize) -> Option<&'b [u8]> {
        let end = at.checked_add(len)?;
        let bytes = self.buf.get(at..end)?;
        let covered = self.covered.get_mut(at..end)?;
        if covered.iter().any(|&c| c) {
            return None;
        }
        covered.fill(true);
        Some(bytes)
    }

    /// The `len` bytes at `at` (inside a table already claimed).
    fn peek(&self, at: usize, len: usize) -> Option<&'b [u8]> {
        self.buf.get(at..at.checked_add(len)?)
    }

    fn u8(&self, at: usize) -> Option<u8> {
        self.peek(at, 1)?.first().copied()
    }

    fn u16(&self, at: usize) -> Option<u16> {
        Some(u16::from_le_bytes(self.peek(at, 2)?.try_into().ok()?))
    }

    fn i32(&self, at: usize) -> Option<i32> {
        Some(i32::from_le_bytes(self.peek(at, 4)?.try_into().ok()?))
    }

    fn i64(&self, at: usize) -> Option<i64> {
        Some(i64::from_le_bytes(self.peek(at, 8)?.try_into().ok()?))
    }

    /// A bool field: 0 or 1, false when absent.
    fn bool(&self, at: Option<usize>) -> Option<bool> {
        match at {
            None => Some(false),
            Some(at) => match self.u8(at)? {
                0 => Some(false),
                1 => Some(true),
                _ => None,
            },
        }
    }

    /// A short (enum) field, at most `max`; 0 when absent.
    fn enum16(&self, at: Option<usize>, max: u16) -> Option<u16> {
        let v = match at {
            Some(at) => self.u16(at)?,
            None => 0,
        };
        (v <= max).then_some(v)
    }

    /// An int field, `default` when absent.
    fn i32_or(&self, at: Option<usize>, default: i32) -> Option<i32> {
        match at {
            Some(at) => self.i32(at),
            None => Some(default),
        }
    }

    /// A long field, `default` when absent.
    fn i64_or(&self, at: Option<usize>, default: i64) -> Option<i64> {
        match at {
            Some(at) => self.i64(at),
            None => Some(default),
        }
    }

    /// What the offset at `at` (already read) points to.
    fn follow(&self, at: usize) -> Option<usize> {
        at.checked_add(
            usize::try_from(u32::from_le_bytes(self.peek(at, 4)?.try_into().ok()?)).ok()?,
        )
    }

    /// The table at `table`, whose fields (by index) have the inline `sizes` (an offset is 4
    /// bytes): a field the vtable has beyond them, one outside the table or over another, or a
    /// table larger than its fields laid out with their padding, is refused. The table's bytes
    /// are read here, once: what no field holds must be zero.
    fn table(&mut self, table: usize, sizes: &[usize]) -> Option<Table> {
        let back = i64::from(self.i32(table)?);
        let vtable = usize::try_from(i64::try_from(table).ok()?.checked_sub(back)?).ok()?;
        let vtable_len = usize::from(self.u16(vtable)?);
        if vtable_len < 4 || vtable_len % 2 != 0 {
            return None;
        }
        if self.vtables.insert(vtable) {
            self.claim(vtable, vtable_len)?;
        } else {
            self.peek(vtable, vtable_len)?;
        }
        let table_len = usize::from(self.u16(vtable + 2)?);
        // The soffset, each field with as much alignment padding as its size, and 4 more for
        // the table's own alignment: far below 128, so no byte of the vtable is a letter next
        // to another.
        let mut bound = 8;
        let mut fields = [None; 8];
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for index in 0..(vtable_len - 4) / 2 {
            let offset = usize::from(self.u16(vtable + 4 + 2 * index)?);
            if offset == 0 {
                continue;
            }
            let size = *sizes.get(index)?;
            bound += 2 * size;
            if offset < 4 || offset + size > table_len {
                return None;
            }
            if spans.iter().any(|&(a, b)| offset < b && a < offset + size) {
                return None;
            }
            spans.push((offset, offset + size));
            *fields.get_mut(index)? = Some(table + offset);
        }
        if table_len < 4 || table_len > bound {
            return None;
        }
        let bytes = self.claim(table, table_len)?;
        let unheld = (4..table_len)
            .filter(|&i| !spans.iter().any(|&(a, b)| (a..b).contains(&i)))
            .any(|i| bytes.get(i) != Some(&0));
        if unheld {
            return None;
        }
        Some(Table { fields })
    }

    /// The string the offset at `at` points to.
    fn string(&mut self, at: usize) -> Option<&'b [u8]> {
        let start = self.follow(at)?;
        let len =
            usize::try_from(u32::from_le_bytes(self.peek(start, 4)?.try_into().ok()?)).ok()?;
        let bytes = if self.strings.insert(start) {
            self.claim(start, len.checked_add(4)?)?
        } else {
            self.peek(start, len.checked_add(4)?)?
        };
        bytes.get(4..)
    }

    /// The positions of the elements (of `size` bytes) of the vector the offset at `at`
    /// points to; none when `at` is `None`.
    fn vector(&mut self, at: Option<usize>, size: usize) -> Option<Vec<usize>> {
        let Some(at) = at else {
            return Some(Vec::new());
        };
        let vector = self.follow(at)?;
        let len =
            usize::try_from(u32::from_le_bytes(self.peek(vector, 4)?.try_into().ok()?)).ok()?;
        if len > self.buf.len() / size.max(1) {
            return None;
        }
        self.claim(vector, len.checked_mul(size)?.checked_add(4)?)?;
        let first = vector + 4;
        Some((0..len).map(|i| first + size * i).collect())
    }

    /// The tables the vector of offsets at `at` points to.
    fn tables(&mut self, at: Option<usize>) -> Option<Vec<usize>> {
        self.vector(at, 4)?
            .into_iter()
            .map(|element| self.follow(element))
            .collect()
    }

    /// Whether every byte no walk reached is zero.
    fn rest_is_zero(&self) -> bool {
        self.buf
            .iter()
            .zip(&self.covered)
            .all(|(&byte, &covered)| covered || byte == 0)
    }
}

/// `Message`: version 0, header_type 1, header 2, bodyLength 3, custom_metadata 4.
fn check_message<'b>(
    fb: &mut Flatbuffer<'b>,
    known: &mut Known<'b>,
    context: &Context<'_>,
) -> Option<()> {
    fb.claim(0, 4)?;
    let root = fb.follow(0)?;
    let message = fb.table(root, &[2, 1, 4, 8, 4])?;
    // MetadataVersion V1 to V5; MessageHeader 1 is Schema, which has no body.
    fb.enum16(message.at(0), 4)?;
    let header_type = fb.u8(message.at(1)?)?;
    let body = fb.i64_or(message.at(3), 0)?;
    if header_type != 1 || body != 0 || !fb.vector(message.at(4), 4)?.is_empty() {
        return None;
    }
    let schema = fb.follow(message.at(2)?)?;
    // `Schema`: endianness 0 (Little, Big), fields 1, custom_metadata 2, features 3.
    let schema = fb.table(schema, &[2, 4, 4, 4])?;
    fb.enum16(schema.at(0), 1)?;
    // `Feature`s: 0 to 2 (UNUSED, DICTIONARY_REPLACEMENT, COMPRESSED_BODY).
    for at in fb.vector(schema.at(3), 8)? {
        if !(0..=2).contains(&fb.i64(at)?) {
            return None;
        }
    }
    let fields = fb.tables(schema.at(1))?;
    check_fields(fb, fields, 0, known)?;
    // pyarrow numbers dictionaries 0, 1, ... in field order; arrow-rs before 54 gave them all
    // 0: small numbers either way, each below the number of fields.
    let ids = &known.dictionaries;
    let distinct = ids.iter().collect::<HashSet<_>>().len() == ids.len();
    let small = ids
        .iter()
        .all(|&id| usize::try_from(id).is_ok_and(|id| id < known.fields));
    if !small || !(distinct || ids.iter().all(|&id| id == 0)) {
        return None;
    }
    for entry in fb.tables(schema.at(2))? {
        let entry = fb.table(entry, &[4, 4])?;
        let key = fb.string(entry.at(0)?)?;
        let value = fb.string(entry.at(1)?)?;
        // The schema's one custom metadata entry a masked view may keep: pandas', a strictly
        // typed document.
        if key != b"pandas" || !pandas_doc_ok(value, known, context) {
            return None;
        }
    }
    fb.rest_is_zero().then_some(())
}

/// What the Arrow schema itself names: the top-level field names (pandas' JSON may repeat
/// these, and nothing else), the other names, its timestamps' time zones, its field ids (with
/// the top-level field's name when the field is one) and dictionary ids.
#[derive(Default)]
struct Known<'b> {
    top: Vec<&'b [u8]>,
    /// Each top-level field's number of leaves (fields without children).
    top_leaves: Vec<usize>,
    /// Whether each top-level field has children.
    top_nested: Vec<bool>,
    nested: Vec<&'b [u8]>,
    timezones: HashSet<&'b [u8]>,
    ids: Vec<(Option<&'b [u8]>, i32)>,
    dictionaries: Vec<i64>,
    /// Fields at any depth.
    fields: usize,
}

/// `Field`: name 0, nullable 1, type_type 2, type 3, dictionary 4, children 5,
/// custom_metadata 6.
fn check_fields<'b>(
    fb: &mut Flatbuffer<'b>,
    fields: Vec<usize>,
    depth: usize,
    known: &mut Known<'b>,
) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    for field in fields {
        let field = fb.table(field, &[4, 1, 1, 4, 4, 4, 4])?;
        known.fields += 1;
        let name = match field.at(0) {
            Some(at) => fb.string(at)?,
            None => b"",
        };
        if depth == 0 {
            known.top.push(name);
            known.top_leaves.push(0);
        } else {
            known.nested.push(name);
        }
        fb.bool(field.at(1))?;
        let mut extension = Extension::default();
        for entry in fb.tables(field.at(6))? {
            let entry = fb.table(entry, &[4, 4])?;
            let key = fb.string(entry.at(0)?)?;
            let value = fb.string(entry.at(1)?)?;
            extension.entry(key, value)?;
        }
        if let Some(id) = extension.field_id {
            known.ids.push(((depth == 0).then_some(name), id));
        }
        // A type is always written: a field without one reads as none.
        let type_type = fb.u8(field.at(2)?)?;
        let table = fb.follow(field.at(3)?)?;
        let list_size = if type_type == 16 {
            Some(fixed_list_size(fb, table)?)
        } else {
            None
        };
        if list_size.is_none() {
            if let Some(zone) = check_type(fb, type_type, table)? {
                if depth == 0 {
                    known.timezones.insert(zone);
                }
            }
        }
        if let Some(at) = field.at(4) {
            // `DictionaryEncoding`: id 0, indexType 1 (an `Int`), isOrdered 2, dictionaryKind 3
            // (DenseArray, 0, alone).
            let table = fb.follow(at)?;
            let dictionary = fb.table(table, &[8, 4, 1, 2])?;
            known.dictionaries.push(fb.i64_or(dictionary.at(0), 0)?);
            fb.bool(dictionary.at(2))?;
            fb.enum16(dictionary.at(3), 0)?;
            if let Some(at) = dictionary.at(1) {
                let table = fb.follow(at)?;
                check_type(fb, 2, table)?;
            }
        }
        extension.check(list_size)?;
        let children = fb.tables(field.at(5))?;
        if depth == 0 {
            known.top_nested.push(!children.is_empty());
        }
        if children.is_empty() {
            *known.top_leaves.last_mut()? += 1;
        }
        check_fields(fb, children, depth + 1, known)?;
    }
    Some(())
}

/// A `FixedSizeList`'s `listSize`: 0 to [`MAX_WIDTH`].
fn fixed_list_size(fb: &mut Flatbuffer<'_>, table: usize) -> Option<i32> {
    let at = fb.table(table, &[4])?.at(0);
    let size = fb.i32_or(at, 0)?;
    (0..=MAX_WIDTH).contains(&size).then_some(size)
}

/// A field's extension name and metadata, its field id and polars' categorical marker, each
/// given once at most.
#[derive(Default)]
struct Extension<'b> {
    name: Option<&'b [u8]>,
    metadata: Option<&'b [u8]>,
    field_id: Option<i32>,
    polars: Option<&'b [u8]>,
}

impl<'b> Extension<'b> {
    fn entry(&mut self, key: &'b [u8], value: &'b [u8]) -> Option<()> {
        let slot = match key {
            b"ARROW:extension:name" => &mut self.name,
            b"ARROW:extension:metadata" => &mut self.metadata,
            // polars' Categorical (read back as one, not as a string): its categories' name and
            // namespace (lengths 0, none) and physical type. A named one is user text; an Enum's
            // `_PL_ENUM_VALUES2` holds its categories, data: neither is kept.
            b"_PL_CATEGORICAL2" if matches!(value, b"0;0;u8;" | b"0;0;u16;" | b"0;0;u32;") => {
                &mut self.polars
            }
            // pyarrow's field id (Iceberg's files have one on every field): a number as
            // written, no sign and no leading zero, that fits an i32.
            b"PARQUET:field_id" => {
                let canonical = value.first().is_some_and(|&b| b != b'0') || value == b"0";
                let id = std::str::from_utf8(value)
                    .ok()
                    .filter(|v| canonical && v.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|v| v.parse::<i32>().ok())?;
                // Twice: readers differ on which one they take.
                return self.field_id.replace(id).is_none().then_some(());
            }
            _ => return None,
        };
        if slot.replace(value).is_some() {
            return None;
        }
        Some(())
    }

    /// The extension as a whole: a canonical type without parameters (`arrow.json`,
    /// `arrow.uuid`, `arrow.bool8`, which readers need to read the column as upstream: polars
    /// reads a JSON column as binary without) and empty (or no) metadata, a fixed-shape
    /// tensor over a fixed-size list with metadata that qualifies
    /// ([`super::tensor::metadata_ok`]), or pandas' period and interval types with the
    /// metadata pandas writes for them ([`pandas_extension_ok`]).
    fn check(&self, list_size: Option<i32>) -> Option<()> {
        let metadata = self.metadata.unwrap_or_default();
        let ok = match self.name {
            Some(b"arrow.fixed_shape_tensor") => super::tensor::metadata_ok(metadata, list_size),
            Some(name @ (b"pandas.period" | b"pandas.interval")) => {
                pandas_extension_ok(name, metadata)
            }
            Some(name) => {
                matches!(name, b"arrow.json" | b"arrow.uuid" | b"arrow.bool8")
                    && metadata.is_empty()
            }
            None => metadata.is_empty(),
        };
        ok.then_some(())
    }
}

/// pandas' `ArrowPeriodType` and `ArrowIntervalType` metadata as `json.dumps` spells it:
/// `{"freq": "M"}` of a frequency ([`frequency_ok`]); `{"subtype": "int64", "closed": "right"}`
/// of a flat Arrow type ([`arrow_type_ok`], a time zone held as a `Timestamp`'s) and a side.
fn pandas_extension_ok(name: &[u8], metadata: &[u8]) -> bool {
    let Ok(metadata) = std::str::from_utf8(metadata) else {
        return false;
    };
    if name == b"pandas.period" {
        return metadata
            .strip_prefix(r#"{"freq": ""#)
            .and_then(|m| m.strip_suffix(r#""}"#))
            .is_some_and(frequency_ok);
    }
    let Some((subtype, closed)) = metadata
        .strip_prefix(r#"{"subtype": ""#)
        .and_then(|m| m.strip_suffix(r#""}"#))
        .and_then(|m| m.split_once(r#"", "closed": ""#))
    else {
        return false;
    };
    ["right", "left", "both", "neither"].contains(&closed) && arrow_type_ok(subtype, &zone_like)
}

/// Whether `zone` is a time zone: an IANA name or an offset `+HH:MM` / `-HH:MM` (any other
/// text in a zone's characters could spell a value, in hex say).
fn zone_like(zone: &str) -> bool {
    let offset = |z: &[u8]| match z {
        [sign, h1, h2, b':', m1, m2] => {
            matches!(sign, b'+' | b'-')
                && [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit())
                && (*h1 - b'0') * 10 + (*h2 - b'0') <= 23
                && (*m1 - b'0') * 10 + (*m2 - b'0') <= 59
        }
        _ => false,
    };
    offset(zone.as_bytes()) || super::time_zones::NAMES.binary_search(&zone).is_ok()
}

/// A field's type table, by the `Type` union's tag (a `Union`, which Parquet cannot store and
/// whose type ids are numbers a writer picks, is not kept), every parameter held to the values
/// Arrow gives it; a `Timestamp`'s time zone (returned) held to the characters zone names and
/// offsets use (an `@` is not one).
fn check_type<'b>(fb: &mut Flatbuffer<'b>, tag: u8, table: usize) -> Option<Option<&'b [u8]>> {
    let sizes: &[usize] = match tag {
        2 => &[4, 1],                         // Int: bitWidth, is_signed
        3 => &[2],                            // FloatingPoint: precision
        7 => &[4, 4, 4],                      // Decimal: precision, scale, bitWidth
        8 | 11 | 18 => &[2],                  // Date, Interval, Duration: unit
        9 => &[2, 4],                         // Time: unit, bitWidth
        10 => &[2, 4],                        // Timestamp: unit, timezone
        15 => &[4],                           // FixedSizeBinary: byteWidth
        17 => &[1],                           // Map: keysSorted
        1 | 4..=6 | 12 | 13 | 19..=26 => &[], // no fields
        _ => return None,
    };
    let t = fb.table(table, sizes)?;
    // An i32 parameter, `default` when absent.
    let int = |index: usize, default: i32| fb.i32_or(t.at(index), default);
    let ok = match tag {
        2 => [8, 16, 32, 64].contains(&int(0, 0)?) && fb.bool(t.at(1)).is_some(),
        3 => fb.enum16(t.at(0), 2).is_some(), // HALF, SINGLE, DOUBLE
        7 => {
            let (precision, scale) = (int(0, 0)?, int(1, 0)?);
            (1..=76).contains(&precision)
                && scale.unsigned_abs() <= precision.unsigned_abs()
                && [32, 64, 128, 256].contains(&int(2, 128)?)
        }
        8 => fb.enum16(t.at(0), 1).is_some(), // DAY, MILLISECOND
        11 => fb.enum16(t.at(0), 2).is_some(), // YEAR_MONTH, DAY_TIME, MONTH_DAY_NANO
        18 | 10 => fb.enum16(t.at(0), 3).is_some(), // SECOND to NANOSECOND
        9 => fb.enum16(t.at(0), 3).is_some() && [32, 64].contains(&int(1, 32)?),
        15 => (0..=MAX_WIDTH).contains(&int(0, 0)?),
        17 => fb.bool(t.at(0)).is_some(),
        _ => true,
    };
    if !ok {
        return None;
    }
    if tag != 10 {
        return Some(None);
    }
    let Some(at) = t.at(1) else {
        return Some(None);
    };
    let zone = fb.string(at)?;
    std::str::from_utf8(zone)
        .is_ok_and(zone_like)
        .then_some(Some(zone))
}

// --- pandas' entry ---------------------------------------------------------------------------
//
// What pyarrow's `pandas_compat.construct_metadata` writes (0.x to 26): every key known,
// typed, and each string either a name the Arrow schema already holds or one of an
// enumerated set. serde's derive refuses an unknown key (`deny_unknown_fields`) and a key
// given twice (`duplicate field`), so no value hides where pyarrow would not look.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PandasDoc {
    #[serde(default)]
    index_columns: Vec<IndexColumn>,
    #[serde(default)]
    column_indexes: Vec<PandasColumn>,
    #[serde(default)]
    columns: Vec<PandasColumn>,
    creator: Option<Creator>,
    pandas_version: Option<String>,
    /// `DataFrame.attrs`: user values, so only ever empty.
    #[allow(dead_code)] // read only to be typed
    attributes: Option<Empty>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

/// An index level: the name of the field holding it, or a `RangeIndex` (pyarrow 0.14 on).
#[derive(Deserialize)]
#[serde(untagged)]
enum IndexColumn {
    Field(String),
    Range(RangeIndex),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeIndex {
    #[allow(dead_code)] // read only to be typed
    kind: RangeKind,
    name: Option<String>,
    start: i64,
    stop: i64,
    step: i64,
}

#[derive(Deserialize)]
enum RangeKind {
    #[serde(rename = "range")]
    Range,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PandasColumn {
    name: Option<String>,
    /// Absent before pyarrow 0.8.
    field_name: Option<String>,
    pandas_type: String,
    numpy_type: Option<String>,
    metadata: Option<ColumnMetadata>,
}

/// What `get_extension_dtype_info`, decimals and string column indexes put in `metadata`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnMetadata {
    #[allow(dead_code)] // read only to be typed
    encoding: Option<Encoding>,
    timezone: Option<String>,
    num_categories: Option<u64>,
    #[allow(dead_code)] // read only to be typed
    ordered: Option<bool>,
    precision: Option<u32>,
    scale: Option<i32>,
}

#[derive(Deserialize)]
enum Encoding {
    #[serde(rename = "UTF-8")]
    Utf8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Creator {
    #[allow(dead_code)] // read only to be typed
    library: Library,
    version: String,
}

#[derive(Deserialize)]
enum Library {
    #[serde(rename = "pyarrow")]
    Pyarrow,
}

/// Whether `value` is a pandas document whose every string is bounded: names the Arrow schema
/// holds (or pyarrow's `__index_level_N__`), time zones it holds, enumerated pandas and numpy
/// types, version numbers; spelled as Python's `json.dumps` spells it (ASCII, one space after
/// `,` and `:`, no needless escape), so neither spacing nor escapes carry anything either.
fn pandas_doc_ok(value: &[u8], known: &Known<'_>, context: &Context<'_>) -> bool {
    if !canonical_spelling(value) {
        return false;
    }
    let Ok(doc) = serde_json::from_slice::<PandasDoc>(value) else {
        return false;
    };
    let name_ok = |name: Option<&str>| match name {
        None => true,
        Some(n) => known.top.contains(&n.as_bytes()) || index_level(n),
    };
    let masked = |n: &str| context.masked.iter().any(|&(m, _)| m == n.as_bytes());
    let indexes: Vec<&str> = doc
        .index_columns
        .iter()
        .filter_map(|i| match i {
            IndexColumn::Field(name) => Some(name.as_str()),
            IndexColumn::Range(_) => None,
        })
        .collect();
    // pandas labels a column by its `name`: that of the field it reads (`field_name`), or
    // none. pyarrow names an index level's field `__index_level_N__` when the level's name is
    // a column's too; such a level may carry another column's name, but not a masked one's.
    let labels_ok = |c: &PandasColumn| match (c.name.as_deref(), c.field_name.as_deref()) {
        (None, _) | (_, None) => true,
        (Some(name), Some(field)) if name == field => true,
        (Some(name), Some(field)) => {
            index_level(field)
                && indexes.contains(&field)
                && known.top.contains(&name.as_bytes())
                && !masked(name)
        }
    };
    let tz_ok = |tz: &str| known.timezones.contains(tz.as_bytes());
    let column_ok = |c: &PandasColumn| {
        name_ok(c.name.as_deref())
            && name_ok(c.field_name.as_deref())
            && labels_ok(c)
            && pandas_type_ok(&c.pandas_type, 0)
            && c.numpy_type
                .as_deref()
                .is_none_or(|t| numpy_type_ok(t, &tz_ok))
            && c.metadata
                .as_ref()
                .is_none_or(|m| m.timezone.as_deref().is_none_or(tz_ok))
    };
    let index_ok = |i: &IndexColumn| match i {
        IndexColumn::Field(name) => known.top.contains(&name.as_bytes()),
        IndexColumn::Range(range) => {
            name_ok(range.name.as_deref()) && !range.name.as_deref().is_some_and(masked)
        }
    };
    // Numbers pandas reads nowhere else are held to what pyarrow writes: one RangeIndex at
    // most, of bounds and step within 2^32 (pandas skips one of another length than the
    // file's rows, so more would be numbers no reader shows); one column-index level; a
    // decimal's parameters and a categorical's count small.
    let ranges: Vec<&RangeIndex> = doc
        .index_columns
        .iter()
        .filter_map(|i| match i {
            IndexColumn::Range(range) => Some(range),
            IndexColumn::Field(_) => None,
        })
        .collect();
    let range_ok = |r: &&RangeIndex| {
        let small = |n: i64| n.unsigned_abs() <= u64::from(u32::MAX);
        r.step != 0 && small(r.step) && small(r.start) && small(r.stop)
    };
    // One entry a field, each a field of the file (pandas reads an index level from it).
    let fields: Vec<&str> = doc
        .columns
        .iter()
        .filter_map(|c| c.field_name.as_deref())
        .collect();
    let fields_ok = fields.iter().collect::<HashSet<_>>().len() == fields.len()
        && fields.iter().all(|f| known.top.contains(&f.as_bytes()));
    let numbers_ok = |c: &PandasColumn| {
        c.metadata.as_ref().is_none_or(|m| {
            let decimal_ok = match (m.precision, m.scale) {
                (None, None) => true,
                (Some(p), Some(s)) => (1..=76).contains(&p) && s.unsigned_abs() <= p,
                _ => false,
            };
            decimal_ok && m.num_categories.is_none_or(|n| n <= MAX_WIDTH as u64)
        })
    };
    ranges.len() <= 1
        && ranges.iter().all(range_ok)
        && fields_ok
        && doc.column_indexes.len() <= 1
        && doc.columns.iter().all(numbers_ok)
        && doc.index_columns.iter().all(index_ok)
        && doc.columns.iter().all(column_ok)
        && doc.column_indexes.iter().all(column_ok)
        && doc.creator.is_none_or(|c| version_ok(&c.version))
        && doc.pandas_version.as_deref().is_none_or(version_ok)
}

/// pyarrow's name for an unnamed index level's field.
fn index_level(name: &str) -> bool {
    name.strip_prefix("__index_level_")
        .and_then(|n| n.strip_suffix("__"))
        .is_some_and(|n| (1..=6).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `get_logical_type` and `get_logical_type_from_numpy` (pandas' `infer_dtype`) names, and
/// `list[...]` of them.
fn pandas_type_ok(t: &str, depth: usize) -> bool {
    const NAMES: &[&str] = &[
        "empty",
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "date",
        "time",
        "bytes",
        "unicode",
        "string",
        "categorical",
        "datetimetz",
        "datetime",
        "decimal",
        "object",
        "floating",
        "integer",
        "mixed-integer",
        "mixed-integer-float",
        "complex",
        "boolean",
        "datetime64",
        "timedelta64",
        "timedelta",
        "period",
        "interval",
        "mixed",
        "unknown-array",
        "datetime64[s]",
        "datetime64[ms]",
        "datetime64[us]",
        "datetime64[ns]",
    ];
    NAMES.contains(&t)
        || (depth < 8 && bracketed(t, "list").is_some_and(|inner| pandas_type_ok(inner, depth + 1)))
}

const UNITS: &[&str] = &["s", "ms", "us", "ns"];

/// `str(dtype)` of the dtypes pandas columns and indexes have: numpy's, pandas' extension
/// dtypes (nullable integers, `string`, `period[...]`, `interval[...]`, zoned datetimes)
/// and `ArrowDtype`s of flat Arrow types (`int64[pyarrow]`).
fn numpy_type_ok(t: &str, tz_ok: &dyn Fn(&str) -> bool) -> bool {
    const NAMES: &[&str] = &[
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "complex64",
        "complex128",
        "object",
        "str",
        "string",
        "category",
        "boolean",
        "Int8",
        "Int16",
        "Int32",
        "Int64",
        "UInt8",
        "UInt16",
        "UInt32",
        "UInt64",
        "Float32",
        "Float64",
    ];
    if NAMES.contains(&t) {
        return true;
    }
    if let Some(arrow) = t.strip_suffix("[pyarrow]") {
        return arrow_type_ok(arrow, tz_ok);
    }
    if let Some(inner) = bracketed(t, "timedelta64") {
        return UNITS.contains(&inner);
    }
    if let Some(inner) = bracketed(t, "datetime64") {
        return match inner.split_once(", ") {
            None => UNITS.contains(&inner),
            Some((unit, tz)) => UNITS.contains(&unit) && tz_ok(tz),
        };
    }
    if let Some(freq) = bracketed(t, "period") {
        return frequency_ok(freq);
    }
    if let Some(inner) = bracketed(t, "interval") {
        // pandas 1.3 on names the closed side too.
        let sub = match inner.rsplit_once(", ") {
            Some((sub, closed)) if ["right", "left", "both", "neither"].contains(&closed) => sub,
            _ => inner,
        };
        return !sub.contains("interval") && numpy_type_ok(sub, tz_ok);
    }
    false
}

/// `str()` of a flat Arrow type, as `ArrowDtype` names it.
fn arrow_type_ok(t: &str, tz_ok: &dyn Fn(&str) -> bool) -> bool {
    const NAMES: &[&str] = &[
        "null",
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "halffloat",
        "float",
        "double",
        "string",
        "large_string",
        "string_view",
        "binary",
        "large_binary",
        "binary_view",
        "date32[day]",
        "date64[ms]",
        "time32[s]",
        "time32[ms]",
        "time64[us]",
        "time64[ns]",
    ];
    if NAMES.contains(&t) {
        return true;
    }
    if let Some(inner) = bracketed(t, "timestamp") {
        return match inner.split_once(", tz=") {
            None => UNITS.contains(&inner),
            Some((unit, tz)) => UNITS.contains(&unit) && tz_ok(tz),
        };
    }
    if let Some(inner) = bracketed(t, "duration") {
        return UNITS.contains(&inner);
    }
    ["decimal32(", "decimal64(", "decimal128(", "decimal256("]
        .iter()
        .find_map(|head| t.strip_prefix(head)?.strip_suffix(')'))
        .and_then(|inner| inner.split_once(", "))
        .is_some_and(|(precision, scale)| {
            small_number(precision) && small_number(scale.strip_prefix('-').unwrap_or(scale))
        })
}

/// A pandas frequency as `period[...]` names it: `M`, `Q-DEC`, `2D`, `W-SUN`, `min`.
fn frequency_ok(freq: &str) -> bool {
    const BASES: &[&str] = &[
        "B", "C", "D", "W", "M", "Q", "Y", "A", "h", "H", "min", "T", "s", "S", "ms", "L", "us",
        "U", "ns", "N", "BM", "MS", "BMS", "SM", "SMS", "QS", "BQ", "BQS", "YS", "AS", "BY", "BA",
        "BYS", "BAS", "ME", "QE", "YE", "BME", "BQE", "BYE", "SME", "bh", "BH",
    ];
    const ANCHORS: &[&str] = &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", "MON",
        "TUE", "WED", "THU", "FRI", "SAT", "SUN",
    ];
    let digits = freq.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 4 {
        return false;
    }
    let rest = &freq[digits..];
    let (base, anchor) = rest
        .split_once('-')
        .map_or((rest, None), |(b, a)| (b, Some(a)));
    BASES.contains(&base) && anchor.is_none_or(|a| ANCHORS.contains(&a))
}

/// A version as pyarrow and pandas name theirs: up to four numbers, then at most one
/// `rcN`, `aN`, `bN`, `.devN` or `.postN` (a dev build's `+g<hash>` is not kept).
fn version_ok(version: &str) -> bool {
    let end = version
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(version.len());
    let (numbers, suffix) = version.split_at(end);
    let (numbers, suffix) = match numbers.strip_suffix('.') {
        Some(n) if suffix.starts_with("dev") || suffix.starts_with("post") => (n, suffix),
        _ => (numbers, suffix),
    };
    let parts: Vec<&str> = numbers.split('.').collect();
    parts.len() <= 4
        && parts.iter().all(|p| small_number(p))
        && (suffix.is_empty()
            || ["rc", "a", "b", "dev", "post"]
                .iter()
                .any(|head| suffix.strip_prefix(head).is_some_and(small_number)))
}

/// One to four decimal digits.
fn small_number(n: &str) -> bool {
    (1..=4).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit())
}

/// `inner` of `head[inner]`.
fn bracketed<'t>(t: &'t str, head: &str) -> Option<&'t str> {
    t.strip_prefix(head)?.strip_prefix('[')?.strip_suffix(']')
}

/// Whether `text` is spelled as Python's `json.dumps` (pyarrow's writer) spells a document:
/// ASCII only; outside strings no whitespace but one space after each `,` and `:`; inside
/// strings an escape only where one is needed (`\"`, `\\`, a control character, a
/// non-ASCII one as `\u` with lower-case hex), so a value cannot hide in spacing or in how a
/// name is escaped.
fn canonical_spelling(text: &[u8]) -> bool {
    let mut i = 0;
    let mut in_string = false;
    while let Some(&b) = text.get(i) {
        if !b.is_ascii() {
            return false;
        }
        if in_string {
            match b {
                b'"' => in_string = false,
                b'\\' => match text.get(i + 1) {
                    Some(b'"' | b'\\' | b'n' | b'r' | b't' | b'b' | b'f') => i += 1,
                    Some(b'u') => {
                        let Some(hex) = text.get(i + 2..i + 6) else {
                            return false;
                        };
                        let Some(code) = std::str::from_utf8(hex)
                            .ok()
                            .filter(|h| h.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
                            .and_then(|h| u16::from_str_radix(h, 16).ok())
                        else {
                            return false;
                        };
                        // Printable ASCII and the controls with a short escape are written as such.
                        let short = matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d);
                        if (0x20..0x7f).contains(&code) || short {
                            return false;
                        }
                        i += 5;
                    }
                    _ => return false,
                },
                0x00..=0x1f | 0x7f => return false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b',' | b':' => {
                    if text.get(i + 1) != Some(&b' ') {
                        return false;
                    }
                    i += 1;
                }
                b' ' | b'\t' | b'\n' | b'\r' => return false,
                _ => {}
            }
        }
        i += 1;
    }
    !in_string
}

#[cfg(test)]
mod tests {
    use super::{keepable, pandas_doc_ok, walked, Context, Known};
    use base64::Engine;

    /// The Parquet columns of a fixture (top level, in order) and its other names.
    fn context(top: &[&'static str], nested: &[&'static str]) -> Context<'static> {
        Context {
            top: top.iter().map(|n| n.as_bytes()).collect(),
            names: top.iter().chain(nested).map(|n| n.as_bytes()).collect(),
            ..Context::default()
        }
    }

    /// `keepable` for a file of the columns `top` (children `nested`), each of as many leaves
    /// and of the field id as the Arrow schema says (`names_must_match_the_parquet_tree` and
    /// `field_ids_give_no_other_field_the_masked_columns` hold those to the Parquet schema).
    fn kept(value: &[u8], top: &[&'static str], nested: &[&'static str]) -> bool {
        keepable(value, &shaped(value, context(top, nested)))
    }

    /// `context` with the top-level leaves and ids the Arrow schema in `value` has.
    fn shaped<'a>(value: &[u8], mut context: Context<'a>) -> Context<'a> {
        let (mut leaves, mut ids, mut flat) = (Vec::new(), Vec::new(), Vec::new());
        walked(value, &context, |known| {
            leaves = known.top_leaves.clone();
            flat = known.top_nested.iter().map(|&n| !n).collect();
            ids = known
                .top
                .iter()
                .map(|name| {
                    let id = known.ids.iter().find(|(top, _)| *top == Some(*name));
                    id.map(|&(_, id)| id)
                })
                .collect();
            true
        });
        context.top_leaves = leaves;
        context.top_ids = ids;
        context.top_flat = flat;
        context
    }

    /// `pandas_doc_ok` with no masked column.
    fn doc_ok(value: &[u8], known: &Known<'_>) -> bool {
        pandas_doc_ok(value, known, &Context::default())
    }

    const TENSOR_TOP: &[&str] = &["x"];
    const REAL_TOP: &[&str] = &["id", "ts", "r", "k"];
    const TYPES_TOP: &[&str] = &["id", "s", "ts", "d", "l", "st", "dec", "dur", "m", "fx"];
    const TYPES_NESTED: &[&str] = &["x"];

    #[test]
    fn what_is_not_a_schema_message_is_not_kept() {
        for value in [
            &b""[..],
            b"not base64!",
            b"/////w==",         // the marker alone
            b"/////xAAAAAAAAAA", // a length past the bytes
            b"AAAAAA==",
        ] {
            assert!(!kept(value, &[], &[]), "{value:?}");
        }
    }

    /// `ARROW:schema` of `DataFrame.to_parquet` (pyarrow 26.0.1, pandas 3.1.1) for
    /// `pd.DataFrame({"id": [1, 2], "ts": pd.date_range("2020", periods=2, tz="Europe/Paris"),
    /// "r": pd.Categorical(["a", "b"])}, index=pd.Index(["x", "y"], name="k"))`.
    const REAL_SCHEMA: &[&str] = &[
        "/////3AEAAAQAAAAAAAKAA4ABgAFAAgACgAAAAABBAAQAAAAAAAKAAwAAAAEAAgACgAAACgDAAAEAAAAAQAAAAwA",
        "AAAIAAwABAAIAAgAAAAAAwAABAAAAPECAAB7ImluZGV4X2NvbHVtbnMiOiBbImsiXSwgImNvbHVtbl9pbmRleGVz",
        "IjogW3sibmFtZSI6IG51bGwsICJmaWVsZF9uYW1lIjogbnVsbCwgInBhbmRhc190eXBlIjogInVuaWNvZGUiLCAi",
        "bnVtcHlfdHlwZSI6ICJzdHIiLCAibWV0YWRhdGEiOiB7ImVuY29kaW5nIjogIlVURi04In19XSwgImNvbHVtbnMi",
        "OiBbeyJuYW1lIjogImlkIiwgImZpZWxkX25hbWUiOiAiaWQiLCAicGFuZGFzX3R5cGUiOiAiaW50NjQiLCAibnVt",
        "cHlfdHlwZSI6ICJpbnQ2NCIsICJtZXRhZGF0YSI6IG51bGx9LCB7Im5hbWUiOiAidHMiLCAiZmllbGRfbmFtZSI6",
        "ICJ0cyIsICJwYW5kYXNfdHlwZSI6ICJkYXRldGltZXR6IiwgIm51bXB5X3R5cGUiOiAiZGF0ZXRpbWU2NFt1c10i",
        "LCAibWV0YWRhdGEiOiB7InRpbWV6b25lIjogIkV1cm9wZS9QYXJpcyJ9fSwgeyJuYW1lIjogInIiLCAiZmllbGRf",
        "bmFtZSI6ICJyIiwgInBhbmRhc190eXBlIjogImNhdGVnb3JpY2FsIiwgIm51bXB5X3R5cGUiOiAiaW50OCIsICJt",
        "ZXRhZGF0YSI6IHsibnVtX2NhdGVnb3JpZXMiOiAyLCAib3JkZXJlZCI6IGZhbHNlfX0sIHsibmFtZSI6ICJrIiwg",
        "ImZpZWxkX25hbWUiOiAiayIsICJwYW5kYXNfdHlwZSI6ICJvYmplY3QiLCAibnVtcHlfdHlwZSI6ICJzdHIiLCAi",
        "bWV0YWRhdGEiOiBudWxsfV0sICJhdHRyaWJ1dGVzIjoge30sICJjcmVhdG9yIjogeyJsaWJyYXJ5IjogInB5YXJy",
        "b3ciLCAidmVyc2lvbiI6ICIyNi4wLjEifSwgInBhbmRhc192ZXJzaW9uIjogIjMuMS4xIn0AAAAGAAAAcGFuZGFz",
        "AAAEAAAA5AAAAIgAAAA8AAAABAAAADz///8AAAEUEAAAABQAAAAEAAAAAAAAAAEAAABrAAAArP///xAAGAAIAAYA",
        "BwAMABAAFAAQAAAAAAABFBQAAAA4AAAAHAAAAAQAAAAAAAAAAQAAAHIAAAAIAAgAAAAEAAgAAAAEAAAAdP///wAA",
        "AAEIAAAABAAEAAQAAAC4////AAABChAAAAAcAAAABAAAAAAAAAACAAAAdHMAAAgADAAGAAgACAAAAAAAAgAEAAAA",
        "DAAAAEV1cm9wZS9QYXJpcwAAAAAQABQACAAGAAcADAAAABAAEAAAAAAAAQIQAAAAHAAAAAQAAAAAAAAAAgAAAGlk",
        "AAAIAAwACAAHAAgAAAAAAAABQAAAAA==",
    ];

    /// The same table with a key `"note": "a@b.c"` added to its pandas JSON.
    const NOTE_SCHEMA: &[&str] = &[
        "/////4AEAAAQAAAAAAAKAA4ABgAFAAgACgAAAAABBAAQAAAAAAAKAAwAAAAEAAgACgAAADgDAAAEAAAAAQAAAAwA",
        "AAAIAAwABAAIAAgAAAAQAwAABAAAAAIDAAB7ImluZGV4X2NvbHVtbnMiOiBbImsiXSwgImNvbHVtbl9pbmRleGVz",
        "IjogW3sibmFtZSI6IG51bGwsICJmaWVsZF9uYW1lIjogbnVsbCwgInBhbmRhc190eXBlIjogInVuaWNvZGUiLCAi",
        "bnVtcHlfdHlwZSI6ICJzdHIiLCAibWV0YWRhdGEiOiB7ImVuY29kaW5nIjogIlVURi04In19XSwgImNvbHVtbnMi",
        "OiBbeyJuYW1lIjogImlkIiwgImZpZWxkX25hbWUiOiAiaWQiLCAicGFuZGFzX3R5cGUiOiAiaW50NjQiLCAibnVt",
        "cHlfdHlwZSI6ICJpbnQ2NCIsICJtZXRhZGF0YSI6IG51bGx9LCB7Im5hbWUiOiAidHMiLCAiZmllbGRfbmFtZSI6",
        "ICJ0cyIsICJwYW5kYXNfdHlwZSI6ICJkYXRldGltZXR6IiwgIm51bXB5X3R5cGUiOiAiZGF0ZXRpbWU2NFt1c10i",
        "LCAibWV0YWRhdGEiOiB7InRpbWV6b25lIjogIkV1cm9wZS9QYXJpcyJ9fSwgeyJuYW1lIjogInIiLCAiZmllbGRf",
        "bmFtZSI6ICJyIiwgInBhbmRhc190eXBlIjogImNhdGVnb3JpY2FsIiwgIm51bXB5X3R5cGUiOiAiaW50OCIsICJt",
        "ZXRhZGF0YSI6IHsibnVtX2NhdGVnb3JpZXMiOiAyLCAib3JkZXJlZCI6IGZhbHNlfX0sIHsibmFtZSI6ICJrIiwg",
        "ImZpZWxkX25hbWUiOiAiayIsICJwYW5kYXNfdHlwZSI6ICJvYmplY3QiLCAibnVtcHlfdHlwZSI6ICJzdHIiLCAi",
        "bWV0YWRhdGEiOiBudWxsfV0sICJhdHRyaWJ1dGVzIjoge30sICJjcmVhdG9yIjogeyJsaWJyYXJ5IjogInB5YXJy",
        "b3ciLCAidmVyc2lvbiI6ICIyNi4wLjEifSwgInBhbmRhc192ZXJzaW9uIjogIjMuMS4xIiwgIm5vdGUiOiAiYUBi",
        "LmMifQAABgAAAHBhbmRhcwAABAAAAOQAAACIAAAAPAAAAAQAAAA8////AAABFBAAAAAUAAAABAAAAAAAAAABAAAA",
        "awAAAKz///8QABgACAAGAAcADAAQABQAEAAAAAAAARQUAAAAOAAAABwAAAAEAAAAAAAAAAEAAAByAAAACAAIAAAA",
        "BAAIAAAABAAAAHT///8AAAABCAAAAAQABAAEAAAAuP///wAAAQoQAAAAHAAAAAQAAAAAAAAAAgAAAHRzAAAIAAwA",
        "BgAIAAgAAAAAAAIABAAAAAwAAABFdXJvcGUvUGFyaXMAAAAAEAAUAAgABgAHAAwAAAAQABAAAAAAAAECEAAAABwA",
        "AAAEAAAAAAAAAAIAAABpZAAACAAMAAgABwAIAAAAAAAAAUAAAAA=",
    ];

    /// `ARROW:schema` of pyarrow 26.0.1's `pq.write_table` for a table of one column `x` of
    /// `pa.fixed_shape_tensor(pa.int32(), [2, 3])`: its metadata is `{"shape":[2,3]}`.
    const TENSOR_SCHEMA: &[&str] = &[
        "/////2ABAAAQAAAAAAAKAAwABgAFAAgACgAAAAABBAAMAAAACAAIAAAABAAIAAAABAAAAAEAAAAYAAAAAAASABgA",
        "CAAGAAcADAAAABAAFAASAAAAAAABEBgAAAC8AAAACAAAABQAAAABAAAAxAAAAAEAAAB4AAAAAgAAAFgAAAAEAAAA",
        "uP///ygAAAAEAAAAGAAAAGFycm93LmZpeGVkX3NoYXBlX3RlbnNvcgAAAAAUAAAAQVJST1c6ZXh0ZW5zaW9uOm5h",
        "bWUAAAAACAAMAAQACAAIAAAAHAAAAAQAAAAPAAAAeyJzaGFwZSI6WzIsM119ABgAAABBUlJPVzpleHRlbnNpb246",
        "bWV0YWRhdGEAAAYACAAEAAYAAAAGAAAAEAAUAAgABgAHAAwAAAAQABAAAAAAAAECEAAAACAAAAAEAAAAAAAAAAQA",
        "AABpdGVtAAAAAAgADAAIAAcACAAAAAAAAAEgAAAA",
    ];

    /// The same with `dim_names=["a", "b"]`.
    const TENSOR_NAMES_SCHEMA: &[&str] = &[
        "/////3gBAAAQAAAAAAAKAAwABgAFAAgACgAAAAABBAAMAAAACAAIAAAABAAIAAAABAAAAAEAAAAYAAAAAAASABgA",
        "CAAGAAcADAAAABAAFAASAAAAAAABEBgAAADUAAAACAAAABQAAAABAAAA3AAAAAEAAAB4AAAAAgAAAFgAAAAEAAAA",
        "uP///ygAAAAEAAAAGAAAAGFycm93LmZpeGVkX3NoYXBlX3RlbnNvcgAAAAAUAAAAQVJST1c6ZXh0ZW5zaW9uOm5h",
        "bWUAAAAACAAMAAQACAAIAAAANAAAAAQAAAAlAAAAeyJzaGFwZSI6WzIsM10sImRpbV9uYW1lcyI6WyJhIiwiYiJd",
        "fQAAABgAAABBUlJPVzpleHRlbnNpb246bWV0YWRhdGEAAAYACAAEAAYAAAAGAAAAEAAUAAgABgAHAAwAAAAQABAA",
        "AAAAAAECEAAAACAAAAAEAAAAAAAAAAQAAABpdGVtAAAAAAgADAAIAAcACAAAAAAAAAEgAAAA",
    ];

    /// `schema` with the same-length text `from` replaced by `to` in its flatbuffer.
    fn edited(schema: &str, from: &[u8], to: &[u8]) -> String {
        let engine = base64::engine::general_purpose::STANDARD;
        let mut raw = engine.decode(schema).unwrap();
        let at = raw.windows(from.len()).position(|w| w == from).unwrap();
        raw[at..at + from.len()].copy_from_slice(to);
        engine.encode(raw)
    }

    #[test]
    fn a_fixed_shape_tensor_is_kept_with_its_shape_alone() {
        let tensor = TENSOR_SCHEMA.concat();
        assert!(kept(tensor.as_bytes(), TENSOR_TOP, &[]));
        // Dimension names are free text.
        assert!(!kept(
            TENSOR_NAMES_SCHEMA.concat().as_bytes(),
            TENSOR_TOP,
            &[]
        ));
        // Another factoring of the list size is a shape; other numbers are not.
        assert!(kept(
            edited(&tensor, b"[2,3]", b"[3,2]").as_bytes(),
            TENSOR_TOP,
            &[]
        ));
        assert!(!kept(
            edited(&tensor, b"[2,3]", b"[9,7]").as_bytes(),
            TENSOR_TOP,
            &[]
        ));
        assert!(!kept(
            edited(&tensor, b"[2,3]", b"[2 3]").as_bytes(),
            TENSOR_TOP,
            &[]
        ));
        // A name without parameters (its length too): kept with empty metadata alone.
        let uuid = edited(
            &tensor,
            b"\x18\0\0\0arrow.fixed_shape_tensor",
            b"\x0a\0\0\0arrow.uuid\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
        );
        assert!(!kept(uuid.as_bytes(), TENSOR_TOP, &[]));
        let empty = edited(&uuid, b"\x0f\0\0\0{\"shape\":[2,3]}", &[0; 19]);
        assert!(kept(empty.as_bytes(), TENSOR_TOP, &[]));
        assert!(!kept(
            edited(&tensor, b"fixed_shape", b"fixed_shapz").as_bytes(),
            TENSOR_TOP,
            &[]
        ));
        // A second name key (the metadata's key renamed to it).
        let twice = edited(
            &tensor,
            b"\x18\0\0\0ARROW:extension:metadata",
            b"\x14\0\0\0ARROW:extension:name\0\0\0\0",
        );
        assert!(!kept(twice.as_bytes(), TENSOR_TOP, &[]));
    }

    #[test]
    fn a_real_pandas_schema_is_kept_and_one_with_another_key_is_not() {
        assert!(kept(REAL_SCHEMA.concat().as_bytes(), REAL_TOP, &[]));
        assert!(!kept(NOTE_SCHEMA.concat().as_bytes(), REAL_TOP, &[]));
    }

    /// `pa.Table.from_pandas(df, preserve_index=...).schema.metadata[b"pandas"]` with pyarrow
    /// 26.0.1 and pandas 3.1.1, with the table's field names and time zones, for frames named
    /// by their dtypes: categoricals, zoned datetimes (a name, UTC, an offset), timedeltas,
    /// decimals, named, unnamed, multi and range indexes, `string` and `str`, nullable
    /// `Int64`/`boolean`/`Float64`/`UInt8`, periods, intervals, `ArrowDtype`s, odd names.
    const REAL: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "basic",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "a", "field_name": "a", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}, {"name": "b", "field_name": "b", "pandas_type": "object", "numpy_type": "str", "metadata": null}, {"name": "c", "field_name": "c", "pandas_type": "float64", "numpy_type": "float64", "metadata": null}, {"name": "d", "field_name": "d", "pandas_type": "bool", "numpy_type": "bool", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["a", "b", "c", "d"],
            &[],
        ),
        (
            "basic_index",
            r#"{"index_columns": ["__index_level_0__"], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "a", "field_name": "a", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}, {"name": "b", "field_name": "b", "pandas_type": "object", "numpy_type": "str", "metadata": null}, {"name": "c", "field_name": "c", "pandas_type": "float64", "numpy_type": "float64", "metadata": null}, {"name": "d", "field_name": "d", "pandas_type": "bool", "numpy_type": "bool", "metadata": null}, {"name": null, "field_name": "__index_level_0__", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["a", "b", "c", "d", "__index_level_0__"],
            &[],
        ),
        (
            "cat",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "r", "field_name": "r", "pandas_type": "categorical", "numpy_type": "int8", "metadata": {"num_categories": 2, "ordered": false}}, {"name": "o", "field_name": "o", "pandas_type": "categorical", "numpy_type": "int8", "metadata": {"num_categories": 2, "ordered": true}}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["r", "o"],
            &[],
        ),
        (
            "tz",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "t", "field_name": "t", "pandas_type": "datetimetz", "numpy_type": "datetime64[us]", "metadata": {"timezone": "Europe/Paris"}}, {"name": "u", "field_name": "u", "pandas_type": "datetimetz", "numpy_type": "datetime64[us]", "metadata": {"timezone": "UTC"}}, {"name": "n", "field_name": "n", "pandas_type": "datetime", "numpy_type": "datetime64[us]", "metadata": null}, {"name": "f", "field_name": "f", "pandas_type": "datetimetz", "numpy_type": "datetime64[us]", "metadata": {"timezone": "+05:30"}}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["t", "u", "n", "f"],
            &["+05:30", "Europe/Paris", "UTC"],
        ),
        (
            "td",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "w", "field_name": "w", "pandas_type": "object", "numpy_type": "timedelta64[us]", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["w"],
            &[],
        ),
        (
            "dec",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "m", "field_name": "m", "pandas_type": "decimal", "numpy_type": "object", "metadata": {"precision": 3, "scale": 2}}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["m"],
            &[],
        ),
        (
            "named_idx",
            r#"{"index_columns": ["key"], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "a", "field_name": "a", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}, {"name": "key", "field_name": "key", "pandas_type": "object", "numpy_type": "str", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["a", "key"],
            &[],
        ),
        (
            "unnamed_idx",
            r#"{"index_columns": ["__index_level_0__"], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "a", "field_name": "a", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}, {"name": null, "field_name": "__index_level_0__", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["a", "__index_level_0__"],
            &[],
        ),
        (
            "multi",
            r#"{"index_columns": ["k1", "k2"], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "a", "field_name": "a", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}, {"name": "k1", "field_name": "k1", "pandas_type": "object", "numpy_type": "str", "metadata": null}, {"name": "k2", "field_name": "k2", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["a", "k1", "k2"],
            &[],
        ),
        (
            "range_named_index",
            r#"{"index_columns": ["rid"], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "a", "field_name": "a", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}, {"name": "rid", "field_name": "rid", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["a", "rid"],
            &[],
        ),
        (
            "range",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "a", "field_name": "a", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["a"],
            &[],
        ),
        (
            "string",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "s", "field_name": "s", "pandas_type": "object", "numpy_type": "string", "metadata": null}, {"name": "sp", "field_name": "sp", "pandas_type": "object", "numpy_type": "string", "metadata": null}, {"name": "sn", "field_name": "sn", "pandas_type": "object", "numpy_type": "str", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["s", "sp", "sn"],
            &[],
        ),
        (
            "nullable",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "i", "field_name": "i", "pandas_type": "int64", "numpy_type": "Int64", "metadata": null}, {"name": "b", "field_name": "b", "pandas_type": "bool", "numpy_type": "boolean", "metadata": null}, {"name": "f", "field_name": "f", "pandas_type": "float64", "numpy_type": "Float64", "metadata": null}, {"name": "u8", "field_name": "u8", "pandas_type": "uint8", "numpy_type": "UInt8", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["i", "b", "f", "u8"],
            &[],
        ),
        (
            "intcols",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "columns": [{"name": "0", "field_name": "0", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}, {"name": "1", "field_name": "1", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["0", "1"],
            &[],
        ),
        (
            "period",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "p", "field_name": "p", "pandas_type": "object", "numpy_type": "period[M]", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["p"],
            &[],
        ),
        (
            "interval",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "iv", "field_name": "iv", "pandas_type": "object", "numpy_type": "interval[int64, right]", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["iv"],
            &[],
        ),
        (
            "cat_idx",
            r#"{"index_columns": ["ci"], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "a", "field_name": "a", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}, {"name": "ci", "field_name": "ci", "pandas_type": "categorical", "numpy_type": "int8", "metadata": {"num_categories": 2, "ordered": false}}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["a", "ci"],
            &[],
        ),
        (
            "dt_idx",
            r#"{"index_columns": ["when"], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "a", "field_name": "a", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}, {"name": "when", "field_name": "when", "pandas_type": "datetimetz", "numpy_type": "datetime64[us]", "metadata": {"timezone": "Asia/Tokyo"}}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["a", "when"],
            &["Asia/Tokyo"],
        ),
        (
            "arrow_dtypes",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "ai", "field_name": "ai", "pandas_type": "int64", "numpy_type": "int64[pyarrow]", "metadata": null}, {"name": "ats", "field_name": "ats", "pandas_type": "datetimetz", "numpy_type": "timestamp[ms, tz=UTC][pyarrow]", "metadata": null}, {"name": "adec", "field_name": "adec", "pandas_type": "decimal", "numpy_type": "object", "metadata": {"precision": 10, "scale": 2}}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["ai", "ats", "adec"],
            &["UTC"],
        ),
        (
            "sparse_like_float16",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "e", "field_name": "e", "pandas_type": "float64", "numpy_type": "float64", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["e"],
            &[],
        ),
        (
            "strange_names",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "a b", "field_name": "a b", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}, {"name": "\u00e9\"q\\", "field_name": "\u00e9\"q\\", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["a b", "é\"q\\"],
            &[],
        ),
        (
            "dup_index_name_col",
            r#"{"index_columns": ["__index_level_0__"], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "a", "field_name": "a", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}, {"name": "a", "field_name": "__index_level_0__", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#,
            &["a", "__index_level_0__"],
            &[],
        ),
    ];

    /// The same for pyarrow 10.0.1 with pandas 1.5.3 and pyarrow 14.0.2 with pandas 2.1.4.
    const OLDER: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "10.0.1/1.5.3/cat",
            r#"{"index_columns": ["__index_level_0__"], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "r", "field_name": "r", "pandas_type": "categorical", "numpy_type": "int8", "metadata": {"num_categories": 2, "ordered": false}}, {"name": "o", "field_name": "o", "pandas_type": "categorical", "numpy_type": "int8", "metadata": {"num_categories": 2, "ordered": true}}, {"name": null, "field_name": "__index_level_0__", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "creator": {"library": "pyarrow", "version": "10.0.1"}, "pandas_version": "1.5.3"}"#,
            &["r", "o", "__index_level_0__"],
            &[],
        ),
        (
            "10.0.1/1.5.3/tz",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "t", "field_name": "t", "pandas_type": "datetimetz", "numpy_type": "datetime64[ns]", "metadata": {"timezone": "Europe/Paris"}}, {"name": "u", "field_name": "u", "pandas_type": "datetimetz", "numpy_type": "datetime64[ns]", "metadata": {"timezone": "UTC"}}, {"name": "n", "field_name": "n", "pandas_type": "datetime", "numpy_type": "datetime64[ns]", "metadata": null}, {"name": "f", "field_name": "f", "pandas_type": "datetimetz", "numpy_type": "datetime64[ns]", "metadata": {"timezone": "+05:30"}}], "creator": {"library": "pyarrow", "version": "10.0.1"}, "pandas_version": "1.5.3"}"#,
            &["t", "u", "n", "f"],
            &["+05:30", "Europe/Paris", "UTC"],
        ),
        (
            "10.0.1/1.5.3/dec",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "m", "field_name": "m", "pandas_type": "decimal", "numpy_type": "object", "metadata": {"precision": 3, "scale": 2}}], "creator": {"library": "pyarrow", "version": "10.0.1"}, "pandas_version": "1.5.3"}"#,
            &["m"],
            &[],
        ),
        (
            "10.0.1/1.5.3/multi",
            r#"{"index_columns": ["k1", "k2"], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "a", "field_name": "a", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}, {"name": "k1", "field_name": "k1", "pandas_type": "unicode", "numpy_type": "object", "metadata": null}, {"name": "k2", "field_name": "k2", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "creator": {"library": "pyarrow", "version": "10.0.1"}, "pandas_version": "1.5.3"}"#,
            &["a", "k1", "k2"],
            &[],
        ),
        (
            "10.0.1/1.5.3/string",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "s", "field_name": "s", "pandas_type": "unicode", "numpy_type": "string", "metadata": null}, {"name": "sp", "field_name": "sp", "pandas_type": "unicode", "numpy_type": "string", "metadata": null}], "creator": {"library": "pyarrow", "version": "10.0.1"}, "pandas_version": "1.5.3"}"#,
            &["s", "sp"],
            &[],
        ),
        (
            "10.0.1/1.5.3/nullable",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "i", "field_name": "i", "pandas_type": "int64", "numpy_type": "Int64", "metadata": null}, {"name": "b", "field_name": "b", "pandas_type": "bool", "numpy_type": "boolean", "metadata": null}, {"name": "f", "field_name": "f", "pandas_type": "float64", "numpy_type": "Float64", "metadata": null}, {"name": "u8", "field_name": "u8", "pandas_type": "uint8", "numpy_type": "UInt8", "metadata": null}], "creator": {"library": "pyarrow", "version": "10.0.1"}, "pandas_version": "1.5.3"}"#,
            &["i", "b", "f", "u8"],
            &[],
        ),
        (
            "10.0.1/1.5.3/dtypes",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "i8", "field_name": "i8", "pandas_type": "int8", "numpy_type": "int8", "metadata": null}, {"name": "u64", "field_name": "u64", "pandas_type": "uint64", "numpy_type": "uint64", "metadata": null}, {"name": "f32", "field_name": "f32", "pandas_type": "float32", "numpy_type": "float32", "metadata": null}, {"name": "dt_s", "field_name": "dt_s", "pandas_type": "datetime", "numpy_type": "datetime64[ns]", "metadata": null}, {"name": "bytes", "field_name": "bytes", "pandas_type": "bytes", "numpy_type": "object", "metadata": null}, {"name": "date", "field_name": "date", "pandas_type": "date", "numpy_type": "object", "metadata": null}, {"name": "time", "field_name": "time", "pandas_type": "time", "numpy_type": "object", "metadata": null}, {"name": "obj_int_list", "field_name": "obj_int_list", "pandas_type": "list[int64]", "numpy_type": "object", "metadata": null}, {"name": "dict", "field_name": "dict", "pandas_type": "object", "numpy_type": "object", "metadata": null}], "creator": {"library": "pyarrow", "version": "10.0.1"}, "pandas_version": "1.5.3"}"#,
            &[
                "i8",
                "u64",
                "f32",
                "dt_s",
                "bytes",
                "date",
                "time",
                "obj_int_list",
                "dict",
            ],
            &[],
        ),
        (
            "10.0.1/1.5.3/interval",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "iv", "field_name": "iv", "pandas_type": "object", "numpy_type": "interval[int64, right]", "metadata": null}], "creator": {"library": "pyarrow", "version": "10.0.1"}, "pandas_version": "1.5.3"}"#,
            &["iv"],
            &[],
        ),
        (
            "10.0.1/1.5.3/dt_idx",
            r#"{"index_columns": ["when"], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "a", "field_name": "a", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}, {"name": "when", "field_name": "when", "pandas_type": "datetimetz", "numpy_type": "datetime64[ns]", "metadata": {"timezone": "Asia/Tokyo"}}], "creator": {"library": "pyarrow", "version": "10.0.1"}, "pandas_version": "1.5.3"}"#,
            &["a", "when"],
            &["Asia/Tokyo"],
        ),
        (
            "10.0.1/1.5.3/arrow_dtypes",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "ai", "field_name": "ai", "pandas_type": "int64", "numpy_type": "int64[pyarrow]", "metadata": null}, {"name": "ats", "field_name": "ats", "pandas_type": "datetimetz", "numpy_type": "timestamp[ms, tz=UTC][pyarrow]", "metadata": null}, {"name": "adec", "field_name": "adec", "pandas_type": "decimal", "numpy_type": "object", "metadata": {"precision": 10, "scale": 2}}], "creator": {"library": "pyarrow", "version": "10.0.1"}, "pandas_version": "1.5.3"}"#,
            &["ai", "ats", "adec"],
            &["UTC"],
        ),
        (
            "14.0.2/2.1.4/cat",
            r#"{"index_columns": ["__index_level_0__"], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "r", "field_name": "r", "pandas_type": "categorical", "numpy_type": "int8", "metadata": {"num_categories": 2, "ordered": false}}, {"name": "o", "field_name": "o", "pandas_type": "categorical", "numpy_type": "int8", "metadata": {"num_categories": 2, "ordered": true}}, {"name": null, "field_name": "__index_level_0__", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "creator": {"library": "pyarrow", "version": "14.0.2"}, "pandas_version": "2.1.4"}"#,
            &["r", "o", "__index_level_0__"],
            &[],
        ),
        (
            "14.0.2/2.1.4/tz",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "t", "field_name": "t", "pandas_type": "datetimetz", "numpy_type": "datetime64[ns]", "metadata": {"timezone": "Europe/Paris"}}, {"name": "u", "field_name": "u", "pandas_type": "datetimetz", "numpy_type": "datetime64[ns]", "metadata": {"timezone": "UTC"}}, {"name": "n", "field_name": "n", "pandas_type": "datetime", "numpy_type": "datetime64[ns]", "metadata": null}, {"name": "f", "field_name": "f", "pandas_type": "datetimetz", "numpy_type": "datetime64[ns]", "metadata": {"timezone": "+05:30"}}], "creator": {"library": "pyarrow", "version": "14.0.2"}, "pandas_version": "2.1.4"}"#,
            &["t", "u", "n", "f"],
            &["+05:30", "Europe/Paris", "UTC"],
        ),
        (
            "14.0.2/2.1.4/dec",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "m", "field_name": "m", "pandas_type": "decimal", "numpy_type": "object", "metadata": {"precision": 3, "scale": 2}}], "creator": {"library": "pyarrow", "version": "14.0.2"}, "pandas_version": "2.1.4"}"#,
            &["m"],
            &[],
        ),
        (
            "14.0.2/2.1.4/multi",
            r#"{"index_columns": ["k1", "k2"], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "a", "field_name": "a", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}, {"name": "k1", "field_name": "k1", "pandas_type": "unicode", "numpy_type": "object", "metadata": null}, {"name": "k2", "field_name": "k2", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "creator": {"library": "pyarrow", "version": "14.0.2"}, "pandas_version": "2.1.4"}"#,
            &["a", "k1", "k2"],
            &[],
        ),
        (
            "14.0.2/2.1.4/string",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "s", "field_name": "s", "pandas_type": "unicode", "numpy_type": "string", "metadata": null}, {"name": "sp", "field_name": "sp", "pandas_type": "unicode", "numpy_type": "string", "metadata": null}], "creator": {"library": "pyarrow", "version": "14.0.2"}, "pandas_version": "2.1.4"}"#,
            &["s", "sp"],
            &[],
        ),
        (
            "14.0.2/2.1.4/nullable",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "i", "field_name": "i", "pandas_type": "int64", "numpy_type": "Int64", "metadata": null}, {"name": "b", "field_name": "b", "pandas_type": "bool", "numpy_type": "boolean", "metadata": null}, {"name": "f", "field_name": "f", "pandas_type": "float64", "numpy_type": "Float64", "metadata": null}, {"name": "u8", "field_name": "u8", "pandas_type": "uint8", "numpy_type": "UInt8", "metadata": null}], "creator": {"library": "pyarrow", "version": "14.0.2"}, "pandas_version": "2.1.4"}"#,
            &["i", "b", "f", "u8"],
            &[],
        ),
        (
            "14.0.2/2.1.4/dtypes",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "i8", "field_name": "i8", "pandas_type": "int8", "numpy_type": "int8", "metadata": null}, {"name": "u64", "field_name": "u64", "pandas_type": "uint64", "numpy_type": "uint64", "metadata": null}, {"name": "f32", "field_name": "f32", "pandas_type": "float32", "numpy_type": "float32", "metadata": null}, {"name": "dt_s", "field_name": "dt_s", "pandas_type": "datetime", "numpy_type": "datetime64[s]", "metadata": null}, {"name": "bytes", "field_name": "bytes", "pandas_type": "bytes", "numpy_type": "object", "metadata": null}, {"name": "date", "field_name": "date", "pandas_type": "date", "numpy_type": "object", "metadata": null}, {"name": "time", "field_name": "time", "pandas_type": "time", "numpy_type": "object", "metadata": null}, {"name": "obj_int_list", "field_name": "obj_int_list", "pandas_type": "list[int64]", "numpy_type": "object", "metadata": null}, {"name": "dict", "field_name": "dict", "pandas_type": "object", "numpy_type": "object", "metadata": null}], "creator": {"library": "pyarrow", "version": "14.0.2"}, "pandas_version": "2.1.4"}"#,
            &[
                "i8",
                "u64",
                "f32",
                "dt_s",
                "bytes",
                "date",
                "time",
                "obj_int_list",
                "dict",
            ],
            &[],
        ),
        (
            "14.0.2/2.1.4/interval",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "iv", "field_name": "iv", "pandas_type": "object", "numpy_type": "interval[int64, right]", "metadata": null}], "creator": {"library": "pyarrow", "version": "14.0.2"}, "pandas_version": "2.1.4"}"#,
            &["iv"],
            &[],
        ),
        (
            "14.0.2/2.1.4/dt_idx",
            r#"{"index_columns": ["when"], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "a", "field_name": "a", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}, {"name": "when", "field_name": "when", "pandas_type": "datetimetz", "numpy_type": "datetime64[ns]", "metadata": {"timezone": "Asia/Tokyo"}}], "creator": {"library": "pyarrow", "version": "14.0.2"}, "pandas_version": "2.1.4"}"#,
            &["a", "when"],
            &["Asia/Tokyo"],
        ),
        (
            "14.0.2/2.1.4/arrow_dtypes",
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "ai", "field_name": "ai", "pandas_type": "int64", "numpy_type": "int64[pyarrow]", "metadata": null}, {"name": "ats", "field_name": "ats", "pandas_type": "datetimetz", "numpy_type": "timestamp[ms, tz=UTC][pyarrow]", "metadata": null}, {"name": "adec", "field_name": "adec", "pandas_type": "decimal", "numpy_type": "object", "metadata": {"precision": 10, "scale": 2}}], "creator": {"library": "pyarrow", "version": "14.0.2"}, "pandas_version": "2.1.4"}"#,
            &["ai", "ats", "adec"],
            &["UTC"],
        ),
    ];

    fn known<'a>(names: &[&'a str], timezones: &[&'a str]) -> Known<'a> {
        Known {
            top: names.iter().map(|n| n.as_bytes()).collect(),
            timezones: timezones.iter().map(|t| t.as_bytes()).collect(),
            ..Known::default()
        }
    }

    #[test]
    fn what_pyarrow_writes_for_every_dtype_is_accepted() {
        for (what, json, names, timezones) in REAL.iter().chain(OLDER) {
            assert!(doc_ok(json.as_bytes(), &known(names, timezones)), "{what}");
        }
    }

    /// pyarrow 0.7 (no `field_name`, no `creator`) and 0.13 (`creator`, `numpy_type` object
    /// for strings) spellings, pandas 0.x versions.
    #[test]
    fn what_older_pyarrow_wrote_is_accepted() {
        let old = [
            r#"{"index_columns": ["__index_level_0__"], "columns": [{"name": "a", "pandas_type": "unicode", "numpy_type": "object", "metadata": null}, {"name": null, "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "pandas_version": "0.20.3"}"#,
            r#"{"index_columns": ["__index_level_0__"], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "a", "field_name": "a", "pandas_type": "datetimetz", "numpy_type": "datetime64[ns]", "metadata": {"timezone": "UTC"}}, {"name": null, "field_name": "__index_level_0__", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "creator": {"library": "pyarrow", "version": "0.13.0"}, "pandas_version": "0.24.2"}"#,
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}], "column_indexes": [], "columns": [{"name": "a", "field_name": "a", "pandas_type": "object", "numpy_type": "interval[int64]", "metadata": null}], "creator": {"library": "pyarrow", "version": "1.0.0.dev123"}, "pandas_version": "1.1.0rc0"}"#,
        ];
        for json in old {
            assert!(
                doc_ok(
                    json.as_bytes(),
                    &known(&["a", "__index_level_0__"], &["UTC"])
                ),
                "{json}"
            );
        }
    }

    /// A real document (the `tz` fixture) with `from` replaced by `to`: refused.
    fn refused_edit(from: &str, to: &str) {
        let (_, json, names, timezones) = REAL.iter().find(|f| f.0 == "tz").unwrap();
        assert!(doc_ok(json.as_bytes(), &known(names, timezones)));
        assert!(json.contains(from), "{from}");
        let edited = json.replacen(from, to, 1);
        assert!(
            !doc_ok(edited.as_bytes(), &known(names, timezones)),
            "{from} -> {to}"
        );
    }

    #[test]
    fn an_unknown_key_anywhere_is_refused() {
        refused_edit(
            r#""pandas_version""#,
            r#""note": "a@b.c", "pandas_version""#,
        );
        refused_edit(
            r#"{"timezone": "UTC"}"#,
            r#"{"timezone": "UTC", "sample": "a@b.c"}"#,
        );
        refused_edit(
            r#"{"library": "pyarrow""#,
            r#"{"owner": "a@b.c", "library": "pyarrow""#,
        );
        refused_edit(r#""kind": "range""#, r#""kind": "range", "owner": "a@b.c""#);
        refused_edit(
            r#""field_name": "t""#,
            r#""field_name": "t", "owner": "a@b.c""#,
        );
    }

    #[test]
    fn attributes_must_be_empty() {
        refused_edit(r#""attributes": {}"#, r#""attributes": {"owner": "a@b.c"}"#);
        refused_edit(r#""attributes": {}"#, r#""attributes": "a@b.c""#);
        refused_edit(r#""attributes": {}"#, r#""attributes": ["a@b.c"]"#);
        // JSON escapes spell the same key: still `attributes`, and needless escapes are refused.
        refused_edit(
            r#""attributes": {}"#,
            r#""attr\u0069butes": {"owner": "a@b.c"}"#,
        );
    }

    #[test]
    fn a_key_given_twice_is_refused() {
        // serde_json would keep the last (null) one: the derive refuses the second instead.
        refused_edit(
            r#""attributes": {}"#,
            r#""attributes": {"o": "a@b.c"}, "attributes": null"#,
        );
        refused_edit(
            r#""attributes": {}"#,
            r#""attributes": null, "attributes": null"#,
        );
        refused_edit(
            r#"{"timezone": "UTC"}"#,
            r#"{"timezone": "UTC", "timezone": "UTC"}"#,
        );
        refused_edit(r#""kind": "range""#, r#""kind": "range", "kind": "range""#);
    }

    #[test]
    fn names_must_be_the_schemas() {
        refused_edit(r#""name": "t""#, r#""name": "a@b.c""#);
        refused_edit(r#""field_name": "t""#, r#""field_name": "a@b.c""#);
        refused_edit(
            r#""kind": "range", "name": null"#,
            r#""kind": "range", "name": "a@b.c""#,
        );
        refused_edit(
            r#""column_indexes": [{"name": null, "field_name": null"#,
            r#""column_indexes": [{"name": "a@b.c", "field_name": null"#,
        );
        refused_edit(
            r#""index_columns": [{"kind""#,
            r#""index_columns": ["a@b.c", {"kind""#,
        );
        // pyarrow's own name for an unnamed level is no free text.
        let (_, json, names, tzs) = REAL.iter().find(|f| f.0 == "tz").unwrap();
        let level = json.replacen(
            r#""kind": "range", "name": null"#,
            r#""kind": "range", "name": "__index_level_3__""#,
            1,
        );
        assert!(doc_ok(level.as_bytes(), &known(names, tzs)));
        let long = json.replacen(
            r#""kind": "range", "name": null"#,
            r#""kind": "range", "name": "__index_level_1234567__""#,
            1,
        );
        assert!(!doc_ok(long.as_bytes(), &known(names, tzs)));
    }

    #[test]
    fn a_named_range_index_or_column_axis_not_in_the_schema_is_refused() {
        // What pyarrow writes for `RangeIndex(name="rid")` and `df.columns.name = "cols"`:
        // user text, not a field of the table, so the entry is dropped.
        let range = r#"{"index_columns": [{"kind": "range", "name": "rid", "start": 0, "stop": 3, "step": 1}], "column_indexes": [], "columns": [{"name": "a", "field_name": "a", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#;
        assert!(!doc_ok(range.as_bytes(), &known(&["a"], &[])));
        assert!(doc_ok(range.as_bytes(), &known(&["a", "rid"], &[])));
    }

    #[test]
    fn types_must_be_enumerated() {
        refused_edit(
            r#""pandas_type": "datetimetz""#,
            r#""pandas_type": "a@b.c""#,
        );
        refused_edit(
            r#""pandas_type": "datetimetz""#,
            r#""pandas_type": "list[a@b.c]""#,
        );
        refused_edit(
            r#""numpy_type": "datetime64[us]""#,
            r#""numpy_type": "a@b.c""#,
        );
        refused_edit(
            r#""numpy_type": "datetime64[us]""#,
            r#""numpy_type": "datetime64[us, a@b.c]""#,
        );
        refused_edit(
            r#""numpy_type": "datetime64[us]""#,
            r#""numpy_type": "a@b.c[pyarrow]""#,
        );
        refused_edit(
            r#""numpy_type": "datetime64[us]""#,
            r#""numpy_type": "timestamp[ms, tz=a@b.c][pyarrow]""#,
        );
        refused_edit(
            r#""numpy_type": "datetime64[us]""#,
            r#""numpy_type": "period[alice]""#,
        );
        refused_edit(
            r#""numpy_type": "datetime64[us]""#,
            r#""numpy_type": "interval[int64, a@b.c]""#,
        );
        refused_edit(
            r#""numpy_type": "datetime64[us]""#,
            r#""numpy_type": "decimal128(12345, 2)[pyarrow]""#,
        );
        refused_edit(
            r#""numpy_type": "datetime64[us]""#,
            r#""numpy_type": "list<item: string>[pyarrow]""#,
        );
    }

    #[test]
    fn time_zones_must_be_the_schemas() {
        refused_edit(r#"{"timezone": "UTC"}"#, r#"{"timezone": "Asia/Tokyo"}"#);
        refused_edit(r#"{"timezone": "UTC"}"#, r#"{"timezone": "a@b.c"}"#);
    }

    #[test]
    fn versions_and_creators_are_bounded() {
        refused_edit(r#""version": "26.0.1""#, r#""version": "a@b.c""#);
        refused_edit(
            r#""version": "26.0.1""#,
            r#""version": "26.0.1.dev1+g0a1b2c3d""#,
        );
        refused_edit(r#""version": "26.0.1""#, r#""version": "26.0.1.2.3""#);
        refused_edit(
            r#""pandas_version": "3.1.1""#,
            r#""pandas_version": "3.1.1+alice""#,
        );
        refused_edit(r#""library": "pyarrow""#, r#""library": "a@b.c""#);
    }

    #[test]
    fn values_of_other_types_are_refused() {
        refused_edit(r#""start": 0"#, r#""start": "a@b.c""#);
        refused_edit(r#""start": 0"#, r#""start": 0.5"#);
        refused_edit(r#""name": "t""#, r#""name": ["t"]"#);
        refused_edit(r#"{"encoding": "UTF-8"}"#, r#"{"encoding": "a@b.c"}"#);
        refused_edit(
            r#""metadata": null}"#,
            r#""metadata": {"ordered": "a@b.c"}}"#,
        );
    }

    #[test]
    fn spacing_and_escapes_are_pythons() {
        refused_edit(r#", "pandas_version""#, r#",  "pandas_version""#);
        refused_edit(r#", "pandas_version""#, r#",\n"pandas_version""#);
        refused_edit(r#""name": "t""#, r#""name":"t""#);
        refused_edit(r#""name": "t""#, r#""name": "\u0074""#);
        refused_edit(r#""name": "t""#, r#""name": "\/t""#);
        refused_edit(r#"{"index_columns""#, r#" {"index_columns""#);
        // The escapes Python writes are read as the name they spell.
        let (_, json, names, tzs) = REAL.iter().find(|f| f.0 == "strange_names").unwrap();
        assert!(json.contains(r#"\u00e9\"q\\"#), "{json}");
        assert!(doc_ok(json.as_bytes(), &known(names, tzs)));
        assert!(!doc_ok(
            json.replace(r#"\u00e9"#, r#"\u00E9"#).as_bytes(),
            &known(names, tzs)
        ));
        assert!(!doc_ok(
            json.replace(r#"\u00e9"#, "é").as_bytes(),
            &known(names, tzs)
        ));
    }

    #[test]
    fn what_is_not_one_json_document_is_refused() {
        let (_, json, names, tzs) = REAL.iter().find(|f| f.0 == "tz").unwrap();
        for bad in [
            format!("{json}{json}"),
            format!("{json}x"),
            json[..json.len() - 1].to_string(),
        ] {
            assert!(!doc_ok(bad.as_bytes(), &known(names, tzs)));
        }
        assert!(!doc_ok(b"{\"note\": \"\xff\"}", &known(names, tzs)));
    }

    /// pyarrow's ARROW:schema of ten types (scripts/gen_parquet_fixtures.py).
    const TYPES: &str = include_str!("../../../tests/fixtures/parquet/arrow_schema_types.b64");
    /// The same with an email as the timestamp's time zone.
    const ZONE_EMAIL: &str =
        include_str!("../../../tests/fixtures/parquet/arrow_schema_zone_email.b64");

    fn decoded(value: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .unwrap()
    }

    fn encoded(message: &[u8]) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .encode(message)
            .into_bytes()
    }

    /// polars 1.x's `write_parquet` of `i` Int64, `s` String, `l` List(Int64), `st` a struct
    /// of `x`, `ts` Datetime, `d` Date, `dur` Duration, `dec` Decimal(10, 2), `tz` a zoned
    /// Datetime (its flatbuffer builder, planus, lays tables out otherwise than pyarrow's).
    const POLARS: &str = "/////14CAAAEAAAA8v///xQAAAAEAAEAAAAKAAsACAAKAAQA+P///wwAAAAIAAgAAAAEAAkAAADsAQAAwAEAAGQBAAAMAQAA4AAAALQAAACIAAAAUAAAAAQAAAAk/v//PAAAABAAAAAIAAAAAQoAAAAAAAD0////EAAAAAIAAAAIAAoACAAEAAwAAABFdXJvcGUvUGFyaXMAAAAAAgAAAHR6AABs/v//KAAAABAAAAAIAAAAAQcAAAAAAAD0////CgAAAAIAAAAIAAwABAAIAAMAAABkZWMAoP7//xwAAAAQAAAACAAAAAESAAAAAAAAZv///wIAAAADAAAAZHVyAMj+//8cAAAAEAAAAAgAAAABCAAAAAAAAI7///8AAAAAAQAAAGQAAADw/v//HAAAABAAAAAIAAAAAQoAAAAAAAC2////AgAAAAIAAAB0cwAAGP///0gAAABAAAAACAAAAAENAAABAAAABAAAADT///8gAAAAEAAAAAgAAAABAwAAAAAAAPr///8CAAYABgAEAAEAAAB4AAAAgP///wIAAABzdAAAbP///0wAAABEAAAACAAAAAEVAAABAAAABAAAAIj///8gAAAAEAAAAAgAAAABAgAAAAAAAID///9AAAAAAQAAAAQAAABpdGVtAAAAANj///8BAAAAbAAAAMT///8cAAAAEAAAAAgAAAABFAAAAAAAAPz///8EAAQAAQAAAHMAAADs////OAAAACAAAAAYAAAAAQIAABAAEgAEABAAEQAIAAAADAAAAAAA9P///0AAAAABAAAACAAJAAQACAABAAAAaQA=";
    const POLARS_TOP: &[&str] = &["i", "s", "l", "st", "ts", "d", "dur", "dec", "tz"];

    #[test]
    fn a_polars_schema_is_kept() {
        assert!(kept(
            POLARS.as_bytes(),
            POLARS_TOP,
            &["list", "element", "x"]
        ));
    }

    /// Each 4-byte window of a real schema overwritten with text: no window spells text the
    /// walk keeps, whether it lands on a name, a scalar, an offset, a vtable or padding.
    #[test]
    fn text_written_anywhere_in_a_real_schema_is_refused() {
        let fixtures: [(String, &[&str], &[&str]); 6] = [
            (TYPES.trim().to_string(), TYPES_TOP, TYPES_NESTED),
            (POLARS.to_string(), POLARS_TOP, &["list", "element", "x"]),
            (REAL_SCHEMA.concat(), REAL_TOP, &[]),
            (TENSOR_SCHEMA.concat(), TENSOR_TOP, &[]),
            (POLARS_CATEGORICAL.to_string(), &["r"], &[]),
            (
                PANDAS_EXTENSIONS.to_string(),
                &["p", "iv"],
                &["left", "right"],
            ),
        ];
        for (b64, top, nested) in fixtures {
            assert!(kept(b64.as_bytes(), top, nested));
            let message = decoded(&b64);
            for at in 8..message.len() - 4 {
                let mut changed = message.clone();
                changed[at..at + 4].copy_from_slice(b"a@b.");
                assert!(
                    !kept(&encoded(&changed), top, nested),
                    "text at {at} of {top:?} kept"
                );
            }
        }
    }

    /// The seventh pass's Decimal fields over one vtable whose field offsets reach past their
    /// tables, laid 4 bytes apart, so their parameters spell `bob.secret@example.org`.
    const DECIMAL_OVERLAP: &str = "/////7AAAAAsAAAACgAMAAoACAAEAAgACAAAAAQADAAMAAAAAAAIAAQACgAEABAAFAAYACgAAAAIAAAAAQAEACoAAAAEAAAABAAAABAAAAAYAAAAIAAAACgAAAA+AAAALAAAAAcAAABKAAAAJAAAAAcAAABWAAAAHAAAAAcAAABiAAAAFAAAAAcAAABiAAAAZgAAAGoAAABuAAAAYm9iLnNlY3JldEBleGFtcGxlLm9yZwAAAAAAAA==";

    #[test]
    fn tables_laid_over_each_other_are_refused() {
        assert!(!kept(DECIMAL_OVERLAP.as_bytes(), &["", "", "", ""], &[]));
    }

    #[test]
    fn names_must_be_the_parquet_schemas() {
        let types = TYPES.trim().as_bytes();
        // A top-level name not the Parquet column's, or in another order.
        let renamed = edited(TYPES.trim(), b"\x03\0\0\0dec", b"\x03\0\0\0dex");
        assert!(!kept(renamed.as_bytes(), TYPES_TOP, TYPES_NESTED));
        let mut swapped = TYPES_TOP.to_vec();
        swapped.swap(0, 1);
        assert!(!kept(types, &swapped, TYPES_NESTED));
        assert!(!kept(types, &TYPES_TOP[..9], TYPES_NESTED));
        // A child's name the Parquet schema does not hold (`x`, the struct's child).
        assert!(!kept(types, TYPES_TOP, &[]));
        // The structural names of lists and maps need not be in it.
        assert!(kept(types, TYPES_TOP, &["x"]));
    }

    #[test]
    fn each_top_level_field_has_its_parquet_columns_leaves() {
        let types = TYPES.trim().as_bytes();
        let context = shaped(types, context(TYPES_TOP, TYPES_NESTED));
        // `st` (a struct of `x`) and `m` (a map: key and value) are one and two leaves.
        let st = TYPES_TOP.iter().position(|&n| n == "st").unwrap();
        let m = TYPES_TOP.iter().position(|&n| n == "m").unwrap();
        assert_eq!((context.top_leaves[st], context.top_leaves[m]), (1, 2));
        assert!(keepable(types, &context));
        for (column, leaves) in [(st, 3), (m, 1), (0, 2)] {
            let mut other = shaped(types, super::tests::context(TYPES_TOP, TYPES_NESTED));
            other.top_leaves[column] = leaves;
            assert!(!keepable(types, &other), "{column}: {leaves}");
        }
        // A primitive Parquet column declared a struct of one child (whose type's parameters
        // would be numbers no reader takes).
        let mut flat = shaped(types, super::tests::context(TYPES_TOP, TYPES_NESTED));
        flat.top_flat[st] = true;
        assert!(!keepable(types, &flat));
    }

    /// pyarrow's schema of four `dictionary<int32, string>` fields `d0`..`d3`: their ids
    /// 3, 2 and 1 at these positions of the message (id 0 is left out).
    const DICTS: &str = "/////4ABAAAUAAAAAAAAAAAACgAMAAYABQAIAAoAAAAAAQQABAAAAMz+//8EAAAABAAAAAQBAACkAAAAUAAAAAQAAAAc////AAABBRQAAAA4AAAAFAAAAAQAAAAAAAAAAgAAAGQzAAC4////EAAAAAMAAAAAAAAAAAAAABD///8AAAABIAAAAAj///9k////AAABBRQAAABAAAAAHAAAAAQAAAAAAAAAAgAAAGQyAAAIABQACAAEAAgAAAAQAAAAAgAAAAAAAAAAAAAAYP///wAAAAEgAAAAWP///7T///8AAAEFFAAAADwAAAAcAAAABAAAAAAAAAACAAAAZDEAAAgAEAAIAAQACAAAAAwAAAABAAAAAAAAAKz///8AAAABIAAAAKT///8QABgACAAGAAcADAAQABQAEAAAAAAAAQUUAAAAQAAAABwAAAAEAAAAAAAAAAIAAABkMAAACAAIAAAABAAIAAAADAAAAAgADAAIAAcACAAAAAAAAAEgAAAABAAEAAQAAAA=";
    const DICT_IDS: [usize; 3] = [112, 192, 272];
    const DICTS_TOP: &[&str] = &["d0", "d1", "d2", "d3"];

    fn with_dictionary_ids(ids: [i64; 3]) -> Vec<u8> {
        let mut message = decoded(DICTS);
        for (at, id) in DICT_IDS.iter().zip(ids) {
            message[*at..at + 8].copy_from_slice(&id.to_le_bytes());
        }
        encoded(&message)
    }

    #[test]
    fn dictionary_ids_are_small_and_distinct() {
        assert!(kept(&with_dictionary_ids([3, 2, 1]), DICTS_TOP, &[]));
        assert!(kept(&with_dictionary_ids([1, 2, 3]), DICTS_TOP, &[]));
        // All 0: what arrow-rs wrote before it numbered them.
        assert!(kept(&with_dictionary_ids([0, 0, 0]), DICTS_TOP, &[]));
        assert!(!kept(&with_dictionary_ids([1, 1, 2]), DICTS_TOP, &[]));
        assert!(!kept(&with_dictionary_ids([4, 2, 1]), DICTS_TOP, &[]));
        let text = i64::from_le_bytes(*b"bob@exam");
        assert!(!kept(&with_dictionary_ids([text, 2, 1]), DICTS_TOP, &[]));
        assert!(!kept(&with_dictionary_ids([-1, 2, 1]), DICTS_TOP, &[]));
    }

    #[test]
    fn scalars_are_held_to_their_values() {
        let message = decoded(DICTS);
        let flags = |at: usize, byte: u8| {
            let mut changed = message.clone();
            changed[at] = byte;
            kept(&encoded(&changed), DICTS_TOP, &[])
        };
        // d3's dictionary id, a byte of it over 3: past the fields.
        assert!(flags(DICT_IDS[0], 3));
        assert!(!flags(DICT_IDS[0], 7));
        // The Int index type's is_signed (1) and bitWidth (32) of d3, side by side.
        let signed = message
            .windows(5)
            .position(|w| w == [1, 0x20, 0, 0, 0])
            .unwrap();
        assert!(flags(signed + 1, 16));
        assert!(!flags(signed + 1, 24));
        assert!(flags(signed, 0));
        assert!(!flags(signed, 2));
    }

    /// pyarrow schemas of `customer_email` and `contact` (strings) with `PARQUET:field_id`s
    /// 2 and 6, the same swapped, with `02` for 2, and without ids.
    const IDS: &str = "/////ygBAAAQAAAAAAAKAAwABgAFAAgACgAAAAABBAAMAAAACAAIAAAABAAIAAAABAAAAAIAAACAAAAABAAAAJr///8AAAEFFAAAAFQAAAAIAAAAFAAAAAAAAAAHAAAAY29udGFjdAABAAAABAAAAID///8QAAAABAAAAAEAAAA2AAAAEAAAAFBBUlFVRVQ6ZmllbGRfaWQAAAAABAAGAAQAAAAAABIAGAAIAAYABwAMAAAAEAAUABIAAAAAAAEFFAAAAGQAAAAIAAAAHAAAAAAAAAAOAAAAY3VzdG9tZXJfZW1haWwAAAEAAAAMAAAACAAMAAQACAAIAAAAEAAAAAQAAAABAAAAMgAAABAAAABQQVJRVUVUOmZpZWxkX2lkAAAAAAQABAAEAAAAAAAAAA==";
    const IDS_SWAPPED: &str = "/////ygBAAAQAAAAAAAKAAwABgAFAAgACgAAAAABBAAMAAAACAAIAAAABAAIAAAABAAAAAIAAACAAAAABAAAAJr///8AAAEFFAAAAFQAAAAIAAAAFAAAAAAAAAAHAAAAY29udGFjdAABAAAABAAAAID///8QAAAABAAAAAEAAAAyAAAAEAAAAFBBUlFVRVQ6ZmllbGRfaWQAAAAABAAGAAQAAAAAABIAGAAIAAYABwAMAAAAEAAUABIAAAAAAAEFFAAAAGQAAAAIAAAAHAAAAAAAAAAOAAAAY3VzdG9tZXJfZW1haWwAAAEAAAAMAAAACAAMAAQACAAIAAAAEAAAAAQAAAABAAAANgAAABAAAABQQVJRVUVUOmZpZWxkX2lkAAAAAAQABAAEAAAAAAAAAA==";
    const IDS_LEADING_ZERO: &str = "/////ygBAAAQAAAAAAAKAAwABgAFAAgACgAAAAABBAAMAAAACAAIAAAABAAIAAAABAAAAAIAAACAAAAABAAAAJr///8AAAEFFAAAAFQAAAAIAAAAFAAAAAAAAAAHAAAAY29udGFjdAABAAAABAAAAID///8QAAAABAAAAAEAAAA2AAAAEAAAAFBBUlFVRVQ6ZmllbGRfaWQAAAAABAAGAAQAAAAAABIAGAAIAAYABwAMAAAAEAAUABIAAAAAAAEFFAAAAGQAAAAIAAAAHAAAAAAAAAAOAAAAY3VzdG9tZXJfZW1haWwAAAEAAAAMAAAACAAMAAQACAAIAAAAEAAAAAQAAAACAAAAMDIAABAAAABQQVJRVUVUOmZpZWxkX2lkAAAAAAQABAAEAAAAAAAAAA==";
    const NO_IDS: &str = "/////6gAAAAQAAAAAAAKAAwABgAFAAgACgAAAAABBAAMAAAACAAIAAAABAAIAAAABAAAAAIAAABAAAAABAAAANj///8AAAEFEAAAABgAAAAEAAAAAAAAAAcAAABjb250YWN0AMD///8QABQACAAGAAcADAAAABAAEAAAAAAAAQUQAAAAJAAAAAQAAAAAAAAADgAAAGN1c3RvbWVyX2VtYWlsAAAEAAQABAAAAAAAAAA=";

    /// `customer_email` masked, with `parquet` its Parquet id, `ids` the schema's (the
    /// second, where given, `contact`'s).
    fn masked_ids(value: &str, parquet: Option<i32>, ids: &[i32]) -> bool {
        let mut context = context(&["customer_email", "contact"], &[]);
        context.ids = ids.to_vec();
        context.top_leaves = vec![1, 1];
        context.top_ids = vec![parquet, ids.get(1).copied()];
        context.masked = vec![(b"customer_email", parquet)];
        keepable(value.as_bytes(), &context)
    }

    #[test]
    fn field_ids_give_no_other_field_the_masked_columns() {
        // The Parquet schema's ids, repeated: kept.
        assert!(masked_ids(IDS, Some(2), &[2, 6]));
        // contact (clear) with the masked id 2 where the Parquet schema gives it none or
        // another, or the masked column's Arrow field with another id.
        assert!(!masked_ids(IDS_SWAPPED, Some(2), &[2]));
        assert!(!masked_ids(IDS_SWAPPED, Some(2), &[2, 6]));
        assert!(!masked_ids(IDS, Some(6), &[6]));
        // The masked column without a Parquet id: its id in the reader's table is unknown.
        assert!(!masked_ids(IDS, None, &[]));
        assert!(!masked_ids(IDS_SWAPPED, None, &[]));
        assert!(masked_ids(NO_IDS, None, &[]));
        assert!(masked_ids(NO_IDS, Some(2), &[2, 6]));
        // Another Parquet element with the masked id (the walk refuses it upstream too).
        assert!(!masked_ids(NO_IDS, Some(2), &[2, 2]));
        // Arrow ids other than the Parquet schema's, where the masked column's agree: numbers
        // a writer chose, reported by pyarrow for fields the Parquet schema gives none.
        assert!(!masked_ids(IDS, Some(2), &[2]));
        assert!(!masked_ids(IDS, Some(2), &[2, 7]));
        // `02` is not how a writer spells 2.
        assert!(!masked_ids(IDS_LEADING_ZERO, Some(2), &[2, 6]));
        assert!(!masked_ids(IDS_LEADING_ZERO, None, &[]));
    }

    /// A pandas document of `customer_email` and `contact` as pyarrow writes it, with the
    /// columns' `name`s `a` and `b`.
    fn labelled(a: &str, b: &str, index: &str) -> String {
        format!(
            r#"{{"index_columns": [{index}], "column_indexes": [], "columns": [{{"name": {a}, "field_name": "customer_email", "pandas_type": "unicode", "numpy_type": "object", "metadata": null}}, {{"name": {b}, "field_name": "contact", "pandas_type": "unicode", "numpy_type": "object", "metadata": null}}], "creator": {{"library": "pyarrow", "version": "26.0.1"}}, "pandas_version": "3.1.1"}}"#
        )
    }

    #[test]
    fn a_time_zone_is_a_zone_name_or_an_offset() {
        use super::zone_like;
        for zone in [
            "UTC",
            "Europe/Paris",
            "America/Argentina/Buenos_Aires",
            "+05:30",
            "-11:00",
        ] {
            assert!(zone_like(zone), "{zone}");
        }
        for zone in [
            "",
            "Europe/Pariss",
            "626f62406578616d706c652e636f6d",
            "bob",
            "+5:30",
            "+25:00",
        ] {
            assert!(!zone_like(zone), "{zone}");
        }
        let names = super::super::time_zones::NAMES;
        assert!(names.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn pandas_numbers_are_what_pyarrow_writes() {
        let known = known(&["customer_email", "contact"], &[]);
        let context = Context {
            masked: vec![(b"customer_email", None)],
            ..Context::default()
        };
        let ok = |index: &str| {
            let json = labelled("null", "null", index);
            pandas_doc_ok(json.as_bytes(), &known, &context)
        };
        let range = |start: i64, stop: i64, step: i64| {
            format!(
                r#"{{"kind": "range", "name": null, "start": {start}, "stop": {stop}, "step": {step}}}"#
            )
        };
        assert!(ok(&range(0, 3, 1)));
        assert!(ok(&range(7, 10, 1)));
        assert!(ok(&range(0, 6, 2)));
        // Far out, a step of 0, or two of them (pandas skips one of another length than the
        // file's rows: each more is numbers no reader shows).
        let far = 7_598_482_145_678_925_410;
        assert!(!ok(&range(far, far + 3, 1)));
        assert!(!ok(&range(0, 3, far)));
        assert!(!ok(&range(0, 3, 0)));
        assert!(!ok(&format!("{}, {}", range(0, 3, 1), range(0, 3, 1))));
        // Named as the masked column.
        let named =
            r#"{"kind": "range", "name": "customer_email", "start": 0, "stop": 3, "step": 1}"#;
        assert!(!ok(named));
        // A decimal's parameters and a categorical's count, bounded.
        let with_metadata = |metadata: &str| {
            let json = labelled("null", "null", &range(0, 3, 1)).replacen(
                r#""metadata": null}, {"name": null, "field_name": "contact""#,
                &format!(r#""metadata": {metadata}}}, {{"name": null, "field_name": "contact""#),
                1,
            );
            pandas_doc_ok(json.as_bytes(), &known, &context)
        };
        assert!(with_metadata(r#"{"precision": 10, "scale": 2}"#));
        assert!(!with_metadata(r#"{"precision": 1852793705, "scale": 2}"#));
        assert!(!with_metadata(r#"{"precision": 10, "scale": 1684234849}"#));
        assert!(with_metadata(r#"{"num_categories": 2, "ordered": false}"#));
        assert!(!with_metadata(
            r#"{"num_categories": 7598482145678925410, "ordered": false}"#
        ));
    }

    #[test]
    fn pandas_labels_each_column_by_its_own_field() {
        let known = known(&["customer_email", "contact", "__index_level_0__"], &[]);
        let context = Context {
            masked: vec![(b"customer_email", None)],
            ..Context::default()
        };
        let ok = |json: String| pandas_doc_ok(json.as_bytes(), &known, &context);
        let range = r#"{"kind": "range", "name": null, "start": 0, "stop": 3, "step": 1}"#;
        assert!(ok(labelled(r#""customer_email""#, r#""contact""#, range)));
        assert!(ok(labelled("null", "null", range)));
        // Swapped: pandas' `customer_email` would be the clear copy.
        assert!(!ok(labelled(r#""contact""#, r#""customer_email""#, range)));
        assert!(!ok(labelled(
            r#""customer_email""#,
            r#""customer_email""#,
            range
        )));
        // An index level named as a column (pyarrow's `__index_level_0__` field then): a
        // clear column's name, not the masked one's.
        let level = |name: &str| {
            labelled(r#""customer_email""#, r#""contact""#, r#""__index_level_0__""#).replace(
                r#"], "creator""#,
                &format!(r#", {{"name": {name}, "field_name": "__index_level_0__", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}}], "creator""#),
            )
        };
        assert!(ok(level("null")));
        assert!(ok(level(r#""contact""#)));
        assert!(!ok(level(r#""customer_email""#)));
        assert!(!ok(level(r#""other""#)));
    }

    /// polars 2.1's `write_parquet` of `r`, a Categorical: its field's `_PL_CATEGORICAL2`.
    const POLARS_CATEGORICAL: &str = "/////84AAAAEAAAA8v///xQAAAAEAAEAAAAKAAsACAAKAAQAdP///wQAAAABAAAABAAAAOb///+YAAAAjAAAAGgAAABgAAAAGAAAAAEUEgAaAAQAGAAZAAgADAAQABQAAQAAAAQAAAD0////IAAAAAwAAAAIAAwABAAIAAgAAAAwOzA7dTMyOwAAAAAQAAAAX1BMX0NBVEVHT1JJQ0FMMgAAAAAAAAAA+P///wwAAAAIAAgAAAAEAPb///8gAAAAAAAGAAgABAD8////BAAEAAEAAAByAA==";

    #[test]
    fn a_polars_categorical_is_kept_without_a_name() {
        assert!(kept(POLARS_CATEGORICAL.as_bytes(), &["r"], &[]));
        let u8s = edited(
            POLARS_CATEGORICAL,
            b"\x08\0\0\x000;0;u32;",
            b"\x07\0\0\x000;0;u8;\0",
        );
        assert!(kept(u8s.as_bytes(), &["r"], &[]));
        // Categories named (user text), or the marker's key another polars one (an Enum's
        // values are its data).
        let named = edited(POLARS_CATEGORICAL, b"0;0;u32;", b"1;a0;u32");
        assert!(!kept(named.as_bytes(), &["r"], &[]));
        let other = edited(POLARS_CATEGORICAL, b"_PL_CATEGORICAL2", b"_PL_ENUM_VALUES2");
        assert!(!kept(other.as_bytes(), &["r"], &[]));
    }

    /// pandas 3.1.1's `to_parquet` of `p`, a monthly period, and `iv`, an int64 interval.
    const PANDAS_EXTENSIONS: &str = "/////8AEAAAQAAAAAAAKAA4ABgAFAAgACgAAAAABBAAQAAAAAAAKAAwAAAAEAAgACgAAAGACAAAEAAAAAQAAAAQAAADY+///QAIAAAQAAAAxAgAAeyJpbmRleF9jb2x1bW5zIjogW3sia2luZCI6ICJyYW5nZSIsICJuYW1lIjogbnVsbCwgInN0YXJ0IjogMCwgInN0b3AiOiAzLCAic3RlcCI6IDF9XSwgImNvbHVtbl9pbmRleGVzIjogW3sibmFtZSI6IG51bGwsICJmaWVsZF9uYW1lIjogbnVsbCwgInBhbmRhc190eXBlIjogInVuaWNvZGUiLCAibnVtcHlfdHlwZSI6ICJzdHIiLCAibWV0YWRhdGEiOiB7ImVuY29kaW5nIjogIlVURi04In19XSwgImNvbHVtbnMiOiBbeyJuYW1lIjogInAiLCAiZmllbGRfbmFtZSI6ICJwIiwgInBhbmRhc190eXBlIjogIm9iamVjdCIsICJudW1weV90eXBlIjogInBlcmlvZFtNXSIsICJtZXRhZGF0YSI6IG51bGx9LCB7Im5hbWUiOiAiaXYiLCAiZmllbGRfbmFtZSI6ICJpdiIsICJwYW5kYXNfdHlwZSI6ICJvYmplY3QiLCAibnVtcHlfdHlwZSI6ICJpbnRlcnZhbFtpbnQ2NCwgcmlnaHRdIiwgIm1ldGFkYXRhIjogbnVsbH1dLCAiYXR0cmlidXRlcyI6IHt9LCAiY3JlYXRvciI6IHsibGlicmFyeSI6ICJweWFycm93IiwgInZlcnNpb24iOiAiMjYuMC4xIn0sICJwYW5kYXNfdmVyc2lvbiI6ICIzLjEuMSJ9AAAABgAAAHBhbmRhcwAAAgAAAGgBAAAEAAAAsv7//wAAAQ0cAAAAxAAAAAgAAAAYAAAAAgAAAPgAAAC0AAAAAgAAAGl2AAACAAAARAAAAAQAAABs/v//HAAAAAQAAAAPAAAAcGFuZGFzLmludGVydmFsABQAAABBUlJPVzpleHRlbnNpb246bmFtZQAAAACo/v//NAAAAAQAAAAnAAAAeyJzdWJ0eXBlIjogImludDY0IiwgImNsb3NlZCI6ICJyaWdodCJ9ABgAAABBUlJPVzpleHRlbnNpb246bWV0YWRhdGEAAAAABAAEAAQAAADQ////AAABAhAAAAAYAAAABAAAAAAAAAAFAAAAcmlnaHQAAADk/v//AAAAAUAAAAAQABQACAAGAAcADAAAABAAEAAAAAAAAQIQAAAAIAAAAAQAAAAAAAAABAAAAGxlZnQAAAAACAAOAAgABwAIAAAAAAAAAUAAAAAAABIAGAAIAAYABwAMAAAAEAAUABIAAAAAAAECFAAAALAAAAAIAAAAEAAAAAAAAAABAAAAcAAAAAIAAABMAAAABAAAAMT///8cAAAABAAAAA0AAABwYW5kYXMucGVyaW9kAAAAFAAAAEFSUk9XOmV4dGVuc2lvbjpuYW1lAAAAAAgADAAEAAgACAAAABwAAAAEAAAADQAAAHsiZnJlcSI6ICJNIn0AAAAYAAAAQVJST1c6ZXh0ZW5zaW9uOm1ldGFkYXRhAAAAAAgADAAIAAcACAAAAAAAAAFAAAAA";

    #[test]
    fn pandas_periods_and_intervals_are_kept_with_their_metadata_alone() {
        let nested = &["left", "right"];
        let ext = |from: &[u8], to: &[u8]| {
            kept(
                edited(PANDAS_EXTENSIONS, from, to).as_bytes(),
                &["p", "iv"],
                nested,
            )
        };
        assert!(kept(PANDAS_EXTENSIONS.as_bytes(), &["p", "iv"], nested));
        assert!(ext(b"\"M\"", b"\"D\""));
        assert!(ext(
            b"\x27\0\0\0{\"subtype\": \"int64\", \"closed\": \"right\"}",
            b"\x26\0\0\0{\"subtype\": \"int64\", \"closed\": \"left\"}\0"
        ));
        assert!(ext(b"\"int64\"", b"\"int32\""));
        // Text as the frequency, the side or the subtype; other keys or spacing.
        assert!(!ext(b"\"M\"", b"\"@\""));
        assert!(!ext(b"\"right\"}", b"\"a@b.c\"}"));
        assert!(!ext(b"\"int64\"", b"\"a@b.c\""));
        assert!(!ext(b"{\"freq\": ", b"{\"frea\": "));
        assert!(!ext(b"{\"freq\": ", b"{\"freq\":\n"));
        // The interval's metadata under the period's name and the other way round.
        assert!(!ext(b"pandas.period", b"pandas.perioe"));
        assert!(!ext(
            b"\x0f\0\0\0pandas.interval",
            b"\x0f\0\0\0pandas.periodxx"
        ));
    }

    #[test]
    fn a_writers_schema_of_many_types_is_kept() {
        assert!(kept(TYPES.trim().as_bytes(), TYPES_TOP, TYPES_NESTED));
    }

    #[test]
    fn a_time_zone_that_is_no_zone_name_is_not_kept() {
        assert!(!kept(ZONE_EMAIL.trim().as_bytes(), TYPES_TOP, TYPES_NESTED));
    }

    #[test]
    fn a_non_zero_byte_no_offset_reaches_is_not_kept() {
        let message = decoded(TYPES);
        let len = u32::from_le_bytes(message[4..8].try_into().unwrap()) as usize;
        // Inside the flatbuffer's declared length, after everything it references.
        let mut grown = message[..8 + len].to_vec();
        grown.extend_from_slice(b"bob@example.com\0");
        grown[4..8].copy_from_slice(&((len + 16) as u32).to_le_bytes());
        assert!(!kept(&encoded(&grown), TYPES_TOP, TYPES_NESTED));
        // Zeros there are padding.
        grown[8 + len..].fill(0);
        assert!(kept(&encoded(&grown), TYPES_TOP, TYPES_NESTED));
    }

    #[test]
    fn a_zero_byte_that_carries_text_when_set_is_refused() {
        // Each zero byte of the flatbuffer set to a letter: either the walk reads it (then it
        // is a field, an offset or a length) or it is refused as unread.
        let message = decoded(TYPES);
        let len = u32::from_le_bytes(message[4..8].try_into().unwrap()) as usize;
        let mut unread = 0;
        for at in 8..8 + len {
            if message[at] != 0 {
                continue;
            }
            let mut changed = message.clone();
            changed[at] = b'@';
            if !kept(&encoded(&changed), TYPES_TOP, TYPES_NESTED) {
                unread += 1;
            }
        }
        assert!(unread > 0);
    }
}
