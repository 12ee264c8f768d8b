//! Downstream events: their types, webhook subscriptions and deliveries. Plain Rust, no I/O.

use chrono::{DateTime, Utc};

use super::{AuditAction, ValidationError};

super::named::named_enum! {
    /// The type of a downstream event (CloudEvents `type`). One per kind of directory change.
    #[derive(PartialOrd, Ord)]
    pub enum EventType: "event type" {
        UserCreated = "scimgate.user.created",
        UserUpdated = "scimgate.user.updated",
        UserDeactivated = "scimgate.user.deactivated",
        UserReactivated = "scimgate.user.reactivated",
        UserDeleted = "scimgate.user.deleted",
        UserUpgraded = "scimgate.user.upgraded",
        UserDowngraded = "scimgate.user.downgraded",
        UserContactAssigned = "scimgate.user.contact_assigned",
        UserLicenseChanged = "scimgate.user.license_changed",
        SiteMemberAdded = "scimgate.site.member_added",
        SiteMemberRemoved = "scimgate.site.member_removed",
        GroupCreated = "scimgate.group.created",
        GroupUpdated = "scimgate.group.updated",
        GroupDeleted = "scimgate.group.deleted",
    }
}

/// What an event is about: its `subject` is the id of one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSubject {
    User,
    Group,
}

impl EventType {
    /// How the operator's activity charts count this change: `created`, `updated`,
    /// `deactivated`, `deleted` (users; upgrades, downgrades, reactivations, site
    /// memberships are updates), `groups` (any group change).
    pub fn activity_kind(self) -> &'static str {
        match self {
            EventType::UserCreated => "created",
            EventType::UserDeactivated => "deactivated",
            EventType::UserDeleted => "deleted",
            EventType::GroupCreated | EventType::GroupUpdated | EventType::GroupDeleted => "groups",
            EventType::UserUpdated
            | EventType::UserReactivated
            | EventType::UserUpgraded
            | EventType::UserDowngraded
            | EventType::UserContactAssigned
            | EventType::UserLicenseChanged
            | EventType::SiteMemberAdded
            | EventType::SiteMemberRemoved => "updated",
        }
    }

    pub fn subject(self) -> EventSubject {
        match self {
            EventType::GroupCreated | EventType::GroupUpdated | EventType::GroupDeleted => EventSubject::Group,
            _ => EventSubject::User,
        }
    }

    /// The event of an audited directory change, if it is one downstream systems hear of.
    /// `active_change` is `(before, after)` of `active` when the change touched it: a
    /// generic update (SCIM PUT/PATCH) that flips `active` is a (de)activation downstream,
    /// as it is on the native API.
    pub fn for_audit(action: AuditAction, active_change: Option<(bool, bool)>) -> Option<EventType> {
        let t = match action {
            AuditAction::UserCreated => EventType::UserCreated,
            AuditAction::UserUpdated => match active_change {
                Some((true, false)) => EventType::UserDeactivated,
                Some((false, true)) => EventType::UserReactivated,
                _ => EventType::UserUpdated,
            },
            AuditAction::UserDeactivated => EventType::UserDeactivated,
            AuditAction::UserReactivated => EventType::UserReactivated,
            AuditAction::UserDeleted => EventType::UserDeleted,
            AuditAction::UserUpgraded => EventType::UserUpgraded,
            AuditAction::UserDowngraded => EventType::UserDowngraded,
            AuditAction::UserContactAssigned => EventType::UserContactAssigned,
            AuditAction::UserLicenseChanged => EventType::UserLicenseChanged,
            // The user's `accountId` changed: an update to its subscribers.
            AuditAction::UserAccountMoved => EventType::UserUpdated,
            AuditAction::SiteMemberAdded => EventType::SiteMemberAdded,
            AuditAction::SiteMemberRemoved => EventType::SiteMemberRemoved,
            AuditAction::GroupCreated => EventType::GroupCreated,
            AuditAction::GroupUpdated => EventType::GroupUpdated,
            AuditAction::GroupDeleted => EventType::GroupDeleted,
            // Tokens, accounts, contacts, sites, licenses, login-as, console sessions,
            // webhooks: not directory changes of a user or group.
            AuditAction::UserLoginAs
            | AuditAction::UserLoginAsUsed
            | AuditAction::UserLoginAsRevoked
            | AuditAction::SiteCreated
            | AuditAction::SiteSelfRegistrationSet
            | AuditAction::AccountCreated
            | AuditAction::ContactCreated
            | AuditAction::ContactSynced
            | AuditAction::TokenCreated
            | AuditAction::TokenRevoked
            | AuditAction::TokenRotated
            | AuditAction::LicenseCapacitySet
            | AuditAction::ConsoleSignedIn
            | AuditAction::ConsoleSignedOut
            | AuditAction::WebhookCreated
            | AuditAction::WebhookDeleted
            | AuditAction::WebhookPaused
            | AuditAction::WebhookResumed
            | AuditAction::WebhookDeliveryRetried
            | AuditAction::WebhookDeadLettersRetried
            | AuditAction::WebhookTestSent => return None,
        };
        Some(t)
    }
}

/// The events a subscription receives: all of them (`["*"]`) or the listed types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFilter {
    All,
    Types(Vec<EventType>),
}

impl EventFilter {
    /// The most entries an `events` list may hold (more than every type is a mistake).
    const MAX_ENTRIES: usize = 64;

