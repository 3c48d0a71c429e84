#!/usr/bin/python3
"""Prints run.sh's `peers` table from one run's JSON files.

Usage: table.py LOGDIR
  LOGDIR/peers-graphile.jsonl  one JSON line per graphile-worker run (peer-bench's graphile.mjs)
  LOGDIR/peers-drain.json, peers-submit.json, peers-pickup.json  longrun-bench --json output
Medians over runs; graphile-worker's drain is the median over both of its drains per run
(like peer-bench's report.mjs). Latency rows are p50s, with the clocks the two benches use
(see the note the table ends with).
"""
import json
import statistics
import sys
from pathlib import Path


def med(values):
    v = [x for x in values if x is not None]
    return statistics.median(v) if v else None


def longrun(logdir, mode, key):
    p = logdir / f"peers-{mode}.json"
    try:
        return json.loads(p.read_text()).get("median", {}).get(key)
    except (OSError, ValueError):
        return None


def longrun_drain_from_first_claim(logdir):
    """jobs/s from the first claim to all done, per run, median: graphile-worker's drain clock
    (first handler start -> all rows gone) rather than longrun's (worker start -> all done)."""
    try:
        d = json.loads((logdir / "peers-drain.json").read_text())
    except (OSError, ValueError):
        return None
    n = d.get("params", {}).get("n")
    v = []
    for r in d.get("runs", []):
        if n and "drain_s" in r and "first_claim_after_s" in r:
            secs = r["drain_s"] - r["first_claim_after_s"]
            if secs > 0:
                v.append(n / secs)
    return med(v)


def main():
    logdir = Path(sys.argv[1])
    gw = []
    p = logdir / "peers-graphile.jsonl"
    if p.exists():
        for line in p.read_text().splitlines():
            try:
                gw.append(json.loads(line))
            except ValueError:
                pass
    rows = [
        ("drain jobs/s (first claim -> all done)", longrun_drain_from_first_claim(logdir),
         med([r.get(k) for r in gw for k in ("drain1_jobs_s", "drain2_jobs_s")]), True),
        ("drain jobs/s (longrun: from worker start)", longrun(logdir, "drain", "jobs_per_s"),
         med([r.get(k) for r in gw for k in ("drain1_jobs_s", "drain2_jobs_s")]), True),
        ("Submit rps / addJob x32 jobs/s", longrun(logdir, "submit", "rps"),
         med([r.get("enqueue_single_c32_jobs_s") for r in gw]), True),
        ("pickup p50 ms", longrun(logdir, "pickup", "start_server_p50_ms"),
         med([(r.get("latency_pickup") or {}).get("p50_ms") for r in gw]), False),
        ("done p50 ms", longrun(logdir, "pickup", "done_seen_p50_ms"),
         med([(r.get("latency_complete") or {}).get("p50_ms") for r in gw]), False),
    ]
    version = gw[0].get("version", "?") if gw else "?"
    print(f"| figure | longrun | graphile-worker {version} | ratio longrun/graphile |")
    print("|---|---:|---:|---:|")
    for name, lr, g, higher_better in rows:
        fmt = (lambda x: "-" if x is None else f"{x:,.0f}") if higher_better else \
              (lambda x: "-" if x is None else f"{x:.2f}")
        ratio = "-" if lr is None or not g else f"{lr / g:.2f}"
        print(f"| {name} | {fmt(lr)} | {fmt(g)} | {ratio} |")
    print(f"(graphile-worker runs: {len(gw)}. Latencies: lower is better, a ratio below 1 favours "
          "longrun. pickup: longrun create_time -> start_time on the server's clock (the Submit's "
          "commit and reply not included), graphile before addJob -> handler start, in one "
          "process. done: longrun before Submit -> done message on WatchOperation, graphile "
          "before addJob -> job row gone (polled every 1 ms).)")
    return 0 if gw and all(r[1] is not None and r[2] is not None for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
