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
//!
//! For a SigV4 request the filter adds `?scope={yyyymmdd}/{region}/{service}` and the answer
//! carries `signing_key`: the SigV4 key derived for that scope (hex), never the secret itself.
//! SigV2 signatures need the secret, so the service checks them itself:
//! `POST /v1/verify-sigv2/{sha256 of the API key}` with the string to sign as the body and the client's
//! signature in `x-s3gate-signature` → 204 valid, 403 not, 404 unknown key.

use serde::{Deserialize, Serialize};

use crate::policy::glob;
use crate::policy::store_names;
use crate::tables::spec::TableSpec;

/// Path of the policy service's lookup endpoint for a key digest (lower-case hex SHA-256),
/// asking for the SigV4 signing key of `scope` (`yyyymmdd/region/service`) when given.
pub fn lookup_path(key_sha256_hex: &str, scope: Option<&str>) -> String {
    match scope {
        Some(scope) => format!("/v1/entitlements/{key_sha256_hex}?scope={scope}"),
        None => format!("/v1/entitlements/{key_sha256_hex}"),
    }
}

/// Path of the policy service's SigV2 check for a key digest.
pub fn sigv2_verify_path(key_sha256_hex: &str) -> String {
    format!("/v1/verify-sigv2/{key_sha256_hex}")
}

/// Header carrying the client's SigV2 signature (base64) to the SigV2 check.
pub const SIGV2_SIGNATURE_HEADER: &str = "x-s3gate-signature";

/// Fields this filter does not know are refused, not ignored: a newer service's rule (a mask, a
/// row filter) must never be dropped by an older filter, which would serve what it hides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entitlements {
    /// The principal's name; what logs and audit events show (never the key).
    pub principal: String,
    /// A disabled principal is refused every request.
    pub enabled: bool,
    /// How long the filter may cache this decision.
    pub ttl_seconds: u32,
    /// The data sources the principal may see, sorted by name.
    pub data_sources: Vec<DataSourceGrant>,
    /// Version of the policies this was compiled from (a digest of the policy files).
    #[serde(default)]
    pub policy_version: String,
    /// Key (hex) that seals this principal's continuation tokens. The service derives it from
    /// its own secret, the principal and the policy version, so a token minted for another
    /// principal or under other policies does not open.
    #[serde(default)]
    pub token_key: String,
    /// The SigV4 signing key (hex) for the scope asked for with `?scope=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
}

/// One data source as this principal sees it: where it really lives and what of it is hidden.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSourceGrant {
    /// The top-level folder of the virtual bucket, e.g. `sales`. Never contains `/`.
    pub name: String,
    /// Name of the upstream in the filter's plugin configuration (cluster + authority).
    pub upstream: String,
    /// The real bucket.
    pub bucket: String,
    /// The real key prefix of the data source: empty, or ending with `/`.
    pub prefix: String,
    /// How the objects are encoded, as declared; `table` is what the filter enforces.
    #[serde(default)]
    pub format: Format,
    /// Glob patterns (see [`glob`]) of object keys, relative to the data source, that this
    /// principal may not see. Hidden objects behave exactly like missing ones.
    #[serde(default)]
    pub hidden: Vec<String>,
    /// When set (attribute-based rules), only objects matching one of these patterns are
    /// visible; `hidden` still applies. `Some([])` means nothing in the data source is visible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible: Option<Vec<String>>,
    /// Include rules: when not empty, an object must also match one of these patterns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shown: Vec<String>,
    /// The table policy of this principal's view of the data source (masks, row filters, the
    /// format they read): its objects are served transformed. `None`: served as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<TableSpec>,
    /// The names of the policy rules that shape this view (object, partition, mask and
    /// row-filter rules, in file order): what audit records name as deciding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

/// How a data source's objects are encoded, as `data_sources.yaml` declares it; written in
/// lower case (`"csv"`) in both the policy files and the document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Jsonl,
    /// Apache Parquet files, masked in place (`tables::parquet`).
    Parquet,
    /// Any other kind of object; the default.
    #[default]
    Binary,
}

impl Entitlements {
    pub fn data_source(&self, name: &str) -> Option<&DataSourceGrant> {
        self.data_sources.iter().find(|ds| ds.name == name)
    }
}

