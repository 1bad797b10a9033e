//! The policy files, their validation, and their compilation into one [`Entitlements`]
//! document per API key digest.
//!
//! Everything here is pure except [`Policies::load_dir`], which reads the three files, and the
//! resolution of principals' secrets, which reads the environment through [`Environment`] and
//! secret files; so the whole decision logic is unit-tested without a server.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use s3gate::entitlements::{DataSourceGrant, Entitlements, Format};
use s3gate::glob;
use serde::{Deserialize, Deserializer};

use crate::crypto::{self, Scope, Secret};

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
/// The secret of every principal without a `secret:` entry. Meant for the demo, where all
/// principals share the seed's fixed secret.
pub const DEFAULT_SECRET_ENV: &str = "S3GATE_DEFAULT_SECRET";

/// What a load needs besides the policy files.
pub struct Environment<'a> {
    /// Reads one environment variable: the process's in the service, a fixed map in tests.
    pub var: &'a dyn Fn(&str) -> Option<String>,
    /// The service's secret for continuation-token keys; the same across reloads.
    pub token_secret: &'a [u8],
}

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

/// `secret: {env: NAME}` or `secret: {file: PATH}`: the policy files say where a secret is,
/// never what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Env(String),
    /// Relative paths are relative to the policy directory.
    File(PathBuf),
}

impl<'de> Deserialize<'de> for SecretSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        use serde_norway::Value;
        // By hand rather than derived, so that no error message echoes the value: a secret
        // pasted here in plain text must not end up in logs or CI output.
        let value = Value::deserialize(deserializer)?;
        let entry = match &value {
            Value::Mapping(map) if map.len() == 1 => map.iter().next(),
            _ => None,
        };
        match entry {
            Some((Value::String(kind), Value::String(name))) if !name.is_empty() => {
                match kind.as_str() {
                    "env" => return Ok(SecretSource::Env(name.clone())),
                    "file" => return Ok(SecretSource::File(PathBuf::from(name))),
                    _ => {}
                }
            }
            _ => {}
        }
        Err(D::Error::custom(
            "secret must be {env: VARIABLE} or {file: PATH} (never the secret itself)",
        ))
    }
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
    /// Glob patterns (see `s3gate::glob`) relative to the data source: objects to hide.
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

/// The outcome of a SigV2 check for a known key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sigv2Check {
    Valid,
    Mismatch,
    /// Disabled principals sign nothing.
    Disabled,
    /// The principal has no secret (see [`DEFAULT_SECRET_ENV`]), so no signature can be valid.
    NoSecret,
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
    by_digest: HashMap<String, Compiled>,
    data_source_count: usize,
    object_rule_count: usize,
    partition_rule_count: usize,
    version: String,
    warnings: Vec<String>,
}

/// One principal, ready to answer.
#[derive(Debug)]
struct Compiled {
    doc: Entitlements,
    /// `None`: the principal can't sign requests (disabled, or no secret found at load).
    secret: Option<Secret>,
}

