//! Evaluates a parsed filter against a resource's SCIM JSON (RFC 7644 §3.4.2.2); attribute facts come only from `SchemaInfo`.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value as Json};

use super::ast::{AttrPath, CompareOp, Filter, Value};
use crate::scim::attrs::{AttrInfo, AttrType, SchemaInfo};
use crate::scim::json::get_ci;

/// Whether `resource` (core attributes at the top level, extension attributes under their
/// URN key, RFC 7643 §3) satisfies `filter`.
pub fn matches(filter: &Filter, resource: &Json, schema: &dyn SchemaInfo) -> bool {
    eval(filter, Scope::Resource(resource), schema)
}

/// Whether one value of the multi-valued attribute `parent` satisfies the inner filter of a
/// value path (`emails[type eq "work"]`), whose paths name sub-attributes of `parent`.
pub(crate) fn matches_element(filter: &Filter, parent: &AttrPath, element: &Json, schema: &dyn SchemaInfo) -> bool {
    eval(filter, Scope::Element { parent, element }, schema)
}

#[derive(Clone, Copy)]
enum Scope<'a> {
    Resource(&'a Json),
    Element { parent: &'a AttrPath, element: &'a Json },
}

fn eval(filter: &Filter, scope: Scope<'_>, schema: &dyn SchemaInfo) -> bool {
    match filter {
        Filter::And(left, right) => eval(left, scope, schema) && eval(right, scope, schema),
        Filter::Or(left, right) => eval(left, scope, schema) || eval(right, scope, schema),
        Filter::Not(inner) => !eval(inner, scope, schema),
        Filter::Present(path) => resolve(path, scope, schema, false).values.iter().any(|value| is_present(value)),
        Filter::Compare { path, op, value } => compare(path, *op, value, scope, schema),
        Filter::ValuePath { path, filter } => match scope {
            Scope::Resource(resource) => container(resource, path.urn.as_deref(), schema)
                .and_then(|object| get_ci(object, &path.name))
                .map(flatten)
                .unwrap_or_default()
                .into_iter()
                .any(|element| eval(filter, Scope::Element { parent: path, element }, schema)),
            // The parser rejects nested value paths; a hand-built tree that has one matches nothing.
            Scope::Element { .. } => false,
        },
    }
}

struct Resolved<'a> {
    values: Vec<&'a Json>,
    info: Option<AttrInfo>,
}

/// Collects the values `path` names, flattening multi-valued attributes so that a
/// comparison can hold for any one of them (RFC 7644 §3.4.2.2).
fn resolve<'a>(path: &AttrPath, scope: Scope<'a>, schema: &dyn SchemaInfo, for_compare: bool) -> Resolved<'a> {
    match scope {
        Scope::Element { parent, element } => Resolved {
            values: element.as_object().and_then(|object| get_ci(object, &path.name)).map(flatten).unwrap_or_default(),
            info: schema.attribute(parent.urn.as_deref(), &parent.name, Some(&path.name)),
        },
        Scope::Resource(resource) => {
            let urn = path.urn.as_deref();
            let info = schema.attribute(urn, &path.name, None);
            let top = container(resource, urn, schema)
                .and_then(|object| get_ci(object, &path.name))
                .map(flatten)
                .unwrap_or_default();
            let mut sub = path.sub.as_deref();
            // RFC 7644 §3.4.2.2: a complex attribute compared without a sub-attribute is
            // compared through its "value" (`emails co "example.org"`).
            let complex = match info {
                Some(info) => info.kind == AttrType::Complex,
                None => top.iter().any(|value| value.is_object()),
            };
            if sub.is_none() && for_compare && complex {
                sub = Some("value");
            }
            match sub {
                None => Resolved { values: top, info },
                Some(sub) => Resolved {
                    values: top
                        .into_iter()
                        .filter_map(Json::as_object)
                        .filter_map(|object| get_ci(object, sub))
                        .flat_map(flatten)
                        .collect(),
                    info: schema.attribute(urn, &path.name, Some(sub)),
                },
            }
        }
    }
}

/// The object holding the attributes of `urn`: the resource itself for core attributes,
/// the extension object otherwise (RFC 7643 §3.3).
fn container<'a>(resource: &'a Json, urn: Option<&str>, schema: &dyn SchemaInfo) -> Option<&'a Map<String, Json>> {
    let object = resource.as_object()?;
    match urn {
        None => Some(object),
        Some(urn) if urn.eq_ignore_ascii_case(schema.core_urn()) => Some(object),
        Some(urn) => get_ci(object, urn)?.as_object(),
    }
}