    /// Parses an `events` list: `["*"]` alone, or known event types (duplicates folded).
    pub fn parse(entries: &[String]) -> Result<EventFilter, ValidationError> {
        if entries.is_empty() {
            return Err(ValidationError::new("events", "must name at least one event type, or [\"*\"]"));
        }
        if entries.len() > Self::MAX_ENTRIES {
            return Err(ValidationError::new("events", format!("at most {} entries", Self::MAX_ENTRIES)));
        }
        if entries.iter().any(|e| e == "*") {
            return if entries.len() == 1 {
                Ok(EventFilter::All)
            } else {
                Err(ValidationError::new("events", "\"*\" stands alone: it already means every event type"))
            };
        }
        let mut types = entries
            .iter()
            .map(|e| e.parse::<EventType>().map_err(|why| ValidationError::new("events", why)))
            .collect::<Result<Vec<_>, _>>()?;
        types.sort();
        types.dedup();
        Ok(EventFilter::Types(types))
    }

    pub fn matches(&self, t: EventType) -> bool {
        match self {
            EventFilter::All => true,
            EventFilter::Types(types) => types.contains(&t),
        }
    }

    /// The list as the API shows it.
    pub fn entries(&self) -> Vec<String> {
        match self {
            EventFilter::All => vec!["*".to_owned()],
            EventFilter::Types(types) => types.iter().map(|t| t.as_str().to_owned()).collect(),
        }
    }
}

/// A webhook subscription as listed: never its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: String,
    pub url: String,
    pub events: EventFilter,
    pub created_at: DateTime<Utc>,
    /// Paused: its deliveries wait (and keep accumulating) until it is resumed.
    pub paused_at: Option<DateTime<Utc>>,
}

/// One attempt at a delivery, with the receiver's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub attempt: i64,
    pub at: DateTime<Utc>,
    pub status_code: Option<i64>,
    /// Why it failed (with the start of the receiver's answer); `None`: delivered.
    pub error: Option<String>,
}

/// How a subscription's deliveries stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionHealth {
    pub delivered_24h: i64,
    pub pending: i64,
    /// Pending deliveries that have failed at least once.
    pub failing: i64,
    pub dead: i64,
    pub oldest_pending_age: Option<chrono::Duration>,
    pub last_error: Option<String>,
}

super::named::named_enum! {
    /// Where a delivery stands.
    pub enum DeliveryStatus: "delivery status" {
        /// Waiting for its next attempt (or being attempted, under a lease).
        Pending = "pending",
        Delivered = "delivered",
        /// Gave up after the configured attempts; retryable by hand.
        Dead = "dead",
    }
}

/// One event on its way to one subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// While its subscription is paused, a pending delivery's `next_attempt_at` is far in
    /// the future (see [`Delivery::waits_for_resume`]).
    pub id: String,
    pub subscription_id: String,
    pub event_id: String,
    pub event_type: String,
    pub subject: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub last_status_code: Option<i64>,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Delivery {
    /// Whether it waits for its paused subscription to be resumed (its next attempt was put
    /// past the year 9998).
    pub fn waits_for_resume(&self) -> bool {
        use chrono::Datelike;
        self.status == DeliveryStatus::Pending && self.next_attempt_at.year() >= 9999
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn every_type_round_trips_through_its_name() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
            assert!(t.as_str().starts_with("scimgate."));
        }
    }

    #[test]
    fn audit_actions_map_to_event_types() {
        use AuditAction as A;
        assert_eq!(EventType::for_audit(A::UserDowngraded, None), Some(EventType::UserDowngraded));
        assert_eq!(EventType::for_audit(A::UserUpdated, None), Some(EventType::UserUpdated));
        assert_eq!(EventType::for_audit(A::UserUpdated, Some((true, false))), Some(EventType::UserDeactivated));
        assert_eq!(EventType::for_audit(A::UserUpdated, Some((false, true))), Some(EventType::UserReactivated));
        assert_eq!(EventType::for_audit(A::SiteMemberAdded, None), Some(EventType::SiteMemberAdded));
        assert_eq!(EventType::for_audit(A::GroupDeleted, None).map(EventType::subject), Some(EventSubject::Group));
        for quiet in [A::TokenCreated, A::UserLoginAs, A::ContactSynced, A::SiteCreated, A::LicenseCapacitySet] {
            assert_eq!(EventType::for_audit(quiet, None), None, "{quiet:?}");
        }
        // Every event type is the event of some audited action.
        for t in EventType::ALL {
            assert!(A::ALL.iter().any(|&a| EventType::for_audit(a, None) == Some(t)), "{t:?}");
        }
    }

    #[test]
    fn event_filters_take_star_alone_or_known_types() {
        assert_eq!(EventFilter::parse(&strings(&["*"])), Ok(EventFilter::All));
        let f =
            EventFilter::parse(&strings(&["scimgate.user.deleted", "scimgate.user.created", "scimgate.user.created"]))
                .unwrap();
        assert_eq!(f, EventFilter::Types(vec![EventType::UserCreated, EventType::UserDeleted]));
        assert!(f.matches(EventType::UserCreated) && !f.matches(EventType::UserUpdated));
        assert_eq!(f.entries(), strings(&["scimgate.user.created", "scimgate.user.deleted"]));
        assert!(EventFilter::parse(&[]).is_err());
        assert!(EventFilter::parse(&strings(&["*", "scimgate.user.created"])).is_err());
        assert!(EventFilter::parse(&strings(&["scimgate.user.exploded"])).is_err());
        assert!(EventFilter::parse(&strings(&["user.created"])).is_err());
    }
}
