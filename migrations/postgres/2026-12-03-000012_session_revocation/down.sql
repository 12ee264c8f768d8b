DROP INDEX login_sessions_actor_idx;
DROP INDEX login_sessions_user_id_idx;
ALTER TABLE login_sessions DROP COLUMN revoked_at;
ALTER TABLE console_sessions DROP COLUMN bootstrap_generation;
