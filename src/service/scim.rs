//! SCIM use cases for users: every create takes the contact-backed path (rule 2), and
//! name, email and phone changes flow to the linked contact in the same transaction.

use serde_json::json;

use super::query::{self, Edges, Keyset, ListQuery, Page, PageBuilder, Plan, Resource};
use super::users::{ContactSpec, NewUser, create_in, load_for_write, save};
use super::{ServiceError, audit, write_as};
use crate::domain::{
    Account, AccountId, Actor, AuditAction, Contact, ContactDraft, License, Origin, User, UserEmail, UserId, UserName,
    ValidationError, now,
};
use crate::policy::access::ScimCap;
use crate::policy::scim_routing::{self, ContactAccount};
use crate::policy::{self, PolicyViolation};
use crate::scim::schema::UserSchema;
use crate::store::user_query::{self, Pred, SortKey, StrOp, TextField};
use crate::store::{Db, DbConnection, accounts, licenses, users};

/// The gateway's SCIM defaults (configuration `scim.*`).
#[derive(Debug, Clone)]
pub struct ScimDefaults {
    /// The license of SCIM-created users that name none.
    pub license: License,
    /// The account of their contacts when neither the request nor the token names one.
    pub account_name: String,
}

/// A user as SCIM writes it: every writable attribute (a PUT replaces them all).
#[derive(Debug, Clone)]
pub struct ScimProfile {
    pub user_name: UserName,
    pub external_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub active: bool,
    pub emails: Vec<UserEmail>,
    /// The primary phone number, synced to the contact.
    pub phone: Option<String>,
    pub scim_attributes: Option<String>,
    /// A new password hash; `None` keeps the current one.
    pub password_hash: Option<String>,
    pub license: Option<License>,
    /// `contactless: true` as asked by the client (refused: rule 2).
    pub contactless: bool,
    /// Where the contact goes (at create; ignored afterwards).
    pub account_id: Option<String>,
}

/// A user with the groups it is a direct member of: (group id, displayName).
#[derive(Debug, Clone)]
pub struct UserWithGroups {
    pub user: User,
    pub groups: Vec<(String, String)>,
}

/// The configured default account has a fixed id derived from its name, so gateways
/// racing to create it on first use create one account.
fn default_account(conn: &mut DbConnection, name: &str) -> Result<String, ServiceError> {
    let id = default_account_id(name);
    accounts::ensure_account(
        conn,
        &Account { id: AccountId::new(id.clone()), name: name.to_owned(), created_at: now() },
    )?;
    Ok(id)
}

/// The id of the configured default account, whether or not it exists yet.
pub fn default_account_id(name: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, format!("urn:scimgate:default-account:{name}").as_bytes())
        .to_string()
}

fn contact_fields(p: &ScimProfile) -> (String, String) {
    // A contact needs a name; a SCIM user may have none: fall back to the userName.
    let first = p.first_name.clone().unwrap_or_default();
    let last = p.last_name.clone().unwrap_or_else(|| p.user_name.as_str().to_owned());
    (first, last)
}

pub async fn create(
    db: &Db,
    cap: &ScimCap,
    p: ScimProfile,
    defaults: ScimDefaults,
) -> Result<UserWithGroups, ServiceError> {
    write_as(db, cap.actor(), move |conn, actor| {
        let account_id = match scim_routing::route_create(actor, p.contactless, p.account_id.as_deref())? {
            // Naming the default account before its first use creates it, as routing does.
            ContactAccount::Named(a) if a == default_account_id(&defaults.account_name) => {
                default_account(conn, &defaults.account_name)?
            }
            ContactAccount::Named(a) | ContactAccount::TokenDefault(a) => a,
            ContactAccount::Configured => default_account(conn, &defaults.account_name)?,
        };
        let (first, last) = contact_fields(&p);
        let email = p.emails.iter().find(|e| e.primary == Some(true)).or(p.emails.first()).map(|e| e.value.clone());
        let draft = ContactDraft { account_id, first_name: first, last_name: last, email, phone: p.phone.clone() };
        let cmd = NewUser {
            user_name: p.user_name,
            emails: p.emails,
            first_name: p.first_name,
            last_name: p.last_name,
            display_name: p.display_name,
            external_id: p.external_id,
            active: p.active,
            license: Some(p.license.unwrap_or(defaults.license)),
            contact: Some(ContactSpec::New(draft)),
            site_ids: vec![],
            origin: Origin::Scim,
            scim_attributes: p.scim_attributes,
            password_hash: p.password_hash,
        };
        let user = create_in(conn, actor, cmd)?;
        Ok(UserWithGroups { user, groups: vec![] })
    })
    .await
}

