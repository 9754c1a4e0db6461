-- +goose Up
-- Limits that all replicas on one database share (limits.go).
-- rate_buckets: one token bucket per credential. tokens is what is left
-- after the last take at at_ms (Unix ms), refilled at rate tokens per ms up
-- to burst; granted is how many the last take got.
CREATE TABLE rate_buckets (
    key     TEXT PRIMARY KEY,
    tokens  DOUBLE PRECISION NOT NULL,
    at_ms   BIGINT NOT NULL,
    granted DOUBLE PRECISION NOT NULL,
    rate    DOUBLE PRECISION NOT NULL,
    burst   DOUBLE PRECISION NOT NULL
);
-- signin_failures: failed sign-ins of one account or one client address:
-- how many in a row (n), the last one (last_ms) and until when the key must
-- wait before it may try again (until_ms).
CREATE TABLE signin_failures (
    key      TEXT PRIMARY KEY,
    n        BIGINT NOT NULL,
    last_ms  BIGINT NOT NULL,
    until_ms BIGINT NOT NULL
);

-- +goose Down
DROP TABLE signin_failures;
DROP TABLE rate_buckets;
