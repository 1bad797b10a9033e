//! The policy directory, checked and compiled into one [`Entitlements`] document per API key
//! digest: the store the service answers from.
//!
//! One file per concern: [`schema`] (the three files as written), [`problems`] (how a problem
//! is worded and all of them gathered), [`validate`] (the checks across files), [`secrets`]
//! (where a principal's secret comes from) and [`compile`] (one principal's document). Only
//! [`Policies::load_dir`] and [`secrets`] read files or the environment, so the rest is
//! tested without either.

mod compile;
#[cfg(test)]
pub mod fixtures;
mod problems;
mod schema;
mod secrets;
mod validate;

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use s3gate_core::policy::entitlements::Entitlements;

use crate::crypto::{self, Scope, Secret};
use crate::envoy_check::DataSourceTarget;
use problems::{entry_label, Problems};
use schema::{PolicyFiles, PRINCIPALS_FILE};

pub use problems::PolicyError;
pub use schema::POLICY_FILES;

/// What a load needs besides the policy files.
pub struct Environment<'a> {
    /// Reads one environment variable: the process's in the service, a fixed map in tests.
    pub var: &'a dyn Fn(&str) -> Option<String>,
    /// The service's secret for continuation-token keys; the same across reloads.
    pub token_secret: &'a [u8],
}

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
    /// The principal has no secret (see [`secrets::DEFAULT_SECRET_ENV`]), so no signature can
    /// be valid.
    NoSecret,
}

/// Validated policies, compiled to the document the filter receives, keyed by key digest.
#[derive(Debug)]
pub struct Policies {
    by_digest: HashMap<String, CompiledPrincipal>,
    /// Each data source's name, upstream and bucket, for the cross-check with envoy.yaml.
    targets: Vec<DataSourceTarget>,
    data_source_count: usize,
    object_rule_count: usize,
    partition_rule_count: usize,
    column_mask_count: usize,
    row_filter_count: usize,
    version: String,
    warnings: Vec<String>,
}

/// One principal, ready to answer.
#[derive(Debug)]
struct CompiledPrincipal {
    doc: Entitlements,
    /// `None`: the principal can't sign requests (disabled, or no secret found at load).
    secret: Option<Secret>,
    /// `doc` as JSON, and its decision-log object: rendered once per load, not per lookup
    /// (serialising them was a tenth of a lookup's CPU; docs/benchmarks.md, "Policy service").
    json: String,
    decision: String,
}

/// An entitlements answer: the document, its JSON body (with the signing key when one was
/// asked for and can be given) and the decision-log object.
#[derive(Debug)]
pub struct Answer<'a> {
    pub doc: &'a Entitlements,
    pub body: Cow<'a, str>,
    pub signed: bool,
    pub decision: &'a str,
}

/// The decision a document carries, for the decision log.
fn decision_object(doc: &Entitlements) -> serde_json::Value {
    let mut rules: Vec<&str> = Vec::new();
    for grant in &doc.data_sources {
        for rule in &grant.rules {
            if !rules.contains(&rule.as_str()) {
                rules.push(rule);
            }
        }
    }
    serde_json::json!({
        "event": "decision",
        "principal": doc.principal,
        "enabled": doc.enabled,
        "policy_version": doc.policy_version,
        "data_sources": doc.data_sources.iter().map(|g| &g.name).collect::<Vec<_>>(),
        "rules": rules,
        "ttl_seconds": doc.ttl_seconds,
    })
}

