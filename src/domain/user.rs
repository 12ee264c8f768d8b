//! The user: contact-backed (linked to a contact under an account) or contactless.

use chrono::{DateTime, Utc};
use std::fmt;
use std::str::FromStr;

use super::License;

/// Where a user came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Native,
    Scim,
    SelfRegistration,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Native => "native",
            Origin::Scim => "scim",
            Origin::SelfRegistration => "self_registration",
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Origin {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "native" => Ok(Origin::Native),
            "scim" => Ok(Origin::Scim),
            "self_registration" => Ok(Origin::SelfRegistration),
            other => Err(format!("unknown origin {other:?}")),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub user_name: String,
    pub external_id: Option<String>,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub active: bool,
    pub license: License,
    pub contact_id: Option<String>,
    /// The account of the user's contact; `None` exactly when contactless.
    pub account_id: Option<String>,
    pub origin: Origin,
    pub site_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl User {
    pub fn is_contactless(&self) -> bool {
        self.contact_id.is_none()
    }
}
