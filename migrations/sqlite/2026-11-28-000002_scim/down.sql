DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE user_emails;
DROP INDEX users_updated_at_idx;
DROP INDEX users_display_name_folded_idx;
ALTER TABLE users DROP COLUMN display_name_folded;
ALTER TABLE users DROP COLUMN password_hash;
ALTER TABLE users DROP COLUMN scim_attributes;
