//! The checks of the policy files against themselves and each other: names, prefixes,
//! roles, patterns, partition rules, key digests. Every problem names the file and the entry
//! (see `problems`); none echoes a key digest or a secret.

use std::collections::{BTreeMap, HashMap, HashSet};

use s3gate_core::policy::entitlements::Format;
use s3gate_core::policy::glob;
use s3gate_core::tables::spec::{
    FilterOp, Mask, RoundTo, RowFilter, PARQUET_MASKS, PARQUET_ROW_FILTERS,
};

use super::problems::{entry_label, quoted_list, Problems};
use super::schema::{
    covers, DataSource, DataSourcesFile, PolicyFiles, PrincipalsFile, RulesFile, ALL,
    DATA_SOURCES_FILE, PRINCIPALS_FILE, RULES_FILE,
};
use super::secrets::SecretSource;
use super::PolicyError;

/// A day. Longer would let a revoked principal keep its access unreasonably long.
pub const MAX_TTL_SECONDS: u32 = 86_400;

/// Checks the parsed files against each other, reporting every problem at once. Valid: the
/// data sources by name, in name order (the order documents list them in).
pub fn validate(files: &PolicyFiles) -> Result<BTreeMap<&str, &DataSource>, PolicyError> {
    let mut problems = Problems::new();
    let data_sources = validate_data_sources(&files.data_sources, &mut problems);
    let roles = validate_rules(&files.rules, &data_sources, &mut problems);
    validate_principals(&files.principals, &data_sources, &roles, &mut problems);
    problems.into_result()?;
    Ok(data_sources)
}

/// What is valid but more likely a mistake than intended, worded like problems: a partition
/// rule on an attribute nobody holds shows no partition to anyone it applies to.
pub fn warnings(files: &PolicyFiles) -> Problems {
    let mut warnings = Problems::new();
    for (i, rule) in files.rules.partition_rules.iter().enumerate() {
        let held = files
            .principals
            .principals
            .iter()
            .any(|p| p.attributes.contains_key(&rule.attribute));
        if !held {
            warnings.add(
                RULES_FILE,
                &entry_label("partition rule", i, &rule.name),
                format_args!(
                    "no principal has attribute {:?}; the rule shows no partition to anyone it \
                     applies to",
                    rule.attribute
                ),
            );
        }
    }
    for (i, rule) in files.rules.row_filters.iter().enumerate() {
        let Some(attribute) = &rule.attribute else {
            continue;
        };
        let held = files
            .principals
            .principals
            .iter()
            .any(|p| p.attributes.contains_key(attribute));
        if !held {
            warnings.add(
                RULES_FILE,
                &entry_label("row filter", i, &rule.name),
                format_args!(
                    "no principal has attribute {attribute:?}; the filter keeps no row for \
                     anyone it applies to"
                ),
            );
        }
    }
    warnings
}

/// The types a data source's `columns` may declare.
pub const COLUMN_TYPES: [&str; 5] = ["string", "number", "date", "timestamp", "bool"];

/// How `format` is written in the files.
pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::Jsonl => "jsonl",
        Format::Parquet => "parquet",
        Format::Binary => "binary",
    }
}

/// A row filter's `op` as written: `=`, `!=`, `in`, `not in`.
pub fn filter_op(op: &str) -> Option<FilterOp> {
    match op {
        "=" => Some(FilterOp::Eq),
        "!=" => Some(FilterOp::Ne),
        "in" => Some(FilterOp::In),
        "not in" => Some(FilterOp::NotIn),
        _ => None,
    }
}

/// Whether `s` has the shape of a key digest: 64 lower-case hex characters.
pub fn is_key_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A name that goes into logs (`principal=NAME`) or lists must be one printable word.
fn word_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("name is empty")
    } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("name contains whitespace or control characters")
    } else {
        None
    }
}

/// A partition key or value becomes one path segment of a glob pattern (`{key}={value}/**`),
/// so it must stay literal and within its segment.
fn segment_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        Some("is empty")
    } else if s.contains('/') {
        Some("contains '/'")
    } else if s.contains(['*', '?']) {
        Some("contains a glob character ('*' or '?')")
    } else if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("contains whitespace or control characters")
    } else {
        None
    }
}

fn validate_data_sources<'a>(
    parsed: &'a DataSourcesFile,
    problems: &mut Problems,
) -> BTreeMap<&'a str, &'a DataSource> {
    let f = DATA_SOURCES_FILE;
    let mut by_name = BTreeMap::new();
    for (i, ds) in parsed.data_sources.iter().enumerate() {
        let at = entry_label("data source", i, &ds.name);
        if let Some(problem) = word_problem(&ds.name) {
            problems.add(f, &at, problem);
        } else if ds.name.contains('/') {
            // The name is one top-level folder of the virtual bucket.
            problems.add(
                f,
                &at,
                "name contains '/'; a data source is one top-level folder",
            );
        } else if ds.name == "." || ds.name == ".." {
            problems.add(f, &at, "name '.' or '..' is not a folder name");
        } else if ds.name == ALL {
            problems.add(f, &at, "name \"*\" is reserved (it means all data sources)");
        }
        if by_name.insert(ds.name.as_str(), ds).is_some() {
            problems.add(f, &at, "duplicate name; data source names must be unique");
        }
        if let Some(problem) = word_problem(&ds.upstream) {
            problems.add(f, &at, format_args!("upstream {problem}"));
        }
        if ds.bucket.is_empty() {
            problems.add(f, &at, "bucket is empty");
        } else if ds.bucket.contains('/') || ds.bucket.chars().any(char::is_whitespace) {
            problems.add(
                f,
                &at,
                "bucket must be a bare bucket name (no '/', no spaces); put the path in prefix",
            );
        }
        if !ds.prefix.is_empty() && !ds.prefix.ends_with('/') {
            // Without the trailing '/', `sales` would also match `sales_eu/...` upstream.
            problems.add(
                f,
                &at,
                format_args!(
                    "prefix {:?} must end with '/' (or be empty for the whole bucket)",
                    ds.prefix
                ),
            );
        }
        if ds.prefix.starts_with('/') {
            problems.add(
                f,
                &at,
                "prefix must not start with '/'; S3 keys have no leading '/'",
            );
        } else if ds.prefix.strip_suffix('/').is_some_and(|dirs| {
            dirs.split('/')
                .any(|segment| matches!(segment, "" | "." | ".."))
        }) {
            // File-backed stores resolve such a prefix as a path, elsewhere than S3 would;
            // the filter judges keys relative to a clean prefix (`s3gate_core::policy::store_names`).
            problems.add(
                f,
                &at,
                format_args!(
                    "prefix {:?} has an empty, '.' or '..' segment; name the folder plainly",
                    ds.prefix
                ),
            );
        }
        check_table_options(ds, problems, f, &at);
    }
    by_name
}

