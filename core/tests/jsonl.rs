//! Property tests of the JSON Lines reader and writer (`s3gate_core::tables::jsonl`): generated
//! lines (nested objects, arrays, repeated and escaped keys, strings with escapes, numbers in
//! every form, whitespace between any tokens, LF and CRLF, blank lines, an unterminated last
//! line) read as a model of them says, in any chunking; re-emitted without replacements they are
//! the input byte for byte; a replaced value reads back as its replacement. Arbitrary bytes of a
//! JSON alphabet (malformed more often than not) read the same in any chunking too.
//!
//! Cases as in `core/tests/properties.rs`: a bounded number by default, `PROPTEST_CASES` for
//! more (`make fuzz`); failing inputs are kept in `core/tests/jsonl.proptest-regressions`.

use proptest::prelude::*;
use proptest::sample::select;

use s3gate_core::tables::jsonl::testing::{read_chunks as read, rewrite, Owned};
use s3gate_core::tables::jsonl::{self, JsonlError};

mod common;
use common::{cases, chunks};

/// The paths every case asks for: a top-level key, one inside an object, one two levels down.
const PATHS: [&str; 3] = ["ssn", "a.ssn", "b.a.ssn"];
const MAX: usize = 1 << 20;

/// A generated JSON value: its text as written and, for the model, its structure.
#[derive(Debug, Clone)]
enum J {
    /// Any scalar: its text (a string's text includes its quotes and escapes).
    Scalar(String),
    /// (key as written, key unescaped, value) in order; the whitespace used between tokens.
    Object(Vec<(String, String, J)>, String),
    Array(Vec<J>, String),
}

/// Keys: each of `ssn`, `a`, `b` written plainly or with an escape, and one that is none of them.
fn key() -> impl Strategy<Value = (String, String)> {
    select(vec![
        ("\"ssn\"", "ssn"),
        ("\"s\\u0073n\"", "ssn"),
        ("\"\\u0073sn\"", "ssn"),
        ("\"a\"", "a"),
        ("\"\\u0061\"", "a"),
        ("\"b\"", "b"),
        ("\"\\u0062\"", "b"),
        ("\"ssn2\"", "ssn2"),
        ("\"caf\\u00e9\"", "café"),
    ])
    .prop_map(|(w, k)| (w.to_owned(), k.to_owned()))
}

fn scalar() -> impl Strategy<Value = String> {
    let string = prop::collection::vec(
        select(vec![
            "x",
            "é",
            "😀",
            "\\\"",
            "\\\\",
            "\\/",
            "\\n",
            "\\r",
            "\\t",
            "\\u00e9",
            "\\ud83d\\ude00",
            " ",
            "{",
            "}",
            ":",
            ",",
        ]),
        0..5,
    )
    .prop_map(|parts| format!("\"{}\"", parts.concat()));
    let other = select(vec![
        "0",
        "-0",
        "1e-7",
        "1E+30",
        "-12.5E-3",
        "1e400",
        "0.5",
        "123456789012345678901234567890",
        "true",
        "false",
        "null",
    ])
    .prop_map(str::to_owned);
    prop_oneof![string, other]
}

fn whitespace() -> impl Strategy<Value = String> {
    select(vec!["", "", " ", "\t", " \r ", "  "]).prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = J> {
    scalar()
        .prop_map(J::Scalar)
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                (
                    prop::collection::vec((key(), inner.clone()), 0..4),
                    whitespace()
                )
                    .prop_map(|(entries, ws)| J::Object(
                        entries.into_iter().map(|((w, k), v)| (w, k, v)).collect(),
                        ws
                    )),
                (prop::collection::vec(inner, 0..3), whitespace())
                    .prop_map(|(v, ws)| J::Array(v, ws)),
            ]
        })
}

/// A top-level object: entries and whitespace.
fn object() -> impl Strategy<Value = J> {
    (prop::collection::vec((key(), value()), 0..6), whitespace()).prop_map(|(entries, ws)| {
        J::Object(
            entries.into_iter().map(|((w, k), v)| (w, k, v)).collect(),
            ws,
        )
    })
}

