-- ANALYZE by proportion again, and gather no statistics nobody plans with.
--
-- 0005 (operations) and 0009 (operation_events) set autovacuum_analyze_scale_factor = 0 with
-- a threshold of 5000: an ANALYZE after every 5000 changed rows, however large the table.
-- Each one samples up to 30,000 rows and computes statistics for every column, the JSON
-- payloads included. At queue rates that is several ANALYZEs a second: perf put ANALYZE at
-- 26 % of PostgreSQL's CPU during Submit (12.7k rps) and 11 % during drain (session 6,
-- docs/BENCHMARKS.md "Queue design"). The statements on the hot path do not depend on fresh
-- statistics: the claim, the fences and the rescuer are written so that they use their
-- indexes whatever the statistics say (queries.h), and the workers' sessions turn sorts,
-- bitmap and sequential scans off. So: the default proportion (10 % of the table changed)
-- on top of a million changed rows, and no statistics for columns that no query filters or
-- joins on. (10 % plus 5000 was measured first: still 16 % of PostgreSQL's CPU in e2e,
-- where a table of 100,000 rows changes 19,000 times a second.) The planner does not wait
-- for ANALYZE to see a table grow: it scales row estimates by the table's current size.
-- Vacuum keeps 0005's fixed threshold: that is what clears claimed rows' index entries.
ALTER TABLE operations SET (autovacuum_analyze_scale_factor = 0.1,
                            autovacuum_analyze_threshold = 1000000);
ALTER TABLE operation_events SET (autovacuum_analyze_scale_factor = 0.1,
                                  autovacuum_analyze_threshold = 1000000);

ALTER TABLE operations
  ALTER COLUMN input SET STATISTICS 0,
  ALTER COLUMN response SET STATISTICS 0,
  ALTER COLUMN attempts SET STATISTICS 0,
  ALTER COLUMN progress_message SET STATISTICS 0,
  ALTER COLUMN error_message SET STATISTICS 0,
  ALTER COLUMN request_fingerprint SET STATISTICS 0,
  ALTER COLUMN trace_id SET STATISTICS 0,
  ALTER COLUMN worker_id SET STATISTICS 0,
  ALTER COLUMN callback_url SET STATISTICS 0;
