//! The policy author's commands, run without a gateway: a new API key (`key create`), what a
//! principal would see at a virtual path (`explain`), and policy test files checked against a
//! policy folder (`test`). Pure functions of the loaded policies; `main` does the I/O.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::crypto::hex;
use crate::policy::Policies;
use s3gate_core::policy::entitlements::Entitlements;
use s3gate_core::s3::mapping;

/// A new API key from 32 random bytes, and the `key_sha256` line principals.yaml takes. The
/// key is printed once and stored nowhere.
pub fn new_key(random: &[u8; 32], principal: &str) -> (String, String) {
    let key = format!("s3g-{}", hex(random));
    let digest = hex(&Sha256::digest(key.as_bytes()));
    (key, format!("key_sha256: {digest}   # {principal}"))
}

/// What `principal` would get at `path` (a virtual key: `customers/customers.csv`), or the
/// reason there is no such principal.
#[derive(Debug, PartialEq, Eq)]
pub struct Explanation {
    pub visible: bool,
    pub data_source: Option<String>,
    pub rules: Vec<String>,
    /// Patterns of the partitions the principal may see (`None`: no partition rule applies).
    pub partitions: Option<Vec<String>>,
    /// `column:kind`.
    pub masks: Vec<String>,
    /// Row filters, `column op values`.
    pub row_filters: Vec<String>,
}

pub fn explain(policies: &Policies, principal: &str, path: &str) -> Result<Explanation, String> {
    let doc = policies
        .by_principal(principal)
        .ok_or_else(|| format!("no principal {principal:?} in the policies"))?;
    Ok(explain_doc(doc, path.trim_start_matches('/')))
}

fn explain_doc(doc: &Entitlements, path: &str) -> Explanation {
    let name = path.split('/').next().unwrap_or_default();
    let grant = doc.data_source(name).filter(|_| doc.enabled);
    let visible = doc.enabled
        && match path.split_once('/') {
            // A data source's folder (or the bucket's root) is visible when it is granted.
            None | Some((_, "")) => grant.is_some() || path.is_empty(),
            Some(_) => mapping::resolve_object(doc, path).is_ok(),
        };
    let mut explanation = Explanation {
        visible,
        data_source: grant.map(|g| g.name.clone()),
        rules: Vec::new(),
        partitions: None,
        masks: Vec::new(),
        row_filters: Vec::new(),
    };
    if let Some(grant) = grant {
        explanation.rules.clone_from(&grant.rules);
        explanation.partitions.clone_from(&grant.visible);
        if let Some(table) = &grant.table {
            for mask in &table.masks {
                let kind = mask.mask.kind();
                explanation.masks.push(format!("{}:{kind}", mask.column));
            }
            for filter in &table.row_filters {
                let op = serde_json::to_value(filter.op)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let values = filter.values.join(",");
                explanation
                    .row_filters
                    .push(format!("{} {op} [{values}]", filter.column));
            }
        }
    }
    explanation
}

impl Explanation {
    pub fn render(&self, principal: &str, path: &str) -> String {
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        let mut out = format!(
            "{principal} at {path:?}: {}\n",
            if self.visible {
                "visible"
            } else {
                "not visible (NoSuchKey)"
            }
        );
        out.push_str(&format!(
            "  data source: {}\n",
            self.data_source
                .as_deref()
                .unwrap_or("none the principal holds")
        ));
        out.push_str(&format!("  rules: {}\n", list(&self.rules)));
        if let Some(partitions) = &self.partitions {
            out.push_str(&format!("  partitions: {}\n", list(partitions)));
        }
        out.push_str(&format!("  masks: {}\n", list(&self.masks)));
        out.push_str(&format!("  row filters: {}\n", list(&self.row_filters)));
        out
    }
}

/// One case of a policy test file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub principal: String,
    pub path: String,
    /// `visible` or `denied`.
    pub expect: Expectation,
    /// `column: kind` the principal's view must have, exactly (absent: not checked).
    #[serde(default)]
    pub masks: Option<std::collections::BTreeMap<String, String>>,
    /// Columns row filters must test, exactly (absent: not checked).
    #[serde(default)]
    pub row_filters: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expectation {
    Visible,
    Denied,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    cases: Vec<Case>,
}

/// The cases of a policy test file (YAML: `cases: [{name, principal, path, expect, masks,
/// row_filters}]`).
pub fn parse_cases(yaml: &str) -> Result<Vec<Case>, String> {
    serde_norway::from_str::<TestFile>(yaml)
        .map(|f| f.cases)
        .map_err(|e| e.to_string())
}

/// Why `case` fails against `policies`, if it does.
pub fn check_case(policies: &Policies, case: &Case) -> Option<String> {
    let got = match explain(policies, &case.principal, &case.path) {
        Ok(got) => got,
        Err(why) => return Some(why),
    };
    let visible = case.expect == Expectation::Visible;
    if got.visible != visible {
        return Some(format!(
            "expected {}, got {}",
            if visible { "visible" } else { "denied" },
            if got.visible { "visible" } else { "denied" }
        ));
    }
    if let Some(expected) = &case.masks {
        let mut masks: Vec<String> = expected.iter().map(|(c, k)| format!("{c}:{k}")).collect();
        masks.sort();
        let mut actual = got.masks.clone();
        actual.sort();
        if masks != actual {
            return Some(format!("expected masks {masks:?}, got {actual:?}"));
        }
    }
    if let Some(expected) = &case.row_filters {
        let actual: Vec<String> = got
            .row_filters
            .iter()
            .map(|f| f.split(' ').next().unwrap_or_default().to_string())
            .collect();
        if *expected != actual {
            return Some(format!(
                "expected row filters on {expected:?}, got {actual:?}"
            ));
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_is_random_hex_and_its_digest_line_matches() {
        let (key, line) = new_key(&[7; 32], "frank");
        assert!(key.starts_with("s3g-") && key.len() == 4 + 64);
        let digest = hex(&Sha256::digest(key.as_bytes()));
        assert_eq!(line, format!("key_sha256: {digest}   # frank"));
        assert_ne!(new_key(&[8; 32], "frank").0, key);
    }

    #[test]
    fn test_files_parse_and_refuse_unknown_fields() {
        let cases = parse_cases(
            "cases:\n- name: a\n  principal: alice\n  path: customers/x.csv\n  expect: visible\n  masks: {email: hash}\n",
        )
        .unwrap();
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].expect, Expectation::Visible);
        assert!(
            parse_cases("cases:\n- name: a\n  principal: p\n  path: x\n  expect: maybe\n").is_err()
        );
        assert!(parse_cases(
            "cases:\n- name: a\n  principal: p\n  path: x\n  expect: denied\n  typo: 1\n"
        )
        .is_err());
    }
}
