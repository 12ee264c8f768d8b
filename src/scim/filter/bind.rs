//! Binds a parsed filter to the schema of the resource type it is run against: names that
//! RFC 7644 lets clients write in several ways are made canonical, and what §3.4.2.2
//! refuses for an attribute's type is refused before any row is read.

use super::ast::{AttrPath, CompareOp, Filter, Value};
use crate::scim::attrs::{AttrInfo, AttrType, SchemaInfo};

/// The filter with every path bound: a core-URN-qualified path (`urn:…:core:2.0:User:userName`,
/// RFC 7644 §3.10) is written without its URN, an extension URN in its canonical spelling,
/// and a name the core schema lacks but one extension has (`manager`) gets that extension's
/// URN. Refused (the message is for `invalidFilter`): an ordering operator (`gt`, `ge`,
/// `lt`, `le`) on a boolean, binary or complex attribute, or with `true`, `false` or `null`
/// (§3.4.2.2 allows them on strings, numbers and dates only).
pub fn bind(filter: Filter, schema: &dyn SchemaInfo) -> Result<Filter, String> {
    Ok(match filter {
        Filter::Compare { mut path, op, value } => {
            bind_path(&mut path, schema);
            check_order(op, &value, schema.attribute(path.urn.as_deref(), &path.name, path.sub.as_deref()), &path)?;
            Filter::Compare { path, op, value }
        }
        Filter::Present(mut path) => {
            bind_path(&mut path, schema);
            Filter::Present(path)
        }
        Filter::And(a, b) => Filter::And(Box::new(bind(*a, schema)?), Box::new(bind(*b, schema)?)),
        Filter::Or(a, b) => Filter::Or(Box::new(bind(*a, schema)?), Box::new(bind(*b, schema)?)),
        Filter::Not(a) => Filter::Not(Box::new(bind(*a, schema)?)),
        Filter::ValuePath { mut path, filter } => {
            bind_path(&mut path, schema);
            check_element(&filter, &path, schema)?;
            Filter::ValuePath { path, filter }
        }
    })
}

/// The terms inside `parent[…]` name its sub-attributes; the same ordering rule holds.
pub(crate) fn check_element(filter: &Filter, parent: &AttrPath, schema: &dyn SchemaInfo) -> Result<(), String> {
    match filter {
        Filter::Compare { path, op, value } => {
            let info = schema.attribute(parent.urn.as_deref(), &parent.name, Some(&path.name));
            let shown = AttrPath { urn: None, name: format!("{}.{}", parent.name, path.name), sub: None };
            check_order(*op, value, info, &shown)
        }
        Filter::Present(_) | Filter::ValuePath { .. } => Ok(()),
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_element(a, parent, schema)?;
            check_element(b, parent, schema)
        }
        Filter::Not(a) => check_element(a, parent, schema),
    }
}

fn bind_path(path: &mut AttrPath, schema: &dyn SchemaInfo) {
    path.urn = match path.urn.take() {
        None => schema.owner(&path.name).flatten().map(str::to_owned),
        Some(urn) => match schema.known_urn(&urn) {
            Some(known) if known == schema.core_urn() => None,
            Some(known) => Some(known.to_owned()),
            None => Some(urn),
        },
    };
}

fn check_order(op: CompareOp, value: &Value, info: Option<AttrInfo>, path: &AttrPath) -> Result<(), String> {
    if !matches!(op, CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le) {
        return Ok(());
    }
    let name = match &path.sub {
        Some(sub) => format!("{}.{sub}", path.name),
        None => path.name.clone(),
    };
    let refused = match (value, info.map(|i| i.kind)) {
        (Value::Bool(_) | Value::Null, _) => Some("true, false or null"),
        (_, Some(AttrType::Boolean)) => Some("a boolean attribute"),
        (_, Some(AttrType::Binary)) => Some("a binary attribute"),
        (_, Some(AttrType::Complex)) => Some("a complex attribute (name one of its sub-attributes)"),
        _ => None,
    };
    match refused {
        Some(what) => Err(format!(
            "'{name}': gt, ge, lt and le compare strings, numbers and dates, not {what} (RFC 7644 §3.4.2.2)"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse;
    use crate::scim::schema::{ENTERPRISE_USER_URN, GroupSchema, USER_URN, UserSchema};

    fn bound(text: &str) -> Result<Filter, String> {
        bind(parse(text).unwrap(), &UserSchema)
    }

    fn first_path(f: &Filter) -> &AttrPath {
        match f {
            Filter::Compare { path, .. } | Filter::Present(path) | Filter::ValuePath { path, .. } => path,
            Filter::And(a, _) | Filter::Or(a, _) | Filter::Not(a) => first_path(a),
        }
    }

    #[test]
    fn core_qualified_paths_lose_their_urn_and_extension_names_find_their_schema() {
        let f = bound(&format!(r#"{USER_URN}:userName eq "a""#)).unwrap();
        assert_eq!(first_path(&f), &AttrPath { urn: None, name: "userName".into(), sub: None });
        let f = bound(r#"manager eq "42""#).unwrap();
        assert_eq!(first_path(&f).urn.as_deref(), Some(ENTERPRISE_USER_URN));
        let f = bound(&format!(r#"{}:Manager.value eq "42""#, ENTERPRISE_USER_URN.to_uppercase())).unwrap();
        assert_eq!(first_path(&f).urn.as_deref(), Some(ENTERPRISE_USER_URN));
        // Unknown names stay as written (and match nothing).
        let f = bound(r#"shoeSize eq "42""#).unwrap();
        assert_eq!(first_path(&f).urn, None);
        let f = bind(parse(r#"manager eq "42""#).unwrap(), &GroupSchema).unwrap();
        assert_eq!(first_path(&f).urn, None);
    }

    #[test]
    fn ordering_operators_refuse_booleans_binaries_and_complex_attributes() {
        for refused in [
            "active gt true",
            "active le false",
            "userName gt null",
            r#"active lt "x""#,
            r#"emails gt "a""#,
            r#"name ge "a""#,
            r#"manager lt "a""#,
            "emails[primary gt true]",
            r#"x509Certificates.value gt "a""#,
        ] {
            let error = bound(refused).expect_err(refused);
            assert!(error.contains("gt, ge, lt and le"), "{refused}: {error}");
        }
        for accepted in [
            "active eq true",
            r#"userName gt "a""#,
            r#"meta.lastModified gt "2020-01-01T00:00:00Z""#,
            r#"emails.value ge "a""#,
            r#"emails[value lt "m"]"#,
            r#"name.givenName le "z""#,
            r#"shoeSize gt "1""#,
        ] {
            assert!(bound(accepted).is_ok(), "{accepted}");
        }
    }
}