/// A multi-valued attribute contributes each element; null is unassigned (RFC 7643 §2.5).
fn flatten(value: &Json) -> Vec<&Json> {
    match value {
        Json::Array(items) => items.iter().filter(|item| !item.is_null()).collect(),
        Json::Null => Vec::new(),
        other => vec![other],
    }
}

/// RFC 7644 §3.4.2.2 `pr`: a value that is not null, and not an empty string, array or object.
fn is_present(value: &Json) -> bool {
    match value {
        Json::Null => false,
        Json::String(text) => !text.is_empty(),
        Json::Array(items) => items.iter().any(is_present),
        Json::Object(fields) => !fields.is_empty(),
        Json::Bool(_) | Json::Number(_) => true,
    }
}

fn compare(path: &AttrPath, op: CompareOp, expected: &Value, scope: Scope<'_>, schema: &dyn SchemaInfo) -> bool {
    let resolved = resolve(path, scope, schema, true);
    if *expected == Value::Null {
        // `eq null` asks "is it unassigned?" (RFC 7643 §2.5), so it mirrors `pr`.
        let present = resolved.values.iter().any(|value| is_present(value));
        return match op {
            CompareOp::Eq => !present,
            CompareOp::Ne => present,
            _ => false,
        };
    }
    if resolved.values.is_empty() {
        // An unassigned attribute is unequal to every value.
        return op == CompareOp::Ne;
    }
    resolved.values.iter().any(|actual| compare_one(actual, op, expected, resolved.info))
}

fn compare_one(actual: &Json, op: CompareOp, expected: &Value, info: Option<AttrInfo>) -> bool {
    match (actual, expected) {
        // RFC 7644 §3.4.2.2: booleans support only equality.
        (Json::Bool(actual), Value::Bool(expected)) => match op {
            CompareOp::Eq => actual == expected,
            CompareOp::Ne => actual != expected,
            _ => false,
        },
        (Json::Number(actual), Value::Number(expected)) => ordered(compare_numbers(actual, expected), op),
        (Json::String(actual), Value::String(expected)) => {
            let is_date = info.is_some_and(|info| info.kind == AttrType::DateTime);
            let orders = !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
            if is_date
                && orders
                && let (Some(actual), Some(expected)) = (instant(actual), instant(expected))
            {
                return ordered(Some(actual.cmp(&expected)), op);
            }
            // RFC 7643 §2.2: unknown attributes default to caseExact false.
            let case_exact = info.is_some_and(|info| info.case_exact);
            if case_exact {
                compare_strings(actual, expected, op)
            } else {
                compare_strings(&actual.to_lowercase(), &expected.to_lowercase(), op)
            }
        }
        // Comparing across types never matches.
        _ => false,
    }
}

fn instant(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).ok()
}

fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) {
        return Some(a.cmp(&b));
    }
    if let (Some(a), Some(b)) = (a.as_u64(), b.as_u64()) {
        return Some(a.cmp(&b));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn ordered(ordering: Option<Ordering>, op: CompareOp) -> bool {
    let Some(ordering) = ordering else {
        return false;
    };
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn compare_strings(actual: &str, expected: &str, op: CompareOp) -> bool {
    match op {
        CompareOp::Eq => actual == expected,
        CompareOp::Ne => actual != expected,
        CompareOp::Co => actual.contains(expected),
        CompareOp::Sw => actual.starts_with(expected),
        CompareOp::Ew => actual.ends_with(expected),
        CompareOp::Gt => actual > expected,
        CompareOp::Ge => actual >= expected,
        CompareOp::Lt => actual < expected,
        CompareOp::Le => actual <= expected,
    }
}

/// A User-like and a Group-like schema for the filter and PATCH tests.
#[cfg(test)]
pub(crate) mod test_schema {
    use crate::scim::attrs::{AttrInfo, AttrType, Mutability, Returned, SchemaInfo};

    pub(crate) const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    pub(crate) const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
    pub(crate) const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    const fn attr(
        name: &'static str,
        kind: AttrType,
        multi_valued: bool,
        case_exact: bool,
        mutability: Mutability,
    ) -> AttrInfo {
        AttrInfo { name, kind, multi_valued, case_exact, mutability, returned: Returned::Default, required: false }
    }

    const fn string(name: &'static str) -> AttrInfo {
        attr(name, AttrType::String, false, false, Mutability::ReadWrite)
    }

    const fn boolean(name: &'static str) -> AttrInfo {
        attr(name, AttrType::Boolean, false, false, Mutability::ReadWrite)
    }

    const fn complex(name: &'static str, multi_valued: bool, mutability: Mutability) -> AttrInfo {
        attr(name, AttrType::Complex, multi_valued, false, mutability)
    }

    struct Def {
        info: AttrInfo,
        subs: &'static [AttrInfo],
    }

    const fn plain(info: AttrInfo) -> Def {
        Def { info, subs: &[] }
    }

    const MULTI_SUBS: &[AttrInfo] = &[string("value"), string("type"), boolean("primary"), string("display")];

    const ADDRESS_SUBS: &[AttrInfo] = &[
        string("type"),
        boolean("primary"),
        string("display"),
        string("streetAddress"),
        string("locality"),
        string("postalCode"),
        string("country"),
        string("formatted"),
    ];

    const REF_SUBS: &[AttrInfo] = &[
        string("value"),
        string("display"),
        string("type"),
        attr("$ref", AttrType::Reference, false, true, Mutability::ReadWrite),
    ];

    const META_SUBS: &[AttrInfo] = &[
        attr("created", AttrType::DateTime, false, false, Mutability::ReadOnly),
        attr("lastModified", AttrType::DateTime, false, false, Mutability::ReadOnly),
        attr("resourceType", AttrType::String, false, true, Mutability::ReadOnly),
        attr("location", AttrType::Reference, false, true, Mutability::ReadOnly),
        attr("version", AttrType::String, false, true, Mutability::ReadOnly),
    ];

    const USER_ATTRS: &[Def] = &[
        plain(attr("id", AttrType::String, false, true, Mutability::ReadOnly)),
        plain(attr("externalId", AttrType::String, false, true, Mutability::ReadWrite)),
        plain(string("userName")),
        Def {
            info: complex("name", false, Mutability::ReadWrite),
            subs: &[string("givenName"), string("familyName"), string("formatted")],
        },
        plain(string("displayName")),
        plain(string("title")),
        plain(boolean("active")),
        plain(attr("loginCount", AttrType::Integer, false, false, Mutability::ReadWrite)),
        Def { info: complex("emails", true, Mutability::ReadWrite), subs: MULTI_SUBS },
        Def { info: complex("phoneNumbers", true, Mutability::ReadWrite), subs: MULTI_SUBS },
        Def { info: complex("addresses", true, Mutability::ReadWrite), subs: ADDRESS_SUBS },
        Def { info: complex("groups", true, Mutability::ReadOnly), subs: REF_SUBS },
        Def { info: complex("meta", false, Mutability::ReadOnly), subs: META_SUBS },
    ];

    const ENTERPRISE_ATTRS: &[Def] = &[
        plain(string("employeeNumber")),
        plain(string("department")),
        Def {
            info: complex("manager", false, Mutability::ReadWrite),
            subs: &[
                string("value"),
                attr("displayName", AttrType::String, false, false, Mutability::ReadOnly),
                attr("$ref", AttrType::Reference, false, true, Mutability::ReadWrite),
            ],
        },
    ];

    const GROUP_ATTRS: &[Def] = &[
        plain(attr("id", AttrType::String, false, true, Mutability::ReadOnly)),
        plain(attr("externalId", AttrType::String, false, true, Mutability::ReadWrite)),
        plain(string("displayName")),
        Def {
            info: complex("members", true, Mutability::ReadWrite),
            subs: &[
                attr("value", AttrType::String, false, true, Mutability::Immutable),
                string("display"),
                string("type"),
                attr("$ref", AttrType::Reference, false, true, Mutability::ReadWrite),
            ],
        },
        Def { info: complex("meta", false, Mutability::ReadOnly), subs: META_SUBS },
    ];

    fn lookup(defs: &[Def], name: &str, sub: Option<&str>) -> Option<AttrInfo> {
        let def = defs.iter().find(|def| def.info.name.eq_ignore_ascii_case(name))?;
        match sub {
            None => Some(def.info),
            Some(sub) => def.subs.iter().find(|info| info.name.eq_ignore_ascii_case(sub)).copied(),
        }
    }

    pub(crate) struct UserSchema;

    impl SchemaInfo for UserSchema {
        fn core_urn(&self) -> &'static str {
            USER_URN
        }

        fn extension_urns(&self) -> &'static [&'static str] {
            &[ENTERPRISE_URN]
        }

        fn attribute(&self, urn: Option<&str>, name: &str, sub: Option<&str>) -> Option<AttrInfo> {
            match urn {
                None => lookup(USER_ATTRS, name, sub),
                Some(urn) if urn.eq_ignore_ascii_case(USER_URN) => lookup(USER_ATTRS, name, sub),
                Some(urn) if urn.eq_ignore_ascii_case(ENTERPRISE_URN) => lookup(ENTERPRISE_ATTRS, name, sub),
                Some(_) => None,
            }
        }
    }

    pub(crate) struct GroupSchema;

    impl SchemaInfo for GroupSchema {
        fn core_urn(&self) -> &'static str {
            GROUP_URN
        }

        fn extension_urns(&self) -> &'static [&'static str] {
            &[]
        }

        fn attribute(&self, urn: Option<&str>, name: &str, sub: Option<&str>) -> Option<AttrInfo> {
            match urn {
                None => lookup(GROUP_ATTRS, name, sub),
                Some(urn) if urn.eq_ignore_ascii_case(GROUP_URN) => lookup(GROUP_ATTRS, name, sub),
                Some(_) => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::test_schema::{GroupSchema, UserSchema};
    use super::*;
    use crate::scim::filter::parse;

    fn user() -> Json {
        json!({
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
            ],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "BJensen-Ext",
            "userName": "BJensen@Example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "title": "",
            "active": true,
            "loginCount": 42,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "phoneNumbers": [],
            "meta": {
                "resourceType": "User",
                "created": "2011-08-01T18:29:49.793Z",
                "lastModified": "2011-08-01T20:29:49+02:00"
            },
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984",
                "department": "Tour Operations",
                "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
            }
        })
    }

    fn check(filter: &str) -> bool {
        let filter = parse(filter).unwrap_or_else(|error| panic!("{filter}: {error}"));
        matches(&filter, &user(), &UserSchema)
    }

    fn assert_all(expected: bool, filters: &[&str]) {
        for filter in filters {
            assert_eq!(check(filter), expected, "{filter}");
        }
    }

    #[test]
    fn eq_and_ne_follow_case_exactness() {
        assert_all(
            true,
            &[
                r#"userName eq "bjensen@example.com""#,
                r#"externalId eq "BJensen-Ext""#,
                r#"externalId ne "bjensen-ext""#,
                r#"userName ne "other""#,
                r#"id eq "2819c223-7f76-453a-919d-413861904646""#,
            ],
        );
        assert_all(
            false,
            &[
                r#"externalId eq "bjensen-ext""#,
                r#"userName ne "BJENSEN@EXAMPLE.COM""#,
                r#"id eq "2819C223-7F76-453A-919D-413861904646""#,
            ],
        );
    }

    #[test]
    fn co_sw_ew_follow_case_exactness() {
        assert_all(
            true,
            &[
                r#"userName co "@EXAMPLE""#,
                r#"userName sw "bjen""#,
                r#"userName ew ".COM""#,
                r#"externalId co "Ext""#,
                r#"externalId sw "BJ""#,
                r#"externalId ew "-Ext""#,
            ],
        );
        assert_all(
            false,
            &[r#"externalId co "ext""#, r#"externalId sw "bj""#, r#"externalId ew "-EXT""#, r#"userName co "nobody""#],
        );
    }

    #[test]
    fn string_ordering_folds_case_unless_case_exact() {
        assert_all(
            true,
            &[
                r#"userName gt "A""#,
                r#"userName ge "bjensen@example.com""#,
                r#"userName lt "C""#,
                r#"userName le "BJENSEN@EXAMPLE.COM""#,
                r#"externalId lt "a""#,
            ],
        );
        assert_all(false, &[r#"userName gt "c""#, r#"externalId gt "a""#]);
    }

    #[test]
    fn numbers_compare_numerically() {
        assert_all(
            true,
            &[
                "loginCount eq 42",
                "loginCount eq 42.0",
                "loginCount ne 7",
                "loginCount gt 9",
                "loginCount ge 42",
                "loginCount lt 1e2",
                "loginCount le 42",
            ],
        );
        assert_all(false, &["loginCount gt 42", "loginCount lt 42", "loginCount co 4"]);
    }

    #[test]
    fn booleans_support_only_equality() {
        assert_all(true, &["active eq true", "active ne false", "ACTIVE EQ TRUE"]);
        assert_all(false, &["active eq false", "active gt false", "active co true"]);
    }

    #[test]
    fn comparing_across_types_is_false() {
        assert_all(false, &[r#"loginCount eq "42""#, r#"active eq "true""#, "userName eq 1", "loginCount ne \"x\""]);
    }

    #[test]
    fn date_times_compare_as_instants() {
        assert_all(
            true,
            &[
                r#"meta.created eq "2011-08-01T20:29:49.793+02:00""#,
                r#"meta.lastModified gt "2011-08-01T18:29:48Z""#,
                r#"meta.lastModified ge "2011-08-01T18:29:49Z""#,
                r#"meta.created lt "2011-08-01T18:29:50Z""#,
                r#"meta.created le "2011-08-01T18:29:49.793Z""#,
                r#"meta.lastModified lt "2011-08-01T19:00:00+00:00""#,
                r#"meta.created sw "2011-08""#,
            ],
        );
        // Lexicographically "…20:29:49+02:00" > "…19:00:00Z", as instants it is earlier.
        assert_all(false, &[r#"meta.lastModified gt "2011-08-01T19:00:00Z""#]);
    }

    #[test]
    fn multi_valued_attributes_match_if_any_value_does() {
        assert_all(
            true,
            &[
                r#"emails.type eq "home""#,
                r#"emails.value ew "jensen.org""#,
                r#"emails co "JENSEN.ORG""#,
                r#"emails eq "bjensen@example.com""#,
                r#"emails[type eq "work" and primary eq true]"#,
                r#"emails[type eq "home" and value sw "babs"]"#,
                r#"emails[not (type eq "work")]"#,
                r#"emails.type ne "work""#,
            ],
        );
        assert_all(
            false,
            &[
                r#"emails.type eq "other""#,
                r#"emails[type eq "home" and primary eq true]"#,
                r#"phoneNumbers[type eq "work"]"#,
                r#"addresses[type eq "work"]"#,
            ],
        );
    }

    #[test]
    fn present_needs_a_non_empty_value() {
        assert_all(true, &["userName pr", "emails pr", "name pr", "name.givenName pr", "active pr"]);
        assert_all(false, &["title pr", "phoneNumbers pr", "nickName pr", "name.formatted pr"]);
    }

    #[test]
    fn eq_null_means_unassigned() {
        assert_all(true, &["title eq null", "nickName eq null", "userName ne null"]);
        assert_all(false, &["userName eq null", "title ne null", "userName gt null"]);
    }

    #[test]
    fn ne_on_an_absent_attribute_is_true() {
        assert_all(true, &[r#"nickName ne "x""#, r#"addresses.type ne "work""#]);
        assert_all(false, &[r#"nickName eq "x""#, r#"nickName co "x""#]);
    }

    #[test]
    fn attribute_names_are_case_insensitive() {
        assert_all(
            true,
            &[r#"USERNAME eq "bjensen@example.com""#, r#"Name.GivenName eq "barbara""#, r#"EMAILS[TYPE eq "work"]"#],
        );
        let upper = json!({"UserName": "x"});
        assert!(matches(&parse(r#"userName eq "x""#).unwrap(), &upper, &UserSchema));
    }

    #[test]
    fn urn_qualified_paths_find_core_and_extension_attributes() {
        assert_all(
            true,
            &[
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen@example.com""#,
                r#"URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:name.familyName eq "jensen""#,
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value sw "2611""#,
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department co "tour""#,
            ],
        );
        assert_all(
            false,
            &[
                r#"employeeNumber eq "701984""#,
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName pr"#,
                r#"urn:example:other:employeeNumber pr"#,
            ],
        );
    }

    #[test]
    fn logical_operators_combine() {
        assert_all(
            true,
            &[
                r#"userName sw "b" and (active eq false or loginCount gt 40)"#,
                r#"not (active eq false) and emails pr"#,
                r#"title pr or name.familyName eq "Jensen""#,
            ],
        );
        assert_all(false, &[r#"not (userName pr)"#, r#"title pr and userName pr"#]);
    }

    #[test]
    fn the_longest_flat_chain_evaluates_without_exhausting_the_stack() {
        let term = "userName pr and ";
        let count = (super::super::parser::MAX_INPUT_LEN - 30) / term.len();
        let filter = format!("{}userName pr", term.repeat(count));
        assert!(check(&filter));
        assert!(!check(&format!("{filter} and title pr")));
    }

    #[test]
    fn group_members_match_by_value() {
        let group = json!({
            "displayName": "Tour Guides",
            "members": [
                {"value": "2819c223", "display": "Babs"},
                {"value": "902c246b", "display": "Mandy"}
            ]
        });
        let check = |filter: &str| matches(&parse(filter).unwrap(), &group, &GroupSchema);
        assert!(check(r#"members[value eq "902c246b"]"#));
        assert!(check(r#"members.value eq "2819c223""#));
        assert!(!check(r#"members[value eq "2819C223"]"#));
        assert!(check(r#"displayName eq "tour guides""#));
    }
}
