-- +goose Up
-- On-call's board: one row per clock running now, from the clock events
-- (armed → a row; fired or cancelled at its due → gone) and the chats' and
-- 留言s' own clocks (pending → a row; met or breached → gone). Warnings are
-- no rows of their own: their instant is warn_at on the clock they warn of.
CREATE TABLE live_timers (
    shop_id          text        NOT NULL,
    process          text        NOT NULL, -- order, aftersale, complaint, logistics, chat, offline_message
    entity_id        text        NOT NULL,
    clock            text        NOT NULL, -- the owner's name: ship_promise, first_response …
    due_at           timestamptz NOT NULL,
    warn_at          timestamptz,
    warned           boolean     NOT NULL DEFAULT false,
    whose_move       text        NOT NULL DEFAULT '',
    policy_version   text        NOT NULL DEFAULT '',
    workflow_id      text        NOT NULL DEFAULT '',
    breach_on_expiry boolean     NOT NULL,
    record_breached  boolean     NOT NULL DEFAULT false,
    armed_at         timestamptz, -- the arming event's instant (chats and 留言: not known)
    PRIMARY KEY (process, entity_id, clock)
);
-- the board: a shop's clocks soonest first, paged by (due, process, entity, clock)
CREATE INDEX live_timers_board ON live_timers (shop_id, due_at, process, entity_id, clock);

-- +goose Down
DROP TABLE live_timers;