impl Policies {
    /// Reads the three policy files from `dir` and compiles them.
    pub fn load_dir(dir: &Path, env: &Environment<'_>) -> Result<Self, PolicyError> {
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
            [data_sources, principals, rules] => {
                Self::from_yaml(data_sources, principals, rules, dir, env)
            }
            _ => Err(PolicyError {
                problems: vec!["internal error: wrong number of policy files".into()],
            }),
        }
    }

    /// Parses, validates and compiles the contents of the three policy files. `dir` is where
    /// relative secret file paths start.
    pub fn from_yaml(
        data_sources: &str,
        principals: &str,
        rules: &str,
        dir: &Path,
        env: &Environment<'_>,
    ) -> Result<Self, PolicyError> {
        // Over the bytes as read, so any edit (even to a comment) is a new version.
        let version = crypto::hex(&crypto::policy_version(&[
            data_sources.as_bytes(),
            principals.as_bytes(),
            rules.as_bytes(),
        ]));
        let mut problems = Vec::new();
        let data_sources = parse::<DataSourcesFile>(DATA_SOURCES_FILE, data_sources, &mut problems);
        let principals = parse::<PrincipalsFile>(PRINCIPALS_FILE, principals, &mut problems);
        let rules = parse::<RulesFile>(RULES_FILE, rules, &mut problems);
        match (data_sources, principals, rules) {
            (Some(d), Some(p), Some(r)) if problems.is_empty() => {
                Self::compile(&d, &p, &r, version, dir, env)
            }
            _ => Err(PolicyError { problems }),
        }
    }

    /// Validates the parsed files against each other and compiles them.
    fn compile(
        data_sources: &DataSourcesFile,
        principals: &PrincipalsFile,
        rules: &RulesFile,
        version: String,
        dir: &Path,
        env: &Environment<'_>,
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

        let mut warnings = Problems(Vec::new());
        warn_about_unheld_attributes(rules, principals, &mut warnings);
        let default_secret = (env.var)(DEFAULT_SECRET_ENV);
        let mut by_digest = HashMap::with_capacity(principals.principals.len());
        for (i, p) in principals.principals.iter().enumerate() {
            let mut doc = compile_principal(p, &by_name, rules);
            let Some(token_key) = crypto::token_key(env.token_secret, &p.name, &version) else {
                problems.add(
                    PRINCIPALS_FILE,
                    &entry("principal", i, &p.name),
                    "internal error: cannot derive the token key",
                );
                continue;
            };
            doc.policy_version.clone_from(&version);
            doc.token_key = crypto::hex(&token_key);
            let secret = resolve_secret(p, i, dir, default_secret.as_deref(), env, &mut warnings);
            by_digest.insert(p.key_sha256.clone(), Compiled { doc, secret });
        }
        if !problems.0.is_empty() {
            return Err(PolicyError {
                problems: problems.0,
            });
        }
        Ok(Policies {
            by_digest,
            data_source_count: data_sources.data_sources.len(),
            object_rule_count: rules.object_rules.len(),
            partition_rule_count: rules.partition_rules.len(),
            version,
            warnings: warnings.0,
        })
    }

    fn compiled(&self, key_sha256: &str) -> Result<&Compiled, LookupError> {
        if !is_key_digest(key_sha256) {
            return Err(LookupError::MalformedDigest);
        }
        self.by_digest
            .get(key_sha256)
            .ok_or(LookupError::UnknownKey)
    }

    /// The entitlements of the principal whose API key has this SHA-256 (lower-case hex).
    /// The service answers through [`Policies::entitlements`]; tests read documents here.
    #[cfg(test)]
    pub fn lookup(&self, key_sha256: &str) -> Result<&Entitlements, LookupError> {
        self.compiled(key_sha256).map(|c| &c.doc)
    }

    /// Like [`Policies::lookup`], with the SigV4 signing key for `scope` when one is asked for
    /// and the principal can sign (enabled, with a secret).
    pub fn entitlements(
        &self,
        key_sha256: &str,
        scope: Option<&Scope>,
    ) -> Result<Cow<'_, Entitlements>, LookupError> {
        let compiled = self.compiled(key_sha256)?;
        let signing_key = match (scope, &compiled.secret) {
            (Some(scope), Some(secret)) if compiled.doc.enabled => {
                crypto::signing_key(secret, scope)
            }
            _ => None,
        };
        Ok(match signing_key {
            Some(key) => {
                let mut doc = compiled.doc.clone();
                doc.signing_key = Some(crypto::hex(&key));
                Cow::Owned(doc)
            }
            None => Cow::Borrowed(&compiled.doc),
        })
    }

    /// Checks a SigV2 signature (base64) over `string_to_sign` with the key's secret. Returns
    /// the principal's name for the log line with the outcome.
    pub fn verify_sigv2(
        &self,
        key_sha256: &str,
        string_to_sign: &[u8],
        signature_base64: &str,
    ) -> Result<(&str, Sigv2Check), LookupError> {
        let compiled = self.compiled(key_sha256)?;
        let outcome = match &compiled.secret {
            _ if !compiled.doc.enabled => Sigv2Check::Disabled,
            None => Sigv2Check::NoSecret,
            Some(secret) => {
                if crypto::sigv2_signature_matches(secret, string_to_sign, signature_base64) {
                    Sigv2Check::Valid
                } else {
                    Sigv2Check::Mismatch
                }
            }
        };
        Ok((&compiled.doc.principal, outcome))
    }

    /// The version every document carries: a digest of the policy files.
    #[cfg(test)]
    pub fn version(&self) -> &str {
        &self.version
    }

    /// What is loaded but deserves attention, e.g. principals that can't sign requests. Never
    /// holds a secret.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// One line for logs: what was loaded.
    pub fn summary(&self) -> String {
        format!(
            "{} data sources, {} principals, {} object rules, {} partition rules, version {}",
            self.data_source_count,
            self.by_digest.len(),
            self.object_rule_count,
            self.partition_rule_count,
            // Enough to tell versions apart in logs; the full digest is in every document.
            self.version.get(..12).unwrap_or(&self.version)
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

/// Whether a rule's `data_sources` list covers `data_source`.
fn covers(list: &[String], data_source: &str) -> bool {
    list.iter().any(|n| n == ALL || n == data_source)
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
        } else if ds.prefix.strip_suffix('/').is_some_and(|dirs| {
            dirs.split('/')
                .any(|segment| matches!(segment, "" | "." | ".."))
        }) {
            // File-backed stores resolve such a prefix as a path, elsewhere than S3 would;
            // the gateway judges keys relative to a clean one (src/store_names.rs).
            problems.add(
                f,
                &at,
                format_args!(
                    "prefix {:?} has an empty, '.' or '..' segment; name the folder plainly",
                    ds.prefix
                ),
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
        let at = entry("partition rule", i, &rule.name);
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
        // Two partition rules on one data source would have to intersect; until that is
        // needed, one rule per data source keeps what a principal sees easy to read off.
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
                        entry("partition rule", j, &earlier.name)
                    ),
                );
            }
        }
    }
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

fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
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
        match &p.secret {
            Some(SecretSource::Env(name)) if name.contains(['=', '\0']) => {
                problems.add(f, &at, "secret env name contains '=' or NUL");
            }
            _ => {}
        }
    }
}

/// A partition rule on an attribute nobody holds shows no partition to anyone it applies to:
/// valid, but more likely a typo than intended.
fn warn_about_unheld_attributes(
    rules: &RulesFile,
    principals: &PrincipalsFile,
    warnings: &mut Problems,
) {
    for (i, rule) in rules.partition_rules.iter().enumerate() {
        let held = principals
            .principals
            .iter()
            .any(|p| p.attributes.contains_key(&rule.attribute));
        if !held {
            warnings.add(
                RULES_FILE,
                &entry("partition rule", i, &rule.name),
                format_args!(
                    "no principal has attribute {:?}; the rule shows no partition to anyone it \
                     applies to",
                    rule.attribute
                ),
            );
        }
    }
}

/// The principal's secret, read now from where `secret:` says (or the default secret). `None`,
/// with a warning, when there is none: the principal's lookups still work, but no signature
/// of theirs can be valid. Warnings name the variable or file, never the value.
fn resolve_secret(
    p: &Principal,
    index: usize,
    dir: &Path,
    default_secret: Option<&str>,
    env: &Environment<'_>,
    warnings: &mut Problems,
) -> Option<Secret> {
    // Disabled principals sign nothing; their secret need not exist.
    if p.disabled {
        return None;
    }
    let at = entry("principal", index, &p.name);
    let cannot_sign = "it can't sign requests";
    match &p.secret {
        Some(SecretSource::Env(name)) => {
            let secret = (env.var)(name).and_then(Secret::new);
            if secret.is_none() {
                warnings.add(
                    PRINCIPALS_FILE,
                    &at,
                    format_args!("secret variable {name} is not set or empty; {cannot_sign}"),
                );
            }
            secret
        }
        Some(SecretSource::File(path)) => {
            let path = dir.join(path);
            match std::fs::read(&path) {
                // Trimmed: files written with `echo` or an editor end with a newline.
                Ok(bytes) => {
                    let secret = Secret::new(bytes.trim_ascii());
                    if secret.is_none() {
                        warnings.add(
                            PRINCIPALS_FILE,
                            &at,
                            format_args!("secret file {} is empty; {cannot_sign}", path.display()),
                        );
                    }
                    secret
                }
                Err(e) => {
                    warnings.add(
                        PRINCIPALS_FILE,
                        &at,
                        format_args!(
                            "cannot read secret file {}: {e}; {cannot_sign}",
                            path.display()
                        ),
                    );
                    None
                }
            }
        }
        None => {
            let secret = default_secret.and_then(Secret::new);
            if secret.is_none() {
                warnings.add(
                    PRINCIPALS_FILE,
                    &at,
                    format_args!(
                        "no secret configured (no `secret:`, and {DEFAULT_SECRET_ENV} is not set); \
                         {cannot_sign}"
                    ),
                );
            }
            secret
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
                format: ds.format,
                hidden: patterns_for(p, &ds.name, rules, |r| &r.hide),
                visible: visible_for(p, &ds.name, rules),
                shown: patterns_for(p, &ds.name, rules, |r| &r.show),
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

/// What the partition rule on `data_source` lets `p` see: one pattern per value of the rule's
/// attribute, so a principal lacking the attribute sees no partition (`Some([])`). `None`
/// when no partition rule applies or `p` is exempt.
fn visible_for(p: &Principal, data_source: &str, rules: &RulesFile) -> Option<Vec<String>> {
    // Validation allows at most one partition rule per data source.
    let rule = rules
        .partition_rules
        .iter()
        .find(|r| covers(&r.data_sources, data_source))?;
    if p.roles.iter().any(|r| rule.unless_roles.contains(r)) {
        return None;
    }
    let mut visible: Vec<String> = Vec::new();
    for value in p.attributes.get(&rule.attribute).into_iter().flatten() {
        let pattern = format!("{}={value}/**", rule.partition);
        if !visible.contains(&pattern) {
            visible.push(pattern);
        }
    }
    Some(visible)
}

/// The `hide` (or `show`) patterns of every object rule on `data_source` that `p` is not exempt
/// from, in file order, without repeats. Several include rules on one data source add up (an
/// object matching any of their patterns is shown).
fn patterns_for(
    p: &Principal,
    data_source: &str,
    rules: &RulesFile,
    which: impl Fn(&ObjectRule) -> &Vec<String>,
) -> Vec<String> {
    let mut hidden: Vec<String> = Vec::new();
    for rule in &rules.object_rules {
        let applies = rule
            .data_sources
            .iter()
            .any(|n| n == ALL || n == data_source);
        let exempt = p.roles.iter().any(|r| rule.unless_roles.contains(r));
        if applies && !exempt {
            for pattern in which(rule) {
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
    attributes: {{region: [eu, us]}}
  - name: bob
    key_sha256: {BOB}
    roles: [analyst]
    data_sources: [sales]
    attributes: {{region: [eu]}}
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
partition_rules:
  - name: regional-sales
    description: analysts see the sales regions they work for
    data_sources: [sales]
    partition: region
    attribute: region
    unless_roles: [steward]
"#;

    const TOKEN_SECRET: &[u8] = b"test token secret";

    /// The demo's environment: the seed's fixed secret as the default secret.
    fn demo_var(name: &str) -> Option<String> {
        (name == DEFAULT_SECRET_ENV).then(|| "immuta".to_owned())
    }

    fn test_env() -> Environment<'static> {
        Environment {
            var: &demo_var,
            token_secret: TOKEN_SECRET,
        }
    }

    /// Loads with the demo environment; relative secret files would be under a directory
    /// that doesn't exist.
    fn load(data_sources: &str, principals: &str, rules: &str) -> Result<Policies, PolicyError> {
        Policies::from_yaml(
            data_sources,
            principals,
            rules,
            Path::new("/nonexistent"),
            &test_env(),
        )
    }

    fn demo() -> Policies {
        load(DATA_SOURCES, &principals(), RULES).unwrap()
    }

    /// The problems of a policy set that must fail, as one string for `contains` checks.
    fn errors(data_sources: &str, principals: &str, rules: &str) -> String {
        match load(data_sources, principals, rules) {
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
        assert_eq!(sales.format, Format::Csv);
        assert_eq!(alice.data_source("events").unwrap().format, Format::Jsonl);
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

    // --- partition rules ---------------------------------------------------------------------

    fn visible<'a>(policies: &'a Policies, digest: &str, ds: &str) -> Option<&'a [String]> {
        let doc = policies.lookup(digest).unwrap();
        doc.data_source(ds).unwrap().visible.as_deref()
    }

    #[test]
    fn partition_rule_limits_bob_to_his_region_and_alice_to_hers() {
        let policies = demo();
        assert_eq!(
            visible(&policies, BOB, "sales"),
            Some(&["region=eu/**".to_owned()][..])
        );
        assert_eq!(
            visible(&policies, ALICE, "sales"),
            Some(&["region=eu/**".to_owned(), "region=us/**".to_owned()][..])
        );
        // Only where the rule applies.
        assert_eq!(visible(&policies, ALICE, "customers"), None);
        // Housekeeping rules still apply next to it.
        let bob = policies.lookup(BOB).unwrap();
        assert_eq!(bob.data_sources[0].hidden, ["_SUCCESS", "*.crc"]);
        let sales = bob.data_source("sales").unwrap();
        assert!(sales.is_visible("region=eu/part-00000.csv"));
        assert!(!sales.is_visible("region=us/part-00000.csv"));
        assert!(!sales.is_visible("region=eu/_SUCCESS"));
    }

    #[test]
    fn stewards_are_exempt_from_partition_rules() {
        let policies = demo();
        for ds in ["customers", "documents", "events", "sales"] {
            assert_eq!(visible(&policies, CAROL, ds), None, "{ds}");
        }
    }

    #[test]
    fn principal_without_the_attribute_sees_no_partition() {
        let p = principals().replace("    attributes: {region: [eu]}\n", "");
        let policies = load(DATA_SOURCES, &p, RULES).unwrap();
        assert_eq!(visible(&policies, BOB, "sales"), Some(&[][..]));
        // The same for an empty list.
        let p = principals().replace("{region: [eu]}", "{region: []}");
        let policies = load(DATA_SOURCES, &p, RULES).unwrap();
        assert_eq!(visible(&policies, BOB, "sales"), Some(&[][..]));
        // Another attribute is not the rule's attribute.
        let p = principals().replace("{region: [eu]}", "{team: [eu]}");
        let policies = load(DATA_SOURCES, &p, RULES).unwrap();
        assert_eq!(visible(&policies, BOB, "sales"), Some(&[][..]));
    }

    #[test]
    fn partition_patterns_follow_the_rule_and_drop_repeats() {
        let r = RULES
            .replace("data_sources: [sales]", "data_sources: [\"*\"]")
            .replace("partition: region", "partition: country")
            .replace("attribute: region", "attribute: countries");
        let p = principals().replace("{region: [eu]}", "{countries: [de, fr, de]}");
        let policies = load(DATA_SOURCES, &p, &r).unwrap();
        let expected = ["country=de/**".to_owned(), "country=fr/**".to_owned()];
        assert_eq!(visible(&policies, BOB, "sales"), Some(&expected[..]));
        // "*" covers every data source alice sees; she has no `countries`.
        for ds in ["customers", "events", "sales"] {
            assert_eq!(visible(&policies, ALICE, ds), Some(&[][..]), "{ds}");
        }
    }

    #[test]
    fn partition_rule_problems_are_errors() {
        // The partition rule is the last entry of RULES; edits touch only it.
        let (objects, partition) = RULES.split_at(RULES.find("partition_rules").unwrap());
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
        let r = RULES.replace("name: regional-sales", "name: \"regional sales\"");
        let e = errors(DATA_SOURCES, &principals(), &r);
        assert_eq!(
            e,
            "rules.yaml: partition rule #1 \"regional sales\": name contains whitespace or control characters"
        );
        let r = RULES.replace("attribute: region", "atribute: region");
        let e = errors(DATA_SOURCES, &principals(), &r);
        assert!(
            e.starts_with("rules.yaml: ") && e.contains("unknown field `atribute`"),
            "{e}"
        );
        let r = RULES.replace("    partition: region\n", "");
        let e = errors(DATA_SOURCES, &principals(), &r);
        assert!(
            e.starts_with("rules.yaml: ") && e.contains("missing field `partition`"),
            "{e}"
        );
    }

    fn second_partition_rule(data_sources: &str) -> String {
        format!(
            "{RULES}  - name: by-team\n    data_sources: {data_sources}\n    partition: team\n    \
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
              \"regoin\"; the rule shows no partition to anyone it applies to"
            ]
        );
        assert_eq!(visible(&policies, ALICE, "sales"), Some(&[][..]));
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
        assert_eq!(docs.format, Format::Binary);
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
        let policies = load(DATA_SOURCES, &p, RULES).unwrap();
        let dave = policies.lookup(DAVE).unwrap();
        assert!(!dave.enabled);
        assert!(dave.data_sources.is_empty());
    }

    // --- secrets, signing keys, token keys, policy version -------------------------------------

    const SCOPE: &str = "20261126/us-east-1/s3";

    /// The signing key the service hands out for `digest` (at `SCOPE`).
    fn issued_key(policies: &Policies, digest: &str) -> Option<String> {
        let scope = Scope::parse(SCOPE).unwrap();
        let doc = policies.entitlements(digest, Some(&scope)).unwrap();
        doc.signing_key.clone()
    }

    /// The signing key of `secret` at `SCOPE`, computed directly.
    fn key_of(secret: &str) -> Option<String> {
        let scope = Scope::parse(SCOPE).unwrap();
        let key = crypto::signing_key(&Secret::new(secret).unwrap(), &scope).unwrap();
        Some(crypto::hex(&key))
    }

    fn load_in(
        dir: &Path,
        principals: &str,
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Policies, PolicyError> {
        let env = Environment {
            var,
            token_secret: TOKEN_SECRET,
        };
        Policies::from_yaml(DATA_SOURCES, principals, RULES, dir, &env)
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("s3gate-policy-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn demo_principals_share_the_default_secret() {
        let policies = demo();
        assert_eq!(issued_key(&policies, ALICE), key_of("immuta"));
        assert_eq!(issued_key(&policies, BOB), key_of("immuta"));
        // Disabled: no key, whatever the secret.
        assert_eq!(issued_key(&policies, DAVE), None);
        // No scope, no key.
        let doc = policies.entitlements(ALICE, None).unwrap();
        assert_eq!(doc.signing_key, None);
        assert!(matches!(doc, Cow::Borrowed(_)));
    }

    #[test]
    fn secrets_come_from_the_named_variable_or_file() {
        let dir = temp_dir("secrets");
        std::fs::create_dir_all(dir.join("secrets")).unwrap();
        std::fs::write(dir.join("secrets/carol"), "  carol-secret\n").unwrap();
        let absolute = dir.join("alice.secret");
        std::fs::write(&absolute, "alice-secret").unwrap();
        let p = principals()
            .replace(
                "    roles: [analyst]\n    data_sources: [sales]\n",
                "    roles: [analyst]\n    data_sources: [sales]\n    secret: {env: BOB_SECRET}\n",
            )
            .replace(
                "    roles: [steward]\n",
                "    roles: [steward]\n    secret: {file: secrets/carol}\n",
            )
            .replace(
                "    roles: [analyst]\n    data_sources: [sales, customers, events]\n",
                &format!(
                    "    roles: [analyst]\n    data_sources: [sales, customers, events]\n    \
                     secret: {{file: {}}}\n",
                    absolute.display()
                ),
            );
        let var = |name: &str| match name {
            "BOB_SECRET" => Some("bob-secret".to_owned()),
            _ => None,
        };
        let policies = load_in(&dir, &p, &var).unwrap();
        assert!(policies.warnings().is_empty(), "{:?}", policies.warnings());
        assert_eq!(issued_key(&policies, BOB), key_of("bob-secret"));
        // Relative to the policy directory, trimmed.
        assert_eq!(issued_key(&policies, CAROL), key_of("carol-secret"));
        assert_eq!(issued_key(&policies, ALICE), key_of("alice-secret"));
        // SigV2 with the same secrets (signature computed with Python's hmac module).
        let sts = b"GET\n\n\n1700000000\n/s3p/immuta/sales/";
        assert_eq!(
            policies.verify_sigv2(BOB, sts, "0xgihg/vdx5+9ok/GjQd4PQK5mo="),
            Ok(("bob", Sigv2Check::Valid))
        );
        assert_eq!(
            policies.verify_sigv2(BOB, sts, "BWZ1neSo/w5NKRYZCDXsdxet6dI="),
            Ok(("bob", Sigv2Check::Mismatch))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_secrets_are_warnings_and_such_principals_cannot_sign() {
        let dir = temp_dir("missing-secrets");
        std::fs::write(dir.join("empty"), " \n").unwrap();
        let p = principals()
            .replace(
                "    roles: [analyst]\n    data_sources: [sales]\n",
                "    roles: [analyst]\n    data_sources: [sales]\n    secret: {env: BOB_SECRET}\n",
            )
            .replace(
                "    roles: [steward]\n",
                "    roles: [steward]\n    secret: {file: empty}\n",
            )
            .replace(
                "    data_sources: [sales, customers, events]\n",
                "    data_sources: [sales, customers, events]\n    secret: {file: nope}\n",
            )
            .replace(
                "    disabled: true\n",
                "    disabled: true\n    secret: {env: DAVE_SECRET}\n",
            );
        // Set to the empty string counts as missing; the default secret is no fallback for
        // a principal that names its own.
        let var = |name: &str| match name {
            "BOB_SECRET" => Some(String::new()),
            DEFAULT_SECRET_ENV => Some("immuta".to_owned()),
            _ => None,
        };
        let policies = load_in(&dir, &p, &var).unwrap();
        let warnings = policies.warnings().join("\n");
        assert_eq!(policies.warnings().len(), 3, "{warnings}");
        assert!(
            warnings.contains(&format!(
                "principals.yaml: principal #1 \"alice\": cannot read secret file {}: ",
                dir.join("nope").display()
            )),
            "{warnings}"
        );
        assert!(warnings.contains(
            "principals.yaml: principal #2 \"bob\": secret variable BOB_SECRET is not set or empty; it can't sign requests"
        ), "{warnings}");
        assert!(warnings.contains(&format!(
            "principals.yaml: principal #3 \"carol\": secret file {} is empty; it can't sign requests",
            dir.join("empty").display()
        )), "{warnings}");
        // Disabled principals need no secret: no warning for dave.
        assert!(!warnings.contains("dave"), "{warnings}");
        for digest in [ALICE, BOB, CAROL, DAVE] {
            assert_eq!(issued_key(&policies, digest), None);
        }
        // Lookups still work.
        assert!(policies.lookup(BOB).unwrap().enabled);
        let sts = b"GET\n\n\n1700000000\n/s3p/immuta/sales/";
        let sig = "BWZ1neSo/w5NKRYZCDXsdxet6dI=";
        assert_eq!(
            policies.verify_sigv2(BOB, sts, sig),
            Ok(("bob", Sigv2Check::NoSecret))
        );
        assert_eq!(
            policies.verify_sigv2(DAVE, sts, sig),
            Ok(("dave", Sigv2Check::Disabled))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_a_default_secret_principals_without_secret_cannot_sign() {
        let policies = load_in(Path::new("/nonexistent"), &principals(), &|_| None).unwrap();
        assert_eq!(
            policies.warnings(),
            ["alice", "bob", "carol"].map(|name| format!(
                "principals.yaml: principal #{} \"{name}\": no secret configured (no `secret:`, and \
                 S3GATE_DEFAULT_SECRET is not set); it can't sign requests",
                ["alice", "bob", "carol"]
                    .iter()
                    .position(|n| *n == name)
                    .unwrap()
                    + 1
            ))
        );
        assert_eq!(issued_key(&policies, ALICE), None);
        let sts = b"GET\n\n\n1700000000\n/s3p/immuta/sales/";
        assert_eq!(
            policies.verify_sigv2(ALICE, sts, "BWZ1neSo/w5NKRYZCDXsdxet6dI="),
            Ok(("alice", Sigv2Check::NoSecret))
        );
    }

    #[test]
    fn secrets_never_appear_in_errors_or_warnings() {
        // A secret pasted in plain text is refused without being repeated.
        for secret in [
            "hunter2-plain",
            "{env: hunter2-plain, file: x}",
            "{path: hunter2-plain}",
            "{env: [hunter2-plain]}",
            "{env: \"\"}",
            "[hunter2-plain]",
        ] {
            let p = principals().replace(
                "    roles: [steward]\n",
                &format!("    roles: [steward]\n    secret: {secret}\n"),
            );
            let e = errors(DATA_SOURCES, &p, RULES);
            assert!(
                e.starts_with("principals.yaml: ")
                    && e.contains("secret must be {env: VARIABLE} or {file: PATH}"),
                "{secret}: {e}"
            );
            assert!(!e.contains("hunter2"), "{e}");
        }
        let p = principals().replace(
            "    roles: [steward]\n",
            "    roles: [steward]\n    secret: {env: A=B}\n",
        );
        let e = errors(DATA_SOURCES, &p, RULES);
        assert_eq!(
            e,
            "principals.yaml: principal #3 \"carol\": secret env name contains '=' or NUL"
        );
        // Warnings name where a secret was looked for, never a value found.
        let var = |name: &str| (name == DEFAULT_SECRET_ENV).then(|| "hunter2-default".to_owned());
        let r = RULES.replace("attribute: region", "attribute: regoin");
        let env = Environment {
            var: &var,
            token_secret: TOKEN_SECRET,
        };
        let policies =
            Policies::from_yaml(DATA_SOURCES, &principals(), &r, Path::new("/x"), &env).unwrap();
        assert!(!policies.warnings().is_empty());
        assert!(!format!("{policies:?}").contains("hunter2"));
    }

    #[test]
    fn every_document_carries_the_policy_version_and_its_own_token_key() {
        let policies = demo();
        let version = policies.version().to_owned();
        assert_eq!(version.len(), 64);
        assert!(is_key_digest(&version));
        let mut token_keys = HashSet::new();
        for digest in [ALICE, BOB, CAROL, DAVE] {
            let doc = policies.lookup(digest).unwrap();
            assert_eq!(doc.policy_version, version);
            let expected = crypto::token_key(TOKEN_SECRET, &doc.principal, &version).unwrap();
            assert_eq!(doc.token_key, crypto::hex(&expected));
            token_keys.insert(doc.token_key.clone());
        }
        assert_eq!(token_keys.len(), 4);
    }

    #[test]
    fn version_and_token_keys_are_stable_and_change_with_any_edit() {
        let bob_token = |p: &Policies| p.lookup(BOB).unwrap().token_key.clone();
        let (a, b) = (demo(), demo());
        assert_eq!(a.version(), b.version());
        assert_eq!(bob_token(&a), bob_token(&b));
        // Any byte of any file, a comment included.
        for (ds, p, r) in [
            (
                format!("{DATA_SOURCES}# note\n"),
                principals(),
                RULES.to_owned(),
            ),
            (
                DATA_SOURCES.to_owned(),
                format!("{}# note\n", principals()),
                RULES.to_owned(),
            ),
            (
                DATA_SOURCES.to_owned(),
                principals(),
                RULES.replace("60", "61"),
            ),
        ] {
            let edited = load(&ds, &p, &r).unwrap();
            assert_ne!(edited.version(), a.version());
            assert_ne!(bob_token(&edited), bob_token(&a));
        }
        // Another token secret: same version, other token keys.
        let env = Environment {
            var: &demo_var,
            token_secret: b"another token secret",
        };
        let other =
            Policies::from_yaml(DATA_SOURCES, &principals(), RULES, Path::new("/x"), &env).unwrap();
        assert_eq!(other.version(), a.version());
        assert_ne!(bob_token(&other), bob_token(&a));
        // Secrets are not part of the version.
        let other = load_in(Path::new("/x"), &principals(), &|_| None).unwrap();
        assert_eq!(other.version(), a.version());
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
        let policies = load(DATA_SOURCES, &principals(), rules).unwrap();
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
    fn summary_counts_what_was_loaded() {
        let policies = demo();
        assert_eq!(
            policies.summary(),
            format!(
                "4 data sources, 4 principals, 1 object rules, 1 partition rules, version {}",
                &policies.version()[..12]
            )
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
    fn show_rules_become_include_patterns() {
        let r = RULES.replace(
            "partition_rules:",
            "  - name: csv-only\n    data_sources: [sales]\n    show: [\"**/*.csv\"]\n    unless_roles: [steward]\npartition_rules:",
        );
        let policies = load(DATA_SOURCES, &principals(), &r).unwrap();
        let alice = policies.lookup(ALICE).unwrap();
        let sales = alice.data_source("sales").unwrap();
        assert_eq!(sales.shown, vec!["**/*.csv".to_string()]);
        assert!(sales.is_visible("region=eu/part-0.csv"));
        assert!(!sales.is_visible("region=eu/notes.txt"));
        assert!(alice.data_source("customers").unwrap().shown.is_empty());
        let carol = policies.lookup(CAROL).unwrap();
        assert!(
            carol.data_source("sales").unwrap().shown.is_empty(),
            "stewards are exempt"
        );
        let bad = r.replace("\"**/*.csv\"", "\"/x\"");
        let e = errors(DATA_SOURCES, &principals(), &bad);
        assert!(e.contains("bad show pattern"), "{e}");
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
        let e = Policies::load_dir(&dir, &test_env()).unwrap_err();
        assert_eq!(e.problems.len(), 3);
        assert!(
            e.problems[0].starts_with("data_sources.yaml: cannot read "),
            "{e}"
        );
    }

    #[test]
    fn the_repository_policies_are_valid_and_are_the_demo() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
        let policies = Policies::load_dir(&dir, &test_env()).unwrap_or_else(|e| panic!("{e}"));
        assert!(policies.warnings().is_empty(), "{:?}", policies.warnings());
        // The files differ from the test's copies in comments, hence in version.
        let without_version = |policies: &Policies, digest| {
            let mut doc = policies.lookup(digest).unwrap().clone();
            assert_eq!(doc.policy_version, policies.version());
            doc.policy_version.clear();
            doc.token_key.clear();
            doc
        };
        let demo = demo();
        let counts = |p: &Policies| p.summary().split(", version").next().unwrap().to_owned();
        assert_eq!(counts(&policies), counts(&demo));
        for digest in [ALICE, BOB, CAROL, DAVE] {
            assert_eq!(
                without_version(&policies, digest),
                without_version(&demo, digest)
            );
        }
    }
}
