-- +goose Up
-- One row per declared freeze window (平台冻结期): the columns lists need,
-- plus the window as jsonb. Windows are never changed or cancelled (a
-- shorter window would move alarms earlier, some into the past).
CREATE TABLE freeze_windows (
    freeze_window_id text PRIMARY KEY,
    -- '' for a platform-wide window
    shop_id          text        NOT NULL DEFAULT '',
    from_at          timestamptz NOT NULL,
    to_at            timestamptz NOT NULL CHECK (to_at > from_at),
    declared_by      text        NOT NULL,
    request_id       text        NOT NULL,
    declared_at      timestamptz NOT NULL,
    doc              jsonb       NOT NULL,
    UNIQUE (declared_by, request_id)
);
CREATE INDEX freeze_windows_from ON freeze_windows (from_at DESC, freeze_window_id DESC);

-- +goose Down
DROP TABLE freeze_windows;
