//! RFC 7644 §3.5.2 PATCH paths (`attrPath / valuePath [subAttr]`), read with the filter tokenizer.

use crate::scim::filter::{AttrPath, Filter, FilterError, Parser};

/// A parsed PATCH path. `attr.sub` holds the sub-attribute of a plain path
/// (`name.familyName`); `sub` the one after a value filter (`emails[type eq "work"].value`).
/// At most one of the two is set.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    pub sub: Option<String>,
}

/// Parses a PATCH `path`, e.g. `members[value eq "2819c223"]` or
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
pub fn parse_path(input: &str) -> Result<PatchPath, FilterError> {
    let mut parser = Parser::new(input, "path")?;
    let attr = parser.attr_path()?;
    let mut filter = None;
    let mut sub = None;
    if parser.at_bracket()? {
        filter = Some(parser.value_filter(&attr)?);
        if parser.at_dot()? {
            sub = Some(parser.sub_attr()?);
        }
    }
    parser.expect_end()?;
    Ok(PatchPath { attr, filter, sub })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::{CompareOp, Value};

    fn attr(urn: Option<&str>, name: &str, sub: Option<&str>) -> AttrPath {
        AttrPath { urn: urn.map(str::to_owned), name: name.to_owned(), sub: sub.map(str::to_owned) }
    }

    fn eq(name: &str, value: &str) -> Filter {
        Filter::Compare { path: attr(None, name, None), op: CompareOp::Eq, value: Value::String(value.to_owned()) }
    }

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    #[test]
    fn plain_and_sub_attribute_paths_parse() {
        assert_eq!(
            parse_path("title").unwrap(),
            PatchPath { attr: attr(None, "title", None), filter: None, sub: None }
        );
        assert_eq!(
            parse_path("name.familyName").unwrap(),
            PatchPath { attr: attr(None, "name", Some("familyName")), filter: None, sub: None }
        );
    }

    #[test]
    fn value_filter_paths_parse_with_and_without_sub_attribute() {
        assert_eq!(
            parse_path(r#"emails[type eq "work"]"#).unwrap(),
            PatchPath { attr: attr(None, "emails", None), filter: Some(eq("type", "work")), sub: None }
        );
        assert_eq!(
            parse_path(r#"emails[type eq "work"].value"#).unwrap(),
            PatchPath {
                attr: attr(None, "emails", None),
                filter: Some(eq("type", "work")),
                sub: Some("value".to_owned())
            }
        );
        assert_eq!(
            parse_path(r#"members[value eq "2819c223"]"#).unwrap(),
            PatchPath { attr: attr(None, "members", None), filter: Some(eq("value", "2819c223")), sub: None }
        );
    }

    #[test]
    fn urn_qualified_paths_parse() {
        assert_eq!(parse_path(&format!("{ENTERPRISE}:manager")).unwrap().attr, attr(Some(ENTERPRISE), "manager", None));
        assert_eq!(
            parse_path(&format!("{ENTERPRISE}:manager.value")).unwrap().attr,
            attr(Some(ENTERPRISE), "manager", Some("value"))
        );
    }

    #[test]
    fn malformed_paths_are_rejected() {
        let fails = |input: &str, fragment: &str| {
            let error = parse_path(input).unwrap_err();
            assert!(error.message.contains(fragment), "{input}: {error}");
        };
        fails("", "empty path");
        fails(r#"emails[type eq "work"]."#, "expected a sub-attribute name");
        fails(r#"emails[type eq "work"]. value"#, "expected a sub-attribute name");
        fails(r#"emails[type eq "work"].value.x"#, "invalid character '.'");
        fails(r#"name.givenName[type eq "work"]"#, "not to a sub-attribute");
        fails(r#"emails[type eq "work""#, "missing ']'");
        fails(r#"emails eq "x""#, "unexpected 'eq' after the path");
        fails("emails]", "unbalanced ']'");
        fails(r#"emails[type eq "work"]extra"#, "unexpected 'extra' after the path");
    }
}
