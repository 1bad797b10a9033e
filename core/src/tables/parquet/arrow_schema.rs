//! The `ARROW:schema` key-value entry a masked view may keep: Arrow writers store the Arrow
//! schema there (base64 of an IPC `Message` whose header is a `Schema` flatbuffer), and Arrow
//! readers take types from it that Parquet's schema does not carry (large and dictionary
//! types, a timezone's name, extension types). Its custom metadata (the message's, the
//! schema's, any field's) is free text a writer may fill with values, so the entry is kept
//! only when it has none anywhere but pandas' own schema entry (`pandas`: the columns' pandas
//! types and the index, which `DataFrame.to_parquet` always writes) without user attributes
//! (`DataFrame.attrs`).

use base64::Engine;

/// Nesting deeper than this is refused (a hostile schema's children).
const MAX_DEPTH: usize = 64;

/// Fields visited at most: two offsets may point at one table, so a hostile schema of a few
/// hundred bytes would otherwise make the walk exponential.
const MAX_FIELDS: usize = 100_000;

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
    check_message(&Flatbuffer { buf }).is_some()
}

struct Flatbuffer<'b> {
    buf: &'b [u8],
}

impl Flatbuffer<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let b = self.buf.get(at..at.checked_add(2)?)?;
        Some(u16::from_le_bytes(b.try_into().ok()?))
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let b = self.buf.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    }

    /// The position of field `index` of the table at `table`, if present.
    fn field(&self, table: usize, index: usize) -> Option<Option<usize>> {
        let back = i64::from(self.u32(table)? as i32);
        let vtable = usize::try_from(i64::try_from(table).ok()?.checked_sub(back)?).ok()?;
        let vtable_len = usize::from(self.u16(vtable)?);
        let slot = 4 + 2 * index;
        if slot + 2 > vtable_len {
            return Some(None);
        }
        match self.u16(vtable + slot)? {
            0 => Some(None),
            offset => Some(Some(table.checked_add(usize::from(offset))?)),
        }
    }

    /// What the offset at `at` points to.
    fn follow(&self, at: usize) -> Option<usize> {
        at.checked_add(usize::try_from(self.u32(at)?).ok()?)
    }

    /// The tables of the vector that field `index` of `table` points to (none if absent).
    fn tables(&self, table: usize, index: usize) -> Option<Vec<usize>> {
        let Some(at) = self.field(table, index)? else {
            return Some(Vec::new());
        };
        let vector = self.follow(at)?;
        let len = usize::try_from(self.u32(vector)?).ok()?;
        if len > self.buf.len() / 4 {
            return None;
        }
        (0..len)
            .map(|i| self.follow(vector.checked_add(4 + 4 * i)?))
            .collect()
    }

    /// The string that the offset at `at` points to.
    fn string(&self, at: usize) -> Option<&[u8]> {
        let start = self.follow(at)?;
        let len = usize::try_from(self.u32(start)?).ok()?;
        self.buf
            .get(start.checked_add(4)?..start.checked_add(4)?.checked_add(len)?)
    }

    /// Whether field `index` of `table` (a vector) is absent or empty.
    fn empty_vector(&self, table: usize, index: usize) -> Option<bool> {
        match self.field(table, index)? {
            None => Some(true),
            Some(at) => Some(self.u32(self.follow(at)?)? == 0),
        }
    }
}

/// `Message`: version 0, header_type 1, header 2, bodyLength 3, custom_metadata 4.
fn check_message(fb: &Flatbuffer<'_>) -> Option<()> {
    let root = usize::try_from(fb.u32(0)?).ok()?;
    let header_type = fb.field(root, 1)?.and_then(|at| fb.buf.get(at).copied());
    // MessageHeader 1 is Schema.
    if header_type != Some(1) || !fb.empty_vector(root, 4)? {
        return None;
    }
    let schema = fb.follow(fb.field(root, 2)??)?;
    // `Schema`: endianness 0, fields 1, custom_metadata 2, features 3.
    for entry in fb.tables(schema, 2)? {
        pandas_entry(fb, entry)?;
    }
    let mut budget = MAX_FIELDS;
    check_fields(fb, fb.tables(schema, 1)?, 0, &mut budget)
}

/// A `KeyValue` (key 0, value 1) of the schema's custom metadata that may be kept: pandas'
/// entry without user attributes.
fn pandas_entry(fb: &Flatbuffer<'_>, entry: usize) -> Option<()> {
    let key = fb.string(fb.field(entry, 0)??)?;
    let value = fb.string(fb.field(entry, 1)??)?;
    if key != b"pandas" {
        return None;
    }
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
fn check_fields(
    fb: &Flatbuffer<'_>,
    fields: Vec<usize>,
    depth: usize,
    budget: &mut usize,
) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    for field in fields {
        *budget = budget.checked_sub(1)?;
        if !fb.empty_vector(field, 6)? {
            return None;
        }
        check_fields(fb, fb.tables(field, 5)?, depth + 1, budget)?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::keepable;

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
