-- +goose Up
-- The admin center lists a product's holders and filters users by usage
-- location a page at a time, on tenants of a million users: the holders of
-- a product in user order (with the order of their seats, which a seat
-- reduction reads to find the last ones), and the users of a country in id
-- order (the list reads a sparse filter through its index and sorts the
-- few matches).
CREATE INDEX license_states_product ON license_states (product_id, user_id, seq) WHERE state = 'Active';
CREATE INDEX users_tenant_location ON users (tenant_id, usage_location, id);

-- +goose Down
DROP INDEX users_tenant_location;
DROP INDEX license_states_product;
