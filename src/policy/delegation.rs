//! Who may act on which user (rules 2 and 4 and the delegated admin's account scope).

use super::PolicyViolation;
use crate::domain::{Actor, Principal, User};

/// May `actor` read or change this existing user?
///
/// Delegated admins never reach a contactless user (rule 4) and only reach contact-backed
/// users under their accounts. Admins and SCIM reach every user: contactless users made
/// natively stay readable and updatable over SCIM (rule 7).
pub fn can_manage(actor: &Actor, user: &User) -> Result<(), PolicyViolation> {
    match &actor.principal {
        Principal::Admin => Ok(()),
        Principal::Scim { .. } if sees(actor, user.account_id()) => Ok(()),
        Principal::Scim { .. } => Err(PolicyViolation::OutOfScope),
        Principal::DelegatedAdmin { accounts, .. } => match user.account_id() {
            None => Err(PolicyViolation::DelegatedAdminForbidden),
            Some(account) if accounts.iter().any(|a| a == account) => Ok(()),
            Some(_) => Err(PolicyViolation::OutOfScope),
        },
        Principal::Registration { .. } => {
            Err(PolicyViolation::Forbidden { role: "registration", surface: "the native user endpoints" })
        }
    }
}

/// May `actor` create a user whose contact lives under `contact_account`
/// (`None`: a contactless user)?
pub fn can_create(actor: &Actor, contact_account: Option<&str>) -> Result<(), PolicyViolation> {
    match (&actor.principal, contact_account) {
        (Principal::Admin, _) => Ok(()),
        // Rule 2: SCIM never creates a contactless user.
        (Principal::Scim { .. }, None) => Err(PolicyViolation::ScimContactless),
        (Principal::Scim { accounts }, Some(account)) if !accounts.is_empty() => in_scope(accounts, account),
        (Principal::Scim { .. }, Some(_)) => Ok(()),
        (Principal::DelegatedAdmin { .. }, None) => Err(PolicyViolation::DelegatedAdminForbidden),
        (Principal::DelegatedAdmin { accounts, .. }, Some(account)) => in_scope(accounts, account),
        // Self-registration creates contactless users only.
        (Principal::Registration { .. }, None) => Ok(()),
        (Principal::Registration { .. }, Some(_)) => {
            Err(PolicyViolation::Forbidden { role: "registration", surface: "contact-backed user creation" })
        }
    }
}

/// May `actor` move a user from the account `from` (`None`: a contactless user, which has
/// no contact to move) to the account `to`? The user's contact moves with it; licenses do
/// not change. Admins and unconfined SCIM tokens: any accounts. A confined SCIM token or a
/// delegated admin: only between its own accounts.
pub fn can_move(actor: &Actor, from: Option<&str>, to: &str) -> Result<(), PolicyViolation> {
    let Some(from) = from else {
        return Err(match actor.principal {
            Principal::Scim { .. } => PolicyViolation::ScimAssignsContact,
            _ => PolicyViolation::ContactRequired {
                why: "moving a user to another account moves its contact, and a contactless user has none: assign one first with PUT /api/v1/users/{id}/contact",
            },
        });
    };
    match &actor.principal {
        Principal::Admin => Ok(()),
        Principal::Scim { accounts } if accounts.is_empty() => Ok(()),
        Principal::Scim { accounts } | Principal::DelegatedAdmin { accounts, .. } => {
            in_scope(accounts, from)?;
            in_scope(accounts, to)
        }
        Principal::Registration { .. } => {
            Err(PolicyViolation::Forbidden { role: "registration", surface: "moving users between accounts" })
        }
    }
}

/// May `actor` work under this account (list its users, put a contact there)?
pub fn can_use_account(actor: &Actor, account: &str) -> Result<(), PolicyViolation> {
    match actor.principal.confined_to() {
        Some(accounts) => in_scope(accounts, account),
        None => Ok(()),
    }
}

/// What a native user listing by `actor` may show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListScope {
    /// Every user the filters match.
    All,
    /// Only contact-backed users under these accounts.
    Accounts(Vec<String>),
    /// Nobody: the filters ask for users the actor never sees.
    Nothing,
}

/// The scope of a native user listing, given the `accountId` and `contactless` filters the
/// caller asked for. A delegated admin sees contact-backed users of its accounts only
/// (rule 4): asking for contactless users shows nobody, naming another account is
/// `OutOfScope`. Everyone else lists everything the filters match.
pub fn list_scope(
    actor: &Actor,
    account: Option<&str>,
    contactless: Option<bool>,
) -> Result<ListScope, PolicyViolation> {
    let Principal::DelegatedAdmin { accounts, .. } = &actor.principal else {
        return Ok(ListScope::All);
    };
    if let Some(a) = account {
        in_scope(accounts, a)?;
    }
    if contactless == Some(true) {
        return Ok(ListScope::Nothing);
    }
    Ok(ListScope::Accounts(accounts.clone()))
}

