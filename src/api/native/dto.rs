//! Request and response bodies of the native API (JSON, camelCase). Requests reject
//! unknown fields: a misspelt field must not be silently dropped.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::{ApiError, body_id};
use crate::domain::{
    Account, AuditEvent, Backing, Contact, ContactDraft, Email, License, LicensePool, Origin, Role, Site, TokenInfo,
    UnknownLicense, User, UserName, ValidationError,
};
use crate::error::ServiceError;
use crate::service::auth::NewToken;
use crate::service::sites::{NewSite, Registration};
use crate::service::users::{BulkDowngrade, ContactSpec, NewUser, UserChanges, profile_text, single_email};

/// OpenAPI string enums taken from the domain's own lists, so they cannot drift.
macro_rules! string_enum {
    ($name:ident, $values:expr, $doc:literal) => {
        #[doc = $doc]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some($values.into_iter().map(|v| v.as_str())))
                    .description(Some($doc))
                    .into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

string_enum!(
    LicenseName,
    License::ALL,
    "A license: `external_identity` (the contactless-capable one) or one of the community licenses \
     `customer_community`, `customer_community_plus`, `partner_community` (they need a contact)."
);
string_enum!(RoleName, Role::ALL, "A token's role (see the role table).");
string_enum!(
    OriginName,
    [Origin::Native, Origin::Scim, Origin::SelfRegistration],
    "Where a user came from: the native API, SCIM, or self-registration on a site."
);

/// Tells a present `null` (`Some(None)`) from an absent field (`None`).
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A new contact, under an existing account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"accountId": "0190f3a2-7c1e-7d51-a8a8-5d0f6c1b2e10", "firstName": "Ana",
    "lastName": "Ruiz", "email": "ana@example.com", "phone": "+34 600 000 000"}))]
pub struct ContactBody {
    /// The account (customer or partner company) the contact belongs to.
    #[schema(format = Uuid)]
    pub account_id: String,
    #[schema(min_length = 1, max_length = 256)]
    pub first_name: String,
    #[schema(min_length = 1, max_length = 256)]
    pub last_name: String,
    #[schema(format = Email)]
    pub email: String,
    pub phone: Option<String>,
}

/// A new user. Neither `contactId` nor `contact`: a contactless user (license
/// `external_identity`). `contactId` links an existing contact; `contact` creates one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Unique, compared case-insensitively; no leading or trailing white space.
    #[schema(min_length = 1, max_length = 256)]
    pub user_name: String,
    /// The primary email address.
    #[schema(format = Email)]
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub external_id: Option<String>,
    /// Default `true`.
    pub active: Option<bool>,
    /// Default `external_identity`; a community license needs a contact (`422 contact_required`)
    /// and a license left in its pool (`409 license_unavailable`).
    #[schema(value_type = Option<LicenseName>)]
    pub license: Option<String>,
    /// An existing contact (not linked to another user: `409 contact_in_use`).
    #[schema(format = Uuid)]
    pub contact_id: Option<String>,
    pub contact: Option<ContactBody>,
    /// Sites the user becomes a member of.
    #[schema(value_type = Option<Vec<uuid::Uuid>>)]
    pub site_ids: Option<Vec<String>>,
}

/// Profile changes: absent fields stay, `null` clears a nullable field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"active": false}))]
pub struct PatchUserRequest {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub user_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, format = Email)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = bool)]
    pub active: Option<Option<bool>>,
}

/// The contact to link: `contactId` (existing) or `contact` (new), exactly one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetContactRequest {
    #[schema(format = Uuid)]
    pub contact_id: Option<String>,
    pub contact: Option<ContactBody>,
}

/// The account to move a user (and its contact) to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"accountId": "0190f3a2-7c1e-7d51-a8a8-5d0f6c1b2e10"}))]
pub struct MoveAccountRequest {
    #[schema(format = Uuid)]
    pub account_id: String,
}

/// The community license to upgrade to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"license": "customer_community"}))]
pub struct UpgradeRequest {
    #[schema(value_type = LicenseName)]
    pub license: String,
}

