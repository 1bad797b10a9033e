//! One principal's entitlements document, compiled from validated policy files: the data
//! sources it may see, each with the patterns of the object and partition rules that apply.

use std::collections::BTreeMap;

use s3gate_core::policy::entitlements::{DataSourceGrant, Entitlements};

use super::schema::{covers, DataSource, ObjectRule, Principal, RulesFile};

/// `p`'s document, without the policy version and token key (the store adds those). A
/// disabled principal is granted nothing.
pub fn compile_principal(
    p: &Principal,
    data_sources: &BTreeMap<&str, &DataSource>,
    rules: &RulesFile,
) -> Entitlements {
    let grants = if p.disabled {
        Vec::new()
    } else {
        // BTreeMap iteration gives the sorted-by-name order the document promises.
        data_sources
            .values()
            .filter(|ds| covers(&p.data_sources, &ds.name))
            .map(|ds| DataSourceGrant {
                name: ds.name.clone(),
                upstream: ds.upstream.clone(),
                bucket: ds.bucket.clone(),
                prefix: ds.prefix.clone(),
                format: ds.format,
                hidden: patterns_for(p, &ds.name, rules, |r| &r.hide),
                visible: visible_for(p, &ds.name, rules),
                shown: patterns_for(p, &ds.name, rules, |r| &r.show),
                table: None,
            })
            .collect()
    };
    Entitlements {
        principal: p.name.clone(),
        enabled: !p.disabled,
        ttl_seconds: rules.decision_ttl_seconds,
        data_sources: grants,
        policy_version: String::new(),
        token_key: String::new(),
        signing_key: None,
    }
}

/// What the partition rule on `data_source` lets `p` see: one pattern per value of the rule's
/// attribute, so a principal lacking the attribute sees no partition (`Some([])`). `None`
/// when no partition rule applies or `p` is exempt.
fn visible_for(p: &Principal, data_source: &str, rules: &RulesFile) -> Option<Vec<String>> {
    // Validation allows at most one partition rule per data source.
    let rule = rules
        .partition_rules
        .iter()
        .find(|r| covers(&r.data_sources, data_source))?;
    if p.roles.iter().any(|r| rule.unless_roles.contains(r)) {
        return None;
    }
    let mut visible: Vec<String> = Vec::new();
    for value in p.attributes.get(&rule.attribute).into_iter().flatten() {
        let pattern = format!("{}={value}/**", rule.partition);
        if !visible.contains(&pattern) {
            visible.push(pattern);
        }
    }
    Some(visible)
}

