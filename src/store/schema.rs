//! Table definitions shared by both backends: only the column types diesel's
//! MultiConnection supports (Text, BigInt, Bool, Timestamp). Maintained by hand.

diesel::table! {
    accounts (id) {
        id -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    contacts (id) {
        id -> Text,
        account_id -> Text,
        first_name -> Text,
        last_name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    license_pools (license) {
        license -> Text,
        capacity -> Nullable<BigInt>,
        used -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        user_name -> Text,
        user_name_folded -> Text,
        external_id -> Nullable<Text>,
        email -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        display_name -> Nullable<Text>,
        active -> Bool,
        license -> Text,
        contact_id -> Nullable<Text>,
        account_id -> Nullable<Text>,
        origin -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        scim_attributes -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        display_name_folded -> Nullable<Text>,
        first_name_folded -> Nullable<Text>,
        last_name_folded -> Nullable<Text>,
    }
}

diesel::table! {
    user_emails (user_id, position) {
        user_id -> Text,
        position -> Integer,
        value -> Text,
        value_folded -> Text,
        kind -> Nullable<Text>,
        is_primary -> Nullable<Bool>,
        display -> Nullable<Text>,
    }
}

diesel::table! {
    groups (id) {
        id -> Text,
        display_name -> Text,
        display_name_folded -> Text,
        external_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        account_id -> Nullable<Text>,
    }
}

diesel::table! {
    group_members (group_id, member_id) {
        group_id -> Text,
        member_id -> Text,
        member_type -> Text,
    }
}

diesel::table! {
    sites (id) {
        id -> Text,
        name -> Text,
        url_path_prefix -> Text,
        self_registration -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    site_members (site_id, user_id) {
        site_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tokens (id) {
        id -> Text,
        name -> Text,
        role -> Text,
        token_hash -> Text,
        account_ids -> Text,
        site_id -> Nullable<Text>,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        site_ids -> Text,
        requests_per_minute -> Nullable<Integer>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_sessions (id) {
        id -> Text,
        token_hash -> Text,
        user_id -> Text,
        actor -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        target_type -> Text,
        target_id -> Text,
        details -> Text,
    }
}

diesel::table! {
    outbox_events (id) {
        id -> Text,
        event_type -> Text,
        subject -> Text,
        subject_seq -> BigInt,
        occurred_at -> Timestamp,
        body -> Text,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> Text,
        url -> Text,
        events -> Text,
        secret -> Text,
        created_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
        paused_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        subscription_id -> Text,
        event_id -> Text,
        event_type -> Text,
        subject -> Text,
        subject_seq -> BigInt,
        status -> Text,
        attempts -> BigInt,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        last_error -> Nullable<Text>,
        last_status_code -> Nullable<BigInt>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    activity_hourly (hour, source, kind) {
        hour -> Timestamp,
        source -> Text,
        kind -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    token_errors (id) {
        id -> Text,
        token_id -> Text,
        at -> Timestamp,
        status -> Integer,
        method -> Text,
        path -> Text,
        scim_type -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Text,
        delivery_id -> Text,
        attempt -> BigInt,
        at -> Timestamp,
        status_code -> Nullable<BigInt>,
        error -> Nullable<Text>,
    }
}

diesel::joinable!(contacts -> accounts (account_id));
diesel::joinable!(site_members -> sites (site_id));
diesel::joinable!(site_members -> users (user_id));
diesel::joinable!(login_sessions -> users (user_id));
diesel::joinable!(user_emails -> users (user_id));
diesel::joinable!(group_members -> groups (group_id));
diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));
diesel::joinable!(webhook_deliveries -> outbox_events (event_id));

diesel::table! {
    /// SQLite only: the count of changes to what a user list reads (see `store::seeks`).
    directory_changes (id) {
        id -> BigInt,
        n -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    contacts,
    license_pools,
    users,
    sites,
    site_members,
    tokens,
    login_sessions,
    audit_events,
    user_emails,
    groups,
    group_members,
    outbox_events,
    webhook_subscriptions,
    webhook_deliveries,
    webhook_attempts,
    token_errors,
    activity_hourly,
);

/// The names of the unique constraints a write may hit, as `StoreError::Conflict` carries
/// them (PostgreSQL's index names; SQLite's messages are mapped to the same names).
pub mod constraints {
    pub const USER_NAME_UNIQUE: &str = "users_user_name_folded_key";
    pub const USER_CONTACT_UNIQUE: &str = "users_contact_id_key";
    pub const SITE_PREFIX_UNIQUE: &str = "sites_url_path_prefix_key";
}
