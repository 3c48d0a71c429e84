-- W3C trace context: the trace each operation belongs to (core/trace.h).
--
-- 32 lower-case hex digits, from the Submit's traceparent or started by the api. Nullable
-- with no default, so adding it rewrites nothing; operations from before stay NULL (read
-- as ""). Not indexed: it is read with its row, never searched.
ALTER TABLE operations ADD COLUMN trace_id text;
