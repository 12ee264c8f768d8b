//! Projection (RFC 7644 §3.4.2.5, §3.9; RFC 7643 §7 `returned`): which attributes of a
//! rendered resource a response carries, from `attributes` / `excludedAttributes`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::scim::attrs::{AttrInfo, AttrType, Returned, SchemaInfo};
use crate::scim::filter::{self, AttrPath, Filter};
use crate::scim::patch::{PatchPath, parse_path};

/// Splits an `attributes` / `excludedAttributes` query parameter (RFC 7644 §3.9) at its
/// commas — not at those inside a value filter (`emails[type eq "a,b"]`).
pub fn parse_attr_list(s: &str) -> Vec<String> {
    let (mut out, mut start, mut depth, mut quoted, mut escaped) = (vec![], 0, 0usize, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out.into_iter().map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect()
}

/// A name with a value filter (`emails[type eq "work"]`, `emails[type eq "work"].value`),
/// as Microsoft's reference client sends in `attributes`: the attribute's path, canonical,
/// and the filter; the plain name it stands for (`emails`, `emails.value`).
struct ValueFilter {
    parent: AttrPath,
    filter: Filter,
    plain: String,
}

/// Splits the value-filtered names out of a list; a filtered name that does not parse, or
/// does not name a multi-valued complex attribute, is dropped like any unknown name.
fn value_filters(names: &[String], schema: &dyn SchemaInfo) -> (Vec<String>, Vec<ValueFilter>) {
    let (mut plain, mut filtered) = (vec![], vec![]);
    for name in names {
        if !name.contains('[') {
            plain.push(name.clone());
            continue;
        }
        let Ok(PatchPath { attr, filter: Some(filter), sub }) = parse_path(name) else {
            continue;
        };
        let urn = attr.urn.as_deref().and_then(|u| schema.known_urn(u)).filter(|u| *u != schema.core_urn());
        let Some(info) = schema.attribute(urn, &attr.name, None) else {
            continue;
        };
        if !(info.multi_valued && info.kind == AttrType::Complex) {
            continue;
        }
        let base = urn.map_or_else(|| info.name.to_owned(), |u| format!("{u}:{}", info.name));
        filtered.push(ValueFilter {
            parent: AttrPath { urn: urn.map(str::to_owned), name: info.name.to_owned(), sub: None },
            filter,
            plain: sub.map_or_else(|| base.clone(), |sub| format!("{base}.{sub}")),
        });
    }
    (plain, filtered)
}

/// Keeps (or, `keep` false, drops) the values of each filtered attribute that match one of
/// its filters. An attribute also named plainly in `attributes` is left whole.
fn filter_values(map: &mut Map<String, Value>, filters: &[ValueFilter], keep: bool, schema: &dyn SchemaInfo) {
    let mut done: Vec<&AttrPath> = vec![];
    for vf in filters {
        if done.contains(&&vf.parent) {
            continue;
        }
        done.push(&vf.parent);
        let mine: Vec<&Filter> = filters.iter().filter(|o| o.parent == vf.parent).map(|o| &o.filter).collect();
        let container = match &vf.parent.urn {
            None => Some(&mut *map),
            Some(urn) => map.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(urn)).and_then(|(_, v)| v.as_object_mut()),
        };
        let Some(container) = container else {
            continue;
        };
        if let Some((_, Value::Array(items))) =
            container.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(&vf.parent.name))
        {
            items.retain(|item| mine.iter().any(|f| filter::matches_element(f, &vf.parent, item, schema)) == keep);
        }
    }
}

/// A set of attribute paths as a tree keyed by lower-cased JSON key, shaped like the
/// resource JSON itself: core attributes at the root, extension attributes under their
/// URN. `whole` marks a node named in full; at the root it means "every core attribute"
/// (the bare core URN was named) while extension children still apply.
#[derive(Debug, Default)]
struct PathTree {
    whole: bool,
    children: BTreeMap<String, PathTree>,
}

impl PathTree {
    fn build(names: &[String], schema: &dyn SchemaInfo) -> Self {
        let mut tree = Self::default();
        for name in names.iter().filter(|n| !n.trim().is_empty()) {
            tree.insert(&split_path(name, schema));
        }
        tree
    }

