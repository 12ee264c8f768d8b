//! User use cases: create (contactless or contact-backed), read, list, update, delete,
//! contact assignment, upgrade, downgrade (single and bulk), login-as.
//!
//! Every write reads its facts with the locks that keep them true until commit — the user
//! row first, then the license pools in license order — asks the policy, and writes the
//! change and its audit event in the same transaction.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::{Conflict, Page, ServiceError, accounts as contacts, audit, auth, write_as};
use crate::domain::{
    AccountId, Actor, AuditAction, Backing, ContactDraft, ContactId, Email, License, LoginSession, Origin, Principal,
    SessionId, SiteId, User, UserEmail, UserId, UserName, ValidationError, fold, new_id, now, optional_text,
};
use crate::policy::access::{AdminCap, UsersCap};
use crate::policy::delegation::{ListScope, SiteUse};
use crate::policy::{self, PolicyViolation, licensing::Downgrade, licensing::Upgrade};
use crate::store::{Db, DbConnection, accounts, licenses, tokens, users};

/// The contact a user is linked to: an existing one, or one to create.
#[derive(Debug, Clone)]
pub enum ContactSpec {
    Existing(String),
    New(ContactDraft),
}

/// A validated create command.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub user_name: UserName,
    pub emails: Vec<UserEmail>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub external_id: Option<String>,
    pub active: bool,
    pub license: Option<License>,
    pub contact: Option<ContactSpec>,
    pub site_ids: Vec<String>,
    pub origin: Origin,
    /// SCIM attributes the directory does not model (a JSON object), if any.
    pub scim_attributes: Option<String>,
    pub password_hash: Option<String>,
}

/// The one primary email of a natively created user.
pub fn single_email(email: Email) -> Vec<UserEmail> {
    vec![UserEmail { value: email.into_inner(), kind: None, primary: Some(true), display: None }]
}

/// Profile changes; `None` leaves a field alone, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub user_name: Option<UserName>,
    pub email: Option<Email>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub display_name: Option<Option<String>>,
    pub external_id: Option<Option<String>>,
    pub active: Option<bool>,
}

pub async fn create(db: &Db, cap: &UsersCap, cmd: NewUser) -> Result<User, ServiceError> {
    let actor = cap.actor().clone();
    db.write(move |conn| create_in(conn, &actor, cmd)).await
}

/// Resolves a contact spec to the backing it gives a user, creating the contact when new.
/// `for_user` is the user being linked (an existing link to it is no conflict).
fn resolve_contact(
    conn: &mut DbConnection,
    actor: &Actor,
    spec: ContactSpec,
    for_user: Option<&str>,
    authorize: impl FnOnce(&str) -> Result<(), PolicyViolation>,
) -> Result<Backing, ServiceError> {
    let backing = |c: crate::domain::Contact| Backing::Contact {
        contact: ContactId::new(c.id),
        account: AccountId::new(c.account_id),
    };
    match spec {
        ContactSpec::Existing(id) => {
            let contact = accounts::find_contact(conn, &id)?
                .ok_or_else(|| ValidationError::new("contactId", format!("no contact {id}")))?;
            authorize(contact.account_id.as_str())?;
            if let Some(holder) = users::linked_to_contact(conn, &id)?
                && Some(holder.as_str()) != for_user
            {
                return Err(Conflict::ContactInUse.into());
            }
            Ok(backing(contact))
        }
        ContactSpec::New(draft) => {
            authorize(&draft.account_id)?;
            Ok(backing(contacts::insert_contact(conn, actor, draft)?))
        }
    }
}

