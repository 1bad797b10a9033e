//! The filter's plugin configuration: the JSON in `envoy.yaml`'s wasm `configuration`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::signature::sigv4;
use crate::signature::upstream::UpstreamCredentials;

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
    /// How long the HEAD that answers a conditional GET, `If-Range` or a suffix range before
    /// the GET may take (it fails closed: 503).
    #[serde(default = "default_upstream_head_timeout_ms")]
    pub upstream_head_timeout_ms: u64,
    /// The environment variable holding the token the filter presents to the policy service
    /// (`authorization: Bearer ...`); Envoy passes it to the VM through
    /// `vm_config.environment_variables.host_env_keys`. Empty: send none (a service run with
    /// `--no-caller-auth`).
    #[serde(default = "default_policy_token_env")]
    pub policy_token_env: String,
    /// The token itself, read from `policy_token_env` when the plugin is configured.
    #[serde(skip)]
    pub policy_token: PolicyToken,
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
    /// The longest a SigV2 presigned URL may live: its `Expires` at most this many seconds
    /// ahead (S3 sets no bound; the default is SigV4's seven days).
    #[serde(default = "default_sigv2_max_expires_seconds")]
    pub sigv2_max_expires_seconds: u64,
    /// Request header the route's `cluster_header` reads to pick the upstream cluster.
    #[serde(default = "default_upstream_cluster_header")]
    pub upstream_cluster_header: String,
    /// Upstream names (as data sources name them) → Envoy cluster and `:authority`.
    pub upstreams: BTreeMap<String, Upstream>,
    /// User metadata (`x-amz-meta-NAME`) that passes from the store to clients, by NAME
    /// (lower case). Default none: a store may keep real names or paths there.
    #[serde(default)]
    pub user_metadata: Vec<String>,
    /// The regions a client's SigV4 credential may name; the first is the one the gateway
    /// reports (HeadBucket, error messages). The policy service must get the same list.
    #[serde(default = "default_regions")]
    pub regions: Vec<String>,
    /// Slots for the cross-worker fetch claims in Envoy's shared data (which cannot be
    /// deleted): their number bounds what misses of any number of keys leave behind.
    #[serde(default = "default_claim_slots")]
    pub claim_slots: u32,
    /// The environment variable holding the secret (at least 32 bytes) that keys the `hash`
    /// and `format_preserving` masks; never in the policy files. Unset: masked tables are
    /// refused (503), everything else is served.
    #[serde(default = "default_mask_secret_env")]
    pub mask_secret_env: String,
    /// Tables: the longest record (bytes) a masked object may have; a longer one is an error.
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: usize,
    /// Tables: the size of each ranged read of the pass that measures a view.
    #[serde(default = "default_index_read_bytes")]
    pub index_read_bytes: u64,
    /// Tables: how long each of the pass's ranged reads may take (it fails closed: 503).
    #[serde(default = "default_index_read_timeout_ms")]
    pub index_read_timeout_ms: u64,
    /// Tables: about how many view bytes apart the index's checkpoints are (a range reads at
    /// most about twice this beyond what it returns).
    #[serde(default = "default_checkpoint_spacing")]
    pub checkpoint_spacing: u64,
    /// Tables: how many views' indexes a VM keeps (and shared data holds slots for).
    #[serde(default = "default_view_slots")]
    pub view_slots: u32,
    /// Tables: the upstream bytes one listing page may read to measure the views of masked
    /// objects whose sizes are not known yet; the page ends early (truncated) where the next
    /// would exceed it, after at least one object.
    #[serde(default = "default_listing_pass_bytes")]
    pub listing_pass_bytes: u64,
    /// Off unless set: a response header of this name on every answer, naming the decision,
    /// its reason and the rules of the data source (`allow granted; rules=a,b`). For rolling
    /// out policy changes on a listener of your own: it tells a client what is hidden.
    #[serde(default)]
    pub decision_header: Option<String>,
    /// Parquet: the longest footer (bytes) a masked object may have; a longer one is refused
    /// (403 InvalidObjectState) before any byte of it is sent.
    #[serde(default = "default_parquet_max_footer_bytes")]
    pub parquet_max_footer_bytes: u64,
    /// Parquet: the largest masked view's overlay (bytes, about its footer's size) kept in
    /// shared data for every worker; larger ones are kept in the VM's own cache only.
    #[serde(default = "default_parquet_shared_overlay_bytes")]
    pub parquet_shared_overlay_bytes: u64,
    /// Parquet: the first read of an object's tail (bytes from its end), which holds the footer
    /// of most files; a longer footer costs one more read of exactly its length.
    #[serde(default = "default_parquet_tail_read_bytes")]
    pub parquet_tail_read_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    pub cluster: String,
    pub authority: String,
    /// SigV4-sign requests to this upstream in the filter. Without it the filter leaves signing
    /// to the cluster (Envoy's `aws_request_signing` upstream filter).
    #[serde(default)]
    pub sign: Option<FilterSigning>,
}