/// The `hide` (or `show`) patterns of every object rule on `data_source` that `p` is not exempt
/// from, in file order, without repeats. Several include rules on one data source add up (an
/// object matching any of their patterns is shown).
fn patterns_for(
    p: &Principal,
    data_source: &str,
    rules: &RulesFile,
    field: impl Fn(&ObjectRule) -> &Vec<String>,
) -> Vec<String> {
    let mut patterns: Vec<String> = Vec::new();
    for rule in &rules.object_rules {
        let exempt = p.roles.iter().any(|r| rule.unless_roles.contains(r));
        if covers(&rule.data_sources, data_source) && !exempt {
            for pattern in field(rule) {
                if !patterns.contains(pattern) {
                    patterns.push(pattern.clone());
                }
            }
        }
    }
    patterns
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::policy::fixtures::*;
    use crate::policy::schema::DEFAULT_TTL_SECONDS;
    use s3gate_core::policy::entitlements::Format;

    fn names(e: &Entitlements) -> Vec<&str> {
        e.data_sources.iter().map(|d| d.name.as_str()).collect()
    }

    #[test]
    fn alice_sees_her_three_data_sources_with_housekeeping_hidden() {
        let policies = demo();
        let alice = policies.lookup(ALICE).unwrap();
        assert_eq!(alice.principal, "alice");
        assert!(alice.enabled);
        assert_eq!(alice.ttl_seconds, 60);
        assert_eq!(names(alice), ["customers", "events", "sales"]);
        let sales = alice.data_source("sales").unwrap();
        assert_eq!(sales.upstream, "demo");
        assert_eq!(sales.bucket, "acme-warehouse-prod");
        assert_eq!(sales.prefix, "curated/sales/");
        assert_eq!(sales.format, Format::Csv);
        assert_eq!(alice.data_source("events").unwrap().format, Format::Jsonl);
        for ds in &alice.data_sources {
            assert_eq!(ds.hidden, ["_SUCCESS", "*.crc"], "{}", ds.name);
        }
    }

    #[test]
    fn bob_sees_sales_only() {
        let policies = demo();
        let bob = policies.lookup(BOB).unwrap();
        assert_eq!(names(bob), ["sales"]);
        assert_eq!(bob.data_sources[0].hidden, ["_SUCCESS", "*.crc"]);
    }

    #[test]
    fn partition_rule_limits_bob_to_his_region_and_alice_to_hers() {
        let policies = demo();
        assert_eq!(
            visible(&policies, BOB, "sales"),
            Some(&["region=eu/**".to_owned()][..])
        );
        assert_eq!(
            visible(&policies, ALICE, "sales"),
            Some(&["region=eu/**".to_owned(), "region=us/**".to_owned()][..])
        );
        // Only where the rule applies.
        assert_eq!(visible(&policies, ALICE, "customers"), None);
        // Housekeeping rules still apply next to it.
        let bob = policies.lookup(BOB).unwrap();
        assert_eq!(bob.data_sources[0].hidden, ["_SUCCESS", "*.crc"]);
        let sales = bob.data_source("sales").unwrap();
        assert!(sales.is_visible("region=eu/part-00000.csv"));
        assert!(!sales.is_visible("region=us/part-00000.csv"));
        assert!(!sales.is_visible("region=eu/_SUCCESS"));
    }

    #[test]
    fn stewards_are_exempt_from_partition_rules() {
        let policies = demo();
        for ds in ["customers", "documents", "events", "sales"] {
            assert_eq!(visible(&policies, CAROL, ds), None, "{ds}");
        }
    }

    #[test]
    fn principal_without_the_attribute_sees_no_partition() {
        let p = principals().replace("    attributes: {region: [eu]}\n", "");
        let policies = load(DATA_SOURCES, &p, RULES).unwrap();
        assert_eq!(visible(&policies, BOB, "sales"), Some(&[][..]));
        // The same for an empty list.
        let p = principals().replace("{region: [eu]}", "{region: []}");
        let policies = load(DATA_SOURCES, &p, RULES).unwrap();
        assert_eq!(visible(&policies, BOB, "sales"), Some(&[][..]));
        // Another attribute is not the rule's attribute.
        let p = principals().replace("{region: [eu]}", "{team: [eu]}");
        let policies = load(DATA_SOURCES, &p, RULES).unwrap();
        assert_eq!(visible(&policies, BOB, "sales"), Some(&[][..]));
    }

    #[test]
    fn partition_patterns_follow_the_rule_and_drop_repeats() {
        let r = RULES
            .replace("data_sources: [sales]", "data_sources: [\"*\"]")
            .replace("partition: region", "partition: country")
            .replace("attribute: region", "attribute: countries");
        let p = principals().replace("{region: [eu]}", "{countries: [de, fr, de]}");
        let policies = load(DATA_SOURCES, &p, &r).unwrap();
        let expected = ["country=de/**".to_owned(), "country=fr/**".to_owned()];
        assert_eq!(visible(&policies, BOB, "sales"), Some(&expected[..]));
        // "*" covers every data source alice sees; she has no `countries`.
        for ds in ["customers", "events", "sales"] {
            assert_eq!(visible(&policies, ALICE, ds), Some(&[][..]), "{ds}");
        }
    }

    #[test]
    fn carol_the_steward_sees_everything_with_nothing_hidden() {
        let policies = demo();
        let carol = policies.lookup(CAROL).unwrap();
        assert!(carol.enabled);
        assert_eq!(names(carol), ["customers", "documents", "events", "sales"]);
        assert!(carol.data_sources.iter().all(|d| d.hidden.is_empty()));
        let docs = carol.data_source("documents").unwrap();
        assert_eq!(docs.bucket, "acme-docs-archive");
        assert_eq!(docs.format, Format::Binary);
    }

    #[test]
    fn dave_is_known_but_disabled_with_nothing_granted() {
        let policies = demo();
        let dave = policies.lookup(DAVE).unwrap();
        assert_eq!(dave.principal, "dave");
        assert!(!dave.enabled);
        assert!(dave.data_sources.is_empty());
    }

    #[test]
    fn disabled_principal_gets_nothing_even_with_data_sources_listed() {
        let p = principals().replace(
            "    disabled: true",
            "    data_sources: [\"*\"]\n    disabled: true",
        );
        let policies = load(DATA_SOURCES, &p, RULES).unwrap();
        let dave = policies.lookup(DAVE).unwrap();
        assert!(!dave.enabled);
        assert!(dave.data_sources.is_empty());
    }

    #[test]
    fn rules_apply_per_data_source_and_exemption_is_per_role() {
        let rules = r#"
roles: [analyst, steward, auditor]
object_rules:
  - name: sales-staging
    data_sources: [sales]
    hide: ["staging/**", "*.crc"]
    unless_roles: [auditor]
  - name: crc
    data_sources: ["*"]
    hide: ["*.crc"]
"#;
        let policies = load(DATA_SOURCES, &principals(), rules).unwrap();
        let alice = policies.lookup(ALICE).unwrap();
        // Rules in file order, repeats dropped.
        assert_eq!(
            alice.data_source("sales").unwrap().hidden,
            ["staging/**", "*.crc"]
        );
        assert_eq!(alice.data_source("events").unwrap().hidden, ["*.crc"]);
        // No unless_roles: the rule applies to stewards too.
        let carol = policies.lookup(CAROL).unwrap();
        assert_eq!(carol.data_source("documents").unwrap().hidden, ["*.crc"]);
        assert_eq!(
            policies.lookup(ALICE).unwrap().ttl_seconds,
            DEFAULT_TTL_SECONDS
        );
    }

    #[test]
    fn show_rules_become_include_patterns() {
        let r = RULES.replace(
            "partition_rules:",
            "  - name: csv-only\n    data_sources: [sales]\n    show: [\"**/*.csv\"]\n    unless_roles: [steward]\npartition_rules:",
        );
        let policies = load(DATA_SOURCES, &principals(), &r).unwrap();
        let alice = policies.lookup(ALICE).unwrap();
        let sales = alice.data_source("sales").unwrap();
        assert_eq!(sales.shown, vec!["**/*.csv".to_string()]);
        assert!(sales.is_visible("region=eu/part-0.csv"));
        assert!(!sales.is_visible("region=eu/notes.txt"));
        assert!(alice.data_source("customers").unwrap().shown.is_empty());
        let carol = policies.lookup(CAROL).unwrap();
        assert!(
            carol.data_source("sales").unwrap().shown.is_empty(),
            "stewards are exempt"
        );
        let bad = r.replace("\"**/*.csv\"", "\"/x\"");
        let e = errors(DATA_SOURCES, &principals(), &bad);
        assert!(e.contains("bad show pattern"), "{e}");
    }
}
