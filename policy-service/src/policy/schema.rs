//! The three policy files as platform teams write them, and their parsing. Every type denies
//! unknown fields: a misspelt field (`unles_roles`) must be an error, not a silently ignored
//! rule.

use std::collections::BTreeMap;

use s3gate_core::policy::entitlements::Format;
use s3gate_core::tables::spec::{CsvDialect, Mask};
use serde::{Deserialize, Deserializer};

use super::problems::{entry_label, Problems};
use super::secrets::SecretSource;
use super::PolicyError;

pub const DATA_SOURCES_FILE: &str = "data_sources.yaml";
pub const PRINCIPALS_FILE: &str = "principals.yaml";
pub const RULES_FILE: &str = "rules.yaml";
/// The files a policy directory consists of, in the order they are read and versioned; the
/// reload thread watches exactly these.
pub const POLICY_FILES: [&str; 3] = [DATA_SOURCES_FILE, PRINCIPALS_FILE, RULES_FILE];

/// In a principal's or a rule's `data_sources`: every data source, present and future.
pub const ALL: &str = "*";
pub const DEFAULT_TTL_SECONDS: u32 = 60;

/// Whether a `data_sources` list (a principal's or a rule's) covers `data_source`.
pub fn covers(list: &[String], data_source: &str) -> bool {
    list.iter().any(|n| n == ALL || n == data_source)
}

/// The three files, parsed.
#[derive(Debug)]
pub struct PolicyFiles {
    pub data_sources: DataSourcesFile,
    pub principals: PrincipalsFile,
    pub rules: RulesFile,
}

impl PolicyFiles {
    /// Parses the files' contents; the syntax problems of all three are reported together.
    pub fn parse(data_sources: &str, principals: &str, rules: &str) -> Result<Self, PolicyError> {
        let mut problems = Problems::new();
        let data_sources = parse_file(DATA_SOURCES_FILE, data_sources, &mut problems);
        let principals = parse_file(PRINCIPALS_FILE, principals, &mut problems);
        let rules = parse_file(RULES_FILE, rules, &mut problems);
        match (data_sources, principals, rules) {
            (Some(data_sources), Some(principals), Some(rules)) => Ok(PolicyFiles {
                data_sources,
                principals,
                rules,
            }),
            // Each file that did not parse added its problem.
            _ => Err(problems.into_error()),
        }
    }
}

/// Parses one file; a problem names the file and, for the one YAML trap every author hits (an
/// unquoted `*` starts an alias), says how to write it.
fn parse_file<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    problems: &mut Problems,
) -> Option<T> {
    match serde_norway::from_str(text) {
        Ok(value) => Some(value),
        Err(e) => {
            let message = e.to_string();
            let hint = if message.contains("scanning an alias") {
                " (write \"*\" in quotes: an unquoted * starts a YAML alias)"
            } else {
                ""
            };
            match entry_of_path(text, &message) {
                Some((entry, rest)) => problems.add(file, &entry, format_args!("{rest}{hint}")),
                None => problems.add_file(file, format_args!("{message}{hint}")),
            }
            None
        }
    }
}

/// The lists of the policy files and what one entry of each is called in messages.
const LISTS: [(&str, &str); 6] = [
    ("data_sources", "data source"),
    ("principals", "principal"),
    ("object_rules", "object rule"),
    ("partition_rules", "partition rule"),
    ("column_masks", "column mask"),
    ("row_filters", "row filter"),
];

