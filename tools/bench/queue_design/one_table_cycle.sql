-- One worker round on the schema as migrated (queries.h LONGRUN_COMPLETE_AND_CLAIM, trimmed):
-- record last round's claims (:ids, :atts) as SUCCEEDED, claim up to 256 runnable rows.
WITH input AS (
  SELECT * FROM unnest(:ids::uuid[], :atts::int[]) AS t(id, attempt)),
done AS (
  UPDATE operations o SET state = 'SUCCEEDED', response = jsonb_build_object('ok', true),
    progress_percent = 100, progress_message = '', end_time = now(), update_time = now(),
    lease_expires_at = NULL, error_code = NULL, error_message = NULL,
    version = o.version + 1, event_xid = greatest(pg_current_xact_id(), o.event_xid),
    attempts = coalesce(o.attempts, '[]'::jsonb) || jsonb_build_array(jsonb_build_array(o.attempt, o.worker_id, (extract(epoch from o.attempt_start_time) * 1000000)::int8, (extract(epoch from now()) * 1000000)::int8, 'SUCCEEDED', NULL::int, NULL::text))
  FROM input i
  WHERE o.id = i.id AND o.attempt = i.attempt AND o.state::text IN ('RUNNING', 'CANCELLING')
  RETURNING o.id),
claimable AS (
  SELECT id FROM operations
   WHERE state IN ('QUEUED', 'RETRY_WAIT') AND run_at <= now() AND kind = ANY('{demo.echo}'::text[])
   ORDER BY priority DESC, run_at, id LIMIT 256 FOR UPDATE SKIP LOCKED),
claimed AS (
  UPDATE operations o SET state = 'RUNNING', attempt = o.attempt + 1, worker_id = 'w1',
    lease_expires_at = now() + interval '30 seconds', start_time = coalesce(o.start_time, now()),
    attempt_start_time = now(), update_time = now(), progress_percent = 0, progress_message = '',
    version = o.version + 1, event_xid = greatest(pg_current_xact_id(), o.event_xid)
  WHERE o.id = ANY(ARRAY(SELECT id FROM claimable))
  RETURNING o.id, o.attempt, o.input)
SELECT coalesce(array_agg(id), '{}')::text AS ids, coalesce(array_agg(attempt), '{}')::text AS atts,
  (SELECT count(*) FROM done) AS ndone FROM claimed
\gset