/// Creates a user inside the caller's transaction (also used by self-registration).
///
/// The license is drawn from its pool by the transaction's last write, a conditional
/// `UPDATE … SET used = used + 1` that re-checks the room at that moment (the pool is only
/// read, not locked, for the policy's early answer): on PostgreSQL the pool's row is then
/// locked just for the commit instead of the whole create, so creates under one license no
/// longer run one at a time across the gateways, and a full pool still refuses every
/// create past its capacity (the losing transaction rolls back whole).
pub fn create_in(conn: &mut DbConnection, actor: &Actor, cmd: NewUser) -> Result<User, ServiceError> {
    let license = cmd.license.unwrap_or(License::ExternalIdentity);
    let pool = licenses::read_one(conn, license)?;
    let link = match cmd.contact {
        None => {
            policy::licensing::can_create(actor, license, None, &pool)?;
            None
        }
        Some(spec) => Some(resolve_contact(conn, actor, spec, None, |account| {
            policy::licensing::can_create(actor, license, Some(account), &pool)
        })?),
    };
    for site in &cmd.site_ids {
        let exists = accounts::find_site(conn, site)?.is_some();
        if policy::delegation::can_use_site(actor, site, exists)? == SiteUse::Unknown {
            return Err(ValidationError::new("siteIds", format!("no site {site}")).into());
        }
    }
    let at = now();
    let backing = link.unwrap_or(Backing::Contactless);
    let mut site_ids = cmd.site_ids;
    site_ids.sort();
    site_ids.dedup();
    let user = User {
        id: UserId::new(new_id()),
        user_name: cmd.user_name.into_inner(),
        external_id: cmd.external_id,
        emails: cmd.emails,
        first_name: cmd.first_name,
        last_name: cmd.last_name,
        display_name: cmd.display_name,
        active: cmd.active,
        license,
        backing,
        origin: cmd.origin,
        site_ids: site_ids.into_iter().map(SiteId::new).collect(),
        created_at: at,
        updated_at: at,
        version: 1,
        scim_attributes: cmd.scim_attributes,
        password_hash: cmd.password_hash,
    };
    users::insert(conn, &user)?;
    for site in &user.site_ids {
        users::add_member(conn, &SiteId::new(site.as_str()), &UserId::new(user.id.as_str()), at)?;
    }
    let mut after = audit::user_fields(&user);
    after.insert("origin".into(), json!(user.origin.as_str()));
    after.insert("siteIds".into(), json!(user.site_ids.iter().map(|s| s.as_str()).collect::<Vec<_>>()));
    audit::record_user(conn, actor, AuditAction::UserCreated, &user, json!({ "after": after }))?;
    if !licenses::grant(conn, license)? {
        return Err(PolicyViolation::LicenseUnavailable { license }.into());
    }
    Ok(user)
}

/// Loads a user the actor may manage, locking its row for the rest of the transaction;
/// `VersionMismatch` when `if_match` names another version than its.
pub(crate) fn load_for_write(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &UserId,
    if_match: Option<i64>,
) -> Result<User, ServiceError> {
    let user = users::find_for_update(conn, id.as_str())?.ok_or(ServiceError::NotFound("user"))?;
    visible(actor, &user)?;
    policy::delegation::can_manage(actor, &user)?;
    check_version(&user, if_match)?;
    Ok(user)
}

/// A user outside a confined SCIM token's accounts does not exist for it.
pub(crate) fn visible(actor: &Actor, user: &User) -> Result<(), ServiceError> {
    if policy::delegation::sees(actor, user.account_id()) { Ok(()) } else { Err(ServiceError::NotFound("user")) }
}

fn check_version(user: &User, if_match: Option<i64>) -> Result<(), ServiceError> {
    match if_match {
        Some(v) if v != user.version => Err(ServiceError::VersionMismatch { current: user.version }),
        _ => Ok(()),
    }
}

/// Writes `after` over `before` with a new version, and audits `action`.
pub(crate) fn save(
    conn: &mut DbConnection,
    actor: &Actor,
    action: AuditAction,
    before: &User,
    mut after: User,
    extra: Option<Value>,
) -> Result<User, ServiceError> {
    after.version = before.version + 1;
    after.updated_at = now();
    users::update(conn, &after, before.version, after.emails != before.emails).map_err(|e| match e {
        crate::store::StoreError::NotFound => ServiceError::VersionMismatch { current: before.version },
        other => other.into(),
    })?;
    let mut details = audit::user_changes(before, &after);
    if let (Some(Value::Object(extra)), Value::Object(d)) = (extra, &mut details) {
        d.extend(extra);
    }
    audit::record_user(conn, actor, action, &after, details)?;
    Ok(after)
}

