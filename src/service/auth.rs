//! Bearer tokens: creation (the secret shown once), listing, revocation, authentication.
//! Secrets are 256 random bits, stored only as their SHA-256 (a slow password hash buys
//! nothing against a secret with that much entropy, and would cost every request).

use std::collections::HashMap;

use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ServiceError, audit, write_as};
use crate::domain::{Actor, AuditAction, Principal, Role, TokenId, TokenInfo, ValidationError, new_id, now, text};
use crate::policy::access::AdminCap;
use crate::store::{Db, accounts, tokens};

/// The prefix of every API token secret, so that secret scanners can recognise them.
pub const TOKEN_PREFIX: &str = "sgt_";
/// The prefix of login-as session tokens.
pub const SESSION_PREFIX: &str = "sgs_";

pub fn generate_secret(prefix: &str) -> Result<String, ServiceError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ServiceError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// What a new token is for.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub account_ids: Vec<String>,
    pub site_id: Option<String>,
    /// The sites a delegated admin may put users into.
    pub site_ids: Vec<String>,
    /// Its own request quota per minute (`None`: the configured default; 0: none).
    pub requests_per_minute: Option<u32>,
}

/// Creates a token and returns it with its secret: the only time the secret exists
/// outside the caller's hands.
pub async fn create(db: &Db, admin: &AdminCap, req: NewToken) -> Result<(TokenInfo, String), ServiceError> {
    let actor = admin.actor().clone();
    let name = text("name", &req.name, 256)?;
    match req.role {
        Role::Admin if !req.account_ids.is_empty() || req.site_id.is_some() => {
            return Err(ValidationError::new("role", "an admin token takes neither accountIds nor siteId").into());
        }
        Role::DelegatedAdmin if req.account_ids.is_empty() || req.site_id.is_some() => {
            return Err(ValidationError::new(
                "accountIds",
                "a delegated_admin token needs at least one account and no siteId",
            )
            .into());
        }
        Role::Scim if req.site_id.is_some() => {
            return Err(ValidationError::new("siteId", "a scim token takes no siteId").into());
        }
        Role::Registration if req.site_id.is_none() || !req.account_ids.is_empty() => {
            return Err(ValidationError::new(
                "siteId",
                "a registration token is bound to exactly one site (siteId) and takes no accountIds",
            )
            .into());
        }
        _ => {}
    }
    if req.role != Role::DelegatedAdmin && !req.site_ids.is_empty() {
        return Err(ValidationError::new("siteIds", "only a delegated_admin token takes siteIds").into());
    }
    let secret = generate_secret(TOKEN_PREFIX)?;
    let hash = hash_secret(&secret);
    db.write(move |conn| {
        // Kept in the order given, without repeats: a scim token's first account is the
        // default account of the contacts it creates.
        let mut account_ids: Vec<String> = vec![];
        for a in &req.account_ids {
            if !account_ids.contains(a) {
                account_ids.push(a.clone());
            }
        }
        for a in &account_ids {
            if accounts::find_account(conn, a)?.is_none() {
                return Err(ValidationError::new("accountIds", format!("no account {a}")).into());
            }
        }
        if let Some(s) = &req.site_id
            && accounts::find_site(conn, s)?.is_none()
        {
            return Err(ValidationError::new("siteId", format!("no site {s}")).into());
        }
        let mut site_ids = req.site_ids.clone();
        site_ids.sort();
        site_ids.dedup();
        for s in &site_ids {
            if accounts::find_site(conn, s)?.is_none() {
                return Err(ValidationError::new("siteIds", format!("no site {s}")).into());
            }
        }
        let info = TokenInfo {
            id: TokenId::new(new_id()),
            name,
            role: req.role,
            account_ids,
            site_id: req.site_id.clone(),
            site_ids,
            requests_per_minute: req.requests_per_minute,
            created_at: now(),
            revoked_at: None,
            last_used_at: None,
        };
        tokens::insert(conn, &info, &hash)?;
        audit::record(
            conn,
            &actor,
            AuditAction::TokenCreated,
            info.id.as_str(),
            json!({ "name": info.name, "role": info.role.as_str(), "accountIds": info.account_ids, "siteId": info.site_id, "siteIds": info.site_ids }),
        )?;
        Ok((info, secret))
    })
    .await
}

pub async fn list(db: &Db, _admin: &AdminCap) -> Result<Vec<TokenInfo>, ServiceError> {
    db.read(|conn| Ok(tokens::list(conn)?)).await
}

