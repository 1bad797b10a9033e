//! The demo policies as the unit tests load them: four principals, four data sources, one
//! object rule and one partition rule, with the demo's default secret.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

use super::secrets::DEFAULT_SECRET_ENV;
use super::{Environment, Policies, PolicyError};

pub const ALICE: &str = "0572c17ed012b3efdf9df98db1718f225887132739b8da945d81ac5a7d1fea45";
pub const BOB: &str = "3a1f6bae21de4f036f2aba80fce463677f1070f8bf81f0f475604cccd8e2d7f3";
pub const CAROL: &str = "05e17cacfd02d6850325b37f5cec8ca718ece990dae91990f6917effb1dd6b16";
pub const DAVE: &str = "ab13bac2a33e52cfb5b8f5b5dd08bbf2da5644ba478a6b434cf1e1c2b955623c";

pub const DATA_SOURCES: &str = r#"
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

pub fn principals() -> String {
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

pub const RULES: &str = r#"
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

pub const TOKEN_SECRET: &[u8] = b"test token secret";

/// The demo's environment: the seed's fixed secret as the default secret.
pub fn demo_var(name: &str) -> Option<String> {
    (name == DEFAULT_SECRET_ENV).then(|| "immuta".to_owned())
}

pub fn test_env() -> Environment<'static> {
    Environment {
        var: &demo_var,
        token_secret: TOKEN_SECRET,
    }
}

/// Loads with the demo environment; relative secret files would be under a directory
/// that doesn't exist.
pub fn load(data_sources: &str, principals: &str, rules: &str) -> Result<Policies, PolicyError> {
    Policies::from_yaml(
        data_sources,
        principals,
        rules,
        Path::new("/nonexistent"),
        &test_env(),
    )
}

pub fn demo() -> Policies {
    load(DATA_SOURCES, &principals(), RULES).unwrap()
}

/// The problems of a policy set that must fail, as one string for `contains` checks.
pub fn errors(data_sources: &str, principals: &str, rules: &str) -> String {
    match load(data_sources, principals, rules) {
        Ok(_) => panic!("policies unexpectedly valid"),
        Err(e) => e.to_string(),
    }
}

pub fn visible<'a>(policies: &'a Policies, digest: &str, ds: &str) -> Option<&'a [String]> {
    let doc = policies.lookup(digest).unwrap();
    doc.data_source(ds).unwrap().visible.as_deref()
}

pub fn load_in(
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
