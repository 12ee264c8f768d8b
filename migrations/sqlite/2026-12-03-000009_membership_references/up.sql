-- PostgreSQL only: SQLite's one writer makes a group write and a member's delete run one
-- after the other, and the group write checks its members inside its transaction.
SELECT 1;
