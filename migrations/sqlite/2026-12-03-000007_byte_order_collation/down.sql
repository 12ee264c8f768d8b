-- PostgreSQL gives its sort columns the "C" collation here; SQLite's BINARY collation
-- already compares by code point. Kept so both backends share migration versions.
SELECT 1;
