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
