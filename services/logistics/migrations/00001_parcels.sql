-- +goose Up
-- One row per parcel, known by its carrier code and tracking number: the
-- columns lists and look-ups need, plus the aggregate (the contract's Parcel
-- with its pinned terms) as jsonb.
CREATE TABLE parcels (
    parcel_id       text PRIMARY KEY,
    carrier         text        NOT NULL,
    tracking_number text        NOT NULL,
    kind            smallint    NOT NULL DEFAULT 0,
    shop_id         text        NOT NULL DEFAULT '',
    buyer_id        text        NOT NULL DEFAULT '',
    order_id        text        NOT NULL DEFAULT '',
    case_id         text        NOT NULL DEFAULT '',
    state           smallint    NOT NULL DEFAULT 0,
    problem         smallint    NOT NULL DEFAULT 0,
    stalled_at      timestamptz,
    -- last runner command applied (a retried Apply activity answers without applying again)
    last_op         text        NOT NULL DEFAULT '',
    clocks_started  boolean     NOT NULL DEFAULT false,
    version         bigint      NOT NULL CHECK (version >= 0),
    doc             jsonb       NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (carrier, tracking_number)
);
CREATE INDEX parcels_order ON parcels (order_id, created_at) WHERE order_id <> '';
CREATE INDEX parcels_case ON parcels (case_id, created_at) WHERE case_id <> '';
CREATE INDEX parcels_unstarted ON parcels (created_at) WHERE NOT clocks_started;

-- +goose Down
DROP TABLE parcels;
