-- One worker round with the jobs table (queue_table_schema.sql): a completion deletes the
-- jobs row (fenced by attempt) and records the outcome in operations; a claim leases jobs
-- rows and marks their operations RUNNING (no indexed column of operations changes).
WITH input AS (
  SELECT * FROM unnest(:ids::uuid[], :atts::int[]) AS t(id, attempt)),
fin AS (
  DELETE FROM jobs j USING input i WHERE j.id = i.id AND j.attempt = i.attempt RETURNING j.id),
done AS (
  UPDATE operations o SET state = 'SUCCEEDED', response = jsonb_build_object('ok', true),
    progress_percent = 100, progress_message = '', end_time = now(), update_time = now(),
    lease_expires_at = NULL, error_code = NULL, error_message = NULL,
    version = o.version + 1, event_xid = greatest(pg_current_xact_id(), o.event_xid),
    attempts = coalesce(o.attempts, '[]'::jsonb) || jsonb_build_array(jsonb_build_array(o.attempt, o.worker_id, (extract(epoch from o.attempt_start_time) * 1000000)::int8, (extract(epoch from now()) * 1000000)::int8, 'SUCCEEDED', NULL::int, NULL::text))
  FROM fin WHERE o.id = fin.id
  RETURNING o.id),
claimable AS (
  SELECT id FROM jobs
   WHERE lease_expires_at IS NULL AND run_at <= now() AND kind = ANY('{demo.echo}'::text[])
   ORDER BY priority DESC, run_at, id LIMIT 256 FOR UPDATE SKIP LOCKED),
cj AS (
  UPDATE jobs j SET attempt = j.attempt + 1, lease_expires_at = now() + interval '30 seconds'
  WHERE j.id = ANY(ARRAY(SELECT id FROM claimable)) RETURNING j.id, j.attempt),
claimed AS (
  UPDATE operations o SET state = 'RUNNING', attempt = cj.attempt, worker_id = 'w1',
    lease_expires_at = now() + interval '30 seconds', start_time = coalesce(o.start_time, now()),
    attempt_start_time = now(), update_time = now(), progress_percent = 0, progress_message = '',
    version = o.version + 1, event_xid = greatest(pg_current_xact_id(), o.event_xid)
  FROM cj WHERE o.id = cj.id
  RETURNING o.id, o.attempt, o.input)
SELECT coalesce(array_agg(id), '{}')::text AS ids, coalesce(array_agg(attempt), '{}')::text AS atts,
  (SELECT count(*) FROM done) AS ndone FROM claimed
\gset