pub async fn get(db: &Db, cap: &UsersCap, id: UserId) -> Result<User, ServiceError> {
    let actor = cap.actor().clone();
    db.read_short(move |conn| {
        let user = users::find(conn, id.as_str())?.ok_or(ServiceError::NotFound("user"))?;
        policy::delegation::can_manage(&actor, &user)?;
        Ok(user)
    })
    .await
}

/// The query of `GET /users`.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub contactless: Option<bool>,
    pub license: Option<License>,
    pub account_id: Option<String>,
    pub site_id: Option<String>,
    pub active: Option<bool>,
    pub user_name: Option<String>,
    pub cursor: Option<String>,
    pub limit: i64,
}

pub async fn list(db: &Db, cap: &UsersCap, q: UserQuery) -> Result<Page<User>, ServiceError> {
    let actor = cap.actor().clone();
    let mut filter = users::UserFilter {
        contactless: q.contactless,
        license: q.license.map(|l| l.as_str().to_owned()),
        account_id: q.account_id.clone(),
        site_id: q.site_id,
        active: q.active,
        user_name_folded: q.user_name.as_deref().map(fold),
        ..Default::default()
    };
    match policy::delegation::list_scope(&actor, q.account_id.as_deref(), q.contactless)? {
        ListScope::All => {}
        ListScope::Accounts(accounts) => filter.scope_accounts = Some(accounts),
        ListScope::Nothing => return Ok(Page { items: vec![], next_cursor: None }),
    }
    let limit = q.limit;
    db.read(move |conn| {
        let rows = users::list(conn, &filter, q.cursor.as_deref(), limit + 1)?;
        Ok(Page::from_probe(rows, limit, |u| u.id.to_string()))
    })
    .await
}

/// The orders of the console's user search.
pub use crate::store::users::SearchSort;

/// The console's user search: the filters of [`UserQuery`] and a prefix of userName, a
/// name or an email (each an index range), sorted, one numbered page.
#[derive(Debug, Clone)]
pub struct UserSearch {
    pub query: UserQuery,
    pub prefix: Option<String>,
    pub sort: users::SearchSort,
    pub descending: bool,
    /// 0-based page of `query.limit` rows.
    pub page: i64,
}

/// The shortest search: one letter would match a large part of the directory in every
/// index range at once.
pub const SEARCH_MIN_CHARS: usize = 2;

/// How deep the console's numbered pages go (a search narrows further).
pub const SEARCH_MAX_ROWS: i64 = 10_000;

/// A page of a search and how many users match in all (`total_capped`: at least
/// `total`, which is then [`SEARCH_MAX_ROWS`]).
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub items: Vec<User>,
    pub total: i64,
    pub total_capped: bool,
}

pub async fn search(db: &Db, cap: &UsersCap, s: UserSearch) -> Result<SearchPage, ServiceError> {
    let actor = cap.actor().clone();
    let q = &s.query;
    let mut filter = users::UserFilter {
        contactless: q.contactless,
        license: q.license.map(|l| l.as_str().to_owned()),
        account_id: q.account_id.clone(),
        site_id: q.site_id.clone(),
        active: q.active,
        user_name_folded: q.user_name.as_deref().map(fold),
        prefix: s.prefix.as_deref().map(fold).filter(|p| !p.trim().is_empty()),
        ..Default::default()
    };
    match policy::delegation::list_scope(&actor, q.account_id.as_deref(), q.contactless)? {
        ListScope::All => {}
        ListScope::Accounts(accounts) => filter.scope_accounts = Some(accounts),
        ListScope::Nothing => return Ok(SearchPage { items: vec![], total: 0, total_capped: false }),
    }
    if filter.prefix.as_ref().is_some_and(|p| p.trim().chars().count() < SEARCH_MIN_CHARS) {
        return Err(ValidationError::new("search", format!("needs at least {SEARCH_MIN_CHARS} characters")).into());
    }
    let limit = q.limit.clamp(1, 200);
    let offset = s.page.max(0).saturating_mul(limit);
    if offset >= SEARCH_MAX_ROWS {
        return Err(ValidationError::new(
            "page",
            format!("goes past the first {SEARCH_MAX_ROWS} matches: narrow the search"),
        )
        .into());
    }
    let (sort, descending) = (s.sort, s.descending);
    let unfiltered = filter.is_empty();
    db.read(move |conn| {
        let items = users::search(conn, &filter, sort, descending, offset, limit)?;
        if unfiltered {
            // Every user holds one license: the pools' counts are the exact total.
            let total = crate::store::licenses::all(conn)?.iter().map(|p| p.used).sum();
            return Ok(SearchPage { items, total, total_capped: false });
        }
        let total = users::count_capped(conn, &filter, SEARCH_MAX_ROWS + 1)?;
        let total_capped = total > SEARCH_MAX_ROWS;
        Ok(SearchPage { items, total: total.min(SEARCH_MAX_ROWS), total_capped })
    })
    .await
}

