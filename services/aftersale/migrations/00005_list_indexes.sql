-- +goose Up
-- Issue 18 (cost growth): a page of cases is read in the order of an index
-- and stops after its rows, however many cases the shop has. The list's
-- order is COALESCE(deadline, 'infinity'), case_id (deadline soonest
-- first, none last: store.byDeadline), so the next page's cursor is one
-- row comparison the index scan starts at; the old indexes ordered by
-- deadline NULLS LAST, where the cursor needed an OR no index could start
-- at (every page read all the rows before it). The store's plan test
-- (TestListQueriesUseIndexes) fails when the expressions drift.
DROP INDEX cases_shop_deadline;
DROP INDEX cases_buyer_deadline;
DROP INDEX cases_order;
CREATE INDEX cases_shop_due ON cases (shop_id, (COALESCE(deadline, 'infinity'::timestamptz)), case_id);
CREATE INDEX cases_buyer_due ON cases (buyer_id, (COALESCE(deadline, 'infinity'::timestamptz)), case_id);
CREATE INDEX cases_order_due ON cases (order_id, (COALESCE(deadline, 'infinity'::timestamptz)), case_id);
-- The clock runner's sweep for cases whose runner never started
-- (Store.Unstarted): few, found without reading every case.
CREATE INDEX cases_unstarted ON cases (created_at, case_id) WHERE NOT clocks_started;

-- +goose Down
DROP INDEX cases_unstarted;
DROP INDEX cases_order_due;
DROP INDEX cases_buyer_due;
DROP INDEX cases_shop_due;
CREATE INDEX cases_order ON cases (order_id);
CREATE INDEX cases_buyer_deadline ON cases (buyer_id, deadline ASC NULLS LAST, case_id);
CREATE INDEX cases_shop_deadline ON cases (shop_id, deadline ASC NULLS LAST, case_id);
