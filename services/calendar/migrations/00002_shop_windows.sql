-- +goose Up
-- Issue 18 (cost growth): a shop's list of windows (its own and the
-- platform-wide ones, shop_id '') merges two scans of this index in order
-- (store.List), so a page stops after its rows however many windows other
-- shops declared. The store's plan test (TestListQueriesUseIndexes)
-- EXPLAINs it on a filled table.
CREATE INDEX freeze_windows_shop_from ON freeze_windows (shop_id, from_at DESC, freeze_window_id DESC);

-- +goose Down
DROP INDEX freeze_windows_shop_from;