/// Keeps the linked contact's name, email and phone equal to the user's.
fn sync_contact(conn: &mut DbConnection, actor: &Actor, user: &User, p: &ScimProfile) -> Result<(), ServiceError> {
    let Some(contact_id) = user.contact_id() else {
        return Ok(());
    };
    let Some(before) = accounts::find_contact(conn, contact_id)? else {
        return Ok(());
    };
    let (first, last) = contact_fields(p);
    let after = Contact {
        first_name: first,
        last_name: last,
        email: user.primary_email().map(str::to_owned),
        phone: p.phone.clone(),
        updated_at: now(),
        ..before.clone()
    };
    if (&after.first_name, &after.last_name, &after.email, &after.phone)
        == (&before.first_name, &before.last_name, &before.email, &before.phone)
    {
        return Ok(());
    }
    accounts::update_contact(conn, &after)?;
    audit::record(
        conn,
        actor,
        AuditAction::ContactSynced,
        after.id.as_str(),
        json!({ "userId": user.id.as_str(), "firstName": after.first_name, "lastName": after.last_name, "email": after.email, "phone": after.phone }),
    )
}

/// Moves a user to another license (pool-checked; a community license needs a contact).
fn change_license(conn: &mut DbConnection, user: &mut User, to: License) -> Result<(), ServiceError> {
    if user.license == to {
        return Ok(());
    }
    policy::licensing::can_hold(to, !user.is_contactless())?;
    let pools = licenses::lock(conn, &[user.license, to])?;
    let pool = pools.iter().find(|p| p.license == to).ok_or(ServiceError::NotFound("license"))?;
    policy::licensing::can_grant(pool)?;
    if !licenses::grant(conn, to)? {
        return Err(PolicyViolation::LicenseUnavailable { license: to }.into());
    }
    licenses::release(conn, user.license)?;
    user.license = to;
    Ok(())
}

/// Writes a SCIM profile over a locked user.
fn apply(conn: &mut DbConnection, actor: &Actor, before: User, p: ScimProfile) -> Result<UserWithGroups, ServiceError> {
    scim_routing::check_update(p.contactless, before.is_contactless())?;
    let mut after = before.clone();
    // Another `accountId` moves the user, with its contact (a company reorganisation the IdP
    // pushes); the policy decides who may.
    let moved = match &p.account_id {
        Some(to) => super::users::move_account(conn, actor, &mut after, &AccountId::new(to.as_str()))?,
        None => false,
    };
    after.user_name = p.user_name.as_str().to_owned();
    after.external_id = p.external_id.clone();
    after.first_name = p.first_name.clone();
    after.last_name = p.last_name.clone();
    after.display_name = p.display_name.clone();
    after.active = p.active;
    after.emails = p.emails.clone();
    after.scim_attributes = p.scim_attributes.clone();
    if let Some(h) = &p.password_hash {
        after.password_hash = Some(h.clone());
    }
    if let Some(l) = p.license {
        change_license(conn, &mut after, l)?;
    }
    let user = if after == before {
        before
    } else {
        let action = match (before.license != after.license, moved) {
            (true, _) => AuditAction::UserLicenseChanged,
            (false, true) => AuditAction::UserAccountMoved,
            (false, false) => AuditAction::UserUpdated,
        };
        save(conn, actor, action, &before, after, None)?
    };
    sync_contact(conn, actor, &user, &p)?;
    let groups = groups_of(conn, actor, &[user.id.as_str()])?.pop().map(|(_, g)| g).unwrap_or_default();
    Ok(UserWithGroups { user, groups })
}

