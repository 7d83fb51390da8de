#!/usr/bin/env python3
"""Benchmark: one SLA sweep over a large database (issue #6).

Fills a database with N open tickets (default 1,000,000), each with a running first-response and
resolution clock, of which D (default 1,000) have their warning due; every warning notifies the
ticket's assignee (half are Alice's, half Bob's: each gets one sla_summary mail listing hers, or
with --notice-batch 100000 one sla_warning mail per ticket, composed and queued in the outbox). Then
runs `postdesk sla sweep --now T --no-send` and reads the sweep's own time (`elapsed_ms`,
measured inside the process around the sweep: the due clocks read through the partial index,
the events written, the mails rendered, composed and queued, in one transaction per 1,000
clocks). Between runs the fired clocks are set back and what the sweep wrote is deleted
(and, on PostgreSQL, the tables vacuumed).
Reports the median of --runs, on SQLite and on PostgreSQL.

  python3 tests/bench/sla_sweep.py [--tickets 1000000] [--due 1000] [--runs 5]
      [--backend sqlite|postgres|both] [--pg postgres://postgres:postgres@127.0.0.1:5432/postgres]
      [--events-only]  (a policy whose warning only records an event, no mail)
      [--notice-batch N]  ([scheduler] notice_batch; 100000: a mail per notice)
      [--keep DIR | --reuse DIR]  (fill the databases once, sweep them again later; there is one
                                   PostgreSQL database, pd_sla_bench: the last fill is what is reused)
      [--serve]  (time the sweeps `serve` runs on its schedule, from its log, instead of
                  `sla sweep`; the last column is then serve's first sweep)
      [--bin target/release/postdesk]
      [--baseline]  (--bin is a build from before notice_batch: a mail per notice, no such key)
"""
import argparse, atexit, json, os, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

NOW = 1_796_000_000_000          # 2026-11-30T00:53:20Z, the sweep's --now (--serve: the fill's time)


