ALTER TABLE tokens DROP COLUMN requests_per_minute;