pub async fn replace(
    db: &Db,
    cap: &ScimCap,
    id: UserId,
    p: ScimProfile,
    if_match: Option<i64>,
) -> Result<UserWithGroups, ServiceError> {
    write_as(db, cap.actor(), move |conn, actor| {
        let before = load_for_write(conn, actor, &id, if_match)?;
        apply(conn, actor, before, p)
    })
    .await
}

/// A SCIM PATCH as the service writes it (RFC 7644 §3.5.2). The client's operations were
/// applied by the SCIM engine to the user as read at `base_version`, outside any
/// transaction; the write re-checks that version under the row lock and refuses with
/// `VersionMismatch` when another write came first (the caller re-reads and re-applies).
#[derive(Debug, Clone)]
pub struct ScimPatch {
    pub base_version: i64,
    /// The user after the operations (with the hash of a new password they set, made
    /// before: see [`hash_password`]).
    pub profile: ScimProfile,
    /// The `contactless` value the operations asked for, if they named it (rule 2).
    pub contactless: Option<bool>,
}

pub async fn patch(db: &Db, cap: &ScimCap, id: UserId, cmd: ScimPatch) -> Result<UserWithGroups, ServiceError> {
    let actor = cap.actor().clone();
    let profile = cmd.profile;
    db.write(move |conn| {
        let before = load_for_write(conn, &actor, &id, Some(cmd.base_version))?;
        scim_routing::check_patch(cmd.contactless, before.is_contactless())?;
        apply(conn, &actor, before, profile)
    })
    .await
}

/// Deletes a user (the same deletion as the native API's, in the SCIM caller's scope).
pub async fn delete(db: &Db, cap: &ScimCap, id: UserId, if_match: Option<i64>) -> Result<(), ServiceError> {
    super::users::delete_as(db, cap.actor(), id, if_match).await
}

/// Hashes a password (see `service::passwords`): never on the writer, never on an HTTP
/// worker, at most one hash per core at a time.
pub async fn hash_password(password: String) -> Result<String, ServiceError> {
    super::passwords::hash(password).await
}

pub async fn get(db: &Db, cap: &ScimCap, id: UserId) -> Result<UserWithGroups, ServiceError> {
    let actor = cap.actor().clone();
    db.read_one_statement(move |conn| {
        let (user, rows) = users::find_with_groups(conn, id.as_str())?.ok_or(ServiceError::NotFound("user"))?;
        super::users::visible(&actor, &user)?;
        policy::delegation::can_manage(&actor, &user)?;
        let groups = visible_groups(&actor, rows);
        Ok(UserWithGroups { user, groups })
    })
    .await
}

/// The groups (of one user) that `actor` sees.
fn visible_groups(actor: &Actor, rows: Vec<user_query::GroupOf>) -> GroupRefs {
    rows.into_iter()
        .filter(|(_, _, _, account)| policy::delegation::sees(actor, account.as_deref()))
        .map(|(_, gid, name, _)| (gid, name))
        .collect()
}

/// Group references of one user: (group id, displayName).
type GroupRefs = Vec<(String, String)>;

/// The groups of each user that `actor` sees (a confined token: its accounts' groups).
fn groups_of(conn: &mut DbConnection, actor: &Actor, ids: &[&str]) -> Result<Vec<(String, GroupRefs)>, ServiceError> {
    let rows = user_query::groups_of(conn, ids)?;
    let mut out: Vec<(String, GroupRefs)> = ids.iter().map(|i| ((*i).to_owned(), vec![])).collect();
    for (member, gid, name, account) in rows {
        if !policy::delegation::sees(actor, account.as_deref()) {
            continue;
        }
        if let Some(slot) = out.iter_mut().find(|(u, _)| *u == member) {
            slot.1.push((gid, name));
        }
    }
    Ok(out)
}

