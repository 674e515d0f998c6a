-- +goose Up
-- The read model of after-sale cases: the whole contract document (protojson)
-- in doc, plus the columns that filters and ordering need. Written by the
-- case workflow's RecordCase activity with a monotonically rising version.
CREATE TABLE cases (
    case_id     text PRIMARY KEY,
    shop_id     text NOT NULL,
    buyer_id    text NOT NULL,
    order_id    text NOT NULL,
    type        text NOT NULL,
    state       text NOT NULL,
    whose_move  text NOT NULL,
    deadline    timestamptz,
    breached    boolean NOT NULL DEFAULT false,
    version     bigint NOT NULL DEFAULT 0,
    created_by  text NOT NULL,
    request_id  text NOT NULL,
    doc         jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    UNIQUE (created_by, request_id)
);
CREATE INDEX cases_shop_deadline ON cases (shop_id, deadline ASC NULLS LAST, case_id);
CREATE INDEX cases_buyer_deadline ON cases (buyer_id, deadline ASC NULLS LAST, case_id);
CREATE INDEX cases_order ON cases (order_id);

-- The per-line ledger: units bought and fen paid per order line, copied from
-- the order service when a case first names the line. Rows are locked
-- (SELECT … FOR UPDATE) while a case is checked against them, so two
-- concurrent cases on one line cannot together exceed it.
CREATE TABLE ledger_lines (
    order_id    text NOT NULL,
    line_id     text NOT NULL,
    bought_qty  integer NOT NULL CHECK (bought_qty >= 0),
    paid_fen    bigint NOT NULL CHECK (paid_fen >= 0),
    PRIMARY KEY (order_id, line_id)
);

-- What each case holds on each line: units (cases that send goods back) and
-- fen (cases that refund). Released when a case ends without remedy;
-- closed_for_good marks a rejection left unanswered (no new case may open
-- on the line).
CREATE TABLE case_lines (
    case_id          text NOT NULL REFERENCES cases (case_id) ON DELETE CASCADE,
    order_id         text NOT NULL,
    line_id          text NOT NULL,
    quantity         integer NOT NULL CHECK (quantity > 0),
    held_qty         integer NOT NULL CHECK (held_qty >= 0),
    held_fen         bigint NOT NULL CHECK (held_fen >= 0),
    released         boolean NOT NULL DEFAULT false,
    closed_for_good  boolean NOT NULL DEFAULT false,
    position         integer NOT NULL,
    PRIMARY KEY (case_id, line_id),
    FOREIGN KEY (order_id, line_id) REFERENCES ledger_lines (order_id, line_id)
);
CREATE INDEX case_lines_open ON case_lines (order_id, line_id) WHERE NOT released;

-- +goose Down
DROP TABLE case_lines;
DROP TABLE ledger_lines;
DROP TABLE cases;
