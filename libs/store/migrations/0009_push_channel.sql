-- The push channel: a webhook outbox and an event log, both written by the database in the
-- transaction that changes the operation (issue 14).
--
-- Outbox: a delivery row is inserted by the same statement trigger that reports the change,
-- so a crash can neither lose a callback (the change committed, so did its delivery) nor
-- invent one (the change rolled back, so did its delivery). Deliverers claim due rows with
-- SKIP LOCKED (libs/store/callback_store.h).
--
-- Event log: one row per visible change (the Submit and every change that moves version),
-- read by cursor for WatchOperations (libs/store/event_log.h).
--
-- THE EVENT ORDER TRAP. Sequence numbers are taken before commit and commits finish in any
-- order: transaction A takes seq 7, B takes seq 8, B commits, a reader sees 8 and remembers
-- "highest seq seen = 8", then A commits and 7 is never handed out. A bare bigserial cannot
-- be read safely by "everything after the highest I saw".
--
-- So an event's position is (key, seq) where key is a transaction id (xid8), and a reader
-- only hands out events with key < pg_snapshot_xmin(pg_current_snapshot()), in (key, seq)
-- order. Every transaction with an xid below xmin has finished, and every running or future
-- transaction has an xid >= xmin, so no event can ever appear in that prefix again: it is
-- final, and "resume after the last position handed out" misses nothing. seq only orders
-- events of one key (and keeps the primary key unique).
--
-- Per-operation order needs one more step. Two transactions changing the same row serialize
-- on the row lock, but the second may hold a SMALLER xid than the first: it took its xid
-- before it waited (heap_update assigns the xid before it finds the tuple locked). Its event
-- would then sort before the first one's, and a reader would see version 3 before version 2.
-- So the key of an operation's event is greatest(own xid, the key of its previous event),
-- kept in operations.event_xid, set with every change of version (below). The key
-- is still >= the writer's own xid, so key < xmin still implies the writer has finished.
--
-- Who sets event_xid: every version-changing UPDATE of libs/store/pg/queries.h sets it itself
-- (LONGRUN_NEXT_VERSION), and a row trigger fills it in for any statement that moved version
-- without moving event_xid (a statement someone forgot, or SQL run by hand), so a stale key,
-- below a reader's cursor, cannot happen. The trigger's WHEN clause is evaluated without
-- calling plpgsql, so the statements that set it pay no function call. Measured on 100,000
-- rows bumping version (per row, this machine, while builds ran): the trigger called for
-- every row cost about 4-6 us more than setting event_xid in the statement. The event rows
-- themselves cost about 3 us per change (heap tuple, primary-key entry, nextval), one
-- INSERT per statement; a statement of 0008 cost about 6 us per row.
--
-- What makes an event: a row whose version moved in the statement (new_rows whose
-- event_xid >= the current xid: the trigger just set it). A row changed twice in one
-- transaction, or a lease extension of a row whose event_xid came from a later xid, can
-- produce a spurious second event; the stream is at-least-once and readers skip versions
-- they have seen. Deleted operations produce no event (their events and deliveries go with
-- them: the join on the operation finds nothing).
--
-- None of this rewrites operations: the new columns are nullable and added without a
-- default; the default for new rows is set afterwards (a volatile default on ADD COLUMN
-- would rewrite the table). Rows from before stay NULL, which greatest() ignores.

ALTER TABLE operations ADD COLUMN callback_url text;
-- 'TERMINAL' or 'ALL_CHANGES'; NULL when the Submit asked for no callback.
ALTER TABLE operations ADD COLUMN callback_events text;
-- The key of the operation's latest event (see above).
ALTER TABLE operations ADD COLUMN event_xid xid8;
ALTER TABLE operations ALTER COLUMN event_xid SET DEFAULT pg_current_xact_id();

CREATE SEQUENCE operation_events_seq;

CREATE TABLE operation_events (
  key xid8 NOT NULL,
  seq bigint NOT NULL DEFAULT nextval('operation_events_seq'),
  operation_id uuid NOT NULL,
  -- The operation's version after this change; a reader joins on it and leaves the event
  -- out when the operation has changed again since (the later event carries that state).
  version bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (key, seq)
);
ALTER SEQUENCE operation_events_seq OWNED BY operation_events.seq;