fn with_groups(conn: &mut DbConnection, actor: &Actor, users: Vec<User>) -> Result<Vec<UserWithGroups>, ServiceError> {
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    let mut groups = groups_of(conn, actor, &ids)?;
    Ok(users
        .into_iter()
        .zip(groups.iter_mut())
        .map(|(user, (_, g))| UserWithGroups { user, groups: std::mem::take(g) })
        .collect())
}

/// A page of users, planned by `service::query`: from the indexes when the filter and sort
/// compile exactly, else from at most `cap` candidates finished in memory
/// (`FilterTooBroad` past it). `render` turns a user into the SCIM document the filter
/// and sort read.
pub async fn list(
    db: &Db,
    cap: &ScimCap,
    q: ListQuery,
    bounds: ListBounds,
    render: Render,
) -> Result<Page, ServiceError> {
    let actor = cap.actor();
    let ListBounds { cap, budget, scan_terms, heavy } = bounds;
    let mut plan = query::plan_users(q.filter.as_ref(), q.sort.as_ref());
    // A confined token lists its accounts' users only: the scope is part of the predicate,
    // so counts, pages and the in-memory cap all see the same users.
    if let Some(scope) = confined_scim(actor) {
        let scoped = |p: Pred| Pred::And(Box::new(Pred::AccountIn(scope.to_vec())), Box::new(p));
        plan = match plan {
            Plan::Store { pred, key, descending } => Plan::Store { pred: scoped(pred), key, descending },
            Plan::Finish { candidates } => Plan::Finish { candidates: scoped(candidates) },
        };
    }
    let scans = match &plan {
        Plan::Store { pred, .. } => query::scan_terms(pred),
        Plan::Finish { candidates } => query::scan_terms(candidates),
    };
    if scans > scan_terms {
        return Err(ServiceError::TooMany(format!(
            "the filter has {scans} terms that read every user (co, ew, not): at most {scan_terms}; use eq or sw"
        )));
    }
    // A heavy list (a scan, an in-memory finish, a page of more than one chunk) waits for
    // one of a few slots: however many clients send them, they take only part of the
    // machine, and the rest stays for everyone else's requests.
    let is_heavy = match &plan {
        // A finish over a lookup (Entra ID's `emails[type eq "work"].value eq …`, Microsoft's
        // `id eq … and manager eq …`) reads a handful of users: what IdPs send before writes.
        Plan::Finish { candidates } => !query::is_lookup(candidates),
        Plan::Store { pred, .. } => scans > 0 || (q.count > HEAVY_PAGE && !query::is_lookup(pred)),
    };
    let _slot = match (is_heavy, &heavy) {
        (true, Some(slots)) => Some(
            slots
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| ServiceError::Internal(anyhow::anyhow!("heavy-list slots: {e}")))?,
        ),
        _ => None,
    };
    match plan {
        Plan::Store { pred, key, descending } => {
            // Cursor paging reads the rows past the cursor's position: forward, or for a
            // previous page backward (nearest first, put in order at the end).
            let (read_pred, backward) = match &q.cursor {
                None => (pred.clone(), false),
                Some(cursor) => {
                    let read = query::CursorRead::new(&pred, key, descending, cursor);
                    (read.pred, read.backward)
                }
            };
            let mut offset = if q.cursor.is_some() { 0 } else { q.offset };
            // The page is read in chunks and ends early once its resources fill the byte
            // budget: a list answer's size (and the memory it takes) is bounded whatever
            // the resources hold.
            let mut page = PageBuilder::new(budget);
            let mut positions = vec![];
            let mut total = None;
            let mut left = q.count;
            // Index paging on SQLite: a page that starts where a recent page ended, with
            // nothing changed since, seeks past that page's last row instead of walking
            // the index from the start (see `store::seeks`).
            let memo =
                (q.cursor.is_none() && db.target().is_sqlite()).then(|| format!("{:?}", (&pred, key, descending)));
            loop {
                let limit = left.min(LIST_CHUNK);
                let lookup = query::is_lookup(&pred);
                let count_too = total.is_none();
                let seeks = db.seeks().clone();
                let chunk = Chunk { offset, limit, memo: memo.clone() };
                // A lookup (userName eq, id eq, …) on its first page rarely fills it: read the
                // page alone, in one statement, and take the total from it when it is not
                // full. Otherwise the count and the page are read in one transaction, so
                // that they agree.
                let mut read = None;
                let short = offset.saturating_add(limit) <= SHORT_READ_ROWS;
                if count_too && short && limit > 0 && lookup && offset == 0 && q.cursor.is_none() {
                    let (pred, actor) = (read_pred.clone(), actor.clone());
                    let rows = db
                        .read_one_statement(move |conn| {
                            page_rows(conn, &actor, &pred, key, descending, backward, 0, limit, lookup)
                        })
                        .await?;
                    if (rows.len() as i64) < limit {
                        read = Some(ChunkRead { total: Some(rows.len() as i64), rows, changes: None, seek: false });
                    }
                }
                let read = match read {
                    Some(read) => read,
                    None => {
                        let (pred, read_pred, actor) = (pred.clone(), read_pred.clone(), actor.clone());
                        let work = move |far: bool| {
                            let (seeks, chunk, actor) = (seeks.clone(), chunk.clone(), actor.clone());
                            let (pred, read_pred) = (pred.clone(), read_pred.clone());
                            move |conn: &mut DbConnection| {
                                chunk.read(conn, &seeks, &actor, &pred, &read_pred, (key, descending, backward), {
                                    ChunkOptions { count_too, lookup, far }
                                })
                            }
                        };
                        // An OFFSET walks that many index entries first: only a read near the
                        // start, or one that will likely seek, runs as a short read; if it
                        // cannot seek after all, it walks on the blocking pool.
                        let seekable = memo.as_ref().is_some_and(|m| offset > 0 && db.seeks().knows(m, offset));
                        let first = if short || seekable { db.read_short(work(short)).await? } else { None };
                        match first {
                            Some(read) => read,
                            None => db.read(work(true)).await?.ok_or_else(|| {
                                ServiceError::Internal(anyhow::anyhow!("a list read that may walk did not read"))
                            })?,
                        }
                    }
                };
                // Each index page past the first row, once (its first chunk), on both backends.
                if q.cursor.is_none() && count_too && offset > 0 {
                    db.seeks().count(read.seek);
                }
                if let (Some(m), Some(n), Some(last)) = (&memo, read.changes, read.rows.last()) {
                    let end = offset + read.rows.len() as i64;
                    db.seeks().remember(m.clone(), end, n, user_query::position(key, &last.user));
                }
                let ChunkRead { total: counted, rows, .. } = read;
                total = total.or(counted);
                let fetched = rows.len() as i64;
                if q.cursor.is_some() {
                    positions.extend(rows.iter().map(|u| user_query::position(key, &u.user)));
                }
                // A heavy page (its slot held) renders on a blocking thread: a chunk of large
                // users is real work, and the HTTP worker stays free for other requests. A
                // light one renders here: the hop would cost more than the work.
                let docs: Vec<Resource> = if is_heavy {
                    let render = render.clone();
                    tokio::task::spawn_blocking(move || rows.iter().map(|u| render.resource(u)).collect())
                        .await
                        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("rendering a page: {e}")))?
                } else {
                    rows.iter().map(|u| render.resource(u)).collect()
                };
                if !page.extend(docs.into_iter()) || fetched < limit {
                    break;
                }
                offset += fetched;
                left -= fetched;
                if left <= 0 {
                    break;
                }
            }
            positions.truncate(page.resources.len());
            if backward {
                positions.reverse();
                page.resources.reverse();
            }
            let edges = match &q.cursor {
                None => None,
                Some(_) if q.count == 0 => Some(Edges::default()),
                Some(cursor) => {
                    let ends = positions.first().zip(positions.last());
                    Some(match query::edge_probes(&pred, key, descending, ends, cursor) {
                        None => Edges::default(),
                        Some((before, after)) => {
                            let (before, after) = db
                                .read_short(move |conn| {
                                    Ok::<_, ServiceError>((
                                        user_query::any(conn, &before)?,
                                        user_query::any(conn, &after)?,
                                    ))
                                })
                                .await?;
                            Edges::around(ends, cursor, before, after)
                        }
                    })
                }
            };
            Ok(Page { total: total.unwrap_or(0), bytes: page.used, resources: page.resources, edges })
        }
        Plan::Finish { candidates } => {
            let probe = candidates.clone();
            if db.read(move |conn| Ok::<_, ServiceError>(user_query::count(conn, &probe)?)).await? > cap {
                return Err(ServiceError::FilterTooBroad {
                    resource: "users",
                    cap,
                    indexed: "userName, externalId, emails.value, displayName, id",
                });
            }
            // The candidates are read in id order, in chunks (each after the last id seen):
            // only the matches stay in memory, and only as many bytes of them as a sort
            // may hold.
            let mut finisher = query::Finisher::new(&q, &UserSchema, budget);
            let mut after: Option<String> = None;
            loop {
                let pred = match &after {
                    None => candidates.clone(),
                    Some(last) => Pred::And(
                        Box::new(candidates.clone()),
                        Box::new(Pred::Text(TextField::Id, StrOp::Gt, last.clone())),
                    ),
                };
                let actor = actor.clone();
                let render = render.clone();
                let filter = q.filter.clone();
                // Rendered and filtered on the read's blocking thread; only matches come back.
                let (matches, last, fetched) = db
                    .read(move |conn| {
                        let rows = user_query::page(conn, &pred, SortKey::Id, false, 0, LIST_CHUNK)?;
                        let last = rows.last().map(|u| u.id.to_string());
                        let fetched = rows.len() as i64;
                        let docs: Vec<serde_json::Value> = with_groups(conn, &actor, rows)?
                            .iter()
                            .map(|u| (render.doc)(u))
                            .filter(|d| filter.as_ref().is_none_or(|f| crate::scim::filter::matches(f, d, &UserSchema)))
                            .collect();
                        Ok::<_, ServiceError>((docs, last, fetched))
                    })
                    .await?;
                after = last;
                finisher.offer(matches.into_iter())?;
                if fetched < LIST_CHUNK {
                    break;
                }
            }
            Ok(finisher.finish())
        }
    }
}

