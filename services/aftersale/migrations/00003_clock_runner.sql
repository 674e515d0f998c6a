-- +goose Up
-- After-sale cases run on the shared clock runner (workflows/lifecycle): the
-- case aggregate (services/aftersale/internal/domain) is the record, written
-- only by store.Update. process holds what the contract does not show (the
-- pinned policy durations, when the current clock started, refund
-- bookkeeping); last_op is the last command applied (a retried Apply answers
-- without applying again); clocks_started whether the runner was started
-- (the sweeper starts those stranded without one).
ALTER TABLE cases
    ADD COLUMN process jsonb,
    ADD COLUMN last_op text NOT NULL DEFAULT '',
    ADD COLUMN clocks_started boolean NOT NULL DEFAULT false;
-- Cases of the retired aftersale.Return / aftersale.Exchange workflows carry
-- no process: finished ones need no runner; open ones are left to the
-- sweeper, which starts their runner under the current policy
-- (store.WithLegacyPolicy).
UPDATE cases SET clocks_started = true
 WHERE process IS NULL AND state IN ('CASE_STATE_COMPLETED', 'CASE_STATE_REFUNDED', 'CASE_STATE_CLOSED', 'CASE_STATE_WITHDRAWN');

-- +goose Down
ALTER TABLE cases
    DROP COLUMN process,
    DROP COLUMN last_op,
    DROP COLUMN clocks_started;
