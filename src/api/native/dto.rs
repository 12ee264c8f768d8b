//! Request and response bodies of the native API (JSON, camelCase). Requests reject
//! unknown fields: a misspelt field must not be silently dropped.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::domain::{Account, AuditEvent, Contact, LicensePool, Site, TokenInfo, User};

/// Tells a present `null` (`Some(None)`) from an absent field (`None`).
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactBody {
    pub account_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUserRequest {
    pub user_name: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub external_id: Option<String>,
    pub active: Option<bool>,
    pub license: Option<String>,
    pub contact_id: Option<String>,
    pub contact: Option<ContactBody>,
    pub site_ids: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchUserRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub user_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub external_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub active: Option<Option<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetContactRequest {
    pub contact_id: Option<String>,
    pub contact: Option<ContactBody>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpgradeRequest {
    pub license: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkDowngradeRequest {
    pub user_ids: Option<Vec<String>>,
    pub inactive_only: Option<bool>,
    pub dry_run: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListUsersQuery {
    pub contactless: Option<bool>,
    pub license: Option<String>,
    pub account_id: Option<String>,
    pub site_id: Option<String>,
    pub active: Option<bool>,
    pub user_name: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditQuery {
    pub target_id: Option<String>,
    pub action: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAccountRequest {
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetCapacityRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub capacity: Option<Option<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTokenRequest {
    pub name: String,
    pub role: String,
    pub account_ids: Option<Vec<String>>,
    pub site_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSiteRequest {
    pub name: String,
    pub url_path_prefix: String,
    pub self_registration: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterRequest {
    pub user_name: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserResponse {
    pub id: String,
    pub user_name: String,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub active: bool,
    pub license: &'static str,
    pub contact_id: Option<String>,
    pub account_id: Option<String>,
    pub contactless: bool,
    pub origin: &'static str,
    pub site_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        UserResponse {
            email: u.primary_email().map(str::to_owned),
            contactless: u.is_contactless(),
            license: u.license.as_str(),
            origin: u.origin.as_str(),
            id: u.id,
            user_name: u.user_name,
            external_id: u.external_id,
            first_name: u.first_name,
            last_name: u.last_name,
            display_name: u.display_name,
            active: u.active,
            contact_id: u.contact_id,
            account_id: u.account_id,
            site_ids: u.site_ids,
            created_at: u.created_at,
            updated_at: u.updated_at,
            version: u.version,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountResponse {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<Account> for AccountResponse {
    fn from(a: Account) -> Self {
        AccountResponse { id: a.id, name: a.name, created_at: a.created_at }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactResponse {
    pub id: String,
    pub account_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Contact> for ContactResponse {
    fn from(c: Contact) -> Self {
        ContactResponse {
            id: c.id,
            account_id: c.account_id,
            first_name: c.first_name,
            last_name: c.last_name,
            email: c.email,
            phone: c.phone,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseResponse {
    pub license: &'static str,
    pub capacity: Option<i64>,
    pub used: i64,
    pub available: Option<i64>,
}

impl From<LicensePool> for LicenseResponse {
    fn from(p: LicensePool) -> Self {
        LicenseResponse { license: p.license.as_str(), capacity: p.capacity, used: p.used, available: p.available() }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LicensesResponse {
    pub items: Vec<LicenseResponse>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTokenResponse {
    pub id: String,
    pub name: String,
    pub role: &'static str,
    pub token: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub id: String,
    pub name: String,
    pub role: &'static str,
    pub account_ids: Vec<String>,
    pub site_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenInfo> for TokenResponse {
    fn from(t: TokenInfo) -> Self {
        TokenResponse {
            role: t.role.as_str(),
            id: t.id,
            name: t.name,
            account_ids: t.account_ids,
            site_id: t.site_id,
            created_at: t.created_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteResponse {
    pub id: String,
    pub name: String,
    pub url_path_prefix: String,
    pub self_registration: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Site> for SiteResponse {
    fn from(s: Site) -> Self {
        SiteResponse {
            id: s.id,
            name: s.name,
            url_path_prefix: s.url_path_prefix,
            self_registration: s.self_registration,
            created_at: s.created_at,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventResponse {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub details: Value,
}

impl From<AuditEvent> for AuditEventResponse {
    fn from(e: AuditEvent) -> Self {
        AuditEventResponse {
            details: serde_json::from_str(&e.details).unwrap_or(Value::String(e.details)),
            id: e.id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedResponse {
    pub id: String,
    pub code: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkDowngradeResponse {
    pub downgraded: Vec<String>,
    pub skipped: Vec<SkippedResponse>,
    pub dry_run: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginAsResponse {
    pub session_token: String,
    pub expires_at: DateTime<Utc>,
    pub user_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse {
    pub session_id: String,
    pub user_id: String,
    pub started_by: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserResponse,
}
