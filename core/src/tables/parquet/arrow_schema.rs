//! The `ARROW:schema` key-value entry a masked view may keep: Arrow writers store the Arrow
//! schema there (base64 of an IPC `Message` whose header is a `Schema` flatbuffer), and Arrow
//! readers take types from it that Parquet's schema does not carry (large and dictionary
//! types, a timezone's name, extension types). Its custom metadata (the message's, the
//! schema's, any field's) is free text a writer may fill with values, so the entry is kept
//! only when it has none anywhere but a field's canonical extension type without parameters
//! (`arrow.json`, `arrow.uuid`, `arrow.bool8`) and pandas' own schema entry (`pandas`: the columns' pandas
//! types and the index, which `DataFrame.to_parquet` always writes), and that entry only when
//! it is a strictly typed pandas document holding no free text (`pandas_doc_ok`).
//! Every non-zero byte of the flatbuffer must be one the walk reads as a known field, offset,
//! vtable, string or vector (a writer could hide text where no offset points), and a time
//! zone's name must read as one.

use std::collections::HashSet;

use base64::Engine;
use serde::Deserialize;

/// Nesting deeper than this is refused (a hostile schema's children).
const MAX_DEPTH: usize = 64;

/// Tables visited at most (a field is two or three: itself, its type, a dictionary's): two
/// offsets may point at one table, so a hostile schema of a few hundred bytes would otherwise
/// make the walk exponential.
const MAX_TABLES: usize = 300_000;

/// Whether `value` is an Arrow IPC schema message without custom metadata anywhere but pandas'
/// entry and canonical extension names, whose every byte the walk reads.
pub fn keepable(value: &[u8]) -> bool {
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
        .and_then(|len| rest.get(4..4usize.checked_add(len)?))
    else {
        return false;
    };
    // Bytes after the flatbuffer would be kept unread.
    if rest.len() != 4 + buf.len()
        && rest
            .get(4 + buf.len()..)
            .is_some_and(|t| t.iter().any(|&b| b != 0))
    {
        return false;
    }
    check_message(&mut Flatbuffer::new(buf)).is_some()
}

