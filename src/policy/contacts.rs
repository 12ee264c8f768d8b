//! Contact rules: assigning a contact (rule 5's precondition) and login-as (rule 3).

use super::{PolicyViolation, delegation};
use crate::domain::{Actor, User};

/// May `actor` link `user` to a contact under `contact_account`?
pub fn can_assign_contact(actor: &Actor, user: &User, contact_account: &str) -> Result<(), PolicyViolation> {
    delegation::can_manage(actor, user)?;
    delegation::can_use_account(actor, contact_account)
}

/// Rule 3: login-as (impersonation) requires a contact.
pub fn can_login_as(actor: &Actor, user: &User) -> Result<(), PolicyViolation> {
    delegation::can_manage(actor, user)?;
    if user.is_contactless() {
        return Err(PolicyViolation::ContactRequired {
            why: "login-as requires a contact and this user is contactless: \
                  assign a contact first with PUT /api/v1/users/{id}/contact",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::License;
    use crate::policy::delegation::tests::{admin, delegated, registration, scim, user};

    #[test]
    fn login_as_needs_a_contact_for_every_role() {
        let contactless = user(None, License::ExternalIdentity);
        let backed = user(Some("acc-in"), License::CustomerCommunity);
        let outside = user(Some("acc-out"), License::CustomerCommunity);
        type Want = Result<(), &'static str>;
        let cases: Vec<(Actor, &User, Want)> = vec![
            (admin(), &contactless, Err("contact_required")),
            (admin(), &backed, Ok(())),
            (scim(), &contactless, Err("contact_required")),
            (delegated(), &contactless, Err("delegated_admin_forbidden")),
            (delegated(), &backed, Ok(())),
            (delegated(), &outside, Err("out_of_scope")),
            (registration(), &backed, Err("forbidden")),
        ];
        for (actor, u, want) in cases {
            assert_eq!(can_login_as(&actor, u).map_err(|v| v.code()), want, "{:?}", actor.role());
        }
    }

    #[test]
    fn assigning_a_contact_checks_the_user_and_the_contacts_account() {
        let contactless = user(None, License::ExternalIdentity);
        let backed = user(Some("acc-in"), License::ExternalIdentity);
        type Want = Result<(), &'static str>;
        let cases: Vec<(Actor, &User, &str, Want)> = vec![
            (admin(), &contactless, "any", Ok(())),
            (scim(), &contactless, "any", Ok(())),
            (delegated(), &contactless, "acc-in", Err("delegated_admin_forbidden")),
            (delegated(), &backed, "acc-in", Ok(())),
            (delegated(), &backed, "acc-out", Err("out_of_scope")),
            (registration(), &contactless, "any", Err("forbidden")),
        ];
        for (actor, u, account, want) in cases {
            let got = can_assign_contact(&actor, u, account).map_err(|v| v.code());
            assert_eq!(got, want, "{:?} assigning under {account}", actor.role());
        }
    }
}