/// Signing in the filter: the region, and the names of the environment variables that hold
/// the gateway's credentials (Envoy passes them to the VM through
/// `vm_config.environment_variables.host_env_keys`; they never appear in the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSigning {
    pub region: String,
    #[serde(default = "default_access_key_id_env")]
    pub access_key_id_env: String,
    #[serde(default = "default_secret_access_key_env")]
    pub secret_access_key_env: String,
    /// Optional: temporary credentials' session token.
    #[serde(default = "default_session_token_env")]
    pub session_token_env: String,
}

impl FilterSigning {
    /// The credentials from `env` (a variable lookup), or what is missing.
    pub fn credentials(
        &self,
        upstream: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<UpstreamCredentials, String> {
        let required = |name: &str| {
            env(name).filter(|v| !v.is_empty()).ok_or_else(|| {
                format!(
                    "s3gate plugin configuration: upstream {upstream:?} is signed in the filter, \
                     but {name} is not in the VM's environment (list it in \
                     vm_config.environment_variables.host_env_keys)"
                )
            })
        };
        Ok(UpstreamCredentials {
            access_key_id: required(&self.access_key_id_env)?,
            secret_access_key: required(&self.secret_access_key_env)?,
            session_token: env(&self.session_token_env).filter(|v| !v.is_empty()),
            region: self.region.clone(),
        })
    }
}

/// The policy service's caller token; never printed (its `Debug` hides it).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PolicyToken(Option<String>);

impl std::fmt::Debug for PolicyToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "PolicyToken(..)"
        } else {
            "PolicyToken(None)"
        })
    }
}

impl PolicyToken {
    /// The `authorization` header value to send, if any.
    pub fn header(&self) -> Option<String> {
        self.0.as_ref().map(|token| format!("Bearer {token}"))
    }
}

