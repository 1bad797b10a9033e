//! The regenerated column chunk of a masked column: uncompressed pages whose size does not
//! grow with the row count.
//!
//! - `null` (an OPTIONAL column): one DATA_PAGE (v1) of definition levels, all 0, as one RLE run
//!   of the RLE/bit-packed hybrid (4-byte length prefix); no values.
//! - `constant`, BOOLEAN: one DATA_PAGE of RLE-encoded values (4-byte length prefix, one run),
//!   after definition levels all 1 if the column is OPTIONAL (readers do not take dictionaries
//!   of booleans).
//! - `constant`, every other type: a DICTIONARY_PAGE of the one value, PLAIN, then a DATA_PAGE
//!   of RLE_DICTIONARY indices (bit width 1, one RLE run of zeros), after definition levels all
//!   1 if OPTIONAL.

use super::footer::{Column, Repetition};
use super::thrift::Writer;
use super::Prepared;

/// parquet.thrift's enums.
const DATA_PAGE: i32 = 0;
const DICTIONARY_PAGE: i32 = 2;
pub const PLAIN: i32 = 0;
pub const RLE: i32 = 3;
pub const RLE_DICTIONARY: i32 = 8;

/// A regenerated chunk: its bytes (pages), the encodings it uses, and the length of its
/// dictionary page when it starts with one (the data page follows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub bytes: Vec<u8>,
    pub encodings: Vec<i32>,
    pub dictionary_len: Option<usize>,
}

/// One RLE run of `count` copies of `value` (bit width 1: one value byte).
fn rle_run(out: &mut Vec<u8>, count: i32, value: u8) {
    if count <= 0 {
        return;
    }
    let mut w = Writer::new(std::mem::take(out));
    w.varint((count as u64) << 1);
    w.out.push(value);
    *out = w.out;
}

/// Levels or booleans as the RLE hybrid with its 4-byte length prefix.
fn prefixed_run(out: &mut Vec<u8>, count: i32, value: u8) {
    let mut run = Vec::with_capacity(8);
    rle_run(&mut run, count, value);
    out.extend_from_slice(&(run.len() as u32).to_le_bytes());
    out.extend_from_slice(&run);
}

fn page_header(out: &mut Vec<u8>, page_type: i32, body_len: usize, sub: impl FnOnce(&mut Writer)) {
    let len = i32::try_from(body_len).unwrap_or(i32::MAX);
    let mut w = Writer::new(std::mem::take(out));
    w.begin_struct(None);
    w.i32_field(1, page_type);
    w.i32_field(2, len);
    w.i32_field(3, len);
    sub(&mut w);
    w.end_struct();
    *out = w.out;
}

fn data_page(out: &mut Vec<u8>, num_values: i32, encoding: i32, body: &[u8]) {
    page_header(out, DATA_PAGE, body.len(), |w| {
        w.begin_struct(Some(5));
        w.i32_field(1, num_values);
        w.i32_field(2, encoding);
        w.i32_field(3, RLE);
        w.i32_field(4, RLE);
        w.end_struct();
    });
    out.extend_from_slice(body);
}

