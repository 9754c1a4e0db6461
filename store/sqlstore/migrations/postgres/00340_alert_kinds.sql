-- +goose Up
-- Alert rules on license errors (per group too), waiting time, processing
-- lag and reclamation notices; a rule may wait for its condition to hold
-- for_ms before it fires (breached_since: when it began, 0: not breached).
ALTER TABLE alert_rules ADD COLUMN group_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE alert_rules ADD COLUMN for_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE alert_rules ADD COLUMN breached_since BIGINT NOT NULL DEFAULT 0;
CREATE INDEX license_states_errors ON license_states (product_id, source_id) WHERE state = 'Error';

-- +goose Down
DROP INDEX license_states_errors;
ALTER TABLE alert_rules DROP COLUMN breached_since;
ALTER TABLE alert_rules DROP COLUMN for_ms;
ALTER TABLE alert_rules DROP COLUMN group_id;
