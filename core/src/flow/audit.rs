//! One audit record per request: what was asked, by whom, and what the gateway decided. The
//! record is written as stream properties (filter state `wasm.s3gate_*`) that the access log
//! reads at the stream's end (envoy.yaml, docs/operations.md), so audit lines go wherever the
//! operator's access logs go. Envoy adds what it knows itself: time, source address, user
//! agent, status, bytes, duration.
//!
//! Fields name virtual things only (bucket, key, data source), except `s3gate_upstream_target`,
//! the operator's field. Never a key, a secret or a signature: the key appears as a prefix of
//! its SHA-256 digest, which the policy files hold too (`key_sha256`).
//!
//! Rows filtered are recorded as the row filters' conditions (`region:in:eu`), which say which
//! rows the principal was shown, rather than as a count of rows dropped: the record's decision
//! is made before any row is read, a ranged read or a client that stops early sees only part
//! of the object (a count would understate what the filter hides), and a HEAD or a listing
//! reads no rows at all.

use super::host::{Command, Counter, Host, StreamId};
use crate::policy::entitlements::DataSourceGrant;
use crate::s3::request::{ListVersion, Operation};
use crate::tables::spec::{FilterOp, RowFilter};

/// How many hex digits of the key's digest the record keeps: enough to tell keys apart in an
/// investigation, too few to be a lookup key.
pub const KEY_DIGEST_PREFIX: usize = 12;

/// The gateway's decision on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Audit {
    principal: Option<String>,
    key_digest: Option<String>,
    signature: Option<&'static str>,
    operation: Option<&'static str>,
    bucket: Option<String>,
    key: Option<String>,
    data_source: Option<String>,
    verdict: Option<(Verdict, &'static str)>,
    rules: Option<String>,
    masks: Option<String>,
    row_filters: Option<String>,
    upstream_target: Option<String>,
    /// Something changed since the last `flush`.
    dirty: bool,
}

impl Audit {
    pub(crate) fn key_digest(&mut self, digest: &str) {
        let prefix = digest.get(..KEY_DIGEST_PREFIX).unwrap_or(digest);
        self.key_digest = Some(prefix.to_string());
        self.dirty = true;
    }

    pub(crate) fn signature(&mut self, how: &'static str) {
        self.signature = Some(how);
        self.dirty = true;
    }

    pub(crate) fn principal(&mut self, name: &str) {
        self.principal = Some(name.to_string());
        self.dirty = true;
    }

    /// The operation, the virtual `bucket` and the virtual key or listing prefix it names.
    pub(crate) fn operation(&mut self, operation: &Operation, bucket: &str) {
        if *operation != Operation::ListBuckets {
            self.bucket = Some(bucket.to_string());
        }
        let (name, key) = match operation {
            Operation::ListBuckets => ("ListBuckets", None),
            Operation::HeadBucket => ("HeadBucket", None),
            Operation::GetBucketLocation => ("GetBucketLocation", None),
            Operation::ListObjects(p) => match p.version {
                ListVersion::V1 => ("ListObjects", Some(&p.prefix)),
                ListVersion::V2 => ("ListObjectsV2", Some(&p.prefix)),
            },
            Operation::GetObject { key } => ("GetObject", Some(key)),
            Operation::HeadObject { key } => ("HeadObject", Some(key)),
        };
        self.operation = Some(name);
        if let Some(key) = key {
            self.key = Some(key.clone());
            let first = key.split('/').next().unwrap_or_default();
            if !first.is_empty() {
                self.data_source = Some(first.to_string());
            }
        }
        self.dirty = true;
    }

    /// The grant of the data source the request names: its rules, masks and row filters.
    pub(crate) fn grant(&mut self, grant: &DataSourceGrant) {
        self.rules = (!grant.rules.is_empty()).then(|| grant.rules.join(","));
        if let Some(table) = &grant.table {
            let masks: Vec<String> = table
                .masks
                .iter()
                .map(|m| format!("{}:{}", m.column, m.mask.kind()))
                .collect();
            let filters: Vec<String> = table.row_filters.iter().map(condition).collect();
            self.masks = (!masks.is_empty()).then(|| masks.join(","));
            self.row_filters = (!filters.is_empty()).then(|| filters.join(","));
        }
        self.dirty = true;
    }

