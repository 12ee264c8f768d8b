//! What the audit log records: each kind of change as a value, with the kind of thing it is
//! about. A change is audited by naming one of these, so a misspelt action cannot be
//! written, and what reaches downstream systems (`EventType::for_audit`) is decided by an
//! exhaustive match, not by a string that no longer matches.

/// The kind of thing an audit event's `target_id` names (stored as `target_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditTarget {
    User,
    Group,
    Account,
    Contact,
    Site,
    Token,
    Webhook,
    License,
    LoginSession,
    ConsoleSession,
}

impl AuditTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditTarget::User => "user",
            AuditTarget::Group => "group",
            AuditTarget::Account => "account",
            AuditTarget::Contact => "contact",
            AuditTarget::Site => "site",
            AuditTarget::Token => "token",
            AuditTarget::Webhook => "webhook",
            AuditTarget::License => "license",
            AuditTarget::LoginSession => "login_session",
            AuditTarget::ConsoleSession => "console_session",
        }
    }
}

macro_rules! audit_actions {
    ($($(#[$doc:meta])* $variant:ident => $name:literal, $target:ident;)*) => {
        /// One kind of audited change (stored as `action`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $($(#[$doc])* $variant),*
        }

        impl AuditAction {
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant),*];

            /// The stored name, `<target>.<what happened>`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $name),*
                }
            }

            /// What the event's `target_id` names.
            pub fn target(self) -> AuditTarget {
                match self {
                    $(AuditAction::$variant => AuditTarget::$target),*
                }
            }
        }
    };
}

audit_actions! {
    UserCreated => "user.created", User;
    /// A profile change (native or SCIM); one that flips `active` is still a
    /// (de)activation downstream.
    UserUpdated => "user.updated", User;
    UserDeactivated => "user.deactivated", User;
    UserReactivated => "user.reactivated", User;
    UserDeleted => "user.deleted", User;
    UserUpgraded => "user.upgraded", User;
    UserDowngraded => "user.downgraded", User;
    UserContactAssigned => "user.contact_assigned", User;
    UserLicenseChanged => "user.license_changed", User;
    UserAccountMoved => "user.account_moved", User;
    UserLoginAs => "user.login_as", User;
    UserLoginAsUsed => "user.login_as_used", User;
    UserLoginAsRevoked => "user.login_as_revoked", LoginSession;
    SiteCreated => "site.created", Site;
    SiteSelfRegistrationSet => "site.self_registration_set", Site;
    /// The target is the user that joined the site.
    SiteMemberAdded => "site.member_added", User;
    SiteMemberRemoved => "site.member_removed", User;
    GroupCreated => "group.created", Group;
    GroupUpdated => "group.updated", Group;
    GroupDeleted => "group.deleted", Group;
    AccountCreated => "account.created", Account;
    ContactCreated => "contact.created", Contact;
    /// A SCIM write brought the contact's names, email or phone in step with its user.
    ContactSynced => "contact.synced", Contact;
    TokenCreated => "token.created", Token;
    TokenRevoked => "token.revoked", Token;
    TokenRotated => "token.rotated", Token;
    LicenseCapacitySet => "license.capacity_set", License;
    ConsoleSignedIn => "console.signed_in", ConsoleSession;
    ConsoleSignedOut => "console.signed_out", ConsoleSession;
    WebhookCreated => "webhook.created", Webhook;
    WebhookDeleted => "webhook.deleted", Webhook;
    WebhookPaused => "webhook.paused", Webhook;
    WebhookResumed => "webhook.resumed", Webhook;
    WebhookDeliveryRetried => "webhook.delivery_retried", Webhook;
    WebhookDeadLettersRetried => "webhook.dead_letters_retried", Webhook;
    WebhookTestSent => "webhook.test_sent", Webhook;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_distinct_and_start_with_their_targets_family() {
        let mut names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditAction::ALL.len(), "two actions share a name");
        for a in AuditAction::ALL {
            let (family, what) = a.as_str().split_once('.').unwrap();
            assert!(!what.is_empty() && what.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{a:?}");
            // Site memberships are about users, login-as revocations about sessions.
            let expected = match a.target() {
                AuditTarget::LoginSession => "user",
                AuditTarget::ConsoleSession => "console",
                AuditTarget::User if family == "site" => "site",
                t => t.as_str(),
            };
            assert_eq!(family, expected, "{a:?}");
        }
    }
}