fn render(j: &J) -> String {
    match j {
        J::Scalar(s) => s.clone(),
        J::Object(entries, ws) => {
            let body: Vec<String> = entries
                .iter()
                .map(|(w, _, v)| format!("{ws}{w}{ws}:{ws}{}{ws}", render(v)))
                .collect();
            format!("{{{ws}{}{ws}}}", body.join(","))
        }
        J::Array(items, ws) => {
            let body: Vec<String> = items
                .iter()
                .map(|v| format!("{ws}{}{ws}", render(v)))
                .collect();
            format!("[{ws}{}{ws}]", body.join(","))
        }
    }
}

/// (path, raw text, blocked) of one located value.
type Hit = (usize, String, bool);

/// The model: (path, text, blocked) of every value the path names in `j`, in document order,
/// a container before what is inside it.
fn model(j: &J, paths: &[Vec<&str>], active: &[(usize, usize)], out: &mut Vec<Hit>) {
    let J::Object(entries, _) = j else {
        return;
    };
    for (_, k, v) in entries {
        let mut nested = Vec::new();
        for &(p, done) in active {
            if paths[p][done] != k {
                continue;
            }
            if done + 1 == paths[p].len() {
                out.push((p, render(v), false));
            } else {
                nested.push((p, done + 1));
            }
        }
        if nested.is_empty() {
            continue;
        }
        if let J::Object(..) = v {
            model(v, paths, &nested, out);
        } else {
            for (p, _) in nested {
                out.push((p, render(v), true));
            }
        }
    }
}

fn expected(j: &J) -> Vec<Hit> {
    let paths: Vec<Vec<&str>> = PATHS.iter().map(|p| p.split('.').collect()).collect();
    let active: Vec<(usize, usize)> = (0..paths.len()).map(|p| (p, 0)).collect();
    let mut out = Vec::new();
    model(j, &paths, &active, &mut out);
    out
}

/// A line: an object (or, if `None`, a blank line of whitespace), leading and trailing
/// whitespace, CRLF or LF.
type Line = (Option<J>, String, String, bool);

fn lines() -> impl Strategy<Value = (Vec<Line>, bool)> {
    let line = (
        prop::option::weighted(0.9, object()),
        whitespace(),
        whitespace(),
        any::<bool>(),
    );
    (prop::collection::vec(line, 0..6), any::<bool>())
}

/// The input, and each record's bytes and expected located values.
fn write(lines: &[Line], last_terminated: bool) -> (Vec<u8>, Vec<(String, Vec<Hit>)>) {
    let mut input = String::new();
    let mut records = Vec::new();
    for (n, (j, before, after, crlf)) in lines.iter().enumerate() {
        let mut rec = match j {
            Some(j) => format!("{before}{}{after}", render(j)),
            None => format!("{before}{after}"),
        };
        let last = n + 1 == lines.len();
        // An unterminated last line with nothing in it would not be a record at all.
        if !last || last_terminated || rec.is_empty() {
            rec.push_str(if *crlf { "\r\n" } else { "\n" });
        }
        input.push_str(&rec);
        records.push((rec, j.as_ref().map(expected).unwrap_or_default()));
    }
    (input.into_bytes(), records)
}

fn fail(e: JsonlError) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

fn located(r: &Owned) -> Vec<Hit> {
    r.located
        .iter()
        .zip(&r.raw)
        .map(|(l, raw)| (l.path, raw.clone(), l.blocked))
        .collect()
}

