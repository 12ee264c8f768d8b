//! Sites (portals), their members, and self-registration.

use serde_json::json;

use super::users::{NewUser, create_in};
use super::{Page, ServiceError, audit, write_as};
use crate::domain::{
    Actor, AuditAction, Email, Origin, Site, SiteId, User, UserId, UserName, ValidationError, new_id, now, text,
};
use crate::policy;
use crate::policy::access::AdminCap;
use crate::store::{Db, DbConnection, accounts, users};

/// A new site, its fields checked ([`NewSite::new`]).
#[derive(Debug, Clone)]
pub struct NewSite {
    name: String,
    url_path_prefix: String,
    self_registration: bool,
}

impl NewSite {
    /// A name of 1–256 characters and a URL path prefix of 1–64 of `a-z 0-9 - _`.
    pub fn new(name: &str, url_path_prefix: &str, self_registration: bool) -> Result<NewSite, ValidationError> {
        Ok(NewSite {
            name: text("name", name, 256)?,
            url_path_prefix: self::url_path_prefix(url_path_prefix)?,
            self_registration,
        })
    }
}

/// A URL path prefix: 1–64 of `a-z 0-9 - _`, so it can stand in a URL as it is.
fn url_path_prefix(value: &str) -> Result<String, ValidationError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(value.to_owned())
    } else {
        Err(ValidationError::new("urlPathPrefix", "must be 1 to 64 characters of a-z, 0-9, '-' and '_'"))
    }
}

pub async fn create(db: &Db, admin: &AdminCap, new: NewSite) -> Result<Site, ServiceError> {
    let actor = admin.actor().clone();
    let NewSite { name, url_path_prefix, self_registration } = new;
    let site = Site { id: SiteId::new(new_id()), name, url_path_prefix, self_registration, created_at: now() };
    db.write(move |conn| {
        accounts::insert_site(conn, &site)?;
        audit::record(
            conn,
            &actor,
            AuditAction::SiteCreated,
            site.id.as_str(),
            json!({ "name": site.name, "urlPathPrefix": site.url_path_prefix, "selfRegistration": site.self_registration }),
        )?;
        Ok(site)
    })
    .await
}

pub async fn list(db: &Db, _admin: &AdminCap, cursor: Option<String>, limit: i64) -> Result<Page<Site>, ServiceError> {
    db.read(move |conn| {
        let rows = accounts::list_sites(conn, cursor.as_deref(), limit + 1)?;
        Ok(Page::from_probe(rows, limit, |s| s.id.to_string()))
    })
    .await
}

pub async fn get(db: &Db, _admin: &AdminCap, id: SiteId) -> Result<Site, ServiceError> {
    db.read(move |conn| accounts::find_site(conn, id.as_str())?.ok_or(ServiceError::NotFound("site"))).await
}

/// Adds a member (idempotent). Contactless users are members like any other (rule 7).
pub async fn add_member(db: &Db, admin: &AdminCap, site: SiteId, user: UserId) -> Result<(), ServiceError> {
    write_as(db, admin.actor(), move |conn, actor| {
        accounts::find_site(conn, site.as_str())?.ok_or(ServiceError::NotFound("site"))?;
        users::find_for_update(conn, user.as_str())?.ok_or(ServiceError::NotFound("user"))?;
        if users::add_member(conn, &site, &user, now())? {
            membership_changed(conn, actor, AuditAction::SiteMemberAdded, &site, &user)?;
        }
        Ok(())
    })
    .await
}

/// Removes a member (idempotent: removing a non-member succeeds).
pub async fn remove_member(db: &Db, admin: &AdminCap, site: SiteId, user: UserId) -> Result<(), ServiceError> {
    write_as(db, admin.actor(), move |conn, actor| {
        accounts::find_site(conn, site.as_str())?.ok_or(ServiceError::NotFound("site"))?;
        // The user's row lock first, as every user write takes it: it orders this change's
        // downstream event among the user's others (and keeps the lock order).
        if users::find_for_update(conn, user.as_str())?.is_none() {
            return Ok(());
        }
        if users::remove_member(conn, &site, &user)? {
            membership_changed(conn, actor, AuditAction::SiteMemberRemoved, &site, &user)?;
        }
        Ok(())
    })
    .await
}

/// Audits a membership that changed (and tells downstream systems).
fn membership_changed(
    conn: &mut DbConnection,
    actor: &Actor,
    action: AuditAction,
    site: &SiteId,
    user: &UserId,
) -> Result<(), ServiceError> {
    audit::record(conn, actor, action, user.as_str(), json!({ "siteId": site.as_str() }))
}

pub async fn members(
    db: &Db,
    _admin: &AdminCap,
    site_id: SiteId,
    cursor: Option<String>,
    limit: i64,
) -> Result<Page<User>, ServiceError> {
    db.read(move |conn| {
        accounts::find_site(conn, site_id.as_str())?.ok_or(ServiceError::NotFound("site"))?;
        let filter = users::UserFilter { site_id: Some(site_id.into()), ..Default::default() };
        let rows = users::list(conn, &filter, cursor.as_deref(), limit + 1)?;
        Ok(Page::from_probe(rows, limit, |u| u.id.to_string()))
    })
    .await
}

/// What a visitor gives to register.
#[derive(Debug, Clone)]
pub struct Registration {
    pub user_name: UserName,
    pub email: Email,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// Self-registration: a contactless `external_identity` user, member of the site.
pub async fn register(db: &Db, actor: Actor, site_id: SiteId, reg: Registration) -> Result<User, ServiceError> {
    db.write(move |conn| {
        // Shared: a switch turned off while this registration runs is seen, not overtaken.
        let site = accounts::share_site(conn, site_id.as_str())?.ok_or(ServiceError::NotFound("site"))?;
        policy::registration::can_self_register(&site)?;
        let cmd = NewUser {
            user_name: reg.user_name,
            emails: super::users::single_email(reg.email),
            first_name: reg.first_name,
            last_name: reg.last_name,
            display_name: None,
            external_id: None,
            active: true,
            license: None,
            contact: None,
            site_ids: vec![site.id.into()],
            origin: Origin::SelfRegistration,
            scim_attributes: None,
            password_hash: None,
        };
        create_in(conn, &actor, cmd)
    })
    .await
}

/// Turns the site's self-registration switch on or off (audited; a no-op when unchanged).
pub async fn set_self_registration(
    db: &Db,
    admin: &AdminCap,
    site_id: SiteId,
    enabled: bool,
) -> Result<Site, ServiceError> {
    write_as(db, admin.actor(), move |conn, actor| {
        let site = accounts::find_site(conn, site_id.as_str())?.ok_or(ServiceError::NotFound("site"))?;
        if !accounts::set_self_registration(conn, site.id.as_str(), enabled)? {
            return Ok(Site { self_registration: enabled, ..site });
        }
        audit::record(
            conn,
            actor,
            AuditAction::SiteSelfRegistrationSet,
            site.id.as_str(),
            json!({ "changes": { "selfRegistration": { "before": site.self_registration, "after": enabled } } }),
        )?;
        Ok(Site { self_registration: enabled, ..site })
    })
    .await
}