    fn insert(&mut self, path: &[String]) {
        match path.split_first() {
            None => self.whole = true,
            Some((first, rest)) => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }
}

/// Turns `name.givenName`, `urn:…:enterprise:2.0:User:manager.value` or a bare extension
/// URN into lower-cased JSON key segments. URNs contain dots (`2.0`), so the URN prefix
/// is matched first and only the remainder is split on `.` (RFC 7644 §3.10).
fn split_path(name: &str, schema: &dyn SchemaInfo) -> Vec<String> {
    let lc = name.trim().to_ascii_lowercase();
    let core = schema.core_urn().to_ascii_lowercase();
    let mut urns: Vec<String> =
        schema.extension_urns().iter().map(|u| u.to_ascii_lowercase()).chain(std::iter::once(core.clone())).collect();
    // Longest first, so that a URN that prefixes another cannot steal its names.
    urns.sort_by_key(|u| std::cmp::Reverse(u.len()));

    let split_rest = |prefix: Vec<String>, rest: &str| -> Vec<String> {
        let mut path = prefix;
        path.extend(rest.split('.').filter(|s| !s.is_empty()).map(str::to_owned));
        path
    };
    for urn in &urns {
        // Core-qualified names address the root; extension ones the object under the URN.
        let prefix = if *urn == core { Vec::new() } else { vec![urn.clone()] };
        if lc == *urn {
            return prefix;
        }
        if let Some(rest) = lc.strip_prefix(urn.as_str()).and_then(|r| r.strip_prefix(':')) {
            return split_rest(prefix, rest);
        }
    }
    // A URN we do not serve: everything before the last colon names the schema.
    if lc.starts_with("urn:")
        && let Some((urn, rest)) = lc.rsplit_once(':')
    {
        return split_rest(vec![urn.to_owned()], rest);
    }
    split_rest(Vec::new(), &lc)
}

/// What the caller asked of one JSON node.
#[derive(Debug, Clone, Copy)]
enum Want<'a> {
    /// No `attributes` list applies: `default` and `always` attributes (RFC 7644 §3.4).
    Default,
    /// Named in full: everything but `never`, `request` included (the client asked).
    All,
    /// Some descendants were named.
    Only(&'a PathTree),
    /// Not asked for: only `returned: always` descendants survive.
    AlwaysOnly,
}

/// Where a JSON node sits, so that its definition can be looked up.
enum Level {
    Root,
    Extension(String),
    Attribute(Option<String>, String),
    Deeper,
}

fn child_want<'a>(
    parent: Want<'a>,
    excluded: Option<&'a PathTree>,
    at_root: bool,
    key: &str,
    returned: Option<Returned>,
    is_extension: bool,
) -> Option<(Want<'a>, Option<&'a PathTree>)> {
    if returned == Some(Returned::Never) {
        return None;
    }
    // At the root a `whole` tree stands for the bare core URN, covering core keys only.
    let root_whole = |t: &PathTree| at_root && t.whole && !is_extension;
    let requested = match parent {
        Want::Default if returned == Some(Returned::Request) => Want::AlwaysOnly,
        Want::Default => Want::Default,
        Want::All => Want::All,
        Want::Only(tree) if root_whole(tree) => Want::All,
        Want::Only(tree) => match tree.children.get(key) {
            Some(child) if child.whole => Want::All,
            Some(child) => Want::Only(child),
            None => Want::AlwaysOnly,
        },
        Want::AlwaysOnly => Want::AlwaysOnly,
    };
    let excluded_child = excluded.and_then(|e| e.children.get(key));
    if returned == Some(Returned::Always) {
        // RFC 7643 §7: returned regardless of `attributes` and `excludedAttributes`.
        let want = if matches!(requested, Want::All) { Want::All } else { Want::Default };
        return Some((want, excluded_child));
    }
    let excluded_whole = excluded.is_some_and(root_whole) || excluded_child.is_some_and(|c| c.whole);
    let want = if excluded_whole { Want::AlwaysOnly } else { requested };
    Some((want, excluded_child))
}

