//! People's signed-in sessions (the Setup console's): sign in with a token, resume from a
//! cookie, sign out; and the actions a user page may offer (each one the policy's answer). Depends on `policy`, `store` and `domain`; never
//! on actix: the cookie and the form checks live in `api::console`.
//!
//! A session is server-side: the cookie carries a 256-bit random secret, the database only
//! its SHA-256 (as for tokens), with the token that signed in, an expiry and the session's
//! CSRF synchronizer token. Every request re-reads the token, so revoking it ends its
//! console sessions at once; a bootstrap-secret session lives only while a bootstrap secret
//! is configured.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::{ServiceError, audit, auth};
use crate::domain::{Actor, AuditAction, License, LicensePool, Principal, User, new_id, now};
use crate::policy::{self, PolicyViolation, access::Surface};
use crate::store::{Db, console_sessions, tokens};

/// The prefix of console session secrets (the cookie's value).
pub const SESSION_PREFIX: &str = "sgc_";

/// A signed-in console session.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub id: String,
    /// Acts exactly as the token that signed in: same principal, same audit label.
    pub actor: Actor,
    /// The signed-in token's name (`bootstrap` for the bootstrap secret).
    pub name: String,
    /// The synchronizer token every console form must carry.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Signs in with a bearer token: only admin and delegated-admin tokens may. Returns the
/// session and its secret (for the cookie; it exists nowhere else).
pub async fn sign_in(
    db: &Db,
    bootstrap: &auth::Bootstrap,
    cache: &auth::TokenCache,
    presented: &str,
    ttl: Duration,
) -> Result<(ConsoleSession, String), ServiceError> {
    let actor = auth::authenticate(db, bootstrap, cache, presented.trim()).await?;
    policy::access::may_use(&actor, Surface::Console)?;
    let secret = auth::generate_secret(SESSION_PREFIX)?;
    let csrf_token = auth::generate_secret("")?;
    let hash = auth::hash_secret(&secret);
    let token_id = auth::token_id(&actor).map(str::to_owned);
    let generation = if token_id.is_none() { bootstrap.generation() } else { None };
    let session = db
        .write(move |conn| {
            let name = match &token_id {
                Some(id) => tokens::find(conn, id)?.map(|t| t.name).ok_or(ServiceError::Unauthenticated)?,
                None => auth::BOOTSTRAP_LABEL.to_owned(),
            };
            let at = now();
            console_sessions::delete_expired(conn, at)?;
            let row = console_sessions::ConsoleSessionRow {
                id: new_id(),
                token_id,
                bootstrap_generation: generation,
                csrf_token,
                created_at: at,
                expires_at: at + ttl,
            };
            console_sessions::insert(conn, &row, &hash)?;
            audit::record(
                conn,
                &actor,
                AuditAction::ConsoleSignedIn,
                &row.id,
                json!({ "tokenId": row.token_id, "expiresAt": row.expires_at }),
            )?;
            Ok::<_, ServiceError>(ConsoleSession {
                id: row.id,
                actor,
                name,
                csrf_token: row.csrf_token,
                expires_at: row.expires_at,
            })
        })
        .await?;
    Ok((session, secret))
}

/// The live session a cookie's secret names: `Unauthenticated` when it is unknown,
/// expired, signed out, or its token was revoked.
pub async fn resume(db: &Db, bootstrap: &auth::Bootstrap, presented: &str) -> Result<ConsoleSession, ServiceError> {
    if !presented.starts_with(SESSION_PREFIX) || presented.len() > 128 {
        return Err(ServiceError::Unauthenticated);
    }
    let hash = auth::hash_secret(presented);
    let generation = bootstrap.generation();
    db.read(move |conn| {
        let row = console_sessions::find_live(conn, &hash, now())?.ok_or(ServiceError::Unauthenticated)?;
        let (actor, name) = match &row.token_id {
            Some(id) => {
                let token =
                    tokens::find(conn, id)?.filter(|t| t.revoked_at.is_none()).ok_or(ServiceError::Unauthenticated)?;
                (auth::token_actor(&token), token.name)
            }
            // A bootstrap session lives only while the same bootstrap secret is configured.
            None if generation.is_some() && row.bootstrap_generation == generation => {
                (Actor::new(auth::BOOTSTRAP_LABEL, Principal::Admin), auth::BOOTSTRAP_LABEL.to_owned())
            }
            None => return Err(ServiceError::Unauthenticated),
        };
        policy::access::may_use(&actor, Surface::Console).map_err(|_| ServiceError::Unauthenticated)?;
        Ok(ConsoleSession { id: row.id, actor, name, csrf_token: row.csrf_token, expires_at: row.expires_at })
    })
    .await
}

