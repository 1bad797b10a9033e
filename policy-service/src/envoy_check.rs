//! `s3gate-policy check DIR --envoy FILE`: the mistakes that pass each file's own checks and
//! only fail at request time, found offline by reading the policy folder and an envoy.yaml
//! together. Every s3gate plugin configuration in the file (each listener's wasm filter) must
//! name a `policy_cluster` that the file defines, map each upstream to a defined cluster, and
//! hold every upstream a data source names; each data source's bucket must be a name S3
//! accepts. Each problem names the listener, the data source, the upstream or the cluster.
//! Pure: `main` reads the files.

use std::collections::BTreeSet;

use serde_norway::Value;

use s3gate_core::config::PluginConfig;

/// What the cross-check needs of one data source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSourceTarget {
    pub name: String,
    pub upstream: String,
    pub bucket: String,
}

/// The wasm filter type; s3gate's are those whose `root_id` is `s3gate`.
const WASM_FILTER: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
const ROOT_ID: &str = "s3gate";

/// One s3gate filter found in the file: where, and its configuration (or why it is unreadable).
struct Plugin {
    at: String,
    config: Result<PluginConfig, String>,
}

/// The problems of `envoy_yaml` together with the data sources (empty: they fit); `file` names
/// the Envoy file in the messages.
pub fn check(envoy_yaml: &str, file: &str, data_sources: &[DataSourceTarget]) -> Vec<String> {
    let doc: Value = match serde_norway::from_str(envoy_yaml) {
        Ok(doc) => doc,
        Err(e) => return vec![format!("{file}: not valid YAML: {e}")],
    };
    let mut problems = Vec::new();
    let clusters = clusters(&doc);
    // Clusters may also come from a management server; then a name not in the file is no proof.
    let dynamic = doc
        .get("dynamic_resources")
        .and_then(|d| d.get("cds_config"))
        .is_some();
    let cluster_list = clusters.iter().cloned().collect::<Vec<_>>().join(", ");
    let missing_cluster = |what: String, cluster: &str| {
        let suffix = if dynamic {
            " (nor, as far as this file says, from CDS: check the management server)"
        } else {
            ""
        };
        format!("{what}: cluster {cluster:?} is not defined in {file} (clusters: {cluster_list}){suffix}")
    };
    let plugins = plugins(&doc);
    if plugins.is_empty() {
        problems.push(format!(
            "{file}: no s3gate filter (an HTTP wasm filter with root_id {ROOT_ID:?}) in any listener"
        ));
    }
    for plugin in &plugins {
        let config = match &plugin.config {
            Ok(config) => config,
            Err(why) => {
                problems.push(format!("{file}: {}: {why}", plugin.at));
                continue;
            }
        };
        if !clusters.contains(&config.policy_cluster) {
            problems.push(missing_cluster(
                format!("{file}: {}: policy_cluster", plugin.at),
                &config.policy_cluster,
            ));
        }
        for (name, upstream) in &config.upstreams {
            if !clusters.contains(&upstream.cluster) {
                problems.push(missing_cluster(
                    format!("{file}: {}: upstream {name:?}", plugin.at),
                    &upstream.cluster,
                ));
            }
        }
        let names = config
            .upstreams
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        for ds in data_sources {
            if !config.upstreams.contains_key(&ds.upstream) {
                problems.push(format!(
                    "data_sources.yaml: data source {:?}: upstream {:?} is not among the upstreams \
                     of {file}'s {} (upstreams: {names}); its requests would fail with 500",
                    ds.name, ds.upstream, plugin.at
                ));
            }
        }
    }
    for ds in data_sources {
        if let Some(why) = bucket_problem(&ds.bucket) {
            problems.push(format!(
                "data_sources.yaml: data source {:?}: bucket {:?} {why}",
                ds.name, ds.bucket
            ));
        }
    }
    problems
}