/// Does a SCIM caller see a resource of this account (`None`: a contactless user, or a
/// group of no account)? A confined token sees only its accounts' users and groups;
/// everything else does not exist for it (404, absent from lists), so that one IdP's
/// token cannot even learn what another tenant holds. Other callers see everything the
/// surface shows them.
pub fn sees(actor: &Actor, account: Option<&str>) -> bool {
    match &actor.principal {
        Principal::Scim { accounts } if !accounts.is_empty() => {
            account.is_some_and(|a| accounts.iter().any(|x| x == a))
        }
        _ => true,
    }
}

/// What site membership asked at create may lead to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteUse {
    Allowed,
    /// An admin named a site that does not exist: a validation error, since an admin may
    /// know every site anyway.
    Unknown,
}

/// May `actor` put a new user into this site (`exists`: whether the site does)?
///
/// Admins: any site. Delegated admins: the sites their token allows (`siteIds` at token
/// creation; none by default). A registration token: its own site. SCIM: none (SCIM has
/// no site attribute). Everyone but an admin gets `OutOfScope` for a site they may not use
/// *and* for one that does not exist, so the answer never tells which sites exist.
pub fn can_use_site(actor: &Actor, site: &str, exists: bool) -> Result<SiteUse, PolicyViolation> {
    let allowed = match &actor.principal {
        Principal::Admin => return Ok(if exists { SiteUse::Allowed } else { SiteUse::Unknown }),
        Principal::DelegatedAdmin { sites, .. } => sites.iter().any(|s| s == site),
        Principal::Registration { site_id } => site_id == site,
        Principal::Scim { .. } => false,
    };
    if allowed && exists { Ok(SiteUse::Allowed) } else { Err(PolicyViolation::OutOfScope) }
}

