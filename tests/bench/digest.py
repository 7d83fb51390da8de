#!/usr/bin/env python3
"""Benchmark: rendering one digest over a large database (issue #7).

Fills a database with N tickets (default 100,000): 30 % open (new, open, pending), the rest
resolved over the last 30 days, with first responses, SLA clocks, some breached and some due
soon, spread over 4 queues and 10 agents. Then times `postdesk digest weekly --dry-run --now T`
(the time the command reports for gathering the figures and rendering the mail, without process
start) and reports the median of --runs, on SQLite and on PostgreSQL.

  python3 tests/bench/digest.py [--tickets 100000] [--runs 5] [--backend sqlite|postgres|both]
      [--pg postgres://postgres:postgres@127.0.0.1:5432/postgres] [--bin target/release/postdesk]
"""
import argparse, os, re, shutil, sqlite3, statistics, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# The same fixed "now", and the same helpers to run commands and SQL, as the sweep benchmark.
sys.path.insert(0, HERE)
from sla_sweep import NOW, psql, rfc3339, run  # noqa: E402

NOW_RFC = rfc3339(NOW)

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
queue = "q0"
[transport]
kind = "file"
dir = "{w}/outbox"
{queues}
[[calendars]]
name = "office"
timezone = "Europe/Berlin"
hours = {{ mon = "09:00-17:00", tue = "09:00-17:00", wed = "09:00-17:00", thu = "09:00-17:00", fri = "09:00-17:00" }}
[[sla]]
name = "standard"
calendar = "office"
first_response = {{ normal = "4h" }}
resolution = {{ normal = "24h" }}
[[digests]]
name = "weekly"
cron = "0 0 8 * * Mon"
timezone = "Europe/Berlin"
to = ["boss@bench.local"]
period = "7d"
"""

ROWS = """
INSERT INTO tickets (subject, status, priority, queue, requester, assignee, tags, sla_policy,
    first_response_due, resolution_due, sla_breached, first_response_at, created_at, updated_at, resolved_at)
SELECT 'Ticket ' || n,
       CASE WHEN n % 10 < 7 THEN 'resolved' WHEN n % 10 = 7 THEN 'new' WHEN n % 10 = 8 THEN 'open' ELSE 'pending' END,
       'normal', 'q' || (n % 4), 'c' || (n % 5000) || '@customer.example', 'agent' || (n % 10) || '@bench.local', '[]', 'standard',
       {now} - 2 * 3600000 + (n % 97) * 600000, {now} + (n % 50) * 3600000, n % 13 = 0,
       CASE WHEN n % 10 = 7 THEN NULL ELSE {now} - (n % 720) * 3600000 + 3600000 END,
       {now} - (n % 720) * 3600000, {now}, CASE WHEN n % 10 < 7 THEN {now} - (n % 700) * 3600000 ELSE NULL END
FROM {series};
INSERT INTO sla_clocks (ticket_id, target, target_ms, started_at, stage, breached, stopped_at)
SELECT id, 'first_response', 14400000, created_at, 2, sla_breached, first_response_at FROM tickets;
INSERT INTO sla_clocks (ticket_id, target, target_ms, started_at, stage, breached, stopped_at)
SELECT id, 'resolution', 86400000, created_at, 0, id % 17 = 0, NULL FROM tickets;
"""


def bench(args, backend):
    w = tempfile.mkdtemp(prefix="pd-digest-bench.")
    try:
        return bench_in(args, backend, w)
    finally:
        shutil.rmtree(w, ignore_errors=True)


def bench_in(args, backend, w):
    if backend == "sqlite":
        url = "sqlite://%s/pd.db" % w
    else:
        psql(args.pg, "DROP DATABASE IF EXISTS pd_digest_bench")
        psql(args.pg, "CREATE DATABASE pd_digest_bench")
        url = args.pg.rsplit("/", 1)[0] + "/pd_digest_bench"
    queues = "".join('[[queues]]\nname = "q%d"\nsla = "standard"\n' % i for i in range(4))
    with open(os.path.join(w, "pd.toml"), "w") as f:
        f.write(CONFIG.format(url=url, w=w, queues=queues))
    pd = [args.bin, "--config", os.path.join(w, "pd.toml")]
    run(pd + ["migrate"])
    t0 = time.time()
    if backend == "sqlite":
        series = "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %d) SELECT n FROM s)" % args.tickets
        db = sqlite3.connect(os.path.join(w, "pd.db"))
        db.executescript(ROWS.format(series=series, now=NOW))
        db.execute("ANALYZE")
        db.commit()
        db.close()
    else:
        psql(url, ROWS.format(series="generate_series(1::bigint, %d) AS n" % args.tickets, now=NOW))
        psql(url, "VACUUM ANALYZE")
    print("  %s: %d tickets written in %.0f s" % (backend, args.tickets, time.time() - t0), file=sys.stderr)
    times = []
    for i in range(args.runs):
        out = run(pd + ["digest", "weekly", "--dry-run", "--now", NOW_RFC])
        m = re.search(r"rendered in ([0-9.]+) ms", out.stderr)
        if not m or "OPEN TICKETS" not in out.stdout.replace("=\r\n", ""):
            sys.exit("unexpected digest output: %s" % out.stderr)
        times.append(float(m.group(1)))
        print("  run %d: %.1f ms" % (i + 1, times[-1]), file=sys.stderr)
    if backend == "postgres":
        psql(args.pg, "DROP DATABASE IF EXISTS pd_digest_bench")
    return statistics.median(times), min(times), max(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--backend", default="both")
    ap.add_argument("--pg", default=os.environ.get("POSTDESK_TEST_PG", "postgres://postgres:postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/postdesk"))
    args = ap.parse_args()
    for b in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        med, lo, hi = bench(args, b)
        print("%-8s digest over %d tickets: median %.1f ms (min %.1f, max %.1f, %d runs)" % (b, args.tickets, med, lo, hi, args.runs))


if __name__ == "__main__":
    main()
