//! The policy files, their validation, and their compilation into one [`Entitlements`]
//! document per API key digest.
//!
//! Everything here is pure except [`Policies::load_dir`], which only reads the three files,
//! so the whole decision logic is unit-tested without a server.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;

use s3gate::entitlements::{DataSourceGrant, Entitlements};
use s3gate::glob;
use serde::Deserialize;

pub const DATA_SOURCES_FILE: &str = "data_sources.yaml";
pub const PRINCIPALS_FILE: &str = "principals.yaml";
pub const RULES_FILE: &str = "rules.yaml";
/// The files a policy directory consists of; the reload thread watches exactly these.
pub const POLICY_FILES: [&str; 3] = [DATA_SOURCES_FILE, PRINCIPALS_FILE, RULES_FILE];

/// In a principal's or an object rule's `data_sources`: every data source, present and future.
pub const ALL: &str = "*";
pub const DEFAULT_TTL_SECONDS: u32 = 60;
/// A day. Longer would let a revoked principal keep its access unreasonably long.
pub const MAX_TTL_SECONDS: u32 = 86_400;

// ---------------------------------------------------------------------------------------------
// The files as written by platform teams. `deny_unknown_fields` everywhere: a misspelt field
// (`unles_roles`) must be an error, not a silently ignored rule.

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
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Jsonl,
    /// The default: objects pass through as they are.
    #[default]
    Binary,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Binary => "binary",
        }
    }
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
    /// Glob patterns (see `s3gate::glob`) relative to the data source.
    pub hide: Vec<String>,
    /// Principals holding any of these roles are exempt from the rule.
    #[serde(default)]
    pub unless_roles: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Everything wrong with a policy directory, one problem per line, each naming the file and
/// the entry. All problems are reported at once so an author can fix them in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub problems: Vec<String>,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(problem)?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupError {
    /// Not 64 lower-case hex characters.
    MalformedDigest,
    /// No principal has this key.
    UnknownKey,
}

/// Collects problems with the file name in front, so messages read
/// `principals.yaml: principal #2 "bob": ...`.
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, file: &str, entry: &str, message: impl fmt::Display) {
        self.0.push(format!("{file}: {entry}: {message}"));
    }
}

fn entry(kind: &str, index: usize, name: &str) -> String {
    // `{:?}` quotes the name and escapes anything odd in it, so a message stays one line.
    format!("{kind} #{} {name:?}", index + 1)
}

// ---------------------------------------------------------------------------------------------
// Compiled policies

/// Validated policies, compiled to the document the filter receives, keyed by key digest.
#[derive(Debug)]
pub struct Policies {
    by_digest: HashMap<String, Entitlements>,
    data_source_count: usize,
    object_rule_count: usize,
}

impl Policies {
    /// Reads the three policy files from `dir` and compiles them.
    pub fn load_dir(dir: &Path) -> Result<Self, PolicyError> {
        let mut texts = Vec::with_capacity(POLICY_FILES.len());
        let mut problems = Vec::new();
        for file in POLICY_FILES {
            let path = dir.join(file);
            match std::fs::read_to_string(&path) {
                Ok(text) => texts.push(text),
                Err(e) => {
                    problems.push(format!("{file}: cannot read {}: {e}", path.display()));
                    texts.push(String::new());
                }
            }
        }
        if !problems.is_empty() {
            return Err(PolicyError { problems });
        }
        match texts.as_slice() {
            [data_sources, principals, rules] => Self::from_yaml(data_sources, principals, rules),
            _ => Err(PolicyError {
                problems: vec!["internal error: wrong number of policy files".into()],
            }),
        }
    }

    /// Parses, validates and compiles the contents of the three policy files.
    pub fn from_yaml(
        data_sources: &str,
        principals: &str,
        rules: &str,
    ) -> Result<Self, PolicyError> {
        let mut problems = Vec::new();
        let data_sources = parse::<DataSourcesFile>(DATA_SOURCES_FILE, data_sources, &mut problems);
        let principals = parse::<PrincipalsFile>(PRINCIPALS_FILE, principals, &mut problems);
        let rules = parse::<RulesFile>(RULES_FILE, rules, &mut problems);
        match (data_sources, principals, rules) {
            (Some(d), Some(p), Some(r)) if problems.is_empty() => Self::compile(&d, &p, &r),
            _ => Err(PolicyError { problems }),
        }
    }

