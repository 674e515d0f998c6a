-- +goose Up
-- Issue 18 (cost growth): every listing of a shop's records is a keyset
-- page ordered by one float8 key plus the id (internal/store: sortKey,
-- faqListKey, quickReplyListKey); an index on exactly (shop_id, key, id)
-- lets Postgres read a page in order and stop after its rows, so a page
-- costs the same in a shop of 1k or 50k products. The keys must be written
-- here as in the store's SQL (the planner matches them by expression); the
-- store's plan test (TestListQueriesUseIndexes) fails when they drift.

-- products_shop_sales ordered by sales_count DESC, not by the listing's
-- key -sales_count::float8, so no listing could use its order.
DROP INDEX products_shop_sales;
CREATE INDEX products_shop_sales ON products (shop_id, (-sales_count::float8), product_id);
CREATE INDEX products_shop_price_asc ON products (shop_id, (price_fen::float8), product_id);
CREATE INDEX products_shop_price_desc ON products (shop_id, (-price_fen::float8), product_id);
CREATE INDEX products_shop_rating ON products (shop_id, (-rating), product_id);
CREATE INDEX products_shop_newest ON products (shop_id, (-(extract(epoch FROM created_at AT TIME ZONE 'UTC') * 1000000)::float8), product_id);

CREATE INDEX faqs_shop_list ON faqs (shop_id, (topic::float8 * 1e13 + floor(extract(epoch FROM created_at AT TIME ZONE 'UTC') * 1000)::float8), faq_id);
CREATE INDEX quick_replies_shop_list ON quick_replies (shop_id, (kind::float8 * 100000 + coalesce((doc->>'sort_order')::int, 0)::float8), quick_reply_id);

-- +goose Down
DROP INDEX quick_replies_shop_list;
DROP INDEX faqs_shop_list;
DROP INDEX products_shop_newest;
DROP INDEX products_shop_rating;
DROP INDEX products_shop_price_desc;
DROP INDEX products_shop_price_asc;
DROP INDEX products_shop_sales;
CREATE INDEX products_shop_sales ON products (shop_id, sales_count DESC, product_id);