impl Policies {
    /// Reads the three policy files from `dir` and compiles them.
    pub fn load_dir(dir: &Path, env: &Environment<'_>) -> Result<Self, PolicyError> {
        let mut problems = Problems::new();
        let texts = POLICY_FILES.map(|file| {
            let path = dir.join(file);
            match std::fs::read_to_string(&path) {
                Ok(text) => Some(text),
                Err(e) => {
                    problems.add_file(file, format_args!("cannot read {}: {e}", path.display()));
                    None
                }
            }
        });
        match texts {
            [Some(data_sources), Some(principals), Some(rules)] => {
                Self::from_yaml(&data_sources, &principals, &rules, dir, env)
            }
            // Each file that could not be read added its problem.
            _ => Err(problems.into_error()),
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
        let files = PolicyFiles::parse(data_sources, principals, rules)?;
        Self::compile(&files, version, dir, env)
    }

    /// Validates the parsed files against each other and compiles every principal's document.
    fn compile(
        files: &PolicyFiles,
        version: String,
        dir: &Path,
        env: &Environment<'_>,
    ) -> Result<Self, PolicyError> {
        let data_sources = validate::validate(files)?;
        let mut warnings = validate::warnings(files);
        let mut problems = Problems::new();
        let default_secret = (env.var)(secrets::DEFAULT_SECRET_ENV);
        let principals = &files.principals.principals;
        let mut by_digest = HashMap::with_capacity(principals.len());
        for (i, p) in principals.iter().enumerate() {
            let mut doc = match compile::compile_principal(p, &data_sources, &files.rules) {
                Ok(doc) => doc,
                Err(why) => {
                    problems.add(
                        PRINCIPALS_FILE,
                        &entry_label("principal", i, &p.name),
                        format_args!("cannot compile its table policy: {why}"),
                    );
                    continue;
                }
            };
            let Some(token_key) = crypto::token_key(env.token_secret, &p.name, &version) else {
                problems.add(
                    PRINCIPALS_FILE,
                    &entry_label("principal", i, &p.name),
                    "internal error: cannot derive the token key",
                );
                continue;
            };
            doc.policy_version.clone_from(&version);
            doc.token_key = crypto::hex(&token_key);
            let secret = secrets::resolve(p, i, dir, default_secret.as_deref(), env, &mut warnings);
            let json = match serde_json::to_string(&doc) {
                // The signing key is spliced in before the closing brace (`answer`).
                Ok(json) if json.ends_with('}') && doc.signing_key.is_none() => json,
                _ => {
                    problems.add(
                        PRINCIPALS_FILE,
                        &entry_label("principal", i, &p.name),
                        "internal error: cannot serialise the entitlements",
                    );
                    continue;
                }
            };
            let decision = decision_object(&doc).to_string();
            by_digest.insert(
                p.key_sha256.clone(),
                CompiledPrincipal {
                    doc,
                    secret,
                    json,
                    decision,
                },
            );
        }
        problems.into_result()?;
        Ok(Policies {
            by_digest,
            targets: files
                .data_sources
                .data_sources
                .iter()
                .map(|ds| DataSourceTarget {
                    name: ds.name.clone(),
                    upstream: ds.upstream.clone(),
                    bucket: ds.bucket.clone(),
                })
                .collect(),
            data_source_count: files.data_sources.data_sources.len(),
            object_rule_count: files.rules.object_rules.len(),
            partition_rule_count: files.rules.partition_rules.len(),
            column_mask_count: files.rules.column_masks.len(),
            row_filter_count: files.rules.row_filters.len(),
            version,
            warnings: warnings.into_lines(),
        })
    }

    /// The entitlements of the principal named `name` (for the author's tools).
    pub fn by_principal(&self, name: &str) -> Option<&Entitlements> {
        self.by_digest
            .values()
            .map(|c| &c.doc)
            .find(|doc| doc.principal == name)
    }

    fn principal(&self, key_sha256: &str) -> Result<&CompiledPrincipal, LookupError> {
        if !validate::is_key_digest(key_sha256) {
            return Err(LookupError::MalformedDigest);
        }
        self.by_digest
            .get(key_sha256)
            .ok_or(LookupError::UnknownKey)
    }

    /// The entitlements of the principal whose API key has this SHA-256 (lower-case hex),
    /// without a signing key. The service answers through [`Policies::entitlements`]; the
    /// shadow comparison and tests read documents here.
    pub fn lookup(&self, key_sha256: &str) -> Result<&Entitlements, LookupError> {
        self.principal(key_sha256).map(|c| &c.doc)
    }

    /// What the service answers for a key: the document as JSON, with the SigV4 signing key
    /// for `scope` when one is asked for and the principal can sign (enabled, with a secret).
    pub fn answer(
        &self,
        key_sha256: &str,
        scope: Option<&Scope>,
    ) -> Result<Answer<'_>, LookupError> {
        let compiled = self.principal(key_sha256)?;
        let body = match Self::signing_key(compiled, scope) {
            // `json` is an object without `signing_key` ending in `}` (checked at load).
            Some(key) => Cow::Owned(format!(
                "{},\"signing_key\":\"{}\"}}",
                compiled.json.get(..compiled.json.len() - 1).unwrap_or("{"),
                crypto::hex(&key)
            )),
            None => Cow::Borrowed(compiled.json.as_str()),
        };
        Ok(Answer {
            doc: &compiled.doc,
            signed: matches!(body, Cow::Owned(_)),
            body,
            decision: &compiled.decision,
        })
    }