/// A flatbuffer walked table by table, each byte a known field, offset, vtable, string or
/// vector reaches marked as covered: what no walk reaches must be zero (builders pad with
/// zeros), else it is free text kept unread.
struct Flatbuffer<'b> {
    buf: &'b [u8],
    covered: Vec<bool>,
    /// Tables visited at most (see `MAX_TABLES`).
    budget: usize,
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
            budget: MAX_TABLES,
        }
    }

    fn bytes(&mut self, at: usize, len: usize) -> Option<&'b [u8]> {
        let end = at.checked_add(len)?;
        let bytes = self.buf.get(at..end)?;
        self.covered.get_mut(at..end)?.fill(true);
        Some(bytes)
    }

    fn u8(&mut self, at: usize) -> Option<u8> {
        self.bytes(at, 1)?.first().copied()
    }

    fn u16(&mut self, at: usize) -> Option<u16> {
        Some(u16::from_le_bytes(self.bytes(at, 2)?.try_into().ok()?))
    }

    fn u32(&mut self, at: usize) -> Option<u32> {
        Some(u32::from_le_bytes(self.bytes(at, 4)?.try_into().ok()?))
    }

    /// What the offset at `at` points to.
    fn follow(&mut self, at: usize) -> Option<usize> {
        at.checked_add(usize::try_from(self.u32(at)?).ok()?)
    }

    /// The table at `table`, whose fields (by index) have the inline `sizes` (an offset is 4
    /// bytes): a field the vtable has beyond them, or one outside the buffer, is refused.
    fn table(&mut self, table: usize, sizes: &[usize]) -> Option<Table> {
        self.budget = self.budget.checked_sub(1)?;
        let back = i64::from(self.u32(table)? as i32);
        let vtable = usize::try_from(i64::try_from(table).ok()?.checked_sub(back)?).ok()?;
        let vtable_len = usize::from(self.u16(vtable)?);
        self.u16(vtable + 2)?;
        if vtable_len < 4 || vtable_len % 2 != 0 {
            return None;
        }
        let mut fields = [None; 8];
        for index in 0..(vtable_len - 4) / 2 {
            let offset = self.u16(vtable + 4 + 2 * index)?;
            if offset == 0 {
                continue;
            }
            let size = *sizes.get(index)?;
            let at = table.checked_add(usize::from(offset))?;
            self.bytes(at, size)?;
            *fields.get_mut(index)? = Some(at);
        }
        Some(Table { fields })
    }

    /// The string the offset at `at` points to.
    fn string(&mut self, at: usize) -> Option<&'b [u8]> {
        let start = self.follow(at)?;
        let len = usize::try_from(self.u32(start)?).ok()?;
        self.bytes(start.checked_add(4)?, len)
    }

    /// The positions of the elements (of `size` bytes) of the vector the offset at `at`
    /// points to; none when `at` is `None`.
    fn vector(&mut self, at: Option<usize>, size: usize) -> Option<Vec<usize>> {
        let Some(at) = at else {
            return Some(Vec::new());
        };
        let vector = self.follow(at)?;
        let len = usize::try_from(self.u32(vector)?).ok()?;
        if len > self.buf.len() / size.max(1) {
            return None;
        }
        let first = vector.checked_add(4)?;
        self.bytes(first, len.checked_mul(size)?)?;
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
fn check_message(fb: &mut Flatbuffer<'_>) -> Option<()> {
    let root = usize::try_from(fb.u32(0)?).ok()?;
    let message = fb.table(root, &[2, 1, 4, 8, 4])?;
    // MessageHeader 1 is Schema.
    let header_type = fb.u8(message.at(1)?)?;
    if header_type != 1 || !fb.vector(message.at(4), 4)?.is_empty() {
        return None;
    }
    let schema = fb.follow(message.at(2)?)?;
    // `Schema`: endianness 0, fields 1, custom_metadata 2, features 3.
    let schema = fb.table(schema, &[2, 4, 4, 4])?;
    // `Feature`s: 0 to 2 (UNUSED, DICTIONARY_REPLACEMENT, COMPRESSED_BODY).
    for at in fb.vector(schema.at(3), 8)? {
        let feature = u64::from_le_bytes(fb.bytes(at, 8)?.try_into().ok()?);
        if feature > 2 {
            return None;
        }
    }
    let fields = fb.tables(schema.at(1))?;
    let mut known = Known::default();
    check_fields(fb, fields, 0, &mut known)?;
    for entry in fb.tables(schema.at(2))? {
        let entry = fb.table(entry, &[4, 4])?;
        let key = fb.string(entry.at(0)?)?;
        let value = fb.string(entry.at(1)?)?;
        // The schema's one custom metadata entry a masked view may keep: pandas', a strictly
        // typed document.
        if key != b"pandas" || !pandas_doc_ok(value, &known) {
            return None;
        }
    }
    fb.rest_is_zero().then_some(())
}

/// What the Arrow schema itself names (public schema, kept anyway): the top-level field
/// names and their timestamps' time zones. pandas' JSON may repeat these, and nothing else.
#[derive(Default)]
struct Known<'b> {
    names: HashSet<&'b [u8]>,
    timezones: HashSet<&'b [u8]>,
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
        if let Some(name) = field.at(0) {
            let name = fb.string(name)?;
            if depth == 0 {
                known.names.insert(name);
            }
        }
        let mut extension = Extension::default();
        for entry in fb.tables(field.at(6))? {
            let entry = fb.table(entry, &[4, 4])?;
            let key = fb.string(entry.at(0)?)?;
            let value = fb.string(entry.at(1)?)?;
            extension.entry(key, value)?;
        }
        let mut list_size = None;
        if let Some(type_type) = field.at(2) {
            let type_type = fb.u8(type_type)?;
            if let Some(at) = field.at(3) {
                let table = fb.follow(at)?;
                if type_type == 16 {
                    list_size = Some(fixed_list_size(fb, table)?);
                }
                if let Some(zone) = check_type(fb, type_type, table)? {
                    if depth == 0 {
                        known.timezones.insert(zone);
                    }
                }
            }
        }
        if let Some(at) = field.at(4) {
            // `DictionaryEncoding`: id 0, indexType 1 (an `Int`), isOrdered 2, dictionaryKind 3.
            let table = fb.follow(at)?;
            let dictionary = fb.table(table, &[8, 4, 1, 2])?;
            if let Some(at) = dictionary.at(1) {
                let table = fb.follow(at)?;
                check_type(fb, 2, table)?;
            }
        }
        extension.check(list_size)?;
        let children = fb.tables(field.at(5))?;
        check_fields(fb, children, depth + 1, known)?;
    }
    Some(())
}

