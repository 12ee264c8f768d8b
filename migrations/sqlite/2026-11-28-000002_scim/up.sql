-- SCIM 2.0: the attributes the directory does not model, multi-valued emails (indexed for
-- `emails.value eq` filters), case-folded displayName, password hashes, and groups.

-- The SCIM attributes of a user beyond the modelled columns, as a JSON object, stored and
-- returned as sent (RFC 7643 §4.1): nickName, title, addresses, phoneNumbers, roles, the
-- enterprise extension …
ALTER TABLE users ADD COLUMN scim_attributes TEXT;
-- An Argon2id PHC string; the password itself is never stored nor returned.
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN display_name_folded TEXT;
CREATE INDEX users_display_name_folded_idx ON users(display_name_folded);
CREATE INDEX users_updated_at_idx ON users(updated_at);

CREATE TABLE user_emails (
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    value         TEXT NOT NULL,
    value_folded  TEXT NOT NULL,
    kind          TEXT,
    -- As sent: absent (NULL) and false are both "not primary" (RFC 7643 §2.4).
    is_primary    BOOLEAN,
    display       TEXT,
    PRIMARY KEY (user_id, position)
);
CREATE INDEX user_emails_value_folded_idx ON user_emails(value_folded);

CREATE TABLE groups (
    id                   TEXT PRIMARY KEY NOT NULL,
    display_name         TEXT NOT NULL,
    display_name_folded  TEXT NOT NULL,
    external_id          TEXT,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    version              BIGINT NOT NULL
);
CREATE INDEX groups_display_name_folded_idx ON groups(display_name_folded);
CREATE INDEX groups_external_id_idx ON groups(external_id);

-- A member is a user or a group (RFC 7643 §4.2), hence no foreign key on member_id:
-- deleting a user or a group deletes its memberships in the same transaction.
CREATE TABLE group_members (
    group_id     TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    member_id    TEXT NOT NULL,
    member_type  TEXT NOT NULL CHECK (member_type IN ('User', 'Group')),
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_member_id_idx ON group_members(member_id, group_id);
