-- +goose Up
CREATE TABLE promotions (
    promotion_id text PRIMARY KEY,
    shop_id      text        NOT NULL,
    kind         smallint    NOT NULL,
    enabled      boolean     NOT NULL,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz,
    doc          jsonb       NOT NULL,
    request_id   text,
    version      bigint      NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    UNIQUE (shop_id, request_id),
    CHECK (ends_at IS NULL OR ends_at > starts_at)
);
CREATE INDEX promotions_shop_window ON promotions (shop_id, starts_at, promotion_id);

-- +goose Down
DROP TABLE promotions;