impl PluginConfig {
    /// Reads the policy token from `env` (a variable lookup): required when
    /// `policy_token_env` names a variable, so a gateway never runs without it by mistake.
    pub fn load_policy_token(
        &mut self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(), String> {
        if self.policy_token_env.is_empty() {
            self.policy_token = PolicyToken(None);
            return Ok(());
        }
        match env(&self.policy_token_env).filter(|v| !v.is_empty()) {
            Some(token) => {
                self.policy_token = PolicyToken(Some(token));
                Ok(())
            }
            None => Err(format!(
                "s3gate plugin configuration: the policy service token {} is not in the VM's \
                 environment (list it in vm_config.environment_variables.host_env_keys, or set \
                 policy_token_env to \"\" for a service run with --no-caller-auth)",
                self.policy_token_env
            )),
        }
    }
}

/// A numeric setting within its bounds, or the message that says them.
fn bounded(name: &str, value: u64, bounds: std::ops::RangeInclusive<u64>) -> Result<(), String> {
    if bounds.contains(&value) {
        return Ok(());
    }
    Err(format!(
        "s3gate plugin configuration: {name} must be {} to {}",
        bounds.start(),
        bounds.end()
    ))
}

fn default_mask_secret_env() -> String {
    "S3GATE_MASK_SECRET".into()
}
fn default_max_record_bytes() -> usize {
    1 << 20
}
fn default_index_read_bytes() -> u64 {
    8 << 20
}
fn default_index_read_timeout_ms() -> u64 {
    30_000
}
fn default_checkpoint_spacing() -> u64 {
    1 << 20
}
fn default_view_slots() -> u32 {
    1024
}
fn default_listing_pass_bytes() -> u64 {
    64 << 20
}
fn default_parquet_max_footer_bytes() -> u64 {
    crate::tables::parquet::DEFAULT_MAX_FOOTER
}
fn default_parquet_shared_overlay_bytes() -> u64 {
    256 << 10
}
fn default_parquet_tail_read_bytes() -> u64 {
    64 << 10
}
fn default_policy_token_env() -> String {
    "S3GATE_POLICY_TOKEN".into()
}
fn default_access_key_id_env() -> String {
    "AWS_ACCESS_KEY_ID".into()
}
fn default_secret_access_key_env() -> String {
    "AWS_SECRET_ACCESS_KEY".into()
}
fn default_session_token_env() -> String {
    "AWS_SESSION_TOKEN".into()
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
fn default_upstream_head_timeout_ms() -> u64 {
    2000
}
fn default_negative_cache_seconds() -> u64 {
    5
}
fn default_sigv2_max_expires_seconds() -> u64 {
    crate::signature::sigv4::MAX_PRESIGNED_EXPIRES
}
fn default_regions() -> Vec<String> {
    vec!["us-east-1".to_string()]
}
fn default_claim_slots() -> u32 {
    1024
}
fn default_upstream_cluster_header() -> String {
    "x-s3gate-upstream".into()
}

impl PluginConfig {
    pub fn addressing(&self) -> crate::s3::request::Addressing<'_> {
        crate::s3::request::Addressing {
            path_prefix: &self.path_prefix,
            bucket: &self.bucket,
            virtual_host_domain: self.virtual_host_domain.as_deref(),
        }
    }

    /// Parses and checks the configuration; the message says what to fix.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let config: PluginConfig =
            serde_json::from_slice(bytes).map_err(|e| match field_of_error(bytes) {
                Some((field, e)) => format!("s3gate plugin configuration: {field}: {e}"),
                None => format!("s3gate plugin configuration is not valid: {e}"),
            })?;
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
        if self.sigv2_max_expires_seconds == 0 {
            return Err(
                "s3gate plugin configuration: sigv2_max_expires_seconds must be at least 1".into(),
            );
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
        if let Some(name) = &self.decision_header {
            let token = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !token || name == &self.upstream_cluster_header {
                return Err(format!(
                    "s3gate plugin configuration: decision_header {name:?} must be a lower-case header name"
                ));
            }
        }
        if let Some(bad) = self.user_metadata.iter().find(|n| {
            n.is_empty()
                || !n
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        }) {
            return Err(format!(
                "s3gate plugin configuration: user_metadata {bad:?} must be a lower-case metadata name without the x-amz-meta- prefix"
            ));
        }
        if self.regions.is_empty() || !self.regions.iter().all(|r| sigv4::is_valid_region(r)) {
            return Err(format!(
                "s3gate plugin configuration: regions {:?} must be a non-empty list of region names like \"us-east-1\"",
                self.regions
            ));
        }
        bounded("claim_slots", self.claim_slots.into(), 1..=65_536)?;
        bounded("view_slots", self.view_slots.into(), 1..=65_536)?;
        bounded(
            "max_record_bytes",
            self.max_record_bytes as u64,
            1_024..=64 << 20,
        )?;
        bounded(
            "index_read_bytes",
            self.index_read_bytes,
            64 << 10..=64 << 20,
        )?;
        bounded(
            "parquet_max_footer_bytes",
            self.parquet_max_footer_bytes,
            1 << 10..=256 << 20,
        )?;
        bounded(
            "parquet_shared_overlay_bytes",
            self.parquet_shared_overlay_bytes,
            0..=64 << 20,
        )?;
        bounded(
            "parquet_tail_read_bytes",
            self.parquet_tail_read_bytes,
            1 << 10..=16 << 20,
        )?;
        bounded(
            "checkpoint_spacing",
            self.checkpoint_spacing,
            4 << 10..=64 << 20,
        )?;
        bounded(
            "index_read_timeout_ms",
            self.index_read_timeout_ms,
            100..=600_000,
        )?;
        bounded("listing_pass_bytes", self.listing_pass_bytes, 0..=16 << 30)?;
        for (name, upstream) in &self.upstreams {
            if let Some(sign) = &upstream.sign {
                let region_ok = !sign.region.is_empty()
                    && sign
                        .region
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if !region_ok {
                    return Err(format!(
                        "s3gate plugin configuration: upstream {name:?}: sign.region {:?} must be a region name like \"us-east-1\"",
                        sign.region
                    ));
                }
            }
        }
        Ok(())
    }
}

/// serde's type errors name no field (`invalid type: string "abc", expected u64 at line 1
/// column 171`): for a configuration that is a JSON object, finds the setting whose value is
/// refused by reading each one alone (beside a minimal `upstreams`), so the message names it.
fn field_of_error(bytes: &[u8]) -> Option<(String, serde_json::Error)> {
    let serde_json::Value::Object(settings) = serde_json::from_slice(bytes).ok()? else {
        return None;
    };
    let minimal = serde_json::json!({"_": {"cluster": "c", "authority": "a"}});
    settings.iter().find_map(|(name, value)| {
        let mut alone = serde_json::Map::new();
        alone.insert("upstreams".into(), minimal.clone());
        alone.insert(name.clone(), value.clone());
        serde_json::from_value::<PluginConfig>(serde_json::Value::Object(alone))
            .err()
            .map(|e| (name.clone(), e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_of_the_wrong_type_is_named_by_its_setting() {
        let upstreams = r#""upstreams":{"d":{"cluster":"c","authority":"a"}}"#;
        let e =
            PluginConfig::parse(format!(r#"{{"policy_timeout_ms":"abc",{upstreams}}}"#).as_bytes())
                .unwrap_err();
        assert!(
            e.starts_with("s3gate plugin configuration: policy_timeout_ms: invalid type: string"),
            "{e}"
        );
        let e = PluginConfig::parse(format!(r#"{{{upstreams},"regions":"us-east-1"}}"#).as_bytes())
            .unwrap_err();
        assert!(
            e.starts_with("s3gate plugin configuration: regions: "),
            "{e}"
        );
        let e = PluginConfig::parse(br#"{"upstreams":{"d":{"cluster":1,"authority":"a"}}}"#)
            .unwrap_err();
        assert!(
            e.starts_with("s3gate plugin configuration: upstreams: "),
            "{e}"
        );
        let e = PluginConfig::parse(format!(r#"{{{upstreams},"polcy_timeout_ms":5}}"#).as_bytes())
            .unwrap_err();
        assert!(
            e.contains("polcy_timeout_ms") && e.lines().count() == 1,
            "{e}"
        );
        // Not an object, or not JSON: the parser's own words.
        let e = PluginConfig::parse(b"[1]").unwrap_err();
        assert!(
            e.starts_with("s3gate plugin configuration is not valid: "),
            "{e}"
        );
        let e = PluginConfig::parse(b"{").unwrap_err();
        assert!(
            e.starts_with("s3gate plugin configuration is not valid: "),
            "{e}"
        );
    }

    #[test]
    fn defaults_fill_the_optional_fields() {
        let c = PluginConfig::parse(br#"{"upstreams":{"demo":{"cluster":"s3","authority":"h"}}}"#)
            .unwrap();
        assert_eq!(c.bucket, "immuta");
        assert_eq!(c.path_prefix, "/s3p");
        assert!(!c.legacy_seed_auth);
        assert_eq!(c.sigv2_max_expires_seconds, 7 * 24 * 3600);
        assert!(
            c.user_metadata.is_empty(),
            "no user metadata passes by default"
        );
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
        let e = PluginConfig::parse(
            br#"{"upstreams":{"d":{"cluster":"c","authority":"a","sign":{"region":"us east"}}}}"#,
        )
        .unwrap_err();
        assert!(e.contains("sign.region"), "{e}");
        let e = PluginConfig::parse(
            br#"{"sigv2_max_expires_seconds":0,"upstreams":{"d":{"cluster":"c","authority":"a"}}}"#,
        )
        .unwrap_err();
        assert!(e.contains("sigv2_max_expires_seconds"), "{e}");
        let c = PluginConfig::parse(
            br#"{"sigv2_max_expires_seconds":3600,"upstreams":{"d":{"cluster":"c","authority":"a"}}}"#,
        )
        .unwrap();
        assert_eq!(c.sigv2_max_expires_seconds, 3600);
        let e = PluginConfig::parse(
            br#"{"user_metadata":["x-amz-meta-Owner"],"upstreams":{"d":{"cluster":"c","authority":"a"}}}"#,
        )
        .unwrap_err();
        assert!(e.contains("user_metadata"), "{e}");
        for (setting, message) in [
            (r#""claim_slots":0"#, "claim_slots must be 1 to 65536"),
            (r#""view_slots":65537"#, "view_slots must be 1 to 65536"),
            (
                r#""max_record_bytes":1023"#,
                "max_record_bytes must be 1024 to 67108864",
            ),
            (
                r#""index_read_bytes":1024"#,
                "index_read_bytes must be 65536 to 67108864",
            ),
            (
                r#""checkpoint_spacing":67108865"#,
                "checkpoint_spacing must be 4096 to 67108864",
            ),
            (
                r#""index_read_timeout_ms":0"#,
                "index_read_timeout_ms must be 100 to 600000",
            ),
            (
                r#""listing_pass_bytes":17179869185"#,
                "listing_pass_bytes must be 0 to 17179869184",
            ),
        ] {
            let json =
                format!(r#"{{{setting},"upstreams":{{"d":{{"cluster":"c","authority":"a"}}}}}}"#);
            let e = PluginConfig::parse(json.as_bytes()).unwrap_err();
            assert_eq!(e, format!("s3gate plugin configuration: {message}"));
        }
    }

    #[test]
    fn policy_token_is_required_from_its_variable_and_never_printed() {
        let json = r#"{"upstreams":{"s3":{"cluster":"c","authority":"a"}}}"#;
        let mut config = PluginConfig::parse(json.as_bytes()).unwrap();
        assert_eq!(config.policy_token_env, "S3GATE_POLICY_TOKEN");
        let e = config.load_policy_token(|_| None).unwrap_err();
        assert!(
            e.contains("S3GATE_POLICY_TOKEN") && e.contains("host_env_keys"),
            "{e}"
        );
        assert!(config.load_policy_token(|_| Some(String::new())).is_err());
        config
            .load_policy_token(|v| (v == "S3GATE_POLICY_TOKEN").then(|| "tok-123".into()))
            .unwrap();
        assert_eq!(
            config.policy_token.header().as_deref(),
            Some("Bearer tok-123")
        );
        assert!(!format!("{config:?}").contains("tok-123"));

        let json = r#"{"policy_token_env":"","upstreams":{"s3":{"cluster":"c","authority":"a"}}}"#;
        let mut open = PluginConfig::parse(json.as_bytes()).unwrap();
        open.load_policy_token(|_| None).unwrap();
        assert_eq!(open.policy_token.header(), None);
    }

    #[test]
    fn filter_signing_reads_credentials_from_the_named_variables() {
        let c = PluginConfig::parse(
            br#"{"upstreams":{"d":{"cluster":"c","authority":"a","sign":{"region":"eu-west-1","access_key_id_env":"UP_KEY"}}}}"#,
        )
        .unwrap();
        let sign = c.upstreams["d"].sign.as_ref().unwrap();
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let creds = sign
            .credentials(
                "d",
                env(&[("UP_KEY", "AK"), ("AWS_SECRET_ACCESS_KEY", "SK")]),
            )
            .unwrap();
        assert_eq!(
            (
                creds.access_key_id.as_str(),
                creds.secret_access_key.as_str()
            ),
            ("AK", "SK")
        );
        assert_eq!(
            (creds.session_token, creds.region.as_str()),
            (None, "eu-west-1")
        );
        let e = sign
            .credentials(
                "d",
                env(&[("AWS_ACCESS_KEY_ID", "AK"), ("AWS_SECRET_ACCESS_KEY", "SK")]),
            )
            .unwrap_err();
        assert!(e.contains("UP_KEY") && e.contains("host_env_keys"), "{e}");
        assert!(c.upstreams["d"].sign.is_some());
        let plain =
            PluginConfig::parse(br#"{"upstreams":{"d":{"cluster":"c","authority":"a"}}}"#).unwrap();
        assert!(plain.upstreams["d"].sign.is_none());
    }
}