fn in_scope(accounts: &[String], account: &str) -> Result<(), PolicyViolation> {
    if accounts.iter().any(|a| a == account) { Ok(()) } else { Err(PolicyViolation::OutOfScope) }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{AccountId, Backing, ContactId, License, Origin};
    use chrono::Utc;

    pub fn user(contact_account: Option<&str>, license: License) -> User {
        User {
            id: crate::domain::UserId::new("u1"),
            user_name: "u1@example.com".into(),
            external_id: None,
            emails: vec![],
            first_name: None,
            last_name: None,
            display_name: None,
            active: true,
            license,
            backing: match contact_account {
                None => Backing::Contactless,
                Some(a) => Backing::Contact { contact: ContactId::new("c1"), account: AccountId::new(a) },
            },
            origin: Origin::Native,
            site_ids: vec![],
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 1,
            scim_attributes: None,
            password_hash: None,
        }
    }

    pub fn admin() -> Actor {
        Actor::new("admin", Principal::Admin)
    }
    pub fn delegated() -> Actor {
        Actor::new("del", Principal::DelegatedAdmin { accounts: vec!["acc-in".into()], sites: vec!["site-in".into()] })
    }
    pub fn scim() -> Actor {
        Actor::new("scim", Principal::Scim { accounts: vec![] })
    }
    pub fn registration() -> Actor {
        Actor::new("reg", Principal::Registration { site_id: "s".into() })
    }

    #[test]
    fn manage_by_role_and_target() {
        let contactless = user(None, License::ExternalIdentity);
        let in_scope = user(Some("acc-in"), License::CustomerCommunity);
        let out_scope = user(Some("acc-out"), License::CustomerCommunity);
        type Want = Result<(), &'static str>;
        let cases: [(Actor, &User, Want); 12] = [
            (admin(), &contactless, Ok(())),
            (admin(), &in_scope, Ok(())),
            (admin(), &out_scope, Ok(())),
            (scim(), &contactless, Ok(())),
            (scim(), &in_scope, Ok(())),
            (scim(), &out_scope, Ok(())),
            (delegated(), &contactless, Err("delegated_admin_forbidden")),
            (delegated(), &in_scope, Ok(())),
            (delegated(), &out_scope, Err("out_of_scope")),
            (registration(), &contactless, Err("forbidden")),
            (registration(), &in_scope, Err("forbidden")),
            (registration(), &out_scope, Err("forbidden")),
        ];
        for (actor, target, want) in cases {
            let got = can_manage(&actor, target).map_err(|v| v.code());
            assert_eq!(got, want, "{:?} on {:?}", actor.role(), target.account_id());
        }
    }

    #[test]
    fn moves_between_accounts_by_role() {
        let confined = Actor::new("scim-c", Principal::Scim { accounts: vec!["acc-in".into(), "acc-in-2".into()] });
        type Want = Result<(), &'static str>;
        let cases: [(Actor, Option<&str>, &str, Want); 12] = [
            (admin(), Some("acc-out"), "acc-in", Ok(())),
            (admin(), None, "acc-in", Err("contact_required")),
            (scim(), Some("acc-out"), "acc-in", Ok(())),
            (scim(), None, "acc-in", Err("validation_failed")),
            (confined.clone(), Some("acc-in"), "acc-in-2", Ok(())),
            (confined.clone(), Some("acc-in"), "acc-out", Err("out_of_scope")),
            (confined, Some("acc-out"), "acc-in", Err("out_of_scope")),
            (delegated(), Some("acc-in"), "acc-in", Ok(())),
            (delegated(), Some("acc-in"), "acc-out", Err("out_of_scope")),
            (delegated(), Some("acc-out"), "acc-in", Err("out_of_scope")),
            (delegated(), None, "acc-in", Err("contact_required")),
            (registration(), Some("acc-in"), "acc-in", Err("forbidden")),
        ];
        for (actor, from, to, want) in cases {
            let got = can_move(&actor, from, to).map_err(|v| v.code());
            assert_eq!(got, want, "{:?}: {from:?} → {to}", actor.role());
        }
    }

    #[test]
    fn create_by_role_and_contact() {
        type Want = Result<(), &'static str>;
        let cases: [(Actor, Option<&str>, Want); 12] = [
            (admin(), None, Ok(())),
            (admin(), Some("acc-in"), Ok(())),
            (admin(), Some("acc-out"), Ok(())),
            (scim(), None, Err("validation_failed")),
            (scim(), Some("acc-in"), Ok(())),
            (scim(), Some("acc-out"), Ok(())),
            (delegated(), None, Err("delegated_admin_forbidden")),
            (delegated(), Some("acc-in"), Ok(())),
            (delegated(), Some("acc-out"), Err("out_of_scope")),
            (registration(), None, Ok(())),
            (registration(), Some("acc-in"), Err("forbidden")),
            (registration(), Some("acc-out"), Err("forbidden")),
        ];
        for (actor, account, want) in cases {
            let got = can_create(&actor, account).map_err(|v| v.code());
            assert_eq!(got, want, "{:?} creating under {account:?}", actor.role());
        }
        assert_eq!(can_create(&scim(), None), Err(PolicyViolation::ScimContactless));
    }

    #[test]
    fn user_lists_by_role_and_filters() {
        type Want = Result<ListScope, &'static str>;
        let scoped: Want = Ok(ListScope::Accounts(vec!["acc-in".into()]));
        let cases: [(Actor, Option<&str>, Option<bool>, Want); 7] = [
            (admin(), None, Some(true), Ok(ListScope::All)),
            (admin(), Some("acc-out"), None, Ok(ListScope::All)),
            (delegated(), None, None, scoped.clone()),
            (delegated(), Some("acc-in"), Some(false), scoped),
            (delegated(), None, Some(true), Ok(ListScope::Nothing)),
            (delegated(), Some("acc-out"), None, Err("out_of_scope")),
            (delegated(), Some("acc-out"), Some(true), Err("out_of_scope")),
        ];
        for (actor, account, contactless, want) in cases {
            let got = list_scope(&actor, account, contactless).map_err(|v| v.code());
            assert_eq!(got, want, "{:?} {account:?} {contactless:?}", actor.role());
        }
    }

    #[test]
    fn account_scope() {
        assert!(can_use_account(&admin(), "any").is_ok());
        assert!(can_use_account(&delegated(), "acc-in").is_ok());
        assert_eq!(can_use_account(&delegated(), "acc-out"), Err(PolicyViolation::OutOfScope));
    }

    #[test]
    fn site_membership_by_role_existence_and_allowance() {
        type Want = Result<SiteUse, &'static str>;
        let cases: [(Actor, &str, bool, Want); 11] = [
            (admin(), "any", true, Ok(SiteUse::Allowed)),
            (admin(), "gone", false, Ok(SiteUse::Unknown)),
            (delegated(), "site-in", true, Ok(SiteUse::Allowed)),
            (delegated(), "site-out", true, Err("out_of_scope")),
            // An unknown site answers as a forbidden one: nothing tells which sites exist.
            (delegated(), "site-in", false, Err("out_of_scope")),
            (delegated(), "gone", false, Err("out_of_scope")),
            (registration(), "s", true, Ok(SiteUse::Allowed)),
            (registration(), "other", true, Err("out_of_scope")),
            (registration(), "s", false, Err("out_of_scope")),
            (scim(), "s", true, Err("out_of_scope")),
            (scim(), "gone", false, Err("out_of_scope")),
        ];
        for (actor, site, exists, want) in cases {
            let got = can_use_site(&actor, site, exists).map_err(|v| v.code());
            assert_eq!(got, want, "{:?} putting a user into {site} (exists: {exists})", actor.role());
        }
        let no_sites = Actor::new("d", Principal::DelegatedAdmin { accounts: vec!["acc-in".into()], sites: vec![] });
        assert_eq!(can_use_site(&no_sites, "site-in", true), Err(PolicyViolation::OutOfScope), "the default is none");
    }
}
