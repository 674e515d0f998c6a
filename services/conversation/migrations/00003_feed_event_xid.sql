-- +goose Up
-- The feed's order is (writing transaction's id, event id) instead of the
-- event id under a per-shop lock (see store.InsertEvent). Rows already
-- stored are committed: xid 0 puts them first, in event-id order, and the
-- constant default adds the column without rewriting the table; new rows
-- take their transaction's id.
ALTER TABLE feed_events ADD COLUMN xid xid8 NOT NULL DEFAULT '0';
ALTER TABLE feed_events ALTER COLUMN xid SET DEFAULT pg_current_xact_id();
CREATE INDEX feed_events_shop_order ON feed_events (shop_id, xid, event_id);
DROP INDEX feed_events_shop;

-- +goose Down
CREATE INDEX feed_events_shop ON feed_events (shop_id, event_id);
DROP INDEX feed_events_shop_order;
ALTER TABLE feed_events DROP COLUMN xid;
