-- +goose Up
-- The insights projections: built only from the domain events on the
-- stream (the inbox table of the platform's outbox schema de-duplicates
-- them by event id). Entity rows keep what the definitions need plus
-- `counted`, the contribution the row currently adds to the rollups, so a
-- later event moves exactly that (subtract what was counted, add the new).
-- Reports read only the rollups (*_daily), one row per shop, China-time day
-- and breakdown: a month of a busy shop is a few thousand rows, never a scan
-- of its events.

-- One row per chat (咨询会话).
CREATE TABLE sessions (
    session_id           text PRIMARY KEY,
    shop_id              text        NOT NULL,
    buyer_id             text        NOT NULL DEFAULT '',
    grp                  text        NOT NULL DEFAULT '',
    assigned_agent_id    text        NOT NULL DEFAULT '',
    opened_at            timestamptz NOT NULL,
    first_response_due   timestamptz,
    first_response_at    timestamptz,
    first_response_agent text        NOT NULL DEFAULT '',
    transferred          boolean     NOT NULL DEFAULT false,
    closed_at            timestamptz,
    score                integer     NOT NULL DEFAULT 0,
    rated_agent_id       text        NOT NULL DEFAULT '',
    converted_order_id   text        NOT NULL DEFAULT '',
    complaint_id         text        NOT NULL DEFAULT '',
    recontacted          boolean     NOT NULL DEFAULT false,
    counted              jsonb
);
CREATE INDEX sessions_buyer ON sessions (shop_id, buyer_id, opened_at);
CREATE INDEX sessions_buyer_closed ON sessions (shop_id, buyer_id, closed_at);

-- Orders as conversion and return rates need them.
CREATE TABLE orders (
    order_id  text PRIMARY KEY,
    shop_id   text        NOT NULL,
    buyer_id  text        NOT NULL DEFAULT '',
    placed_at timestamptz NOT NULL
);
CREATE INDEX orders_buyer ON orders (shop_id, buyer_id, placed_at);

-- Complaints as the complaint rate and first-contact resolution need them.
CREATE TABLE complaints (
    complaint_id text PRIMARY KEY,
    shop_id      text        NOT NULL,
    filed_at     timestamptz NOT NULL
);
CREATE TABLE complaint_buyers (
    complaint_id text NOT NULL REFERENCES complaints ON DELETE CASCADE,
    shop_id      text NOT NULL,
    buyer_id     text NOT NULL,
    filed_at     timestamptz NOT NULL,
    PRIMARY KEY (complaint_id, buyer_id)
);
CREATE INDEX complaint_buyers_buyer ON complaint_buyers (shop_id, buyer_id, filed_at);

-- Products: names from order lines, categories from the catalogue's events.
CREATE TABLE products (
    product_id text PRIMARY KEY,
    shop_id    text NOT NULL DEFAULT '',
    name       text NOT NULL DEFAULT '',
    category   text NOT NULL DEFAULT ''
);

-- One row per after-sale case.
CREATE TABLE cases (
    case_id        text PRIMARY KEY,
    shop_id        text        NOT NULL,
    order_id       text        NOT NULL DEFAULT '',
    opened_at      timestamptz NOT NULL,
    doc            jsonb       NOT NULL,
    counted        jsonb
);

-- One row per SLA clock instance: a promise with a due instant (a chat's
-- first response, a 留言's answer, every Temporal clock armed with
-- breach_on_expiry), pending until met, breached, or no longer due.
CREATE TABLE sla_clocks (
    shop_id    text        NOT NULL,
    subject    text        NOT NULL,
    clock      text        NOT NULL,
    due_at     timestamptz NOT NULL,
    state      text        NOT NULL CHECK (state IN ('pending', 'met', 'breached')),
    settled_at timestamptz,
    agent_id   text        NOT NULL DEFAULT '',
    -- breached clocks settle later (the shop's late action): the event
    -- types that settle this one
    settle_by  text[]      NOT NULL DEFAULT '{}',
    counted    jsonb,
    PRIMARY KEY (subject, clock, due_at)
);
CREATE INDEX sla_clocks_pending ON sla_clocks (due_at) WHERE state = 'pending';
CREATE INDEX sla_clocks_open_breach ON sla_clocks (subject) WHERE state = 'breached' AND settled_at IS NULL;

-- Rollups.
CREATE TABLE kpi_daily (
    shop_id         text   NOT NULL,
    day             date   NOT NULL,
    grp             text   NOT NULL,
    agent_id        text   NOT NULL,
    consultations   bigint NOT NULL DEFAULT 0,
    answered        bigint NOT NULL DEFAULT 0,
    frt_ms          bigint NOT NULL DEFAULT 0,
    frt_within      bigint NOT NULL DEFAULT 0,
    frt_hist        bigint[] NOT NULL,
    closed          bigint NOT NULL DEFAULT 0,
    fcr_den         bigint NOT NULL DEFAULT 0,
    fcr_num         bigint NOT NULL DEFAULT 0,
    rated           bigint NOT NULL DEFAULT 0,
    score_sum       bigint NOT NULL DEFAULT 0,
    complained      bigint NOT NULL DEFAULT 0,
    presale         bigint NOT NULL DEFAULT 0,
    converted       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, day, grp, agent_id)
);

CREATE TABLE sla_daily (
    shop_id          text   NOT NULL,
    day              date   NOT NULL,
    clock            text   NOT NULL,
    agent_id         text   NOT NULL,
    due              bigint NOT NULL DEFAULT 0,
    met              bigint NOT NULL DEFAULT 0,
    breached         bigint NOT NULL DEFAULT 0,
    pending          bigint NOT NULL DEFAULT 0,
    lateness_ms      bigint NOT NULL DEFAULT 0,
    lateness_samples bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, day, clock, agent_id)
);

CREATE TABLE cause_daily (
    shop_id      text   NOT NULL,
    day          date   NOT NULL,
    dimension    text   NOT NULL,
    key          text   NOT NULL,
    cases        bigint NOT NULL DEFAULT 0,
    refunded_fen bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, day, dimension, key)
);

CREATE TABLE product_daily (
    shop_id        text   NOT NULL,
    day            date   NOT NULL,
    product_id     text   NOT NULL,
    units_ordered  bigint NOT NULL DEFAULT 0,
    units_in_cases bigint NOT NULL DEFAULT 0,
    cases          bigint NOT NULL DEFAULT 0,
    refunded_fen   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, day, product_id)
);

-- How far the projections have come.
CREATE TABLE progress (
    id             boolean PRIMARY KEY DEFAULT true CHECK (id),
    events_handled bigint      NOT NULL DEFAULT 0,
    last_event_at  timestamptz
);
INSERT INTO progress DEFAULT VALUES;

-- +goose Down
DROP TABLE progress, product_daily, cause_daily, sla_daily, kpi_daily, sla_clocks, cases, products,
    complaint_buyers, complaints, orders, sessions;