/// The names of `static_resources.clusters`.
fn clusters(doc: &Value) -> BTreeSet<String> {
    list(doc.get("static_resources").and_then(|r| r.get("clusters")))
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

fn list(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    value
        .and_then(Value::as_sequence)
        .into_iter()
        .flat_map(|s| s.iter())
}

/// Every s3gate wasm filter of every listener's HTTP connection managers.
fn plugins(doc: &Value) -> Vec<Plugin> {
    let mut found = Vec::new();
    let listeners = list(doc.get("static_resources").and_then(|r| r.get("listeners")));
    for listener in listeners {
        let listener_name = listener.get("name").and_then(Value::as_str).unwrap_or("?");
        for chain in list(listener.get("filter_chains")) {
            for network in list(chain.get("filters")) {
                let http_filters = network
                    .get("typed_config")
                    .and_then(|t| t.get("http_filters"));
                for filter in list(http_filters) {
                    let Some(typed) = filter.get("typed_config") else {
                        continue;
                    };
                    if typed.get("@type").and_then(Value::as_str) != Some(WASM_FILTER) {
                        continue;
                    }
                    let config = typed.get("config");
                    let root_id = config
                        .and_then(|c| c.get("root_id"))
                        .and_then(Value::as_str);
                    if root_id != Some(ROOT_ID) {
                        continue;
                    }
                    let name = config
                        .and_then(|c| c.get("name"))
                        .and_then(Value::as_str)
                        .unwrap_or(ROOT_ID);
                    let value = config
                        .and_then(|c| c.get("configuration"))
                        .and_then(|c| c.get("value"))
                        .and_then(Value::as_str);
                    found.push(Plugin {
                        at: format!("listener {listener_name:?}, plugin {name:?}"),
                        config: match value {
                            Some(json) => PluginConfig::parse(json.as_bytes()),
                            None => Err("no configuration value (a JSON string)".into()),
                        },
                    });
                }
            }
        }
    }
    found
}

/// Why S3 would refuse `bucket` as a bucket name (its general-purpose naming rules), if it would.
pub fn bucket_problem(bucket: &str) -> Option<&'static str> {
    let bytes = bucket.as_bytes();
    if !(3..=63).contains(&bytes.len()) {
        return Some("is not 3 to 63 characters long, as S3 bucket names are");
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
    {
        return Some("has characters S3 bucket names do not (only a-z, 0-9, '.', '-')");
    }
    let alnum = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !alnum(bytes.first()) || !alnum(bytes.last()) {
        return Some("does not start and end with a letter or digit, as S3 bucket names do");
    }
    if bucket.contains("..") {
        return Some("has two adjacent periods, which S3 bucket names may not");
    }
    if bucket.split('.').count() == 4 && bucket.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Some("is formatted as an IP address, which S3 bucket names may not be");
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn shipped() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../envoy/envoy.yaml"))
            .unwrap()
    }

    fn demo_sources() -> Vec<DataSourceTarget> {
        ["sales", "customers"]
            .iter()
            .map(|name| DataSourceTarget {
                name: (*name).into(),
                upstream: "demo".into(),
                bucket: "acme-warehouse-prod".into(),
            })
            .collect()
    }

    #[test]
    fn the_shipped_envoy_yaml_fits_the_demo() {
        assert_eq!(
            check(&shipped(), "envoy.yaml", &demo_sources()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_misspelt_policy_cluster_is_named_for_each_listener() {
        let broken = shipped().replace(
            "\"policy_cluster\": \"policy\"",
            "\"policy_cluster\": \"polcy\"",
        );
        let problems = check(&broken, "envoy.yaml", &demo_sources());
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("listener \"s3gate\", plugin \"s3gate\": policy_cluster: cluster \"polcy\" is not defined in envoy.yaml (clusters: policy, s3_demo)"), "{problems:?}");
        assert!(
            problems[1].contains("listener \"s3gate_root\""),
            "{problems:?}"
        );
    }

    #[test]
    fn an_upstream_cluster_and_a_data_sources_upstream_that_do_not_exist() {
        let broken = shipped().replace("{\"cluster\": \"s3_demo\"", "{\"cluster\": \"s3_dem\"");
        let problems = check(&broken, "envoy.yaml", &demo_sources());
        assert!(
            problems
                .iter()
                .all(|p| p.contains("upstream \"demo\": cluster \"s3_dem\"")),
            "{problems:?}"
        );
        assert_eq!(problems.len(), 2);

        let mut sources = demo_sources();
        sources[1].upstream = "warehouse".into();
        let problems = check(&shipped(), "envoy.yaml", &sources);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("data_sources.yaml: data source \"customers\": upstream \"warehouse\" is not among the upstreams of envoy.yaml's listener \"s3gate\", plugin \"s3gate\" (upstreams: demo)"), "{problems:?}");
    }

    #[test]
    fn buckets_s3_would_refuse() {
        for (bucket, bad) in [
            ("acme-warehouse-prod", false),
            ("a.b-c1", false),
            ("ab", true),
            ("Acme", true),
            ("acme_prod", true),
            ("-acme", true),
            ("acme.", true),
            ("a..b", true),
            ("192.168.1.1", true),
            (&"a".repeat(64), true),
        ] {
            assert_eq!(bucket_problem(bucket).is_some(), bad, "{bucket}");
        }
        let mut sources = demo_sources();
        sources[0].bucket = "Acme_Prod".into();
        let problems = check(&shipped(), "envoy.yaml", &sources);
        assert_eq!(problems, vec!["data_sources.yaml: data source \"sales\": bucket \"Acme_Prod\" has characters S3 bucket names do not (only a-z, 0-9, '.', '-')".to_string()]);
    }

    #[test]
    fn no_filter_bad_configuration_and_clusters_from_cds() {
        let problems = check(
            "static_resources: {clusters: []}\n",
            "e.yaml",
            &demo_sources(),
        );
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("no s3gate filter"), "{problems:?}");
        let broken = shipped().replacen(
            "\"policy_timeout_ms\": 2000",
            "\"policy_timeout_ms\": \"2s\"",
            1,
        );
        let problems = check(&broken, "envoy.yaml", &demo_sources());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("listener \"s3gate\", plugin \"s3gate\": s3gate plugin configuration: policy_timeout_ms"), "{problems:?}");
        let cds = shipped().replace(
            "\"policy_cluster\": \"policy\"",
            "\"policy_cluster\": \"elsewhere\"",
        ) + "dynamic_resources:\n  cds_config: {ads: {}}\n";
        let problems = check(&cds, "envoy.yaml", &demo_sources());
        assert!(
            problems.iter().all(|p| p.contains("from CDS")),
            "{problems:?}"
        );
        assert!(check("[unclosed", "e.yaml", &[])[0].starts_with("e.yaml: not valid YAML"));
    }
}
