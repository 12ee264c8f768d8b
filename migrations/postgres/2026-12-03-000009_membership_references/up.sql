-- A membership names its member by id and type; these generated columns make the
-- database hold the reference: a membership cannot outlive its member, even when a
-- group write that adds the member and the member's delete commit concurrently (the
-- foreign key check takes a key-share lock on the member's row; the delete cascades).
DELETE FROM group_members m
 WHERE m.member_type = 'User' AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = m.member_id);
DELETE FROM group_members m
 WHERE m.member_type = 'Group' AND NOT EXISTS (SELECT 1 FROM groups g WHERE g.id = m.member_id);
ALTER TABLE group_members
    ADD COLUMN member_user TEXT
        GENERATED ALWAYS AS (CASE WHEN member_type = 'User' THEN member_id END) STORED
        REFERENCES users(id) ON DELETE CASCADE,
    ADD COLUMN member_group TEXT
        GENERATED ALWAYS AS (CASE WHEN member_type = 'Group' THEN member_id END) STORED
        REFERENCES groups(id) ON DELETE CASCADE;
CREATE INDEX group_members_member_user_idx ON group_members(member_user) WHERE member_user IS NOT NULL;
CREATE INDEX group_members_member_group_idx ON group_members(member_group) WHERE member_group IS NOT NULL;
