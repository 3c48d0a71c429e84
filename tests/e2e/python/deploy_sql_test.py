#!/usr/bin/python3
"""The SQL that deploy/ and docs/RUNBOOK.md hand to operators runs against the real schema.

On a freshly migrated database holding operations in every state (due and not yet due,
running, finished), checks that

  - the production overlay's KEDA query (the ScaledObject's trigger, read from the manifest)
    counts exactly the jobs that want a worker slot: QUEUED or RETRY_WAIT with run_at come,
    RUNNING and CANCELLING; and that with sequential scans disabled its plan reads indexes
    only (no "Seq Scan on operations": it never reads finished history);
  - every ```sql block of docs/RUNBOOK.md runs (real table and column names), and the
    attempt-history query decodes an attempts entry.

    [LONGRUN_TEST_PG_DIR=DIR] /usr/bin/python3 deploy_sql_test.py
"""

import os
import re
import subprocess
import sys
import uuid

import yaml

from harness import PSQL, check, main as harness_main, psql, say

STUBS = ("status_pb2",)

# (state, run_at relative to now, how many); the KEDA query must count the first five kinds.
ROWS = [
    ("QUEUED", "- interval '1 minute'", 3),
    ("RETRY_WAIT", "- interval '1 second'", 2),
    ("RUNNING", "- interval '1 minute'", 4),
    ("CANCELLING", "- interval '1 minute'", 1),
    ("QUEUED", "+ interval '1 hour'", 5),       # scheduled: not due
    ("RETRY_WAIT", "+ interval '1 minute'", 6),  # backing off: not due
    ("SUCCEEDED", "- interval '1 hour'", 7),
    ("FAILED", "- interval '1 hour'", 8),
    ("CANCELLED", "- interval '1 hour'", 9),
]
EXPECTED_WANTING_SLOTS = 3 + 2 + 4 + 1


def keda_query(repo):
    path = os.path.join(repo, "deploy/k8s/overlays/production/worker-autoscaler.yaml")
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            if doc and doc.get("kind") == "ScaledObject":
                triggers = [t for t in doc["spec"]["triggers"] if t["type"] == "postgresql"]
                check(len(triggers) == 1, "one postgresql trigger in %s" % path)
                return triggers[0]["metadata"]["query"]
    raise AssertionError("no ScaledObject in %s" % path)


def runbook_sql(repo):
    with open(os.path.join(repo, "docs/RUNBOOK.md")) as f:
        blocks = re.findall(r"^```sql\n(.*?)^```", f.read(), re.S | re.M)
    check(blocks, "docs/RUNBOOK.md has ```sql blocks")
    return "\n".join(blocks)


def run_test(env, stubs):
    del stubs
    env.setup_database()
    env.run_migrate()
    url = env.db_url
    values = []
    for state, offset, count in ROWS:
        for _ in range(count):
            values.append("('%s', 'demo.echo', '%s', 5, now() %s, %s)" % (
                uuid.uuid4(), state, offset,
                "now() + interval '30 seconds'" if state in ("RUNNING", "CANCELLING") else "NULL"))
    psql(url, "INSERT INTO operations (id, kind, state, max_attempts, run_at, lease_expires_at) "
              "VALUES " + ", ".join(values))

    query = keda_query(env.repo)
    say("# KEDA query:\n%s" % query)
    got = psql(url, query).strip()
    check(float(got) == EXPECTED_WANTING_SLOTS,
          "KEDA query counted %s, want %d" % (got, EXPECTED_WANTING_SLOTS))
    plan = psql(url, "SET enable_seqscan = off; EXPLAIN " + query)
    say("# plan with enable_seqscan = off:\n%s" % plan)
    check("Seq Scan on operations" not in plan, "the KEDA query needs a sequential scan")

    # The runbook's queries, with its example id replaced by a row that has an attempt.
    stuck = str(uuid.uuid4())
    psql(url, "INSERT INTO operations (id, kind, state, max_attempts, attempt, worker_id, "
              "attempts) VALUES ('%s', 'demo.echo', 'RETRY_WAIT', 5, 1, 'pod-1-abc', "
              "'[[1, \"pod-1-abc\", 1700000000000000, 1700000001500000, \"LEASE_EXPIRED\", "
              "14, \"attempt 1 lost its worker\"]]')" % stuck)
    sql = re.sub(r"'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'",
                 "'%s'" % stuck, runbook_sql(env.repo))
    # A script (psql -c would print the last statement's result only), in UTC so that the
    # decoded times below are known.
    result = subprocess.run([PSQL, url, "-v", "ON_ERROR_STOP=1", "-qAt", "-f", "-"],
                            input="SET TIME ZONE 'UTC';\n" + sql, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=60)
    out = result.stdout
    check(result.returncode == 0, "the runbook's SQL failed:\n%s" % out)
    say("# runbook SQL output:\n%s" % out)
    check("LEASE_EXPIRED" in out and "attempt 1 lost its worker" in out,
          "the attempt-history query did not decode the attempts entry")
    check("2023-11-14 22:13:20" in out, "attempt start time decoded wrongly")


if __name__ == "__main__":
    sys.exit(harness_main("deploy_sql", __doc__, run_test, STUBS))
