-- +goose Up
-- Whether the order's workflow was started. An order is stored before its
-- workflow starts; if that start fails and the client never retries, the
-- order would hold its reserved stock with no clock to close it. The
-- service sweeps orders whose workflow is not known to run and starts it.
ALTER TABLE orders ADD COLUMN workflow_started boolean NOT NULL DEFAULT true;
CREATE INDEX orders_without_workflow ON orders (placed_at) WHERE NOT workflow_started;

-- +goose Down
DROP INDEX orders_without_workflow;
ALTER TABLE orders DROP COLUMN workflow_started;
