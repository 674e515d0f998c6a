-- +goose Up
-- Per-shop after-sale settings (售后设置), owned by this service: the
-- contract's AfterSaleSettings as a document (protojson: the default return
-- address), with the version behind its etag. A shop without a row has
-- empty settings at version 0 (a row at version 0 is a first save in progress).
CREATE TABLE shop_settings (
    shop_id     text PRIMARY KEY,
    version     bigint NOT NULL CHECK (version >= 0),
    doc         jsonb NOT NULL,
    updated_by  text NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE shop_settings;
