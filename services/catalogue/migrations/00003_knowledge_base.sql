-- +goose Up
CREATE TABLE faqs (
    faq_id      text PRIMARY KEY,
    shop_id     text        NOT NULL,
    topic       smallint    NOT NULL,
    category    smallint    NOT NULL DEFAULT 0,
    search_text text        NOT NULL,
    doc         jsonb       NOT NULL,
    request_id  text,
    version     bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    UNIQUE (shop_id, request_id)
);
CREATE INDEX faqs_search_trgm ON faqs USING gin (search_text gin_trgm_ops);

CREATE TABLE quick_replies (
    quick_reply_id text PRIMARY KEY,
    shop_id        text        NOT NULL,
    agent_group    smallint    NOT NULL DEFAULT 0,
    kind           smallint    NOT NULL,
    doc            jsonb       NOT NULL,
    request_id     text,
    version        bigint      NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    UNIQUE (shop_id, request_id)
);
CREATE INDEX quick_replies_shop_group ON quick_replies (shop_id, agent_group, kind, quick_reply_id);

-- +goose Down
DROP TABLE quick_replies;
DROP TABLE faqs;
