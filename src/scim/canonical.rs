//! A resource body made canonical before it is read (POST, PUT, and the document a PATCH
//! produced): every form RFC 7643 allows for the same resource becomes one form, so the
//! mapping reads exact names and stores what it returns.
//!
//! - Core attributes nested under the core schema URN (`{"urn:…:core:2.0:User": {"userName":
//!   …}}`) or written URN-qualified (`"urn:…:core:2.0:User:userName"`, RFC 7643 §3.3 and
//!   RFC 7644 §3.10) move to the top level; qualified extension attributes into the
//!   extension's object.
//! - Attribute, sub-attribute and schema URN keys take their canonical spelling
//!   (`"Primary"` → `"primary"`, RFC 7643 §2.1: names are case-insensitive). A name given
//!   twice (in two spellings or two places) with different values is refused.
//! - A multi-valued attribute holds each (`type`, `value`) pair once (RFC 7643 §2.4): a
//!   repeated value is dropped, its `primary` flag kept on the first.

use serde_json::{Map, Value};

use crate::scim::attrs::{AttrInfo, AttrType, SchemaInfo};
use crate::scim::json::{get_ci, lenient_bool};

/// Makes `body` canonical in place; the error is for `invalidSyntax`.
pub fn canonicalize(body: &mut Map<String, Value>, schema: &dyn SchemaInfo) -> Result<(), String> {
    let core = schema.core_urn();
    let taken = std::mem::take(body);
    let mut out = Map::with_capacity(taken.len());
    for (key, value) in taken {
        match split_qualified(&key, schema) {
            // `"urn:…:core:2.0:User": {…}`: the core attributes, nested.
            Some((urn, None)) if urn == core => {
                let Value::Object(fields) = value else {
                    return Err(format!("{core} must be an object of the schema's attributes"));
                };
                for (name, value) in fields {
                    put_attribute(&mut out, None, &name, value, schema)?;
                }
            }
            // `"urn:…:enterprise:2.0:User": {…}`: an extension object.
            Some((urn, None)) => match value {
                Value::Object(fields) => {
                    for (name, value) in fields {
                        // Schema libraries repeat the extension's `schemas` inside its object.
                        if !name.eq_ignore_ascii_case("schemas") {
                            put_attribute(&mut out, Some(urn), &name, value, schema)?;
                        }
                    }
                }
                Value::Null => {}
                _ => return Err(format!("{urn} must be an object of the schema's attributes")),
            },
            // `"urn:…:User:userName"`: one attribute, qualified.
            Some((urn, Some(name))) => {
                let urn = (urn != core).then_some(urn);
                put_attribute(&mut out, urn, name, value, schema)?;
            }
            None => put_attribute(&mut out, None, &key, value, schema)?,
        }
    }
    *body = out;
    Ok(())
}

/// A key naming a schema this type serves: the canonical URN and, when the key goes on
/// past it (`urn:…:User:userName`), the attribute name.
fn split_qualified<'k>(key: &'k str, schema: &dyn SchemaInfo) -> Option<(&'static str, Option<&'k str>)> {
    if !key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        return None;
    }
    if let Some(urn) = schema.known_urn(key) {
        return Some((urn, None));
    }
    let (urn, name) = key.rsplit_once(':')?;
    let urn = schema.known_urn(urn)?;
    Some((urn, Some(name)))
}

/// Puts one attribute of the schema `urn` (None: core) into `out`, canonical.
fn put_attribute(
    out: &mut Map<String, Value>,
    urn: Option<&'static str>,
    name: &str,
    value: Value,
    schema: &dyn SchemaInfo,
) -> Result<(), String> {
    let info = schema.attribute(urn, name, None);
    let key = info.map_or(name, |i| i.name);
    let value = match info {
        Some(info) => canonical_value(urn, info, value, schema)?,
        None => value,
    };
    let container = match urn {
        None => out,
        Some(urn) => {
            let slot = out.entry(urn.to_owned()).or_insert_with(|| Value::Object(Map::new()));
            match slot {
                Value::Object(ext) => ext,
                _ => return Err(format!("{urn} must be an object of the schema's attributes")),
            }
        }
    };
    insert_once(container, key, value, urn)
}

/// Inserts `key` unless a different value is there already under any spelling of it.
fn insert_once(container: &mut Map<String, Value>, key: &str, value: Value, urn: Option<&str>) -> Result<(), String> {
    if let Some(seen) = get_ci(container, key) {
        if *seen == value {
            return Ok(());
        }
        let shown = urn.map_or_else(|| key.to_owned(), |u| format!("{u}:{key}"));
        return Err(format!("{shown} is given twice with different values"));
    }
    container.insert(key.to_owned(), value);
    Ok(())
}

fn canonical_value(urn: Option<&str>, info: AttrInfo, value: Value, schema: &dyn SchemaInfo) -> Result<Value, String> {
    if info.kind != AttrType::Complex {
        return Ok(value);
    }
    match value {
        Value::Array(items) if info.multi_valued => {
            let items = items
                .into_iter()
                .map(|item| canonical_object(urn, info, item, schema))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Array(distinct(urn, info, items, schema)))
        }
        other => canonical_object(urn, info, other, schema),
    }
}

