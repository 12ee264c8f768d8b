-- SQLite only (directory_changes, a count of the changes a list page reads, kept by
-- triggers): on PostgreSQL several gateways write at once, and one counted row would make
-- every user write across them wait for the others. PostgreSQL pages walk their index.
SELECT 1;
