-- +goose Up
-- Issue 18 (cost growth): list pages read in an index's order and stop
-- after their rows, however many rows the shop has (the store's plan test
-- TestListQueriesUseIndexes EXPLAINs every list query on a filled shop).

-- The agents' queue is the OPEN exceptions, oldest first: ordered by
-- raised_at alone, a page would read past every resolved one before them.
CREATE INDEX order_exceptions_status_queue ON order_exceptions (shop_id, status, raised_at, exception_id);
-- The exceptions of one order (and the foreign key's lookups).
CREATE INDEX order_exceptions_order ON order_exceptions (order_id, raised_at, exception_id);
-- Orders with an open exception are few among a shop's orders: listed
-- (has_open_exception, exception_kind) from their own index, newest first.
CREATE INDEX orders_shop_open_exceptions ON orders (shop_id, placed_at DESC, order_id DESC)
    WHERE cardinality(open_exception_kinds) > 0;

-- +goose Down
DROP INDEX orders_shop_open_exceptions;
DROP INDEX order_exceptions_order;
DROP INDEX order_exceptions_status_queue;