/// A data source's `csv` options and `columns`: only where they mean something, and valid.
fn check_table_options(ds: &DataSource, problems: &mut Problems, f: &str, at: &str) {
    match (&ds.csv, ds.format) {
        (None, _) => {}
        (Some(dialect), Format::Csv) => {
            // The reader's own check, so the service refuses exactly what the filter would.
            if let Err(why) = dialect.dialect() {
                problems.add(f, at, format_args!("csv: {why}"));
            }
        }
        (Some(_), format) => problems.add(
            f,
            at,
            format_args!(
                "csv options given but format is {}; they apply only to format: csv",
                format_name(format)
            ),
        ),
    }
    if ds.format == Format::Binary && !ds.columns.is_empty() {
        problems.add(
            f,
            at,
            "columns given but format is binary; only csv, jsonl and parquet data sources have \
             columns",
        );
    }
    for (column, kind) in &ds.columns {
        if column.is_empty() {
            problems.add(f, at, "a column name is empty");
        }
        if !COLUMN_TYPES.contains(&kind.as_str()) {
            problems.add(
                f,
                at,
                format_args!(
                    "column {column:?}: unknown type {kind:?} (one of {})",
                    COLUMN_TYPES.join(", ")
                ),
            );
        }
    }
}

/// The table data sources a mask or row filter covers, each checked to be one: a rule naming a
/// binary data source, or a CSV one without a header row (columns are named by the header), is
/// refused. `"*"` stands for every csv and jsonl data source.
fn table_sources<'a>(
    names: &[String],
    data_sources: &BTreeMap<&str, &'a DataSource>,
    problems: &mut Problems,
    f: &str,
    at: &str,
) -> Vec<&'a DataSource> {
    let mut covered = Vec::new();
    for ds in data_sources.values() {
        let named = names.iter().any(|n| n == &ds.name);
        if !covers(names, &ds.name) || (!named && ds.format == Format::Binary) {
            continue;
        }
        if ds.format == Format::Binary {
            problems.add(
                f,
                at,
                format_args!(
                    "data source {:?} is binary; masks and row filters apply only to csv, \
                     jsonl and parquet data sources (set its format)",
                    ds.name
                ),
            );
        } else if ds.csv.as_ref().is_some_and(|d| !d.header) {
            problems.add(
                f,
                at,
                format_args!(
                    "data source {:?} has no CSV header row (csv header: false); masks and row \
                     filters name columns by the header",
                    ds.name
                ),
            );
        } else {
            covered.push(*ds);
        }
    }
    covered
}

/// A rule's `column`: not empty and, in each data source declaring `columns`, one of them; with
/// a mask, one whose type the mask can apply to.
fn check_column(
    column: &str,
    mask: Option<&Mask>,
    tables: &[&DataSource],
    problems: &mut Problems,
    f: &str,
    at: &str,
) {
    if column.is_empty() {
        problems.add(f, at, "column is empty");
        return;
    }
    for ds in tables.iter().filter(|ds| !ds.columns.is_empty()) {
        let Some(kind) = ds.columns.get(column) else {
            let declared: Vec<&str> = ds.columns.keys().map(String::as_str).collect();
            problems.add(
                f,
                at,
                format_args!(
                    "column {column:?} is not among data source {:?}'s columns ({})",
                    ds.name,
                    quoted_list(&declared)
                ),
            );
            continue;
        };
        let needs: Option<&[&str]> = match mask {
            Some(Mask::Round {
                to: RoundTo::Digits(_),
            }) => Some(&["number"]),
            Some(Mask::Round {
                to: RoundTo::Date(_),
            }) => Some(&["date", "timestamp"]),
            _ => None,
        };
        if let Some(needs) = needs.filter(|n| !n.contains(&kind.as_str())) {
            problems.add(
                f,
                at,
                format_args!(
                    "a round mask to that precision cannot apply to column {column:?} of data \
                     source {:?}: its type is {kind}, the mask needs {}",
                    ds.name,
                    needs.join(" or ")
                ),
            );
        }
    }
}

/// A rule's `unless_attributes`: attribute names printable, each with values.
fn check_unless_attributes(
    unless: &BTreeMap<String, Vec<String>>,
    problems: &mut Problems,
    f: &str,
    at: &str,
) {
    for (attribute, values) in unless {
        if let Some(problem) = word_problem(attribute) {
            problems.add(
                f,
                at,
                format_args!("unless_attributes {attribute:?}: {problem}"),
            );
        }
        if values.is_empty() {
            problems.add(
                f,
                at,
                format_args!(
                    "unless_attributes {attribute:?} lists no value; it would exempt nobody"
                ),
            );
        }
    }
}

/// What column masks and row filters share: a unique, well-formed name and data sources that
/// exist and are tables. The entry's label and those tables.
fn check_table_rule<'r, 'd>(
    kind: &str,
    i: usize,
    name: &'r str,
    rule_data_sources: &[String],
    names: &mut HashSet<&'r str>,
    data_sources: &BTreeMap<&str, &'d DataSource>,
    problems: &mut Problems,
) -> (String, Vec<&'d DataSource>) {
    let f = RULES_FILE;
    let at = entry_label(kind, i, name);
    if let Some(problem) = word_problem(name) {
        problems.add(f, &at, problem);
    }
    if !names.insert(name) {
        problems.add(
            f,
            &at,
            format_args!("duplicate name; {kind} names must be unique"),
        );
    }
    check_rule_data_sources(rule_data_sources, data_sources, problems, f, &at);
    let tables = table_sources(rule_data_sources, data_sources, problems, f, &at);
    (at, tables)
}

fn validate_column_masks(
    rules: &RulesFile,
    data_sources: &BTreeMap<&str, &DataSource>,
    roles: &HashSet<&str>,
    problems: &mut Problems,
) {
    let f = RULES_FILE;
    let mut names = HashSet::new();
    for (i, rule) in rules.column_masks.iter().enumerate() {
        let (at, tables) = check_table_rule(
            "column mask",
            i,
            &rule.name,
            &rule.data_sources,
            &mut names,
            data_sources,
            problems,
        );
        match &rule.mask.0 {
            Err(e) => problems.add(f, &at, format_args!("mask: {e}")),
            Ok(mask) => {
                // Core's own check (a regex compiles, a fill is printable): the filter
                // refuses what fails it, so the service does first.
                if let Err(e) = mask.validate() {
                    problems.add(f, &at, format_args!("mask: {e}"));
                }
                check_column(&rule.column, Some(mask), &tables, problems, f, &at);
                if !mask.applies_to_parquet() {
                    for ds in tables.iter().filter(|ds| ds.format == Format::Parquet) {
                        problems.add(
                            f,
                            &at,
                            format_args!("data source {:?} is parquet; {PARQUET_MASKS}", ds.name),
                        );
                    }
                }
            }
        }
        check_unless_roles(&rule.unless_roles, roles, problems, f, &at);
        check_unless_attributes(&rule.unless_attributes, problems, f, &at);
    }
}