proptest! {
    #![proptest_config(cases(1000))]

    /// Generated JSON Lines read as the model says in any chunking: each record's bytes,
    /// offset and number, every value each path names (every occurrence of a repeated or
    /// escaped key); re-emitted without replacements it is the input byte for byte.
    #[test]
    fn generated_lines_read_as_the_model_in_any_chunking(
        (lines, last_terminated) in lines(),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let (input, records) = write(&lines, last_terminated);
        let whole = read(&PATHS, MAX, &[&input]).map_err(fail)?;
        prop_assert_eq!(whole.len(), records.len());
        let mut offset = 0;
        for (n, (got, (bytes, want))) in whole.iter().zip(&records).enumerate() {
            prop_assert_eq!(&got.bytes, bytes.as_bytes());
            prop_assert_eq!(got.offset, offset);
            prop_assert_eq!(got.index, n as u64);
            prop_assert_eq!(&located(got), want);
            // Spans are where the text lies in the record.
            for (l, raw) in got.located.iter().zip(&got.raw) {
                prop_assert_eq!(&got.bytes[l.span.clone()], raw.as_bytes());
            }
            offset += bytes.len() as u64;
        }
        let parts = chunks(&input, &cuts);
        prop_assert_eq!(read(&PATHS, MAX, &parts), Ok(whole));
        prop_assert_eq!(rewrite(&PATHS, &input, |_| vec![]).map_err(fail)?, input);
    }

    /// Every located value replaced (by a scalar) reads back as its replacement, in the same
    /// places; the rest of each line is unchanged (the lines without located values are
    /// byte-identical).
    #[test]
    fn replaced_values_read_back_as_the_replacements(
        (lines, last_terminated) in lines(),
        replacement in scalar(),
    ) {
        let (input, _) = write(&lines, last_terminated);
        let before = read(&PATHS, MAX, &[&input]).map_err(fail)?;
        let out = rewrite(&PATHS, &input, |r| {
            (0..r.located().len()).map(|i| (i, replacement.as_bytes().to_vec())).collect()
        })
        .map_err(fail)?;
        let after = read(&PATHS, MAX, &[&out]).map_err(fail)?;
        prop_assert_eq!(after.len(), before.len());
        for (b, a) in before.iter().zip(&after) {
            let want: Vec<Hit> = located(b)
                .into_iter()
                .map(|(p, _, blocked)| (p, replacement.clone(), blocked))
                .collect();
            prop_assert_eq!(located(a), want);
            if b.located.is_empty() {
                prop_assert_eq!(&a.bytes, &b.bytes);
            }
        }
    }

    /// Arbitrary bytes of a JSON alphabet: any chunking gives the same records, or the same
    /// error, as the whole; a successful read re-emits byte for byte.
    #[test]
    fn arbitrary_bytes_read_the_same_in_any_chunking(
        input in prop::collection::vec(
            select(b"{}[]\":,ab\\u0073 \r\n1e-.tn".to_vec()), 0..80),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let whole = read(&PATHS, 40, &[&input]);
        let parts = chunks(&input, &cuts);
        prop_assert_eq!(read(&PATHS, 40, &parts), whole.clone());
        if whole.is_ok() {
            prop_assert_eq!(rewrite(&PATHS, &input, |_| vec![]).map_err(fail)?, input);
        }
    }
}

/// Every occurrence of a repeated key, however it is escaped, is located (the model test covers
/// this in general; here it is spelled out on a line the generator may not write).
#[test]
fn every_duplicate_of_a_key_is_located() {
    let line = br#"{"ssn":"1","ssn":"2","s\u0073n":"3","\u0073\u0073\u006e":"4","a":{"ssn":"5","ssn":"6"}}"#;
    let records = read(&PATHS, MAX, &[line]).unwrap();
    let raws: Vec<&str> = records[0].raw.iter().map(String::as_str).collect();
    assert_eq!(raws, ["\"1\"", "\"2\"", "\"3\"", "\"4\"", "\"5\"", "\"6\""]);
    let masked = rewrite(&PATHS, line, |r| {
        (0..r.located().len())
            .map(|i| (i, b"null".to_vec()))
            .collect()
    })
    .unwrap();
    let text = String::from_utf8(masked).unwrap();
    for clear in ["\"1\"", "\"2\"", "\"3\"", "\"4\"", "\"5\"", "\"6\""] {
        assert!(!text.contains(clear), "{clear} left in {text}");
    }
    // The reader's type is usable on its own too.
    assert!(jsonl::Reader::new(&PATHS, MAX).is_ok());
}
