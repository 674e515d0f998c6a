-- +goose Up
-- Events a service has consumed (services/platform/inbox): one row per
-- consumer and event id, written in the same transaction as the handler's
-- change, so a redelivered or re-published event changes nothing twice.
-- outcome: 'applied' (the handler's change committed with the row) or
-- 'rejected' (a poison event set aside: undecodable, a permanent error, or
-- the handler still failing after its last attempt; error says why).
CREATE TABLE inbox (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    event_type   text        NOT NULL,
    stream_seq   bigint      NOT NULL,
    outcome      text        NOT NULL CHECK (outcome IN ('applied', 'rejected')),
    error        text,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX inbox_processed ON inbox (processed_at);

-- +goose Down
DROP TABLE inbox;
