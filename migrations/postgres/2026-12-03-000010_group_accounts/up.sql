-- The account a group belongs to: set when a confined SCIM token creates it, so that
-- confined tokens see only their accounts' groups. NULL: a group of the whole directory
-- (made by an unconfined token), seen only by unconfined tokens.
ALTER TABLE groups ADD COLUMN account_id TEXT REFERENCES accounts(id);
CREATE INDEX groups_account_id_idx ON groups(account_id) WHERE account_id IS NOT NULL;
