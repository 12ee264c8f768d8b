//! The contract's invariants and policy as pure functions: facts in, a decision out.
//! No I/O, no clock, no actix, diesel or serde_json. The service layer loads the facts
//! inside the transaction that writes, asks here, and writes.

pub mod access;
pub mod contacts;
pub mod delegation;
pub mod licensing;
pub mod registration;
pub mod scim_routing;
pub mod webhooks;

use std::fmt;

use crate::domain::License;

/// One variant per business rule, each with the stable error code it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyViolation {
    /// The role may not use this surface at all (the contract's role table).
    Forbidden { role: &'static str, surface: &'static str },
    /// Delegated admin outside the accounts its token names.
    OutOfScope,
    /// Rule 4: delegated admins never target, create or make contactless users.
    DelegatedAdminForbidden,
    /// Rules 1, 3, 5: a community license or login-as needs a contact.
    ContactRequired { why: &'static str },
    /// Rule 8: the pool is full.
    LicenseUnavailable { license: License },
    /// A license that cannot be used for this operation.
    InvalidLicense { why: String },
    /// The site does not accept self-registration.
    SelfRegistrationDisabled,
    /// Rule 2: SCIM never creates (or makes) a contactless user.
    ScimContactless,
    /// Rule 2's other side: SCIM cannot give a contactless user a contact (it has no
    /// contact to assign; the native API does that).
    ScimAssignsContact,
    /// A webhook URL whose host is (or resolves to) an address webhooks may not reach.
    WebhookUrlRefused { why: String },
}

/// What kind of refusal a violation is. Each surface turns a kind into its status once
/// (native: 403 / 422 / 409; SCIM: 403 / 400 `invalidValue` / 409; the console alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The actor may not do this at all, or not to this target.
    NotAllowed,
    /// The request asks for a state the rules do not allow.
    Invalid,
    /// A bounded resource (a license pool) is exhausted.
    Exhausted,
}

impl PolicyViolation {
    pub fn refusal(&self) -> Refusal {
        match self {
            PolicyViolation::Forbidden { .. }
            | PolicyViolation::OutOfScope
            | PolicyViolation::DelegatedAdminForbidden
            | PolicyViolation::SelfRegistrationDisabled => Refusal::NotAllowed,
            PolicyViolation::ContactRequired { .. }
            | PolicyViolation::InvalidLicense { .. }
            | PolicyViolation::ScimContactless
            | PolicyViolation::ScimAssignsContact
            | PolicyViolation::WebhookUrlRefused { .. } => Refusal::Invalid,
            PolicyViolation::LicenseUnavailable { .. } => Refusal::Exhausted,
        }
    }

    /// A label per rule, for metrics (`scim_contactless` where the API code is generic).
    pub fn rule(&self) -> &'static str {
        match self {
            PolicyViolation::ScimContactless | PolicyViolation::ScimAssignsContact => "scim_contactless",
            other => other.code(),
        }
    }

    /// The stable error code of the native API.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyViolation::Forbidden { .. } => "forbidden",
            PolicyViolation::OutOfScope => "out_of_scope",
            PolicyViolation::DelegatedAdminForbidden => "delegated_admin_forbidden",
            PolicyViolation::ContactRequired { .. } => "contact_required",
            PolicyViolation::LicenseUnavailable { .. } => "license_unavailable",
            PolicyViolation::InvalidLicense { .. } => "invalid_license",
            PolicyViolation::SelfRegistrationDisabled => "self_registration_disabled",
            PolicyViolation::ScimContactless | PolicyViolation::ScimAssignsContact => "validation_failed",
            PolicyViolation::WebhookUrlRefused { .. } => "webhook_url_refused",
        }
    }
}

impl fmt::Display for PolicyViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyViolation::Forbidden { role, surface } => {
                write!(f, "a {role} token may not use {surface}")
            }
            PolicyViolation::OutOfScope => {
                f.write_str("the target is outside the accounts this delegated admin token manages")
            }
            PolicyViolation::DelegatedAdminForbidden => {
                f.write_str("delegated admins cannot manage contactless users (nor create or make one)")
            }
            PolicyViolation::ContactRequired { why } => write!(f, "{why}"),
            PolicyViolation::LicenseUnavailable { license } => {
                write!(f, "the {license} license pool has no license available")
            }
            PolicyViolation::InvalidLicense { why } | PolicyViolation::WebhookUrlRefused { why } => f.write_str(why),
            PolicyViolation::SelfRegistrationDisabled => f.write_str("this site does not accept self-registration"),
            PolicyViolation::ScimAssignsContact => {
                f.write_str("SCIM cannot give a contactless user a contact: use PUT /api/v1/users/{id}/contact")
            }
            PolicyViolation::ScimContactless => f.write_str(
                "SCIM cannot create contactless users: every SCIM user is contact-backed. \
                 Omit `contactless` (or set it to false) and name the contact's account in \
                 `accountId`; create contactless users through the native API \
                 (POST /api/v1/users without a contact) or self-registration",
            ),
        }
    }
}

impl std::error::Error for PolicyViolation {}

impl From<crate::domain::UnknownLicense> for PolicyViolation {
    fn from(e: crate::domain::UnknownLicense) -> Self {
        PolicyViolation::InvalidLicense { why: e.to_string() }
    }
}
