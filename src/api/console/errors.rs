//! The console's one exhaustive mapping of service errors: a status and plain words.
//! The policy's own explanation is kept; where it points an API client at an endpoint,
//! the console points at its own page instead.

use actix_web::http::StatusCode;

use crate::error::{Chain, Conflict, ServiceError};
use crate::policy::{PolicyViolation, Refusal};

/// A message above a page's content: a failure (with its status) or a success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub status: StatusCode,
    pub title: String,
    pub text: String,
    pub success: bool,
}

impl Notice {
    pub fn error(status: StatusCode, title: impl Into<String>, text: impl Into<String>) -> Notice {
        Notice { status, title: title.into(), text: text.into(), success: false }
    }

    pub fn success(title: impl Into<String>, text: impl Into<String>) -> Notice {
        Notice { status: StatusCode::OK, title: title.into(), text: text.into(), success: true }
    }

    /// The success a page shows after a post/redirect/get: of `notices` (`(done, title,
    /// text)`), the one the query's `done` names, if any.
    pub fn done(done: Option<&str>, notices: &[(&str, &str, &str)]) -> Option<Notice> {
        let done = done?;
        notices.iter().find(|(key, ..)| *key == done).map(|(_, title, text)| Notice::success(*title, *text))
    }
}

/// `"x requires a contact: do this with PUT …"` → `"X requires a contact"`: the rule, without
/// the API client's next step.
fn rule_only(why: &str) -> String {
    let head = why.split_once(": ").map_or(why, |(head, _)| head);
    sentence(head)
}

/// Upper-cases the first letter and ends with a full stop.
pub fn sentence(s: &str) -> String {
    let mut chars = s.chars();
    let mut out: String = chars.next().map(|c| c.to_uppercase().collect()).unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// Plain words for a policy refusal (also the reason shown beside a disabled button).
pub fn policy_words(v: &PolicyViolation) -> (&'static str, String) {
    match v {
        PolicyViolation::Forbidden { role, .. } => (
            "Not available to your role",
            format!("A {} sign-in cannot use this part of the console.", role.replace('_', " ")),
        ),
        PolicyViolation::OutOfScope => (
            "Outside your accounts",
            "This user's contact belongs to an account that your delegated admin token does not manage.".into(),
        ),
        PolicyViolation::DelegatedAdminForbidden => (
            "Not available to delegated admins",
            "Delegated admins cannot manage contactless users, nor create one, nor make one by downgrading.".into(),
        ),
        PolicyViolation::ContactRequired { why } => (
            "Contact required",
            format!("{} Assign a contact first (in the Contact section of the user's page).", rule_only(why)),
        ),
        PolicyViolation::LicenseUnavailable { license } => (
            "No license available",
            format!(
                "Every {license} license is in use. Raise the pool's capacity on the Licenses page, \
                 or free a license by downgrading a user."
            ),
        ),
        PolicyViolation::InvalidLicense { why } => ("License not possible here", rule_only(why)),
        PolicyViolation::SelfRegistrationDisabled => ("Self-registration is off", sentence(&v.to_string())),
        PolicyViolation::ScimContactless | PolicyViolation::ScimAssignsContact => {
            ("Contactless users are not made over SCIM", v.to_string())
        }
        PolicyViolation::WebhookUrlRefused { why } => ("Webhook address refused", sentence(why)),
    }
}

/// The status of a policy refusal on this surface.
fn refusal_status(r: Refusal) -> StatusCode {
    match r {
        Refusal::NotAllowed => StatusCode::FORBIDDEN,
        Refusal::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        Refusal::Exhausted => StatusCode::CONFLICT,
    }
}

/// The one mapping of this surface (no catch-all: a new error must be worded here).
pub fn explain(e: ServiceError) -> Notice {
    match e {
        ServiceError::Policy(v) => {
            let (title, text) = policy_words(&v);
            Notice::error(refusal_status(v.refusal()), title, text)
        }
        ServiceError::Validation(v) => Notice::error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Check the form",
            sentence(&format!("{}: {}", v.field, v.reason)),
        ),
        ServiceError::NotFound(what) => {
            Notice::error(StatusCode::NOT_FOUND, "Not found", format!("There is no such {what}."))
        }
        e @ ServiceError::FilterTooBroad { .. } => {
            Notice::error(StatusCode::BAD_REQUEST, "Search too broad", sentence(&e.to_string()))
        }
        ServiceError::Conflict(c) => {
            let title = match &c {
                Conflict::UserNameTaken => "userName taken",
                Conflict::ContactInUse => "Contact in use",
                Conflict::SitePrefixTaken => "Path prefix taken",
                Conflict::CapacityBelowUsed { .. } => "Capacity too low",
                Conflict::AlreadyDelivered => "Already delivered",
            };
            Notice::error(StatusCode::CONFLICT, title, sentence(&c.to_string()))
        }
        ServiceError::VersionMismatch { .. } => Notice::error(
            StatusCode::PRECONDITION_FAILED,
            "Changed meanwhile",
            "Someone changed this user after you opened the page, so nothing was done. Look at it again and retry.",
        ),
        e @ ServiceError::QueryTimeout => {
            Notice::error(StatusCode::BAD_REQUEST, "Search too costly", sentence(&e.to_string()))
        }
        ServiceError::TooMany(detail) => Notice::error(StatusCode::BAD_REQUEST, "Too many", sentence(&detail)),
        e @ ServiceError::AmbiguousCredentials => {
            Notice::error(StatusCode::BAD_REQUEST, "Request refused", sentence(&e.to_string()))
        }
        ServiceError::RateLimited { retry_after_secs } => Notice::error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            format!("Too many failed sign-ins from this address. Wait {retry_after_secs} seconds and try again."),
        ),
        ServiceError::Unauthenticated => Notice::error(
            StatusCode::UNAUTHORIZED,
            "Sign-in failed",
            "That token is unknown, revoked or mistyped. Paste an admin or delegated admin token.",
        ),
        ServiceError::Internal(err) => {
            tracing::error!(error = %Chain(err.as_ref()), "internal error");
            Notice::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The gateway could not complete the request. Nothing is shown of the cause here; \
                 the gateway's log has it under the response's X-Request-Id.",
            )
        }
    }
}

/// Plain words for a bulk downgrade's skip code.
pub fn skip_reason(code: &str) -> String {
    match code {
        "not_found" => "No such user (deleted meanwhile?).".into(),
        "already_contactless" => "Already contactless: nothing to downgrade.".into(),
        "active" => "Active: only inactive users were chosen.".into(),
        "delegated_admin_forbidden" => policy_words(&PolicyViolation::DelegatedAdminForbidden).1,
        "out_of_scope" => policy_words(&PolicyViolation::OutOfScope).1,
        "license_unavailable" => "No external_identity license is available for it.".into(),
        other => format!("Skipped ({other})."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_required_keeps_the_rule_and_drops_the_api_hint() {
        let v = PolicyViolation::ContactRequired {
            why: "upgrading a contactless user to a community license requires a contact: \
                  assign one first with PUT /api/v1/users/{id}/contact",
        };
        let n = explain(ServiceError::Policy(v));
        assert_eq!(n.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(n.text.starts_with("Upgrading a contactless user to a community license requires a contact."));
        assert!(!n.text.contains("/api/v1"), "{}", n.text);
    }
}
