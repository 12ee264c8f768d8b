//! Validated values (userName, email, bounded text) and the id/clock conventions.

use chrono::{DateTime, SubsecRound, Utc};
use std::fmt;

/// A field that failed validation, and why: maps to `validation_failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    pub field: String,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ValidationError { field: field.into(), reason: reason.into() }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for ValidationError {}

/// New ids are UUIDv7: time-ordered, so keyset pagination by id follows creation order.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The lowest id [`new_id`] can make at `at` or later (ids are UUIDv7: time-ordered, so
/// an id range is a time range).
pub fn id_floor(at: DateTime<Utc>) -> String {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0) & 0xFFFF_FFFF_FFFF;
    format!("{:08x}-{:04x}-0000-0000-000000000000", ms >> 16, ms & 0xFFFF)
}

/// The current time at the precision both backends store (microseconds).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub const MAX_TEXT: usize = 256;

/// A required bounded text field: non-empty, at most `max` characters, no control characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(ValidationError::new(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// An optional bounded text field; present values obey [`text`].
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, ValidationError> {
    value.map(|v| text(field, v, max)).transpose()
}

/// A userName: unique across the directory compared case-insensitively (invariant 9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let v = text("userName", value, MAX_TEXT)?;
        if v.trim() != v {
            return Err(ValidationError::new("userName", "must not start or end with white space"));
        }
        Ok(UserName(v))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key of the uniqueness index: Unicode lower case, computed here because
    /// SQLite's `lower()` folds ASCII only.
    pub fn folded(&self) -> String {
        fold(&self.0)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Case-folds a userName for comparison (also used for lookups by userName).
pub fn fold(value: &str) -> String {
    value.to_lowercase()
}

/// An email address, checked for the shape `local@domain.tld` (RFC 5321 lengths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        let bad = |why: &str| Err(ValidationError::new(field, why.to_owned()));
        if value.len() > 254 {
            return bad("must be at most 254 characters");
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("must not contain white space");
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return bad("must be an email address (local@domain)");
        };
        if local.is_empty() || local.len() > 64 {
            return bad("must have a local part of 1 to 64 characters");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|l| l.is_empty() || l.len() > 63) {
            return bad("must have a domain such as example.com");
        }
        if local.contains('@') {
            return bad("must contain a single @");
        }
        Ok(Email(value.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A contact to create, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactDraft {
    pub account_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl ContactDraft {
    pub fn parse(
        account_id: &str,
        first_name: &str,
        last_name: &str,
        email: &str,
        phone: Option<&str>,
    ) -> Result<Self, ValidationError> {
        Ok(ContactDraft {
            account_id: account_id.to_owned(),
            first_name: text("contact.firstName", first_name, MAX_TEXT)?,
            last_name: text("contact.lastName", last_name, MAX_TEXT)?,
            email: Some(Email::parse("contact.email", email)?.into_inner()),
            phone: optional_text("contact.phone", phone, 64)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_fold_unicode_not_just_ascii() {
        let a = UserName::parse("ÄLICE@Example.com").unwrap();
        let b = UserName::parse("älice@example.COM").unwrap();
        assert_eq!(a.folded(), b.folded());
        assert_eq!(a.as_str(), "ÄLICE@Example.com");
    }

    #[test]
    fn user_names_reject_empty_long_padded_and_control() {
        for bad in ["", "   ", " alice", "alice ", "al\u{0}ice", "a\nb"] {
            assert!(UserName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(UserName::parse(&"x".repeat(257)).is_err());
        assert!(UserName::parse(&"x".repeat(256)).is_ok());
    }

    #[test]
    fn emails_need_local_at_domain_dot_tld() {
        for good in ["a@example.com", "first.last+tag@sub.example.co.uk"] {
            assert!(Email::parse("email", good).is_ok(), "{good} refused");
        }
        for bad in ["", "plain", "@example.com", "a@", "a@localhost", "a@.com", "a b@example.com", "a@b@example.com"] {
            assert!(Email::parse("email", bad).is_err(), "{bad:?} accepted");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(Email::parse("email", &long_local).is_err());
    }

    #[test]
    fn ids_are_time_ordered() {
        let ids: Vec<String> = (0..100).map(|_| new_id()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn text_bounds() {
        assert!(text("f", "ok", 2).is_ok());
        assert!(text("f", "okk", 2).is_err());
        assert_eq!(optional_text("f", None, 2), Ok(None));
    }
}
