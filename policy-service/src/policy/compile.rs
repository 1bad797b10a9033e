//! One principal's entitlements document, compiled from validated policy files: the data
//! sources it may see, each with the patterns of the object and partition rules that apply and,
//! for a table data source, the masks and row filters that apply (its table spec).

use std::collections::BTreeMap;

use s3gate_core::policy::entitlements::{DataSourceGrant, Entitlements, Format};
use s3gate_core::tables::spec::{ColumnMask, FilterOp, RowFilter, TableFormat, TableSpec};

use super::schema::{covers, DataSource, ObjectRule, Principal, RulesFile};
use super::validate::filter_op;

/// `p`'s document, without the policy version and token key (the store adds those). A
/// disabled principal is granted nothing. An error (a table spec that core refuses) means the
/// principal cannot be served; validation refuses every cause it knows of first.
pub fn compile_principal(
    p: &Principal,
    data_sources: &BTreeMap<&str, &DataSource>,
    rules: &RulesFile,
) -> Result<Entitlements, String> {
    let mut grants = Vec::new();
    if !p.disabled {
        // BTreeMap iteration gives the sorted-by-name order the document promises.
        for ds in data_sources
            .values()
            .filter(|ds| covers(&p.data_sources, &ds.name))
        {
            let (table, table_rules) = table_for(p, ds, rules)
                .map_err(|why| format!("data source {:?}: {why}", ds.name))?;
            let mut applied = object_rules_for(p, &ds.name, rules);
            applied.extend(table_rules);
            grants.push(DataSourceGrant {
                name: ds.name.clone(),
                upstream: ds.upstream.clone(),
                bucket: ds.bucket.clone(),
                prefix: ds.prefix.clone(),
                format: ds.format,
                hidden: patterns_for(p, &ds.name, rules, |r| &r.hide),
                visible: visible_for(p, &ds.name, rules),
                shown: patterns_for(p, &ds.name, rules, |r| &r.show),
                table,
                rules: applied,
            });
        }
    }
    Ok(Entitlements {
        principal: p.name.clone(),
        enabled: !p.disabled,
        ttl_seconds: rules.decision_ttl_seconds,
        data_sources: grants,
        policy_version: String::new(),
        token_key: String::new(),
        signing_key: None,
    })
}

/// Whether `p` is exempt from a mask or row filter: it holds one of `unless_roles`, or one of
/// the values `unless_attributes` lists for one of its attributes.
fn exempt(
    p: &Principal,
    unless_roles: &[String],
    unless_attributes: &BTreeMap<String, Vec<String>>,
) -> bool {
    p.roles.iter().any(|r| unless_roles.contains(r))
        || unless_attributes.iter().any(|(attribute, values)| {
            p.attributes
                .get(attribute)
                .is_some_and(|held| held.iter().any(|v| values.contains(v)))
        })
}

/// The names of the object rules `p` is not exempt from and the partition rule that applies to
/// `p`, on `data_source`, in file order.
fn object_rules_for(p: &Principal, data_source: &str, rules: &RulesFile) -> Vec<String> {
    let holds = |unless: &[String]| p.roles.iter().any(|r| unless.contains(r));
    let objects = rules
        .object_rules
        .iter()
        .filter(|r| covers(&r.data_sources, data_source) && !holds(&r.unless_roles))
        .map(|r| r.name.clone());
    let partitions = rules
        .partition_rules
        .iter()
        .filter(|r| covers(&r.data_sources, data_source) && !holds(&r.unless_roles))
        .map(|r| r.name.clone());
    objects.chain(partitions).collect()
}