pub async fn update(
    db: &Db,
    cap: &UsersCap,
    id: UserId,
    changes: UserChanges,
    if_match: Option<i64>,
) -> Result<User, ServiceError> {
    write_as(db, cap.actor(), move |conn, actor| {
        edit(conn, actor, &id, if_match, None, |_, after| {
            changes.apply_to(after);
            Ok(())
        })
    })
    .await
}

impl UserChanges {
    /// Makes these changes to `user`.
    fn apply_to(self, user: &mut User) {
        if let Some(n) = self.user_name {
            user.user_name = n.into_inner();
        }
        if let Some(e) = self.email {
            user.set_primary_email(e.into_inner());
        }
        if let Some(v) = self.first_name {
            user.first_name = v;
        }
        if let Some(v) = self.last_name {
            user.last_name = v;
        }
        if let Some(v) = self.display_name {
            user.display_name = v;
        }
        if let Some(v) = self.external_id {
            user.external_id = v;
        }
        if let Some(v) = self.active {
            user.active = v;
        }
    }
}

/// Loads the user for a write (lock, scope, policy, version: [`load_for_write`]), lets
/// `change` edit a copy, and saves it — audited as a (de)activation when `active` flipped,
/// else as `user.updated`, or `action` when given — unless nothing changed: then the user
/// is answered as it was.
fn edit(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &UserId,
    if_match: Option<i64>,
    action: Option<AuditAction>,
    change: impl FnOnce(&mut DbConnection, &mut User) -> Result<(), ServiceError>,
) -> Result<User, ServiceError> {
    let before = load_for_write(conn, actor, id, if_match)?;
    let mut after = before.clone();
    change(conn, &mut after)?;
    if after == before {
        return Ok(before);
    }
    let action = action.unwrap_or(match (before.active, after.active) {
        (true, false) => AuditAction::UserDeactivated,
        (false, true) => AuditAction::UserReactivated,
        _ => AuditAction::UserUpdated,
    });
    save(conn, actor, action, &before, after, None)
}

/// Deletes the user: its license returns to the pool, its contact stays.
pub async fn delete(db: &Db, cap: &UsersCap, id: UserId, if_match: Option<i64>) -> Result<(), ServiceError> {
    delete_as(db, cap.actor(), id, if_match).await
}

/// [`delete`] for an actor whose surface its caller checked (native or SCIM).
pub(crate) async fn delete_as(db: &Db, actor: &Actor, id: UserId, if_match: Option<i64>) -> Result<(), ServiceError> {
    write_as(db, actor, move |conn, actor| {
        let user = load_for_write(conn, actor, &id, if_match)?;
        licenses::lock_one(conn, user.license)?;
        licenses::release(conn, user.license)?;
        users::delete(conn, user.id.as_str())?;
        audit::record(
            conn,
            actor,
            AuditAction::UserDeleted,
            user.id.as_str(),
            json!({ "before": audit::user_fields(&user) }),
        )?;
        Ok(())
    })
    .await
}

/// Links the user to a contact (license unchanged).
pub async fn assign_contact(db: &Db, cap: &UsersCap, id: UserId, spec: ContactSpec) -> Result<User, ServiceError> {
    write_as(db, cap.actor(), move |conn, actor| {
        let before = users::find_for_update(conn, id.as_str())?.ok_or(ServiceError::NotFound("user"))?;
        let backing = resolve_contact(conn, actor, spec, Some(before.id.as_str()), |account| {
            policy::contacts::can_assign_contact(actor, &before, account)
        })?;
        let mut after = before.clone();
        after.backing = backing;
        if after == before {
            return Ok(before);
        }
        save(conn, actor, AuditAction::UserContactAssigned, &before, after, None)
    })
    .await
}

