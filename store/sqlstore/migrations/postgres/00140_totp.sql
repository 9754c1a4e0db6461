-- +goose Up
-- A local account's optional second factor (RFC 6238 TOTP): the base32
-- secret, whether enrolment was confirmed with a code (0/1), and the last
-- step whose code was accepted (a code is used once).
CREATE TABLE user_totp (
    user_id    BIGINT PRIMARY KEY,
    tenant_id  BIGINT NOT NULL,
    secret     TEXT COLLATE "C" NOT NULL,
    confirmed  BIGINT NOT NULL DEFAULT 0,
    last_step  BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE user_totp;
