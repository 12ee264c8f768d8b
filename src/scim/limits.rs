//! Size limits of a SCIM resource: one string value, the values of one multi-valued
//! attribute, the whole resource. A resource's size is measured as its compact JSON
//! (`json_size`, without building the text), so a limit means the same whatever path
//! the resource came by (POST, PUT, PATCH, Bulk).

use serde_json::Value;

/// The limits one resource is held to (from `limits.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocLimits {
    /// The most bytes (UTF-8) of one string value.
    pub max_string_bytes: usize,
    /// The most values of one multi-valued attribute.
    pub max_values: usize,
    /// The most bytes of the whole resource as compact JSON.
    pub max_resource_bytes: usize,
}

/// What a resource broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("{attribute}: a value is longer than {limit} bytes")]
    StringTooLong { attribute: String, limit: usize },
    #[error("{attribute}: more than {limit} values")]
    TooManyValues { attribute: String, limit: usize },
    #[error("the resource is {size} bytes as JSON, more than the {limit} allowed")]
    ResourceTooLarge { size: usize, limit: usize },
}

impl DocLimits {
    /// Checks every string and array in `doc`, then its size. `skip` names top-level
    /// attributes left out (a group's `members`, bounded per request instead).
    pub fn check(&self, doc: &Value, skip: &[&str]) -> Result<(), LimitError> {
        let mut size = 0;
        match doc {
            Value::Object(o) => {
                size += 1;
                for (k, v) in o {
                    if skip.iter().any(|s| s.eq_ignore_ascii_case(k)) {
                        continue;
                    }
                    self.walk(k, v)?;
                    // `"key":value` and its separator (or the closing brace).
                    size += 2 + k.len() + 1 + json_size(v) + 1;
                }
            }
            other => {
                self.walk("", other)?;
                size = json_size(other);
            }
        }
        if size > self.max_resource_bytes {
            return Err(LimitError::ResourceTooLarge { size, limit: self.max_resource_bytes });
        }
        Ok(())
    }

    fn walk(&self, attribute: &str, v: &Value) -> Result<(), LimitError> {
        match v {
            Value::String(s) if s.len() > self.max_string_bytes => {
                Err(LimitError::StringTooLong { attribute: attribute.to_owned(), limit: self.max_string_bytes })
            }
            Value::Array(items) if items.len() > self.max_values => {
                Err(LimitError::TooManyValues { attribute: attribute.to_owned(), limit: self.max_values })
            }
            Value::Array(items) => items.iter().try_for_each(|i| self.walk(attribute, i)),
            Value::Object(o) => o.iter().try_for_each(|(k, sub)| {
                let path = if attribute.is_empty() { k.clone() } else { format!("{attribute}.{k}") };
                self.walk(&path, sub)
            }),
            _ => Ok(()),
        }
    }
}

/// The length of `v` as compact JSON, counted without writing it (escapes counted as
/// the two bytes of the short ones, a close upper bound for text without control
/// characters).
pub fn json_size(v: &Value) -> usize {
    match v {
        Value::Null => 4,
        Value::Bool(b) => {
            if *b {
                4
            } else {
                5
            }
        }
        Value::Number(n) => n.to_string().len(),
        Value::String(s) => 2 + s.len() + s.bytes().filter(|b| matches!(b, b'"' | b'\\' | 0..=0x1f)).count() * 5,
        Value::Array(items) => 2 + items.iter().map(json_size).sum::<usize>() + items.len().saturating_sub(1),
        Value::Object(o) => {
            2 + o.iter().map(|(k, v)| 2 + k.len() + 1 + json_size(v)).sum::<usize>() + o.len().saturating_sub(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const L: DocLimits = DocLimits { max_string_bytes: 8, max_values: 2, max_resource_bytes: 90 };

    #[test]
    fn sizes_match_compact_json_for_plain_text() {
        for v in [
            json!({"userName": "a", "emails": [{"value": "x@y", "primary": true}], "n": 12, "z": null}),
            json!([]),
            json!({}),
            json!("plain"),
        ] {
            assert_eq!(json_size(&v), v.to_string().len(), "{v}");
        }
        assert!(json_size(&json!("a\"b")) >= json!("a\"b").to_string().len());
    }

    #[test]
    fn strings_values_and_size_are_bounded() {
        assert!(L.check(&json!({"userName": "12345678", "emails": [{"value": "a"}, {"value": "b"}]}), &[]).is_ok());
        assert_eq!(
            L.check(&json!({"name": {"givenName": "123456789"}}), &[]),
            Err(LimitError::StringTooLong { attribute: "name.givenName".into(), limit: 8 })
        );
        assert_eq!(
            L.check(&json!({"emails": [{"value": "a"}, {"value": "b"}, {"value": "c"}]}), &[]),
            Err(LimitError::TooManyValues { attribute: "emails".into(), limit: 2 })
        );
        let big = json!({"a": "12345678", "b": "12345678", "c": "12345678", "d": "12345678", "e": "12345678", "f": "12345678", "g": "1"});
        assert!(matches!(L.check(&big, &[]), Err(LimitError::ResourceTooLarge { .. })));
        // Skipped attributes count neither in values nor in size.
        let members = json!({"displayName": "g", "members": [{"value": "1"}, {"value": "2"}, {"value": "3"}]});
        assert!(L.check(&members, &["members"]).is_ok());
    }
}
