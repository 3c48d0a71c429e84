-- The hot queue table alternative: operations keeps history only (no partial indexes on
-- state); runnable and leased jobs live in jobs.
DROP INDEX operations_runnable_idx, operations_lease_idx, operations_finished_idx;
CREATE TABLE jobs (
  id uuid PRIMARY KEY, tenant text NOT NULL, kind text NOT NULL, queue text NOT NULL,
  priority int NOT NULL, run_at timestamptz NOT NULL, attempt int NOT NULL DEFAULT 0,
  lease_expires_at timestamptz) WITH (fillfactor = 90);
CREATE INDEX jobs_runnable_idx ON jobs (priority DESC, run_at, id) WHERE lease_expires_at IS NULL;
CREATE INDEX jobs_lease_idx ON jobs (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
  autovacuum_vacuum_cost_delay = 0, autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 5000);
