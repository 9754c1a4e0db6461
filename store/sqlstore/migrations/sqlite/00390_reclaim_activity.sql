-- +goose Up
-- No-activity reclamation: a rule's kind, period and exempt groups, the
-- "keep" answers, the users' last sign-in as provisioned
-- (signInActivity.lastSignInDateTime), the imported activity reports and
-- what each run reclaimed and saved.
ALTER TABLE reclaim_rules ADD COLUMN kind TEXT NOT NULL DEFAULT 'disabled';
ALTER TABLE reclaim_rules ADD COLUMN inactive_for BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reclaim_rules ADD COLUMN exempt_groups TEXT NOT NULL DEFAULT '';
CREATE TABLE reclaim_keeps (
    rule_id   BIGINT NOT NULL,
    user_id   BIGINT NOT NULL,
    tenant_id BIGINT NOT NULL,
    kept_at   BIGINT NOT NULL,
    PRIMARY KEY (rule_id, user_id)
);
ALTER TABLE users ADD COLUMN last_sign_in BIGINT NOT NULL DEFAULT 0;
CREATE TABLE activity_reports (
    user_id       BIGINT NOT NULL,
    product_id    BIGINT NOT NULL,
    tenant_id     BIGINT NOT NULL,
    last_activity BIGINT NOT NULL,
    PRIMARY KEY (user_id, product_id)
);
ALTER TABLE reclaim_runs ADD COLUMN saved BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reclaim_runs ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE reclaim_runs ADD COLUMN reclaimed_users TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE reclaim_runs DROP COLUMN reclaimed_users;
ALTER TABLE reclaim_runs DROP COLUMN currency;
ALTER TABLE reclaim_runs DROP COLUMN saved;
DROP TABLE activity_reports;
ALTER TABLE users DROP COLUMN last_sign_in;
DROP TABLE reclaim_keeps;
ALTER TABLE reclaim_rules DROP COLUMN exempt_groups;
ALTER TABLE reclaim_rules DROP COLUMN inactive_for;
ALTER TABLE reclaim_rules DROP COLUMN kind;