/// Ends the session (audited).
pub async fn sign_out(db: &Db, session: ConsoleSession) -> Result<(), ServiceError> {
    db.write(move |conn| {
        if console_sessions::delete(conn, &session.id)? {
            audit::record(conn, &session.actor, AuditAction::ConsoleSignedOut, &session.id, json!({}))?;
        }
        Ok(())
    })
    .await
}

/// Whether the console offers an action on a user, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offer {
    Allowed,
    /// The policy refuses it: the console shows the button disabled with this reason.
    Refused(PolicyViolation),
    /// Allowed but changes nothing (downgrading a contactless user).
    Pointless(&'static str),
}

/// What the user page offers this actor on this user, as the policy decides it now. The
/// services decide again, under locks, when the action is submitted; pool capacity is
/// left to that moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserActions {
    pub assign_contact: Offer,
    pub upgrade: Offer,
    pub downgrade: Offer,
    pub login_as: Offer,
    pub set_active: Offer,
}

fn offer(r: Result<(), PolicyViolation>) -> Offer {
    match r {
        Ok(()) => Offer::Allowed,
        Err(v) => Offer::Refused(v),
    }
}

pub fn user_actions(actor: &Actor, user: &User) -> UserActions {
    let roomy = |license| LicensePool { license, capacity: None, used: 0 };
    let upgrade_to = match user.license {
        License::CustomerCommunity => License::CustomerCommunityPlus,
        _ => License::CustomerCommunity,
    };
    let downgrade = if user.is_contactless() {
        Offer::Pointless(
            "this user is already contactless: there is no contact to unlink and no community license to return",
        )
    } else {
        offer(policy::licensing::can_downgrade(actor, user, &roomy(License::ExternalIdentity)).map(|_| ()))
    };
    UserActions {
        assign_contact: offer(policy::delegation::can_manage(actor, user)),
        upgrade: offer(policy::licensing::can_upgrade(actor, user, upgrade_to, &roomy(upgrade_to)).map(|_| ())),
        downgrade,
        login_as: offer(policy::contacts::can_login_as(actor, user)),
        set_active: offer(policy::delegation::can_manage(actor, user)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::delegation::tests::{admin, delegated, user};

    #[test]
    fn a_contactless_user_cannot_be_upgraded_or_impersonated_until_it_has_a_contact() {
        let contactless = user(None, License::ExternalIdentity);
        let a = user_actions(&admin(), &contactless);
        assert!(matches!(a.upgrade, Offer::Refused(PolicyViolation::ContactRequired { .. })));
        assert!(matches!(a.login_as, Offer::Refused(PolicyViolation::ContactRequired { .. })));
        assert!(matches!(a.downgrade, Offer::Pointless(_)));
        assert_eq!(a.assign_contact, Offer::Allowed);
        let backed = user(Some("acc-in"), License::CustomerCommunity);
        let a = user_actions(&admin(), &backed);
        assert_eq!((a.upgrade, a.downgrade, a.login_as), (Offer::Allowed, Offer::Allowed, Offer::Allowed));
    }

    #[test]
    fn a_delegated_admin_is_offered_no_downgrade() {
        let backed = user(Some("acc-in"), License::CustomerCommunity);
        let a = user_actions(&delegated(), &backed);
        assert_eq!(a.downgrade, Offer::Refused(PolicyViolation::DelegatedAdminForbidden));
        assert_eq!(a.upgrade, Offer::Allowed);
        assert_eq!(a.login_as, Offer::Allowed);
    }
}
