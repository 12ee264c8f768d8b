//! License rules: invariant 1 (community needs a contact), rules 5 and 6 (upgrade,
//! downgrade) and 8 (pools never oversubscribed).

use super::{PolicyViolation, delegation};
use crate::domain::{Actor, License, LicensePool, Principal, User};

/// Invariant 1: a community license requires a contact.
pub fn can_hold(license: License, has_contact: bool) -> Result<(), PolicyViolation> {
    if license.is_community() && !has_contact {
        Err(PolicyViolation::ContactRequired {
            why: "a community license requires a contact: assign a contact first \
                  (PUT /api/v1/users/{id}/contact) or create the user with one",
        })
    } else {
        Ok(())
    }
}

/// Invariant 8: grant one license from `pool` only while it has room.
pub fn can_grant(pool: &LicensePool) -> Result<(), PolicyViolation> {
    if pool.has_room() { Ok(()) } else { Err(PolicyViolation::LicenseUnavailable { license: pool.license }) }
}

/// Creating a user: who may create it, may it hold the license, is there one left.
/// `pool` is the pool of `license`.
pub fn can_create(
    actor: &Actor,
    license: License,
    contact_account: Option<&str>,
    pool: &LicensePool,
) -> Result<(), PolicyViolation> {
    delegation::can_create(actor, contact_account)?;
    can_hold(license, contact_account.is_some())?;
    can_grant(pool)
}

/// What an allowed upgrade does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upgrade {
    /// The user already holds that license: nothing changes, no license is drawn.
    Unchanged,
    /// Release `from` to its pool and draw the target license.
    Change { from: License },
}

/// Rule 5: upgrading to a community license requires a contact first.
/// `pool` is the pool of `to`.
pub fn can_upgrade(actor: &Actor, user: &User, to: License, pool: &LicensePool) -> Result<Upgrade, PolicyViolation> {
    delegation::can_manage(actor, user)?;
    if !to.is_community() {
        return Err(PolicyViolation::InvalidLicense {
            why: format!(
                "upgrade targets a community license (customer_community, \
                 customer_community_plus or partner_community), not {to}; \
                 use POST /api/v1/users/{{id}}/downgrade to return to external_identity"
            ),
        });
    }
    can_hold(to, !user.is_contactless()).map_err(|_| PolicyViolation::ContactRequired {
        why: "upgrading a contactless user to a community license requires a contact: \
              assign one first with PUT /api/v1/users/{id}/contact",
    })?;
    if user.license == to {
        return Ok(Upgrade::Unchanged);
    }
    can_grant(pool)?;
    Ok(Upgrade::Change { from: user.license })
}

/// What an allowed downgrade does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Downgrade {
    /// Already contactless: a no-op that succeeds (rule 6).
    AlreadyContactless,
    /// Unlink the contact (which stays) and hold `external_identity`; when `release` is a
    /// community license it returns to its pool and one external identity is drawn.
    MakeContactless { release: Option<License> },
}

/// Rule 6 (and rule 4: a delegated admin may never make a user contactless).
/// `external_identity_pool` is the pool the user's new license is drawn from.
pub fn can_downgrade(
    actor: &Actor,
    user: &User,
    external_identity_pool: &LicensePool,
) -> Result<Downgrade, PolicyViolation> {
    delegation::can_manage(actor, user)?;
    if user.is_contactless() {
        return Ok(Downgrade::AlreadyContactless);
    }
    if matches!(actor.principal, Principal::DelegatedAdmin { .. }) {
        return Err(PolicyViolation::DelegatedAdminForbidden);
    }
    if user.license.is_community() {
        can_grant(external_identity_pool)?;
        Ok(Downgrade::MakeContactless { release: Some(user.license) })
    } else {
        Ok(Downgrade::MakeContactless { release: None })
    }
}

