-- Back to the database's default collation.
ALTER TABLE users
    ALTER COLUMN user_name_folded TYPE TEXT COLLATE "default",
    ALTER COLUMN display_name_folded TYPE TEXT COLLATE "default",
    ALTER COLUMN external_id TYPE TEXT COLLATE "default";
ALTER TABLE groups
    ALTER COLUMN display_name_folded TYPE TEXT COLLATE "default",
    ALTER COLUMN external_id TYPE TEXT COLLATE "default";
ALTER TABLE user_emails ALTER COLUMN value_folded TYPE TEXT COLLATE "default";
