-- Sorting and range filters compare by code point on both backends (RFC 7644 §3.4.2.3 as
-- docs/architecture.md states it): SQLite's BINARY collation does, PostgreSQL's database
-- collation (e.g. en_US.UTF-8) need not. The columns that lists sort or range-compare on
-- take the "C" collation, so their indexes serve ORDER BY in that order. (Ids are UUIDs:
-- every collation orders them alike.)
ALTER TABLE users ALTER COLUMN user_name_folded TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN display_name_folded TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN external_id TYPE TEXT COLLATE "C";
ALTER TABLE groups ALTER COLUMN display_name_folded TYPE TEXT COLLATE "C";
ALTER TABLE groups ALTER COLUMN external_id TYPE TEXT COLLATE "C";
ALTER TABLE user_emails ALTER COLUMN value_folded TYPE TEXT COLLATE "C";
