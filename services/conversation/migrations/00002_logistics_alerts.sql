-- +goose Up
-- A buyer's parcel with a logistics problem (parcel.problem events from the
-- logistics service), until it is delivered: a chat the buyer opens about
-- it is a LOGISTICS_EXCEPTION topic, served first.
CREATE TABLE logistics_alerts (
    parcel_id       text PRIMARY KEY,
    shop_id         text        NOT NULL,
    buyer_id        text        NOT NULL,
    order_id        text        NOT NULL,
    tracking_number text        NOT NULL,
    detail          text        NOT NULL,
    since           timestamptz NOT NULL,
    cleared_at      timestamptz
);
CREATE INDEX logistics_alerts_open ON logistics_alerts (shop_id, buyer_id) WHERE cleared_at IS NULL;

-- +goose Down
DROP TABLE logistics_alerts;
