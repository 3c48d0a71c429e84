-- The attempt history moves into the operation row.
--
-- A separate table cost every finished attempt a second heap tuple, a second index entry
-- and a foreign-key check (a per-row trigger that locks the operation again), and every
-- read a correlated subquery; in a drain profile that was a large share of PostgreSQL's
-- time per job. The history is small (one entry per attempt, attempts are bounded by
-- max_attempts), always read with its operation and written by the statement that ends the
-- attempt, so it belongs in the row.
--
-- attempts: NULL until the first attempt ends, then a JSON array with one entry per
-- finished attempt, oldest first, each an array
--   [attempt, worker_id, start_us, end_us, outcome, error_code, error_message]
-- (times in microseconds since the Unix epoch; outcome SUCCEEDED, FAILED, CANCELLED or
-- LEASE_EXPIRED; code and message NULL on success).
ALTER TABLE operations ADD COLUMN attempts jsonb;

UPDATE operations o SET attempts = h.list
  FROM (SELECT operation_id,
               jsonb_agg(jsonb_build_array(
                   attempt, worker_id,
                   (extract(epoch from start_time) * 1000000)::int8,
                   (extract(epoch from end_time) * 1000000)::int8,
                   outcome, error_code, error_message) ORDER BY attempt) AS list
          FROM operation_attempts GROUP BY operation_id) h
 WHERE o.id = h.operation_id;

DROP TABLE operation_attempts;
