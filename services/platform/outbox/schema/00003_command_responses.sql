-- +goose Up
-- A state-changing command's first answer (services/platform/requests): a
-- retry with the same request id is answered with it, byte for byte.
ALTER TABLE command_requests ADD COLUMN response bytea;

-- +goose Down
ALTER TABLE command_requests DROP COLUMN response;