    /// Validates the parsed files against each other and compiles them.
    pub fn compile(
        data_sources: &DataSourcesFile,
        principals: &PrincipalsFile,
        rules: &RulesFile,
    ) -> Result<Self, PolicyError> {
        let mut problems = Problems(Vec::new());
        let by_name = validate_data_sources(data_sources, &mut problems);
        let roles = validate_rules(rules, &by_name, &mut problems);
        validate_principals(principals, &by_name, &roles, &mut problems);
        if !problems.0.is_empty() {
            return Err(PolicyError {
                problems: problems.0,
            });
        }

        let by_digest = principals
            .principals
            .iter()
            .map(|p| (p.key_sha256.clone(), compile_principal(p, &by_name, rules)))
            .collect();
        Ok(Policies {
            by_digest,
            data_source_count: data_sources.data_sources.len(),
            object_rule_count: rules.object_rules.len(),
        })
    }

    /// The entitlements of the principal whose API key has this SHA-256 (lower-case hex).
    pub fn lookup(&self, key_sha256: &str) -> Result<&Entitlements, LookupError> {
        if !is_key_digest(key_sha256) {
            return Err(LookupError::MalformedDigest);
        }
        self.by_digest
            .get(key_sha256)
            .ok_or(LookupError::UnknownKey)
    }

    /// One line for logs: what was loaded.
    pub fn summary(&self) -> String {
        format!(
            "{} data sources, {} principals, {} object rules",
            self.data_source_count,
            self.by_digest.len(),
            self.object_rule_count
        )
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    problems: &mut Vec<String>,
) -> Option<T> {
    match serde_norway::from_str(text) {
        Ok(value) => Some(value),
        Err(e) => {
            // The one YAML trap every author hits: an unquoted `*` starts an alias.
            let hint = if e.to_string().contains("scanning an alias") {
                " (write \"*\" in quotes: an unquoted * starts a YAML alias)"
            } else {
                ""
            };
            problems.push(format!("{file}: {e}{hint}"));
            None
        }
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

// ---------------------------------------------------------------------------------------------
// Validation

fn validate_data_sources<'a>(
    file: &'a DataSourcesFile,
    problems: &mut Problems,
) -> BTreeMap<&'a str, &'a DataSource> {
    let f = DATA_SOURCES_FILE;
    let mut by_name = BTreeMap::new();
    for (i, ds) in file.data_sources.iter().enumerate() {
        let at = entry("data source", i, &ds.name);
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
        }
    }
    by_name
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
        let at = entry("role", i, role);
        if let Some(problem) = word_problem(role) {
            problems.add(f, &at, problem);
        }
        if !roles.insert(role.as_str()) {
            problems.add(f, &at, "duplicate role");
        }
    }

    let mut rule_names = HashSet::new();
    for (i, rule) in rules.object_rules.iter().enumerate() {
        let at = entry("object rule", i, &rule.name);
        if let Some(problem) = word_problem(&rule.name) {
            problems.add(f, &at, problem);
        }
        if !rule_names.insert(rule.name.as_str()) {
            problems.add(f, &at, "duplicate name; object rule names must be unique");
        }
        if rule.data_sources.is_empty() {
            problems.add(
                f,
                &at,
                "data_sources is empty; name data sources or use \"*\" for all",
            );
        }
        for name in &rule.data_sources {
            if name != ALL && !data_sources.contains_key(name.as_str()) {
                problems.add(
                    f,
                    &at,
                    format_args!("unknown data source {name:?} (not in {DATA_SOURCES_FILE})"),
                );
            }
        }
        if rule.hide.is_empty() {
            problems.add(f, &at, "hide is empty; the rule would hide nothing");
        }
        for pattern in &rule.hide {
            if let Err(e) = glob::validate(pattern) {
                problems.add(f, &at, format_args!("bad hide pattern: {e}"));
            }
        }
        for role in &rule.unless_roles {
            if !roles.contains(role.as_str()) {
                problems.add(
                    f,
                    &at,
                    format_args!("unknown role {role:?} in unless_roles (not in roles)"),
                );
            }
        }
    }
    roles
}

