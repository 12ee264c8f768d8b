//! Which role may use which surface (the contract's "Authentication and roles" table).

use super::PolicyViolation;
use crate::domain::{Actor, Principal};

/// A group of endpoints that the role table speaks of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface<'a> {
    /// `/api/v1/users` and everything under it.
    NativeUsers,
    /// Every other native endpoint (accounts, contacts, licenses, sites, tokens, audit, metrics).
    NativeAdmin,
    /// `/scim/v2/*`.
    Scim,
    /// `POST /api/v1/sites/{id}/register` for this site.
    Register { site_id: &'a str },
    /// Signing in to the Setup console (`/setup`); each page then checks the surface its
    /// API counterpart uses.
    Console,
}

impl Surface<'_> {
    fn name(&self) -> &'static str {
        match self {
            Surface::NativeUsers => "the native user endpoints",
            Surface::NativeAdmin => "this endpoint",
            Surface::Scim => "the SCIM API",
            Surface::Register { .. } => "self-registration on this site",
            Surface::Console => "the Setup console",
        }
    }
}

pub fn may_use(actor: &Actor, surface: Surface<'_>) -> Result<(), PolicyViolation> {
    let allowed = match (&actor.principal, surface) {
        (Principal::Admin, _) => true,
        (Principal::DelegatedAdmin { .. }, Surface::NativeUsers | Surface::Console) => true,
        (Principal::Scim { .. }, Surface::Scim) => true,
        (Principal::Registration { site_id }, Surface::Register { site_id: target }) => site_id == target,
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(PolicyViolation::Forbidden { role: actor.role().as_str(), surface: surface.name() })
    }
}

/// A capability: proof that an actor passed a surface's check. Only its function makes
/// one, so a service that takes it cannot be reached by a caller that skipped the check:
/// a handler that forgot it does not compile. It carries the actor, whose scope (a
/// delegated admin's or a confined token's accounts) the services still apply.
macro_rules! capability {
    ($(#[$doc:meta])* $cap:ident; $(#[$make_doc:meta])* fn $make:ident => $surface:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $cap {
            actor: Actor,
        }

        impl $cap {
            /// The caller acting (for its scope and the audit records).
            pub fn actor(&self) -> &Actor {
                &self.actor
            }
        }

        $(#[$make_doc])*
        pub fn $make(actor: Actor) -> Result<$cap, PolicyViolation> {
            may_use(&actor, $surface)?;
            Ok($cap { actor })
        }
    };
}

capability! {
    /// Proof that an actor may use the admin surface (every native endpoint outside the user
    /// endpoints, the admin pages of the console, metrics). Admin-only service functions take one.
    AdminCap;
    /// The admin capability of `actor`, or 403 `forbidden` for any other role.
    fn admin => Surface::NativeAdmin
}

capability! {
    /// Proof that an actor may use the SCIM surface (`scim` and `admin` tokens). The SCIM
    /// services take one.
    ScimCap;
    /// The SCIM capability of `actor`, or 403 `forbidden` for a role without the SCIM surface.
    fn scim => Surface::Scim
}

capability! {
    /// Proof that an actor may manage users natively (`admin` and `delegated_admin` tokens:
    /// the native user endpoints and the console's user pages). The native user services
    /// take one; a delegated admin's accounts still bound what it reaches.
    UsersCap;
    /// The user-management capability of `actor`, or 403 `forbidden` for another role.
    fn users => Surface::NativeUsers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actors() -> Vec<Actor> {
        vec![
            Actor::new("a", Principal::Admin),
            Actor::new("d", Principal::DelegatedAdmin { accounts: vec!["acc".into()], sites: vec![] }),
            Actor::new("s", Principal::Scim { accounts: vec![] }),
            Actor::new("r", Principal::Registration { site_id: "site-1".into() }),
        ]
    }

    #[test]
    fn the_role_table_exactly() {
        let surfaces = [
            Surface::NativeUsers,
            Surface::NativeAdmin,
            Surface::Scim,
            Surface::Register { site_id: "site-1" },
            Surface::Register { site_id: "site-2" },
            Surface::Console,
        ];
        // rows: admin, delegated_admin, scim, registration; columns: surfaces above.
        let expected = [
            [true, true, true, true, true, true],
            [true, false, false, false, false, true],
            [false, false, true, false, false, false],
            [false, false, false, true, false, false],
        ];
        for (actor, row) in actors().iter().zip(expected) {
            for (surface, want) in surfaces.iter().zip(row) {
                let got = may_use(actor, *surface);
                assert_eq!(got.is_ok(), want, "{:?} on {surface:?}", actor.role());
                if let Err(v) = got {
                    assert_eq!(v.code(), "forbidden");
                }
            }
        }
    }

    #[test]
    fn only_admins_get_the_admin_capability() {
        let got: Vec<bool> = actors().into_iter().map(|a| admin(a).is_ok()).collect();
        assert_eq!(got, [true, false, false, false]);
        assert_eq!(admin(Actor::cli()).unwrap().actor().label, "cli");
    }

    #[test]
    fn only_admins_and_scim_tokens_get_the_scim_capability() {
        let got: Vec<bool> = actors().into_iter().map(|a| scim(a).is_ok()).collect();
        assert_eq!(got, [true, false, true, false]);
        let refused = scim(actors().remove(1)).unwrap_err();
        assert_eq!(refused.code(), "forbidden");
        assert_eq!(scim(actors().remove(2)).unwrap().actor().label, "s");
    }

    #[test]
    fn only_admins_and_delegated_admins_get_the_users_capability() {
        let got: Vec<bool> = actors().into_iter().map(|a| users(a).is_ok()).collect();
        assert_eq!(got, [true, true, false, false]);
        assert_eq!(users(actors().remove(2)).unwrap_err().code(), "forbidden");
    }
}
