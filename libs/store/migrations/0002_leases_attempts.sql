-- Leases, attempt history, rescue and retention support.

-- When the current attempt started (start_time is the first attempt's start).
ALTER TABLE operations ADD COLUMN attempt_start_time timestamptz;

-- One row per finished attempt: who ran it, when, and how it ended. Clients see these in
-- OperationMetadata.attempts. Released attempts (a draining worker handing a job back
-- unstarted... or unfinished) are not attempts and leave no row.
CREATE TABLE operation_attempts (
  operation_id uuid NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  worker_id text,
  start_time timestamptz,
  end_time timestamptz NOT NULL DEFAULT now(),
  -- SUCCEEDED, FAILED, CANCELLED or LEASE_EXPIRED (the worker crashed or stalled).
  outcome text NOT NULL,
  error_code integer,
  error_message text,
  PRIMARY KEY (operation_id, attempt)
);

-- The rescuer looks only at live rows, oldest lease first.
CREATE INDEX operations_lease_idx ON operations (lease_expires_at)
  WHERE state IN ('RUNNING', 'CANCELLING');

-- Retention deletes finished rows by age.
CREATE INDEX operations_finished_idx ON operations (state, end_time)
  WHERE state IN ('SUCCEEDED', 'FAILED', 'CANCELLED');