def rfc3339(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))
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
{scheduler}"""

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


def write_config(args, w, url):
    esc = "" if args.events_only else '{ at = "warning", notify = ["assignee"] }'
    with open(os.path.join(w, "pd.toml"), "w") as f:
        sched = "" if args.notice_batch is None or args.baseline else "[scheduler]\nnotice_batch = %d\n" % args.notice_batch
        f.write(CONFIG.format(url=url, w=w, escalate=esc, scheduler=sched))
    return [args.bin, "--config", os.path.join(w, "pd.toml")]


def prepare(args, backend, w):
    if backend == "sqlite":
        url = "sqlite://%s/pd.db" % w
    else:
        admin = args.pg
        psql(admin, "DROP DATABASE IF EXISTS pd_sla_bench")
        psql(admin, "CREATE DATABASE pd_sla_bench")
        url = admin.rsplit("/", 1)[0] + "/pd_sla_bench"
    pd = write_config(args, w, url)
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
        # What the runs updated and deleted leaves dead rows behind; autovacuum would clear
        # them in time, so every run starts from the state a fresh fill gives.
        psql(url, "VACUUM sla_clocks, tickets, events, outbox, messages")


def expected_mails(args):
    """Half the due tickets are Alice's, half Bob's: each gets one summary mail when that is
    more notices than the batch (10 unless --notice-batch says), else one mail per ticket."""
    batch = 10 if args.notice_batch is None else args.notice_batch
    if args.baseline:
        return args.due
    per_agent = [args.due - args.due // 2, args.due // 2]
    return sum(1 if n > batch else n for n in per_agent)


def serve_sweeps(args, w, backend, url):
    """Sweeps inside `serve` (its scheduler every 2 s, one connection kept open, templates
    compiled at start, as in production): each run sets the due clocks back and reads the time
    of the sweep that fires them from serve's log. The first is the connection's first sweep."""
    with open(os.path.join(w, "pd.toml"), "a") as f:
        f.write('[scheduler]\nsla_sweep = "*/2 * * * * *"\n' if args.notice_batch is None or args.baseline else
                'sla_sweep = "*/2 * * * * *"\n')
        f.write('[log]\nformat = "json"\nlevel = "info"\n')
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(w, "maildir", d), exist_ok=True)
    log = open(os.path.join(w, "serve.log"), "w")
    proc = subprocess.Popen([args.bin, "--config", os.path.join(w, "pd.toml"), "serve"],
                            stdout=log, stderr=subprocess.STDOUT)
    times, seen = [], 0
    try:
        for i in range(args.runs + 1):
            reset(backend, w, url, args)
            deadline = time.time() + 30
            while True:
                if time.time() > deadline or proc.poll() is not None:
                    sys.exit("no sweep of %d clocks in serve's log: %s" % (args.due, os.path.join(w, "serve.log")))
                time.sleep(0.2)
                lines = [json.loads(l) for l in open(os.path.join(w, "serve.log")) if '"SLA sweep"' in l]
                if len(lines) > seen:
                    seen = len(lines)
                    f = lines[-1]
                    if f["clocks"] != args.due or f["warnings"] != args.due or f["breaches"] != 0:
                        sys.exit("unexpected sweep: %s" % f)
                    if not args.events_only and f["mails"] != expected_mails(args):
                        sys.exit("expected %d mails: %s" % (expected_mails(args), f))
                    times.append(f["elapsed_ms"])
                    print("  run %d%s: %.1f ms (%s)" % (i, " (first sweep)" if i == 0 else "", f["elapsed_ms"], f), file=sys.stderr)
                    break
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return times[1:], times[0]


def bench(args, backend):
    global NOW
    if args.reuse:
        # A database an earlier --keep run filled: its folder has pd.toml (and pd.db).
        w = os.path.join(args.reuse, backend)
        url = open(os.path.join(w, "url")).read()
        if os.path.exists(os.path.join(w, "now")):
            NOW = int(open(os.path.join(w, "now")).read())
        if args.serve and not NOW - 60_000 < time.time() * 1000 < NOW + 50 * 60_000:
            sys.exit("--serve sweeps at the real time: fill the databases again (older than 50 min)")
        pd = write_config(args, w, url)
    else:
        w = os.path.join(args.keep, backend) if args.keep else tempfile.mkdtemp(prefix="pd-sla-bench.")
        os.makedirs(w, exist_ok=True)
        if not args.keep:
            # A filled SQLite database is about 450 MB: gone with the process, however it ends.
            atexit.register(shutil.rmtree, w, True)
        if args.serve:
            NOW = int(time.time()) * 1000
        pd, url = prepare(args, backend, w)
        open(os.path.join(w, "url"), "w").write(url)
        open(os.path.join(w, "now"), "w").write(str(NOW))
    if args.serve:
        times, first = serve_sweeps(args, w, backend, url)
        if backend == "postgres" and not (args.keep or args.reuse):
            psql(args.pg, "DROP DATABASE IF EXISTS pd_sla_bench")
        return statistics.median(times), min(times), max(times), first
    times = []
    for i in range(args.runs):
        reset(backend, w, url, args)
        out = run(pd + ["sla", "sweep", "--now", rfc3339(NOW), "--no-send"])
        r = json.loads(out.stdout)
        if r["warnings"] != args.due or r["clocks"] != args.due or r["breaches"] != 0:
            sys.exit("unexpected sweep result: %s" % r)
        if not args.events_only and r["mails"] != expected_mails(args):
            sys.exit("expected %d mails: %s" % (expected_mails(args), r))
        times.append(r["elapsed_ms"])
        print("  run %d: %.1f ms (%s)" % (i + 1, r["elapsed_ms"], out.stdout.strip()), file=sys.stderr)
    # And a sweep with nothing due: the cost of looking.
    empty = json.loads(run(pd + ["sla", "sweep", "--now", rfc3339(NOW), "--no-send"]).stdout)
    if backend == "postgres" and not (args.keep or args.reuse):
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
    ap.add_argument("--notice-batch", type=int, help="[scheduler] notice_batch (10 by default): "
                    "a large number gives every notice a mail of its own")
    ap.add_argument("--baseline", action="store_true", help="--bin predates [scheduler] notice_batch "
                    "(a mail per notice, no such key in the config): to compare with older code")
    ap.add_argument("--serve", action="store_true", help="time the sweeps of a running `serve`")
    ap.add_argument("--keep", help="fill the databases under this folder and keep them")
    ap.add_argument("--reuse", help="sweep the databases an earlier --keep filled there")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/postdesk"))
    args = ap.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    what = "events only" if args.events_only else "notices: %d mails" % expected_mails(args)
    for b in backends:
        med, lo, hi, empty = bench(args, b)
        print("%-8s %d open tickets, %d due (%s): %s median %.1f ms (min %.1f, max %.1f, %d runs); %s: %.1f ms"
              % (b, args.tickets, args.due, what, "serve's sweeps" if args.serve else "sweep", med, lo, hi,
                 args.runs, "its first sweep" if args.serve else "nothing due", empty))


if __name__ == "__main__":
    main()
