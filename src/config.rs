//! The filter's plugin configuration: the JSON in `envoy.yaml`'s wasm `configuration`.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// The one virtual bucket users see.
    #[serde(default = "default_bucket")]
    pub bucket: String,
    /// Path under which the gateway answers, e.g. `/s3p`; empty serves at the root.
    #[serde(default = "default_path_prefix")]
    pub path_prefix: String,
    /// Serve virtual-hosted-style requests too: `Host: <bucket>.<virtual_host_domain>`.
    #[serde(default)]
    pub virtual_host_domain: Option<String>,
    /// Envoy cluster of the policy service.
    #[serde(default = "default_policy_cluster")]
    pub policy_cluster: String,
    /// `:authority` sent to the policy service.
    #[serde(default = "default_policy_authority")]
    pub policy_authority: String,
    #[serde(default = "default_policy_timeout_ms")]
    pub policy_timeout_ms: u64,
    /// How long an unknown key is remembered, so floods of bad keys don't reach the service.
    #[serde(default = "default_negative_cache_seconds")]
    pub negative_cache_seconds: u64,
    /// Stale-if-error: when the policy service fails, keep serving a principal's cached
    /// decision for this many seconds past its expiry (0, the default, fails closed at once).
    #[serde(default)]
    pub stale_if_error_seconds: u64,
    /// Accept the seed's literal `Authorization: AWS <API KEY>:immuta` header.
    #[serde(default)]
    pub legacy_seed_auth: bool,
    /// Request header the route's `cluster_header` reads to pick the upstream cluster.
    #[serde(default = "default_upstream_cluster_header")]
    pub upstream_cluster_header: String,
    /// Upstream names (as data sources name them) → Envoy cluster and `:authority`.
    pub upstreams: BTreeMap<String, Upstream>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    pub cluster: String,
    pub authority: String,
}

fn default_bucket() -> String {
    "immuta".into()
}
fn default_path_prefix() -> String {
    "/s3p".into()
}
fn default_policy_cluster() -> String {
    "policy".into()
}
fn default_policy_authority() -> String {
    "s3gate-policy".into()
}
fn default_policy_timeout_ms() -> u64 {
    2000
}
fn default_negative_cache_seconds() -> u64 {
    5
}
fn default_upstream_cluster_header() -> String {
    "x-s3gate-upstream".into()
}

impl PluginConfig {
    pub fn addressing(&self) -> crate::request::Addressing<'_> {
        crate::request::Addressing {
            path_prefix: &self.path_prefix,
            bucket: &self.bucket,
            virtual_host_domain: self.virtual_host_domain.as_deref(),
        }
    }

    /// Parses and checks the configuration; the message says what to fix.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let config: PluginConfig = serde_json::from_slice(bytes)
            .map_err(|e| format!("s3gate plugin configuration is not valid: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if self.bucket.is_empty() || self.bucket.contains('/') {
            return Err(format!(
                "s3gate plugin configuration: bucket {:?} must be a non-empty name without '/'",
                self.bucket
            ));
        }
        if !self.path_prefix.is_empty()
            && (!self.path_prefix.starts_with('/') || self.path_prefix.ends_with('/'))
        {
            return Err(format!(
                "s3gate plugin configuration: path_prefix {:?} must be empty or start with '/' and not end with '/'",
                self.path_prefix
            ));
        }
        if self.upstreams.is_empty() {
            return Err(
                "s3gate plugin configuration: upstreams must name at least one upstream".into(),
            );
        }
        if !self
            .upstream_cluster_header
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("s3gate plugin configuration: upstream_cluster_header must be a lower-case header name".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_the_optional_fields() {
        let c = PluginConfig::parse(br#"{"upstreams":{"demo":{"cluster":"s3","authority":"h"}}}"#)
            .unwrap();
        assert_eq!(c.bucket, "immuta");
        assert_eq!(c.path_prefix, "/s3p");
        assert!(!c.legacy_seed_auth);
        assert_eq!(c.upstreams["demo"].cluster, "s3");
    }

    #[test]
    fn bad_configuration_is_explained() {
        let e = PluginConfig::parse(br#"{"upstreams":{}}"#).unwrap_err();
        assert!(e.contains("upstreams"), "{e}");
        let e = PluginConfig::parse(
            br#"{"bucket":"a/b","upstreams":{"d":{"cluster":"c","authority":"a"}}}"#,
        )
        .unwrap_err();
        assert!(e.contains("bucket"), "{e}");
        let e = PluginConfig::parse(br#"{"buckt":"x","upstreams":{}}"#).unwrap_err();
        assert!(e.contains("buckt"), "{e}");
        let e = PluginConfig::parse(
            br#"{"path_prefix":"/s3p/","upstreams":{"d":{"cluster":"c","authority":"a"}}}"#,
        )
        .unwrap_err();
        assert!(e.contains("path_prefix"), "{e}");
    }
}
