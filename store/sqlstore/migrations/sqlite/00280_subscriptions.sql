-- +goose Up
-- Graph change notification subscriptions (POST /v1.0/subscriptions) and
-- where each stands in the tenant's change feed (directory_changes, the
-- feed behind delta queries): the events of a subscription are the feed
-- rows it has not delivered yet, so they are written in the transaction of
-- the change that causes them, by the change feed itself.
--   feed_from, feed_to: the feed window [from, to) of the current round;
--   feed_after: the cursor of the last delivered row in it ('' none);
--   lease_owner, lease_until: the dispatcher process delivering it (ms);
--   next_attempt: when to try again after a failed delivery (ms);
--   failures: failed deliveries in a row; last_error: the last one's reason.
CREATE TABLE subscriptions (
    id                  INTEGER PRIMARY KEY,
    guid                TEXT NOT NULL UNIQUE,
    tenant_id           INTEGER NOT NULL,
    resource            TEXT NOT NULL,
    change_type         TEXT NOT NULL,
    notification_url    TEXT NOT NULL,
    lifecycle_url       TEXT NOT NULL DEFAULT '',
    client_state        TEXT NOT NULL DEFAULT '',
    tls_version         TEXT NOT NULL DEFAULT 'v1_2',
    application_id      TEXT NOT NULL DEFAULT '',
    creator_id          TEXT NOT NULL DEFAULT '',
    expiration          INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    feed_from           INTEGER NOT NULL,
    feed_to             INTEGER NOT NULL,
    feed_after          TEXT NOT NULL DEFAULT '',
    lease_owner         TEXT NOT NULL DEFAULT '',
    lease_until         INTEGER NOT NULL DEFAULT 0,
    next_attempt        INTEGER NOT NULL DEFAULT 0,
    failures            INTEGER NOT NULL DEFAULT 0,
    last_error          TEXT NOT NULL DEFAULT '',
    delivered           INTEGER NOT NULL DEFAULT 0,
    reauth_sent         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX subscriptions_tenant ON subscriptions (tenant_id, id);
CREATE INDEX subscriptions_due ON subscriptions (next_attempt);

-- +goose Down
DROP TABLE subscriptions;
