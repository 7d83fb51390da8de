#!/usr/bin/env python3
"""Benchmark: one SLA sweep over a large database (issue #6).

Fills a database with N open tickets (default 1,000,000), each with a running first-response and
resolution clock, of which D (default 1,000) have their warning due; every warning notifies the
ticket's assignee (one sla_warning mail per ticket, composed and queued in the outbox). Then
runs `postdesk sla sweep --now T --no-send` and reads the sweep's own time (`elapsed_ms`,
measured inside the process around the sweep: the due clocks read through the partial index,
the events written, the mails rendered, composed and queued, in one transaction per 1,000
clocks). Between runs the fired clocks are set back and what the sweep wrote is deleted.
Reports the median of --runs, on SQLite and on PostgreSQL.

  python3 tests/bench/sla_sweep.py [--tickets 1000000] [--due 1000] [--runs 5]
      [--backend sqlite|postgres|both] [--pg postgres://postgres:postgres@127.0.0.1:5432/postgres]
      [--events-only]  (a policy whose warning only records an event, no mail)
      [--bin target/release/postdesk]
"""
import argparse, json, os, sqlite3, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

NOW = 1_796_000_000_000          # 2026-11-30T…Z, the sweep's --now
NOW_RFC = "2026-11-30T00:53:20Z"
H = 3_600_000

CONFIG = """[database]
url = "{url}"
[identity]
name = "Bench Support"
address = "support@bench.local"
message_id_domain = "bench.local"
[[mailboxes]]
name = "support"
kind = "maildir"
path = "{w}/maildir"
queue = "general"
[transport]
kind = "file"
dir = "{w}/outbox"
[[queues]]
name = "general"
sla = "standard"
[[agents]]
address = "alice@bench.local"
queues = ["general"]
[[agents]]
address = "bob@bench.local"
queues = ["general"]
[[sla]]
name = "standard"
first_response = {{ normal = "4h" }}
resolution = {{ normal = "24h" }}
warn_at = 0.5
escalate = [ {escalate} ]
"""

SCHEMA_ROWS = """
INSERT INTO tickets (subject, status, priority, queue, requester, assignee, tags, sla_policy,
                     first_response_due, resolution_due, sla_breached, created_at, updated_at)
SELECT 'Ticket ' || n, 'open', 'normal', 'general', 'c' || n || '@customer.example',
       CASE WHEN n % 2 = 0 THEN 'alice@bench.local' ELSE 'bob@bench.local' END, '[]', 'standard',
       {due}, {due} + 20 * 3600000, {false}, {now} - 3600000, {now} - 3600000
FROM {series};
INSERT INTO sla_clocks (ticket_id, target, target_ms, started_at, warn_at, due_at, stage, breached, next_check)
SELECT id, 'first_response', 14400000, {now} - 3600000,
       CASE WHEN id <= {d} THEN {now} - 60000 ELSE {now} + 3600000 + id END,
       CASE WHEN id <= {d} THEN {now} + 3600000 ELSE {now} + 7200000 + id END,
       0, {false},
       CASE WHEN id <= {d} THEN {now} - 60000 ELSE {now} + 3600000 + id END
FROM tickets;
INSERT INTO sla_clocks (ticket_id, target, target_ms, started_at, warn_at, due_at, stage, breached, next_check)
SELECT id, 'resolution', 86400000, {now} - 3600000, {now} + 10 * 3600000, {now} + 20 * 3600000,
       0, {false}, {now} + 10 * 3600000
FROM tickets;
"""

RESET = """
DELETE FROM outbox;
DELETE FROM messages;
DELETE FROM events;
UPDATE sla_clocks SET stage = 0, next_check = {now} - 60000
 WHERE target = 'first_response' AND ticket_id <= {d};
"""


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def psql(url, sql):
    run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql])


def prepare(args, backend, w):
    if backend == "sqlite":
        url = "sqlite://%s/pd.db" % w
    else:
        admin = args.pg
        psql(admin, "DROP DATABASE IF EXISTS pd_sla_bench")
        psql(admin, "CREATE DATABASE pd_sla_bench")
        url = admin.rsplit("/", 1)[0] + "/pd_sla_bench"
    esc = "" if args.events_only else '{ at = "warning", notify = ["assignee"] }'
    with open(os.path.join(w, "pd.toml"), "w") as f:
        f.write(CONFIG.format(url=url, w=w, escalate=esc))
    pd = [args.bin, "--config", os.path.join(w, "pd.toml")]
    run(pd + ["migrate"])
    t0 = time.time()
    if backend == "sqlite":
        series = "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %d) SELECT n FROM s)" % args.tickets
        sql = SCHEMA_ROWS.format(series=series, false=0, now=NOW, d=args.due, due=NOW + 3 * H)
        db = sqlite3.connect(os.path.join(w, "pd.db"))
        db.executescript(sql)
        db.execute("ANALYZE")
        db.commit()
        db.close()
    else:
        series = "generate_series(1, %d) AS n" % args.tickets
        sql = SCHEMA_ROWS.format(series=series, false="FALSE", now=NOW, d=args.due, due=NOW + 3 * H)
        psql(url, sql)
        psql(url, "VACUUM ANALYZE")
    print("  %s: %d tickets, %d clocks written in %.0f s" % (backend, args.tickets, 2 * args.tickets, time.time() - t0), file=sys.stderr)
    return pd, url


def reset(backend, w, url, args):
    sql = RESET.format(now=NOW, d=args.due)
    if backend == "sqlite":
        db = sqlite3.connect(os.path.join(w, "pd.db"))
        db.executescript(sql)
        db.commit()
        db.close()
    else:
        psql(url, sql)


def bench(args, backend):
    w = tempfile.mkdtemp(prefix="pd-sla-bench.")
    pd, url = prepare(args, backend, w)
    times = []
    for i in range(args.runs):
        reset(backend, w, url, args)
        out = run(pd + ["sla", "sweep", "--now", NOW_RFC, "--no-send"])
        r = json.loads(out.stdout)
        if r["warnings"] != args.due or r["clocks"] != args.due:
            sys.exit("unexpected sweep result: %s" % r)
        if not args.events_only and r["mails"] != args.due:
            sys.exit("expected %d mails: %s" % (args.due, r))
        times.append(r["elapsed_ms"])
        print("  run %d: %.1f ms (%s)" % (i + 1, r["elapsed_ms"], out.stdout.strip()), file=sys.stderr)
    # And a sweep with nothing due: the cost of looking.
    empty = json.loads(run(pd + ["sla", "sweep", "--now", NOW_RFC, "--no-send"]).stdout)
    if backend == "postgres":
        psql(args.pg, "DROP DATABASE IF EXISTS pd_sla_bench")
    return statistics.median(times), min(times), max(times), empty["elapsed_ms"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--due", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--backend", default="both")
    ap.add_argument("--pg", default=os.environ.get("POSTDESK_TEST_PG", "postgres://postgres:postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--events-only", action="store_true")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/postdesk"))
    args = ap.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    what = "events only" if args.events_only else "one sla_warning mail each"
    for b in backends:
        med, lo, hi, empty = bench(args, b)
        print("%-8s %d open tickets, %d due (%s): sweep median %.1f ms (min %.1f, max %.1f, %d runs); nothing due: %.1f ms"
              % (b, args.tickets, args.due, what, med, lo, hi, args.runs, empty))


if __name__ == "__main__":
    main()