fn validate_row_filters(
    rules: &RulesFile,
    data_sources: &BTreeMap<&str, &DataSource>,
    roles: &HashSet<&str>,
    problems: &mut Problems,
) {
    let f = RULES_FILE;
    let mut names = HashSet::new();
    for (i, rule) in rules.row_filters.iter().enumerate() {
        let (at, tables) = check_table_rule(
            "row filter",
            i,
            &rule.name,
            &rule.data_sources,
            &mut names,
            data_sources,
            problems,
        );
        check_column(&rule.column, None, &tables, problems, f, &at);
        for ds in tables.iter().filter(|ds| ds.format == Format::Parquet) {
            problems.add(
                f,
                &at,
                format_args!(
                    "data source {:?} is parquet; {PARQUET_ROW_FILTERS}",
                    ds.name
                ),
            );
        }
        let given = [
            rule.value.is_some(),
            rule.values.is_some(),
            rule.attribute.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            problems.add(f, &at, "give exactly one of value, values or attribute");
        }
        let Some(op) = filter_op(&rule.op) else {
            let hint = if rule.op.is_empty() {
                " (write \"!=\" in quotes: an unquoted ! starts a YAML tag)"
            } else {
                ""
            };
            problems.add(
                f,
                &at,
                format_args!(
                    "op {:?} is not one of \"=\", \"!=\", \"in\", \"not in\"{hint}",
                    rule.op
                ),
            );
            continue;
        };
        if let Some(attribute) = &rule.attribute {
            if matches!(op, FilterOp::Eq | FilterOp::Ne) {
                problems.add(
                    f,
                    &at,
                    "= and != compare with one value, not an attribute's values; use in or \
                     not in with attribute",
                );
            }
            if let Some(problem) = word_problem(attribute) {
                problems.add(f, &at, format_args!("attribute {problem}"));
            }
        } else {
            let values = match (&rule.value, &rule.values) {
                (Some(value), _) => vec![value.clone()],
                (None, Some(values)) => values.clone(),
                (None, None) => Vec::new(),
            };
            // Core's own arity check, worded as the filter words it.
            let filter = RowFilter {
                column: rule.column.clone(),
                op,
                values,
            };
            if let Err(why) = filter.validate() {
                problems.add(f, &at, why);
            }
        }
        check_unless_roles(&rule.unless_roles, roles, problems, f, &at);
        check_unless_attributes(&rule.unless_attributes, problems, f, &at);
    }
}

/// Validates rules.yaml; returns the declared roles.
fn validate_rules<'a>(
    rules: &'a RulesFile,
    data_sources: &BTreeMap<&str, &DataSource>,
    problems: &mut Problems,
) -> HashSet<&'a str> {
    let f = RULES_FILE;
    if rules.decision_ttl_seconds == 0 || rules.decision_ttl_seconds > MAX_TTL_SECONDS {
        problems.add(
            f,
            "decision_ttl_seconds",
            format_args!(
                "{} is out of range; use 1 to {MAX_TTL_SECONDS} (0 would send every request to \
                 the policy service)",
                rules.decision_ttl_seconds
            ),
        );
    }

    let mut roles = HashSet::new();
    for (i, role) in rules.roles.iter().enumerate() {
        let at = entry_label("role", i, role);
        if let Some(problem) = word_problem(role) {
            problems.add(f, &at, problem);
        }
        if !roles.insert(role.as_str()) {
            problems.add(f, &at, "duplicate role");
        }
    }

    let mut rule_names = HashSet::new();
    for (i, rule) in rules.object_rules.iter().enumerate() {
        let at = entry_label("object rule", i, &rule.name);
        if let Some(problem) = word_problem(&rule.name) {
            problems.add(f, &at, problem);
        }
        if !rule_names.insert(rule.name.as_str()) {
            problems.add(f, &at, "duplicate name; object rule names must be unique");
        }
        check_rule_data_sources(&rule.data_sources, data_sources, problems, f, &at);
        if rule.hide.is_empty() && rule.show.is_empty() {
            problems.add(
                f,
                &at,
                "hide is empty; the rule would hide nothing (give hide, show or both)",
            );
        }
        for (field, patterns) in [("hide", &rule.hide), ("show", &rule.show)] {
            for pattern in patterns {
                if let Err(e) = glob::validate(pattern) {
                    problems.add(f, &at, format_args!("bad {field} pattern: {e}"));
                }
            }
        }
        check_unless_roles(&rule.unless_roles, &roles, problems, f, &at);
    }

    let mut partition_rule_names = HashSet::new();
    for (i, rule) in rules.partition_rules.iter().enumerate() {
        let at = entry_label("partition rule", i, &rule.name);
        if let Some(problem) = word_problem(&rule.name) {
            problems.add(f, &at, problem);
        }
        if !partition_rule_names.insert(rule.name.as_str()) {
            problems.add(
                f,
                &at,
                "duplicate name; partition rule names must be unique",
            );
        }
        check_rule_data_sources(&rule.data_sources, data_sources, problems, f, &at);
        if let Some(problem) = segment_problem(&rule.partition) {
            problems.add(f, &at, format_args!("partition {problem}"));
        } else if rule.partition.contains('=') {
            problems.add(
                f,
                &at,
                "partition contains '='; it is the part before the '='",
            );
        }
        if let Some(problem) = word_problem(&rule.attribute) {
            problems.add(f, &at, format_args!("attribute {problem}"));
        }
        check_unless_roles(&rule.unless_roles, &roles, problems, f, &at);
        // One partition rule per data source: two would have to intersect, and one keeps what
        // a principal sees easy to read off.
        for (j, earlier) in rules.partition_rules[..i].iter().enumerate() {
            let shared: Vec<&str> = data_sources
                .keys()
                .copied()
                .filter(|ds| covers(&rule.data_sources, ds) && covers(&earlier.data_sources, ds))
                .collect();
            if !shared.is_empty() {
                problems.add(
                    f,
                    &at,
                    format_args!(
                        "applies to data source(s) {} like {}; only one partition rule per data \
                         source is supported",
                        quoted_list(&shared),
                        entry_label("partition rule", j, &earlier.name)
                    ),
                );
            }
        }
    }
    validate_column_masks(rules, data_sources, &roles, problems);
    validate_row_filters(rules, data_sources, &roles, problems);
    roles
}

