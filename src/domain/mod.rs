//! The directory's vocabulary: plain Rust types and their validation. Depends on nothing
//! but std, chrono and uuid — never on actix, diesel or serde_json.

mod actor;
mod audit;
mod directory;
mod events;
mod ids;
mod license;
pub(crate) mod named;
mod user;
mod values;

pub use actor::{Actor, Principal, Role, Via, source_key};
pub use audit::{AuditAction, AuditTarget};
pub use directory::{
    Account, AuditEvent, Contact, Group, GroupMember, LoginSession, MemberKind, Position, Site, TokenInfo,
};
pub use events::{
    Attempt, Delivery, DeliveryStatus, EventFilter, EventSubject, EventType, Subscription, SubscriptionHealth,
};
pub use ids::{AccountId, ContactId, DeliveryId, GroupId, SessionId, SiteId, SubscriptionId, TokenId, UserId};
pub use license::{License, LicensePool, UnknownLicense};
pub use user::{Backing, Origin, User, UserEmail};
pub use values::{
    ContactDraft, Email, MAX_TEXT, UserName, ValidationError, fold, id_floor, new_id, now, optional_text, text,
};
