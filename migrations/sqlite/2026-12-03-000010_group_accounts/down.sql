DROP INDEX groups_account_id_idx; ALTER TABLE groups DROP COLUMN account_id;
