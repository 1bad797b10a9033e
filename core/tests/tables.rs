//! Property tests of the table readers and writers (`s3gate_core::tables`): any chunking of an
//! input reads as the whole, re-emitting reproduces the input byte for byte, a replaced field
//! reads back as its replacement. Inputs are generated CSV with quotes, delimiters, CR, LF,
//! CRLF, a BOM, empty fields and an unterminated last record, and arbitrary bytes of the same
//! alphabet (malformed more often than not).
//!
//! Cases as in `core/tests/properties.rs`: a bounded number by default, `PROPTEST_CASES` for
//! more (`make fuzz`); failing inputs are kept in `core/tests/tables.proptest-regressions`.

use std::ops::Range;

use proptest::prelude::*;
use proptest::sample::select;

use s3gate_core::tables::csv::testing::read_chunks as read;
use s3gate_core::tables::csv::{self, CsvError, CsvErrorKind, Dialect, Record, Terminator, BOM};

mod common;
use common::{cases, chunks};

/// The dialects the generators write: RFC 4180, CRLF with an escape, `;` and `'`.
fn dialect() -> impl Strategy<Value = Dialect> {
    select(vec![
        Dialect::default(),
        Dialect {
            escape: Some(b'\\'),
            terminator: Terminator::CrLf,
            header: false,
            ..Dialect::default()
        },
        Dialect {
            delimiter: b';',
            quote: b'\'',
            ..Dialect::default()
        },
    ])
}

/// Bytes that mean something to some dialect, plain ones, and the BOM's bytes.
fn byte() -> impl Strategy<Value = u8> {
    select(vec![
        b'a', b'b', b',', b';', b'"', b'\'', b'\\', b'\r', b'\n', b' ', 0xef, 0xbb, 0xbf, 0xc3,
    ])
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(byte(), 0..6)
}

/// A generated record: its fields (value, quote it even if it need not be) and its terminator.
#[derive(Debug, Clone)]
struct Gen {
    fields: Vec<(Vec<u8>, bool)>,
    crlf: bool,
}

/// A BOM or not, `count` records, the last terminated or not.
fn records(count: Range<usize>) -> impl Strategy<Value = (bool, Vec<Gen>, bool)> {
    let record = (
        prop::collection::vec((value(), any::<bool>()), 1..5),
        any::<bool>(),
    )
        .prop_map(|(fields, crlf)| Gen { fields, crlf });
    (
        any::<bool>(),
        prop::collection::vec(record, count),
        any::<bool>(),
    )
}

/// The test's own rule for when a value must be quoted (independent of `csv::needs_quoting`).
fn must_quote(d: &Dialect, v: &[u8]) -> bool {
    v.starts_with(BOM)
        || v.iter().any(|&b| {
            b == d.delimiter || b == d.quote || b == b'\r' || b == b'\n' || Some(b) == d.escape
        })
}

/// A record as written: its bytes and its fields' values.
type Written = (Vec<u8>, Vec<Vec<u8>>);

/// Writes the generated records; returns the input and each record as written.
fn render(d: &Dialect, bom: bool, gens: &[Gen], last_terminated: bool) -> (Vec<u8>, Vec<Written>) {
    let mut input = Vec::new();
    let mut expected = Vec::new();
    for (n, g) in gens.iter().enumerate() {
        let mut rec = Vec::new();
        if n == 0 && bom {
            rec.extend_from_slice(BOM);
        }
        for (i, (v, quote)) in g.fields.iter().enumerate() {
            if i > 0 {
                rec.push(d.delimiter);
            }
            if *quote || must_quote(d, v) {
                rec.push(d.quote);
                for &b in v {
                    if b == d.quote || Some(b) == d.escape {
                        rec.push(d.escape.unwrap_or(d.quote));
                    }
                    rec.push(b);
                }
                rec.push(d.quote);
            } else {
                rec.extend_from_slice(v);
            }
        }
        let last = n + 1 == gens.len();
        // An unterminated last record with nothing in it would not be a record at all.
        if !last || last_terminated || rec.is_empty() {
            rec.extend_from_slice(if g.crlf { b"\r\n" } else { b"\n" });
        }
        input.extend_from_slice(&rec);
        expected.push((rec, g.fields.iter().map(|(v, _)| v.clone()).collect()));
    }
    if gens.is_empty() && bom {
        // A BOM alone: one blank record that keeps it.
        input.extend_from_slice(BOM);
        expected.push((BOM.to_vec(), vec![vec![]]));
    }
    (input, expected)
}