/// Which users to downgrade: `userIds` (else every community-license user the token
/// manages), narrowed to inactive ones with `inactiveOnly`; `dryRun` only reports.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkDowngradeRequest {
    #[schema(value_type = Option<Vec<uuid::Uuid>>)]
    pub user_ids: Option<Vec<String>>,
    pub inactive_only: Option<bool>,
    pub dry_run: Option<bool>,
}

/// A query of a paged list: its own parameters, then `limit` and `cursor` (read by
/// [`super::page`]), each documented once here.
macro_rules! paged_query {
    (pub struct $name:ident { $($(#[$field_meta:meta])* pub $field:ident: $ty:ty,)* }) => {
        #[derive(Debug, Deserialize, IntoParams)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty,)*
            /// Page size, 1 to 200 (default 50).
            #[param(minimum = 1, maximum = 200)]
            pub limit: Option<i64>,
            /// The `nextCursor` of the previous page.
            #[param(format = Uuid)]
            pub cursor: Option<String>,
        }
    };
}
pub(crate) use paged_query;

paged_query! {
    pub struct ListUsersQuery {
        /// Only contactless (`true`) or only contact-backed (`false`) users.
        pub contactless: Option<bool>,
        #[param(value_type = Option<LicenseName>)]
        pub license: Option<String>,
        /// The account of the users' contacts.
        #[param(format = Uuid)]
        pub account_id: Option<String>,
        /// Members of this site.
        #[param(format = Uuid)]
        pub site_id: Option<String>,
        pub active: Option<bool>,
        /// Exact userName, compared case-insensitively.
        pub user_name: Option<String>,
    }
}

paged_query! {
    pub struct PageQuery {}
}

paged_query! {
    pub struct AuditQuery {
        /// Events about this resource (a user, contact, account, site, token or license).
        pub target_id: Option<String>,
        /// Events of this action, e.g. `user.downgraded`.
        pub action: Option<String>,
        /// Events by this actor, as events name it: `token:<id>`, `bootstrap`, `cli`.
        pub actor: Option<String>,
        /// Events at or after this time (RFC 3339).
        pub from: Option<chrono::DateTime<chrono::Utc>>,
        /// Events before this time (RFC 3339).
        pub to: Option<chrono::DateTime<chrono::Utc>>,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "Acme"}))]
pub struct CreateAccountRequest {
    #[schema(min_length = 1, max_length = 256)]
    pub name: String,
}

/// The pool's capacity: a number, or `null` for unlimited (required).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"capacity": 100}))]
pub struct SetCapacityRequest {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, required = true, minimum = 0)]
    pub capacity: Option<Option<i64>>,
}

/// A new token. `accountIds` scopes a `delegated_admin` (and `siteIds` names the sites it
/// may put users into); for a `scim` token its one entry is the default account of the
/// contacts SCIM creates; `siteId` binds a `registration` token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "acme-admin", "role": "delegated_admin",
    "accountIds": ["0190f3a2-7c1e-7d51-a8a8-5d0f6c1b2e10"]}))]
pub struct CreateTokenRequest {
    pub name: String,
    #[schema(value_type = RoleName)]
    pub role: String,
    #[schema(value_type = Option<Vec<uuid::Uuid>>)]
    pub account_ids: Option<Vec<String>>,
    #[schema(format = Uuid)]
    pub site_id: Option<String>,
    /// `delegated_admin` only: the sites it may put users into (`siteIds` of
    /// `POST /users`). Default: none.
    #[schema(value_type = Option<Vec<uuid::Uuid>>)]
    pub site_ids: Option<Vec<String>>,
    /// The token's own request quota per minute, instead of `rate.token_requests_per_minute`;
    /// 0: no quota. Past it: `429 rate_limited`.
    pub requests_per_minute: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "Partner portal", "urlPathPrefix": "partners", "selfRegistration": true}))]
pub struct CreateSiteRequest {
    #[schema(min_length = 1, max_length = 256)]
    pub name: String,
    /// Unique among sites (`409 site_prefix_taken`).
    #[schema(pattern = "^[a-z0-9_-]{1,64}$")]
    pub url_path_prefix: String,
    /// Default `false`.
    pub self_registration: Option<bool>,
}