/// A rule's `data_sources`: not empty, each a known data source or `"*"`.
fn check_rule_data_sources(
    names: &[String],
    data_sources: &BTreeMap<&str, &DataSource>,
    problems: &mut Problems,
    f: &str,
    at: &str,
) {
    if names.is_empty() {
        problems.add(
            f,
            at,
            "data_sources is empty; name data sources or use \"*\" for all",
        );
    }
    check_data_source_names(names, data_sources, problems, f, at);
}

/// A principal's or a rule's `data_sources`: each a known data source or `"*"`.
fn check_data_source_names(
    names: &[String],
    data_sources: &BTreeMap<&str, &DataSource>,
    problems: &mut Problems,
    f: &str,
    at: &str,
) {
    for name in names {
        if name != ALL && !data_sources.contains_key(name.as_str()) {
            problems.add(
                f,
                at,
                format_args!("unknown data source {name:?} (not in {DATA_SOURCES_FILE})"),
            );
        }
    }
}

/// A rule's `unless_roles`: each one of the declared roles.
fn check_unless_roles(
    unless_roles: &[String],
    roles: &HashSet<&str>,
    problems: &mut Problems,
    f: &str,
    at: &str,
) {
    for role in unless_roles {
        if !roles.contains(role.as_str()) {
            problems.add(
                f,
                at,
                format_args!("unknown role {role:?} in unless_roles (not in roles)"),
            );
        }
    }
}