/// A `FixedSizeList`'s `listSize`.
fn fixed_list_size(fb: &mut Flatbuffer<'_>, table: usize) -> Option<i32> {
    let at = fb.table(table, &[4])?.at(0)?;
    Some(i32::from_le_bytes(fb.bytes(at, 4)?.try_into().ok()?))
}

/// A field's extension name and metadata, each given once at most.
#[derive(Default)]
struct Extension<'b> {
    name: Option<&'b [u8]>,
    metadata: Option<&'b [u8]>,
}

impl<'b> Extension<'b> {
    fn entry(&mut self, key: &'b [u8], value: &'b [u8]) -> Option<()> {
        let slot = match key {
            b"ARROW:extension:name" => &mut self.name,
            b"ARROW:extension:metadata" => &mut self.metadata,
            _ => return canonical_extension(key, value),
        };
        // Twice: readers differ on which one they take.
        if slot.replace(value).is_some() {
            return None;
        }
        Some(())
    }

    /// The extension as a whole: a canonical type without parameters and empty (or no)
    /// metadata, or a fixed-shape tensor over a fixed-size list with metadata that qualifies
    /// ([`super::tensor::metadata_ok`]).
    fn check(&self, list_size: Option<i32>) -> Option<()> {
        let metadata = self.metadata.unwrap_or_default();
        let ok = match self.name {
            Some(b"arrow.fixed_shape_tensor") => super::tensor::metadata_ok(metadata, list_size),
            Some(name) => {
                canonical_extension(b"ARROW:extension:name", name).is_some() && metadata.is_empty()
            }
            None => metadata.is_empty(),
        };
        ok.then_some(())
    }
}

