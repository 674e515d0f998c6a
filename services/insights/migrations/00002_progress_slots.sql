-- +goose Up
-- Events handled, counted in 64 slots (by a hash of the event id) instead
-- of one row: when many events share a transaction (the consumer takes 64,
-- an import 500), every update of one row added a version the next update
-- had to walk past, so a transaction's cost grew with the square of its
-- events. Progress is the sum of the slots.
CREATE TABLE progress_slots (
    slot           smallint PRIMARY KEY CHECK (slot >= 0 AND slot < 64),
    events_handled bigint      NOT NULL DEFAULT 0,
    last_event_at  timestamptz
);
INSERT INTO progress_slots (slot, events_handled, last_event_at)
    SELECT 0, events_handled, last_event_at FROM progress;
INSERT INTO progress_slots (slot) SELECT generate_series(1, 63);
DROP TABLE progress;

-- +goose Down
CREATE TABLE progress (
    id             boolean PRIMARY KEY DEFAULT true CHECK (id),
    events_handled bigint      NOT NULL DEFAULT 0,
    last_event_at  timestamptz
);
INSERT INTO progress (events_handled, last_event_at)
    SELECT coalesce(sum(events_handled), 0), max(last_event_at) FROM progress_slots;
DROP TABLE progress_slots;