fn project_map(
    map: &mut Map<String, Value>,
    level: &Level,
    want: Want<'_>,
    excluded: Option<&PathTree>,
    schema: &dyn SchemaInfo,
) {
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        let lc = key.to_ascii_lowercase();
        let returned_of = |info: Option<AttrInfo>| info.map(|a| a.returned);
        let (returned, next) = match level {
            // RFC 7644 §3.9: `schemas` is not an attribute and is always returned.
            Level::Root if lc == "schemas" => continue,
            Level::Root if lc.starts_with("urn:") => (None, Level::Extension(key.clone())),
            Level::Root => (returned_of(schema.attribute(None, &key, None)), Level::Attribute(None, key.clone())),
            Level::Extension(urn) => {
                (returned_of(schema.attribute(Some(urn), &key, None)), Level::Attribute(Some(urn.clone()), key.clone()))
            }
            Level::Attribute(urn, parent) => {
                (returned_of(schema.attribute(urn.as_deref(), parent, Some(&key))), Level::Deeper)
            }
            Level::Deeper => (None, Level::Deeper),
        };
        let is_extension = matches!(next, Level::Extension(_));
        let at_root = matches!(level, Level::Root);
        let Some((want, excluded)) = child_want(want, excluded, at_root, &lc, returned, is_extension) else {
            map.remove(&key);
            continue;
        };
        let keep = match map.get_mut(&key) {
            Some(Value::Object(obj)) => {
                project_map(obj, &next, want, excluded, schema);
                // RFC 7643 §2.5: an empty complex value is the same as an unassigned one.
                !obj.is_empty()
            }
            Some(Value::Array(items)) => {
                items.retain_mut(|item| match item {
                    Value::Object(obj) => {
                        project_map(obj, &next, want, excluded, schema);
                        !obj.is_empty()
                    }
                    _ => !matches!(want, Want::AlwaysOnly),
                });
                !items.is_empty()
            }
            Some(_) => !matches!(want, Want::AlwaysOnly),
            None => false,
        };
        if !keep {
            map.remove(&key);
        }
    }
}

