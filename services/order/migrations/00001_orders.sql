-- +goose Up
-- One row per order: the columns that filters, idempotency and the risk
-- rules need, plus the whole contract document (protojson, proto names).
CREATE TABLE orders (
    order_id            text PRIMARY KEY,
    shop_id             text        NOT NULL,
    buyer_id            text        NOT NULL,
    kind                text        NOT NULL,
    state               text        NOT NULL,
    flag                text        NOT NULL DEFAULT '',
    placed_at           timestamptz NOT NULL,
    -- CreateOrder idempotency: the request that created the order.
    request_id          text        NOT NULL,
    request_fingerprint text        NOT NULL,
    -- Duplicate and fake-order rules.
    basket_fingerprint  text        NOT NULL,
    contact_phone       text        NOT NULL,
    open_exception_kinds text[]     NOT NULL DEFAULT '{}',
    version             bigint      NOT NULL,
    updated_at          timestamptz NOT NULL,
    doc                 jsonb       NOT NULL
);
CREATE INDEX orders_shop_placed  ON orders (shop_id, placed_at DESC, order_id DESC);
CREATE INDEX orders_buyer_placed ON orders (buyer_id, placed_at DESC, order_id DESC);
CREATE INDEX orders_duplicates   ON orders (buyer_id, shop_id, basket_fingerprint, placed_at);
CREATE INDEX orders_phone        ON orders (shop_id, contact_phone, placed_at);

-- Exceptions of every order, for the agents' queue; written with the order
-- in the same transaction (the order document stays the source).
CREATE TABLE order_exceptions (
    exception_id text PRIMARY KEY,
    order_id     text        NOT NULL REFERENCES orders (order_id),
    shop_id      text        NOT NULL,
    kind         text        NOT NULL,
    status       text        NOT NULL,
    raised_at    timestamptz NOT NULL,
    doc          jsonb       NOT NULL
);
CREATE INDEX order_exceptions_queue ON order_exceptions (shop_id, raised_at, exception_id);

-- +goose Down
DROP TABLE order_exceptions;
DROP TABLE orders;