/// A self-registration: becomes a contactless `external_identity` user, member of the site.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"userName": "ana@example.com", "email": "ana@example.com"}))]
pub struct RegisterRequest {
    #[schema(min_length = 1, max_length = 256)]
    pub user_name: String,
    #[schema(format = Email)]
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// A user. `contactless` users have no contact (`contactId` and `accountId` null) and hold
/// `external_identity`. The same `id` names the user over SCIM.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "0190f3a2-9b40-7c12-b6a1-3c9d2f5e8a01", "userName": "ana@example.com",
    "externalId": null, "email": "ana@example.com", "firstName": "Ana", "lastName": "Ruiz", "displayName": null,
    "active": true, "license": "external_identity", "contactId": null, "accountId": null, "contactless": true,
    "origin": "native", "siteIds": [], "createdAt": "2025-01-15T09:30:00.123456Z",
    "updatedAt": "2025-01-15T09:30:00.123456Z", "version": 1}))]
pub struct UserResponse {
    #[schema(format = Uuid)]
    pub id: String,
    pub user_name: String,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub active: bool,
    #[schema(value_type = LicenseName)]
    pub license: &'static str,
    #[schema(format = Uuid)]
    pub contact_id: Option<String>,
    /// The account of the user's contact; null for a contactless user.
    #[schema(format = Uuid)]
    pub account_id: Option<String>,
    pub contactless: bool,
    #[schema(value_type = OriginName)]
    pub origin: &'static str,
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub site_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Increases with every change; the `ETag` is `W/"version"`.
    pub version: i64,
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        let email = u.primary_email().map(str::to_owned);
        let (contact_id, account_id) = match u.backing {
            Backing::Contactless => (None, None),
            Backing::Contact { contact, account } => (Some(contact.into_string()), Some(account.into_string())),
        };
        UserResponse {
            email,
            contactless: contact_id.is_none(),
            license: u.license.as_str(),
            origin: u.origin.as_str(),
            id: u.id.into(),
            user_name: u.user_name,
            external_id: u.external_id,
            first_name: u.first_name,
            last_name: u.last_name,
            display_name: u.display_name,
            active: u.active,
            contact_id,
            account_id,
            site_ids: u.site_ids.into_iter().map(String::from).collect(),
            created_at: u.created_at,
            updated_at: u.updated_at,
            version: u.version,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
/// One page: follow `nextCursor` (null on the last page) with `?cursor=`.
pub struct ListResponse<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "0190f3a2-7c1e-7d51-a8a8-5d0f6c1b2e10", "name": "Acme",
    "createdAt": "2025-01-15T09:30:00.123456Z"}))]
