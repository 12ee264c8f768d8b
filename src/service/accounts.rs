//! Accounts and contacts.

use serde_json::json;

use super::{Page, ServiceError, audit};
use crate::domain::{Account, Actor, Contact, ContactDraft, ValidationError, new_id, now, text};
use crate::policy::access::AdminCap;
use crate::store::{Db, DbConnection, accounts};

pub async fn create_account(db: &Db, admin: &AdminCap, name: String) -> Result<Account, ServiceError> {
    let actor = admin.actor().clone();
    let name = text("name", &name, 256)?;
    db.write(move |conn| {
        let account = Account { id: new_id(), name, created_at: now() };
        accounts::insert_account(conn, &account)?;
        audit::record(conn, &actor, "account.created", "account", &account.id, json!({ "name": account.name }))?;
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
        Ok(Page::from_probe(rows, limit, |a| a.id.clone()))
    })
    .await
}

pub async fn get_account(db: &Db, _admin: &AdminCap, id: String) -> Result<Account, ServiceError> {
    db.read(move |conn| accounts::find_account(conn, &id)?.ok_or(ServiceError::NotFound("account"))).await
}

/// Creates a contact inside the caller's transaction; the account must exist.
pub fn insert_contact(conn: &mut DbConnection, actor: &Actor, draft: ContactDraft) -> Result<Contact, ServiceError> {
    if accounts::find_account(conn, &draft.account_id)?.is_none() {
        return Err(ValidationError::new("accountId", format!("no account {}", draft.account_id)).into());
    }
    let at = now();
    let contact = Contact {
        id: new_id(),
        account_id: draft.account_id,
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
        "contact.created",
        "contact",
        &contact.id,
        json!({ "accountId": contact.account_id, "email": contact.email }),
    )?;
    Ok(contact)
}

pub async fn create_contact(db: &Db, admin: &AdminCap, draft: ContactDraft) -> Result<Contact, ServiceError> {
    let actor = admin.actor().clone();
    db.write(move |conn| insert_contact(conn, &actor, draft)).await
}

pub async fn get_contact(db: &Db, _admin: &AdminCap, id: String) -> Result<Contact, ServiceError> {
    db.read(move |conn| accounts::find_contact(conn, &id)?.ok_or(ServiceError::NotFound("contact"))).await
}

/// The account ids a SCIM client may name in `accountId` (`/Schemas` canonical values), at
/// most `limit` of them.
pub async fn account_ids_for_scim(db: &Db, limit: i64) -> Result<Vec<String>, ServiceError> {
    db.read(move |conn| Ok(accounts::list_accounts(conn, None, limit)?.into_iter().map(|a| a.id).collect())).await
}
