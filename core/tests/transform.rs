//! Property tests of the table transform (`s3gate_core::tables::transform`): any chunking gives
//! the same view and summary; the view size is the bytes output; no masks and no filters is the
//! identity; a hashed column never shows a clear value; every checkpoint is a record boundary of
//! both streams; every range of the view, transformed from its index window alone, is the same
//! slice of the whole view.
//!
//! Cases as in `core/tests/properties.rs`: a bounded number by default, `PROPTEST_CASES` for
//! more (`make fuzz`).

mod common;

// Helpers unwrap as the tests do: a cfg(test) module.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use proptest::sample::select;

    use s3gate_core::tables::csv::{self, CsvError, Dialect};
    use s3gate_core::tables::index::Window;
    use s3gate_core::tables::jsonl::{self, JsonlError};
    use s3gate_core::tables::mask::{MaskKeys, Masked, Value};
    use s3gate_core::tables::spec::{Mask, TableSpec};
    use s3gate_core::tables::transform::{Summary, TableError, Transform};

    use super::common::{cases, chunks};

    const MAX_RECORD: usize = 1 << 16;

    fn keys() -> MaskKeys {
        MaskKeys::new(&[42u8; 32]).unwrap()
    }

    fn spec(json: &str) -> TableSpec {
        serde_json::from_str(json).unwrap()
    }

    const CSV_SPECS: &[&str] = &[
        // erin: eu rows only, ssn null, email hashed.
        r#"{"format":{"kind":"csv"},
            "masks":[{"column":"ssn","mask":{"kind":"null"}},{"column":"email","mask":{"kind":"hash"}}],
            "row_filters":[{"column":"region","op":"in","values":["eu"]}]}"#,
        // alice: email hashed, ssn's last four kept.
        r#"{"format":{"kind":"csv"},
            "masks":[{"column":"email","mask":{"kind":"hash"}},
                     {"column":"ssn","mask":{"kind":"partial","keep_first":0,"keep_last":4}}]}"#,
        r#"{"format":{"kind":"csv"},
            "masks":[{"column":"note","mask":{"kind":"constant","value":"a,\"b\"\nc"}}],
            "row_filters":[{"column":"region","op":"not_in","values":["us"]}]}"#,
        r#"{"format":{"kind":"csv"}}"#,
    ];

    const JSONL_SPECS: &[&str] = &[
        r#"{"format":{"kind":"jsonl"},
            "masks":[{"column":"ssn","mask":{"kind":"null"}},{"column":"email","mask":{"kind":"hash"}},
                     {"column":"address.city","mask":{"kind":"partial","keep_first":1,"keep_last":0}}],
            "row_filters":[{"column":"region","op":"in","values":["eu"]}]}"#,
        r#"{"format":{"kind":"jsonl"},
            "masks":[{"column":"email","mask":{"kind":"hash"}},{"column":"address","mask":{"kind":"null"}}]}"#,
        r#"{"format":{"kind":"jsonl"}}"#,
    ];

    /// Text of CSV fields: delimiters, quotes, line breaks, non-ASCII.
    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(
            select(vec!["a", "b", "7", ",", "\"", "\n", "\r\n", " ", "é", "@"]),
            0..6,
        )
        .prop_map(|parts| parts.concat())
    }

    /// A CSV table with the header `id,email,ssn,region,note` (columns in a generated order), a BOM
    /// or not, LF or CRLF records, the last terminated or not.
    fn csv_table() -> impl Strategy<Value = Vec<u8>> {
        let row = (
            text(),
            text(),
            select(vec!["eu", "us", "EU", ""]),
            text(),
            any::<bool>(),
        );
        (
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(row, 0..25),
            any::<bool>(),
        )
            .prop_map(|(bom, swap, rows, last_terminated)| {
                let d = Dialect::default();
                let mut out = Vec::new();
                if bom {
                    out.extend_from_slice(csv::BOM);
                }
                let order: [usize; 5] = if swap {
                    [4, 1, 0, 3, 2]
                } else {
                    [0, 1, 2, 3, 4]
                };
                let header = ["id", "email", "ssn", "region", "note"];
                let line = |fields: [&str; 5], crlf: bool, out: &mut Vec<u8>| {
                    for (n, &i) in order.iter().enumerate() {
                        if n > 0 {
                            out.push(b',');
                        }
                        csv::write_field(&d, fields[i].as_bytes(), out);
                    }
                    out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                };
                line(header, false, &mut out);
                for (k, (email, ssn, region, note, crlf)) in rows.iter().enumerate() {
                    let id = k.to_string();
                    line([&id, email, ssn, region, note], *crlf, &mut out);
                }
                if !last_terminated && !rows.is_empty() {
                    while out.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                        out.pop();
                    }
                    // Unless the last field now ends inside quotes we cut: keep it valid.
                    if csv_records(&out).is_err() {
                        out.extend_from_slice(b"\n");
                    }
                }
                out
            })
    }

    /// A JSON value for a field: strings with escapes and unicode, numbers in every form, null,
    /// bools, objects and arrays.
    fn json_value() -> impl Strategy<Value = String> {
        select(vec![
            r#""a@x.eu""#,
            r#""s\u0073n \"q\" \\ é""#,
            r#""\ud83d\ude00 emoji""#,
            "-1.50e3",
            "0",
            "12345678901234567890",
            "null",
            "true",
            r#"{"city":"Paris","zip":"75001"}"#,
            r#"{"city":{"name":"Rome"}}"#,
            r#"[{"city":"Oslo"}]"#,
            r#""""#,
        ])
        .prop_map(str::to_owned)
    }

    /// JSON Lines with keys masks and filters name, repeated keys, escaped keys, nested objects,
    /// blank lines, LF and CRLF, the last line terminated or not.
    fn jsonl_table() -> impl Strategy<Value = Vec<u8>> {
        let key = select(vec![
            "ssn",
            "email",
            "region",
            "address",
            "s\\u0073n",
            "address.city",
            "other",
        ]);
        let region = select(vec![r#""eu""#, r#""us""#, "null", r#"["eu"]"#]);
        let pair = prop_oneof![
            (key, json_value()).prop_map(|(k, v)| format!("\"{k}\": {v}")),
            region.prop_map(|r| format!("\"region\":{r}")),
        ];
        let line = (prop::collection::vec(pair, 0..6), any::<bool>(), 0..8u8).prop_map(
            |(pairs, crlf, blank)| {
                let body = if blank == 0 {
                    "  ".to_owned()
                } else {
                    format!("{{{}}}", pairs.join(","))
                };
                format!("{body}{}", if crlf { "\r\n" } else { "\n" })
            },
        );
        (prop::collection::vec(line, 0..25), any::<bool>()).prop_map(|(lines, cut)| {
            let mut s = lines.concat();
            if cut {
                while s.ends_with('\n') || s.ends_with('\r') {
                    s.pop();
                }
            }
            s.into_bytes()
        })
    }

    fn transform(spec: &TableSpec, parts: &[&[u8]]) -> Result<(Vec<u8>, Summary), TableError> {
        let mut t = Transform::new(spec, &keys(), MAX_RECORD, 24)?;
        let mut out = Vec::new();
        for part in parts {
            t.feed(part, &mut out)?;
        }
        let summary = t.finish(&mut out)?;
        Ok((out, summary))
    }

    /// The start offsets and the fields of every CSV record.
    /// A record's start offset and its fields' values.
    type Read = (u64, Vec<Vec<u8>>);

    fn csv_records(input: &[u8]) -> Result<Vec<Read>, CsvError> {
        let mut reader = csv::Reader::new(Dialect::default(), MAX_RECORD)?;
        let mut records = Vec::new();
        let mut take = |r: &csv::Record<'_>| -> Result<(), CsvError> {
            let fields = (0..r.fields().len())
                .map(|i| r.value(i).map(|v| v.into_owned()).unwrap_or_default())
                .collect();
            records.push((r.offset(), fields));
            Ok(())
        };
        reader.feed(input, &mut take)?;
        reader.finish(&mut take)?;
        Ok(records)
    }

    fn jsonl_offsets(input: &[u8]) -> Result<Vec<u64>, JsonlError> {
        let mut reader = jsonl::Reader::new(&[], MAX_RECORD)?;
        let mut offsets = Vec::new();
        let mut take = |r: &jsonl::Record<'_>| -> Result<(), JsonlError> {
            offsets.push(r.offset());
            Ok(())
        };
        reader.feed(input, &mut take)?;
        reader.finish(&mut take)?;
        Ok(offsets)
    }

    /// The view bytes of `window`, transformed from its upstream bytes alone, as a range request
    /// would be served. A CSV window not at the start is preceded by the header row (`header`:
    /// its upstream bytes), whose output is dropped: the header names the columns.
    fn serve(spec: &TableSpec, input: &[u8], header: &[u8], window: &Window) -> Vec<u8> {
        let mut t = Transform::new(spec, &keys(), MAX_RECORD, 24).unwrap();
        let mut out = Vec::new();
        if window.upstream_start > 0 && !header.is_empty() {
            t.prime(header).unwrap();
        }
        let slice = &input[window.upstream_start as usize..window.upstream_end as usize];
        t.feed(slice, &mut out).unwrap();
        t.finish(&mut out).unwrap();
        let skip = window.skip as usize;
        out[skip..skip + window.take as usize].to_vec()
    }

    fn checks(
        spec: &TableSpec,
        input: &[u8],
        cuts: &[usize],
        ranges: &[(u64, u64)],
        starts: &dyn Fn(&[u8]) -> Vec<u64>,
        header: &[u8],
    ) -> Result<(), TestCaseError> {
        let (whole, summary) = transform(spec, &[input]).unwrap();
        // Any chunking: the same view and summary.
        let (chunked, chunked_summary) = transform(spec, &chunks(input, cuts)).unwrap();
        prop_assert_eq!(&chunked, &whole);
        prop_assert_eq!(&chunked_summary, &summary);
        prop_assert_eq!(summary.view_size, whole.len() as u64);
        prop_assert_eq!(summary.upstream_size, input.len() as u64);
        prop_assert_eq!(summary.index.view_size, summary.view_size);
        // The header row the pass keeps is the one a reader finds (none for JSON Lines).
        prop_assert_eq!(&summary.header[..], header);
        // Checkpoints at record starts (or the end) of both streams.
        let mut up = starts(input);
        up.push(input.len() as u64);
        let mut view = starts(&whole);
        view.push(whole.len() as u64);
        for c in summary.index.checkpoints() {
            prop_assert!(up.contains(&c.upstream_offset), "{:?} not in {:?}", c, up);
            prop_assert!(view.contains(&c.view_offset), "{:?} not in {:?}", c, view);
        }
        // Ranges from their windows alone.
        if summary.view_size > 0 {
            for &(a, b) in ranges {
                let first = a % summary.view_size;
                let last = first + b % 200;
                let Some(w) = summary.index.window(first, last) else {
                    return Err(TestCaseError::fail(format!("no window for {first}-{last}")));
                };
                let end = (last.min(summary.view_size - 1) + 1) as usize;
                prop_assert_eq!(
                    serve(spec, input, &summary.header, &w),
                    whole[first as usize..end].to_vec(),
                    "{}-{} {:?}",
                    first,
                    last,
                    w
                );
            }
        }
        Ok(())
    }

    fn csv_starts(bytes: &[u8]) -> Vec<u64> {
        csv_records(bytes)
            .unwrap()
            .into_iter()
            .map(|(o, _)| o)
            .collect()
    }

    fn jsonl_starts(bytes: &[u8]) -> Vec<u64> {
        jsonl_offsets(bytes).unwrap()
    }

    fn hash(text: &str) -> String {
        let mask = (Mask::Hash {}).compile().unwrap();
        match mask.apply(&keys(), Value::Str(text)) {
            Masked::Str(s) => s.into_owned(),
            other => panic!("{other:?}"),
        }
    }

    proptest! {
        #![proptest_config(cases(256))]

        #[test]
        fn csv_views_are_consistent(
            table in csv_table(),
            which in 0..CSV_SPECS.len(),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
            ranges in prop::collection::vec((any::<u64>(), any::<u64>()), 1..6),
        ) {
            let spec = spec(CSV_SPECS[which]);
            let records = csv_records(&table).unwrap();
            let header_len = records.get(1).map_or(table.len(), |(o, _)| *o as usize);
            checks(&spec, &table, &cuts, &ranges, &csv_starts, &table[..header_len])?;
        }

        #[test]
        fn jsonl_views_are_consistent(
            table in jsonl_table(),
            which in 0..JSONL_SPECS.len(),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
            ranges in prop::collection::vec((any::<u64>(), any::<u64>()), 1..6),
        ) {
            let spec = spec(JSONL_SPECS[which]);
            checks(&spec, &table, &cuts, &ranges, &jsonl_starts, b"")?;
        }

        #[test]
        fn no_masks_and_no_filters_is_the_identity(csv in csv_table(), jsonl in jsonl_table()) {
            let (out, _) = transform(&spec(r#"{"format":{"kind":"csv"}}"#), &[&csv]).unwrap();
            prop_assert_eq!(out, csv);
            let (out, _) = transform(&spec(r#"{"format":{"kind":"jsonl"}}"#), &[&jsonl]).unwrap();
            prop_assert_eq!(out, jsonl);
        }

        #[test]
        fn a_hashed_column_never_shows_a_clear_value(table in csv_table()) {
            let spec = spec(CSV_SPECS[1]);
            let (out, _) = transform(&spec, &[&table]).unwrap();
            let input = csv_records(&table).unwrap();
            let output = csv_records(&out).unwrap();
            prop_assert_eq!(input.len(), output.len());
            let Some((_, header)) = input.first() else { return Ok(()); };
            let email = header.iter().position(|h| h.as_slice() == b"email").unwrap();
            let clear: Vec<&Vec<u8>> = input.iter().skip(1).map(|(_, f)| &f[email]).collect();
            for ((_, inp), (_, outp)) in input.iter().zip(&output).skip(1) {
                let shown = &outp[email];
                let expected = hash(std::str::from_utf8(&inp[email]).unwrap());
                prop_assert_eq!(shown.as_slice(), expected.as_bytes());
                prop_assert!(!clear.contains(&shown), "{:?}", shown);
            }
        }
    }
}