pub struct AccountResponse {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<Account> for AccountResponse {
    fn from(a: Account) -> Self {
        AccountResponse { id: a.id.into(), name: a.name, created_at: a.created_at }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactResponse {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
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
            id: c.id.into(),
            account_id: c.account_id.into(),
            first_name: c.first_name,
            last_name: c.last_name,
            email: c.email,
            phone: c.phone,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
/// A license pool; `capacity` and `available` are null when unlimited.
#[schema(example = json!({"license": "customer_community", "capacity": 100, "used": 1, "available": 99}))]
pub struct LicenseResponse {
    #[schema(value_type = LicenseName)]
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

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicensesResponse {
    pub items: Vec<LicenseResponse>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
/// A new token; `token` is the secret, shown this once.
pub struct CreatedTokenResponse {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    #[schema(value_type = RoleName)]
    pub role: &'static str,
    #[schema(example = "sgt_3q2x…")]
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
/// A token, without its secret.
pub struct TokenResponse {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    #[schema(value_type = RoleName)]
    pub role: &'static str,
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub account_ids: Vec<String>,
    #[schema(format = Uuid)]
    pub site_id: Option<String>,
    /// The sites a `delegated_admin` token may put users into.
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub site_ids: Vec<String>,
    /// Its own request quota per minute (absent: the configured default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// When a request last authenticated with it (recorded within a few seconds).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<TokenInfo> for TokenResponse {
    fn from(t: TokenInfo) -> Self {
        TokenResponse {
            role: t.role.as_str(),
            id: t.id.into(),
            name: t.name,
            account_ids: t.account_ids,
            site_id: t.site_id,
            site_ids: t.site_ids,
            requests_per_minute: t.requests_per_minute,
            last_used_at: t.last_used_at,
            created_at: t.created_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SiteResponse {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    pub url_path_prefix: String,
    pub self_registration: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Site> for SiteResponse {
    fn from(s: Site) -> Self {
        SiteResponse {
            id: s.id.into(),
            name: s.name,
            url_path_prefix: s.url_path_prefix,
            self_registration: s.self_registration,
            created_at: s.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
/// One audited mutation.
pub struct AuditEventResponse {
    pub id: String,
    pub at: DateTime<Utc>,
    /// Who: the token's name and role, or `cli`.
    pub actor: String,
    /// What, e.g. `user.created`, `user.upgraded`, `user.downgraded`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// Before/after of the changed fields.
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

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
/// A user the bulk downgrade left alone, and why (a problem code).
pub struct SkippedResponse {
    pub id: String,
    /// `not_found`, `already_contactless`, `active` (with `inactiveOnly`), or the policy code
    /// that refused it (`delegated_admin_forbidden`, `out_of_scope`).
    #[schema(example = "already_contactless")]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
/// What a bulk downgrade did (or, with `dryRun`, would do).
#[schema(example = json!({"downgraded": ["0190f3a2-9b40-7c12-b6a1-3c9d2f5e8a01"], "skipped": [], "dryRun": false}))]
pub struct BulkDowngradeResponse {
    pub downgraded: Vec<String>,
    pub skipped: Vec<SkippedResponse>,
    pub dry_run: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
/// A login-as session: use `sessionToken` as the bearer token of `GET /api/v1/session`.
pub struct LoginAsResponse {
    pub session_token: String,
    pub expires_at: DateTime<Utc>,
    #[schema(format = Uuid)]
    pub user_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
/// Who a login-as session acts as.
pub struct SessionResponse {
    pub session_id: String,
    pub user_id: String,
    pub started_by: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserResponse,
}

// ---------------------------------------------------------------------------------------
// Requests into service commands: every field checked here, once, so that handlers only
// pass commands on (a field's error is `422 validation_failed` naming it).

/// A validation failure as the native API answers it (`validation_failed`).
pub fn invalid(e: ValidationError) -> ApiError {
    ServiceError::Validation(e).into()
}

/// A license name (`422 invalid_license` for anything else).
pub fn license(value: &str) -> Result<License, ApiError> {
    value.parse().map_err(|e: UnknownLicense| ServiceError::Policy(e.into()).into())
}

fn ids(field: &str, values: Option<Vec<String>>) -> Result<Vec<String>, ApiError> {
    values.unwrap_or_default().iter().map(|v| body_id(field, v)).collect()
}

impl TryFrom<ContactBody> for ContactDraft {
    type Error = ApiError;
    fn try_from(c: ContactBody) -> Result<Self, ApiError> {
        let account = body_id("contact.accountId", &c.account_id)?;
        ContactDraft::parse(&account, &c.first_name, &c.last_name, &c.email, c.phone.as_deref()).map_err(invalid)
    }
}

/// `contactId` or `contact`, not both.
pub fn contact_spec(contact_id: Option<String>, contact: Option<ContactBody>) -> Result<Option<ContactSpec>, ApiError> {
    match (contact_id, contact) {
        (Some(_), Some(_)) => Err(invalid(ValidationError::new("contact", "give contactId or contact, not both"))),
        (Some(id), None) => Ok(Some(ContactSpec::Existing(body_id("contactId", &id)?))),
        (None, Some(c)) => Ok(Some(ContactSpec::New(c.try_into()?))),
        (None, None) => Ok(None),
    }
}

impl TryFrom<CreateUserRequest> for NewUser {
    type Error = ApiError;
    fn try_from(b: CreateUserRequest) -> Result<Self, ApiError> {
        Ok(NewUser {
            user_name: UserName::parse(&b.user_name).map_err(invalid)?,
            emails: single_email(Email::parse("email", &b.email).map_err(invalid)?),
            first_name: profile_text("firstName", b.first_name.as_deref()).map_err(invalid)?,
            last_name: profile_text("lastName", b.last_name.as_deref()).map_err(invalid)?,
            display_name: profile_text("displayName", b.display_name.as_deref()).map_err(invalid)?,
            external_id: profile_text("externalId", b.external_id.as_deref()).map_err(invalid)?,
            active: b.active.unwrap_or(true),
            license: b.license.as_deref().map(license).transpose()?,
            contact: contact_spec(b.contact_id, b.contact)?,
            site_ids: ids("siteIds", b.site_ids)?,
            origin: Origin::Native,
            scim_attributes: None,
            password_hash: None,
        })
    }
}

/// A field that may be absent (left alone) but not `null`.
fn required<T>(field: &str, v: Option<Option<T>>) -> Result<Option<T>, ApiError> {
    match v {
        Some(None) => Err(invalid(ValidationError::new(field, "must not be null"))),
        Some(Some(v)) => Ok(Some(v)),
        None => Ok(None),
    }
}

/// A field that may be absent (left alone) or `null` (cleared).
fn nullable_text(field: &str, v: Option<Option<String>>) -> Result<Option<Option<String>>, ApiError> {
    v.map(|inner| profile_text(field, inner.as_deref())).transpose().map_err(invalid)
}

impl TryFrom<PatchUserRequest> for UserChanges {
    type Error = ApiError;
    fn try_from(b: PatchUserRequest) -> Result<Self, ApiError> {
        Ok(UserChanges {
            user_name: required("userName", b.user_name)?.map(|n| UserName::parse(&n)).transpose().map_err(invalid)?,
            email: required("email", b.email)?.map(|e| Email::parse("email", &e)).transpose().map_err(invalid)?,
            first_name: nullable_text("firstName", b.first_name)?,
            last_name: nullable_text("lastName", b.last_name)?,
            display_name: nullable_text("displayName", b.display_name)?,
            external_id: nullable_text("externalId", b.external_id)?,
            active: required("active", b.active)?,
        })
    }
}

impl TryFrom<SetContactRequest> for ContactSpec {
    type Error = ApiError;
    fn try_from(b: SetContactRequest) -> Result<Self, ApiError> {
        contact_spec(b.contact_id, b.contact)?
            .ok_or_else(|| invalid(ValidationError::new("contact", "give contactId or contact")))
    }
}

impl TryFrom<BulkDowngradeRequest> for BulkDowngrade {
    type Error = ApiError;
    fn try_from(b: BulkDowngradeRequest) -> Result<Self, ApiError> {
        Ok(BulkDowngrade {
            user_ids: b.user_ids.map(|ids| ids.iter().map(|i| body_id("userIds", i)).collect()).transpose()?,
            inactive_only: b.inactive_only.unwrap_or(false),
            dry_run: b.dry_run.unwrap_or(false),
        })
    }
}

impl TryFrom<RegisterRequest> for Registration {
    type Error = ApiError;
    fn try_from(b: RegisterRequest) -> Result<Self, ApiError> {
        Ok(Registration {
            user_name: UserName::parse(&b.user_name).map_err(invalid)?,
            email: Email::parse("email", &b.email).map_err(invalid)?,
            first_name: profile_text("firstName", b.first_name.as_deref()).map_err(invalid)?,
            last_name: profile_text("lastName", b.last_name.as_deref()).map_err(invalid)?,
        })
    }
}

impl TryFrom<CreateSiteRequest> for NewSite {
    type Error = ApiError;
    fn try_from(b: CreateSiteRequest) -> Result<Self, ApiError> {
        NewSite::new(&b.name, &b.url_path_prefix, b.self_registration.unwrap_or(false)).map_err(invalid)
    }
}

impl TryFrom<CreateTokenRequest> for NewToken {
    type Error = ApiError;
    fn try_from(b: CreateTokenRequest) -> Result<Self, ApiError> {
        let role: Role = b.role.parse().map_err(|e: String| {
            invalid(ValidationError::new("role", format!("{e}: use admin, delegated_admin, scim or registration")))
        })?;
        Ok(NewToken {
            name: b.name,
            role,
            account_ids: ids("accountIds", b.account_ids)?,
            site_id: b.site_id.map(|s| body_id("siteId", &s)).transpose()?,
            site_ids: ids("siteIds", b.site_ids)?,
            requests_per_minute: b.requests_per_minute,
        })
    }
}
