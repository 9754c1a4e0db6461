-- +goose Up
-- A local account's optional second factor (RFC 6238 TOTP): the base32
-- secret, whether enrolment was confirmed with a code (0/1), and the last
-- step whose code was accepted (a code is used once).
CREATE TABLE user_totp (
    user_id    INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL,
    secret     TEXT NOT NULL,
    confirmed  INTEGER NOT NULL DEFAULT 0,
    last_step  INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE user_totp;
