//! The Parquet footer codec on files of real writers (core/tests/fixtures/parquet/, written by
//! scripts/gen_parquet_fixtures.py with pyarrow and DuckDB) and on crafted ones: the view's
//! size and footer, the masked chunks' metadata re-read with the codec's own reader, the
//! refusals, and the overlay served in any split of ranges. tests/e2e/test_parquet_codec.py
//! reads the masked files with pyarrow and DuckDB.

// The helpers below read fixtures they know to be there: a panic is the test failing.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use s3gate_core::tables::parquet::thrift::{self, Field, Reader, Writer};
use s3gate_core::tables::parquet::{
    self, footer, ColumnMask, Error, Mask, Overlay, TopLevel, Value, DEFAULT_MAX_FOOTER,
};

mod common;
use common::cases;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/parquet");

/// The plain (unencrypted) fixtures.
const PLAIN: [&str; 7] = [
    "duckdb_snappy",
    "duckdb_zstd",
    "pyarrow_gzip_pages",
    "pyarrow_lz4_int96",
    "pyarrow_none_nostats",
    "pyarrow_snappy_dict",
    "pyarrow_zstd_plain_v2",
];

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}.parquet")).unwrap()
}

fn masks(pairs: &[(&str, Mask)]) -> Vec<ColumnMask> {
    pairs
        .iter()
        .map(|(column, mask)| ColumnMask {
            column: column.to_string(),
            mask: mask.clone(),
        })
        .collect()
}

fn mask_file(file: &[u8], masks: &[ColumnMask]) -> Result<Overlay, Error> {
    parquet::mask(file.len() as u64, file, masks, DEFAULT_MAX_FOOTER)
}

/// The FileMetaData bytes of a file (or view).
fn footer_of(file: &[u8]) -> &[u8] {
    let n = file.len();
    assert_eq!(&file[n - 4..], b"PAR1");
    let len = u32::from_le_bytes(file[n - 8..n - 4].try_into().unwrap()) as usize;
    &file[n - 8 - len..n - 8]
}

fn fields(raw: Field<'_>) -> Vec<Field<'_>> {
    raw.fields().unwrap().collect_all().unwrap()
}

fn get<'a>(fields: &[Field<'a>], id: i16) -> Option<Field<'a>> {
    fields.iter().find(|f| f.id == id).copied()
}

/// Row groups as (RowGroup fields, each ColumnChunk's fields).
fn row_groups(footer: &[u8]) -> Vec<(Vec<Field<'_>>, Vec<Vec<Field<'_>>>)> {
    let top = Reader::new(footer).fields().collect_all().unwrap();
    let (_, count, mut reader) = get(&top, 4).unwrap().list().unwrap();
    (0..count)
        .map(|_| {
            let group = fields(reader.struct_element().unwrap());
            let (_, n, mut columns) = get(&group, 1).unwrap().list().unwrap();
            let chunks = (0..n)
                .map(|_| fields(columns.struct_element().unwrap()))
                .collect();
            (group, chunks)
        })
        .collect()
}

fn leaf_of(file: &[u8], name: &str) -> usize {
    let top = parquet::columns(file.len() as u64, file, DEFAULT_MAX_FOOTER).unwrap();
    top.iter()
        .find_map(|t| match t {
            TopLevel::Leaf(c) if c.name == name => Some(c.leaf),
            _ => None,
        })
        .unwrap()
}

fn view(file: &[u8], overlay: &Overlay) -> Vec<u8> {
    assert_eq!(overlay.size(), file.len() as u64);
    overlay.fill(0, file)
}

#[test]
fn no_masks_is_the_object_itself() {
    for name in PLAIN {
        let file = fixture(name);
        let overlay = mask_file(&file, &[]).unwrap();
        assert!(overlay.is_identity(), "{name}");
        assert_eq!(view(&file, &overlay), file);
    }
}

