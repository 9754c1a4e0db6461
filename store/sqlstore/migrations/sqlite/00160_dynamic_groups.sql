-- +goose Up
-- A dynamic membership group's rule (Entra's syntax) and its processing
-- state: rule_state is '' for an assigned group, 'On' or 'Paused' for a
-- dynamic one (groupTypes ["DynamicMembership"]).
ALTER TABLE dir_groups ADD COLUMN membership_rule TEXT NOT NULL DEFAULT '';
ALTER TABLE dir_groups ADD COLUMN rule_state TEXT NOT NULL DEFAULT '';
CREATE INDEX dir_groups_rules ON dir_groups (tenant_id, rule_state);

-- +goose Down
DROP INDEX dir_groups_rules;
ALTER TABLE dir_groups DROP COLUMN rule_state;
ALTER TABLE dir_groups DROP COLUMN membership_rule;
