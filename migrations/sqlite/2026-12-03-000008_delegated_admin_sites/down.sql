ALTER TABLE tokens DROP COLUMN site_ids;
