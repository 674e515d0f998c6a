-- +goose Up
-- The order's clocks run in the shared clock runner (workflows/lifecycle).
-- terms: the durations the order pinned when placed (domain.Terms); rows
-- stored before this column have none and get the current policy's terms
-- when loaded. last_op: the last clock-runner operation applied (a retried
-- Apply answers without applying again). Orders still running under the
-- retired order.lifecycle workflow get a clock runner from the sweeper
-- (workflow_started is reused as "the clock runner was started").
ALTER TABLE orders
    ADD COLUMN terms jsonb,
    ADD COLUMN last_op text NOT NULL DEFAULT '';
UPDATE orders SET workflow_started = false
    WHERE state NOT IN ('ORDER_STATE_COMPLETED', 'ORDER_STATE_CLOSED');

-- +goose Down
ALTER TABLE orders
    DROP COLUMN terms,
    DROP COLUMN last_op;
