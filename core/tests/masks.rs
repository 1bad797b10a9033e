//! Property tests of the table masks, row filters and the table spec
//! (`s3gate_core::tables::{mask, filter, spec}`): keyed masks are deterministic and depend on
//! nothing but key and value text; `format_preserving` keeps length and classes; `partial` keeps
//! exactly its first and last characters; rounding is idempotent and near the value; a spec
//! round-trips through serde and anything unknown in it fails to parse.
//!
//! Cases as in `core/tests/properties.rs` (`PROPTEST_CASES` for more).

use std::borrow::Cow;

use proptest::prelude::*;
use proptest::sample::select;

use s3gate_core::tables::mask::{round_date, round_number, MaskKeys, Masked, Value};
use s3gate_core::tables::spec::{
    ColumnMask, CsvDialect, CsvTerminator, DateUnit, FilterOp, Mask, RoundTo, RowFilter,
    TableFormat, TableSpec,
};

mod common;
use common::cases;

fn text_of(m: Masked<'_>) -> Option<String> {
    match m {
        Masked::Str(s) | Masked::Number(s) => Some(s.into_owned()),
        Masked::Null => None,
    }
}

/// Characters of every class the masks care about: ASCII, accented, CJK, digits of other
/// scripts, punctuation, a combining mark.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::char::range('a', 'z'),
            2 => prop::char::range('A', 'Z'),
            3 => prop::char::range('0', '9'),
            2 => select(vec![' ', '-', '.', '@', ',', '"', '\n', '_']),
            1 => select(vec!['é', 'Ü', 'ß', '日', '本', '٣', '\u{301}', '€', '😀']),
        ],
        0..40,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

/// The class `format_preserving` keeps: digit, upper-case letter, other letter, or (`None`) a
/// character it leaves as it is.
fn class(c: char) -> Option<char> {
    if c.is_numeric() {
        Some('d')
    } else if c.is_uppercase() {
        Some('U')
    } else if c.is_alphabetic() {
        Some('l')
    } else {
        None
    }
}

/// JSON's number grammar (RFC 8259), whatever its magnitude.
const JSON_NUMBER: &str = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$";

fn secret() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 32..80)
}

/// A JSON number literal: sign, integer part without leading zeros, fraction, exponent.
fn number() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop_oneof![Just("0".to_owned()), "[1-9][0-9]{0,30}"],
        prop::option::of("[0-9]{1,20}"),
        prop::option::of((select(vec!["e", "E", "e+", "e-", "E-"]), "[0-9]{1,3}")),
    )
        .prop_map(|(neg, int, frac, exp)| {
            let mut s = String::new();
            if neg {
                s.push('-');
            }
            s.push_str(&int);
            if let Some(f) = frac {
                s.push('.');
                s.push_str(&f);
            }
            if let Some((e, d)) = exp {
                s.push_str(e);
                s.push_str(&d);
            }
            s
        })
}

fn mask() -> impl Strategy<Value = Mask> {
    prop_oneof![
        Just(Mask::Hash {}),
        Just(Mask::Null {}),
        Just(Mask::FormatPreserving {}),
        text().prop_map(|value| Mask::Constant { value }),
        (0u32..10, 0u32..10, select(vec!['*', '#', 'x', '•'])).prop_map(
            |(keep_first, keep_last, fill)| Mask::Partial {
                keep_first,
                keep_last,
                fill
            }
        ),
        (select(vec!["[0-9]", "^(.)", "a+|b", "@.*$"]), text()).prop_map(
            |(pattern, replacement)| Mask::Regex {
                pattern: pattern.to_owned(),
                replacement
            }
        ),
        (-10i32..10).prop_map(|d| Mask::Round {
            to: RoundTo::Digits(d)
        }),
        select(vec![DateUnit::Day, DateUnit::Month, DateUnit::Year]).prop_map(|u| Mask::Round {
            to: RoundTo::Date(u)
        }),
    ]
}

fn spec() -> impl Strategy<Value = TableSpec> {
    let format = prop_oneof![
        Just(TableFormat::Jsonl {}),
        (
            select(vec![',', ';', '\t', '|']),
            select(vec!['"', '\'']),
            prop::option::of(Just('\\')),
            any::<bool>(),
            select(vec![CsvTerminator::Lf, CsvTerminator::Crlf]),
        )
            .prop_map(|(delimiter, quote, escape, header, terminator)| {
                TableFormat::Csv(CsvDialect {
                    delimiter,
                    quote,
                    escape,
                    header,
                    terminator,
                })
            }),
    ];
    let filter = (
        text(),
        select(vec![
            FilterOp::In,
            FilterOp::NotIn,
            FilterOp::Eq,
            FilterOp::Ne,
        ]),
        prop::collection::vec(text(), 0..4),
        text(),
    )
        .prop_map(|(column, op, values, one)| {
            // `=` and `!=` take exactly one value (`validate`).
            let values = match op {
                FilterOp::Eq | FilterOp::Ne => vec![one],
                FilterOp::In | FilterOp::NotIn => values,
            };
            RowFilter { column, op, values }
        });
    (
        format,
        prop::collection::vec(
            (text(), mask()).prop_map(|(column, mask)| ColumnMask { column, mask }),
            0..6,
        ),
        prop::collection::vec(filter, 0..3),
    )
        .prop_map(|(format, masks, row_filters)| TableSpec {
            format,
            masks,
            row_filters,
        })
}

