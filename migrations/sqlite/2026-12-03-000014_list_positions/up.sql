-- A count of every change to what a user list reads (users, their emails, group
-- memberships), kept by triggers in the writing transaction itself. A list page read in
-- one snapshot with this count knows whether a position remembered at the same count is
-- still exact (src/store/seeks.rs): any writer, this gateway or another on the same file,
-- moves it. SQLite has one writer at a time, so the one row costs no concurrency.
CREATE TABLE directory_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT INTO directory_changes (id, n) VALUES (1, 0);

CREATE TRIGGER users_insert_counted AFTER INSERT ON users BEGIN
    UPDATE directory_changes SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER users_update_counted AFTER UPDATE ON users BEGIN
    UPDATE directory_changes SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER users_delete_counted AFTER DELETE ON users BEGIN
    UPDATE directory_changes SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER user_emails_insert_counted AFTER INSERT ON user_emails BEGIN
    UPDATE directory_changes SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER user_emails_update_counted AFTER UPDATE ON user_emails BEGIN
    UPDATE directory_changes SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER user_emails_delete_counted AFTER DELETE ON user_emails BEGIN
    UPDATE directory_changes SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER group_members_insert_counted AFTER INSERT ON group_members BEGIN
    UPDATE directory_changes SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER group_members_update_counted AFTER UPDATE ON group_members BEGIN
    UPDATE directory_changes SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER group_members_delete_counted AFTER DELETE ON group_members BEGIN
    UPDATE directory_changes SET n = n + 1 WHERE id = 1;
END;
