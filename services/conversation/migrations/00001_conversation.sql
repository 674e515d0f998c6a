-- +goose Up
-- Each resource keeps the columns that filters, queue order, locks and
-- idempotency need, plus the contract document as jsonb (protojson).

CREATE TABLE sessions (
    session_id        text PRIMARY KEY,
    shop_id           text        NOT NULL,
    buyer_id          text        NOT NULL,
    grp               smallint    NOT NULL CHECK (grp BETWEEN 1 AND 3),
    status            smallint    NOT NULL CHECK (status BETWEEN 1 AND 4),
    priority          smallint    NOT NULL CHECK (priority BETWEEN 1 AND 2),
    topic             smallint    NOT NULL DEFAULT 0,
    assigned_agent_id text        NOT NULL DEFAULT '',
    opened_by         text        NOT NULL,
    request_id        text,
    opened_at         timestamptz NOT NULL,
    queued_at         timestamptz,
    last_message_at   timestamptz,
    version           bigint      NOT NULL CHECK (version >= 1),
    doc               jsonb       NOT NULL,
    UNIQUE (opened_by, request_id)
);
-- at most one open session per buyer and shop
CREATE UNIQUE INDEX sessions_one_open ON sessions (shop_id, buyer_id) WHERE status <> 4;
-- the agents' queue: urgent first, then longest waiting
CREATE INDEX sessions_queue ON sessions (shop_id, grp, priority DESC, queued_at, session_id) WHERE status IN (1, 2);
CREATE INDEX sessions_agent ON sessions (assigned_agent_id) WHERE status = 3;
CREATE INDEX sessions_shop_opened ON sessions (shop_id, opened_at DESC, session_id);
CREATE INDEX sessions_buyer_opened ON sessions (buyer_id, opened_at DESC, session_id);

CREATE TABLE messages (
    seq         bigserial PRIMARY KEY,
    message_id  text        NOT NULL UNIQUE,
    session_id  text        NOT NULL REFERENCES sessions (session_id),
    sender_id   text        NOT NULL DEFAULT '',
    request_id  text,
    created_at  timestamptz NOT NULL,
    doc         jsonb       NOT NULL,
    UNIQUE (session_id, sender_id, request_id)
);
CREATE INDEX messages_session ON messages (session_id, seq);

CREATE TABLE transfers (
    seq         bigserial PRIMARY KEY,
    transfer_id text        NOT NULL UNIQUE,
    session_id  text        NOT NULL REFERENCES sessions (session_id),
    actor_id    text        NOT NULL,
    request_id  text,
    created_at  timestamptz NOT NULL,
    doc         jsonb       NOT NULL,
    UNIQUE (session_id, actor_id, request_id)
);
CREATE INDEX transfers_session ON transfers (session_id, seq);

CREATE TABLE offline_messages (
    offline_message_id text PRIMARY KEY,
    shop_id            text        NOT NULL,
    buyer_id           text        NOT NULL,
    grp                smallint    NOT NULL CHECK (grp BETWEEN 1 AND 3),
    status             smallint    NOT NULL CHECK (status BETWEEN 1 AND 2),
    left_by            text        NOT NULL,
    request_id         text,
    answer_request_id  text,
    created_at         timestamptz NOT NULL,
    version            bigint      NOT NULL CHECK (version >= 1),
    doc                jsonb       NOT NULL,
    UNIQUE (left_by, request_id)
);
CREATE INDEX offline_messages_queue ON offline_messages (shop_id, status, created_at, offline_message_id);

CREATE TABLE handover_notes (
    handover_note_id text PRIMARY KEY,
    shop_id          text        NOT NULL,
    author_agent_id  text        NOT NULL,
    to_group         smallint    NOT NULL DEFAULT 0,
    to_agent_id      text        NOT NULL DEFAULT '',
    request_id       text,
    created_at       timestamptz NOT NULL,
    doc              jsonb       NOT NULL,
    UNIQUE (author_agent_id, request_id)
);
CREATE INDEX handover_notes_shop ON handover_notes (shop_id, created_at DESC, handover_note_id);

CREATE TABLE handover_reads (
    handover_note_id text        NOT NULL REFERENCES handover_notes (handover_note_id),
    agent_id         text        NOT NULL,
    read_at          timestamptz NOT NULL,
    PRIMARY KEY (handover_note_id, agent_id)
);

CREATE TABLE agents (
    agent_id     text PRIMARY KEY,
    shop_id      text        NOT NULL,
    grp          smallint    NOT NULL CHECK (grp BETWEEN 1 AND 3),
    rank         smallint    NOT NULL CHECK (rank BETWEEN 1 AND 4),
    status       smallint    NOT NULL CHECK (status BETWEEN 1 AND 4),
    max_sessions integer     NOT NULL CHECK (max_sessions BETWEEN 1 AND 50),
    note         text        NOT NULL DEFAULT '',
    status_since timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    version      bigint      NOT NULL CHECK (version >= 1)
);
CREATE INDEX agents_shop ON agents (shop_id, grp, status);

CREATE TABLE auto_replies (
    shop_id text     NOT NULL,
    grp     smallint NOT NULL CHECK (grp BETWEEN 1 AND 3),
    version bigint   NOT NULL CHECK (version >= 1),
    doc     jsonb    NOT NULL,
    PRIMARY KEY (shop_id, grp)
);

-- The agents' live feed: events written in the same transaction as the
-- change, announced with NOTIFY conversation_feed (payload: shop id) on
-- commit. target_agent '' with grp 0 is for the whole shop, with grp > 0 for
-- that group's queue.
CREATE TABLE feed_events (
    event_id     bigserial PRIMARY KEY,
    shop_id      text        NOT NULL,
    grp          smallint    NOT NULL DEFAULT 0,
    target_agent text        NOT NULL DEFAULT '',
    session_id   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    doc          jsonb       NOT NULL
);
CREATE INDEX feed_events_shop ON feed_events (shop_id, event_id);
CREATE INDEX feed_events_created ON feed_events (created_at);

-- +goose Down
DROP TABLE feed_events;
DROP TABLE auto_replies;
DROP TABLE agents;
DROP TABLE handover_reads;
DROP TABLE handover_notes;
DROP TABLE offline_messages;
DROP TABLE transfers;
DROP TABLE messages;
DROP TABLE sessions;