pub async fn revoke(db: &Db, admin: &AdminCap, id: TokenId) -> Result<(), ServiceError> {
    write_as(db, admin.actor(), move |conn, actor| {
        let token = tokens::find(conn, id.as_str())?.ok_or(ServiceError::NotFound("token"))?;
        let at = now();
        // Conditional (`WHERE revoked_at IS NULL`): a revoke or rotation that committed
        // since the read leaves nothing to do here, and nothing is audited twice.
        if token.revoked_at.is_none() && tokens::revoke(conn, id.as_str(), at)? {
            // The login-as sessions it started end with it.
            let ended = tokens::revoke_sessions_of(conn, Some(&format!("token:{id}")), None, at)?;
            audit::record(
                conn,
                actor,
                AuditAction::TokenRevoked,
                id.as_str(),
                json!({ "name": token.name, "loginAsSessionsEnded": ended }),
            )?;
        }
        Ok(())
    })
    .await
}

/// Rotates a live token: a new token with the same name, role, accounts, sites and quota
/// takes its place (its secret returned, shown once) and the old one is revoked, in one
/// transaction. The IdP is given the new secret; the old stops working at once.
pub async fn rotate(db: &Db, admin: &AdminCap, id: TokenId) -> Result<(TokenInfo, String), ServiceError> {
    let actor = admin.actor().clone();
    let secret = generate_secret(TOKEN_PREFIX)?;
    let hash = hash_secret(&secret);
    db.write(move |conn| {
        let old = tokens::find(conn, id.as_str())?.ok_or(ServiceError::NotFound("token"))?;
        if old.revoked_at.is_some() {
            return Err(ValidationError::new("token", "is revoked: create a new one instead").into());
        }
        let at = now();
        let info = TokenInfo {
            id: TokenId::new(new_id()),
            created_at: at,
            revoked_at: None,
            last_used_at: None,
            ..old.clone()
        };
        // The old token is revoked first, by a conditional UPDATE: a rotation or revoke that
        // committed in between leaves nothing to revoke, and this rotation rolls back
        // (no second live token, no revoke undone).
        if !tokens::revoke(conn, old.id.as_str(), at)? {
            return Err(ValidationError::new("token", "is revoked: create a new one instead").into());
        }
        tokens::insert(conn, &info, &hash)?;
        let ended = tokens::revoke_sessions_of(conn, Some(&format!("token:{}", old.id)), None, at)?;
        audit::record(
            conn,
            &actor,
            AuditAction::TokenRotated,
            old.id.as_str(),
            json!({ "name": old.name, "replacedBy": info.id.as_str(), "loginAsSessionsEnded": ended }),
        )?;
        Ok((info, secret))
    })
    .await
}

/// The bootstrap admin secret from configuration, kept only as its hash.
#[derive(Clone, Default)]
pub struct Bootstrap(Option<[u8; 32]>);

impl Bootstrap {
    pub fn new(secret: Option<&str>) -> Self {
        Bootstrap(secret.filter(|s| !s.is_empty()).map(|s| Sha256::digest(s.as_bytes()).into()))
    }

    /// Names the configured secret without revealing it: a console session opened with
    /// the bootstrap secret records it, and ends when the gateway runs with another one.
    pub fn generation(&self) -> Option<String> {
        let b = self.0?;
        let mut h = Sha256::new();
        h.update(b"scimgate bootstrap generation\0");
        h.update(b);
        Some(hex::encode(&h.finalize()[..16]))
    }

    fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        self.0.is_some_and(|b| bool::from(b.ct_eq(&digest)))
    }
}

impl std::fmt::Debug for Bootstrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Bootstrap(set)" } else { "Bootstrap(unset)" })
    }
}

/// Recently verified tokens, by hash, so that a request does not cost a database read
/// to authenticate. An entry lives `ttl`; revoking a token clears this instance's cache
/// at once, other gateway instances notice within `ttl` (`auth.token_cache_seconds`).
pub struct TokenCache {
    ttl: std::time::Duration,
    entries: std::sync::Mutex<HashMap<String, (Actor, std::time::Instant)>>,
    /// Grows with every [`TokenCache::clear`]: a lookup that started before a revocation
    /// cleared the cache does not put what it read (possibly the revoked token) back.
    epoch: std::sync::atomic::AtomicU64,
}

/// Bounds the cache's memory whatever the number of distinct tokens presented.
const TOKEN_CACHE_MAX: usize = 10_000;

impl TokenCache {
    pub fn new(ttl: std::time::Duration) -> Self {
        TokenCache { ttl, entries: std::sync::Mutex::new(HashMap::new()), epoch: Default::default() }
    }

    fn get(&self, hash: &str) -> Option<Actor> {
        let entries = self.entries.lock().ok()?;
        let (actor, at) = entries.get(hash)?;
        (at.elapsed() < self.ttl).then(|| actor.clone())
    }

