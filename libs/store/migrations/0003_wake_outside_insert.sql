-- Wake-ups for idle workers no longer come from an INSERT trigger.
--
-- A transaction that sends NOTIFY holds a database-wide lock from its commit until the
-- commit has been flushed to disk, so notifying transactions cannot share a WAL flush
-- (measured: about one flush per job, commits queued on "Lock:object"). A wake-up is only
-- a hint that work may exist (workers also poll), so the api now sends it after the insert
-- committed, in its own tiny transaction with synchronous_commit off, at most one at a time
-- (JobWake). Submits then commit together with everything else again. Notifications of
-- visible changes (longrun_operations) stay in the changing transaction.
DROP TRIGGER operations_notify_jobs ON operations;
DROP FUNCTION longrun_notify_jobs();
