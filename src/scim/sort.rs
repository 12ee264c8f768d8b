//! The order of a sorted list (RFC 7644 §3.4.2.3), as one rule for every resource type
//! and both places a list is sorted (the store's `ORDER BY` and the in-memory finisher):
//! - the key is the attribute's value (a multi-valued attribute's primary value, else its
//!   first), case-folded unless the attribute is `caseExact`, compared by code point;
//! - resources with no value are "ordered last if ascending and first if descending";
//! - ties keep id order (ascending) in both directions, so pages are stable.

use std::cmp::Ordering;

use serde_json::Value;

use crate::domain::fold;
use crate::scim::attrs::SchemaInfo;
use crate::scim::filter::AttrPath;
use crate::scim::json::{get_ci, lenient_bool};

/// A `sortBy` with its `sortOrder`.
#[derive(Debug, Clone, PartialEq)]
pub struct SortSpec {
    pub path: AttrPath,
    pub descending: bool,
}

/// Compares two sort keys: a missing value is greater than every value, so that it comes
/// last when ascending and, the whole order reversed, first when descending.
pub fn compare_keys(a: Option<&str>, b: Option<&str>, descending: bool) -> Ordering {
    let ascending = match (a, b) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    if descending { ascending.reverse() } else { ascending }
}

/// The sort key of a rendered resource.
pub fn sort_key(resource: &Value, path: &AttrPath, schema: &dyn SchemaInfo) -> Option<String> {
    let Value::Object(o) = resource else {
        return None;
    };
    let case_exact =
        schema.attribute(path.urn.as_deref(), &path.name, path.sub.as_deref()).is_some_and(|a| a.case_exact);
    let holder = match &path.urn {
        Some(u) if !u.eq_ignore_ascii_case(schema.core_urn()) => match get_ci(o, u) {
            Some(Value::Object(e)) => e,
            _ => return None,
        },
        _ => o,
    };
    let mut v = get_ci(holder, &path.name)?;
    if let Value::Array(a) = v {
        v = a
            .iter()
            .find(|e| e.as_object().and_then(|m| get_ci(m, "primary")).and_then(lenient_bool) == Some(true))
            .or(a.first())?;
    }
    if let Some(sub) = &path.sub {
        v = get_ci(v.as_object()?, sub)?;
    } else if let Value::Object(m) = v {
        v = get_ci(m, "value")?;
    }
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Null => return None,
        other => other.to_string(),
    };
    Some(if case_exact { s } else { fold(&s) })
}

/// Sorts rendered resources that arrive in id order; the sort is stable, so ties keep it.
pub fn sort(resources: &mut Vec<Value>, spec: &SortSpec, schema: &dyn SchemaInfo) {
    let mut keyed: Vec<(Option<String>, Value)> =
        resources.drain(..).map(|r| (sort_key(&r, &spec.path, schema), r)).collect();
    keyed.sort_by(|a, b| compare_keys(a.0.as_deref(), b.0.as_deref(), spec.descending));
    resources.extend(keyed.into_iter().map(|(_, r)| r));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::filter::parse_attr_path;
    use crate::scim::schema::{GroupSchema, UserSchema};

    fn spec(path: &str, descending: bool) -> SortSpec {
        SortSpec { path: parse_attr_path(path).unwrap(), descending }
    }

    fn ids(v: &[Value]) -> Vec<&str> {
        v.iter().map(|r| r["id"].as_str().unwrap()).collect()
    }

    fn users() -> Vec<Value> {
        vec![
            json!({"id": "1", "userName": "b", "title": "Zed"}),
            json!({"id": "2", "userName": "a"}),
            json!({"id": "3", "userName": "C", "title": "alpha"}),
            json!({"id": "4", "userName": "d", "title": "zed"}),
        ]
    }

    #[test]
    fn missing_values_are_last_ascending_and_first_descending() {
        let mut v = users();
        sort(&mut v, &spec("title", false), &UserSchema);
        assert_eq!(ids(&v), ["3", "1", "4", "2"]);
        let mut v = users();
        sort(&mut v, &spec("title", true), &UserSchema);
        assert_eq!(ids(&v), ["2", "1", "4", "3"]);
    }

    #[test]
    fn ties_keep_id_order_in_both_directions() {
        // "Zed" and "zed" fold to one key (title is caseExact=false): ids 1 then 4 either way.
        let mut asc = users();
        sort(&mut asc, &spec("title", false), &UserSchema);
        let mut desc = users();
        sort(&mut desc, &spec("title", true), &UserSchema);
        let pos = |v: &[Value], id: &str| ids(v).iter().position(|i| *i == id).unwrap();
        assert!(pos(&asc, "1") < pos(&asc, "4"));
        assert!(pos(&desc, "1") < pos(&desc, "4"));
    }

    #[test]
    fn case_exact_attributes_sort_by_code_point_and_others_folded() {
        let mut v = vec![json!({"id": "1", "externalId": "b"}), json!({"id": "2", "externalId": "B"})];
        sort(&mut v, &spec("externalId", false), &UserSchema);
        assert_eq!(ids(&v), ["2", "1"], "externalId is caseExact: 'B' < 'b'");
        let mut v = users();
        sort(&mut v, &spec("userName", false), &UserSchema);
        assert_eq!(ids(&v), ["2", "1", "3", "4"], "userName folds: a, b, C, d");
    }

    #[test]
    fn groups_follow_the_same_rule() {
        let mut v = vec![
            json!({"id": "1", "displayName": "b", "externalId": "x"}),
            json!({"id": "2", "displayName": "A"}),
            json!({"id": "3", "displayName": "B", "externalId": "X"}),
        ];
        sort(&mut v, &spec("externalId", true), &GroupSchema);
        assert_eq!(ids(&v), ["2", "1", "3"], "missing first when descending; 'x' > 'X' (caseExact)");
        sort(&mut v, &spec("displayName", true), &GroupSchema);
        assert_eq!(ids(&v), ["1", "3", "2"], "b = B folded: id order");
    }

    #[test]
    fn multi_valued_attributes_sort_by_their_primary_value() {
        let mut v = vec![
            json!({"id": "1", "emails": [{"value": "a@x"}, {"value": "z@x", "primary": true}]}),
            json!({"id": "2", "emails": [{"value": "m@x"}]}),
        ];
        sort(&mut v, &spec("emails", false), &UserSchema);
        assert_eq!(ids(&v), ["2", "1"]);
    }
}
