-- The operator's view in the console.
-- Provisioning activity per hour, source and kind (changes, policy rejections, requests,
-- errors): each gateway counts in memory and adds its counts here every few seconds.
CREATE TABLE activity_hourly (
    hour    TIMESTAMP NOT NULL,
    source  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (hour, source, kind)
);
-- The last errors each token's callers were told (the IdP page), newest kept.
CREATE TABLE token_errors (
    id         TEXT PRIMARY KEY NOT NULL,
    token_id   TEXT NOT NULL,
    at         TIMESTAMP NOT NULL,
    status     INTEGER NOT NULL,
    method     TEXT NOT NULL,
    path       TEXT NOT NULL,
    scim_type  TEXT,
    detail     TEXT NOT NULL
);
CREATE INDEX token_errors_token_idx ON token_errors(token_id, at);
ALTER TABLE tokens ADD COLUMN last_used_at TIMESTAMP;
-- Webhooks: a paused subscription keeps its queue; every attempt is kept with its answer.
ALTER TABLE webhook_subscriptions ADD COLUMN paused_at TIMESTAMP;
CREATE TABLE webhook_attempts (
    id           TEXT PRIMARY KEY NOT NULL,
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt      BIGINT NOT NULL,
    at           TIMESTAMP NOT NULL,
    status_code  BIGINT,
    error        TEXT
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts(delivery_id, id);
CREATE INDEX webhook_deliveries_status_idx ON webhook_deliveries(subscription_id, status, id);
-- A subscription's health reads only what it counts: failing deliveries, recent deliveries.
CREATE INDEX webhook_deliveries_failing_idx ON webhook_deliveries(subscription_id, id)
    WHERE status = 'pending' AND last_error IS NOT NULL;
CREATE INDEX webhook_deliveries_delivered_at_idx ON webhook_deliveries(subscription_id, delivered_at)
    WHERE status = 'delivered';
-- The contact picker reads an account's contacts in id order.
CREATE INDEX contacts_account_id_id_idx ON contacts(account_id, id);
-- Finding people: prefixes of first and last name, folded (filled by the gateway at start).
ALTER TABLE users ADD COLUMN first_name_folded TEXT;
ALTER TABLE users ADD COLUMN last_name_folded TEXT;
CREATE INDEX users_first_name_folded_idx ON users(first_name_folded);
-- The rows the start-up backfill still has to fold (empty once it is done: later starts
-- visit nothing).
CREATE INDEX users_unfolded_names_idx ON users(id) WHERE first_name_folded IS NULL OR last_name_folded IS NULL;
-- Also the console's sort by name (last, first, id): '' for a missing name, never NULL.
CREATE INDEX users_last_name_folded_idx ON users(last_name_folded, first_name_folded, id);
CREATE INDEX users_created_at_idx ON users(created_at, id);
-- The overview's composition counts walk only the rows they count.
CREATE INDEX users_contactless_idx ON users(id) WHERE contact_id IS NULL;
CREATE INDEX users_inactive_idx ON users(id) WHERE active = 0;
-- The audit log by actor, and by time (ids are time-ordered UUIDv7, so id order is time order).
CREATE INDEX audit_events_actor_idx ON audit_events(actor, id);