fn validate_principals(
    file: &PrincipalsFile,
    data_sources: &BTreeMap<&str, &DataSource>,
    roles: &HashSet<&str>,
    problems: &mut Problems,
) {
    let f = PRINCIPALS_FILE;
    let mut names = HashSet::new();
    // digest → the entry that first used it; the digest itself never goes into a message.
    let mut digests: HashMap<&str, String> = HashMap::new();
    for (i, p) in file.principals.iter().enumerate() {
        let at = entry("principal", i, &p.name);
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
        for name in &p.data_sources {
            if name != ALL && !data_sources.contains_key(name.as_str()) {
                problems.add(
                    f,
                    &at,
                    format_args!("unknown data source {name:?} (not in {DATA_SOURCES_FILE})"),
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Compilation

fn compile_principal(
    p: &Principal,
    data_sources: &BTreeMap<&str, &DataSource>,
    rules: &RulesFile,
) -> Entitlements {
    let grants = if p.disabled {
        Vec::new()
    } else {
        let all = p.data_sources.iter().any(|n| n == ALL);
        // BTreeMap iteration gives the sorted-by-name order the document promises.
        data_sources
            .values()
            .filter(|ds| all || p.data_sources.contains(&ds.name))
            .map(|ds| DataSourceGrant {
                name: ds.name.clone(),
                upstream: ds.upstream.clone(),
                bucket: ds.bucket.clone(),
                prefix: ds.prefix.clone(),
                format: ds.format.as_str().to_owned(),
                hidden: hidden_for(p, &ds.name, rules),
                visible: None,
            })
            .collect()
    };
    Entitlements {
        principal: p.name.clone(),
        enabled: !p.disabled,
        ttl_seconds: rules.decision_ttl_seconds,
        data_sources: grants,
        policy_version: String::new(),
        token_key: String::new(),
        signing_key: None,
    }
}

/// The `hide` patterns of every object rule on `data_source` that `p` is not exempt from,
/// in file order, without repeats.
fn hidden_for(p: &Principal, data_source: &str, rules: &RulesFile) -> Vec<String> {
    let mut hidden: Vec<String> = Vec::new();
    for rule in &rules.object_rules {
        let applies = rule
            .data_sources
            .iter()
            .any(|n| n == ALL || n == data_source);
        let exempt = p.roles.iter().any(|r| rule.unless_roles.contains(r));
        if applies && !exempt {
            for pattern in &rule.hide {
                if !hidden.contains(pattern) {
                    hidden.push(pattern.clone());
                }
            }
        }
    }
    hidden
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const ALICE: &str = "0572c17ed012b3efdf9df98db1718f225887132739b8da945d81ac5a7d1fea45";
    const BOB: &str = "3a1f6bae21de4f036f2aba80fce463677f1070f8bf81f0f475604cccd8e2d7f3";
    const CAROL: &str = "05e17cacfd02d6850325b37f5cec8ca718ece990dae91990f6917effb1dd6b16";
    const DAVE: &str = "ab13bac2a33e52cfb5b8f5b5dd08bbf2da5644ba478a6b434cf1e1c2b955623c";

    const DATA_SOURCES: &str = r#"
data_sources:
  - name: sales
    upstream: demo
    bucket: acme-warehouse-prod
    prefix: curated/sales/
    format: csv
  - name: customers
    upstream: demo
    bucket: acme-warehouse-prod
    prefix: curated/customers/
    format: csv
  - name: events
    upstream: demo
    bucket: acme-warehouse-prod
    prefix: raw/events/
    format: jsonl
  - name: documents
    upstream: demo
    bucket: acme-docs-archive
    prefix: archive/documents/
    format: binary
"#;

    fn principals() -> String {
        format!(
            r#"
principals:
  - name: alice
    key_sha256: {ALICE}
    roles: [analyst]
    data_sources: [sales, customers, events]
  - name: bob
    key_sha256: {BOB}
    roles: [analyst]
    data_sources: [sales]
  - name: carol
    key_sha256: {CAROL}
    roles: [steward]
    data_sources: ["*"]
  - name: dave
    key_sha256: {DAVE}
    disabled: true
"#
        )
    }

    const RULES: &str = r#"
decision_ttl_seconds: 60
roles: [analyst, steward]
object_rules:
  - name: housekeeping
    description: Spark/Hadoop housekeeping files are noise to analysts
    data_sources: ["*"]
    hide: ["_SUCCESS", "*.crc"]
    unless_roles: [steward]
"#;

    fn demo() -> Policies {
        Policies::from_yaml(DATA_SOURCES, &principals(), RULES).unwrap()
    }

    /// The problems of a policy set that must fail, as one string for `contains` checks.
    fn errors(data_sources: &str, principals: &str, rules: &str) -> String {
        match Policies::from_yaml(data_sources, principals, rules) {
            Ok(_) => panic!("policies unexpectedly valid"),
            Err(e) => e.to_string(),
        }
    }

    fn names(e: &Entitlements) -> Vec<&str> {
        e.data_sources.iter().map(|d| d.name.as_str()).collect()
    }

    #[test]
    fn alice_sees_her_three_data_sources_with_housekeeping_hidden() {
        let policies = demo();
        let alice = policies.lookup(ALICE).unwrap();
        assert_eq!(alice.principal, "alice");
        assert!(alice.enabled);
        assert_eq!(alice.ttl_seconds, 60);
        assert_eq!(names(alice), ["customers", "events", "sales"]);
        let sales = alice.data_source("sales").unwrap();
        assert_eq!(sales.upstream, "demo");
        assert_eq!(sales.bucket, "acme-warehouse-prod");
        assert_eq!(sales.prefix, "curated/sales/");
        assert_eq!(sales.format, "csv");
        assert_eq!(alice.data_source("events").unwrap().format, "jsonl");
        for ds in &alice.data_sources {
            assert_eq!(ds.hidden, ["_SUCCESS", "*.crc"], "{}", ds.name);
        }
    }

    #[test]
    fn bob_sees_sales_only() {
        let policies = demo();
        let bob = policies.lookup(BOB).unwrap();
        assert_eq!(names(bob), ["sales"]);
        assert_eq!(bob.data_sources[0].hidden, ["_SUCCESS", "*.crc"]);
    }

    #[test]
    fn carol_the_steward_sees_everything_with_nothing_hidden() {
        let policies = demo();
        let carol = policies.lookup(CAROL).unwrap();
        assert!(carol.enabled);
        assert_eq!(names(carol), ["customers", "documents", "events", "sales"]);
        assert!(carol.data_sources.iter().all(|d| d.hidden.is_empty()));
        let docs = carol.data_source("documents").unwrap();
        assert_eq!(docs.bucket, "acme-docs-archive");
        assert_eq!(docs.format, "binary");
    }

    #[test]
    fn dave_is_known_but_disabled_with_nothing_granted() {
        let policies = demo();
        let dave = policies.lookup(DAVE).unwrap();
        assert_eq!(dave.principal, "dave");
        assert!(!dave.enabled);
        assert!(dave.data_sources.is_empty());
    }

    #[test]
    fn disabled_principal_gets_nothing_even_with_data_sources_listed() {
        let p = principals().replace(
            "    disabled: true",
            "    data_sources: [\"*\"]\n    disabled: true",
        );
        let policies = Policies::from_yaml(DATA_SOURCES, &p, RULES).unwrap();
        let dave = policies.lookup(DAVE).unwrap();
        assert!(!dave.enabled);
        assert!(dave.data_sources.is_empty());
    }

    #[test]
    fn unknown_and_malformed_digests() {
        let policies = demo();
        assert_eq!(
            policies.lookup(&"0".repeat(64)),
            Err(LookupError::UnknownKey)
        );
        assert_eq!(policies.lookup(""), Err(LookupError::MalformedDigest));
        assert_eq!(
            policies.lookup(&ALICE[..63]),
            Err(LookupError::MalformedDigest)
        );
        assert_eq!(
            policies.lookup(&ALICE.to_uppercase()),
            Err(LookupError::MalformedDigest)
        );
        assert_eq!(
            policies.lookup("alice-demo-key"),
            Err(LookupError::MalformedDigest)
        );
    }

    #[test]
    fn rules_apply_per_data_source_and_exemption_is_per_role() {
        let rules = r#"
roles: [analyst, steward, auditor]
object_rules:
  - name: sales-staging
    data_sources: [sales]
    hide: ["staging/**", "*.crc"]
    unless_roles: [auditor]
  - name: crc
    data_sources: ["*"]
    hide: ["*.crc"]
"#;
        let policies = Policies::from_yaml(DATA_SOURCES, &principals(), rules).unwrap();
        let alice = policies.lookup(ALICE).unwrap();
        // Rules in file order, repeats dropped.
        assert_eq!(
            alice.data_source("sales").unwrap().hidden,
            ["staging/**", "*.crc"]
        );
        assert_eq!(alice.data_source("events").unwrap().hidden, ["*.crc"]);
        // No unless_roles: the rule applies to stewards too.
        let carol = policies.lookup(CAROL).unwrap();
        assert_eq!(carol.data_source("documents").unwrap().hidden, ["*.crc"]);
        assert_eq!(
            policies.lookup(ALICE).unwrap().ttl_seconds,
            DEFAULT_TTL_SECONDS
        );
    }

    #[test]
    fn defaults_apply_to_optional_fields() {
        let ds = "data_sources:\n  - {name: all, upstream: demo, bucket: b}\n";
        let p = format!("principals:\n  - name: erin\n    key_sha256: {ALICE}\n");
        let policies = Policies::from_yaml(ds, &p, "{}").unwrap();
        let erin = policies.lookup(ALICE).unwrap();
        assert!(erin.enabled);
        assert!(erin.data_sources.is_empty());
        assert_eq!(erin.ttl_seconds, 60);
        let p =
            format!("principals:\n  - {{name: erin, key_sha256: {ALICE}, data_sources: [all]}}\n");
        let policies = Policies::from_yaml(ds, &p, "{}").unwrap();
        let grant = &policies.lookup(ALICE).unwrap().data_sources[0];
        assert_eq!(grant.prefix, "");
        assert_eq!(grant.format, "binary");
        assert!(grant.hidden.is_empty());
    }

    #[test]
    fn summary_counts_what_was_loaded() {
        assert_eq!(
            demo().summary(),
            "4 data sources, 4 principals, 1 object rules"
        );
    }

    // --- validation: every problem names the file and the entry -------------------------------

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
        let bad = DATA_SOURCES.replace("format: jsonl", "format: parquet");
        let e = errors(&bad, &principals(), RULES);
        assert!(
            e.contains("data_sources.yaml: ") && e.contains("parquet"),
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
        assert!(Policies::from_yaml(&ok, &principals(), RULES).is_ok());
        let bad = DATA_SOURCES.replace("prefix: curated/sales/", "prefix: /curated/sales/");
        let e = errors(&bad, &principals(), RULES);
        assert!(e.contains("prefix must not start with '/'"), "{e}");
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
        let r = RULES.replace("unless_roles: [steward]", "unless_roles: [admin]");
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
        let twice = format!("{RULES}{}", &RULES[RULES.find("  - name").unwrap()..]);
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

    #[test]
    fn several_problems_are_reported_at_once() {
        let bad = DATA_SOURCES.replace("prefix: raw/events/", "prefix: raw/events");
        let p = principals().replace("roles: [steward]", "roles: [boss]");
        let e = errors(&bad, &p, RULES);
        assert_eq!(e.lines().count(), 2, "{e}");
    }

    #[test]
    fn missing_files_are_errors_naming_them() {
        let dir =
            std::env::temp_dir().join(format!("s3gate-policy-missing-{}", std::process::id()));
        let e = Policies::load_dir(&dir).unwrap_err();
        assert_eq!(e.problems.len(), 3);
        assert!(
            e.problems[0].starts_with("data_sources.yaml: cannot read "),
            "{e}"
        );
    }

    #[test]
    fn the_repository_policies_are_valid_and_are_the_demo() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
        let policies = Policies::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(policies.summary(), demo().summary());
        for digest in [ALICE, BOB, CAROL, DAVE] {
            assert_eq!(policies.lookup(digest), demo().lookup(digest));
        }
    }
}
