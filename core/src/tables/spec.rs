//! The table policy of one data source as the entitlements document carries it: the format the
//! objects are read in, the masks of the principal's decision and its row filters, already
//! resolved by the policy service (roles and attributes applied, attribute references replaced
//! by their values). docs/tables.md, "Masks and row filters".
//!
//! Every type refuses what it does not know (`deny_unknown_fields`, closed tag sets): a document
//! from a newer service naming a mask kind, option or operator this filter does not implement
//! fails to parse, so the filter refuses the decision instead of serving the column in clear.

use serde::{Deserialize, Serialize};

use super::csv::{Dialect, Terminator};
use super::mask::MaskError;

/// What the filter applies to the objects of one table data source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub format: TableFormat,
    #[serde(default)]
    pub masks: Vec<ColumnMask>,
    /// A row is kept only when every filter keeps it.
    #[serde(default)]
    pub row_filters: Vec<RowFilter>,
}

/// How the objects are read: `{"kind":"csv", ...dialect}`, `{"kind":"jsonl"}` or
/// `{"kind":"parquet"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TableFormat {
    Csv(CsvDialect),
    Jsonl {},
    /// Masked in place by an overlay on the object (`tables::parquet`): only `null` and
    /// `constant` masks, no row filters.
    Parquet {},
}

/// The CSV options of a data source, as written in JSON: each character a one-character string.
/// The same options as `tables::csv::Dialect` (`dialect()` converts and validates); a UTF-8 BOM
/// needs no option, the reader accepts one at the start of any object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CsvDialect {
    pub delimiter: char,
    pub quote: char,
    /// `None`: quotes inside quoted fields are doubled (RFC 4180).
    pub escape: Option<char>,
    /// The first record names the columns (masking or filtering by name needs it).
    pub header: bool,
    pub terminator: CsvTerminator,
}

impl Default for CsvDialect {
    /// `tables::csv::Dialect::default()`: RFC 4180 with a header row, LF.
    fn default() -> Self {
        CsvDialect {
            delimiter: ',',
            quote: '"',
            escape: None,
            header: true,
            terminator: CsvTerminator::Lf,
        }
    }
}

/// The terminator of records the gateway writes anew (reading accepts both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CsvTerminator {
    Lf,
    Crlf,
}

impl CsvDialect {
    /// The reader's dialect; an error if a character is not ASCII or the dialect is not one the
    /// reader accepts (`Dialect::validate`).
    pub fn dialect(&self) -> Result<Dialect, &'static str> {
        let ascii = |c: char| u8::try_from(c).ok().filter(u8::is_ascii);
        let (Some(delimiter), Some(quote)) = (ascii(self.delimiter), ascii(self.quote)) else {
            return Err("delimiter, quote and escape must be ASCII characters");
        };
        let escape = match self.escape {
            None => None,
            Some(c) => {
                Some(ascii(c).ok_or("delimiter, quote and escape must be ASCII characters")?)
            }
        };
        let dialect = Dialect {
            delimiter,
            quote,
            escape,
            header: self.header,
            terminator: match self.terminator {
                CsvTerminator::Lf => Terminator::Lf,
                CsvTerminator::Crlf => Terminator::CrLf,
            },
        };
        dialect.validate()?;
        Ok(dialect)
    }
}

/// One column's mask. `column` is a CSV header name, or a JSON field name or dotted path
/// (`address.city`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMask {
    pub column: String,
    pub mask: Mask,
}

/// A mask, `{"kind": ..., options}` (docs/tables.md says what each yields for each type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Mask {
    /// HMAC-SHA256 of the value's text under the gateway's secret, lowercase hex.
    Hash {},
    /// Null (CSV: an empty field).
    Null {},
    /// The same text for every value.
    Constant { value: String },
    /// The first `keep_first` and last `keep_last` characters kept, each other one replaced by
    /// `fill` (one character).
    Partial {
        keep_first: u32,
        keep_last: u32,
        #[serde(default = "default_fill")]
        fill: char,
    },
    /// Every match of `pattern` replaced by `replacement` (`$1`, `${name}` name groups).
    Regex {
        pattern: String,
        replacement: String,
    },
    /// Numbers to `to` decimal places (negative: tens, hundreds...), dates and timestamps to
    /// the day, month or year.
    Round { to: RoundTo },
    /// Same length and character classes, keyed by the gateway's secret.
    FormatPreserving {},
}