    fn signing_key(compiled: &CompiledPrincipal, scope: Option<&Scope>) -> Option<[u8; 32]> {
        match (scope, &compiled.secret) {
            (Some(scope), Some(secret)) if compiled.doc.enabled => {
                crypto::signing_key(secret, scope)
            }
            _ => None,
        }
    }

    /// Like [`Policies::lookup`], with the SigV4 signing key for `scope` when one is asked for
    /// and the principal can sign: the document [`Policies::answer`]'s body holds.
    #[cfg(test)]
    pub fn entitlements(
        &self,
        key_sha256: &str,
        scope: Option<&Scope>,
    ) -> Result<Cow<'_, Entitlements>, LookupError> {
        let compiled = self.principal(key_sha256)?;
        let signing_key = Self::signing_key(compiled, scope);
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
        let compiled = self.principal(key_sha256)?;
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

    /// Each data source's name, upstream and bucket, in file order.
    pub fn data_source_targets(&self) -> &[DataSourceTarget] {
        &self.targets
    }

    /// The version every document carries: a digest of the policy files.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Enough of the version to tell versions apart in logs; the full digest is in every
    /// document and in `/readyz`.
    pub fn short_version(&self) -> &str {
        self.version.get(..12).unwrap_or(&self.version)
    }

    /// What is loaded but deserves attention, e.g. principals that can't sign requests. Never
    /// holds a secret.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// One line for logs: what was loaded.
    pub fn summary(&self) -> String {
        format!(
            "{} data sources, {} principals, {} object rules, {} partition rules, {} column \
             masks, {} row filters, version {}",
            self.data_source_count,
            self.by_digest.len(),
            self.object_rule_count,
            self.partition_rule_count,
            self.column_mask_count,
            self.row_filter_count,
            self.short_version()
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use std::collections::HashSet;
    use validate::is_key_digest;

    #[test]
    fn every_document_carries_the_policy_version_and_its_own_token_key() {
        let policies = demo();
        let version = policies.version().to_owned();
        assert_eq!(version.len(), 64);
        assert!(is_key_digest(&version));
        let mut token_keys = HashSet::new();
        for digest in [ALICE, BOB, CAROL, DAVE, ERIN] {
            let doc = policies.lookup(digest).unwrap();
            assert_eq!(doc.policy_version, version);
            let expected = crypto::token_key(TOKEN_SECRET, &doc.principal, &version).unwrap();
            assert_eq!(doc.token_key, crypto::hex(&expected));
            token_keys.insert(doc.token_key.clone());
        }
        assert_eq!(token_keys.len(), 5);
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
    fn the_prerendered_answer_is_the_document_with_or_without_a_signing_key() {
        let policies = demo();
        let scope = Scope::parse("20261126/us-east-1/s3").unwrap();
        for digest in [ALICE, BOB, CAROL, DAVE, ERIN] {
            for scope in [None, Some(&scope)] {
                let answer = policies.answer(digest, scope).unwrap();
                let parsed: Entitlements = serde_json::from_str(&answer.body).unwrap();
                let expected = policies.entitlements(digest, scope).unwrap();
                assert_eq!(parsed, *expected, "{digest} {scope:?}");
                assert_eq!(answer.signed, expected.signing_key.is_some());
                assert_eq!(*answer.doc, *policies.lookup(digest).unwrap());
            }
        }
        // Dave is disabled: no signing key even when asked.
        assert!(!policies.answer(DAVE, Some(&scope)).unwrap().signed);
        assert!(policies.answer(ALICE, Some(&scope)).unwrap().signed);
        let decision: serde_json::Value =
            serde_json::from_str(policies.answer(BOB, None).unwrap().decision).unwrap();
        assert_eq!(decision["event"], "decision");
        assert_eq!(decision["principal"], "bob");
        assert_eq!(decision["data_sources"], serde_json::json!(["sales"]));
        assert_eq!(
            decision["rules"],
            serde_json::json!(["housekeeping", "regional-sales"])
        );
        assert_eq!(
            policies.answer("nope", None).unwrap_err(),
            LookupError::MalformedDigest
        );
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
    fn summary_counts_what_was_loaded() {
        let policies = demo();
        assert_eq!(
            policies.summary(),
            format!(
                "6 data sources, 5 principals, 1 object rules, 1 partition rules, 6 column masks, \
                 1 row filters, version {}",
                &policies.version()[..12]
            )
        );
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
        for digest in [ALICE, BOB, CAROL, DAVE, ERIN] {
            assert_eq!(
                without_version(&policies, digest),
                without_version(&demo, digest)
            );
        }
    }
}
