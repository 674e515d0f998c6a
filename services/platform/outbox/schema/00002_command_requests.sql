-- +goose Up
-- Requests already carried out (services/platform/requests): a state-changing
-- command sent with a request id (or Idempotency-Key) is remembered here,
-- with what it asked for, so a retry answers the first result instead of a
-- conflict, and the same id reused for something else is refused.
CREATE TABLE command_requests (
    subject     text        NOT NULL,
    request_id  text        NOT NULL,
    operation   text        NOT NULL,
    record_id   text        NOT NULL,
    fingerprint text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject, request_id)
);
CREATE INDEX command_requests_created ON command_requests (created_at);

-- +goose Down
DROP TABLE command_requests;