/// The YAML parser names an entry by its path from 0 (`principals[3].disabled: invalid
/// type ...`); validation names it `principal #4 "dave"`. Rewrites the parser's message into
/// that one form: the entry, then the rest (`disabled: invalid type ...`). `None` when the
/// message starts with no list entry's path.
fn entry_of_path(text: &str, message: &str) -> Option<(String, String)> {
    let (list, kind) = LISTS
        .iter()
        .find(|(list, _)| message.starts_with(&format!("{list}[")))?;
    let after = &message[list.len() + 1..];
    let close = after.find(']')?;
    let index: usize = after[..close].parse().ok()?;
    let rest = &after[close + 1..];
    let rest = rest.strip_prefix('.').or_else(|| rest.strip_prefix(": "))?;
    // The entry's name, if the file parses as plain YAML and the entry has one.
    let name = serde_norway::from_str::<serde_norway::Value>(text)
        .ok()
        .and_then(|doc| {
            doc.get(list)?
                .get(index)?
                .get("name")?
                .as_str()
                .map(str::to_owned)
        });
    let entry = match name {
        Some(name) => entry_label(kind, index, &name),
        None => format!("{kind} #{}", index + 1),
    };
    Some((entry, rest.to_owned()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSourcesFile {
    pub data_sources: Vec<DataSource>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSource {
    pub name: String,
    pub upstream: String,
    pub bucket: String,
    /// Empty means the whole bucket.
    #[serde(default)]
    pub prefix: String,
    /// Without it: binary. `csv` and `jsonl` are binding: masks and row filters read the
    /// objects so.
    #[serde(default)]
    pub format: Format,
    /// The CSV options (only with `format: csv`); without them, the reader's defaults (RFC 4180,
    /// a header row, LF).
    #[serde(default)]
    pub csv: Option<CsvDialect>,
    /// Declared columns and their types (`string`, `number`, `date`, `timestamp`, `bool`), so
    /// validation can refuse a mask or filter on a column that is not there or a mask that
    /// cannot apply to its type. Optional; types stay text here and are checked by validation,
    /// whose message names the entry.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalsFile {
    pub principals: Vec<Principal>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    pub name: String,
    /// SHA-256 of the API key, 64 lower-case hex characters. The key itself is never stored.
    pub key_sha256: String,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Data source names, or `"*"` for all.
    #[serde(default)]
    pub data_sources: Vec<String>,
    #[serde(default)]
    pub disabled: bool,
    /// Facts about the principal that partition rules use, e.g. `region: [eu, us]`.
    #[serde(default)]
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Where the principal's secret access key comes from. Without it: the default secret.
    #[serde(default)]
    pub secret: Option<SecretSource>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    #[serde(default = "default_ttl")]
    pub decision_ttl_seconds: u32,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub object_rules: Vec<ObjectRule>,
    #[serde(default)]
    pub partition_rules: Vec<PartitionRule>,
    #[serde(default)]
    pub column_masks: Vec<ColumnMaskRule>,
    #[serde(default)]
    pub row_filters: Vec<RowFilterRule>,
}

fn default_ttl() -> u32 {
    DEFAULT_TTL_SECONDS
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectRule {
    pub name: String,
    /// For the people reading the file; the service only checks it is a string.
    #[serde(default)]
    #[allow(dead_code)]
    pub description: String,
    /// Data source names, or `"*"` for all.
    pub data_sources: Vec<String>,
    /// Glob patterns (see `s3gate_core::policy::glob`) relative to the data source: objects to hide.
    #[serde(default)]
    pub hide: Vec<String>,
    /// Include patterns: only objects matching one of them stay visible.
    #[serde(default)]
    pub show: Vec<String>,
    /// Principals holding any of these roles are exempt from the rule.
    #[serde(default)]
    pub unless_roles: Vec<String>,
}

/// Limits a data source to the Hive-style partitions (`region=eu/...`) whose values the
/// principal holds in one of its attributes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionRule {
    pub name: String,
    /// For the people reading the file; the service only checks it is a string.
    #[serde(default)]
    #[allow(dead_code)]
    pub description: String,
    /// Data source names, or `"*"` for all.
    pub data_sources: Vec<String>,
    /// The partition key: the first level below the data source is `{partition}={value}/`.
    pub partition: String,
    /// The principal attribute listing the partition values the principal may see.
    pub attribute: String,
    /// Principals holding any of these roles are exempt: they see every partition.
    #[serde(default)]
    pub unless_roles: Vec<String>,
}

/// Masks one column of table data sources (csv, jsonl) for the principals it applies to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMaskRule {
    pub name: String,
    /// For the people reading the file; the service only checks it is a string.
    #[serde(default)]
    #[allow(dead_code)]
    pub description: String,
    /// Data source names, or `"*"` for every csv and jsonl data source.
    pub data_sources: Vec<String>,
    /// A CSV header name, or a JSON field name or dotted path (`address.city`).
    pub column: String,
    pub mask: MaskField,
    /// Principals holding any of these roles are exempt: they see the column in clear.
    #[serde(default)]
    pub unless_roles: Vec<String>,
    /// Principals holding any of the listed values of an attribute are exempt.
    #[serde(default)]
    pub unless_attributes: BTreeMap<String, Vec<String>>,
}

/// A `mask:` as written, read as core's [`Mask`] (the one type the filter reads), or why it is
/// not one. Kept as a result so validation reports the problem with the rule's name rather than
/// a YAML position alone.
#[derive(Debug)]
pub struct MaskField(pub Result<Mask, String>);

impl<'de> Deserialize<'de> for MaskField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde_norway::Value;
        let mut value = Value::deserialize(deserializer)?;
        // `kind: null` is YAML's null, not the word: it means the null mask.
        if let Value::Mapping(map) = &mut value {
            if let Some(kind @ Value::Null) = map.get_mut("kind") {
                *kind = Value::String("null".to_owned());
            }
        }
        Ok(MaskField(serde_norway::from_value(value).map_err(|e| {
            let e = e.to_string();
            // serde's words for an untagged enum say nothing of what to write.
            if e.contains("untagged enum RoundTo") {
                "round's `to` is a number of decimal places (negative: tens, hundreds...) or \
                 one of day, month, year"
                    .to_owned()
            } else {
                e
            }
        })))
    }
}

/// Keeps only the rows of table data sources where `column` compares so; for the principals it
/// applies to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowFilterRule {
    pub name: String,
    /// For the people reading the file; the service only checks it is a string.
    #[serde(default)]
    #[allow(dead_code)]
    pub description: String,
    /// Data source names, or `"*"` for every csv and jsonl data source.
    pub data_sources: Vec<String>,
    pub column: String,
    /// `=`, `!=`, `in` or `not in`; checked by validation.
    pub op: String,
    /// One of `value`, `values`, `attribute` (the principal's values of that attribute; only
    /// with `in` and `not in`).
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub values: Option<Vec<String>>,
    #[serde(default)]
    pub attribute: Option<String>,
    /// Principals holding any of these roles are exempt: they see every row.
    #[serde(default)]
    pub unless_roles: Vec<String>,
    /// Principals holding any of the listed values of an attribute are exempt.
    #[serde(default)]
    pub unless_attributes: BTreeMap<String, Vec<String>>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::policy::fixtures::*;

    #[test]
    fn defaults_apply_to_optional_fields() {
        let ds = "data_sources:\n  - {name: all, upstream: demo, bucket: b}\n";
        let p = format!("principals:\n  - name: erin\n    key_sha256: {ALICE}\n");
        let policies = load(ds, &p, "{}").unwrap();
        let erin = policies.lookup(ALICE).unwrap();
        assert!(erin.enabled);
        assert!(erin.data_sources.is_empty());
        assert_eq!(erin.ttl_seconds, 60);
        let p =
            format!("principals:\n  - {{name: erin, key_sha256: {ALICE}, data_sources: [all]}}\n");
        let policies = load(ds, &p, "{}").unwrap();
        let grant = &policies.lookup(ALICE).unwrap().data_sources[0];
        assert_eq!(grant.prefix, "");
        assert_eq!(grant.format, Format::Binary);
        assert!(grant.hidden.is_empty());
    }

    #[test]
    fn parser_errors_name_the_entry_as_validation_does() {
        let p = principals().replace("disabled: true", "disabled: maybe");
        let e = errors(DATA_SOURCES, &p, RULES);
        assert!(
            e.starts_with("principals.yaml: principal #4 \"dave\": disabled: invalid type"),
            "{e}"
        );
        assert!(!e.contains("principals[3]"), "{e}");
        let p = principals().replace("roles: [steward]", "roles: [steward]\n    bogus: 1");
        let e = errors(DATA_SOURCES, &p, RULES);
        assert!(
            e.starts_with("principals.yaml: principal #3 \"carol\": unknown field `bogus`"),
            "{e}"
        );
    }

    #[test]
    fn yaml_syntax_and_unknown_fields_are_errors_naming_the_file() {
        let e = errors("data_sources: [", &principals(), RULES);
        assert!(e.starts_with("data_sources.yaml: "), "{e}");

        let bad = DATA_SOURCES.replace("format: jsonl", "formt: jsonl");
        let e = errors(&bad, &principals(), RULES);
        assert!(
            e.contains("data_sources.yaml: ") && e.contains("unknown field `formt`"),
            "{e}"
        );

        let bad = RULES.replace("unless_roles", "unles_roles");
        let e = errors(DATA_SOURCES, &principals(), &bad);
        assert!(
            e.contains("rules.yaml: ") && e.contains("unknown field `unles_roles`"),
            "{e}"
        );

        let e = errors(DATA_SOURCES, &principals(), "extra: 1\n");
        assert!(
            e.contains("rules.yaml: ") && e.contains("unknown field `extra`"),
            "{e}"
        );
    }

    #[test]
    fn parse_errors_of_all_files_are_reported_together() {
        let e = errors("nope: 1", "nope: 1", "nope: 1");
        assert_eq!(e.lines().count(), 3, "{e}");
        assert!(e.contains("data_sources.yaml: "), "{e}");
        assert!(e.contains("principals.yaml: "), "{e}");
        assert!(e.contains("rules.yaml: "), "{e}");
    }

    #[test]
    fn unquoted_star_gets_a_hint() {
        let p = principals().replace("[\"*\"]", "[*]");
        let e = errors(DATA_SOURCES, &p, RULES);
        assert!(
            e.starts_with("principals.yaml: ") && e.contains("write \"*\" in quotes"),
            "{e}"
        );
    }

    #[test]
    fn unknown_format_is_an_error() {
        let bad = DATA_SOURCES.replace("format: jsonl", "format: avro");
        let e = errors(&bad, &principals(), RULES);
        assert!(
            e.contains("data_sources.yaml: ") && e.contains("avro"),
            "{e}"
        );
    }

    #[test]
    fn missing_key_digest_is_an_error() {
        let p = "principals:\n  - name: erin\n    roles: [analyst]\n";
        let e = errors(DATA_SOURCES, p, RULES);
        assert!(
            e.contains("principals.yaml: ") && e.contains("key_sha256"),
            "{e}"
        );
    }
}