fn validate_principals(
    parsed: &PrincipalsFile,
    data_sources: &BTreeMap<&str, &DataSource>,
    roles: &HashSet<&str>,
    problems: &mut Problems,
) {
    let f = PRINCIPALS_FILE;
    let mut names = HashSet::new();
    // digest → the entry that first used it; the digest itself never goes into a message.
    let mut digests: HashMap<&str, String> = HashMap::new();
    for (i, p) in parsed.principals.iter().enumerate() {
        let at = entry_label("principal", i, &p.name);
        if let Some(problem) = word_problem(&p.name) {
            problems.add(f, &at, problem);
        }
        if !names.insert(p.name.as_str()) {
            problems.add(f, &at, "duplicate name; principal names must be unique");
        }
        if !is_key_digest(&p.key_sha256) {
            // Never echo the value: a plain API key pasted here by mistake must not reach logs.
            problems.add(
                f,
                &at,
                format_args!(
                    "key_sha256 must be 64 lower-case hex characters (the SHA-256 of the API key, \
                     e.g. `printf %s KEY | sha256sum`); got {} characters",
                    p.key_sha256.chars().count()
                ),
            );
        } else if let Some(first) = digests.get(p.key_sha256.as_str()) {
            problems.add(
                f,
                &at,
                format_args!(
                    "key_sha256 is the same as {first}'s; every principal needs its own key"
                ),
            );
        } else {
            digests.insert(&p.key_sha256, at.clone());
        }
        for role in &p.roles {
            if !roles.contains(role.as_str()) {
                problems.add(
                    f,
                    &at,
                    format_args!("unknown role {role:?} (not in {RULES_FILE} roles)"),
                );
            }
        }
        check_data_source_names(&p.data_sources, data_sources, problems, f, &at);
        for (attribute, values) in &p.attributes {
            if let Some(problem) = word_problem(attribute) {
                problems.add(f, &at, format_args!("attribute {attribute:?}: {problem}"));
            }
            // Checked for every attribute, used by a rule or not, so adding a rule later
            // can't turn valid principals invalid.
            for value in values {
                if let Some(problem) = segment_problem(value) {
                    problems.add(
                        f,
                        &at,
                        format_args!("attribute {attribute:?} value {value:?} {problem}"),
                    );
                }
            }
        }
        // No environment variable can be named so.
        match &p.secret {
            Some(SecretSource::Env(name)) if name.contains(['=', '\0']) => {
                problems.add(f, &at, "secret env name contains '=' or NUL");
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use crate::policy::fixtures::*;

    #[test]
    fn partition_rule_problems_are_errors() {
        // The partition rule is the last entry of BASE_RULES (RULES without the table rules); edits touch only it.
        let (objects, partition) = BASE_RULES.split_at(BASE_RULES.find("partition_rules").unwrap());
        let at = "rules.yaml: partition rule #1 \"regional-sales\": ";
        for (from, to, expected) in [
            (
                "[sales]",
                "[sale]",
                "unknown data source \"sale\" (not in data_sources.yaml)",
            ),
            (
                "[sales]",
                "[]",
                "data_sources is empty; name data sources or use \"*\" for all",
            ),
            ("partition: region", "partition: \"\"", "partition is empty"),
            (
                "partition: region",
                "partition: re/gion",
                "partition contains '/'",
            ),
            (
                "partition: region",
                "partition: \"re*\"",
                "partition contains a glob character ('*' or '?')",
            ),
            (
                "partition: region",
                "partition: re?",
                "partition contains a glob character ('*' or '?')",
            ),
            (
                "partition: region",
                "partition: \"re gion\"",
                "partition contains whitespace or control characters",
            ),
            (
                "partition: region",
                "partition: region=eu",
                "partition contains '='; it is the part before the '='",
            ),
            (
                "attribute: region",
                "attribute: \"\"",
                "attribute name is empty",
            ),
            (
                "attribute: region",
                "attribute: \"my region\"",
                "attribute name contains whitespace or control characters",
            ),
            (
                "[steward]",
                "[admin]",
                "unknown role \"admin\" in unless_roles (not in roles)",
            ),
        ] {
            let r = format!("{objects}{}", partition.replace(from, to));
            let e = errors(DATA_SOURCES, &principals(), &r);
            assert_eq!(e, format!("{at}{expected}"), "{to}");
        }
        let r = BASE_RULES.replace("name: regional-sales", "name: \"regional sales\"");
        let e = errors(DATA_SOURCES, &principals(), &r);
        assert_eq!(
            e,
            "rules.yaml: partition rule #1 \"regional sales\": name contains whitespace or control characters"
        );
        let r = BASE_RULES.replace("attribute: region", "atribute: region");
        let e = errors(DATA_SOURCES, &principals(), &r);
        assert!(
            e.starts_with("rules.yaml: ") && e.contains("unknown field `atribute`"),
            "{e}"
        );
        let r = BASE_RULES.replace("    partition: region\n", "");
        let e = errors(DATA_SOURCES, &principals(), &r);
        assert!(
            e.starts_with("rules.yaml: ") && e.contains("missing field `partition`"),
            "{e}"
        );
    }

    fn second_partition_rule(data_sources: &str) -> String {
        format!(
            "{BASE_RULES}  - name: by-team\n    data_sources: {data_sources}\n    partition: team\n    \
             attribute: team\n"
        )
    }

    #[test]
    fn two_partition_rules_on_one_data_source_are_an_error() {
        let e = errors(
            DATA_SOURCES,
            &principals(),
            &second_partition_rule("[customers, sales]"),
        );
        assert_eq!(
            e,
            "rules.yaml: partition rule #2 \"by-team\": applies to data source(s) \"sales\" like \
             partition rule #1 \"regional-sales\"; only one partition rule per data source is supported"
        );
        let e = errors(
            DATA_SOURCES,
            &principals(),
            &second_partition_rule("[\"*\"]"),
        );
        assert!(
            e.contains("applies to data source(s) \"sales\" like"),
            "{e}"
        );
        // Rules on different data sources are fine.
        let r = second_partition_rule("[customers, events]");
        assert!(load(DATA_SOURCES, &principals(), &r).is_ok());
        // Duplicate names are errors of their own.
        let r = second_partition_rule("[events]").replace("by-team", "regional-sales");
        let e = errors(DATA_SOURCES, &principals(), &r);
        assert_eq!(
            e,
            "rules.yaml: partition rule #2 \"regional-sales\": duplicate name; partition rule names must be unique"
        );
    }

    #[test]
    fn bad_attribute_names_and_values_are_errors() {
        let at = "principals.yaml: principal #2 \"bob\": attribute ";
        for (to, expected) in [
            ("{region: [e/u]}", "\"region\" value \"e/u\" contains '/'"),
            (
                "{region: [\"e*\"]}",
                "\"region\" value \"e*\" contains a glob character",
            ),
            (
                "{region: [\"e?\"]}",
                "\"region\" value \"e?\" contains a glob character",
            ),
            (
                "{region: [\"e u\"]}",
                "\"region\" value \"e u\" contains whitespace",
            ),
            (
                "{region: [\"eu\\t\"]}",
                "\"region\" value \"eu\\t\" contains whitespace",
            ),
            ("{region: [\"\"]}", "\"region\" value \"\" is empty"),
            // Attributes no rule uses are held to the same standard.
            ("{team: [a/b]}", "\"team\" value \"a/b\" contains '/'"),
            (
                "{\"my team\": [a]}",
                "\"my team\": name contains whitespace",
            ),
        ] {
            let p = principals().replace("{region: [eu]}", to);
            let e = errors(DATA_SOURCES, &p, RULES);
            assert!(e.contains(&format!("{at}{expected}")), "{to}: {e}");
        }
        let p = principals().replace("{region: [eu]}", "{region: eu}");
        let e = errors(DATA_SOURCES, &p, RULES);
        assert!(e.starts_with("principals.yaml: "), "{e}");
    }

    #[test]
    fn a_rule_on_an_attribute_nobody_holds_is_a_warning() {
        assert!(demo().warnings().is_empty(), "{:?}", demo().warnings());
        let r = RULES.replace("attribute: region", "attribute: regoin");
        let policies = load(DATA_SOURCES, &principals(), &r).unwrap();
        assert_eq!(
            policies.warnings(),
            [
                "rules.yaml: partition rule #1 \"regional-sales\": no principal has attribute \
              \"regoin\"; the rule shows no partition to anyone it applies to",
                "rules.yaml: row filter #1 \"regional-customers\": no principal has attribute \
              \"regoin\"; the filter keeps no row for anyone it applies to"
            ]
        );
        assert_eq!(visible(&policies, ALICE, "sales"), Some(&[][..]));
    }

    #[test]
    fn bad_data_source_names_are_errors() {
        for (name, expected) in [
            ("\"\"", "data source #1 \"\": name is empty"),
            ("sales/eu", "data source #1 \"sales/eu\": name contains '/'"),
            ("\"..\"", "data source #1 \"..\": name '.' or '..'"),
            ("\"*\"", "data source #1 \"*\": name \"*\" is reserved"),
            (
                "\"sales eu\"",
                "data source #1 \"sales eu\": name contains whitespace",
            ),
        ] {
            let bad = DATA_SOURCES.replacen("name: sales", &format!("name: {name}"), 1);
            let p = principals().replace("[sales, customers, events]", "[customers]");
            let p = p.replace("[sales]", "[]");
            let e = errors(&bad, &p, RULES);
            assert!(e.contains(&format!("data_sources.yaml: {expected}")), "{e}");
        }
    }

    #[test]
    fn duplicate_data_source_names_are_errors() {
        let bad = DATA_SOURCES.replace("name: customers", "name: sales");
        let e = errors(&bad, &principals(), RULES);
        assert!(
            e.contains("data_sources.yaml: data source #2 \"sales\": duplicate name"),
            "{e}"
        );
    }

    #[test]
    fn prefix_must_end_with_slash_unless_empty() {
        let bad = DATA_SOURCES.replace("prefix: curated/sales/", "prefix: curated/sales");
        let e = errors(&bad, &principals(), RULES);
        assert!(
            e.contains(
                "data_sources.yaml: data source #1 \"sales\": prefix \"curated/sales\" must end with '/'"
            ),
            "{e}"
        );
        let ok = DATA_SOURCES.replace("prefix: curated/sales/", "prefix: \"\"");
        assert!(load(&ok, &principals(), RULES).is_ok());
        let bad = DATA_SOURCES.replace("prefix: curated/sales/", "prefix: /curated/sales/");
        let e = errors(&bad, &principals(), RULES);
        assert!(e.contains("prefix must not start with '/'"), "{e}");
        for unclean in [
            "curated//sales/",
            "curated/./sales/",
            "curated/../sales/",
            "a//",
        ] {
            let bad = DATA_SOURCES.replace("prefix: curated/sales/", &format!("prefix: {unclean}"));
            let e = errors(&bad, &principals(), RULES);
            assert!(
                e.contains(&format!(
                    "prefix {unclean:?} has an empty, '.' or '..' segment"
                )),
                "{e}"
            );
        }
    }

    #[test]
    fn bucket_and_upstream_must_be_set() {
        let bad = DATA_SOURCES.replacen("bucket: acme-warehouse-prod", "bucket: \"\"", 1);
        let e = errors(&bad, &principals(), RULES);
        assert!(
            e.contains("data source #1 \"sales\": bucket is empty"),
            "{e}"
        );
        let bad = DATA_SOURCES.replacen("bucket: acme-warehouse-prod", "bucket: a/b", 1);
        let e = errors(&bad, &principals(), RULES);
        assert!(
            e.contains("data source #1 \"sales\": bucket must be a bare bucket name"),
            "{e}"
        );
        let bad = DATA_SOURCES.replacen("upstream: demo", "upstream: \"\"", 1);
        let e = errors(&bad, &principals(), RULES);
        assert!(
            e.contains("data source #1 \"sales\": upstream name is empty"),
            "{e}"
        );
    }

    #[test]
    fn principal_referencing_unknown_data_source_is_an_error() {
        let p = principals().replace("[sales]", "[sales, sales_eu]");
        let e = errors(DATA_SOURCES, &p, RULES);
        assert_eq!(
            e,
            "principals.yaml: principal #2 \"bob\": unknown data source \"sales_eu\" (not in data_sources.yaml)"
        );
    }

    #[test]
    fn bad_key_digests_are_errors_that_do_not_echo_the_value() {
        for bad in [
            "bob-demo-key".to_owned(),
            BOB.to_uppercase(),
            BOB[..63].to_owned(),
            format!("{BOB}0"),
            format!("{}g", &BOB[..63]),
        ] {
            let p = principals().replace(BOB, &bad);
            let e = errors(DATA_SOURCES, &p, RULES);
            assert!(
                e.starts_with(
                    "principals.yaml: principal #2 \"bob\": key_sha256 must be 64 lower-case hex characters"
                ),
                "{e}"
            );
            assert!(!e.contains(&bad), "{e}");
        }
    }

    #[test]
    fn duplicate_digests_name_both_principals_but_not_the_digest() {
        let p = principals().replace(BOB, ALICE);
        let e = errors(DATA_SOURCES, &p, RULES);
        assert_eq!(
            e,
            "principals.yaml: principal #2 \"bob\": key_sha256 is the same as principal #1 \
             \"alice\"'s; every principal needs its own key"
        );
        assert!(!e.contains(ALICE));
    }

    #[test]
    fn duplicate_and_bad_principal_names_are_errors() {
        let p = principals().replace("name: bob", "name: alice");
        let e = errors(DATA_SOURCES, &p, RULES);
        assert!(
            e.contains("principals.yaml: principal #2 \"alice\": duplicate name"),
            "{e}"
        );
        let p = principals().replace("name: bob", "name: \"bob smith\"");
        let e = errors(DATA_SOURCES, &p, RULES);
        assert!(
            e.contains("principal #2 \"bob smith\": name contains whitespace"),
            "{e}"
        );
        let p = principals().replace("name: bob", "name: \"bob\\nstatus=200\"");
        let e = errors(DATA_SOURCES, &p, RULES);
        assert!(
            e.contains("principal #2 \"bob\\nstatus=200\": name contains"),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "{e}");
    }

    #[test]
    fn unknown_roles_are_errors() {
        let p = principals().replace("roles: [steward]", "roles: [stewart]");
        let e = errors(DATA_SOURCES, &p, RULES);
        assert_eq!(
            e,
            "principals.yaml: principal #3 \"carol\": unknown role \"stewart\" (not in rules.yaml roles)"
        );
        let r = RULES.replacen("unless_roles: [steward]", "unless_roles: [admin]", 1);
        let e = errors(DATA_SOURCES, &principals(), &r);
        assert_eq!(
            e,
            "rules.yaml: object rule #1 \"housekeeping\": unknown role \"admin\" in unless_roles (not in roles)"
        );
    }

    #[test]
    fn duplicate_and_empty_roles_are_errors() {
        let r = RULES.replace(
            "roles: [analyst, steward]",
            "roles: [analyst, steward, analyst, \"\"]",
        );
        let e = errors(DATA_SOURCES, &principals(), &r);
        assert!(
            e.contains("rules.yaml: role #3 \"analyst\": duplicate role"),
            "{e}"
        );
        assert!(e.contains("rules.yaml: role #4 \"\": name is empty"), "{e}");
    }

    #[test]
    fn bad_glob_is_an_error() {
        let r = RULES.replace("\"*.crc\"", "\"/abs/*.crc\"");
        let e = errors(DATA_SOURCES, &principals(), &r);
        assert!(
            e.starts_with("rules.yaml: object rule #1 \"housekeeping\": bad hide pattern: pattern \"/abs/*.crc\""),
            "{e}"
        );
        let r = RULES.replace("\"*.crc\"", "\"a***\"");
        assert!(errors(DATA_SOURCES, &principals(), &r).contains("bad hide pattern"));
        let r = RULES.replace("\"*.crc\"", "\"\"");
        assert!(errors(DATA_SOURCES, &principals(), &r).contains("bad hide pattern: empty pattern"));
    }

    #[test]
    fn object_rule_problems_are_errors() {
        let r = RULES.replace("data_sources: [\"*\"]", "data_sources: [sale]");
        let e = errors(DATA_SOURCES, &principals(), &r);
        assert_eq!(
            e,
            "rules.yaml: object rule #1 \"housekeeping\": unknown data source \"sale\" (not in data_sources.yaml)"
        );
        let r = RULES.replace("data_sources: [\"*\"]", "data_sources: []");
        let e = errors(DATA_SOURCES, &principals(), &r);
        assert!(e.contains("\"housekeeping\": data_sources is empty"), "{e}");
        let r = RULES.replace("hide: [\"_SUCCESS\", \"*.crc\"]", "hide: []");
        let e = errors(DATA_SOURCES, &principals(), &r);
        assert!(e.contains("\"housekeeping\": hide is empty"), "{e}");
        let rule = &RULES[RULES.find("  - name").unwrap()..RULES.find("partition_rules").unwrap()];
        let twice = RULES.replace("partition_rules", &format!("{rule}partition_rules"));
        let e = errors(DATA_SOURCES, &principals(), &twice);
        assert!(
            e.contains("rules.yaml: object rule #2 \"housekeeping\": duplicate name"),
            "{e}"
        );
    }

    #[test]
    fn ttl_must_be_positive_and_bounded() {
        for ttl in ["0", "86401"] {
            let r = RULES.replace(
                "decision_ttl_seconds: 60",
                &format!("decision_ttl_seconds: {ttl}"),
            );
            let e = errors(DATA_SOURCES, &principals(), &r);
            assert!(
                e.starts_with(&format!(
                    "rules.yaml: decision_ttl_seconds: {ttl} is out of range"
                )),
                "{e}"
            );
        }
        let r = RULES.replace("decision_ttl_seconds: 60", "decision_ttl_seconds: -1");
        assert!(errors(DATA_SOURCES, &principals(), &r).starts_with("rules.yaml: "));
    }

    /// The problems of the demo with `entry` added to the column masks (or, for a filter
    /// entry, to the row filters).
    fn mask_errors(entry: &str) -> String {
        let r = RULES.replace("row_filters:", &format!("{entry}row_filters:"));
        errors(DATA_SOURCES, &principals(), &r)
    }

    fn filter_errors(entry: &str) -> String {
        errors(DATA_SOURCES, &principals(), &format!("{RULES}{entry}"))
    }

    const M: &str = "rules.yaml: column mask #7 \"m\": ";
    const F: &str = "rules.yaml: row filter #2 \"f\": ";

    #[test]
    fn masks_apply_only_to_table_data_sources_with_a_header() {
        let e = mask_errors(
            "  - {name: m, data_sources: [documents], column: a, mask: {kind: hash}}\n",
        );
        assert_eq!(
            e,
            format!(
                "{M}data source \"documents\" is binary; masks and row filters apply only to csv, \
                 jsonl and parquet data sources (set its format)"
            )
        );
        let e = filter_errors(
            "  - {name: f, data_sources: [documents], column: a, op: in, values: [x]}\n",
        );
        assert!(
            e.starts_with(&format!("{F}data source \"documents\" is binary")),
            "{e}"
        );
        // "*" is every table data source: documents is left out, not an error.
        let ok = RULES.replace(
            "row_filters:",
            "  - {name: m, data_sources: [\"*\"], column: product, mask: {kind: hash}}\nrow_filters:",
        );
        let e = errors(DATA_SOURCES, &principals(), &ok);
        assert!(!e.contains("binary"), "{e}");
        let no_header = DATA_SOURCES.replace("header: true", "header: false");
        let e = errors(&no_header, &principals(), RULES);
        assert!(
            e.starts_with(
                "rules.yaml: column mask #1 \"emails-hashed\": data source \"customers\" has no \
                 CSV header row (csv header: false); masks and row filters name columns by the header"
            ),
            "{e}"
        );
        let e = mask_errors("  - {name: m, data_sources: [nope], column: a, mask: {kind: hash}}\n");
        assert_eq!(
            e,
            format!("{M}unknown data source \"nope\" (not in data_sources.yaml)")
        );
    }

    #[test]
    fn masks_that_core_refuses_are_refused_with_its_reason() {
        let e = mask_errors(
            "  - {name: m, data_sources: [sales], column: a, mask: {kind: regex, pattern: \"(\", replacement: x}}\n",
        );
        assert!(
            e.starts_with(&format!("{M}mask: the pattern does not compile: ")),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "{e}");
        let e = mask_errors(
            "  - {name: m, data_sources: [sales], column: a, mask: {kind: partial, keep_first: 1, keep_last: 1, fill: \"\\t\"}}\n",
        );
        assert_eq!(
            e,
            format!("{M}mask: the fill must be a printable character")
        );
        for (mask, says) in [
            ("{kind: tokenize}", "unknown variant `tokenize`"),
            ("{kind: hash, salt: x}", "unknown field `salt`"),
            ("{kind: constant}", "missing field `value`"),
            (
                "{kind: round, to: week}",
                "round's `to` is a number of decimal places",
            ),
            (
                "{kind: round, to: 1.5}",
                "round's `to` is a number of decimal places",
            ),
            ("{}", "missing field `kind`"),
        ] {
            let e = mask_errors(&format!(
                "  - {{name: m, data_sources: [sales], column: a, mask: {mask}}}\n"
            ));
            assert!(
                e.starts_with(&format!("{M}mask: ")) && e.contains(says),
                "{mask}: {e}"
            );
        }
        let e =
            mask_errors("  - {name: m, data_sources: [sales], column: \"\", mask: {kind: hash}}\n");
        assert_eq!(e, format!("{M}column is empty"));
        let e = mask_errors(
            "  - {name: m, data_sources: [sales], column: a, mask: {kind: hash}, unles_roles: []}\n",
        );
        assert!(
            e.starts_with("rules.yaml: ") && e.contains("unknown field `unles_roles`"),
            "{e}"
        );
    }

    #[test]
    fn declared_columns_and_types_are_checked() {
        let e = mask_errors(
            "  - {name: m, data_sources: [customers], column: mail, mask: {kind: hash}}\n",
        );
        assert_eq!(
            e,
            format!(
                "{M}column \"mail\" is not among data source \"customers\"'s columns (\"email\", \
                 \"id\", \"name\", \"region\", \"ssn\")"
            )
        );
        let e = mask_errors(
            "  - {name: m, data_sources: [purchases], column: order_date, mask: {kind: round, to: 0}}\n",
        );
        assert_eq!(
            e,
            format!(
                "{M}a round mask to that precision cannot apply to column \"order_date\" of data \
                 source \"purchases\": its type is date, the mask needs number"
            )
        );
        let e = mask_errors(
            "  - {name: m, data_sources: [purchases], column: amount, mask: {kind: round, to: year}}\n",
        );
        assert!(
            e.ends_with("its type is number, the mask needs date or timestamp"),
            "{e}"
        );
        // What fits its type is fine.
        let ok = RULES.replace(
            "row_filters:",
            "  - {name: m, data_sources: [purchases], column: amount, mask: {kind: round, to: 0}}\n  - {name: n, data_sources: [events], column: ts, mask: {kind: round, to: day}}\nrow_filters:",
        );
        assert!(load(DATA_SOURCES, &principals(), &ok).is_ok());
        let e = filter_errors(
            "  - {name: f, data_sources: [purchases], column: region, op: in, values: [eu]}\n",
        );
        assert!(
            e.starts_with(&format!(
                "{F}column \"region\" is not among data source \"purchases\"'s columns"
            )),
            "{e}"
        );
        let bad = DATA_SOURCES.replace("ssn: string", "ssn: text");
        let e = errors(&bad, &principals(), RULES);
        assert_eq!(
            e,
            "data_sources.yaml: data source #2 \"customers\": column \"ssn\": unknown type \
             \"text\" (one of string, number, date, timestamp, bool)"
        );
        let bad = DATA_SOURCES.replace(
            "    format: binary\n",
            "    format: binary\n    columns: {a: string}\n",
        );
        let e = errors(&bad, &principals(), RULES);
        assert_eq!(
            e,
            "data_sources.yaml: data source #5 \"documents\": columns given but format is binary; \
             only csv, jsonl and parquet data sources have columns"
        );
    }

    #[test]
    fn parquet_data_sources_take_only_null_and_constant_masks_and_no_row_filter() {
        // The demo's orders are Parquet, with a null and a constant mask.
        assert!(DATA_SOURCES.contains("    prefix: curated/orders/\n    format: parquet\n"));
        let ok = mask_errors_or_ok(
            "  - {name: m, data_sources: [orders], column: region, mask: {kind: constant, value: x}}\n",
        );
        assert_eq!(ok, None);
        for mask in [
            "{kind: hash}",
            "{kind: partial, keep_first: 1, keep_last: 1}",
            "{kind: regex, pattern: a, replacement: b}",
            "{kind: round, to: 0}",
            "{kind: format_preserving}",
        ] {
            let e = mask_errors(&format!(
                "  - {{name: m, data_sources: [orders], column: amount, mask: {mask}}}\n"
            ));
            assert_eq!(
                e,
                format!(
                    "{M}data source \"orders\" is parquet; a Parquet data source takes only null \
                     and constant masks"
                ),
                "{mask}"
            );
        }
        // "*" covers the Parquet data source too.
        let e = mask_errors(
            "  - {name: m, data_sources: [\"*\"], column: region, mask: {kind: hash}}\n",
        );
        assert!(
            e.ends_with(&format!(
                "{M}data source \"orders\" is parquet; a Parquet data source takes only null and \
                 constant masks"
            )),
            "{e}"
        );
        let e = filter_errors(
            "  - {name: f, data_sources: [orders], column: amount, op: in, values: [x]}\n",
        );
        assert_eq!(
            e,
            format!(
                "{F}data source \"orders\" is parquet; a Parquet data source takes no row filters"
            )
        );
    }

    /// `mask_errors`, or `None` when the policies load.
    fn mask_errors_or_ok(entry: &str) -> Option<String> {
        let r = RULES.replace("row_filters:", &format!("{entry}row_filters:"));
        load(DATA_SOURCES, &principals(), &r)
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn csv_options_are_checked_by_the_readers_rules() {
        for (csv, says) in [
            (
                "{delimiter: \"\\\"\"}",
                "csv: the delimiter must differ from the quote and escape characters",
            ),
            (
                "{delimiter: \"é\"}",
                "csv: delimiter, quote and escape must be ASCII characters",
            ),
            (
                "{delimiter: \"\\n\"}",
                "csv: delimiter, quote and escape cannot be CR or LF",
            ),
            (
                "{escape: \"\\\"\"}",
                "csv: an escape equal to the quote is written as doubled quotes (no escape)",
            ),
        ] {
            let bad = DATA_SOURCES.replace(
                "csv: {delimiter: \",\", header: true}",
                &format!("csv: {csv}"),
            );
            let e = errors(&bad, &principals(), RULES);
            assert_eq!(
                e,
                format!("data_sources.yaml: data source #2 \"customers\": {says}"),
                "{csv}"
            );
        }
        let bad = DATA_SOURCES.replace("    format: jsonl\n", "    format: jsonl\n    csv: {}\n");
        let e = errors(&bad, &principals(), RULES);
        assert_eq!(
            e,
            "data_sources.yaml: data source #4 \"events\": csv options given but format is jsonl; \
             they apply only to format: csv"
        );
        for (csv, says) in [
            ("{delimiter: \";;\"}", "delimiter"),
            ("{comment: \"#\"}", "unknown field `comment`"),
            ("{terminator: cr}", "unknown variant `cr`"),
        ] {
            let bad = DATA_SOURCES.replace(
                "csv: {delimiter: \",\", header: true}",
                &format!("csv: {csv}"),
            );
            let e = errors(&bad, &principals(), RULES);
            assert!(
                e.starts_with("data_sources.yaml: ") && e.contains(says),
                "{csv}: {e}"
            );
        }
    }

    #[test]
    fn row_filter_operators_and_values_are_checked() {
        let entry = |rest: &str| {
            format!("  - {{name: f, data_sources: [sales], column: region, {rest}}}\n")
        };
        for (rest, says) in [
            ("op: \"=\", attribute: region", "= and != compare with one value, not an attribute's values; use in or not in with attribute"),
            ("op: \"!=\", attribute: region", "= and != compare with one value, not an attribute's values; use in or not in with attribute"),
            ("op: \"=\", values: [eu, us]", "= and != compare with exactly one value"),
            ("op: \"!=\", values: []", "= and != compare with exactly one value"),
            ("op: in, value: eu, values: [us]", "give exactly one of value, values or attribute"),
            ("op: in", "give exactly one of value, values or attribute"),
            ("op: like, value: eu", "op \"like\" is not one of \"=\", \"!=\", \"in\", \"not in\""),
            ("op: in, attribute: \"my region\"", "attribute name contains whitespace or control characters"),
            ("op: in, value: eu, unless_roles: [boss]", "unknown role \"boss\" in unless_roles (not in roles)"),
            ("op: in, value: eu, unless_attributes: {region: []}", "unless_attributes \"region\" lists no value; it would exempt nobody"),
        ] {
            let e = filter_errors(&entry(rest));
            assert_eq!(e, format!("{F}{says}"), "{rest}");
        }
        // `!=` unquoted is a YAML tag; the message says so.
        let e = filter_errors("  - name: f\n    data_sources: [sales]\n    column: region\n    op: !=\n    value: eu\n");
        assert!(e.contains("in quotes"), "{e}");
        let e = filter_errors(&entry("op: in, value: eu, vaule: x"));
        assert!(
            e.starts_with("rules.yaml: ") && e.contains("unknown field `vaule`"),
            "{e}"
        );
        // Fine: one value either way, and every operator with a list.
        for rest in [
            "op: \"=\", value: eu",
            "op: \"!=\", values: [eu]",
            "op: not in, values: []",
            "op: in, value: \"5\"",
            "op: in, values: [5, true]",
        ] {
            let r = format!("{RULES}{}", entry(rest));
            assert!(load(DATA_SOURCES, &principals(), &r).is_ok(), "{rest}");
        }
    }

    #[test]
    fn table_rule_names_are_unique_per_kind() {
        let e = mask_errors(
            "  - {name: ssn-hidden, data_sources: [sales], column: a, mask: {kind: hash}}\n",
        );
        assert_eq!(
            e,
            "rules.yaml: column mask #7 \"ssn-hidden\": duplicate name; column mask names must be unique"
        );
        let e = filter_errors("  - {name: regional-customers, data_sources: [sales], column: a, op: in, values: []}\n");
        assert_eq!(
            e,
            "rules.yaml: row filter #2 \"regional-customers\": duplicate name; row filter names must be unique"
        );
        // A row filter may share a mask's name: different kinds of entry.
        let r = format!("{RULES}  - {{name: ssn-hidden, data_sources: [sales], column: a, op: in, values: []}}\n");
        assert!(load(DATA_SOURCES, &principals(), &r).is_ok());
    }
}