/// Reads the chunks; for each record calls `each` (e.g. to re-emit it).
fn read_with<F: FnMut(&Record<'_>) -> Result<(), CsvError>>(
    d: Dialect,
    max: usize,
    chunks: &[&[u8]],
    mut each: F,
) -> Result<(), CsvError> {
    let mut reader = csv::Reader::new(d, max)?;
    for chunk in chunks {
        reader.feed(chunk, &mut each)?;
    }
    reader.finish(&mut each)
}

const MAX: usize = 1 << 20;

proptest! {
    #![proptest_config(cases(2000))]

    /// Generated CSV reads as what was written, in any chunking: each record's bytes, values,
    /// offset; and re-emitted without replacements it is the input byte for byte.
    #[test]
    fn generated_csv_reads_back_in_any_chunking(
        d in dialect(),
        (bom, gens, last_terminated) in records(0..8),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let (input, expected) = render(&d, bom, &gens, last_terminated);
        let whole = read(d, MAX, &[&input]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut offset = 0;
        prop_assert_eq!(whole.len(), expected.len());
        for (n, (got, (bytes, values))) in whole.iter().zip(&expected).enumerate() {
            prop_assert_eq!(&got.bytes, bytes);
            prop_assert_eq!(&got.values, values);
            prop_assert_eq!(got.offset, offset);
            prop_assert_eq!(got.index, n as u64);
            offset += bytes.len() as u64;
        }
        let parts = chunks(&input, &cuts);
        prop_assert_eq!(read(d, MAX, &parts), Ok(whole));
        let mut out = Vec::new();
        read_with(d, MAX, &parts, |r| csv::write_record(r, &[], &mut out))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(out, input);
    }

    /// A replaced field reads back as its replacement, whatever bytes it holds; every other
    /// field keeps its value.
    #[test]
    fn a_replaced_field_reads_back_as_the_replacement(
        d in dialect(),
        (bom, gens, last_terminated) in records(1..8),
        pick in any::<(usize, usize)>(),
        replacement in value(),
    ) {
        let (input, _) = render(&d, bom, &gens, last_terminated);
        let before = read(d, MAX, &[&input]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let target = pick.0 % before.len();
        let field = pick.1 % before[target].values.len();
        let mut out = Vec::new();
        read_with(d, MAX, &[&input], |r| {
            let with: &[(usize, &[u8])] = if r.index() == target as u64 {
                &[(field, &replacement)]
            } else {
                &[]
            };
            csv::write_record(r, with, &mut out)
        })
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let after = read(d, MAX, &[&out]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(after.len(), before.len());
        for (n, (a, b)) in after.iter().zip(&before).enumerate() {
            if n == target {
                let mut want = b.values.clone();
                want[field] = replacement.clone();
                prop_assert_eq!(&a.values, &want);
            } else {
                prop_assert_eq!(&a.values, &b.values);
            }
        }
    }

    /// Arbitrary bytes (mostly malformed): every chunking gives the same records or the same
    /// error at the same byte, and what reads re-emits as it was.
    #[test]
    fn arbitrary_bytes_read_alike_in_any_chunking(
        d in dialect(),
        input in prop::collection::vec(byte(), 0..40),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let whole = read(d, MAX, &[&input]);
        prop_assert_eq!(read(d, MAX, &chunks(&input, &cuts)), whole.clone());
        if whole.is_ok() {
            let mut out = Vec::new();
            read_with(d, MAX, &[&input], |r| csv::write_record(r, &[], &mut out))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(out, input);
        }
    }

    /// With a maximum record length, the first record over it is refused (at its offset), in
    /// any chunking, and every record before it is read.
    #[test]
    fn the_first_record_over_the_maximum_is_refused(
        d in dialect(),
        (bom, gens, last_terminated) in records(0..8),
        max in 1usize..24,
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let (input, expected) = render(&d, bom, &gens, last_terminated);
        let over = expected.iter().position(|(bytes, _)| bytes.len() > max);
        let mut seen = 0;
        let result = read_with(d, max, &chunks(&input, &cuts), |_| {
            seen += 1;
            Ok(())
        });
        match over {
            None => prop_assert_eq!(result, Ok(())),
            Some(n) => {
                let offset: usize = expected[..n].iter().map(|(b, _)| b.len()).sum();
                prop_assert_eq!(result, Err(CsvError {
                    kind: CsvErrorKind::RecordTooLong { max },
                    offset: offset as u64,
                    record: n as u64,
                }));
                prop_assert_eq!(seen, n);
            }
        }
    }
}
