-- +goose Up
-- Issue 18 (cost growth): list pages read in an index's order and stop
-- after their rows, however many complaints the shop has (the store's plan
-- test TestListQueriesUseIndexes EXPLAINs every list query on a filled
-- shop). The list's order is COALESCE(next_deadline, 'infinity'),
-- complaint_id, as in complaints_shop_deadline.

-- The complaints about one order: found without reading the shop's.
CREATE INDEX complaints_order ON complaints (order_id, (COALESCE(next_deadline, 'infinity'::timestamptz)), complaint_id);
-- The clock runner's sweep for complaints whose runner never started
-- (Store.Unstarted): few, found without reading every complaint.
CREATE INDEX complaints_unstarted ON complaints (created_at, complaint_id) WHERE NOT clocks_started;

-- +goose Down
DROP INDEX complaints_unstarted;
DROP INDEX complaints_order;
