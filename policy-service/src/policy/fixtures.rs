//! The demo policies as the unit tests load them: five principals, five data sources, one
//! object rule, one partition rule, four column masks and one row filter, with the demo's
//! default secret. The same as `policies/` but for comments (a test checks it).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

use super::secrets::DEFAULT_SECRET_ENV;
use super::{Environment, Policies, PolicyError};

pub const ALICE: &str = "0572c17ed012b3efdf9df98db1718f225887132739b8da945d81ac5a7d1fea45";
pub const BOB: &str = "3a1f6bae21de4f036f2aba80fce463677f1070f8bf81f0f475604cccd8e2d7f3";
pub const CAROL: &str = "05e17cacfd02d6850325b37f5cec8ca718ece990dae91990f6917effb1dd6b16";
pub const DAVE: &str = "ab13bac2a33e52cfb5b8f5b5dd08bbf2da5644ba478a6b434cf1e1c2b955623c";
pub const ERIN: &str = "ffd266691c8638bf66eff8c5cbafad76316b84e17242a4f2acda9fb5faa8ff89";

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
    csv: {delimiter: ",", header: true}
    columns:
      id: number
      name: string
      email: string
      ssn: string
      region: string
  - name: orders
    upstream: demo
    bucket: acme-warehouse-prod
    prefix: curated/orders/
    format: parquet
    columns:
      order_id: number
      customer_email: string
      amount: number
      region: string
      order_ts: timestamp
  - name: events
    upstream: demo
    bucket: acme-warehouse-prod
    prefix: raw/events/
    format: jsonl
    columns:
      event_id: string
      ts: timestamp
      user_id: number
      type: string
      product: string
      part: number
  - name: documents
    upstream: demo
    bucket: acme-docs-archive
    prefix: archive/documents/
    format: binary
  - name: purchases
    upstream: demo
    bucket: acme-warehouse-prod
    prefix: curated/purchases/
    format: csv
    columns:
      order_id: string
      email: string
      product: string
      amount: number
      order_date: date
"#;

pub fn principals() -> String {
    format!(
        r#"
principals:
  - name: alice
    key_sha256: {ALICE}
    roles: [analyst]
    data_sources: [sales, customers, events, orders, purchases]
    attributes: {{region: [eu, us], clearance: [support]}}
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
  - name: erin
    key_sha256: {ERIN}
    roles: [analyst]
    data_sources: [customers, orders]
    attributes:
      region: [eu]
"#
    )
}

/// The rules without the table rules (masks, row filters): the partition rule is its last
/// entry, for tests that edit it.
macro_rules! base_rules {
    () => {
        r#"
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
"#
    };
}

macro_rules! table_rules {
    () => {
        r#"column_masks:
  - name: emails-hashed
    description: emails are keyed hashes, equal in every table, so analysts still join on them
    data_sources: [customers, purchases]
    column: email
    mask: {kind: hash}
    unless_roles: [steward]
  - name: ssn-hidden
    description: no SSN at all, unless cleared for support work
    data_sources: [customers]
    column: ssn
    mask: {kind: null}
    unless_roles: [steward]
    unless_attributes: {clearance: [support]}
  - name: ssn-last-four
    description: support-cleared analysts see the last four digits
    data_sources: [customers]
    column: ssn
    mask: {kind: partial, keep_first: 0, keep_last: 4}
    unless_roles: [steward]
  - name: event-users-hashed
    description: user ids in events are keyed hashes
    data_sources: [events]
    column: user_id
    mask: {kind: hash}
    unless_roles: [steward]
  - name: order-emails-hidden
    description: no customer email in the Parquet orders
    data_sources: [orders]
    column: customer_email
    mask: {kind: null}
    unless_roles: [steward]
  - name: order-amounts-hidden
    description: order amounts read as 0, unless cleared for support work
    data_sources: [orders]
    column: amount
    mask: {kind: constant, value: "0"}
    unless_roles: [steward]
    unless_attributes: {clearance: [support]}
row_filters:
  - name: regional-customers
    description: analysts see the customers of the regions they work for
    data_sources: [customers]
    column: region
    op: in
    attribute: region
    unless_roles: [steward]
"#
    };
}

pub const BASE_RULES: &str = base_rules!();
/// The demo's rules.yaml.
pub const RULES: &str = concat!(base_rules!(), table_rules!());

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