/// One chunk of a store-planned page: `limit` rows after `offset`; `memo`: the list's key
/// in `store::seeks` (SQLite index paging).
#[derive(Clone)]
struct Chunk {
    offset: i64,
    limit: i64,
    memo: Option<String>,
}

struct ChunkOptions {
    count_too: bool,
    lookup: bool,
    /// The read may walk far (it runs on the blocking pool); otherwise a read that cannot
    /// seek and would walk past `SHORT_READ_ROWS` answers `None`.
    far: bool,
}

struct ChunkRead {
    total: Option<i64>,
    rows: Vec<UserWithGroups>,
    /// The change count of the read's snapshot (SQLite).
    changes: Option<i64>,
    /// Read by a seek rather than an offset walk.
    seek: bool,
}

impl Chunk {
    /// Reads the chunk (and the total, `count_too`) in one snapshot: past a remembered
    /// position when one was remembered at this snapshot's change count, else by offset.
    #[allow(clippy::too_many_arguments)]
    fn read(
        &self,
        conn: &mut DbConnection,
        seeks: &crate::store::seeks::Seeks,
        actor: &Actor,
        pred: &Pred,
        read_pred: &Pred,
        (key, descending, backward): (SortKey, bool, bool),
        o: ChunkOptions,
    ) -> Result<Option<ChunkRead>, ServiceError> {
        // PostgreSQL: the count, the page and its details in one snapshot (they agree).
        crate::store::maintenance::snapshot(conn)?;
        let changes = match &self.memo {
            Some(_) => user_query::directory_changes(conn)?,
            None => None,
        };
        let seek = match (&self.memo, changes) {
            (Some(m), Some(n)) if self.offset > 0 => seeks.find(m, self.offset, n),
            _ => None,
        };
        let (chunk_pred, chunk_offset) = match &seek {
            Some(pos) => (pred.clone().beyond(key, descending, pos.clone(), true, false), 0),
            None => (read_pred.clone(), self.offset),
        };
        if !o.far && chunk_offset.saturating_add(self.limit) > SHORT_READ_ROWS {
            return Ok(None);
        }
        let total = if o.count_too { Some(user_query::count(conn, pred)?) } else { None };
        let rows = page_rows(conn, actor, &chunk_pred, key, descending, backward, chunk_offset, self.limit, o.lookup)?;
        Ok(Some(ChunkRead { total, rows, changes, seek: seek.is_some() }))
    }
}

