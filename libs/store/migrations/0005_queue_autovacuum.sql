-- Vacuum the operations table early and often.
--
-- Every claim leaves a dead entry at the front of operations_runnable_idx (the claimed
-- row's old version). Nothing but VACUUM removes entries from those index pages: inserts
-- land at the other end, so PostgreSQL's on-insert cleanup never visits them. Until a
-- vacuum runs, every claim walks over them: measured on this machine, e2e fell from 6.1k
-- to 2.0k jobs/s over three runs in one database with the default thresholds (20 % of the
-- table dead, throttled), and stayed at 6.0-7.4k with these settings and a 1 s
-- autovacuum_naptime (docs/OPERATIONS.md). Vacuum after a fixed number of dead rows,
-- however large the retained history grows, and without cost-based throttling. The heap
-- part of a pass only visits pages changed since the last one; the index part reads the
-- indexes, which is why the threshold is not lower.
ALTER TABLE operations SET (
  autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 5000,
  autovacuum_vacuum_cost_delay = 0,
  autovacuum_analyze_scale_factor = 0,
  autovacuum_analyze_threshold = 5000
);