/// The chunk of `num_values` rows of `column` under `mask`.
pub fn regenerate(column: &Column, mask: &Prepared, num_values: i32) -> Chunk {
    let optional = column.repetition == Repetition::Optional;
    let mut bytes = Vec::with_capacity(64);
    match mask {
        Prepared::Null => {
            let mut body = Vec::with_capacity(16);
            prefixed_run(&mut body, num_values, 0);
            data_page(&mut bytes, num_values, PLAIN, &body);
            Chunk {
                bytes,
                encodings: vec![PLAIN, RLE],
                dictionary_len: None,
            }
        }
        Prepared::Boolean(value) => {
            let mut body = Vec::with_capacity(24);
            if optional {
                prefixed_run(&mut body, num_values, 1);
            }
            prefixed_run(&mut body, num_values, u8::from(*value));
            data_page(&mut bytes, num_values, RLE, &body);
            Chunk {
                bytes,
                encodings: vec![RLE],
                dictionary_len: None,
            }
        }
        Prepared::Plain(plain) => {
            page_header(&mut bytes, DICTIONARY_PAGE, plain.len(), |w| {
                w.begin_struct(Some(7));
                w.i32_field(1, 1);
                w.i32_field(2, PLAIN);
                w.end_struct();
            });
            bytes.extend_from_slice(plain);
            let dictionary_len = bytes.len();
            let mut body = Vec::with_capacity(24);
            if optional {
                prefixed_run(&mut body, num_values, 1);
            }
            body.push(1); // bit width of the indices
            rle_run(&mut body, num_values, 0);
            data_page(&mut bytes, num_values, RLE_DICTIONARY, &body);
            Chunk {
                bytes,
                encodings: vec![PLAIN, RLE, RLE_DICTIONARY],
                dictionary_len: Some(dictionary_len),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::parquet::footer::Physical;
    use crate::tables::parquet::thrift::Reader;

    fn column(repetition: Repetition) -> Column {
        Column {
            name: "c".into(),
            leaf: 0,
            physical: Physical::Double,
            type_length: None,
            repetition,
            decimal: None,
            date: false,
            int: None,
            field_id: None,
        }
    }

    /// (page type, uncompressed size, compressed size, num_values, encoding) and the body.
    fn page(bytes: &[u8]) -> ((i32, i32, i32, i32, i32), &[u8]) {
        let mut fields = Reader::new(bytes).fields();
        let mut header = (0, 0, 0, 0, 0);
        for f in fields.by_ref() {
            let f = f.unwrap();
            match f.id {
                1 => header.0 = f.i32().unwrap(),
                2 => header.1 = f.i32().unwrap(),
                3 => header.2 = f.i32().unwrap(),
                5 | 7 => {
                    for g in f.fields().unwrap() {
                        let g = g.unwrap();
                        match g.id {
                            1 => header.3 = g.i32().unwrap(),
                            2 => header.4 = g.i32().unwrap(),
                            _ => {}
                        }
                    }
                }
                _ => panic!("unexpected page header field {}", f.id),
            }
        }
        let len = fields.position();
        let body = &bytes[len..len + header.1 as usize];
        (header, body)
    }

    #[test]
    fn a_null_chunk_is_one_page_of_zero_levels() {
        let chunk = regenerate(&column(Repetition::Optional), &Prepared::Null, 10_000);
        let (header, body) = page(&chunk.bytes);
        assert_eq!(header, (DATA_PAGE, 8, 8, 10_000, PLAIN));
        // Length 4, then one RLE run: varint(10000 << 1), value 0.
        assert_eq!(body, [4, 0, 0, 0, 0xa0, 0x9c, 0x01, 0]);
        assert!(chunk.bytes.len() <= 30, "{}", chunk.bytes.len());
        assert_eq!(chunk.dictionary_len, None);
    }

    #[test]
    fn a_constant_is_a_dictionary_of_one_and_zero_indices() {
        let value = Prepared::Plain(1.5f64.to_le_bytes().to_vec());
        let chunk = regenerate(&column(Repetition::Optional), &value, 100);
        let dict_len = chunk.dictionary_len.unwrap();
        let (header, body) = page(&chunk.bytes[..dict_len]);
        assert_eq!(header, (DICTIONARY_PAGE, 8, 8, 1, PLAIN));
        assert_eq!(body, 1.5f64.to_le_bytes());
        let (header, body) = page(&chunk.bytes[dict_len..]);
        assert_eq!(header, (DATA_PAGE, 11, 11, 100, RLE_DICTIONARY));
        // Levels all 1 (length 3: varint(200) is 2 bytes, then the value), bit width 1, run of 0.
        assert_eq!(body, [3, 0, 0, 0, 0xc8, 0x01, 1, 1, 0xc8, 0x01, 0]);
        let required = regenerate(&column(Repetition::Required), &value, 100);
        let (_, body) = page(&required.bytes[required.dictionary_len.unwrap()..]);
        assert_eq!(body, [1, 0xc8, 0x01, 0]);
        assert_eq!(required.encodings, [PLAIN, RLE, RLE_DICTIONARY]);
    }

    #[test]
    fn a_boolean_constant_is_one_rle_run() {
        let chunk = regenerate(&column(Repetition::Optional), &Prepared::Boolean(true), 5);
        let (header, body) = page(&chunk.bytes);
        assert_eq!(header, (DATA_PAGE, 12, 12, 5, RLE));
        assert_eq!(body, [2, 0, 0, 0, 10, 1, 2, 0, 0, 0, 10, 1]);
        // No rows: no runs.
        let empty = regenerate(&column(Repetition::Optional), &Prepared::Null, 0);
        let (header, body) = page(&empty.bytes);
        assert_eq!(header.3, 0);
        assert_eq!(body, [0, 0, 0, 0]);
    }
}