#[test]
fn every_struct_re_emitted_from_its_fields_is_its_bytes() {
    // The splice re-emits changed structs from their fields: unknown fields and field order
    // survive byte for byte.
    fn re_emit(raw: &Field<'_>) -> Vec<u8> {
        let mut w = Writer::default();
        w.begin_struct(None);
        for f in fields(*raw) {
            w.field(&f);
        }
        w.end_struct();
        w.out
    }
    for name in PLAIN {
        let file = fixture(name);
        let footer = footer_of(&file);
        let top = Reader::new(footer).fields().collect_all().unwrap();
        let (_, count, mut reader) = get(&top, 4).unwrap().list().unwrap();
        for _ in 0..count {
            let group = reader.struct_element().unwrap();
            assert_eq!(re_emit(&group), group.raw, "{name}");
            let gf = fields(group);
            let (_, n, mut columns) = get(&gf, 1).unwrap().list().unwrap();
            for _ in 0..n {
                let chunk = columns.struct_element().unwrap();
                assert_eq!(re_emit(&chunk), chunk.raw, "{name}");
                let meta = get(&fields(chunk), 3).unwrap();
                assert_eq!(re_emit(&meta), meta.raw, "{name}");
            }
        }
    }
}

/// Checks the masked view of `file` under `masks`: same size; outside the overlay the same
/// bytes; the footer ends where it ended and re-reads with the masked chunks' metadata as the
/// codec writes it; the masked columns' page index and bloom filters are zeros; the other
/// chunks are untouched.
fn check_masked(name: &str, file: &[u8], masked: &[ColumnMask]) -> Vec<u8> {
    let overlay = mask_file(file, masked).unwrap();
    let out = view(file, &overlay);
    assert_eq!(out.len(), file.len());
    // Outside the spans, the upstream's bytes.
    let mut covered = vec![false; file.len()];
    for span in overlay.spans() {
        for b in &mut covered[span.start as usize..span.end() as usize] {
            *b = true;
        }
    }
    for (i, (a, b)) in file.iter().zip(&out).enumerate() {
        if !covered[i] {
            assert_eq!(a, b, "{name}: byte {i} outside the overlay changed");
        }
    }
    let old = row_groups(footer_of(file));
    let new = row_groups(footer_of(&out));
    assert_eq!(old.len(), new.len());
    // The new footer starts at or after the old one.
    let old_start = file.len() - 8 - footer_of(file).len();
    let new_start = out.len() - 8 - footer_of(&out).len();
    assert!(new_start >= old_start);
    assert!(out[old_start..new_start].iter().all(|&b| b == 0));
    let leaves: Vec<usize> = masked.iter().map(|m| leaf_of(file, &m.column)).collect();
    for (rg, ((og, oc), (ng, nc))) in old.iter().zip(&new).enumerate() {
        let mut delta = 0i64;
        for (leaf, (o, n)) in oc.iter().zip(nc).enumerate() {
            if !leaves.contains(&leaf) {
                let same = |f: &Vec<Field<'_>>| -> Vec<(i16, u8, Vec<u8>)> {
                    f.iter().map(|f| (f.id, f.ty, f.raw.to_vec())).collect()
                };
                assert_eq!(same(o), same(n), "{name}: an unmasked chunk changed");
                continue;
            }
            let om = fields(get(o, 3).unwrap());
            let nm = fields(get(n, 3).unwrap());
            // Dropped: page index refs, statistics, encoding stats, bloom filter, size
            // statistics, geospatial statistics, index page, key-value metadata.
            for id in [4, 5, 6, 7] {
                assert!(get(n, id).is_none(), "{name}: ColumnChunk field {id} kept");
            }
            for id in [8, 10, 12, 13, 14, 15, 16, 17] {
                assert!(
                    get(&nm, id).is_none(),
                    "{name}: ColumnMetaData field {id} kept"
                );
            }
            assert_eq!(get(&nm, 4).unwrap().i32().unwrap(), 0, "codec UNCOMPRESSED");
            for id in [1, 3, 5] {
                assert_eq!(get(&om, id).unwrap().raw, get(&nm, id).unwrap().raw);
            }
            let tcs = get(&nm, 7).unwrap().i64().unwrap();
            assert_eq!(tcs, get(&nm, 6).unwrap().i64().unwrap());
            delta += tcs - get(&om, 7).unwrap().i64().unwrap();
            let start = |m: &[Field<'_>]| {
                let data = get(m, 9).unwrap().i64().unwrap();
                get(m, 11).map_or(data, |d| d.i64().unwrap().min(data))
            };
            assert_eq!(start(&om), start(&nm), "{name}: the chunk moved");
            let s = start(&nm) as usize;
            // The regenerated chunk is in the view at its offsets; the rest of the span zeros.
            let span_end = s + get(&om, 7).unwrap().i64().unwrap() as usize;
            assert!(out[s + tcs as usize..span_end].iter().all(|&b| b == 0));
            // The page index and bloom filter of the masked chunk: zeros.
            for (off, len) in [(4, 5), (6, 7)] {
                if let (Some(off), Some(len)) = (get(o, off), get(o, len)) {
                    let off = off.i64().unwrap() as usize;
                    let len = len.i32().unwrap() as usize;
                    assert!(
                        out[off..off + len].iter().all(|&b| b == 0),
                        "{name}: page index"
                    );
                }
            }
            if let (Some(off), Some(len)) = (get(&om, 14), get(&om, 15)) {
                let off = off.i64().unwrap() as usize;
                let len = len.i32().unwrap() as usize;
                assert!(
                    out[off..off + len].iter().all(|&b| b == 0),
                    "{name}: bloom filter"
                );
            }
        }
        // The row group's sizes moved by the chunks' change.
        for id in [6] {
            if let Some(o) = get(og, id) {
                assert_eq!(
                    get(ng, id).unwrap().i64().unwrap(),
                    o.i64().unwrap() + delta,
                    "{name}: row group {rg} total_compressed_size"
                );
            }
        }
        assert_eq!(get(og, 3).unwrap().raw, get(ng, 3).unwrap().raw);
    }
    // The view is a valid input again (masking it again works, with no masks is itself).
    let again = mask_file(&out, &[]).unwrap();
    assert!(again.is_identity());
    out
}

