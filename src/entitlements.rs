//! The entitlements document: what the policy service answers for one API key, and what the
//! filter caches and enforces. This is the one definition, shared by the filter and the service.
//!
//! Wire format (JSON), answered by `GET /v1/entitlements/{sha256 of the API key, lower-case hex}`:
//! ```json
//! {"principal":"bob","enabled":true,"ttl_seconds":60,
//!  "data_sources":[{"name":"sales","upstream":"demo","bucket":"acme-warehouse-prod",
//!                   "prefix":"curated/sales/","format":"csv","hidden":["_SUCCESS","*.crc"]}]}
//! ```
//! An unknown key is answered with 404.

use serde::{Deserialize, Serialize};

use crate::glob;

/// Path of the policy service's lookup endpoint for a key digest (lower-case hex SHA-256).
pub fn lookup_path(key_sha256_hex: &str) -> String {
    format!("/v1/entitlements/{key_sha256_hex}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlements {
    /// The principal's name; what logs and audit events show (never the key).
    pub principal: String,
    /// A disabled principal is refused every request.
    pub enabled: bool,
    /// How long the filter may cache this decision.
    pub ttl_seconds: u32,
    /// The data sources the principal may see, sorted by name.
    pub data_sources: Vec<DataSourceGrant>,
}

/// One data source as this principal sees it: where it really lives and what of it is hidden.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSourceGrant {
    /// The top-level folder of the virtual bucket, e.g. `sales`. Never contains `/`.
    pub name: String,
    /// Name of the upstream in the filter's plugin configuration (cluster + authority).
    pub upstream: String,
    /// The real bucket.
    pub bucket: String,
    /// The real key prefix of the data source: empty, or ending with `/`.
    pub prefix: String,
    /// `csv`, `jsonl` or `binary`; informational for now.
    #[serde(default)]
    pub format: String,
    /// Glob patterns (see [`glob`]) of object keys, relative to the data source, that this
    /// principal may not see. Hidden objects behave exactly like missing ones.
    #[serde(default)]
    pub hidden: Vec<String>,
}

impl Entitlements {
    pub fn data_source(&self, name: &str) -> Option<&DataSourceGrant> {
        self.data_sources.iter().find(|ds| ds.name == name)
    }
}

impl DataSourceGrant {
    /// Whether the principal may see the object at `relative_key` (the key below the data source).
    pub fn is_visible(&self, relative_key: &str) -> bool {
        !self.hidden.iter().any(|p| glob::matches(p, relative_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> DataSourceGrant {
        DataSourceGrant {
            name: "sales".into(),
            upstream: "demo".into(),
            bucket: "acme-warehouse-prod".into(),
            prefix: "curated/sales/".into(),
            format: "csv".into(),
            hidden: vec!["_SUCCESS".into(), "*.crc".into()],
        }
    }

    #[test]
    fn round_trips_through_json() {
        let doc = Entitlements {
            principal: "bob".into(),
            enabled: true,
            ttl_seconds: 60,
            data_sources: vec![grant()],
        };
        let text = serde_json::to_string(&doc).unwrap();
        assert_eq!(serde_json::from_str::<Entitlements>(&text).unwrap(), doc);
    }

    #[test]
    fn hidden_patterns_hide_housekeeping_files_only() {
        let g = grant();
        assert!(g.is_visible("region=eu/part-0.csv"));
        assert!(!g.is_visible("region=eu/_SUCCESS"));
        assert!(!g.is_visible("_SUCCESS"));
        assert!(!g.is_visible("region=eu/.part-0.csv.crc"));
        assert!(g.is_visible("region=eu/_SUCCESS.txt"));
    }

    #[test]
    fn lookup_path_names_the_digest() {
        assert_eq!(lookup_path("ab12"), "/v1/entitlements/ab12");
    }
}
