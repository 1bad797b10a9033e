//! Shadow policies: a candidate policy folder evaluated beside the enforced one on every
//! decision, so a change is seen against real traffic before it is enforced. Pure: it compares
//! the two documents of one key and says what differs; `main` logs and counts the differences
//! and always answers from the enforced set.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::policy::LookupError;
use s3gate_core::policy::entitlements::{DataSourceGrant, Entitlements};

/// What differs between the enforced and the shadow decision, one metric label each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// The key is known in one set only, or enabled in one only: every request's outcome.
    Decision,
    /// A data source granted in one set only, or at another location or format.
    Grant,
    /// The object rules: hidden and shown patterns.
    Objects,
    /// The partitions visible (partition rules).
    Partitions,
    Masks,
    RowFilters,
    /// How long the gateway may cache the decision.
    Ttl,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Decision,
        Kind::Grant,
        Kind::Objects,
        Kind::Partitions,
        Kind::Masks,
        Kind::RowFilters,
        Kind::Ttl,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Decision => "decision",
            Kind::Grant => "grant",
            Kind::Objects => "objects",
            Kind::Partitions => "partitions",
            Kind::Masks => "masks",
            Kind::RowFilters => "row_filters",
            Kind::Ttl => "ttl",
        }
    }
}

/// One difference: what the enforced set decides and what the shadow set would.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub kind: Kind,
    /// The data source concerned; `None` for the whole principal (decision, TTL).
    pub data_source: Option<String>,
    pub enforced: Value,
    pub shadow: Value,
}

impl Difference {
    /// The log line's JSON object (one line per difference).
    pub fn log_object(
        &self,
        principal: &str,
        enforced_version: &str,
        shadow_version: &str,
    ) -> Value {
        json!({
            "event": "shadow_difference",
            "principal": principal,
            "data_source": self.data_source,
            "kind": self.kind.as_str(),
            "enforced": self.enforced,
            "shadow": self.shadow,
            "policy_version": enforced_version,
            "shadow_policy_version": shadow_version,
        })
    }
}

/// The principal a lookup names in either set (the enforced one's name first), for the log.
pub fn principal_of<'a>(
    enforced: &Result<&'a Entitlements, LookupError>,
    shadow: &Result<&'a Entitlements, LookupError>,
) -> Option<&'a str> {
    match (enforced, shadow) {
        (Ok(doc), _) | (Err(_), Ok(doc)) => Some(doc.principal.as_str()),
        _ => None,
    }
}

/// Every difference between the two sets' answers for one key digest. Signing and token keys
/// and the policy version differ by construction and are not compared.
pub fn compare(
    enforced: &Result<&Entitlements, LookupError>,
    shadow: &Result<&Entitlements, LookupError>,
) -> Vec<Difference> {
    let (enforced, shadow) = match (enforced, shadow) {
        (Ok(e), Ok(s)) => (*e, *s),
        // Both unknown (or the digest malformed for both): the same refusal.
        (Err(_), Err(_)) => return Vec::new(),
        (e, s) => {
            return vec![Difference {
                kind: Kind::Decision,
                data_source: None,
                enforced: outcome(e),
                shadow: outcome(s),
            }]
        }
    };
    let mut out = Vec::new();
    if enforced.enabled != shadow.enabled || enforced.principal != shadow.principal {
        out.push(Difference {
            kind: Kind::Decision,
            data_source: None,
            enforced: outcome(&Ok(enforced)),
            shadow: outcome(&Ok(shadow)),
        });
    }
    if enforced.ttl_seconds != shadow.ttl_seconds {
        out.push(Difference {
            kind: Kind::Ttl,
            data_source: None,
            enforced: enforced.ttl_seconds.into(),
            shadow: shadow.ttl_seconds.into(),
        });
    }
    let names: BTreeSet<&str> = enforced
        .data_sources
        .iter()
        .chain(&shadow.data_sources)
        .map(|g| g.name.as_str())
        .collect();
    for name in names {
        let grant = |doc: &Entitlements| doc.data_source(name).filter(|_| doc.enabled).cloned();
        compare_grant(name, grant(enforced), grant(shadow), &mut out);
    }
    out
}