/// A page's users with the groups `actor` may see.
#[allow(clippy::too_many_arguments)]
fn page_rows(
    conn: &mut DbConnection,
    actor: &Actor,
    pred: &Pred,
    key: SortKey,
    descending: bool,
    backward: bool,
    offset: i64,
    limit: i64,
    lookup: bool,
) -> Result<Vec<UserWithGroups>, ServiceError> {
    if limit == 0 {
        return Ok(vec![]);
    }
    let rows = user_query::page_whole(conn, pred, key, descending, backward, offset, limit, lookup)?;
    Ok(rows.into_iter().map(|(user, groups)| UserWithGroups { groups: visible_groups(actor, groups), user }).collect())
}

/// The accounts a confined SCIM token is limited to.
pub fn confined_scim(actor: &Actor) -> Option<&[String]> {
    match &actor.principal {
        crate::domain::Principal::Scim { accounts } if !accounts.is_empty() => Some(accounts),
        _ => None,
    }
}

/// What bounds one list: the candidates an in-memory filter may examine, the bytes of
/// the answer, the filter terms that scan the table.
#[derive(Debug, Clone)]
pub struct ListBounds {
    pub cap: i64,
    pub budget: usize,
    pub scan_terms: usize,
    /// The slots heavy lists share (`None`: unbounded).
    pub heavy: Option<std::sync::Arc<tokio::sync::Semaphore>>,
}

