-- Change notifications carry the time they were sent, so listeners can measure how late they
-- arrive (longrun_notify_lag_seconds).
--
-- The payload's last comma-separated item is '@' and the sender's clock in microseconds since
-- the Unix epoch; the ids come first, as before. A listener that predates this treats the
-- item as an id nobody watches and ignores it, so old and new binaries can share a database
-- during a rolling deploy.
CREATE OR REPLACE FUNCTION longrun_notify_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('longrun_operations',
                    string_agg(id::text, ',') || ',@' ||
                      (extract(epoch from clock_timestamp()) * 1000000)::int8)
    FROM (SELECT id, (row_number() OVER ()) / 150 AS chunk FROM new_rows) changed
   GROUP BY chunk;
  RETURN NULL;
END $$;