/// Applies `attributes` / `excludedAttributes` (RFC 7644 §3.9) and the `returned`
/// characteristic (RFC 7643 §7) to a full resource JSON in place. `never` attributes are
/// always dropped and `always` ones (and `schemas`) always kept; `request` ones appear
/// only when they or a parent are named in `attributes`. Names compare case-insensitively
/// and may be URN-qualified; a bare extension URN stands for the whole extension. When a
/// caller passes both lists, `attributes` selects first and `excludedAttributes` then
/// removes from the selection. Empty objects and arrays left behind are removed.
pub fn project(resource: &mut Value, schema: &dyn SchemaInfo, attributes: &[String], excluded: &[String]) {
    let Value::Object(map) = resource else {
        return;
    };
    // Value filters in the lists (`emails[type eq "work"]`) select values: the attribute is
    // returned with the matching values only (excluded: without them).
    let (mut attributes, wanted_values) = value_filters(attributes, schema);
    let (excluded, unwanted_values) = value_filters(excluded, schema);
    let whole = PathTree::build(&attributes, schema);
    let narrowed: Vec<ValueFilter> = wanted_values
        .into_iter()
        .filter(|vf| {
            let named_whole = split_path(&vf.plain, schema)
                .iter()
                .take(if vf.parent.urn.is_some() { 2 } else { 1 })
                .try_fold(&whole, |tree, key| tree.children.get(key))
                .is_some_and(|node| node.whole);
            !named_whole
        })
        .collect();
    filter_values(map, &narrowed, true, schema);
    filter_values(map, &unwanted_values, false, schema);
    attributes.extend(narrowed.iter().map(|vf| vf.plain.clone()));
    let wanted = PathTree::build(&attributes, schema);
    let excluded_tree = PathTree::build(&excluded, schema);
    let want = if wanted.whole || !wanted.children.is_empty() { Want::Only(&wanted) } else { Want::Default };
    let excluded = (excluded_tree.whole || !excluded_tree.children.is_empty()).then_some(&excluded_tree);
    project_map(map, &Level::Root, want, excluded, schema);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::schema::{ENTERPRISE_USER_URN, GROUP_URN, GroupSchema, IDENTITY_USER_URN, USER_URN, UserSchema};

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn full_user() -> Value {
        json!({
            "schemas": [USER_URN, ENTERPRISE_USER_URN, IDENTITY_USER_URN],
            "id": "u-1",
            "externalId": "ext-1",
            "userName": "bjensen",
            "password": "hunter2",
            "name": { "givenName": "Barbara", "familyName": "Jensen" },
            "displayName": "Babs",
            "active": true,
            "emails": [
                { "value": "b@example.com", "type": "work", "primary": true },
                { "value": "b@home.example", "type": "home" }
            ],
            "meta": { "resourceType": "User", "location": "https://x/Users/u-1", "version": "W/\"1\"" },
            ENTERPRISE_USER_URN: {
                "department": "Sales",
                "costCenter": "42",
                "manager": { "value": "u-9", "displayName": "Boss" }
            },
            IDENTITY_USER_URN: {
                "license": "customer_community",
                "contactId": "c-1",
                "accountId": "a-1",
                "contactless": false,
                "origin": "scim"
            }
        })
    }

    fn keys(v: &Value) -> Vec<String> {
        let mut k: Vec<String> = v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        k.sort();
        k
    }

    #[test]
    fn parse_attr_list_trims_and_drops_empties() {
        assert_eq!(
            parse_attr_list(" userName, name.givenName ,,emails.value, "),
            names(&["userName", "name.givenName", "emails.value"])
        );
        assert!(parse_attr_list("").is_empty());
        assert!(parse_attr_list(" , ").is_empty());
        assert_eq!(
            parse_attr_list(r#"emails[type eq "a,]b\"," or primary eq true],userName"#),
            names(&[r#"emails[type eq "a,]b\"," or primary eq true]"#, "userName"])
        );
    }

    #[test]
    fn value_filtered_names_return_the_matching_values() {
        let mut u = full_user();
        project(&mut u, &UserSchema, &names(&[r#"emails[type eq "work"]"#]), &[]);
        assert_eq!(u["emails"], json!([{ "value": "b@example.com", "type": "work", "primary": true }]));
        assert_eq!(keys(&u), names(&["emails", "id", "schemas"]));

        let mut u = full_user();
        project(&mut u, &UserSchema, &names(&[r#"EMAILS[Type eq "WORK"].value"#, "userName"]), &[]);
        assert_eq!(u["emails"], json!([{ "value": "b@example.com" }]));
        assert_eq!(u["userName"], "bjensen");

        // Named whole as well: whole.
        let mut u = full_user();
        project(&mut u, &UserSchema, &names(&[r#"emails[type eq "work"]"#, "emails"]), &[]);
        assert_eq!(u["emails"].as_array().unwrap().len(), 2);

        // Two filters: the values either matches.
        let mut u = full_user();
        project(&mut u, &UserSchema, &names(&[r#"emails[type eq "work"]"#, r#"emails[type eq "home"]"#]), &[]);
        assert_eq!(u["emails"].as_array().unwrap().len(), 2);

        // No value matches: the attribute is left out, as an empty one is.
        let mut u = full_user();
        project(&mut u, &UserSchema, &names(&[r#"emails[type eq "other"]"#, "userName"]), &[]);
        assert!(u.get("emails").is_none());

        // Excluded: the matching values go, the others stay (with the default attributes).
        let mut u = full_user();
        project(&mut u, &UserSchema, &[], &names(&[r#"emails[type eq "home"]"#]));
        assert_eq!(u["emails"], json!([{ "value": "b@example.com", "type": "work", "primary": true }]));
        assert_eq!(u["userName"], "bjensen");

        // Not a multi-valued complex attribute, or not a filter: ignored like an unknown name.
        let mut u = full_user();
        project(&mut u, &UserSchema, &names(&[r#"name[givenName eq "x"]"#, "emails[type eq", "userName"]), &[]);
        assert_eq!(keys(&u), names(&["id", "schemas", "userName"]));
    }

    #[test]
    fn default_projection_drops_password_and_keeps_the_rest_with_the_contactless_facts() {
        let mut u = full_user();
        project(&mut u, &UserSchema, &[], &[]);
        let mut expected = full_user();
        expected.as_object_mut().unwrap().remove("password");
        assert_eq!(u, expected);
        for fact in ["contactId", "contactless", "origin"] {
            assert!(u[IDENTITY_USER_URN].get(fact).is_some(), "{fact}");
        }
        let mut asked = full_user();
        project(&mut asked, &UserSchema, &names(&[IDENTITY_USER_URN]), &[]);
        assert_eq!(asked[IDENTITY_USER_URN], full_user()[IDENTITY_USER_URN]);
    }

    #[test]
    fn password_is_never_returned_even_when_asked_for() {
        let mut u = full_user();
        project(&mut u, &UserSchema, &names(&["password", "userName"]), &[]);
        assert!(u.get("password").is_none());
        assert_eq!(u["userName"], "bjensen");
    }

    #[test]
    fn attributes_keep_only_named_plus_id_and_schemas() {
        let mut u = full_user();
        project(&mut u, &UserSchema, &names(&["userName"]), &[]);
        assert_eq!(keys(&u), names(&["id", "schemas", "userName"]));
        assert_eq!(u["schemas"], full_user()["schemas"]);
    }

    #[test]
    fn attributes_accept_parent_sub_and_core_qualified_names() {
        let mut u = full_user();
        let attrs = names(&["NAME", "emails.value", &format!("{USER_URN}:displayName"), "meta.resourceType"]);
        project(&mut u, &UserSchema, &attrs, &[]);
        assert_eq!(keys(&u), names(&["displayName", "emails", "id", "meta", "name", "schemas"]));
        assert_eq!(u["name"], full_user()["name"]);
        assert_eq!(u["emails"], json!([{ "value": "b@example.com" }, { "value": "b@home.example" }]));
        assert_eq!(u["meta"], json!({ "resourceType": "User" }));
    }

    #[test]
    fn attributes_accept_urn_qualified_extension_names() {
        let mut u = full_user();
        let attrs = names(&[
            &format!("{ENTERPRISE_USER_URN}:department"),
            &format!("{}:manager.displayName", ENTERPRISE_USER_URN.to_ascii_uppercase()),
        ]);
        project(&mut u, &UserSchema, &attrs, &[]);
        assert_eq!(keys(&u), names(&["id", "schemas", ENTERPRISE_USER_URN]));
        assert_eq!(u[ENTERPRISE_USER_URN], json!({ "department": "Sales", "manager": { "displayName": "Boss" } }));
    }

    #[test]
    fn a_bare_extension_urn_selects_the_whole_extension() {
        let mut u = full_user();
        project(&mut u, &UserSchema, &names(&[IDENTITY_USER_URN]), &[]);
        assert_eq!(keys(&u), names(&["id", "schemas", IDENTITY_USER_URN]));
        assert_eq!(u[IDENTITY_USER_URN], full_user()[IDENTITY_USER_URN]);
    }

    #[test]
    fn excluded_attributes_remove_parents_subs_and_extensions_but_never_id() {
        let mut u = full_user();
        let ex =
            names(&["id", "Emails.Type", "name", "meta", &format!("{ENTERPRISE_USER_URN}:manager"), IDENTITY_USER_URN]);
        project(&mut u, &UserSchema, &[], &ex);
        assert_eq!(u["id"], "u-1");
        assert!(u.get("name").is_none());
        assert!(u.get("meta").is_none());
        assert!(u.get(IDENTITY_USER_URN).is_none());
        assert!(u.get("password").is_none());
        assert_eq!(u["userName"], "bjensen");
        assert_eq!(
            u["emails"],
            json!([
                { "value": "b@example.com", "primary": true },
                { "value": "b@home.example" }
            ])
        );
        assert_eq!(u[ENTERPRISE_USER_URN], json!({ "department": "Sales", "costCenter": "42" }));
        assert_eq!(u["schemas"], full_user()["schemas"]);
    }

    #[test]
    fn emptied_extension_objects_are_removed() {
        let mut u = full_user();
        let ex = names(&[
            &format!("{ENTERPRISE_USER_URN}:department"),
            &format!("{ENTERPRISE_USER_URN}:costCenter"),
            &format!("{ENTERPRISE_USER_URN}:manager"),
        ]);
        project(&mut u, &UserSchema, &[], &ex);
        assert!(u.get(ENTERPRISE_USER_URN).is_none());
        assert!(u.get(IDENTITY_USER_URN).is_some());

        let mut g = json!({ "schemas": [GROUP_URN], "id": "g-1", "displayName": "Ops", IDENTITY_USER_URN: {} });
        project(&mut g, &GroupSchema, &[], &[]);
        assert_eq!(keys(&g), names(&["displayName", "id", "schemas"]));
    }

    /// A schema in which `nickName` and `emails.display` are returned only on request and
    /// `meta.version` always, to exercise what our own tables do not use.
    struct RequestOnly;

    impl SchemaInfo for RequestOnly {
        fn core_urn(&self) -> &'static str {
            UserSchema.core_urn()
        }
        fn extension_urns(&self) -> &'static [&'static str] {
            UserSchema.extension_urns()
        }
        fn attribute(&self, urn: Option<&str>, name: &str, sub: Option<&str>) -> Option<AttrInfo> {
            let mut info = UserSchema.attribute(urn, name, sub)?;
            if info.name == "nickName" || (info.name == "display" && name == "emails") {
                info.returned = Returned::Request;
            }
            if info.name == "version" {
                info.returned = Returned::Always;
            }
            Some(info)
        }
    }

    fn with_request_only() -> Value {
        let mut u = full_user();
        let obj = u.as_object_mut().unwrap();
        obj.insert("nickName".into(), json!("Babs"));
        obj.insert("emails".into(), json!([{ "value": "b@example.com", "display": "Work mail" }]));
        u
    }

    #[test]
    fn request_only_attributes_appear_only_when_named() {
        let mut u = with_request_only();
        project(&mut u, &RequestOnly, &[], &[]);
        assert!(u.get("nickName").is_none());
        assert_eq!(u["emails"], json!([{ "value": "b@example.com" }]));

        let mut u = with_request_only();
        project(&mut u, &RequestOnly, &names(&["nickname", "emails.display"]), &[]);
        assert_eq!(u["nickName"], "Babs");
        assert_eq!(u["emails"], json!([{ "display": "Work mail" }]));

        // Naming the parent asks for all of it, request-only parts included.
        let mut u = with_request_only();
        project(&mut u, &RequestOnly, &names(&["emails"]), &[]);
        assert_eq!(u["emails"], json!([{ "value": "b@example.com", "display": "Work mail" }]));
    }

    #[test]
    fn always_sub_attributes_survive_selection_and_exclusion_of_their_parent() {
        let mut u = full_user();
        project(&mut u, &RequestOnly, &names(&["userName"]), &[]);
        assert_eq!(u["meta"], json!({ "version": "W/\"1\"" }));

        let mut u = full_user();
        project(&mut u, &RequestOnly, &[], &names(&["meta"]));
        assert_eq!(u["meta"], json!({ "version": "W/\"1\"" }));
    }

    #[test]
    fn both_lists_select_then_exclude() {
        let mut u = full_user();
        project(&mut u, &UserSchema, &names(&["name", "userName"]), &names(&["name.familyName"]));
        assert_eq!(keys(&u), names(&["id", "name", "schemas", "userName"]));
        assert_eq!(u["name"], json!({ "givenName": "Barbara" }));
    }

    #[test]
    fn group_projection_keeps_members_subset() {
        let mut g = json!({
            "schemas": [GROUP_URN],
            "id": "g-1",
            "displayName": "Ops",
            "members": [{ "value": "u-1", "display": "Babs", "type": "User" }]
        });
        project(&mut g, &GroupSchema, &names(&["members.value"]), &[]);
        assert_eq!(g, json!({ "schemas": [GROUP_URN], "id": "g-1", "members": [{ "value": "u-1" }] }));
    }
}
