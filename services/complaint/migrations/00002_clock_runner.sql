-- +goose Up
-- The complaint's clocks run in the shared clock runner (workflows/lifecycle):
-- last_op is the last command applied (a retried Apply activity answers
-- without applying again), clocks_started whether the runner was started
-- (the sweeper starts those stranded without one). The escalation
-- workflow's own bookkeeping (clock_seq, last_seq) is gone.
ALTER TABLE complaints
    ADD COLUMN last_op text NOT NULL DEFAULT '',
    ADD COLUMN clocks_started boolean NOT NULL DEFAULT false,
    DROP COLUMN clock_seq,
    DROP COLUMN last_seq;
-- Closed complaints need no runner; open ones filed under the retired
-- complaint.Escalation workflow get a clock runner from the sweeper.
UPDATE complaints SET clocks_started = true WHERE state = 'CLOSED';

-- +goose Down
ALTER TABLE complaints
    DROP COLUMN last_op,
    DROP COLUMN clocks_started,
    ADD COLUMN clock_seq bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_seq bigint NOT NULL DEFAULT 0;