#[test]
fn masked_views_of_every_writer() {
    for name in PLAIN {
        let file = fixture(name);
        let masked = masks(&[
            ("customer_email", Mask::Null),
            ("amount", Mask::Constant("0".into())),
            ("region", Mask::Constant("XX".into())),
        ]);
        let out = check_masked(name, &file, &masked);
        // No clear email is left in any byte (the e2e test checks what readers read).
        let text = String::from_utf8_lossy(&out);
        assert!(
            !text.contains(".secret@example.org"),
            "{name}: a clear email is left"
        );
    }
}

#[test]
fn constants_of_every_physical_type() {
    let file = fixture("pyarrow_snappy_dict");
    let masked = masks(&[
        ("order_id", Mask::Constant("7".into())), // REQUIRED INT64
        ("customer_email", Mask::Constant("x@y".into())),
        ("qty", Mask::Value(Value::Int32(-3))), // REQUIRED INT32
        ("weight", Mask::Constant("1.5".into())),
        ("paid", Mask::Constant("true".into())),
        ("price", Mask::Constant("1.50".into())),
        ("code", Mask::Constant("ABCD".into())),
        ("order_ts", Mask::Constant("1000000".into())),
    ]);
    check_masked("pyarrow_snappy_dict", &file, &masked);
    let file = fixture("pyarrow_lz4_int96");
    let masked = masks(&[("order_ts", Mask::Constant("86400000000000".into()))]);
    check_masked("pyarrow_lz4_int96", &file, &masked);
}

#[test]
fn the_view_refuses_what_it_cannot_mask() {
    let file = fixture("pyarrow_snappy_dict");
    let one = |column: &str, mask: Mask| mask_file(&file, &masks(&[(column, mask)]));
    for (column, mask, refusal) in [
        ("info", Mask::Null, "NestedColumn"),
        ("tags", Mask::Null, "NestedColumn"),
        ("city", Mask::Null, "UnknownColumn"),
        ("nope", Mask::Null, "UnknownColumn"),
        ("Customer_Email", Mask::Null, "LookAlikeColumn"),
        ("customer_email\u{200b}", Mask::Null, "LookAlikeColumn"),
        ("order_id", Mask::Null, "NullOnRequired"),
        ("amount", Mask::Constant("zero".into()), "InvalidConstant"),
        ("code", Mask::Constant("ABC".into()), "InvalidConstant"),
        ("code", Mask::Value(Value::Int32(1)), "InvalidConstant"),
    ] {
        let got = format!("{:?}", one(column, mask.clone()));
        assert!(
            got.starts_with(&format!("Err({refusal}")),
            "{column} {mask:?}: {got}"
        );
    }
    // A constant longer than a chunk's span.
    let long = "x".repeat(100_000);
    assert!(matches!(
        one("region", Mask::Constant(long)),
        Err(Error::ChunkTooSmall { .. })
    ));
    // DuckDB's boolean chunks of 2,048 rows are 26 bytes: the RLE page of a constant needs more.
    let duck = fixture("duckdb_snappy");
    assert!(matches!(
        mask_file(&duck, &masks(&[("paid", Mask::Constant("true".into()))])),
        Err(Error::ChunkTooSmall { .. })
    ));
}