/// Moves a locked contact-backed user, with its contact, to the account `to` (policy
/// `can_move`; the account must exist). Licenses and pools are untouched. Returns whether
/// anything moved; `user` then names the new account (the caller saves it).
pub(crate) fn move_account(
    conn: &mut DbConnection,
    actor: &Actor,
    user: &mut User,
    to: &AccountId,
) -> Result<bool, ServiceError> {
    let to = to.as_str();
    if user.account_id() == Some(to) {
        return Ok(false);
    }
    policy::delegation::can_move(actor, user.account_id(), to)?;
    if accounts::find_account(conn, to)?.is_none() {
        return Err(ValidationError::new("accountId", format!("no account {to}")).into());
    }
    let Backing::Contact { contact, .. } = &user.backing else {
        return Err(ServiceError::NotFound("contact"));
    };
    let contact = contact.clone();
    let mut moved = accounts::find_contact(conn, contact.as_str())?.ok_or(ServiceError::NotFound("contact"))?;
    moved.account_id = AccountId::new(to);
    moved.updated_at = now();
    accounts::update_contact(conn, &moved)?;
    user.backing = Backing::Contact { contact, account: AccountId::new(to) };
    Ok(true)
}

/// Moves a contact-backed user (and its contact) to another account; audited as
/// `user.account_moved`.
pub async fn move_to_account(
    db: &Db,
    cap: &UsersCap,
    id: UserId,
    to: AccountId,
    if_match: Option<i64>,
) -> Result<User, ServiceError> {
    write_as(db, cap.actor(), move |conn, actor| {
        edit(conn, actor, &id, if_match, Some(AuditAction::UserAccountMoved), |conn, after| {
            move_account(conn, actor, after, &to).map(drop)
        })
    })
    .await
}

/// Rule 5: moves a contact-backed user to a community license.
pub async fn upgrade(db: &Db, cap: &UsersCap, id: UserId, to: License) -> Result<User, ServiceError> {
    write_as(db, cap.actor(), move |conn, actor| {
        let before = load_for_write(conn, actor, &id, None)?;
        let pools = licenses::lock(conn, &[before.license, to])?;
        let pool = pools.iter().find(|p| p.license == to).ok_or(ServiceError::NotFound("license"))?;
        match policy::licensing::can_upgrade(actor, &before, to, pool)? {
            Upgrade::Unchanged => Ok(before),
            Upgrade::Change { from } => {
                if !licenses::grant(conn, to)? {
                    return Err(PolicyViolation::LicenseUnavailable { license: to }.into());
                }
                licenses::release(conn, from)?;
                let mut after = before.clone();
                after.license = to;
                save(conn, actor, AuditAction::UserUpgraded, &before, after, None)
            }
        }
    })
    .await
}

/// Applies an allowed downgrade to a locked user (pools already locked).
fn apply_downgrade(
    conn: &mut DbConnection,
    actor: &Actor,
    before: User,
    decision: Downgrade,
) -> Result<User, ServiceError> {
    match decision {
        Downgrade::AlreadyContactless => Ok(before),
        Downgrade::MakeContactless { release } => {
            if let Some(released) = release {
                if !licenses::grant(conn, License::ExternalIdentity)? {
                    return Err(PolicyViolation::LicenseUnavailable { license: License::ExternalIdentity }.into());
                }
                licenses::release(conn, released)?;
            }
            let mut after = before.clone();
            after.license = License::ExternalIdentity;
            after.backing = Backing::Contactless;
            // Login As needs a contact: the user's login-as sessions end with it.
            let ended = tokens::revoke_sessions_of(conn, None, Some(before.id.as_str()), now())?;
            let kept = json!({ "contactKept": before.contact_id(), "loginAsSessionsEnded": ended });
            save(conn, actor, AuditAction::UserDowngraded, &before, after, Some(kept))
        }
    }
}

