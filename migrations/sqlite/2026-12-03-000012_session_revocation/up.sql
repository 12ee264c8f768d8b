-- Login-as sessions can be revoked (by hand, or with the token that started them).
ALTER TABLE login_sessions ADD COLUMN revoked_at TIMESTAMP;
-- A console session opened with the bootstrap secret names which secret (a digest that
-- reveals nothing of it): a restart with another secret ends it.
ALTER TABLE console_sessions ADD COLUMN bootstrap_generation TEXT;
CREATE INDEX login_sessions_actor_idx ON login_sessions(actor);
CREATE INDEX login_sessions_user_id_idx ON login_sessions(user_id);
