-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- A product: the indexed columns filters, search and stock need, plus the
-- whole product document (protojson, output-only fields stripped) in doc.
CREATE TABLE products (
    product_id   text PRIMARY KEY,
    shop_id      text        NOT NULL,
    category     smallint    NOT NULL CHECK (category BETWEEN 1 AND 8),
    brand        text        NOT NULL,
    name         text        NOT NULL,
    price_fen    bigint      NOT NULL CHECK (price_fen > 0),
    cod_eligible boolean     NOT NULL DEFAULT false,
    published    boolean     NOT NULL DEFAULT false,
    archived     boolean     NOT NULL DEFAULT false,
    archived_at  timestamptz,
    sales_count  bigint      NOT NULL DEFAULT 0 CHECK (sales_count >= 0),
    rating       double precision NOT NULL DEFAULT 0,
    -- name, brand, model, specs, material, keywords: what text search matches
    search_text  text        NOT NULL,
    doc          jsonb       NOT NULL,
    request_id   text,
    version      bigint      NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    UNIQUE (shop_id, request_id)
);
CREATE INDEX products_search_trgm ON products USING gin (search_text gin_trgm_ops);
CREATE INDEX products_shop_category_price ON products (shop_id, category, price_fen, product_id);
CREATE INDEX products_shop_sales ON products (shop_id, sales_count DESC, product_id);

-- Stock per product (sku_id '') or per SKU. available = can be sold now;
-- reserved = held by orders not yet committed.
CREATE TABLE stock (
    product_id text    NOT NULL REFERENCES products (product_id) ON DELETE CASCADE,
    sku_id     text    NOT NULL DEFAULT '',
    available  bigint  NOT NULL CHECK (available >= 0),
    reserved   bigint  NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    PRIMARY KEY (product_id, sku_id)
);

-- One row per order line ever reserved: the idempotency record of
-- reserve / release / commit.
CREATE TABLE stock_reservations (
    order_id   text        NOT NULL,
    line_id    text        NOT NULL,
    product_id text        NOT NULL,
    sku_id     text        NOT NULL DEFAULT '',
    quantity   integer     NOT NULL CHECK (quantity > 0),
    state      text        NOT NULL CHECK (state IN ('RESERVED', 'RELEASED', 'COMMITTED')),
    reason     text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (order_id, line_id)
);

-- Manual stock changes (restock, return, stocktake, damage), idempotent on request_id.
CREATE TABLE stock_adjustments (
    request_id text PRIMARY KEY,
    product_id text        NOT NULL,
    sku_id     text        NOT NULL DEFAULT '',
    delta      bigint      NOT NULL CHECK (delta <> 0),
    reason     smallint    NOT NULL,
    note       text        NOT NULL DEFAULT '',
    actor      text        NOT NULL,
    created_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE stock_adjustments;
DROP TABLE stock_reservations;
DROP TABLE stock;
DROP TABLE products;
