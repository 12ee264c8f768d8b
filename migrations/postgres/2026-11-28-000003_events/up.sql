-- Downstream events: a transactional outbox, webhook subscriptions and their deliveries.
-- Every directory change writes its event (and one delivery per matching subscription) in
-- the transaction of the change, so no change is visible without its event, and no event
-- exists without its change. Timestamps are set from Rust.

-- One CloudEvent per change. `body` is the event as sent, rendered once, so that every
-- attempt and every subscription gets the same bytes. `subject_seq` numbers the events of
-- one subject (user or group id) 1, 2, 3…: the order deliveries of that subject keep.
CREATE TABLE outbox_events (
    id           TEXT PRIMARY KEY NOT NULL,
    event_type   TEXT NOT NULL,
    subject      TEXT NOT NULL,
    subject_seq  BIGINT NOT NULL,
    occurred_at  TIMESTAMP NOT NULL,
    body         TEXT NOT NULL,
    CONSTRAINT outbox_events_subject_seq_key UNIQUE (subject, subject_seq)
);

-- `secret` signs deliveries, so it is kept as given (the gateway must be able to use it);
-- the API shows it once, at creation. A deleted subscription keeps its row (deliveries
-- refer to it) with the secret wiped and `deleted_at` set.
CREATE TABLE webhook_subscriptions (
    id          TEXT PRIMARY KEY NOT NULL,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    deleted_at  TIMESTAMP
);

-- One event on its way to one subscription. A dispatcher claims a due pending delivery by
-- setting `lease_until` (and `lease_owner`, the claim's id): an instance that dies
-- mid-delivery loses its claim when the lease runs out.
CREATE TABLE webhook_deliveries (
    id                TEXT PRIMARY KEY NOT NULL,
    subscription_id   TEXT NOT NULL REFERENCES webhook_subscriptions(id),
    event_id          TEXT NOT NULL REFERENCES outbox_events(id),
    event_type        TEXT NOT NULL,
    subject           TEXT NOT NULL,
    subject_seq       BIGINT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts          BIGINT NOT NULL DEFAULT 0,
    next_attempt_at   TIMESTAMP NOT NULL,
    lease_until       TIMESTAMP,
    lease_owner       TEXT,
    last_error        TEXT,
    last_status_code  BIGINT,
    created_at        TIMESTAMP NOT NULL,
    delivered_at      TIMESTAMP,
    CONSTRAINT webhook_deliveries_subscription_event_key UNIQUE (subscription_id, event_id)
);
-- The dispatcher's scan: due pending deliveries (delivered ones leave the index).
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
-- Per-subject order: is an older delivery of this subject to this subscription pending?
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries(subscription_id, subject, subject_seq)
    WHERE status = 'pending';
-- `GET /webhooks/{id}/deliveries`, newest first.
CREATE INDEX webhook_deliveries_listing_idx ON webhook_deliveries(subscription_id, id);
-- Dead letters, counted for the queue's health.
CREATE INDEX webhook_deliveries_dead_idx ON webhook_deliveries(subscription_id) WHERE status = 'dead';
