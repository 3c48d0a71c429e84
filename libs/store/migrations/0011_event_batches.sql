-- The event log as one row per statement (per event key, at most 64 changes a row) instead
-- of one row per change.
--
-- Each change wrote a row and an index entry of its own: three of each per job, a third of
-- the rows a job writes. Measured at the SQL level (tools/bench/queue_design/run.sh, the
-- drain's statements with pgbench, medians of 3): 46,600 jobs/s with a row per change,
-- 52,000 with a row per statement, 55,900 without any event log (docs/BENCHMARKS.md
-- "Queue design"). 64 changes keep a row under the TOAST threshold (ids and versions are
-- 24 bytes a change), so it stays one heap tuple.
--
-- Positions: the i-th change of a row (from 0) is at (key, seq * 2^20 + i) in the log,
-- which is what a cursor carries ("e2.KEY.POSITION"; libs/store/event_cursor.cc). A cursor
-- from before this migration ("e1.KEY.SEQ", one change per seq) is the position SEQ * 2^20,
-- and the rows copied below keep their seq, so it still points at the same change. Order
-- and finality are unchanged (0009): by key, then seq, then place in the row; readers stop
-- below the snapshot's xmin.

ALTER TABLE operation_events RENAME TO operation_events_0009;
ALTER INDEX operation_events_pkey RENAME TO operation_events_0009_pkey;

CREATE TABLE operation_events (
  key xid8 NOT NULL,
  seq bigint NOT NULL DEFAULT nextval('operation_events_seq'),
  -- Parallel arrays: the operation and its version after the change, as in 0009's rows.
  operation_ids uuid[] NOT NULL,
  versions bigint[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (key, seq),
  CHECK (cardinality(operation_ids) = cardinality(versions)
         AND cardinality(operation_ids) BETWEEN 1 AND 1048576)
);
ALTER SEQUENCE operation_events_seq OWNED BY operation_events.seq;
ALTER TABLE operation_events SET (
  autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 5000,
  autovacuum_vacuum_cost_delay = 0,
  autovacuum_analyze_scale_factor = 0.1,
  autovacuum_analyze_threshold = 1000000
);
ALTER TABLE operation_events
  ALTER COLUMN operation_ids SET STATISTICS 0,
  ALTER COLUMN versions SET STATISTICS 0;

INSERT INTO operation_events (key, seq, operation_ids, versions, created_at)
SELECT key, seq, ARRAY[operation_id], ARRAY[version], created_at FROM operation_events_0009;
DROP TABLE operation_events_0009;

-- The horizon is a position now.
UPDATE operation_events_horizon SET seq = seq * 1048576;

-- One row per change, for psql and tests: what 0009's table held, with the position.
CREATE VIEW operation_event_changes AS
SELECT e.key, e.seq * 1048576 + (c.i - 1) AS position, c.operation_id, c.version, e.created_at
  FROM operation_events e
  CROSS JOIN LATERAL unnest(e.operation_ids, e.versions) WITH ORDINALITY
    AS c(operation_id, version, i);

-- 0009's change trigger, with the events written per statement (the rest unchanged).
CREATE OR REPLACE FUNCTION longrun_notify_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('longrun_operations',
                    string_agg(id::text, ',') || ',@' ||
                      (extract(epoch from clock_timestamp()) * 1000000)::int8)
    FROM (SELECT id, (row_number() OVER ()) / 150 AS chunk FROM new_rows) changed
   GROUP BY chunk;
  INSERT INTO operation_events (key, operation_ids, versions)
  SELECT event_xid, array_agg(id), array_agg(version)
    FROM (SELECT id, version, event_xid, (row_number() OVER ()) / 64 AS chunk
            FROM new_rows WHERE event_xid >= pg_current_xact_id()) changed
   GROUP BY event_xid, chunk;
  -- Only statements that changed an operation with a callback run (and plan) the delivery
  -- insert. Running it for every statement (a CTE shared with the events insert) looked
  -- expensive in the drain benchmark, which has no callbacks at all (noisy runs on a loaded
  -- 2-core machine: about a third fewer jobs/s than the events insert alone).
  IF EXISTS (SELECT 1 FROM new_rows
              WHERE callback_url IS NOT NULL AND event_xid >= pg_current_xact_id()) THEN
    INSERT INTO webhook_deliveries (operation_id, tenant, url, host, event_type, version)
    SELECT c.id, c.tenant, c.callback_url,
           lower(coalesce(
             substring(c.callback_url from '^[^:/]+://(?:[^@/?#]*@)?\[([^]/?#]*)\]'),
             substring(c.callback_url from '^[^:/]+://(?:[^@/?#]*@)?([^:/?#]*)'), '')),
           CASE WHEN c.state IN ('SUCCEEDED', 'FAILED', 'CANCELLED')
                THEN 'operation.completed' ELSE 'operation.updated' END,
           c.version
      FROM new_rows c
     WHERE c.callback_url IS NOT NULL AND c.event_xid >= pg_current_xact_id()
       AND (c.callback_events = 'ALL_CHANGES' OR c.state IN ('SUCCEEDED', 'FAILED', 'CANCELLED'))
       AND NOT EXISTS (SELECT 1 FROM webhook_deliveries g
                        WHERE g.operation_id = c.id AND g.state = 'GONE');
  END IF;
  RETURN NULL;
END $$;

-- A Submit's events (QUEUED, version 1), per statement as above.
CREATE OR REPLACE FUNCTION longrun_insert_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO operation_events (key, operation_ids, versions)
  SELECT event_xid, array_agg(id), array_agg(version)
    FROM (SELECT id, version, event_xid, (row_number() OVER ()) / 64 AS chunk
            FROM new_rows) inserted
   GROUP BY event_xid, chunk;
  RETURN NULL;
END $$;
