ALTER TABLE group_members DROP COLUMN member_user, DROP COLUMN member_group;
