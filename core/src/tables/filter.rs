//! Row filters (docs/tables.md, "Masks and row filters"): whether a record is shown, from one
//! column's value. Fail closed: a record whose column is missing or has no text (JSON null) is
//! dropped whatever the operator, never shown.

use super::mask::Value;
use super::spec::{FilterOp, RowFilter};

impl RowFilter {
    /// Compares the value's text (`Value::text`: a string unescaped, a number as written, so
    /// `1.0` is not `1`; `true`/`false`) with `values`, exactly: case and spaces count.
    pub fn keeps(&self, value: Option<&Value<'_>>) -> bool {
        let Some(text) = value.and_then(Value::text) else {
            return false;
        };
        let listed = self.values.iter().any(|v| v == text);
        match self.op {
            FilterOp::In | FilterOp::Eq => listed,
            FilterOp::NotIn | FilterOp::Ne => !listed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(op: FilterOp, values: &[&str]) -> RowFilter {
        RowFilter {
            column: "region".into(),
            op,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn operators() {
        let eu = Value::Str("eu");
        let us = Value::Str("us");
        let inn = filter(FilterOp::In, &["eu", "uk"]);
        assert!(inn.keeps(Some(&eu)) && !inn.keeps(Some(&us)));
        let not_in = filter(FilterOp::NotIn, &["eu", "uk"]);
        assert!(!not_in.keeps(Some(&eu)) && not_in.keeps(Some(&us)));
        let eq = filter(FilterOp::Eq, &["eu"]);
        assert!(eq.keeps(Some(&eu)) && !eq.keeps(Some(&us)));
        let ne = filter(FilterOp::Ne, &["eu"]);
        assert!(!ne.keeps(Some(&eu)) && ne.keeps(Some(&us)));
        // A principal without the attribute: `in []` keeps nothing, `not in []` every value.
        assert!(!filter(FilterOp::In, &[]).keeps(Some(&eu)));
        assert!(filter(FilterOp::NotIn, &[]).keeps(Some(&eu)));
    }

    #[test]
    fn missing_or_null_is_dropped_by_every_operator() {
        for op in [FilterOp::In, FilterOp::NotIn, FilterOp::Eq, FilterOp::Ne] {
            let f = filter(op, &["eu"]);
            assert!(!f.keeps(None), "{op:?}");
            assert!(!f.keeps(Some(&Value::Null)), "{op:?}");
        }
    }

    #[test]
    fn compares_text_exactly() {
        let f = filter(FilterOp::Eq, &["1"]);
        assert!(f.keeps(Some(&Value::Number("1"))));
        assert!(f.keeps(Some(&Value::Str("1"))));
        assert!(!f.keeps(Some(&Value::Number("1.0"))));
        assert!(!f.keeps(Some(&Value::Number("1e0"))));
        let t = filter(FilterOp::In, &["true"]);
        assert!(t.keeps(Some(&Value::Bool(true))) && !t.keeps(Some(&Value::Bool(false))));
        let eu = filter(FilterOp::Eq, &["eu"]);
        for other in ["EU", " eu", "eu ", ""] {
            assert!(!eu.keeps(Some(&Value::Str(other))), "{other:?}");
        }
        let empty = filter(FilterOp::Eq, &[""]);
        assert!(empty.keeps(Some(&Value::Str(""))));
        let uni = filter(FilterOp::Eq, &["Zürich"]);
        assert!(uni.keeps(Some(&Value::Str("Zürich"))));
        assert!(!uni.keeps(Some(&Value::Str("Zu\u{308}rich"))));
    }
}