/// How a list renders users (called on the blocking threads of the store's reads, or on
/// the worker for a light page).
#[derive(Clone)]
pub struct Render {
    /// The SCIM document a filter and a sort read (and a projection narrows).
    pub doc: RenderDoc,
    /// The resource's final JSON, when the answer shows every attribute returned by
    /// default: the store-planned pages use it and build no document.
    pub json: Option<RenderJson>,
}

pub type RenderDoc = std::sync::Arc<dyn Fn(&UserWithGroups) -> serde_json::Value + Send + Sync>;
pub type RenderJson = std::sync::Arc<dyn Fn(&UserWithGroups) -> Vec<u8> + Send + Sync>;

impl Render {
    fn resource(&self, u: &UserWithGroups) -> Resource {
        match &self.json {
            Some(json) => Resource::Json(json(u)),
            None => Resource::Doc((self.doc)(u)),
        }
    }
}

/// Pages asking for more resources than this are heavy (unless the filter names one user).
const HEAVY_PAGE: i64 = 100;

/// Rows read per store round trip of a list.
const LIST_CHUNK: i64 = 250;

/// The most index entries a page may walk (OFFSET + count) to run as a short read.
const SHORT_READ_ROWS: i64 = 1_000;

/// Checks a userName is well-formed (a SCIM write's one required attribute).
pub fn user_name(value: &str) -> Result<UserName, ValidationError> {
    UserName::parse(value)
}
