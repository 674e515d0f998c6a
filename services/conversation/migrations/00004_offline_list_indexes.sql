-- +goose Up
-- Issue 18 (cost growth): a page of offline messages (留言) is read in an
-- index's order and stops after its rows, however many the shop has. With
-- a status the queue index (shop_id, status, created_at, id) serves; these
-- serve the shop's list of every status and a buyer's own list (no index
-- had buyer_id: every buyer's list read the whole table), newest first
-- (UNANSWERED oldest first: the same index backwards). The store's plan
-- test (TestListQueriesUseIndexes) EXPLAINs them on filled tables.
CREATE INDEX offline_messages_shop_created ON offline_messages (shop_id, created_at DESC, offline_message_id DESC);
CREATE INDEX offline_messages_buyer_created ON offline_messages (buyer_id, created_at DESC, offline_message_id DESC);

-- +goose Down
DROP INDEX offline_messages_buyer_created;
DROP INDEX offline_messages_shop_created;
