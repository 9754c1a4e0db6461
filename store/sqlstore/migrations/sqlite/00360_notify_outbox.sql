-- +goose Up
-- Durable outbox of notifications that are not CloudEvents: alert e-mails
-- and alert webhooks (a plain JSON POST to the rule's webhookUrl), and
-- reclamation notices by e-mail. Written in the transaction that causes
-- them; the sender claims due rows with a lease. channel: 0 e-mail, 1
-- webhook; target: the addresses (comma-separated) or the URL; kind and
-- payload (JSON) say what to render. state: 0 pending, 1 sent, 2 gave up.
CREATE TABLE notify_outbox (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL,
    channel      INTEGER NOT NULL,
    target       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    state        INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    lease_owner  TEXT NOT NULL DEFAULT '',
    lease_until  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notify_outbox_due ON notify_outbox (state, next_attempt);

-- +goose Down
DROP TABLE notify_outbox;