impl DataSourceGrant {
    /// Whether the principal may see the object at `relative_key` (the key below the data
    /// source), under every name a store may serve for it.
    pub fn is_visible(&self, relative_key: &str) -> bool {
        store_names::every_name(relative_key, |name| {
            // One object: each pattern read in place, nothing compiled.
            let any = |patterns: &[String]| patterns.iter().any(|p| glob::matches(p, name));
            visibility_rule(any, self.visible.as_deref(), &self.shown, &self.hidden)
        })
    }

    /// Whether a common prefix (relative to the data source) could hold a visible object;
    /// one that cannot is left out of listings like a prefix that does not exist.
    pub fn may_hold_visible(&self, relative_prefix: &str) -> bool {
        let allowed = match &self.visible {
            None => true,
            Some(patterns) => patterns
                .iter()
                .any(|p| glob::may_match_below(p, relative_prefix)),
        };
        let shown = self.shown.is_empty()
            || self
                .shown
                .iter()
                .any(|p| glob::may_match_below(p, relative_prefix));
        allowed
            && shown
            && !self
                .hidden
                .iter()
                .any(|p| glob::covers_all_below(p, relative_prefix))
    }
}

/// A grant's object rules compiled once, for checking many keys (a listing page).
#[derive(Debug, Clone)]
pub struct Visibility {
    hidden: Vec<glob::Pattern>,
    visible: Option<Vec<glob::Pattern>>,
    shown: Vec<glob::Pattern>,
}

impl Visibility {
    pub fn of(grant: &DataSourceGrant) -> Visibility {
        let compile = |ps: &[String]| ps.iter().map(|p| glob::Pattern::new(p)).collect();
        Visibility {
            hidden: compile(&grant.hidden),
            visible: grant.visible.as_deref().map(compile),
            shown: compile(&grant.shown),
        }
    }

    /// As [`DataSourceGrant::is_visible`]: under every name a store may serve for the key.
    pub fn is_visible(&self, relative_key: &str) -> bool {
        store_names::every_name(relative_key, |name| {
            let any = |patterns: &[glob::Pattern]| patterns.iter().any(|p| p.matches(name));
            visibility_rule(any, self.visible.as_deref(), &self.shown, &self.hidden)
        })
    }
}

