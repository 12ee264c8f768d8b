//! Lenient reading of SCIM JSON, shared by the filter evaluator, the PATCH engine and the
//! wire mapping: attribute names compare case-insensitively (RFC 7643 §2.1).

use serde_json::{Map, Value};

/// The value under `name`, compared case-insensitively (RFC 7643 §2.1). An exact hit is
/// tried first because it is the common case and keeps the scan off the hot path.
pub fn get_ci<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| object.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value))
}

/// A boolean, also as the strings "true"/"false" in any case (Entra ID sends "False").
pub fn lenient_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_compare_case_insensitively_and_exact_hits_win() {
        let v = json!({"userName": "a", "USERNAME": "b", "Primary": true});
        let o = v.as_object().unwrap();
        assert_eq!(get_ci(o, "userName"), Some(&json!("a")));
        assert_eq!(get_ci(o, "primary"), Some(&json!(true)));
        assert_eq!(get_ci(o, "title"), None);
    }

    #[test]
    fn booleans_may_come_as_strings() {
        assert_eq!(lenient_bool(&json!("False")), Some(false));
        assert_eq!(lenient_bool(&json!(true)), Some(true));
        assert_eq!(lenient_bool(&json!("yes")), None);
    }
}