impl Mask {
    /// The mask's kind as the policy files spell it.
    pub fn kind(&self) -> &'static str {
        match self {
            Mask::Hash {} => "hash",
            Mask::Null {} => "null",
            Mask::Constant { .. } => "constant",
            Mask::Partial { .. } => "partial",
            Mask::Regex { .. } => "regex",
            Mask::Round { .. } => "round",
            Mask::FormatPreserving {} => "format_preserving",
        }
    }

    /// Whether a Parquet view can apply the mask: `null` and `constant` only.
    pub fn applies_to_parquet(&self) -> bool {
        matches!(self, Mask::Null {} | Mask::Constant { .. })
    }
}

fn default_fill() -> char {
    '*'
}

/// The precision of a `round` mask: an integer (decimal places) or `"day"`, `"month"`, `"year"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RoundTo {
    Digits(i32),
    Date(DateUnit),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateUnit {
    Day,
    Month,
    Year,
}

/// Keep a row only where `column`'s value compares so with `values` (attribute references
/// already replaced by the principal's values: `region in @region` arrives as `in ["eu"]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowFilter {
    pub column: String,
    pub op: FilterOp,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    In,
    NotIn,
    Eq,
    Ne,
}

/// Why a table spec cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecError {
    Dialect(&'static str),
    /// The index of the mask in `masks`, and why.
    Mask(usize, MaskError),
    /// The index of the filter in `row_filters`, and why.
    RowFilter(usize, &'static str),
    /// The index of a mask in `masks` whose kind a Parquet view cannot apply.
    ParquetMask(usize),
    /// The index of a row filter on a Parquet data source (a view keeps every row).
    ParquetRowFilter(usize),
}

/// Why a Parquet data source refuses a mask kind.
pub const PARQUET_MASKS: &str = "a Parquet data source takes only null and constant masks";

/// Why a Parquet data source refuses row filters.
pub const PARQUET_ROW_FILTERS: &str = "a Parquet data source takes no row filters";

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpecError::Dialect(why) => write!(f, "csv dialect: {why}"),
            SpecError::Mask(i, why) => write!(f, "mask {i}: {why}"),
            SpecError::RowFilter(i, why) => write!(f, "row filter {i}: {why}"),
            SpecError::ParquetMask(i) => write!(f, "mask {i}: {PARQUET_MASKS}"),
            SpecError::ParquetRowFilter(i) => write!(f, "row filter {i}: {PARQUET_ROW_FILTERS}"),
        }
    }
}

impl std::error::Error for SpecError {}

impl TableSpec {
    /// Everything parsing cannot check: the dialect, each mask (a regex compiles, a fill is
    /// printable), each filter's arity; for Parquet, only `null` and `constant` masks and no
    /// row filter. The service refuses a policy failing it; the filter refuses such a decision.
    pub fn validate(&self) -> Result<(), SpecError> {
        if let TableFormat::Csv(dialect) = &self.format {
            dialect.dialect().map_err(SpecError::Dialect)?;
        }
        let parquet = self.format == TableFormat::Parquet {};
        for (i, m) in self.masks.iter().enumerate() {
            m.mask.validate().map_err(|e| SpecError::Mask(i, e))?;
            if parquet && !m.mask.applies_to_parquet() {
                return Err(SpecError::ParquetMask(i));
            }
        }
        if parquet && !self.row_filters.is_empty() {
            return Err(SpecError::ParquetRowFilter(0));
        }
        for (i, f) in self.row_filters.iter().enumerate() {
            f.validate().map_err(|e| SpecError::RowFilter(i, e))?;
        }
        Ok(())
    }
}

