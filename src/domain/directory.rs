//! Accounts, contacts, sites, tokens, login sessions and audit events.

use chrono::{DateTime, Utc};

use super::{AccountId, ContactId, GroupId, Principal, Role, SessionId, SiteId, TokenId, UserId};

#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: ContactId,
    pub account_id: AccountId,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub id: SiteId,
    pub name: String,
    pub url_path_prefix: String,
    pub self_registration: bool,
    pub created_at: DateTime<Utc>,
}

/// A token as listed: never its secret, never its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenInfo {
    pub id: TokenId,
    pub name: String,
    pub role: Role,
    pub account_ids: Vec<String>,
    /// The one site a `registration` token registers on.
    pub site_id: Option<String>,
    /// The sites a `delegated_admin` token may put users into (default: none).
    pub site_ids: Vec<String>,
    /// Its own request quota per minute (`None`: `rate.token_requests_per_minute`; 0: none).
    pub requests_per_minute: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// When a request last authenticated with it (recorded every few seconds).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl TokenInfo {
    pub fn principal(&self) -> Principal {
        match self.role {
            Role::Admin => Principal::Admin,
            Role::DelegatedAdmin => {
                Principal::DelegatedAdmin { accounts: self.account_ids.clone(), sites: self.site_ids.clone() }
            }
            Role::Scim => Principal::Scim { accounts: self.account_ids.clone() },
            Role::Registration => Principal::Registration { site_id: self.site_id.clone().unwrap_or_default() },
        }
    }
}

/// A login-as (impersonation) session.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginSession {
    pub id: SessionId,
    pub user_id: UserId,
    /// The audit label of the admin who started it.
    pub actor: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// A JSON object (before/after of the fields that changed, and context).
    pub details: String,
}

super::named::named_enum! {
    /// What a group member is (RFC 7643 §4.2 `members.type`).
    pub enum MemberKind {
        User = "User",
        Group = "Group",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub id: String,
    pub kind: MemberKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: GroupId,
    pub display_name: String,
    pub external_id: Option<String>,
    /// The account of the confined SCIM token that made it; `None`: the whole directory's.
    pub account_id: Option<AccountId>,
    pub members: Vec<GroupMember>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// A place in an ordered list of users or groups, where a list cursor stands (RFC 9865):
/// the sort value of a resource as the list orders it (`None`: missing, which orders as the
/// largest value — last ascending, first descending, RFC 7644 §3.4.2.3) and its id (ties
/// go by id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub value: Option<String>,
    pub id: String,
}
