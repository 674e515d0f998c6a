-- +goose Up
-- One row per complaint: the columns that filters, list order and repeat
-- detection need, plus the domain aggregate (without its history) as jsonb.
CREATE TABLE complaints (
    complaint_id        text PRIMARY KEY,
    shop_id             text        NOT NULL,
    filed_by            text        NOT NULL,
    request_id          text,
    customer_ids        text[]      NOT NULL CHECK (cardinality(customer_ids) >= 1),
    order_id            text        NOT NULL DEFAULT '',
    category            smallint    NOT NULL CHECK (category BETWEEN 1 AND 6),
    state               text        NOT NULL,
    rung                smallint    NOT NULL CHECK (rung BETWEEN 1 AND 4),
    severity            smallint    NOT NULL,
    incident            boolean     NOT NULL DEFAULT false,
    special_kinds       smallint[]  NOT NULL DEFAULT '{}',
    owner_agent_id      text        NOT NULL DEFAULT '',
    handler_ids         text[]      NOT NULL DEFAULT '{}',
    -- earliest running deadline, kept by the escalation workflow
    next_deadline       timestamptz,
    next_deadline_clock text        NOT NULL DEFAULT '',
    clock_seq           bigint      NOT NULL DEFAULT 0,
    -- last workflow command applied (idempotent activity retries)
    last_seq            bigint      NOT NULL DEFAULT 0,
    version             bigint      NOT NULL CHECK (version >= 1),
    doc                 jsonb       NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    UNIQUE (filed_by, request_id)
);
CREATE INDEX complaints_shop_deadline ON complaints (shop_id, (COALESCE(next_deadline, 'infinity'::timestamptz)), complaint_id);
CREATE INDEX complaints_customers ON complaints USING gin (customer_ids);
CREATE INDEX complaints_shop_created ON complaints (shop_id, created_at);

-- The append-only history (处理记录): inserted, never changed.
CREATE TABLE complaint_steps (
    complaint_id text        NOT NULL REFERENCES complaints (complaint_id),
    seq          integer     NOT NULL CHECK (seq >= 1),
    at           timestamptz NOT NULL,
    action       smallint    NOT NULL,
    from_state   text        NOT NULL,
    to_state     text        NOT NULL,
    actor        jsonb       NOT NULL,
    note         text        NOT NULL DEFAULT '',
    PRIMARY KEY (complaint_id, seq)
);

-- +goose StatementBegin
CREATE FUNCTION complaint_steps_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'complaint_steps is append-only';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER complaint_steps_append_only BEFORE UPDATE OR DELETE ON complaint_steps
    FOR EACH ROW EXECUTE FUNCTION complaint_steps_append_only();

-- +goose Down
DROP TABLE complaint_steps;
DROP FUNCTION complaint_steps_append_only();
DROP TABLE complaints;