    /// The current epoch, read before the database lookup a `put` follows.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn put(&self, hash: String, actor: Actor, epoch: u64) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            // Checked under the lock `clear` takes: no revocation slips in between.
            if self.epoch() != epoch {
                return;
            }
            if entries.len() >= TOKEN_CACHE_MAX {
                entries.clear();
            }
            entries.insert(hash, (actor, std::time::Instant::now()));
        }
    }

    /// Forgets every entry (after a revocation).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            entries.clear();
        }
    }
}

/// The audit label of the bootstrap admin secret.
pub const BOOTSTRAP_LABEL: &str = "bootstrap";

/// The actor a live token stands for; audit records name it `token:<id>`.
pub fn token_actor(token: &TokenInfo) -> Actor {
    Actor { request_quota: token.requests_per_minute, ..Actor::new(format!("token:{}", token.id), token.principal()) }
}

/// The id of the token behind an actor made by [`token_actor`] (`None`: bootstrap, cli, …).
pub fn token_id(actor: &Actor) -> Option<&str> {
    actor.label.strip_prefix("token:")
}

/// The actor of a secret this gateway knows without a database read (the bootstrap
/// secret, a recently verified token), else `None`.
pub fn authenticate_known(bootstrap: &Bootstrap, cache: &TokenCache, presented: &str) -> Option<Actor> {
    if bootstrap.matches(presented) {
        return Some(Actor::new(BOOTSTRAP_LABEL, Principal::Admin));
    }
    cache.get(&hash_secret(presented))
}

/// Resolves a presented bearer secret to the actor it stands for.
pub async fn authenticate(
    db: &Db,
    bootstrap: &Bootstrap,
    cache: &TokenCache,
    presented: &str,
) -> Result<Actor, ServiceError> {
    if bootstrap.matches(presented) {
        return Ok(Actor::new(BOOTSTRAP_LABEL, Principal::Admin));
    }
    if !presented.starts_with(TOKEN_PREFIX) || presented.len() > 128 {
        return Err(ServiceError::Unauthenticated);
    }
    let hash = hash_secret(presented);
    if let Some(actor) = cache.get(&hash) {
        return Ok(actor);
    }
    let key = hash.clone();
    let epoch = cache.epoch();
    let token = db.read(move |conn| Ok::<_, ServiceError>(tokens::find_live_by_hash(conn, &key)?)).await?;
    let token = token.ok_or(ServiceError::Unauthenticated)?;
    let actor = token_actor(&token);
    cache.put(hash, actor.clone(), epoch);
    Ok(actor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_hash_to_hex() {
        let a = generate_secret(TOKEN_PREFIX).unwrap();
        let b = generate_secret(TOKEN_PREFIX).unwrap();
        assert!(a.starts_with("sgt_") && a.len() == 4 + 43);
        assert_ne!(a, b);
        assert_eq!(hash_secret(&a).len(), 64);
        assert_ne!(hash_secret(&a), hash_secret(&b));
    }

    #[test]
    fn a_lookup_that_started_before_a_revocation_does_not_refill_the_cache() {
        let cache = TokenCache::new(std::time::Duration::from_secs(60));
        let actor = Actor::new("token:t", Principal::Admin);
        // A lookup reads the epoch, then the database (the token is still live there)...
        let epoch = cache.epoch();
        // ...meanwhile the token is revoked and the cache cleared...
        cache.clear();
        // ...and the lookup's result is not cached.
        cache.put("h".into(), actor.clone(), epoch);
        assert!(cache.get("h").is_none());
        // A lookup that started after the revocation caches as usual.
        cache.put("h".into(), actor.clone(), cache.epoch());
        assert_eq!(cache.get("h"), Some(actor));
    }

    #[test]
    fn bootstrap_generations_name_the_secret_without_revealing_it() {
        let a = Bootstrap::new(Some("first-secret-of-thirty-two-chars!!"));
        let b = Bootstrap::new(Some("second-secret-of-thirty-two-chars!"));
        assert_eq!(a.generation(), Bootstrap::new(Some("first-secret-of-thirty-two-chars!!")).generation());
        assert_ne!(a.generation(), b.generation());
        assert!(!a.generation().unwrap().contains("first"));
        assert_eq!(Bootstrap::new(None).generation(), None);
    }

    #[test]
    fn bootstrap_matches_only_its_secret() {
        let b = Bootstrap::new(Some("s3cret"));
        assert!(b.matches("s3cret"));
        assert!(!b.matches("s3cre"));
        assert!(!Bootstrap::new(None).matches(""));
        assert!(!Bootstrap::new(Some("")).matches(""));
        assert!(!format!("{b:?}").contains("s3cret"));
    }
}