/// A field's custom metadata entry that may be kept: a canonical extension type without
/// parameters (`arrow.json`, `arrow.uuid`, `arrow.bool8`, whose metadata is empty), which
/// readers need to read the column as upstream (polars reads a JSON column as binary without),
/// and a field id. `arrow.fixed_shape_tensor` and the metadata are [`Extension`]'s.
fn canonical_extension(key: &[u8], value: &[u8]) -> Option<()> {
    let kept = match key {
        b"ARROW:extension:name" => matches!(value, b"arrow.json" | b"arrow.uuid" | b"arrow.bool8"),
        // pyarrow's field id (Iceberg's files have one on every field): a number.
        b"PARQUET:field_id" => {
            !value.is_empty() && value.len() <= 10 && value.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    };
    kept.then_some(())
}

/// A field's type table, by the `Type` union's tag (a `Union`, which Parquet cannot store and
/// whose type ids are numbers a writer picks, is not kept): its fields' sizes, and a `Timestamp`'s
/// time zone (returned) held to the characters zone names and offsets use (an `@` is not one).
fn check_type<'b>(fb: &mut Flatbuffer<'b>, tag: u8, table: usize) -> Option<Option<&'b [u8]>> {
    let sizes: &[usize] = match tag {
        2 => &[4, 1],                         // Int: bitWidth, is_signed
        3 => &[2],                            // FloatingPoint: precision
        7 => &[4, 4, 4],                      // Decimal: precision, scale, bitWidth
        8 | 11 | 18 => &[2],                  // Date, Interval, Duration: unit
        9 => &[2, 4],                         // Time: unit, bitWidth
        10 => &[2, 4],                        // Timestamp: unit, timezone
        15 | 16 => &[4],                      // FixedSizeBinary: byteWidth; FixedSizeList: listSize
        17 => &[1],                           // Map: keysSorted
        1 | 4..=6 | 12 | 13 | 19..=26 => &[], // no fields
        _ => return None,
    };
    let table = fb.table(table, sizes)?;
    match tag {
        10 => {
            let Some(at) = table.at(1) else {
                return Some(None);
            };
            let zone = fb.string(at)?;
            let zone_like = zone.len() <= 64
                && zone
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b"_+-/:".contains(&b));
            zone_like.then_some(Some(zone))
        }
        _ => Some(None),
    }
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
#[allow(dead_code)] // the numbers are read only to be typed
struct RangeIndex {
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
#[allow(dead_code)] // the numbers and flags are read only to be typed
struct ColumnMetadata {
    encoding: Option<Encoding>,
    timezone: Option<String>,
    num_categories: Option<u64>,
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
fn pandas_doc_ok(value: &[u8], known: &Known<'_>) -> bool {
    if !canonical_spelling(value) {
        return false;
    }
    let Ok(doc) = serde_json::from_slice::<PandasDoc>(value) else {
        return false;
    };
    let name_ok = |name: Option<&str>| match name {
        None => true,
        Some(n) => known.names.contains(n.as_bytes()) || index_level(n),
    };
    let tz_ok = |tz: &str| known.timezones.contains(tz.as_bytes());
    let column_ok = |c: &PandasColumn| {
        name_ok(c.name.as_deref())
            && name_ok(c.field_name.as_deref())
            && pandas_type_ok(&c.pandas_type, 0)
            && c.numpy_type
                .as_deref()
                .is_none_or(|t| numpy_type_ok(t, &tz_ok))
            && c.metadata
                .as_ref()
                .is_none_or(|m| m.timezone.as_deref().is_none_or(tz_ok))
    };
    let index_ok = |i: &IndexColumn| match i {
        IndexColumn::Field(name) => name_ok(Some(name)),
        IndexColumn::Range(range) => name_ok(range.name.as_deref()),
    };
    doc.index_columns.iter().all(index_ok)
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
    use super::{keepable, pandas_doc_ok, Known};
    use base64::Engine;

    #[test]
    fn what_is_not_a_schema_message_is_not_kept() {
        for value in [
            &b""[..],
            b"not base64!",
            b"/////w==",         // the marker alone
            b"/////xAAAAAAAAAA", // a length past the bytes
            b"AAAAAA==",
        ] {
            assert!(!keepable(value), "{value:?}");
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
        assert!(keepable(tensor.as_bytes()));
        // Dimension names are free text.
        assert!(!keepable(TENSOR_NAMES_SCHEMA.concat().as_bytes()));
        // Another factoring of the list size is a shape; other numbers are not.
        assert!(keepable(edited(&tensor, b"[2,3]", b"[3,2]").as_bytes()));
        assert!(!keepable(edited(&tensor, b"[2,3]", b"[9,7]").as_bytes()));
        assert!(!keepable(edited(&tensor, b"[2,3]", b"[2 3]").as_bytes()));
        // A name without parameters (its length too): kept with empty metadata alone.
        let uuid = edited(
            &tensor,
            b"\x18\0\0\0arrow.fixed_shape_tensor",
            b"\x0a\0\0\0arrow.uuid\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
        );
        assert!(!keepable(uuid.as_bytes()));
        let empty = edited(&uuid, b"\x0f\0\0\0{\"shape\":[2,3]}", &[0; 19]);
        assert!(keepable(empty.as_bytes()));
        assert!(!keepable(
            edited(&tensor, b"fixed_shape", b"fixed_shapz").as_bytes()
        ));
        // A second name key (the metadata's key renamed to it).
        let twice = edited(
            &tensor,
            b"\x18\0\0\0ARROW:extension:metadata",
            b"\x14\0\0\0ARROW:extension:name\0\0\0\0",
        );
        assert!(!keepable(twice.as_bytes()));
    }

    #[test]
    fn a_real_pandas_schema_is_kept_and_one_with_another_key_is_not() {
        assert!(keepable(REAL_SCHEMA.concat().as_bytes()));
        assert!(!keepable(NOTE_SCHEMA.concat().as_bytes()));
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
            names: names.iter().map(|n| n.as_bytes()).collect(),
            timezones: timezones.iter().map(|t| t.as_bytes()).collect(),
        }
    }

    #[test]
    fn what_pyarrow_writes_for_every_dtype_is_accepted() {
        for (what, json, names, timezones) in REAL.iter().chain(OLDER) {
            assert!(
                pandas_doc_ok(json.as_bytes(), &known(names, timezones)),
                "{what}"
            );
        }
    }

    /// pyarrow 0.7 (no `field_name`, no `creator`) and 0.13 (`creator`, `numpy_type` object
    /// for strings) spellings, pandas 0.x versions.
    #[test]
    fn what_older_pyarrow_wrote_is_accepted() {
        let old = [
            r#"{"index_columns": ["__index_level_0__"], "columns": [{"name": "a", "pandas_type": "unicode", "numpy_type": "object", "metadata": null}, {"name": null, "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "pandas_version": "0.20.3"}"#,
            r#"{"index_columns": ["__index_level_0__"], "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}], "columns": [{"name": "a", "field_name": "a", "pandas_type": "datetimetz", "numpy_type": "datetime64[ns]", "metadata": {"timezone": "UTC"}}, {"name": null, "field_name": "__index_level_0__", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "creator": {"library": "pyarrow", "version": "0.13.0"}, "pandas_version": "0.24.2"}"#,
            r#"{"index_columns": [{"kind": "range", "name": null, "start": 0, "stop": 5, "step": 1}], "column_indexes": [], "columns": [{"name": "a", "field_name": "a", "pandas_type": "object", "numpy_type": "interval[int64]", "metadata": null}], "creator": {"library": "pyarrow", "version": "1.0.0.dev123"}, "pandas_version": "1.1.0rc0"}"#,
        ];
        for json in old {
            assert!(
                pandas_doc_ok(json.as_bytes(), &known(&["a"], &["UTC"])),
                "{json}"
            );
        }
    }

    /// A real document (the `tz` fixture) with `from` replaced by `to`: refused.
    fn refused_edit(from: &str, to: &str) {
        let (_, json, names, timezones) = REAL.iter().find(|f| f.0 == "tz").unwrap();
        assert!(pandas_doc_ok(json.as_bytes(), &known(names, timezones)));
        assert!(json.contains(from), "{from}");
        let edited = json.replacen(from, to, 1);
        assert!(
            !pandas_doc_ok(edited.as_bytes(), &known(names, timezones)),
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
        assert!(pandas_doc_ok(level.as_bytes(), &known(names, tzs)));
        let long = json.replacen(
            r#""kind": "range", "name": null"#,
            r#""kind": "range", "name": "__index_level_1234567__""#,
            1,
        );
        assert!(!pandas_doc_ok(long.as_bytes(), &known(names, tzs)));
    }

    #[test]
    fn a_named_range_index_or_column_axis_not_in_the_schema_is_refused() {
        // What pyarrow writes for `RangeIndex(name="rid")` and `df.columns.name = "cols"`:
        // user text, not a field of the table, so the entry is dropped.
        let range = r#"{"index_columns": [{"kind": "range", "name": "rid", "start": 0, "stop": 3, "step": 1}], "column_indexes": [], "columns": [{"name": "a", "field_name": "a", "pandas_type": "int64", "numpy_type": "int64", "metadata": null}], "attributes": {}, "creator": {"library": "pyarrow", "version": "26.0.1"}, "pandas_version": "3.1.1"}"#;
        assert!(!pandas_doc_ok(range.as_bytes(), &known(&["a"], &[])));
        assert!(pandas_doc_ok(range.as_bytes(), &known(&["a", "rid"], &[])));
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
        assert!(pandas_doc_ok(json.as_bytes(), &known(names, tzs)));
        assert!(!pandas_doc_ok(
            json.replace(r#"\u00e9"#, r#"\u00E9"#).as_bytes(),
            &known(names, tzs)
        ));
        assert!(!pandas_doc_ok(
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
            assert!(!pandas_doc_ok(bad.as_bytes(), &known(names, tzs)));
        }
        assert!(!pandas_doc_ok(b"{\"note\": \"\xff\"}", &known(names, tzs)));
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

    #[test]
    fn a_writers_schema_of_many_types_is_kept() {
        assert!(keepable(TYPES.trim().as_bytes()));
    }

    #[test]
    fn a_time_zone_that_is_no_zone_name_is_not_kept() {
        assert!(!keepable(ZONE_EMAIL.trim().as_bytes()));
    }

    #[test]
    fn a_non_zero_byte_no_offset_reaches_is_not_kept() {
        let message = decoded(TYPES);
        let len = u32::from_le_bytes(message[4..8].try_into().unwrap()) as usize;
        // Inside the flatbuffer's declared length, after everything it references.
        let mut grown = message[..8 + len].to_vec();
        grown.extend_from_slice(b"bob@example.com\0");
        grown[4..8].copy_from_slice(&((len + 16) as u32).to_le_bytes());
        assert!(!keepable(&encoded(&grown)));
        // Zeros there are padding.
        grown[8 + len..].fill(0);
        assert!(keepable(&encoded(&grown)));
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
            if !keepable(&encoded(&changed)) {
                unread += 1;
            }
        }
        assert!(unread > 0);
    }
}