#[test]
fn encrypted_files_are_refused() {
    for name in ["encrypted_footer", "encrypted_plaintext_footer"] {
        let file = fixture(name);
        let masked = masks(&[("amount", Mask::Null)]);
        assert!(
            matches!(mask_file(&file, &masked), Err(Error::Encrypted(_))),
            "{name}"
        );
        assert!(
            matches!(mask_file(&file, &[]), Err(Error::Encrypted(_))),
            "{name}"
        );
    }
}

#[test]
fn the_tail_and_the_maximum() {
    let file = fixture("duckdb_zstd");
    let size = file.len() as u64;
    let location = footer::locate(size, &file[file.len() - 8..], DEFAULT_MAX_FOOTER).unwrap();
    assert_eq!(location.start + location.len + 8, size);
    let short = &file[file.len() - location.tail_len() as usize + 1..];
    assert_eq!(
        parquet::mask(size, short, &[], DEFAULT_MAX_FOOTER),
        Err(Error::NeedTail {
            bytes: location.tail_len()
        })
    );
    let exact = &file[file.len() - location.tail_len() as usize..];
    let masked = masks(&[("customer_email", Mask::Null)]);
    assert_eq!(
        parquet::mask(size, exact, &masked, DEFAULT_MAX_FOOTER).unwrap(),
        mask_file(&file, &masked).unwrap()
    );
    assert!(matches!(
        parquet::mask(size, &file, &masked, location.len - 1),
        Err(Error::FooterTooLarge { .. })
    ));
    assert!(matches!(
        footer::locate(5, b"PAR1", 100),
        Err(Error::NotParquet(_))
    ));
    let mut bad = file.clone();
    let n = bad.len();
    bad[n - 1] = b'2';
    assert!(matches!(mask_file(&bad, &[]), Err(Error::NotParquet(_))));
    bad[n - 1] = b'1';
    bad[n - 8..n - 4].copy_from_slice(&(n as u32).to_le_bytes());
    assert!(matches!(mask_file(&bad, &[]), Err(Error::NotParquet(_))));
}

#[test]
fn corrupt_footers_are_errors_never_panics() {
    let file = fixture("duckdb_zstd");
    let n = file.len();
    let len = footer_of(&file).len();
    let masked = masks(&[
        ("customer_email", Mask::Null),
        ("amount", Mask::Constant("0".into())),
    ]);
    let mut errors = 0;
    for i in n - 8 - len..n - 8 {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = file.clone();
            bad[i] ^= flip;
            if mask_file(&bad, &masked).is_err() {
                errors += 1;
            }
        }
        // Truncated footers: the length says fewer bytes.
        if i == n - 8 - len {
            continue;
        }
        let mut cut = file.clone();
        let short = (n - 8 - i) as u32;
        cut[n - 8..n - 4].copy_from_slice(&short.to_le_bytes());
        assert!(mask_file(&cut, &masked).is_err());
    }
    assert!(errors > len, "most corruptions are caught ({errors})");
}

/// A file of one OPTIONAL DOUBLE column `c` in one row group of `rows` rows, its chunk
/// `chunk_len` bytes of filler, the footer made by the Writer with `extra` called inside the
/// ColumnChunk (after its meta_data) and `file_extra` inside FileMetaData (after row_groups).
fn crafted(
    rows: i64,
    chunk_len: usize,
    span: usize,
    encodings: &[i32],
    extra: impl Fn(&mut Writer),
    file_extra: impl Fn(&mut Writer),
) -> Vec<u8> {
    let mut file = b"PAR1".to_vec();
    file.extend(std::iter::repeat_n(0x55u8, chunk_len));
    let mut w = Writer::default();
    w.begin_struct(None);
    w.i32_field(1, 2);
    w.field_header(2, thrift::LIST);
    w.list_header(thrift::STRUCT, 2);
    w.begin_struct(None); // root
    w.field_header(4, thrift::BINARY);
    w.varint(6);
    w.out.extend_from_slice(b"schema");
    w.i32_field(5, 1);
    w.end_struct();
    w.begin_struct(None);
    w.i32_field(1, 5); // DOUBLE
    w.i32_field(3, 1); // OPTIONAL
    w.field_header(4, thrift::BINARY);
    w.varint(1);
    w.out.push(b'c');
    w.end_struct();
    w.i64_field(3, rows);
    w.field_header(4, thrift::LIST);
    w.list_header(thrift::STRUCT, 1);
    w.begin_struct(None); // RowGroup
    w.field_header(1, thrift::LIST);
    w.list_header(thrift::STRUCT, 1);
    w.begin_struct(None); // ColumnChunk
    w.i64_field(2, 4);
    w.begin_struct(Some(3));
    w.i32_field(1, 5);
    w.i32_list_field(2, encodings);
    w.field_header(3, thrift::LIST);
    w.list_header(thrift::BINARY, 1);
    w.varint(1);
    w.out.push(b'c');
    w.i32_field(4, 1);
    w.i64_field(5, rows);
    w.i64_field(6, span as i64);
    w.i64_field(7, span as i64);
    w.i64_field(9, 4);
    w.end_struct();
    extra(&mut w);
    w.end_struct();
    w.i64_field(2, span as i64);
    w.i64_field(3, rows);
    w.end_struct();
    file_extra(&mut w);
    w.end_struct();
    let footer = w.out;
    file.extend_from_slice(&footer);
    file.extend_from_slice(&(footer.len() as u32).to_le_bytes());
    file.extend_from_slice(b"PAR1");
    file
}

