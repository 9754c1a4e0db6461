-- +goose Up
-- A user's optional profile properties (mobilePhone, officeLocation, city,
-- businessPhones, otherMails, …) as one JSON object keyed by Graph property
-- name; their lengths are checked before they are stored (allot.UserLimits).
ALTER TABLE users ADD COLUMN profile TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE users DROP COLUMN profile;
