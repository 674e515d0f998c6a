-- +goose Up
-- The platform's freeze windows that name an after-sale clock
-- (freeze_window.declared, consumed through the inbox; services/platform/
-- freeze): loaded with every case of their shop (or of every shop) so its
-- clocks run out later by their overlap with them. Never changed.
CREATE TABLE freeze_windows (
    freeze_window_id text PRIMARY KEY,
    shop_id          text        NOT NULL DEFAULT '',
    from_at          timestamptz NOT NULL,
    to_at            timestamptz NOT NULL,
    doc              jsonb       NOT NULL,
    stored_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX freeze_windows_shop ON freeze_windows (shop_id, to_at);

-- +goose Down
DROP TABLE freeze_windows;