proptest! {
    #![proptest_config(cases(256))]

    /// Keys made twice from one secret mask alike; the value's type does not matter, only its
    /// text; another secret gives another output.
    #[test]
    fn keyed_masks_depend_on_key_and_text_only(
        secret in secret(),
        other in secret(),
        value in text(),
    ) {
        let (a, b) = (MaskKeys::new(&secret).unwrap(), MaskKeys::new(&secret).unwrap());
        for mask in [Mask::Hash {}, Mask::FormatPreserving {}] {
            let m = mask.compile().unwrap();
            let m2 = mask.compile().unwrap();
            let out = m.apply(&a, Value::Str(&value));
            prop_assert_eq!(&out, &m2.apply(&b, Value::Str(&value)));
            prop_assert_eq!(&out, &m.apply(&a, Value::Str(&value)));
        }
        let hash = Mask::Hash {}.compile().unwrap();
        let h = text_of(hash.apply(&a, Value::Str(&value))).unwrap();
        prop_assert_eq!(h.len(), 64);
        prop_assert!(h.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        if other != secret {
            prop_assert_ne!(Some(h), text_of(hash.apply(&MaskKeys::new(&other).unwrap(), Value::Str(&value))));
        }
    }

    /// Equal texts as string or number hash alike (a CSV column joins a JSON one).
    #[test]
    fn hash_of_a_number_is_hash_of_its_text(secret in secret(), n in number()) {
        let k = MaskKeys::new(&secret).unwrap();
        let hash = Mask::Hash {}.compile().unwrap();
        prop_assert_eq!(hash.apply(&k, Value::Number(&n)), hash.apply(&k, Value::Str(&n)));
    }

    /// Same number of characters, each of the same class (letters ASCII of the same case,
    /// digits ASCII digits), every other character unchanged.
    #[test]
    fn format_preserving_keeps_length_and_classes(secret in secret(), value in text()) {
        let m = Mask::FormatPreserving {}.compile().unwrap();
        let out = text_of(m.apply(&MaskKeys::new(&secret).unwrap(), Value::Str(&value))).unwrap();
        prop_assert_eq!(out.chars().count(), value.chars().count());
        for (i, o) in value.chars().zip(out.chars()) {
            prop_assert_eq!(class(i), class(o), "{:?} -> {:?}", value, out);
            if class(i).is_none() {
                prop_assert_eq!(i, o);
            } else {
                prop_assert!(o.is_ascii_alphanumeric());
            }
        }
    }

    /// A number stays a number of the same length with the same exponent.
    #[test]
    fn format_preserving_numbers_stay_numbers(secret in secret(), n in number()) {
        let m = Mask::FormatPreserving {}.compile().unwrap();
        let Masked::Number(out) = m.apply(&MaskKeys::new(&secret).unwrap(), Value::Number(&n)) else {
            panic!("not a number");
        };
        prop_assert_eq!(out.len(), n.len());
        prop_assert!(regex_lite::Regex::new(JSON_NUMBER).unwrap().is_match(&out), "{}", out);
        let exp = |t: &str| t.find(['e', 'E']).map(|i| t[i..].to_owned());
        prop_assert_eq!(exp(&out), exp(&n));
    }

    /// Exactly the first `keep_first` and last `keep_last` characters, the rest the fill; all of
    /// it the fill when keeping both would show every character.
    #[test]
    fn partial_keeps_exactly_first_and_last(
        value in text(),
        first in 0u32..12,
        last in 0u32..12,
        fill in select(vec!['*', '•', 'x']),
    ) {
        let m = Mask::Partial { keep_first: first, keep_last: last, fill }.compile().unwrap();
        let out: Vec<char> = text_of(m.apply(&MaskKeys::new(&[7; 32]).unwrap(), Value::Str(&value)))
            .unwrap()
            .chars()
            .collect();
        let input: Vec<char> = value.chars().collect();
        let (first, last) = (first as usize, last as usize);
        prop_assert_eq!(out.len(), input.len());
        for (i, (o, c)) in out.iter().zip(&input).enumerate() {
            let kept = input.len() > first + last && (i < first || i >= input.len() - last);
            prop_assert_eq!(*o, if kept { *c } else { fill });
        }
    }

    /// Rounding twice is rounding once; the result is within half a unit of the precision of
    /// the value (checked in f64 where it is exact enough); a plain number stays plain.
    #[test]
    fn round_number_is_idempotent_and_near(n in number(), digits in -8i32..8) {
        let once = round_number(&n, digits).unwrap().into_owned();
        let twice = round_number(&once, digits).unwrap();
        prop_assert_eq!(&twice, &Cow::Borrowed(once.as_str()));
        prop_assert!(regex_lite::Regex::new(JSON_NUMBER).unwrap().is_match(&once), "{}", once);
        let (x, y): (f64, f64) = (n.parse().unwrap(), once.parse().unwrap());
        if x.is_finite() && x.abs() < 1e12 && x.abs() > 1e-12 {
            let half = 0.5 * 10f64.powi(-digits);
            prop_assert!((x - y).abs() <= half * (1.0 + 1e-9) + x.abs() * 1e-12, "{} -> {}", n, once);
        }
        if !n.contains(['e', 'E']) {
            prop_assert!(!once.contains(['e', 'E']));
        }
    }

    /// Dates keep their length and format; rounding is idempotent and coarser units agree.
    #[test]
    fn round_date_keeps_format(
        y in 0u32..10000, m in 1u32..13, d in 1u32..29,
        time in prop::option::of((0u32..24, 0u32..60, 0u32..60, prop::option::of("[0-9]{1,9}"),
            select(vec!["", "Z", "+02:00", "-11:30"]))),
        unit in select(vec![DateUnit::Day, DateUnit::Month, DateUnit::Year]),
    ) {
        let mut s = format!("{y:04}-{m:02}-{d:02}");
        if let Some((h, mi, se, frac, zone)) = &time {
            s.push_str(&format!("T{h:02}:{mi:02}:{se:02}"));
            if let Some(f) = frac {
                s.push('.');
                s.push_str(f);
            }
            s.push_str(zone);
        }
        let out = round_date(&s, unit).unwrap();
        prop_assert_eq!(out.len(), s.len());
        let again = round_date(&out, unit);
        prop_assert_eq!(again.as_deref(), Some(out.as_str()));
        prop_assert_eq!(&out[..4], &s[..4]);
        if let Some((_, _, _, _, zone)) = &time {
            prop_assert!(out.ends_with(zone));
        }
        let coarser = round_date(&out, DateUnit::Year).unwrap();
        prop_assert_eq!(coarser, round_date(&s, DateUnit::Year).unwrap());
    }

    /// `in` and `not in` the same values split every present value in two; null and missing
    /// are in neither.
    #[test]
    fn in_and_not_in_are_complements(value in text(), values in prop::collection::vec(text(), 0..4)) {
        let f = |op| RowFilter { column: "c".into(), op, values: values.clone() };
        let (inn, not_in) = (f(FilterOp::In), f(FilterOp::NotIn));
        let v = Value::Str(&value);
        prop_assert_ne!(inn.keeps(Some(&v)), not_in.keeps(Some(&v)));
        prop_assert_eq!(inn.keeps(Some(&v)), values.contains(&value));
        for absent in [None, Some(&Value::Null)] {
            prop_assert!(!inn.keeps(absent) && !not_in.keeps(absent));
        }
    }

    /// A spec reads back as itself; one unknown field added to any mask, filter, format or the
    /// spec, or an unknown mask kind, makes the whole document fail to parse.
    #[test]
    fn spec_round_trips_and_unknowns_fail(spec in spec(), pick in any::<prop::sample::Index>()) {
        let json = serde_json::to_value(&spec).unwrap();
        let back: TableSpec = serde_json::from_value(json.clone()).unwrap();
        prop_assert_eq!(&back, &spec);
        prop_assert!(spec.validate().is_ok());
        // Every object of the document, by JSON pointer.
        let mut objects = vec![String::new(), "/format".to_owned()];
        for i in 0..spec.masks.len() {
            objects.push(format!("/masks/{i}"));
            objects.push(format!("/masks/{i}/mask"));
        }
        for i in 0..spec.row_filters.len() {
            objects.push(format!("/row_filters/{i}"));
        }
        let at = pick.get(&objects);
        let mut extra = json.clone();
        extra.pointer_mut(at).unwrap().as_object_mut().unwrap().insert("x_new".into(), 1.into());
        prop_assert!(serde_json::from_value::<TableSpec>(extra).is_err(), "accepted x_new at {:?}", at);
        if !spec.masks.is_empty() {
            let mut unknown = json;
            let i = pick.index(spec.masks.len());
            *unknown.pointer_mut(&format!("/masks/{i}/mask/kind")).unwrap() = "shuffle".into();
            prop_assert!(serde_json::from_value::<TableSpec>(unknown).is_err());
        }
    }
}
