-- Setup console sign-ins (issue 6). The cookie holds a 256-bit random secret; only its
-- SHA-256 is stored, like the tokens table. A session acts as the token that signed in
-- (NULL: the bootstrap secret), so revoking that token ends its console sessions.
CREATE TABLE console_sessions (
    id            TEXT PRIMARY KEY NOT NULL,
    session_hash  TEXT NOT NULL,
    token_id      TEXT REFERENCES tokens(id) ON DELETE CASCADE,
    -- The synchronizer token that every console form must carry (CSRF).
    csrf_token    TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX console_sessions_session_hash_key ON console_sessions(session_hash);
CREATE INDEX console_sessions_expires_at_idx ON console_sessions(expires_at);