/// The sub-attribute keys of one complex value, canonical.
fn canonical_object(urn: Option<&str>, info: AttrInfo, value: Value, schema: &dyn SchemaInfo) -> Result<Value, String> {
    let Value::Object(fields) = value else {
        return Ok(value);
    };
    let mut out = Map::with_capacity(fields.len());
    for (name, v) in fields {
        let key = schema.attribute(urn, info.name, Some(&name)).map_or(name.as_str(), |sub| sub.name);
        insert_once(&mut out, key, v, None).map_err(|_| format!("{}.{key} is given twice", info.name))?;
    }
    Ok(Value::Object(out))
}

/// Each (`type`, `value`) pair once, compared as the schema says (`value` by its
/// `caseExact`, `type` case-insensitively); the first keeps a later copy's `primary: true`.
fn distinct(urn: Option<&str>, info: AttrInfo, items: Vec<Value>, schema: &dyn SchemaInfo) -> Vec<Value> {
    let Some(value_info) = schema.attribute(urn, info.name, Some("value")) else {
        // No `value` (addresses): identical values are one value.
        let mut out: Vec<Value> = Vec::with_capacity(items.len());
        for item in items {
            if !out.contains(&item) {
                out.push(item);
            }
        }
        return out;
    };
    let fold = |v: &Value| match v {
        Value::String(s) if !value_info.case_exact => Value::String(s.to_lowercase()),
        other => other.clone(),
    };
    let identity = |item: &Value| -> Option<(Value, Option<String>)> {
        let object = item.as_object()?;
        let value = object.get("value").filter(|v| !v.is_null())?;
        let kind = object.get("type").and_then(Value::as_str).map(str::to_lowercase);
        Some((fold(value), kind))
    };
    let mut seen: Vec<(Value, Option<String>)> = Vec::with_capacity(items.len());
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        let Some(id) = identity(&item) else {
            out.push(item);
            continue;
        };
        match seen.iter().position(|s| *s == id) {
            None => {
                seen.push(id);
                out.push(item);
            }
            Some(_) => {
                let primary = item.get("primary").and_then(lenient_bool) == Some(true);
                if primary
                    && let Some(first) = out.iter_mut().find(|o| identity(o).as_ref() == Some(&id))
                    && let Some(first) = first.as_object_mut()
                {
                    first.insert("primary".into(), Value::Bool(true));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::schema::{ENTERPRISE_USER_URN, GROUP_URN, GroupSchema, USER_URN, UserSchema};

    fn canon(v: Value) -> Result<Value, String> {
        let Value::Object(mut m) = v else { panic!() };
        canonicalize(&mut m, &UserSchema)?;
        Ok(Value::Object(m))
    }

    #[test]
    fn core_attributes_nested_or_qualified_move_to_the_top() {
        let v = canon(json!({
            "schemas": [USER_URN],
            USER_URN: { "userName": "ada", "Name": { "GivenName": "Ada" } },
            format!("{USER_URN}:displayName"): "Ada L",
            format!("{ENTERPRISE_USER_URN}:department"): "R&D",
        }))
        .unwrap();
        assert_eq!(
            v,
            json!({
                "schemas": [USER_URN], "userName": "ada", "name": { "givenName": "Ada" }, "displayName": "Ada L",
                ENTERPRISE_USER_URN: { "department": "R&D" }
            })
        );
        let Value::Object(mut g) = json!({ GROUP_URN.to_uppercase(): { "displayName": "Ops" } }) else { panic!() };
        canonicalize(&mut g, &GroupSchema).unwrap();
        assert_eq!(Value::Object(g), json!({ "displayName": "Ops" }));
    }

    #[test]
    fn names_take_their_canonical_spelling_and_conflicts_are_refused() {
        let v = canon(json!({
            "UserName": "ada", "ACTIVE": "False",
            "Emails": [{ "Value": "a@x.org", "Primary": true, "TYPE": "work" }],
            ENTERPRISE_USER_URN.to_lowercase(): { "Manager": { "Value": "42" }, "schemas": [ENTERPRISE_USER_URN] },
            "x-unknown": 1,
        }))
        .unwrap();
        assert_eq!(
            v,
            json!({
                "userName": "ada", "active": "False",
                "emails": [{ "value": "a@x.org", "primary": true, "type": "work" }],
                ENTERPRISE_USER_URN: { "manager": { "value": "42" } },
                "x-unknown": 1,
            })
        );
        assert!(canon(json!({ "userName": "a", "USERNAME": "b" })).unwrap_err().contains("twice"));
        assert!(canon(json!({ "userName": "a", USER_URN: { "userName": "b" } })).unwrap_err().contains("twice"));
        assert!(canon(json!({ USER_URN: "ada" })).is_err());
        // The same value twice is not a conflict.
        assert!(canon(json!({ "userName": "a", USER_URN: { "userName": "a" } })).is_ok());
    }

    #[test]
    fn repeated_type_value_pairs_are_kept_once() {
        let v = canon(json!({ "emails": [
            { "value": "a@x.org", "type": "work" },
            { "value": "A@X.org", "type": "Work", "primary": true },
            { "value": "a@x.org", "type": "home" },
            { "value": "b@x.org" },
            { "value": "b@x.org" },
        ], "addresses": [{ "locality": "Oslo" }, { "locality": "Oslo" }, { "locality": "Bergen" }] }))
        .unwrap();
        assert_eq!(v["addresses"], json!([{ "locality": "Oslo" }, { "locality": "Bergen" }]));
        assert_eq!(
            v["emails"],
            json!([
                { "value": "a@x.org", "type": "work", "primary": true },
                { "value": "a@x.org", "type": "home" },
                { "value": "b@x.org" },
            ])
        );
    }
}
