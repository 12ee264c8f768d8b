//! Rule 2: SCIM never creates (or makes) a contactless user. A SCIM create is routed into
//! the contact-backed path; this decides where its contact goes.

use super::PolicyViolation;
use crate::domain::{Actor, Principal};

/// The account that receives the contact of a user created over SCIM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactAccount {
    /// Named in the request (our extension's `accountId`).
    Named(String),
    /// The account the `scim` token is bound to.
    TokenDefault(String),
    /// The gateway's configured default account (created on first use).
    Configured,
}

/// Routes a SCIM create: refuses `contactless: true`, else picks the contact's account:
/// the request's, else the token's, else the configured default.
pub fn route_create(
    actor: &Actor,
    asks_contactless: bool,
    named_account: Option<&str>,
) -> Result<ContactAccount, PolicyViolation> {
    if asks_contactless {
        return Err(PolicyViolation::ScimContactless);
    }
    if let Some(a) = named_account {
        return Ok(ContactAccount::Named(a.to_owned()));
    }
    match &actor.principal {
        Principal::Scim { accounts } => match accounts.first() {
            Some(a) => Ok(ContactAccount::TokenDefault(a.clone())),
            None => Ok(ContactAccount::Configured),
        },
        _ => Ok(ContactAccount::Configured),
    }
}

/// A SCIM update may not make a contactless user either. A user that already is
/// contactless (made natively) may be sent back as it reads (`contactless: true`): that
/// asks for no change, and SCIM stays able to update it (rule 7).
pub fn check_update(asks_contactless: bool, is_contactless: bool) -> Result<(), PolicyViolation> {
    if asks_contactless && !is_contactless { Err(PolicyViolation::ScimContactless) } else { Ok(()) }
}

/// A SCIM PATCH that names `contactless` (readOnly, but asking is an answer rule 2 owes):
/// setting it to what it is asks for nothing; `true` on a contact-backed user is rule 2's
/// refusal; `false` on a contactless user would need a contact SCIM cannot assign.
pub fn check_patch(asks: Option<bool>, is_contactless: bool) -> Result<(), PolicyViolation> {
    match asks {
        Some(true) if !is_contactless => Err(PolicyViolation::ScimContactless),
        Some(false) if is_contactless => Err(PolicyViolation::ScimAssignsContact),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scim(default: Option<&str>) -> Actor {
        Actor::new("s", Principal::Scim { accounts: default.map(str::to_owned).into_iter().collect() })
    }

    #[test]
    fn creates_are_always_contact_backed() {
        let admin = Actor::new("a", Principal::Admin);
        type Case<'a> = (Actor, bool, Option<&'a str>, Result<ContactAccount, PolicyViolation>);
        let cases: Vec<Case> = vec![
            (scim(None), true, None, Err(PolicyViolation::ScimContactless)),
            (scim(Some("t")), true, Some("n"), Err(PolicyViolation::ScimContactless)),
            (admin.clone(), true, None, Err(PolicyViolation::ScimContactless)),
            (scim(Some("t")), false, Some("n"), Ok(ContactAccount::Named("n".into()))),
            (scim(Some("t")), false, None, Ok(ContactAccount::TokenDefault("t".into()))),
            (scim(None), false, None, Ok(ContactAccount::Configured)),
            (admin, false, None, Ok(ContactAccount::Configured)),
        ];
        for (actor, contactless, named, want) in cases {
            assert_eq!(route_create(&actor, contactless, named), want, "{contactless} {named:?}");
        }
    }

    #[test]
    fn updates_cannot_make_a_user_contactless() {
        assert_eq!(check_update(true, false), Err(PolicyViolation::ScimContactless));
        assert!(check_update(false, false).is_ok());
        assert!(check_update(true, true).is_ok(), "a contactless user read back as it is");
        assert!(check_update(false, true).is_ok());
    }

    #[test]
    fn patches_cannot_make_or_unmake_a_contactless_user() {
        assert_eq!(check_patch(Some(true), false), Err(PolicyViolation::ScimContactless));
        assert_eq!(check_patch(Some(false), true), Err(PolicyViolation::ScimAssignsContact));
        for (asks, is) in [(Some(true), true), (Some(false), false), (None, true), (None, false)] {
            assert!(check_patch(asks, is).is_ok(), "{asks:?} on contactless={is}");
        }
    }
}
