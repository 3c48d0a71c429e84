-- The HOT-claim alternative: no index key or predicate changes when a job is claimed, so a
-- claim can be a heap-only (HOT) update when its page has room (run.sh sets fillfactor).
--  - runnable: every unfinished row (end_time IS NULL), claimed or not; the claim skips
--    RUNNING rows by their heap state (run.sh edits the round accordingly).
--  - no lease index (lease_expires_at changes at every claim): a lease row per claimed batch
--    (claim_batches) is what a rescuer would look up instead.
--  - retention by end_time alone (set when a row finishes, with its state).
DROP INDEX operations_runnable_idx, operations_lease_idx, operations_finished_idx;
CREATE INDEX operations_runnable_idx ON operations (priority DESC, run_at, id)
  WHERE end_time IS NULL;
CREATE INDEX operations_finished_idx ON operations (end_time) WHERE end_time IS NOT NULL;
CREATE TABLE claim_batches (id bigserial PRIMARY KEY, worker_id text NOT NULL,
                            expires_at timestamptz NOT NULL);
CREATE INDEX claim_batches_expires_idx ON claim_batches (expires_at);