-- Appended at one end, pruned from the other (EventPrune): vacuum after a fixed number of
-- dead rows, unthrottled, as for operations (0005), so readers starting near the horizon do
-- not walk over deleted index entries. Inserts keep PostgreSQL's default (insert-only
-- vacuums are rare on a large table and there is nothing for them to remove).
ALTER TABLE operation_events SET (
  autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 5000,
  autovacuum_vacuum_cost_delay = 0,
  autovacuum_analyze_scale_factor = 0,
  autovacuum_analyze_threshold = 5000
);

-- The last position pruned: a cursor before it has lost events (OUT_OF_RANGE). One row,
-- moved forward in the transaction that deletes the events.
CREATE TABLE operation_events_horizon (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  key xid8 NOT NULL,
  seq bigint NOT NULL
);
INSERT INTO operation_events_horizon (key, seq) VALUES ('0', 0);

-- The outbox: one row per change to post. webhook-id = 'msg_' || the id's 32 hex digits,
-- the same on every attempt of the row (and after RedeliverCallback).
CREATE TABLE webhook_deliveries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  operation_id uuid NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
  tenant text NOT NULL,
  url text NOT NULL,
  -- The URL's host, lower case: the deliverers' per-host concurrency key.
  host text NOT NULL,
  event_type text NOT NULL,  -- operation.completed | operation.updated
  version bigint NOT NULL,   -- the operation version this delivery reports
  state text NOT NULL DEFAULT 'PENDING'
    CHECK (state IN ('PENDING', 'DELIVERED', 'DEAD', 'GONE')),
  attempt integer NOT NULL DEFAULT 0,  -- attempts claimed so far (the record fence)
  -- A claimed row belongs to its deliverer until then; a claim moves next_attempt_at to the
  -- same time, so rows in flight leave the front of the claim index.
  lease_until timestamptz,
  deliverer_id text,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- Start of the retry window (--webhook-retry-for): created_at, or the last redelivery.
  retry_from timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_attempt_at timestamptz,
  last_http_status integer,
  last_error text
);

-- The claim path: due pending rows only, oldest due first.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
  WHERE state = 'PENDING';
-- An operation's deliveries, latest version last (callback status, GONE checks, redeliver,
-- ON DELETE CASCADE).
CREATE INDEX webhook_deliveries_operation_idx ON webhook_deliveries (operation_id, version);

-- The event key of a version-changing update that did not set it (see the trap above). The
-- WHEN clause is checked without calling the function: longrun's own statements set
-- event_xid and pay no call (except when the previous key was already >= their xid: then
-- setting it changes nothing and the trigger sets the same value), lease extensions leave
-- version alone and pay nothing.
CREATE FUNCTION longrun_event_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.event_xid := greatest(pg_current_xact_id(), OLD.event_xid);
  RETURN NEW;
END $$;

CREATE TRIGGER operations_event_xid BEFORE UPDATE ON operations
  FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version
                     AND NEW.event_xid IS NOT DISTINCT FROM OLD.event_xid)
  EXECUTE FUNCTION longrun_event_xid();

-- Visible changes (0008's notification, unchanged) now also write their events and, for
-- operations with a callback, their deliveries: one set-based INSERT each for the whole
-- UPDATE statement. A delivery is made when the change is terminal, or for every change
-- under ALL_CHANGES, unless a receiver answered 410 Gone for the operation.
CREATE OR REPLACE FUNCTION longrun_notify_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('longrun_operations',
                    string_agg(id::text, ',') || ',@' ||
                      (extract(epoch from clock_timestamp()) * 1000000)::int8)
    FROM (SELECT id, (row_number() OVER ()) / 150 AS chunk FROM new_rows) changed
   GROUP BY chunk;
  INSERT INTO operation_events (key, operation_id, version)
  SELECT event_xid, id, version FROM new_rows WHERE event_xid >= pg_current_xact_id();
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

-- A Submit's event (QUEUED, version 1). No delivery: callbacks report changes after Submit,
-- whose answer already carries the operation.
CREATE FUNCTION longrun_insert_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO operation_events (key, operation_id, version)
  SELECT event_xid, id, version FROM new_rows;
  RETURN NULL;
END $$;

CREATE TRIGGER operations_insert_events AFTER INSERT ON operations
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION longrun_insert_events();