/// A bulk downgrade (`POST /api/v1/users/bulk-downgrade`): refused up front to a delegated
/// admin, since every downgrade makes a user contactless (rule 4); for anyone else each
/// user is then decided by [`can_downgrade`].
pub fn can_bulk_downgrade(actor: &Actor) -> Result<(), PolicyViolation> {
    match actor.principal {
        Principal::Admin | Principal::Scim { .. } => Ok(()),
        Principal::DelegatedAdmin { .. } => Err(PolicyViolation::DelegatedAdminForbidden),
        Principal::Registration { .. } => {
            Err(PolicyViolation::Forbidden { role: "registration", surface: "the native user endpoints" })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::delegation::tests::{admin, delegated, registration, scim, user};

    fn pool(license: License, capacity: Option<i64>, used: i64) -> LicensePool {
        LicensePool { license, capacity, used }
    }

    #[test]
    fn community_licenses_need_a_contact() {
        for l in License::ALL {
            assert!(can_hold(l, true).is_ok());
            assert_eq!(can_hold(l, false).is_ok(), l == License::ExternalIdentity);
        }
    }

    #[test]
    fn pools_grant_until_full() {
        assert!(can_grant(&pool(License::CustomerCommunity, Some(1), 0)).is_ok());
        assert_eq!(
            can_grant(&pool(License::CustomerCommunity, Some(1), 1)),
            Err(PolicyViolation::LicenseUnavailable { license: License::CustomerCommunity })
        );
        assert!(can_grant(&pool(License::CustomerCommunity, None, i64::MAX - 1)).is_ok());
        assert!(can_grant(&pool(License::PartnerCommunity, Some(0), 0)).is_err());
    }

    #[test]
    fn create_combines_role_license_and_pool() {
        let room = pool(License::CustomerCommunity, None, 0);
        let full = pool(License::CustomerCommunity, Some(0), 0);
        let ei = pool(License::ExternalIdentity, None, 0);
        let cc = License::CustomerCommunity;
        let ex = License::ExternalIdentity;
        type Want = Result<(), &'static str>;
        let cases: Vec<(Actor, License, Option<&str>, &LicensePool, Want)> = vec![
            (admin(), ex, None, &ei, Ok(())),
            (admin(), cc, None, &room, Err("contact_required")),
            (admin(), cc, Some("a"), &room, Ok(())),
            (admin(), cc, Some("a"), &full, Err("license_unavailable")),
            (delegated(), ex, None, &ei, Err("delegated_admin_forbidden")),
            (delegated(), cc, Some("acc-in"), &room, Ok(())),
            (delegated(), cc, Some("acc-out"), &room, Err("out_of_scope")),
            (delegated(), cc, Some("acc-in"), &full, Err("license_unavailable")),
            (scim(), ex, None, &ei, Err("validation_failed")),
            (scim(), cc, Some("a"), &room, Ok(())),
            (scim(), cc, Some("a"), &full, Err("license_unavailable")),
            (registration(), ex, None, &ei, Ok(())),
            (registration(), cc, Some("a"), &room, Err("forbidden")),
        ];
        for (actor, license, account, p, want) in cases {
            let got = can_create(&actor, license, account, p).map_err(|v| v.code());
            assert_eq!(got, want, "{:?} {license} {account:?}", actor.role());
        }
    }

    #[test]
    fn upgrade_rules_by_role() {
        let contactless = user(None, License::ExternalIdentity);
        let backed_in = user(Some("acc-in"), License::ExternalIdentity);
        let backed_out = user(Some("acc-out"), License::ExternalIdentity);
        let room = pool(License::CustomerCommunity, Some(5), 1);
        let full = pool(License::CustomerCommunity, Some(1), 1);
        let cc = License::CustomerCommunity;
        type Want = Result<Upgrade, &'static str>;
        let change = Ok(Upgrade::Change { from: License::ExternalIdentity });
        let cases: Vec<(Actor, &User, License, &LicensePool, Want)> = vec![
            (admin(), &contactless, cc, &room, Err("contact_required")),
            (admin(), &backed_in, cc, &room, change),
            (admin(), &backed_in, cc, &full, Err("license_unavailable")),
            (admin(), &backed_in, License::ExternalIdentity, &room, Err("invalid_license")),
            (scim(), &contactless, cc, &room, Err("contact_required")),
            (scim(), &backed_out, cc, &room, change),
            (delegated(), &contactless, cc, &room, Err("delegated_admin_forbidden")),
            (delegated(), &backed_in, cc, &room, change),
            (delegated(), &backed_out, cc, &room, Err("out_of_scope")),
            (registration(), &backed_in, cc, &room, Err("forbidden")),
        ];
        for (actor, u, to, p, want) in cases {
            let got = can_upgrade(&actor, u, to, p).map_err(|v| v.code());
            assert_eq!(got, want, "{:?} upgrading {:?} to {to}", actor.role(), u.account_id());
        }
    }

    #[test]
    fn upgrading_to_the_license_held_draws_nothing_even_from_a_full_pool() {
        let holder = user(Some("acc-in"), License::CustomerCommunity);
        let full = pool(License::CustomerCommunity, Some(1), 1);
        assert_eq!(can_upgrade(&admin(), &holder, License::CustomerCommunity, &full), Ok(Upgrade::Unchanged));
    }

    #[test]
    fn downgrade_rules_by_role() {
        let contactless = user(None, License::ExternalIdentity);
        let community = user(Some("acc-in"), License::PartnerCommunity);
        let ei_backed = user(Some("acc-in"), License::ExternalIdentity);
        let outside = user(Some("acc-out"), License::PartnerCommunity);
        let ei = pool(License::ExternalIdentity, None, 0);
        let ei_full = pool(License::ExternalIdentity, Some(0), 0);
        type Want = Result<Downgrade, &'static str>;
        let release = Ok(Downgrade::MakeContactless { release: Some(License::PartnerCommunity) });
        let cases: Vec<(Actor, &User, &LicensePool, Want)> = vec![
            (admin(), &contactless, &ei, Ok(Downgrade::AlreadyContactless)),
            (admin(), &community, &ei, release),
            (admin(), &community, &ei_full, Err("license_unavailable")),
            (admin(), &ei_backed, &ei_full, Ok(Downgrade::MakeContactless { release: None })),
            (scim(), &community, &ei, release),
            (delegated(), &contactless, &ei, Err("delegated_admin_forbidden")),
            (delegated(), &community, &ei, Err("delegated_admin_forbidden")),
            (delegated(), &outside, &ei, Err("out_of_scope")),
            (registration(), &community, &ei, Err("forbidden")),
        ];
        for (actor, u, p, want) in cases {
            let got = can_downgrade(&actor, u, p).map_err(|v| v.code());
            assert_eq!(got, want, "{:?} downgrading {:?}", actor.role(), u.license);
        }
    }

    #[test]
    fn bulk_downgrades_by_role() {
        let got = |a: Actor| can_bulk_downgrade(&a).map_err(|v| v.code());
        assert_eq!(got(admin()), Ok(()));
        assert_eq!(got(scim()), Ok(()));
        assert_eq!(got(delegated()), Err("delegated_admin_forbidden"));
        assert_eq!(got(registration()), Err("forbidden"));
    }
}