/// What a lookup decides, as the log shows it.
fn outcome(lookup: &Result<&Entitlements, LookupError>) -> Value {
    match lookup {
        Ok(doc) if doc.enabled => json!({
            "principal": doc.principal,
            "enabled": true,
            "data_sources": doc.data_sources.iter().map(|g| &g.name).collect::<Vec<_>>(),
        }),
        Ok(doc) => json!({"principal": doc.principal, "enabled": false}),
        Err(LookupError::UnknownKey) => "unknown key".into(),
        Err(LookupError::MalformedDigest) => "malformed digest".into(),
    }
}

fn compare_grant(
    name: &str,
    enforced: Option<DataSourceGrant>,
    shadow: Option<DataSourceGrant>,
    out: &mut Vec<Difference>,
) {
    let mut differ = |kind, enforced: Value, shadow: Value| {
        if enforced != shadow {
            out.push(Difference {
                kind,
                data_source: Some(name.to_owned()),
                enforced,
                shadow,
            });
        }
    };
    let (e, s) = match (enforced, shadow) {
        (Some(e), Some(s)) => (e, s),
        (e, s) => {
            let granted =
                |g: &Option<DataSourceGrant>| if g.is_some() { "visible" } else { "denied" };
            return differ(Kind::Grant, granted(&e).into(), granted(&s).into());
        }
    };
    let location = |g: &DataSourceGrant| {
        json!({
            "upstream": g.upstream,
            "bucket": g.bucket,
            "prefix": g.prefix,
            "format": g.format,
            "table_format": g.table.as_ref().map(|t| &t.format),
        })
    };
    differ(Kind::Grant, location(&e), location(&s));
    let objects = |g: &DataSourceGrant| json!({"hidden": g.hidden, "shown": g.shown});
    differ(Kind::Objects, objects(&e), objects(&s));
    differ(Kind::Partitions, json!(e.visible), json!(s.visible));
    let masks = |g: &DataSourceGrant| {
        json!(g
            .table
            .as_ref()
            .map(|t| &t.masks)
            .cloned()
            .unwrap_or_default())
    };
    differ(Kind::Masks, masks(&e), masks(&s));
    let filters = |g: &DataSourceGrant| {
        json!(g
            .table
            .as_ref()
            .map(|t| &t.row_filters)
            .cloned()
            .unwrap_or_default())
    };
    differ(Kind::RowFilters, filters(&e), filters(&s));
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::policy::fixtures::*;
    use crate::policy::Policies;

    fn diffs(enforced: &Policies, shadow: &Policies, digest: &str) -> Vec<Difference> {
        compare(&enforced.lookup(digest), &shadow.lookup(digest))
    }

    fn kinds(d: &[Difference]) -> Vec<(Kind, Option<&str>)> {
        d.iter()
            .map(|d| (d.kind, d.data_source.as_deref()))
            .collect()
    }

    #[test]
    fn the_same_policies_differ_in_nothing_not_even_in_comments() {
        let a = demo();
        let b = load(
            &format!("{DATA_SOURCES}# a comment\n"),
            &principals(),
            RULES,
        )
        .unwrap();
        assert_ne!(a.version(), b.version());
        for digest in [ALICE, BOB, CAROL, DAVE, ERIN, &"0".repeat(64)] {
            assert_eq!(diffs(&a, &b, digest), Vec::new(), "{digest}");
        }
    }

    #[test]
    fn a_removed_mask_is_a_masks_difference_of_that_data_source_only() {
        let enforced = demo();
        let rules = RULES.replacen("mask: {kind: hash}", "mask: {kind: null}", 1);
        assert_ne!(rules, RULES, "the fixture hashes emails");
        let shadow = load(DATA_SOURCES, &principals(), &rules).unwrap();
        let d = diffs(&enforced, &shadow, ALICE);
        assert!(!d.is_empty());
        assert!(d.iter().all(|d| d.kind == Kind::Masks), "{d:?}");
        let masked = d
            .iter()
            .find(|d| d.data_source.as_deref() == Some("customers"))
            .unwrap();
        let email = |masks: &Value| {
            let masks = masks.as_array().unwrap();
            let mask = masks.iter().find(|m| m["column"] == "email").unwrap();
            mask.to_string()
        };
        assert!(
            email(&masked.enforced).contains("hash"),
            "{}",
            masked.enforced
        );
        assert!(email(&masked.shadow).contains("null"), "{}", masked.shadow);
        // A steward is unmasked either way.
        assert_eq!(diffs(&enforced, &shadow, CAROL), Vec::new());
    }

    #[test]
    fn a_grant_added_or_a_principal_removed_says_visible_or_denied() {
        let enforced = demo();
        let granted =
            principals().replacen("data_sources: [sales]", "data_sources: [sales, events]", 1);
        assert_ne!(granted, principals());
        let shadow = load(DATA_SOURCES, &granted, RULES).unwrap();
        let d = diffs(&enforced, &shadow, BOB);
        assert_eq!(kinds(&d), vec![(Kind::Grant, Some("events"))]);
        assert_eq!(
            (d[0].enforced.as_str(), d[0].shadow.as_str()),
            (Some("denied"), Some("visible"))
        );
        // And the other way round, with the enforced set as the shadow.
        let back = diffs(&shadow, &enforced, BOB);
        assert_eq!(
            (back[0].enforced.as_str(), back[0].shadow.as_str()),
            (Some("visible"), Some("denied"))
        );
    }

    #[test]
    fn unknown_in_one_set_is_a_decision_difference() {
        let enforced = demo();
        let d = compare(&enforced.lookup(BOB), &Err(LookupError::UnknownKey));
        assert_eq!(kinds(&d), vec![(Kind::Decision, None)]);
        assert_eq!(d[0].shadow, "unknown key");
        assert_eq!(d[0].enforced["principal"], "bob");
        assert_eq!(
            principal_of(&enforced.lookup(BOB), &Err(LookupError::UnknownKey)),
            Some("bob")
        );
        assert_eq!(
            principal_of(&Err(LookupError::UnknownKey), &enforced.lookup(BOB)),
            Some("bob")
        );
    }

    #[test]
    fn partitions_row_filters_ttl_and_objects_are_told_apart() {
        let enforced = demo();
        let wider = principals().replacen("region: [eu]", "region: [eu, us]", 1);
        assert_ne!(wider, principals());
        let shadow = load(DATA_SOURCES, &wider, RULES).unwrap();
        let d = diffs(&enforced, &shadow, BOB);
        assert_eq!(kinds(&d), vec![(Kind::Partitions, Some("sales"))], "{d:?}");

        let ttl = load(
            DATA_SOURCES,
            &principals(),
            &RULES.replace("decision_ttl_seconds: 60", "decision_ttl_seconds: 30"),
        )
        .unwrap();
        assert_ne!(ttl.lookup(BOB).unwrap().ttl_seconds, 60);
        assert_eq!(kinds(&diffs(&enforced, &ttl, BOB)), vec![(Kind::Ttl, None)]);

        let hide = load(
            DATA_SOURCES,
            &principals(),
            &RULES.replace("\"*.crc\"", "\"*.tmp\""),
        )
        .unwrap();
        let d = diffs(&enforced, &hide, BOB);
        assert_eq!(kinds(&d), vec![(Kind::Objects, Some("sales"))], "{d:?}");
    }

    #[test]
    fn the_log_line_names_principal_data_source_kind_and_both_sides() {
        let d = Difference {
            kind: Kind::RowFilters,
            data_source: Some("customers".into()),
            enforced: json!([{"column": "region"}]),
            shadow: json!([]),
        };
        let line = d.log_object("alice", "v1", "v2");
        assert_eq!(line["event"], "shadow_difference");
        assert_eq!(line["principal"], "alice");
        assert_eq!(line["data_source"], "customers");
        assert_eq!(line["kind"], "row_filters");
        assert_eq!(line["enforced"][0]["column"], "region");
        assert_eq!(line["shadow"], json!([]));
        assert_eq!(
            (
                line["policy_version"].as_str(),
                line["shadow_policy_version"].as_str()
            ),
            (Some("v1"), Some("v2"))
        );
    }
}
