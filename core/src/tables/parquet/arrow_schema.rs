//! The `ARROW:schema` key-value entry a masked view may keep: Arrow writers store the Arrow
//! schema there (base64 of an IPC `Message` whose header is a `Schema` flatbuffer), and Arrow
//! readers take types from it that Parquet's schema does not carry (large and dictionary
//! types, a timezone's name, extension types). Its custom metadata (the message's, the
//! schema's, any field's) is free text a writer may fill with values, so the entry is kept
//! only when it has none anywhere but pandas' own schema entry (`pandas`: the columns' pandas
//! types and the index, which `DataFrame.to_parquet` always writes) without user attributes
//! (`DataFrame.attrs`). Every non-zero byte of the flatbuffer must be one the walk reads as a
//! known field, offset, vtable, string or vector (a writer could hide text where no offset
//! points), and a time zone's name must read as one.

use base64::Engine;

/// Nesting deeper than this is refused (a hostile schema's children).
const MAX_DEPTH: usize = 64;

/// Tables visited at most (a field is two or three: itself, its type, a dictionary's): two
/// offsets may point at one table, so a hostile schema of a few hundred bytes would otherwise
/// make the walk exponential.
const MAX_TABLES: usize = 300_000;

/// Whether `value` is an Arrow IPC schema message without custom metadata anywhere.
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
    fb.vector(schema.at(3), 8)?;
    for entry in fb.tables(schema.at(2))? {
        let entry = fb.table(entry, &[4, 4])?;
        let key = fb.string(entry.at(0)?)?;
        let value = fb.string(entry.at(1)?)?;
        if key != b"pandas" {
            return None;
        }
        pandas_entry(value)?;
    }
    let fields = fb.tables(schema.at(1))?;
    check_fields(fb, fields, 0)?;
    fb.rest_is_zero().then_some(())
}

/// A `KeyValue` (key 0, value 1) of the schema's custom metadata that may be kept: pandas'
/// entry without user attributes.
fn pandas_entry(value: &[u8]) -> Option<()> {
    let json: serde_json::Value = serde_json::from_slice(value).ok()?;
    let attributes = json.as_object()?.get("attributes");
    match attributes {
        None | Some(serde_json::Value::Null) => Some(()),
        Some(serde_json::Value::Object(map)) if map.is_empty() => Some(()),
        Some(_) => None,
    }
}

/// `Field`: name 0, nullable 1, type_type 2, type 3, dictionary 4, children 5,
/// custom_metadata 6.
fn check_fields(fb: &mut Flatbuffer<'_>, fields: Vec<usize>, depth: usize) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    for field in fields {
        let field = fb.table(field, &[4, 1, 1, 4, 4, 4, 4])?;
        if let Some(name) = field.at(0) {
            fb.string(name)?;
        }
        if !fb.vector(field.at(6), 4)?.is_empty() {
            return None;
        }
        if let Some(type_type) = field.at(2) {
            let type_type = fb.u8(type_type)?;
            if let Some(at) = field.at(3) {
                let table = fb.follow(at)?;
                check_type(fb, type_type, table)?;
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
        let children = fb.tables(field.at(5))?;
        check_fields(fb, children, depth + 1)?;
    }
    Some(())
}

/// A field's type table, by the `Type` union's tag: its fields' sizes, and a `Timestamp`'s
/// time zone held to the characters zone names and offsets use (an `@` is not one).
fn check_type(fb: &mut Flatbuffer<'_>, tag: u8, table: usize) -> Option<()> {
    let sizes: &[usize] = match tag {
        2 => &[4, 1],                         // Int: bitWidth, is_signed
        3 => &[2],                            // FloatingPoint: precision
        7 => &[4, 4, 4],                      // Decimal: precision, scale, bitWidth
        8 | 11 | 18 => &[2],                  // Date, Interval, Duration: unit
        9 => &[2, 4],                         // Time: unit, bitWidth
        10 => &[2, 4],                        // Timestamp: unit, timezone
        15 | 16 => &[4],                      // FixedSizeBinary: byteWidth; FixedSizeList: listSize
        17 => &[1],                           // Map: keysSorted
        14 => &[2, 4],                        // Union: mode, typeIds
        1 | 4..=6 | 12 | 13 | 19..=26 => &[], // no fields
        _ => return None,
    };
    let table = fb.table(table, sizes)?;
    match tag {
        10 => {
            if let Some(at) = table.at(1) {
                let zone = fb.string(at)?;
                let zone_like = zone.len() <= 64
                    && zone
                        .iter()
                        .all(|&b| b.is_ascii_alphanumeric() || b"_+-/:".contains(&b));
                if !zone_like {
                    return None;
                }
            }
        }
        14 => {
            fb.vector(table.at(1), 4)?;
        }
        _ => {}
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::keepable;
    use base64::Engine;

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
}
