-- The directory: accounts, contacts, users, license pools, sites, tokens, audit.
-- Ids are UUIDv7 text (time-ordered: keyset pagination by id is creation order).
-- Timestamps are set from Rust (microsecond precision on both backends).

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE contacts (
    id          TEXT PRIMARY KEY NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    first_name  TEXT NOT NULL,
    last_name   TEXT NOT NULL,
    email       TEXT,
    phone       TEXT,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX contacts_account_id_idx ON contacts(account_id);

-- One row per license; `used` is the counter every grant and release moves inside the
-- transaction of the user write, so the CHECK is the last line of defence of invariant 8.
CREATE TABLE license_pools (
    license     TEXT PRIMARY KEY NOT NULL
                CHECK (license IN ('external_identity', 'customer_community',
                                   'customer_community_plus', 'partner_community')),
    capacity    BIGINT CHECK (capacity IS NULL OR capacity >= 0),
    used        BIGINT NOT NULL DEFAULT 0 CHECK (used >= 0),
    CONSTRAINT license_pools_used_within_capacity CHECK (capacity IS NULL OR used <= capacity)
);
INSERT INTO license_pools (license, capacity, used) VALUES
    ('external_identity', NULL, 0),
    ('customer_community', NULL, 0),
    ('customer_community_plus', NULL, 0),
    ('partner_community', NULL, 0);

CREATE TABLE users (
    id                TEXT PRIMARY KEY NOT NULL,
    user_name         TEXT NOT NULL,
    -- userName case-folded in Rust (SQLite's lower() folds ASCII only): invariant 9.
    user_name_folded  TEXT NOT NULL,
    external_id       TEXT,
    -- The primary email (SCIM users may have none); all emails are in user_emails.
    email             TEXT,
    first_name        TEXT,
    last_name         TEXT,
    display_name      TEXT,
    active            BOOLEAN NOT NULL,
    license           TEXT NOT NULL REFERENCES license_pools(license),
    contact_id        TEXT REFERENCES contacts(id),
    -- The contact's account, copied at link time (a contact never changes account).
    account_id        TEXT REFERENCES accounts(id),
    origin            TEXT NOT NULL CHECK (origin IN ('native', 'scim', 'self_registration')),
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    version           BIGINT NOT NULL,
    -- Invariant 1: a community license requires a contact.
    CONSTRAINT users_license_contact_check
        CHECK (license = 'external_identity' OR contact_id IS NOT NULL),
    CONSTRAINT users_account_contact_check
        CHECK ((contact_id IS NULL) = (account_id IS NULL))
);
CREATE UNIQUE INDEX users_user_name_folded_key ON users(user_name_folded);
-- A contact is linked to at most one user.
CREATE UNIQUE INDEX users_contact_id_key ON users(contact_id);
CREATE INDEX users_account_id_idx ON users(account_id, id);
CREATE INDEX users_license_idx ON users(license, id);
CREATE INDEX users_external_id_idx ON users(external_id);

CREATE TABLE sites (
    id                 TEXT PRIMARY KEY NOT NULL,
    name               TEXT NOT NULL,
    url_path_prefix    TEXT NOT NULL,
    self_registration  BOOLEAN NOT NULL,
    created_at         TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX sites_url_path_prefix_key ON sites(url_path_prefix);

CREATE TABLE site_members (
    site_id     TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (site_id, user_id)
);
CREATE INDEX site_members_user_id_idx ON site_members(user_id, site_id);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'delegated_admin', 'scim', 'registration')),
    -- SHA-256 of the 256-bit random secret; the secret itself is never stored.
    token_hash   TEXT NOT NULL,
    account_ids  TEXT NOT NULL,
    site_id      TEXT REFERENCES sites(id),
    created_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP
);
CREATE UNIQUE INDEX tokens_token_hash_key ON tokens(token_hash);

CREATE TABLE login_sessions (
    id           TEXT PRIMARY KEY NOT NULL,
    token_hash   TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    actor        TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX login_sessions_token_hash_key ON login_sessions(token_hash);

CREATE TABLE audit_events (
    id           TEXT PRIMARY KEY NOT NULL,
    at           TIMESTAMP NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    target_type  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    details      TEXT NOT NULL
);
CREATE INDEX audit_events_target_idx ON audit_events(target_id, id);
CREATE INDEX audit_events_action_idx ON audit_events(action, id);