/// Rule 6: makes a user contactless; its contact stays, its community license returns.
pub async fn downgrade(db: &Db, cap: &UsersCap, id: UserId) -> Result<User, ServiceError> {
    write_as(db, cap.actor(), move |conn, actor| {
        let before = users::find_for_update(conn, id.as_str())?.ok_or(ServiceError::NotFound("user"))?;
        let pools = licenses::lock(conn, &[before.license, License::ExternalIdentity])?;
        let ei =
            pools.iter().find(|p| p.license == License::ExternalIdentity).ok_or(ServiceError::NotFound("license"))?;
        let decision = policy::licensing::can_downgrade(actor, &before, ei)?;
        apply_downgrade(conn, actor, before, decision)
    })
    .await
}

/// The request of `POST /users/downgrade`.
#[derive(Debug, Clone, Default)]
pub struct BulkDowngrade {
    /// `None`: every user holding a community license.
    pub user_ids: Option<Vec<String>>,
    pub inactive_only: bool,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkOutcome {
    pub downgraded: Vec<String>,
    /// (user id, stable code of why it was skipped)
    pub skipped: Vec<(String, String)>,
}

/// The most users one bulk request names.
pub const BULK_MAX_IDS: usize = 10_000;

/// Downgrades many users in one transaction; `dry_run` decides the same way and writes
/// nothing. Users are locked in id order, then the pools (see the module's lock order).
pub async fn bulk_downgrade(db: &Db, cap: &UsersCap, req: BulkDowngrade) -> Result<BulkOutcome, ServiceError> {
    let actor = cap.actor().clone();
    policy::licensing::can_bulk_downgrade(&actor)?;
    if req.user_ids.as_ref().is_some_and(|ids| ids.len() > BULK_MAX_IDS) {
        return Err(ValidationError::new("userIds", format!("at most {BULK_MAX_IDS} ids per request")).into());
    }
    let dry_run = req.dry_run;
    let work = move |conn: &mut DbConnection| -> Result<BulkOutcome, ServiceError> {
        let mut out = BulkOutcome::default();
        let mut ids: Vec<String> = match &req.user_ids {
            Some(ids) => ids.clone(),
            None => {
                let filter = users::UserFilter {
                    licenses_in: Some(
                        License::ALL.iter().filter(|l| l.is_community()).map(|l| l.as_str().to_owned()).collect(),
                    ),
                    active: req.inactive_only.then_some(false),
                    ..Default::default()
                };
                users::list(conn, &filter, None, i64::MAX)?.into_iter().map(|u| u.id.into()).collect()
            }
        };
        ids.sort();
        ids.dedup();
        let found = users::lock_many(conn, &ids)?;
        let mut pools = licenses::lock(conn, &License::ALL)?;
        for id in &ids {
            if !found.iter().any(|u| &u.id == id) {
                out.skipped.push((id.clone(), "not_found".into()));
            }
        }
        for user in found {
            if user.is_contactless() {
                out.skipped.push((user.id.into(), "already_contactless".into()));
                continue;
            }
            if req.inactive_only && user.active {
                out.skipped.push((user.id.into(), "active".into()));
                continue;
            }
            let ei = pools
                .iter()
                .find(|p| p.license == License::ExternalIdentity)
                .cloned()
                .ok_or(ServiceError::NotFound("license"))?;
            match policy::licensing::can_downgrade(&actor, &user, &ei) {
                Err(v) => out.skipped.push((user.id.into(), v.code().to_owned())),
                Ok(decision) => {
                    if let Downgrade::MakeContactless { release: Some(released) } = decision {
                        for p in pools.iter_mut() {
                            if p.license == License::ExternalIdentity {
                                p.used += 1;
                            } else if p.license == released {
                                p.used -= 1;
                            }
                        }
                    }
                    let id = user.id.clone();
                    if !req.dry_run {
                        apply_downgrade(conn, &actor, user, decision)?;
                    }
                    out.downgraded.push(id.into());
                }
            }
        }
        out.skipped.sort();
        Ok(out)
    };
    if dry_run { db.read(work).await } else { db.write(work).await }
}

/// A login-as session: its secret (shown once) and when it expires.
#[derive(Debug, Clone)]
pub struct LoginAs {
    pub session_token: String,
    pub expires_at: DateTime<Utc>,
    pub user_id: String,
}

/// Rule 3: starts an impersonation session for a contact-backed user.
pub async fn login_as(db: &Db, cap: &UsersCap, id: UserId, ttl: Duration) -> Result<LoginAs, ServiceError> {
    let secret = auth::generate_secret(auth::SESSION_PREFIX)?;
    let hash = auth::hash_secret(&secret);
    write_as(db, cap.actor(), move |conn, actor| {
        // The row lock: a downgrade (which ends the user's sessions) waits for this one to
        // commit, or has committed and is what the policy sees.
        let user = users::find_for_update(conn, id.as_str())?.ok_or(ServiceError::NotFound("user"))?;
        policy::contacts::can_login_as(actor, &user)?;
        let at = now();
        let session = LoginSession {
            id: SessionId::new(new_id()),
            user_id: user.id.clone(),
            actor: actor.label.clone(),
            created_at: at,
            expires_at: at + ttl,
        };
        tokens::insert_session(conn, &session, &hash)?;
        audit::record(
            conn,
            actor,
            AuditAction::UserLoginAs,
            user.id.as_str(),
            json!({ "sessionId": session.id.as_str(), "expiresAt": session.expires_at }),
        )?;
        Ok(LoginAs { session_token: secret, expires_at: session.expires_at, user_id: user.id.into() })
    })
    .await
}

/// Uses a login-as session: every use is audited against the impersonated user.
pub async fn use_session(db: &Db, presented: String) -> Result<(LoginSession, User), ServiceError> {
    if !presented.starts_with(auth::SESSION_PREFIX) || presented.len() > 128 {
        return Err(ServiceError::Unauthenticated);
    }
    let hash = auth::hash_secret(&presented);
    db.write(move |conn| {
        let session = tokens::find_live_session(conn, &hash, now())?.ok_or(ServiceError::Unauthenticated)?;
        // A session lives only while its authority does: the token that started it is
        // live, and the user still has a contact (Login As needs one).
        if let Some(token) = session.actor.strip_prefix("token:")
            && tokens::find(conn, token)?.is_none_or(|t| t.revoked_at.is_some())
        {
            return Err(ServiceError::Unauthenticated);
        }
        let user = users::find(conn, session.user_id.as_str())?
            .filter(|u| !u.is_contactless())
            .ok_or(ServiceError::Unauthenticated)?;
        let actor = Actor::new(format!("session:{}", session.id), Principal::Admin);
        audit::record(
            conn,
            &actor,
            AuditAction::UserLoginAsUsed,
            user.id.as_str(),
            json!({ "sessionId": session.id.as_str(), "startedBy": session.actor }),
        )?;
        Ok((session, user))
    })
    .await
}

/// Ends a login-as session (admin): it gets 401 from then on.
pub async fn revoke_login_session(db: &Db, admin: &AdminCap, id: SessionId) -> Result<(), ServiceError> {
    write_as(db, admin.actor(), move |conn, actor| {
        if !tokens::revoke_session(conn, id.as_str(), now())? {
            return Err(ServiceError::NotFound("session"));
        }
        audit::record(conn, actor, AuditAction::UserLoginAsRevoked, id.as_str(), json!({}))?;
        Ok(())
    })
    .await
}

/// Validates the optional text fields shared by create and update commands.
pub fn profile_text(field: &str, value: Option<&str>) -> Result<Option<String>, ValidationError> {
    optional_text(field, value, crate::domain::MAX_TEXT)
}

/// Fills the folded first and last names of users written before the name search existed
/// (migration 13), in batches; a no-op once done. Runs at start-up.
pub async fn backfill_folded_names(db: &Db) -> Result<usize, ServiceError> {
    let mut total = 0;
    loop {
        let n = db.write(|conn| Ok::<_, ServiceError>(users::backfill_folded_names(conn, 1000)?)).await?;
        total += n;
        if n < 1000 {
            return Ok(total);
        }
    }
}