/// A page index inside the chunk's span: the spans overlap.
fn index_in_chunk() -> Vec<u8> {
    crafted(
        10,
        100,
        100,
        &[0, 3],
        |w| {
            w.i64_field(4, 90);
            w.i32_field(5, 14);
        },
        |_| {},
    )
}

#[test]
fn crafted_files() {
    let null = masks(&[("c", Mask::Null)]);
    let constant = masks(&[("c", Mask::Constant("1".into()))]);
    let plain = crafted(10, 100, 100, &[0, 3], |_| {}, |_| {});
    let overlay = mask_file(&plain, &null).unwrap();
    assert_eq!(overlay.size(), plain.len() as u64);
    // A constant needs a dictionary page and more encodings: this footer grows, and there is
    // nothing else in it to drop.
    assert!(mask_file(&plain, &constant).is_ok());
    let small = crafted(10, 60, 60, &[0, 3], |_| {}, |_| {});
    assert!(matches!(
        mask_file(&small, &constant),
        Err(Error::FooterGrew { .. })
    ));
    // The chunk too small for its regenerated pages.
    let tiny = crafted(10, 8, 8, &[0, 3], |_| {}, |_| {});
    assert!(matches!(
        mask_file(&tiny, &null),
        Err(Error::ChunkTooSmall { .. })
    ));
    // Encryption markers in the footer.
    let crypto = crafted(
        10,
        100,
        100,
        &[0, 3],
        |w| {
            w.begin_struct(Some(8));
            w.end_struct();
        },
        |_| {},
    );
    assert!(matches!(mask_file(&crypto, &[]), Err(Error::Encrypted(_))));
    let algorithm = crafted(
        10,
        100,
        100,
        &[0, 3],
        |_| {},
        |w| {
            w.begin_struct(Some(8));
            w.end_struct();
        },
    );
    assert!(matches!(
        mask_file(&algorithm, &[]),
        Err(Error::Encrypted(_))
    ));
    // A page index of the masked chunk outside the data; then a valid one, zeroed.
    let outside = crafted(
        10,
        100,
        100,
        &[0, 3],
        |w| {
            w.i64_field(4, 10_000);
            w.i32_field(5, 10);
        },
        |_| {},
    );
    assert!(matches!(
        mask_file(&outside, &null),
        Err(Error::Malformed { .. })
    ));
    // A masked chunk's page index inside the chunk: both are the masked column's, the
    // regenerated chunk is written at the start and the rest is zeros.
    let inside = index_in_chunk();
    let out = view(&inside, &mask_file(&inside, &null).unwrap());
    let regenerated = mask_file(&plain, &null).unwrap().spans()[0].fill.len() as usize;
    assert!(out[4 + regenerated..104].iter().all(|&b| b == 0));
    // A chunk whose total_compressed_size is shorter than its pages: what lies past the
    // declared span up to the next column's bytes (here the footer) is zeroed too.
    let short = crafted(10, 300, 100, &[0, 3], |_| {}, |_| {});
    let out = view(&short, &mask_file(&short, &null).unwrap());
    assert!(out[4 + regenerated..304].iter().all(|&b| b == 0));
    let index = crafted(
        10,
        100,
        80,
        &[0, 3],
        |w| {
            w.i64_field(4, 90);
            w.i32_field(5, 14);
        },
        |_| {},
    );
    let out = view(&index, &mask_file(&index, &null).unwrap());
    assert!(out[90..104].iter().all(|&b| b == 0));
    // A writer whose chunk sizes miss bytes (PARQUET-816); a later one is fine.
    for (created_by, refused) in [
        (&b"parquet-mr version 1.2.8 (build x)"[..], true),
        (b"parquet-mr version 1.12.3", false),
    ] {
        let file = crafted(
            10,
            100,
            100,
            &[0, 3],
            |_| {},
            |w| {
                w.field_header(6, thrift::BINARY);
                w.varint(created_by.len() as u64);
                w.out.extend_from_slice(created_by);
            },
        );
        assert_eq!(
            matches!(mask_file(&file, &null), Err(Error::UnsafeWriter(_))),
            refused
        );
    }
    // A second row_groups list (Thrift readers keep the last): refused.
    let twice = crafted(
        10,
        100,
        100,
        &[0, 3],
        |_| {},
        |w| {
            w.field_header(5, thrift::LIST);
            w.list_header(thrift::STRUCT, 0);
            w.field_header(4, thrift::LIST);
            w.list_header(thrift::STRUCT, 0);
        },
    );
    assert!(matches!(
        mask_file(&twice, &[]),
        Err(Error::Malformed {
            what: "a repeated field",
            ..
        })
    ));
    // A huge row count for one page.
    let huge = crafted(1 << 40, 100, 100, &[0, 3], |_| {}, |_| {});
    assert!(matches!(
        mask_file(&huge, &null),
        Err(Error::TooManyValues { .. })
    ));
}

