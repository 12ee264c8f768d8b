//! Accounts and contacts.

use serde_json::json;

use super::{Page, ServiceError, audit};
use crate::domain::{
    Account, AccountId, Actor, AuditAction, Contact, ContactDraft, ContactId, Principal, ValidationError, fold, new_id,
    now, text,
};
use crate::policy::access::{AdminCap, ScimCap};
use crate::store::{Db, DbConnection, accounts};

pub async fn create_account(db: &Db, admin: &AdminCap, name: String) -> Result<Account, ServiceError> {
    let actor = admin.actor().clone();
    let name = text("name", &name, 256)?;
    db.write(move |conn| {
        let account = Account { id: AccountId::new(new_id()), name, created_at: now() };
        accounts::insert_account(conn, &account)?;
        audit::record(conn, &actor, AuditAction::AccountCreated, account.id.as_str(), json!({ "name": account.name }))?;
        Ok(account)
    })
    .await
}

pub async fn list_accounts(
    db: &Db,
    _admin: &AdminCap,
    cursor: Option<String>,
    limit: i64,
) -> Result<Page<Account>, ServiceError> {
    db.read(move |conn| {
        let rows = accounts::list_accounts(conn, cursor.as_deref(), limit + 1)?;
        Ok(Page::from_probe(rows, limit, |a| a.id.to_string()))
    })
    .await
}

pub async fn get_account(db: &Db, _admin: &AdminCap, id: AccountId) -> Result<Account, ServiceError> {
    db.read(move |conn| accounts::find_account(conn, id.as_str())?.ok_or(ServiceError::NotFound("account"))).await
}

/// Creates a contact inside the caller's transaction; the account must exist.
pub fn insert_contact(conn: &mut DbConnection, actor: &Actor, draft: ContactDraft) -> Result<Contact, ServiceError> {
    if accounts::find_account(conn, &draft.account_id)?.is_none() {
        return Err(ValidationError::new("accountId", format!("no account {}", draft.account_id)).into());
    }
    let at = now();
    let contact = Contact {
        id: ContactId::new(new_id()),
        account_id: AccountId::new(draft.account_id),
        first_name: draft.first_name,
        last_name: draft.last_name,
        email: draft.email,
        phone: draft.phone,
        created_at: at,
        updated_at: at,
    };
    accounts::insert_contact(conn, &contact)?;
    audit::record(
        conn,
        actor,
        AuditAction::ContactCreated,
        contact.id.as_str(),
        json!({ "accountId": contact.account_id.as_str(), "email": contact.email }),
    )?;
    Ok(contact)
}

pub async fn create_contact(db: &Db, admin: &AdminCap, draft: ContactDraft) -> Result<Contact, ServiceError> {
    let actor = admin.actor().clone();
    db.write(move |conn| insert_contact(conn, &actor, draft)).await
}

pub async fn get_contact(db: &Db, _admin: &AdminCap, id: ContactId) -> Result<Contact, ServiceError> {
    db.read(move |conn| accounts::find_contact(conn, id.as_str())?.ok_or(ServiceError::NotFound("contact"))).await
}

/// The account ids a SCIM client may name in `accountId` (`/Schemas` canonical values), at
/// most `limit` of them.
pub async fn account_ids_for_scim(db: &Db, _scim: &ScimCap, limit: i64) -> Result<Vec<String>, ServiceError> {
    db.read(move |conn| Ok(accounts::list_accounts(conn, None, limit)?.into_iter().map(|a| a.id.into()).collect()))
        .await
}

/// The most contacts one picker search reads, linked or not (its cost is bounded; the
/// answer says when the account has more to look through).
pub const CONTACT_SCAN: usize = 5000;

/// Contacts of `account_id` no user is linked to whose first name, last name, "first
/// last" or email starts with `prefix` (any case), at most `limit`; and whether the scan
/// stopped at [`CONTACT_SCAN`] before the end of the account. Admins search any account,
/// delegated admins their own.
pub async fn find_contacts(
    db: &Db,
    actor: &Actor,
    account_id: AccountId,
    prefix: String,
    limit: usize,
) -> Result<(Vec<Contact>, bool), ServiceError> {
    match &actor.principal {
        Principal::Admin => {}
        Principal::DelegatedAdmin { .. } => crate::policy::delegation::can_use_account(actor, account_id.as_str())?,
        _ => return Err(crate::policy::PolicyViolation::OutOfScope.into()),
    }
    let p = fold(prefix.trim());
    db.read(move |conn| {
        accounts::find_account(conn, account_id.as_str())?.ok_or(ServiceError::NotFound("account"))?;
        let mut found = vec![];
        let mut scanned = 0;
        let mut after: Option<String> = None;
        loop {
            // Every contact read counts toward the bound, linked or not.
            let chunk = accounts::contacts_of_account(conn, account_id.as_str(), after.as_deref(), 500)?;
            let done = chunk.len() < 500;
            scanned += chunk.len();
            after = chunk.last().map(|c| c.id.to_string());
            let ids: Vec<String> = chunk.iter().map(|c| c.id.to_string()).collect();
            let linked = accounts::linked(conn, &ids)?;
            for c in chunk.into_iter().filter(|c| !linked.contains(c.id.as_str())) {
                let full = fold(&format!("{} {}", c.first_name, c.last_name));
                let hit = p.is_empty()
                    || fold(&c.first_name).starts_with(&p)
                    || fold(&c.last_name).starts_with(&p)
                    || full.starts_with(&p)
                    || c.email.as_deref().is_some_and(|e| fold(e).starts_with(&p));
                if hit {
                    found.push(c);
                    if found.len() >= limit {
                        return Ok((found, false));
                    }
                }
            }
            if done {
                return Ok((found, false));
            }
            if scanned >= CONTACT_SCAN {
                return Ok((found, true));
            }
        }
    })
    .await
}