impl RowFilter {
    /// `=` and `!=` compare with exactly one value; `in` and `not in` with any number (`in []`
    /// keeps no row: a principal without the attribute sees nothing).
    pub fn validate(&self) -> Result<(), &'static str> {
        match self.op {
            FilterOp::Eq | FilterOp::Ne if self.values.len() != 1 => {
                Err("= and != compare with exactly one value")
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<TableSpec, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn a_full_spec_parses_and_round_trips() {
        let json = r##"{
            "format": {"kind": "csv", "delimiter": ";", "quote": "'", "escape": "\\",
                       "header": true, "terminator": "crlf"},
            "masks": [
                {"column": "email", "mask": {"kind": "hash"}},
                {"column": "ssn", "mask": {"kind": "partial", "keep_first": 0, "keep_last": 4, "fill": "#"}},
                {"column": "note", "mask": {"kind": "regex", "pattern": "[0-9]+", "replacement": "N"}},
                {"column": "amount", "mask": {"kind": "round", "to": -2}},
                {"column": "born", "mask": {"kind": "round", "to": "month"}},
                {"column": "name", "mask": {"kind": "constant", "value": "REDACTED"}},
                {"column": "phone", "mask": {"kind": "format_preserving"}},
                {"column": "x", "mask": {"kind": "null"}}
            ],
            "row_filters": [{"column": "region", "op": "in", "values": ["eu", "uk"]}]
        }"##;
        let spec = parse(json).unwrap();
        assert_eq!(
            spec.format,
            TableFormat::Csv(CsvDialect {
                delimiter: ';',
                quote: '\'',
                escape: Some('\\'),
                header: true,
                terminator: CsvTerminator::Crlf,
            })
        );
        assert_eq!(
            spec.masks[1].mask,
            Mask::Partial {
                keep_first: 0,
                keep_last: 4,
                fill: '#'
            }
        );
        assert_eq!(
            spec.masks[3].mask,
            Mask::Round {
                to: RoundTo::Digits(-2)
            }
        );
        assert_eq!(
            spec.masks[4].mask,
            Mask::Round {
                to: RoundTo::Date(DateUnit::Month)
            }
        );
        assert_eq!(spec.row_filters[0].op, FilterOp::In);
        spec.validate().unwrap();
        let again = parse(&serde_json::to_string(&spec).unwrap()).unwrap();
        assert_eq!(again, spec);
        let d = match &spec.format {
            TableFormat::Csv(d) => d.dialect().unwrap(),
            _ => unreachable!(),
        };
        assert_eq!((d.delimiter, d.quote, d.escape), (b';', b'\'', Some(b'\\')));
        assert_eq!(d.terminator, Terminator::CrLf);
    }

    #[test]
    fn defaults_are_the_readers() {
        let spec = parse(r#"{"format": {"kind": "csv"}}"#).unwrap();
        match spec.format {
            TableFormat::Csv(d) => assert_eq!(d.dialect().unwrap(), Dialect::default()),
            _ => unreachable!(),
        }
        assert!(spec.masks.is_empty() && spec.row_filters.is_empty());
        let spec = parse(r#"{"format": {"kind": "jsonl"}, "masks": [{"column": "a.b", "mask": {"kind": "partial", "keep_first": 1, "keep_last": 1}}]}"#).unwrap();
        assert_eq!(spec.format, TableFormat::Jsonl {});
        assert_eq!(
            spec.masks[0].mask,
            Mask::Partial {
                keep_first: 1,
                keep_last: 1,
                fill: '*'
            }
        );
    }

    #[test]
    fn what_this_filter_does_not_know_fails_to_parse() {
        let refused = [
            // an unknown mask kind, a mask without kind, an unknown option of each kind
            r#"{"format": {"kind": "jsonl"}, "masks": [{"column": "a", "mask": {"kind": "tokenize"}}]}"#,
            r#"{"format": {"kind": "jsonl"}, "masks": [{"column": "a", "mask": {}}]}"#,
            r#"{"format": {"kind": "jsonl"}, "masks": [{"column": "a", "mask": {"kind": "hash", "salt": "x"}}]}"#,
            r#"{"format": {"kind": "jsonl"}, "masks": [{"column": "a", "mask": {"kind": "null", "x": 1}}]}"#,
            r#"{"format": {"kind": "jsonl"}, "masks": [{"column": "a", "mask": {"kind": "format_preserving", "alphabet": "x"}}]}"#,
            r#"{"format": {"kind": "jsonl"}, "masks": [{"column": "a", "mask": {"kind": "constant", "value": "x", "y": 1}}]}"#,
            r#"{"format": {"kind": "jsonl"}, "masks": [{"column": "a", "mask": {"kind": "partial", "keep_first": 1, "keep_last": 1, "from": "end"}}]}"#,
            r#"{"format": {"kind": "jsonl"}, "masks": [{"column": "a", "mask": {"kind": "regex", "pattern": "a", "replacement": "b", "flags": "i"}}]}"#,
            r#"{"format": {"kind": "jsonl"}, "masks": [{"column": "a", "mask": {"kind": "round", "to": "week"}}]}"#,
            r#"{"format": {"kind": "jsonl"}, "masks": [{"column": "a", "mask": {"kind": "round", "to": 1.5}}]}"#,
            r#"{"format": {"kind": "jsonl"}, "masks": [{"column": "a", "mask": {"kind": "round"}}]}"#,
            // a mask missing its options, an unknown field of a column mask
            r#"{"format": {"kind": "jsonl"}, "masks": [{"column": "a", "mask": {"kind": "constant"}}]}"#,
            r#"{"format": {"kind": "jsonl"}, "masks": [{"column": "a", "unless_roles": [], "mask": {"kind": "hash"}}]}"#,
            // filters: an unknown operator, an unknown field
            r#"{"format": {"kind": "jsonl"}, "row_filters": [{"column": "a", "op": "like", "values": ["x"]}]}"#,
            r#"{"format": {"kind": "jsonl"}, "row_filters": [{"column": "a", "op": "in", "values": ["x"], "case": "any"}]}"#,
            // formats: unknown, unknown option, a multi-character delimiter
            r#"{"format": {"kind": "parquet", "max_footer": 1}}"#,
            r#"{"format": {"kind": "avro"}}"#,
            r#"{"format": {"kind": "jsonl", "strict": true}}"#,
            r##"{"format": {"kind": "csv", "comment": "#"}}"##,
            r#"{"format": {"kind": "csv", "delimiter": ";;"}}"#,
            r#"{"format": {"kind": "csv", "terminator": "cr"}}"#,
            // the spec itself
            r#"{"format": {"kind": "jsonl"}, "columns": []}"#,
            r#"{"masks": []}"#,
        ];
        for json in refused {
            assert!(parse(json).is_err(), "parsed: {json}");
        }
    }

    #[test]
    fn validation_refuses_what_cannot_apply() {
        let with = |format: &str, rest: &str| {
            parse(&format!(r#"{{"format": {format}{rest}}}"#))
                .unwrap()
                .validate()
        };
        assert!(matches!(
            with(r#"{"kind": "csv", "delimiter": "é"}"#, ""),
            Err(SpecError::Dialect(_))
        ));
        assert!(matches!(
            with(r#"{"kind": "csv", "delimiter": "\""}"#, ""),
            Err(SpecError::Dialect(_))
        ));
        assert!(matches!(
            with(
                r#"{"kind": "jsonl"}"#,
                r#", "masks": [{"column": "a", "mask": {"kind": "hash"}}, {"column": "b", "mask": {"kind": "regex", "pattern": "(", "replacement": ""}}]"#
            ),
            Err(SpecError::Mask(1, MaskError::Regex(_)))
        ));
        for op in ["eq", "ne"] {
            for values in [r#"[]"#, r#"["a", "b"]"#] {
                let rest = format!(
                    r#", "row_filters": [{{"column": "a", "op": "{op}", "values": {values}}}]"#
                );
                assert_eq!(
                    with(r#"{"kind": "jsonl"}"#, &rest),
                    Err(SpecError::RowFilter(
                        0,
                        "= and != compare with exactly one value"
                    ))
                );
            }
        }
        let rest = r#", "row_filters": [{"column": "a", "op": "in", "values": []}, {"column": "a", "op": "eq", "values": ["x"]}]"#;
        assert_eq!(with(r#"{"kind": "jsonl"}"#, rest), Ok(()));
    }

    #[test]
    fn parquet_takes_null_and_constant_masks_and_no_row_filter() {
        let with = |rest: &str| {
            parse(&format!(r#"{{"format": {{"kind": "parquet"}}{rest}}}"#))
                .unwrap()
                .validate()
        };
        let spec = parse(r#"{"format": {"kind": "parquet"}}"#).unwrap();
        assert_eq!(spec.format, TableFormat::Parquet {});
        assert_eq!(
            serde_json::to_string(&spec.format).unwrap(),
            r#"{"kind":"parquet"}"#
        );
        let ok = r#", "masks": [{"column": "a", "mask": {"kind": "null"}}, {"column": "b", "mask": {"kind": "constant", "value": "0"}}]"#;
        assert_eq!(with(ok), Ok(()));
        for mask in [
            r#"{"kind": "hash"}"#,
            r#"{"kind": "partial", "keep_first": 1, "keep_last": 1}"#,
            r#"{"kind": "regex", "pattern": "a", "replacement": "b"}"#,
            r#"{"kind": "round", "to": 0}"#,
            r#"{"kind": "format_preserving"}"#,
        ] {
            let rest = format!(
                r#", "masks": [{{"column": "a", "mask": {{"kind": "null"}}}}, {{"column": "b", "mask": {mask}}}]"#
            );
            let refused = with(&rest);
            assert_eq!(refused, Err(SpecError::ParquetMask(1)), "{mask}");
            assert_eq!(
                refused.unwrap_err().to_string(),
                "mask 1: a Parquet data source takes only null and constant masks"
            );
        }
        let rest = r#", "row_filters": [{"column": "a", "op": "in", "values": ["x"]}]"#;
        assert_eq!(with(rest), Err(SpecError::ParquetRowFilter(0)));
        // The same masks and filter on JSON Lines are fine.
        let jsonl = parse(&format!(
            r#"{{"format": {{"kind": "jsonl"}}, "masks": [{{"column": "a", "mask": {{"kind": "hash"}}}}]{rest}}}"#
        ))
        .unwrap();
        assert_eq!(jsonl.validate(), Ok(()));
    }
}