/// The one visibility rule for one name, whatever form the patterns take (`any`: does one of
/// them match): inside `visible` when it is set, matched by `shown` when it is not empty, never
/// `hidden`. Callers ask it of every name a store may serve for a key (`store_names`), so a
/// key that resolves to a hidden object is hidden whatever it looks like (`x.crc/`).
fn visibility_rule<P>(
    any: impl Fn(&[P]) -> bool,
    visible: Option<&[P]>,
    shown: &[P],
    hidden: &[P],
) -> bool {
    visible.is_none_or(&any) && (shown.is_empty() || any(shown)) && !any(hidden)
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
            format: Format::Csv,
            hidden: vec!["_SUCCESS".into(), "*.crc".into()],
            visible: None,
            shown: Vec::new(),
            table: None,
            rules: Vec::new(),
        }
    }

    #[test]
    fn round_trips_through_json() {
        let doc = Entitlements {
            principal: "bob".into(),
            enabled: true,
            ttl_seconds: 60,
            data_sources: vec![grant()],
            policy_version: "v1".into(),
            token_key: "00".into(),
            signing_key: None,
        };
        let text = serde_json::to_string(&doc).unwrap();
        assert_eq!(serde_json::from_str::<Entitlements>(&text).unwrap(), doc);
    }

    #[test]
    fn formats_are_written_in_lower_case_and_default_to_binary() {
        let text = serde_json::to_string(&grant()).unwrap();
        assert_eq!(
            text,
            r#"{"name":"sales","upstream":"demo","bucket":"acme-warehouse-prod","prefix":"curated/sales/","format":"csv","hidden":["_SUCCESS","*.crc"]}"#
        );
        for (format, written) in [
            (Format::Csv, "\"csv\""),
            (Format::Jsonl, "\"jsonl\""),
            (Format::Parquet, "\"parquet\""),
            (Format::Binary, "\"binary\""),
        ] {
            assert_eq!(serde_json::to_string(&format).unwrap(), written);
            assert_eq!(serde_json::from_str::<Format>(written).unwrap(), format);
        }
        let without = r#"{"name":"s","upstream":"u","bucket":"b","prefix":""}"#;
        let parsed: DataSourceGrant = serde_json::from_str(without).unwrap();
        assert_eq!(parsed.format, Format::Binary);
        // A format this filter does not know fails the whole document: fail closed.
        let unknown = without.replace('}', r#","format":"avro"}"#);
        assert!(serde_json::from_str::<DataSourceGrant>(&unknown).is_err());
    }

    #[test]
    fn rules_this_filter_does_not_know_are_refused_not_ignored() {
        let document = serde_json::to_value(Entitlements {
            principal: "alice".into(),
            enabled: true,
            ttl_seconds: 60,
            data_sources: vec![grant()],
            ..Entitlements::default()
        })
        .unwrap();
        assert!(serde_json::from_value::<Entitlements>(document.clone()).is_ok());
        let mut with_masks = document.clone();
        with_masks["data_sources"][0]["masks"] = serde_json::json!([{"column": "ssn"}]);
        assert!(serde_json::from_value::<Entitlements>(with_masks).is_err());
        let mut with_rule = document;
        with_rule["row_filters"] = serde_json::json!([]);
        assert!(serde_json::from_value::<Entitlements>(with_rule).is_err());
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
    fn keys_are_judged_under_the_names_stores_serve_for_them() {
        let mut g = grant();
        g.hidden.push("region=us/part-*.csv".into());
        g.shown = vec!["region=*/**".into()];
        let compiled = Visibility::of(&g);
        for hidden in [
            "region=eu/.part-0.csv.crc/",
            "region=eu/.part-0.csv.crc//",
            "region=eu/_SUCCESS/",
            "region=us/part-0.csv/",
            "region=eu//x/../.part-0.csv.crc",
            "region=eu/..",
        ] {
            assert!(!g.is_visible(hidden), "{hidden}");
            assert!(!compiled.is_visible(hidden), "{hidden}");
        }
        // A folder marker, or a visible file asked for with a `/`, names visible objects.
        for visible in [
            "region=eu/x/",
            "region=eu/part-0.csv/",
            "region=us/notes.txt/",
        ] {
            assert!(g.is_visible(visible), "{visible}");
            assert!(compiled.is_visible(visible), "{visible}");
        }
        // A file store serves the file `region=eu` (if there is one) for `region=eu/`, and the
        // include rule does not show it.
        assert!(!g.is_visible("region=eu/") && !compiled.is_visible("region=eu/"));
        assert!(grant().is_visible("region=eu/"));
    }

    #[test]
    fn attribute_rules_limit_objects_and_prefixes() {
        let mut g = grant();
        g.visible = Some(vec!["region=eu/**".into()]);
        assert!(g.is_visible("region=eu/part-0.csv"));
        assert!(!g.is_visible("region=eu/_SUCCESS"));
        assert!(!g.is_visible("region=us/part-0.csv"));
        assert!(!g.is_visible("README.txt"));
        assert!(g.may_hold_visible("region=eu/"));
        assert!(g.may_hold_visible("region="));
        assert!(!g.may_hold_visible("region=us/"));
        g.visible = Some(vec![]);
        assert!(!g.is_visible("region=eu/part-0.csv"));
        let mut g = grant();
        g.shown = vec!["**/*.csv".into()];
        g.visible = Some(vec!["region=eu/**".into()]);
        assert!(g.is_visible("region=eu/part-0.csv"));
        assert!(
            !g.is_visible("region=eu/notes.txt"),
            "include rules and attributes both apply"
        );
        assert!(!g.is_visible("region=us/part-0.csv"));
        let mut g = grant();
        g.hidden.push("tmp/**".into());
        assert!(!g.may_hold_visible("tmp/"));
        assert!(g.may_hold_visible("region=eu/"));
    }

    #[test]
    fn lookup_paths_name_the_digest() {
        assert_eq!(lookup_path("ab12", None), "/v1/entitlements/ab12");
        assert_eq!(
            lookup_path("ab12", Some("20261126/us-east-1/s3")),
            "/v1/entitlements/ab12?scope=20261126/us-east-1/s3"
        );
        assert_eq!(sigv2_verify_path("ab12"), "/v1/verify-sigv2/ab12");
    }
}
