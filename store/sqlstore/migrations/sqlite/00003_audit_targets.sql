-- +goose Up
-- Bulk audit events: one audit_events row (target_kind 'Users') stands for
-- the same change to many users, one audit_targets row each; the audit log
-- lists each user's change as its own event.
CREATE TABLE audit_targets (
    event_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    PRIMARY KEY (event_id, user_id)
) WITHOUT ROWID;
CREATE INDEX audit_targets_user ON audit_targets (user_id);

-- +goose Down
DROP TABLE audit_targets;
