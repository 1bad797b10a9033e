//! The service's Prometheus metrics, served on a port of their own (`--metrics-listen`):
//! requests by endpoint and status, their latency, reloads and refused reloads, and the policy
//! version served. Labels are fixed names; never a principal, a digest or a path.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use crate::reload::{ReloadStatus, ShadowSet};
use crate::shadow::{Difference, Kind};

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

#[derive(Default)]
struct Counts {
    requests: BTreeMap<(&'static str, u16), u64>,
    /// Per bucket (the last is +Inf), not cumulative.
    latency: [u64; BUCKETS.len() + 1],
    latency_sum: f64,
    /// Decisions compared with the shadow set, those that differed, and differences by kind.
    shadow_compared: u64,
    shadow_differing: u64,
    shadow_differences: BTreeMap<&'static str, u64>,
}

#[derive(Default)]
pub struct Metrics {
    counts: Mutex<Counts>,
}

impl Metrics {
    pub fn record(&self, endpoint: &'static str, status: u16, took: Duration) {
        let Ok(mut counts) = self.counts.lock() else {
            return;
        };
        *counts.requests.entry((endpoint, status)).or_default() += 1;
        let seconds = took.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        if let Some(n) = counts.latency.get_mut(bucket) {
            *n += 1;
        }
        counts.latency_sum += seconds;
    }

    /// One decision compared with the shadow set, and what differed in it.
    pub fn record_shadow(&self, differences: &[Difference]) {
        let Ok(mut counts) = self.counts.lock() else {
            return;
        };
        counts.shadow_compared += 1;
        if !differences.is_empty() {
            counts.shadow_differing += 1;
        }
        for difference in differences {
            *counts
                .shadow_differences
                .entry(difference.kind.as_str())
                .or_default() += 1;
        }
    }