    pub(crate) fn upstream_target(&mut self, upstream: &str, path: &str) {
        let path = path.split('?').next().unwrap_or_default();
        self.upstream_target = Some(format!("{upstream}:{path}"));
        self.dirty = true;
    }

    /// The decision, once: the first one made stands (a request allowed that then fails
    /// upstream stays allowed; its status tells the rest). Counted when made.
    pub(crate) fn decide(&mut self, host: &mut dyn Host, verdict: Verdict, reason: &'static str) {
        if self.verdict.is_some() {
            return;
        }
        self.verdict = Some((verdict, reason));
        self.dirty = true;
        let operation = self.operation.unwrap_or("Unknown");
        host.count(
            Counter::Requests {
                operation,
                decision: verdict.as_str(),
            },
            1,
        );
        if verdict == Verdict::Deny {
            host.count(Counter::Denied { reason }, 1);
        }
    }

    /// The decision for the opt-in decision header: `allow granted; rules=a,b`, or `None`
    /// before one is made.
    pub(crate) fn header_value(&self) -> Option<String> {
        let (verdict, reason) = self.verdict?;
        let rules = self.rules.as_deref().unwrap_or("");
        Some(format!("{} {reason}; rules={rules}", verdict.as_str()))
    }

    /// Writes the record's fields as stream properties, if anything changed.
    pub(crate) fn flush(&mut self, host: &mut dyn Host, stream: StreamId) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let (verdict, reason) = match self.verdict {
            Some((v, r)) => (Some(v.as_str()), Some(r)),
            None => (None, None),
        };
        let fields: [(&str, Option<&str>); 13] = [
            ("s3gate_principal", self.principal.as_deref()),
            ("s3gate_key_digest", self.key_digest.as_deref()),
            ("s3gate_signature", self.signature),
            ("s3gate_operation", self.operation),
            ("s3gate_bucket", self.bucket.as_deref()),
            ("s3gate_key", self.key.as_deref()),
            ("s3gate_data_source", self.data_source.as_deref()),
            ("s3gate_decision", verdict),
            ("s3gate_reason", reason),
            ("s3gate_rules", self.rules.as_deref()),
            ("s3gate_masks", self.masks.as_deref()),
            ("s3gate_row_filters", self.row_filters.as_deref()),
            ("s3gate_upstream_target", self.upstream_target.as_deref()),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                host.command(stream, Command::SetProperty(name, value.as_bytes()));
            }
        }
    }
}

/// A row filter as the record shows it: `column:op:value|value` (op as the table spec names
/// it: `in`, `not_in`, `eq`, `ne`; the policy files' `=` is `eq`, `!=` is `ne`); `region:in:` keeps no row. `%`, `,`, `:` and `|` in the
/// column or a value are percent-encoded, so the field splits back unambiguously.
fn condition(filter: &RowFilter) -> String {
    let op = match filter.op {
        FilterOp::In => "in",
        FilterOp::NotIn => "not_in",
        FilterOp::Eq => "eq",
        FilterOp::Ne => "ne",
    };
    let values: Vec<String> = filter.values.iter().map(|v| escaped(v)).collect();
    format!("{}:{op}:{}", escaped(&filter.column), values.join("|"))
}

fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' | ',' | ':' | '|' => out.push_str(&format!("%{:02X}", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(column: &str, op: FilterOp, values: &[&str]) -> RowFilter {
        RowFilter {
            column: column.into(),
            op,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn a_row_filter_is_recorded_as_its_condition() {
        assert_eq!(
            condition(&filter("region", FilterOp::In, &["eu", "us"])),
            "region:in:eu|us"
        );
        assert_eq!(
            condition(&filter("tier", FilterOp::NotIn, &[])),
            "tier:not_in:"
        );
        assert_eq!(condition(&filter("a", FilterOp::Eq, &["x"])), "a:eq:x");
        assert_eq!(condition(&filter("a", FilterOp::Ne, &["x"])), "a:ne:x");
    }

    #[test]
    fn separators_in_a_column_or_value_are_encoded() {
        assert_eq!(
            condition(&filter("a:b", FilterOp::In, &["x,y", "p|q", "50%"])),
            "a%3Ab:in:x%2Cy|p%7Cq|50%25"
        );
    }
}
