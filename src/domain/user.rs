//! The user: contact-backed (linked to a contact under an account) or contactless.

use chrono::{DateTime, Utc};

use super::{AccountId, ContactId, License, SiteId, UserId};

super::named::named_enum! {
    /// Where a user came from.
    pub enum Origin: "origin" {
        Native = "native",
        Scim = "scim",
        SelfRegistration = "self_registration",
    }
}

/// One of a user's email addresses (RFC 7643 §4.1.2 `emails`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEmail {
    pub value: String,
    pub kind: Option<String>,
    /// As sent: `None` and `Some(false)` both mean "not primary" (RFC 7643 §2.4).
    pub primary: Option<bool>,
    pub display: Option<String>,
}

/// What a user stands on: the product's core distinction (docs/contract.md, rules 1–7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backing {
    /// No contact; the user holds `external_identity` (rule 1).
    Contactless,
    /// Linked to a contact, which belongs to an account.
    Contact { contact: ContactId, account: AccountId },
}

impl Backing {
    /// From the two stored columns, which the schema keeps in step (both set or both null).
    pub fn from_parts(contact: Option<String>, account: Option<String>) -> Option<Backing> {
        match (contact, account) {
            (None, None) => Some(Backing::Contactless),
            (Some(contact), Some(account)) => {
                Some(Backing::Contact { contact: ContactId::new(contact), account: AccountId::new(account) })
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub user_name: String,
    pub external_id: Option<String>,
    /// Every email; the native API's `email` is the primary one.
    pub emails: Vec<UserEmail>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub active: bool,
    pub license: License,
    pub backing: Backing,
    pub origin: Origin,
    pub site_ids: Vec<SiteId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    /// SCIM attributes the directory does not model, as a JSON object kept opaque here:
    /// only the SCIM translation layer reads it.
    pub scim_attributes: Option<String>,
    /// A password hash (PHC string), when a SCIM client set a password.
    pub password_hash: Option<String>,
}

impl User {
    pub fn is_contactless(&self) -> bool {
        self.backing == Backing::Contactless
    }

    /// The linked contact's id (`None`: contactless).
    pub fn contact_id(&self) -> Option<&str> {
        match &self.backing {
            Backing::Contactless => None,
            Backing::Contact { contact, .. } => Some(contact.as_str()),
        }
    }

    /// The account of the linked contact (`None`: contactless).
    pub fn account_id(&self) -> Option<&str> {
        match &self.backing {
            Backing::Contactless => None,
            Backing::Contact { account, .. } => Some(account.as_str()),
        }
    }

    /// The primary email, else the first one.
    pub fn primary_email(&self) -> Option<&str> {
        self.emails.iter().find(|e| e.primary == Some(true)).or(self.emails.first()).map(|e| e.value.as_str())
    }

    /// Sets the primary email's address (adding a primary email when there is none).
    pub fn set_primary_email(&mut self, value: String) {
        match self.emails.iter_mut().find(|e| e.primary == Some(true)) {
            Some(e) => e.value = value,
            None => match self.emails.first_mut() {
                Some(first) => {
                    first.value = value;
                    first.primary = Some(true);
                }
                None => self.emails.push(UserEmail { value, kind: None, primary: Some(true), display: None }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backing_is_both_columns_or_neither() {
        assert_eq!(Backing::from_parts(None, None), Some(Backing::Contactless));
        assert_eq!(
            Backing::from_parts(Some("c".into()), Some("a".into())),
            Some(Backing::Contact { contact: ContactId::new("c"), account: AccountId::new("a") })
        );
        assert_eq!(Backing::from_parts(Some("c".into()), None), None);
        assert_eq!(Backing::from_parts(None, Some("a".into())), None);
    }
}