proptest! {
    #![proptest_config(cases(200))]

    /// Any split of the masked view into ranges, each filled from the upstream's bytes of that
    /// range alone, concatenates to the whole view.
    #[test]
    fn any_split_of_the_view_is_the_view(
        which in 0..PLAIN.len(),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let file = fixture(PLAIN[which]);
        let masked = masks(&[("customer_email", Mask::Null), ("amount", Mask::Constant("0".into()))]);
        let overlay = mask_file(&file, &masked).unwrap();
        let whole = overlay.fill(0, &file);
        let mut at: Vec<usize> = cuts.iter().map(|c| c % (file.len() + 1)).collect();
        at.push(0);
        at.push(file.len());
        at.sort_unstable();
        let mut joined = Vec::with_capacity(file.len());
        for w in at.windows(2) {
            joined.extend_from_slice(&overlay.fill(w[0] as u64, &file[w[0]..w[1]]));
        }
        prop_assert_eq!(&joined, &whole);
        // The cache's form gives the same overlay.
        // The footer and its trailer come from the overlay alone.
        let footer_len = footer_of(&file).len() as u64;
        let size = file.len() as u64;
        prop_assert!(overlay.covers(size - 8 - footer_len, footer_len + 8));
        let decoded = Overlay::decode(&overlay.encode());
        prop_assert_eq!(decoded.as_ref(), Some(&overlay));
    }
}

proptest! {
    #![proptest_config(cases(300))]

    /// A fixture's footer with random bytes overwritten: an overlay or an error, never a panic;
    /// an overlay keeps the size and its spans inside the object.
    #[test]
    fn mutated_footers_never_panic(
        which in 0..PLAIN.len(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8),
    ) {
        let mut file = fixture(PLAIN[which]);
        let n = file.len();
        let len = footer_of(&file).len();
        for (at, byte) in edits {
            file[n - 8 - len + at % len] = byte;
        }
        let masked = masks(&[("customer_email", Mask::Null), ("amount", Mask::Constant("0".into()))]);
        if let Ok(overlay) = mask_file(&file, &masked) {
            prop_assert_eq!(overlay.size(), n as u64);
            prop_assert!(overlay.spans().iter().all(|s| s.end() <= n as u64));
        }
    }

    /// Arbitrary bytes as a footer (with a valid trailer): never a panic.
    #[test]
    fn arbitrary_footers_never_panic(body in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut file = b"PAR1".to_vec();
        file.extend_from_slice(&body);
        file.extend_from_slice(&(body.len() as u32).to_le_bytes());
        file.extend_from_slice(b"PAR1");
        let _ = mask_file(&file, &masks(&[("a", Mask::Null)]));
        let _ = parquet::columns(file.len() as u64, &file, DEFAULT_MAX_FOOTER);
        let _ = Reader::new(&body).fields().collect_all();
    }
}
