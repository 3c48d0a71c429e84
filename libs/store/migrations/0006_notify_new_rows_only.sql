-- Change notifications from the new rows alone.
--
-- 0001's trigger captured both the old and the new version of every updated row and joined
-- them to report only rows whose version moved, leaving out lease extensions (heartbeats).
-- Capturing the old rows and the join cost PostgreSQL's time on every claim and completion,
-- the hot path, to save a few notifications per heartbeat interval. Notifications are
-- hints: api processes re-read the ids they have watchers for and deliver a row only if its
-- version moved, so a heartbeat's notification changes nothing a client sees.
CREATE OR REPLACE FUNCTION longrun_notify_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('longrun_operations', string_agg(id::text, ','))
    FROM (SELECT id, (row_number() OVER ()) / 150 AS chunk FROM new_rows) changed
   GROUP BY chunk;
  RETURN NULL;
END $$;

DROP TRIGGER operations_notify_changes ON operations;
CREATE TRIGGER operations_notify_changes AFTER UPDATE ON operations
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION longrun_notify_changes();