/// The table spec of `p`'s view of `ds`: the masks (the first for each column, in file order)
/// and row filters that apply to `p`, attribute references replaced by `p`'s values, with the
/// names of the rules they come from. `None` for a binary data source, or when nothing
/// applies: the objects are then served as they are.
fn table_for(
    p: &Principal,
    ds: &DataSource,
    rules: &RulesFile,
) -> Result<(Option<TableSpec>, Vec<String>), String> {
    let format = match ds.format {
        Format::Csv => TableFormat::Csv(ds.csv.clone().unwrap_or_default()),
        Format::Jsonl => TableFormat::Jsonl {},
        Format::Parquet => TableFormat::Parquet {},
        Format::Binary => return Ok((None, Vec::new())),
    };
    let mut applied = Vec::new();
    let mut masks: Vec<ColumnMask> = Vec::new();
    for rule in &rules.column_masks {
        if !covers(&rule.data_sources, &ds.name)
            || exempt(p, &rule.unless_roles, &rule.unless_attributes)
        {
            continue;
        }
        // Validation refused every mask that did not parse; never drop one silently.
        let mask = rule
            .mask
            .0
            .as_ref()
            .map_err(|e| format!("column mask {:?}: {e}", rule.name))?;
        if !masks.iter().any(|m| m.column == rule.column) {
            applied.push(rule.name.clone());
            masks.push(ColumnMask {
                column: rule.column.clone(),
                mask: mask.clone(),
            });
        }
    }
    let mut row_filters = Vec::new();
    for rule in &rules.row_filters {
        if !covers(&rule.data_sources, &ds.name)
            || exempt(p, &rule.unless_roles, &rule.unless_attributes)
        {
            continue;
        }
        let mut op = filter_op(&rule.op)
            .ok_or_else(|| format!("row filter {:?}: unknown op {:?}", rule.name, rule.op))?;
        let mut values: Vec<String> = Vec::new();
        if let Some(value) = &rule.value {
            values.push(value.clone());
        } else if let Some(list) = &rule.values {
            values.clone_from(list);
        } else if let Some(attribute) = &rule.attribute {
            for value in p.attributes.get(attribute).into_iter().flatten() {
                if !values.contains(value) {
                    values.push(value.clone());
                }
            }
            // A principal without values of the attribute keeps no row, whatever the
            // operator: `not in []` would keep every row of someone the rule says nothing of.
            if values.is_empty() {
                op = FilterOp::In;
            }
        }
        applied.push(rule.name.clone());
        row_filters.push(RowFilter {
            column: rule.column.clone(),
            op,
            values,
        });
    }
    if masks.is_empty() && row_filters.is_empty() {
        return Ok((None, applied));
    }
    let spec = TableSpec {
        format,
        masks,
        row_filters,
    };
    // The filter's own check of what it receives: a spec it would refuse is never sent.
    spec.validate().map_err(|e| e.to_string())?;
    Ok((Some(spec), applied))
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
    use crate::policy::Policies;
    use s3gate_core::policy::entitlements::Format;
    use s3gate_core::tables::spec::{CsvDialect, Mask};

    fn table<'a>(policies: &'a Policies, digest: &str, ds: &str) -> Option<&'a TableSpec> {
        let doc = policies.lookup(digest).unwrap();
        doc.data_source(ds).unwrap().table.as_ref()
    }

    fn masks(spec: &TableSpec) -> Vec<(&str, &Mask)> {
        spec.masks
            .iter()
            .map(|m| (m.column.as_str(), &m.mask))
            .collect()
    }

    fn csv() -> TableFormat {
        TableFormat::Csv(CsvDialect::default())
    }

    fn filter(column: &str, op: FilterOp, values: &[&str]) -> RowFilter {
        RowFilter {
            column: column.to_owned(),
            op,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    const LAST_FOUR: Mask = Mask::Partial {
        keep_first: 0,
        keep_last: 4,
        fill: '*',
    };

    fn names(e: &Entitlements) -> Vec<&str> {
        e.data_sources.iter().map(|d| d.name.as_str()).collect()
    }

    #[test]
    fn alice_sees_her_five_data_sources_with_housekeeping_hidden() {
        let policies = demo();
        let alice = policies.lookup(ALICE).unwrap();
        assert_eq!(alice.principal, "alice");
        assert!(alice.enabled);
        assert_eq!(alice.ttl_seconds, 60);
        assert_eq!(
            names(alice),
            ["customers", "events", "orders", "purchases", "sales"]
        );
        let sales = alice.data_source("sales").unwrap();
        assert_eq!(sales.upstream, "demo");
        assert_eq!(sales.bucket, "acme-warehouse-prod");
        assert_eq!(sales.prefix, "curated/sales/");
        assert_eq!(sales.format, Format::Csv);
        assert_eq!(alice.data_source("events").unwrap().format, Format::Jsonl);
        assert_eq!(alice.data_source("orders").unwrap().format, Format::Parquet);
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
        for ds in ["customers", "documents", "events", "orders", "sales"] {
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
        assert_eq!(
            names(carol),
            [
                "customers",
                "documents",
                "events",
                "orders",
                "purchases",
                "sales"
            ]
        );
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

    #[test]
    fn alice_reads_customers_hashed_and_last_four_events_and_orders_hashed() {
        let policies = demo();
        let customers = table(&policies, ALICE, "customers").unwrap();
        assert_eq!(customers.format, csv());
        // Exempt from ssn-hidden (clearance: support), so ssn-last-four is her ssn mask.
        assert_eq!(
            masks(customers),
            [("email", &Mask::Hash {}), ("ssn", &LAST_FOUR)]
        );
        assert_eq!(
            customers.row_filters,
            [filter("region", FilterOp::In, &["eu", "us"])]
        );
        let events = table(&policies, ALICE, "events").unwrap();
        assert_eq!(events.format, TableFormat::Jsonl {});
        assert_eq!(masks(events), [("user_id", &Mask::Hash {})]);
        assert!(events.row_filters.is_empty());
        let purchases = table(&policies, ALICE, "purchases").unwrap();
        assert_eq!(purchases.format, csv());
        assert_eq!(masks(purchases), [("email", &Mask::Hash {})]);
        assert!(purchases.row_filters.is_empty());
        // Exempt from order-amounts-hidden (clearance: support): the emails only.
        let orders = table(&policies, ALICE, "orders").unwrap();
        assert_eq!(orders.format, TableFormat::Parquet {});
        assert_eq!(masks(orders), [("customer_email", &Mask::Null {})]);
        // No mask or filter on sales: served as is.
        assert_eq!(table(&policies, ALICE, "sales"), None);
    }

    #[test]
    fn erin_reads_eu_customers_only_with_ssn_null_and_email_hashed() {
        let policies = demo();
        let erin = policies.lookup(ERIN).unwrap();
        assert_eq!(names(erin), ["customers", "orders"]);
        let orders = table(&policies, ERIN, "orders").unwrap();
        assert_eq!(orders.format, TableFormat::Parquet {});
        let zero = Mask::Constant { value: "0".into() };
        assert_eq!(
            masks(orders),
            [("customer_email", &Mask::Null {}), ("amount", &zero)]
        );
        let customers = table(&policies, ERIN, "customers").unwrap();
        assert_eq!(
            masks(customers),
            [("email", &Mask::Hash {}), ("ssn", &Mask::Null {})]
        );
        assert_eq!(
            customers.row_filters,
            [filter("region", FilterOp::In, &["eu"])]
        );
    }

    #[test]
    fn carol_and_bob_get_no_table_policy() {
        let policies = demo();
        for ds in [
            "customers",
            "documents",
            "events",
            "orders",
            "purchases",
            "sales",
        ] {
            assert_eq!(table(&policies, CAROL, ds), None, "{ds}");
        }
        assert_eq!(table(&policies, BOB, "sales"), None);
    }

    #[test]
    fn the_demo_document_is_what_the_filter_parses() {
        // The JSON the service sends, read back by the filter's own type.
        let policies = demo();
        let doc = policies.lookup(ERIN).unwrap();
        let json = serde_json::to_string(doc).unwrap();
        assert!(
            json.contains(r#""table":{"format":{"kind":"csv","delimiter":",","quote":"\"","escape":null,"header":true,"terminator":"lf"},"masks":[{"column":"email","mask":{"kind":"hash"}},{"column":"ssn","mask":{"kind":"null"}}],"row_filters":[{"column":"region","op":"in","values":["eu"]}]}"#),
            "{json}"
        );
        let back: Entitlements = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, doc);
    }

    /// The demo with `extra` appended to rules.yaml's table rules.
    fn with_rules(extra: &str) -> Policies {
        load(DATA_SOURCES, &principals(), &format!("{RULES}{extra}")).unwrap()
    }

    #[test]
    fn attribute_filters_resolve_to_the_principals_values_and_lacking_them_keeps_no_row() {
        let p = principals().replace("{region: [eu]}", "{region: [eu], teams: [red, blue, red]}");
        let r = RULES.replace(
            "row_filters:\n",
            "row_filters:\n  - name: teams\n    data_sources: [sales]\n    column: team\n    \
             op: not in\n    attribute: teams\n",
        );
        let policies = load(DATA_SOURCES, &p, &r).unwrap();
        // Bob's values, without repeats.
        assert_eq!(
            table(&policies, BOB, "sales").unwrap().row_filters,
            [filter("team", FilterOp::NotIn, &["red", "blue"])]
        );
        // Alice has no `teams`: `not in` her values would keep every row; she keeps none.
        assert_eq!(
            table(&policies, ALICE, "sales").unwrap().row_filters,
            [filter("team", FilterOp::In, &[])]
        );
        // No unless_roles: carol is filtered too.
        assert_eq!(
            table(&policies, CAROL, "sales").unwrap().row_filters,
            [filter("team", FilterOp::In, &[])]
        );
    }

    #[test]
    fn fixed_filters_and_masks_of_every_kind_compile_as_written() {
        let policies = with_rules(
            r#"  - name: not-test
    data_sources: [sales]
    column: product
    op: "!="
    value: test
  - name: eu-or-uk
    data_sources: [sales]
    column: region
    op: in
    values: [eu, uk]
  - name: amount-zero
    data_sources: [sales]
    column: amount
    op: "="
    values: ["0"]
"#,
        );
        assert_eq!(
            table(&policies, BOB, "sales").unwrap().row_filters,
            [
                filter("product", FilterOp::Ne, &["test"]),
                filter("region", FilterOp::In, &["eu", "uk"]),
                filter("amount", FilterOp::Eq, &["0"]),
            ]
        );
        let r = RULES.replace(
            "row_filters:",
            r##"  - {name: a, data_sources: [sales], column: a, mask: {kind: constant, value: REDACTED}}
  - {name: b, data_sources: [sales], column: b, mask: {kind: regex, pattern: "[0-9]+", replacement: "#"}}
  - {name: c, data_sources: [sales], column: c, mask: {kind: round, to: -2}}
  - {name: d, data_sources: [sales], column: d, mask: {kind: round, to: month}}
  - {name: e, data_sources: [sales], column: e, mask: {kind: format_preserving}}
  - {name: f, data_sources: [sales], column: f, mask: {kind: partial, keep_first: 1, keep_last: 1, fill: "#"}}
  - {name: g, data_sources: [sales], column: g, mask: {kind: "null"}}
  - {name: h, data_sources: [sales], column: h, mask: {kind: ~}}
row_filters:"##,
        );
        let policies = load(DATA_SOURCES, &principals(), &r).unwrap();
        let spec = table(&policies, BOB, "sales").unwrap();
        let json = serde_json::to_string(&spec.masks).unwrap();
        assert_eq!(
            json,
            r##"[{"column":"a","mask":{"kind":"constant","value":"REDACTED"}},{"column":"b","mask":{"kind":"regex","pattern":"[0-9]+","replacement":"#"}},{"column":"c","mask":{"kind":"round","to":-2}},{"column":"d","mask":{"kind":"round","to":"month"}},{"column":"e","mask":{"kind":"format_preserving"}},{"column":"f","mask":{"kind":"partial","keep_first":1,"keep_last":1,"fill":"#"}},{"column":"g","mask":{"kind":"null"}},{"column":"h","mask":{"kind":"null"}}]"##
        );
    }

    #[test]
    fn first_mask_per_column_wins_and_exemptions_are_by_role_or_attribute_value() {
        let r = RULES.replace(
            "row_filters:",
            r#"  - name: email-constant
    data_sources: [customers]
    column: email
    mask: {kind: constant, value: x}
    unless_attributes: {region: [us]}
row_filters:"#,
        );
        let policies = load(DATA_SOURCES, &principals(), &r).unwrap();
        // emails-hashed comes first in the file: erin keeps the hash.
        let erin = table(&policies, ERIN, "customers").unwrap();
        assert_eq!(masks(erin)[0], ("email", &Mask::Hash {}));
        // Carol (steward) is exempt from emails-hashed but not from email-constant.
        let carol = table(&policies, CAROL, "customers").unwrap();
        assert_eq!(
            masks(carol),
            [(
                "email",
                &Mask::Constant {
                    value: "x".to_owned()
                }
            )]
        );
        // No row filter for her: she is a steward.
        assert!(carol.row_filters.is_empty());
        // Alice holds region us: exempt from email-constant.
        let alice = table(&policies, ALICE, "customers").unwrap();
        assert_eq!(masks(alice)[0], ("email", &Mask::Hash {}));
    }

    #[test]
    fn star_covers_the_table_data_sources_only_and_csv_options_are_carried() {
        // Without declared columns, a column is not checked against them.
        let undeclared: String = DATA_SOURCES
            .lines()
            .filter(|l| *l != "    columns:" && !l.starts_with("      "))
            .map(|l| format!("{l}\n"))
            .collect();
        let ds = undeclared.replace(
            "    csv: {delimiter: \",\", header: true}\n",
            "    csv: {delimiter: \";\", quote: \"'\", escape: \"\\\\\", terminator: crlf}\n",
        );
        let r = RULES.replace(
            "row_filters:",
            "  - {name: all, data_sources: [\"*\"], column: name, mask: {kind: \"null\"}}\nrow_filters:",
        );
        let policies = load(&ds, &principals(), &r).unwrap();
        assert_eq!(table(&policies, CAROL, "documents"), None);
        for ds in ["customers", "events", "orders", "sales"] {
            let spec = table(&policies, CAROL, ds).unwrap();
            assert_eq!(masks(spec), [("name", &Mask::Null {})], "{ds}");
        }
        let customers = table(&policies, CAROL, "customers").unwrap();
        assert_eq!(
            customers.format,
            TableFormat::Csv(CsvDialect {
                delimiter: ';',
                quote: '\'',
                escape: Some('\\'),
                header: true,
                terminator: s3gate_core::tables::spec::CsvTerminator::Crlf,
            })
        );
    }
}