    /// The Prometheus text exposition; the shadow metrics only when shadow policies are on.
    pub fn render(
        &self,
        reloads: &ReloadStatus,
        policy_version: &str,
        shadow: Option<&ShadowSet>,
    ) -> String {
        let mut out = String::new();
        let Ok(counts) = self.counts.lock() else {
            return out;
        };
        out.push_str(
            "# HELP s3gate_policy_requests_total Requests answered, by endpoint and status.\n",
        );
        out.push_str("# TYPE s3gate_policy_requests_total counter\n");
        for ((endpoint, status), n) in &counts.requests {
            let _ = writeln!(
                out,
                "s3gate_policy_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP s3gate_policy_request_seconds Time to answer a request.\n");
        out.push_str("# TYPE s3gate_policy_request_seconds histogram\n");
        let mut cumulative = 0;
        for (i, n) in counts.latency.iter().enumerate() {
            cumulative += n;
            let le = BUCKETS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(
                out,
                "s3gate_policy_request_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "s3gate_policy_request_seconds_sum {}",
            counts.latency_sum
        );
        let _ = writeln!(out, "s3gate_policy_request_seconds_count {cumulative}");
        out.push_str("# HELP s3gate_policy_reloads_total Reloads that loaded a new policy set.\n");
        out.push_str("# TYPE s3gate_policy_reloads_total counter\n");
        let _ = writeln!(out, "s3gate_policy_reloads_total {}", reloads.reloads);
        out.push_str(
            "# HELP s3gate_policy_reload_failures_total Reloads refused: the files were invalid.\n",
        );
        out.push_str("# TYPE s3gate_policy_reload_failures_total counter\n");
        let _ = writeln!(
            out,
            "s3gate_policy_reload_failures_total {}",
            reloads.reload_failures
        );
        out.push_str(
            "# HELP s3gate_policy_serving_older_set 1 while the latest change of the files is refused.\n",
        );
        out.push_str("# TYPE s3gate_policy_serving_older_set gauge\n");
        let _ = writeln!(
            out,
            "s3gate_policy_serving_older_set {}",
            u8::from(reloads.rejected.is_some())
        );
        out.push_str("# HELP s3gate_policy_info The policy version served.\n");
        out.push_str("# TYPE s3gate_policy_info gauge\n");
        let _ = writeln!(
            out,
            "s3gate_policy_info{{policy_version=\"{policy_version}\"}} 1"
        );
        if let Some(shadow) = shadow {
            render_shadow(&mut out, &counts, shadow);
        }
        out
    }
}

fn render_shadow(out: &mut String, counts: &Counts, shadow: &ShadowSet) {
    out.push_str(
        "# HELP s3gate_policy_shadow_decisions_total Decisions also evaluated against the \
         shadow policies.\n",
    );
    out.push_str("# TYPE s3gate_policy_shadow_decisions_total counter\n");
    let _ = writeln!(
        out,
        "s3gate_policy_shadow_decisions_total {}",
        counts.shadow_compared
    );
    out.push_str(
        "# HELP s3gate_policy_shadow_differing_decisions_total Decisions where the shadow \
         policies decide otherwise.\n",
    );
    out.push_str("# TYPE s3gate_policy_shadow_differing_decisions_total counter\n");
    let _ = writeln!(
        out,
        "s3gate_policy_shadow_differing_decisions_total {}",
        counts.shadow_differing
    );
    out.push_str(
        "# HELP s3gate_policy_shadow_differences_total Differences from the shadow policies, \
         by kind.\n",
    );
    out.push_str("# TYPE s3gate_policy_shadow_differences_total counter\n");
    // Every kind, zeros included, so an alert on a rate sees the series from the start.
    for kind in Kind::ALL {
        let kind = kind.as_str();
        let n = counts.shadow_differences.get(kind).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "s3gate_policy_shadow_differences_total{{kind=\"{kind}\"}} {n}"
        );
    }
    out.push_str(
        "# HELP s3gate_policy_shadow_reloads_total Reloads that loaded new shadow policies.\n",
    );
    out.push_str("# TYPE s3gate_policy_shadow_reloads_total counter\n");
    let _ = writeln!(
        out,
        "s3gate_policy_shadow_reloads_total {}",
        shadow.status.reloads
    );
    out.push_str(
        "# HELP s3gate_policy_shadow_reload_failures_total Shadow reloads refused: the files \
         were invalid.\n",
    );
    out.push_str("# TYPE s3gate_policy_shadow_reload_failures_total counter\n");
    let _ = writeln!(
        out,
        "s3gate_policy_shadow_reload_failures_total {}",
        shadow.status.reload_failures
    );
    out.push_str("# HELP s3gate_policy_shadow_info The shadow policy version compared with.\n");
    out.push_str("# TYPE s3gate_policy_shadow_info gauge\n");
    let _ = writeln!(
        out,
        "s3gate_policy_shadow_info{{policy_version=\"{}\"}} 1",
        shadow.policies.version()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    #[test]
    fn requests_latency_and_reloads_are_rendered() {
        let metrics = Metrics::default();
        metrics.record("entitlements", 200, Duration::from_micros(300));
        metrics.record("entitlements", 200, Duration::from_millis(2));
        metrics.record("entitlements", 404, Duration::from_secs(3));
        let mut reloads = ReloadStatus::started(SystemTime::now());
        reloads.reloads = 2;
        let text = metrics.render(&reloads, "abc123", None);
        assert!(text
            .contains("s3gate_policy_requests_total{endpoint=\"entitlements\",status=\"200\"} 2"));
        assert!(text.contains("status=\"404\"} 1"));
        assert!(text.contains("s3gate_policy_request_seconds_bucket{le=\"0.0005\"} 1"));
        assert!(text.contains("s3gate_policy_request_seconds_bucket{le=\"0.0025\"} 2"));
        assert!(text.contains("s3gate_policy_request_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(text.contains("s3gate_policy_request_seconds_count 3"));
        assert!(text.contains("s3gate_policy_reloads_total 2"));
        assert!(text.contains("s3gate_policy_info{policy_version=\"abc123\"} 1"));
        // Without shadow policies, no shadow series.
        assert!(!text.contains("shadow"));
    }

    #[test]
    fn shadow_differences_are_counted_by_kind() {
        let metrics = Metrics::default();
        let difference = |kind| Difference {
            kind,
            data_source: None,
            enforced: serde_json::Value::Null,
            shadow: serde_json::Value::Null,
        };
        metrics.record_shadow(&[]);
        metrics.record_shadow(&[difference(Kind::Masks), difference(Kind::Masks)]);
        metrics.record_shadow(&[difference(Kind::Grant)]);
        let policies = crate::policy::fixtures::demo();
        let shadow = ShadowSet {
            policies: std::sync::Arc::new(policies),
            status: ReloadStatus::started(SystemTime::now()),
        };
        let reloads = ReloadStatus::started(SystemTime::now());
        let text = metrics.render(&reloads, "abc", Some(&shadow));
        assert!(
            text.contains("s3gate_policy_shadow_decisions_total 3\n"),
            "{text}"
        );
        assert!(text.contains("s3gate_policy_shadow_differing_decisions_total 2\n"));
        assert!(text.contains("s3gate_policy_shadow_differences_total{kind=\"masks\"} 2\n"));
        assert!(text.contains("s3gate_policy_shadow_differences_total{kind=\"grant\"} 1\n"));
        assert!(text.contains("s3gate_policy_shadow_differences_total{kind=\"row_filters\"} 0\n"));
        assert!(text.contains(&format!(
            "s3gate_policy_shadow_info{{policy_version=\"{}\"}} 1",
            shadow.policies.version()
        )));
    }
}
