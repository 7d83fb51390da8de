#!/usr/bin/env python3
"""Benchmark: full-text search over a large index (issue #20).

A fresh database (SQLite, or PostgreSQL with --pg URL) is migrated by postdesk, then filled
directly with 100,000 tickets and N indexed messages (default 1,000,000) of 20 words each, drawn
with a Zipf distribution from 20,000 made-up words that both stemmers leave as they are (so the
stems the index holds are the words). Then `postdesk search --json W1 W2` is run for Q queries of
two words drawn the same way (common and rare words alike) and timed from the start of the process
to its exit: p50 and p95 of the wall time, and how many results the queries had.

  python3 tests/bench/search.py [--docs 1000000] [--queries 200] [--pg URL] [--bin PATH]
"""
import argparse, json, os, random, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

CONFIG = """[database]
url = "{url}"
[identity]
name = "Bench Support"
address = "support@example.test"
subject_tag = "Support"
message_id_domain = "example.test"
[transport]
kind = "file"
dir = "{w}/outbox"
[[queues]]
name = "general"
"""

VOCAB = ["v%dx" % i for i in range(20000)]
TICKETS = 100_000


def zipf_sampler(rng, n):
    """Word k with probability about 1/k (log-uniform ranks: Zipf with exponent 1)."""
    return lambda: VOCAB[int(n ** rng.random()) - 1]


def fill_sqlite(path, docs, rng):
    word = zipf_sampler(rng, len(VOCAB))
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")
    db.executemany(
        "INSERT INTO tickets (id, subject, status, priority, queue, requester, tags, sla_breached, "
        "created_at, updated_at, time_spent_ms) VALUES (?, ?, 'open', 'normal', 'general', ?, '[]', 0, 0, 0, 0)",
        ((i, "Ticket %d %s %s" % (i, word(), word()), "c%d@example.com" % i) for i in range(1, TICKETS + 1)))
    batch = []
    for i in range(docs):
        text = " ".join(word() for _ in range(20))
        batch.append((text, "message", 1 + i % TICKETS, text))
        if len(batch) == 20000:
            db.executemany("INSERT INTO search_docs (stems, kind, ticket_id, text) VALUES (?, ?, ?, ?)", batch)
            batch = []
    if batch:
        db.executemany("INSERT INTO search_docs (stems, kind, ticket_id, text) VALUES (?, ?, ?, ?)", batch)
    db.commit()
    db.execute("INSERT INTO search_docs(search_docs) VALUES ('optimize')")
    db.commit()
    db.close()


def fill_pg(url, docs, rng):
    # The same distribution, drawn by PostgreSQL itself (the rows never cross the socket).
    n = len(VOCAB)
    w = f"('v' || (floor(power({n}, random())) - 1)::int || 'x')"
    sql = f"""
INSERT INTO tickets (id, subject, status, priority, queue, requester, tags, sla_breached, created_at, updated_at, time_spent_ms)
  SELECT g, 'Ticket ' || g || ' ' || {w} || ' ' || {w}, 'open', 'normal', 'general', 'c' || g || '@example.com', '[]', false, 0, 0, 0
  FROM generate_series(1, {TICKETS}) g;
SELECT setval(pg_get_serial_sequence('tickets', 'id'), {TICKETS});
INSERT INTO search_docs (kind, ticket_id, text, stems)
  SELECT 'message', 1 + g % {TICKETS}, t, to_tsvector('simple', t)
  FROM (SELECT g, (SELECT string_agg({w}, ' ') FROM generate_series(1, 20) k WHERE g > 0) AS t
        FROM generate_series(1, {docs}) g) s;
ANALYZE search_docs;
"""
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url], input=sql, text=True, check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--pg", default=None, help="a PostgreSQL server URL (a database pdbench_search is made there)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/postdesk"))
    a = ap.parse_args()
    rng = random.Random(20)
    w = tempfile.mkdtemp(prefix="pdsearch.")
    try:
        if a.pg:
            base = a.pg.rsplit("/", 1)[0]
            subprocess.run(["psql", "-q", a.pg, "-c", "DROP DATABASE IF EXISTS pdbench_search"], check=True)
            subprocess.run(["psql", "-q", a.pg, "-c", "CREATE DATABASE pdbench_search"], check=True)
            url = base + "/pdbench_search"
        else:
            url = "sqlite://%s/pd.db" % w
        open(os.path.join(w, "pd.toml"), "w").write(CONFIG.format(url=url, w=w))
        pd = [a.bin, "--config", os.path.join(w, "pd.toml")]
        subprocess.run(pd + ["migrate"], check=True, capture_output=True)
        t0 = time.perf_counter()
        if a.pg:
            fill_pg(url, a.docs, rng)
        else:
            fill_sqlite(os.path.join(w, "pd.db"), a.docs, rng)
        print("filled %d messages and %d tickets in %.0f s" % (a.docs, TICKETS, time.perf_counter() - t0))
        word = zipf_sampler(rng, len(VOCAB))
        times, found = [], []
        for i in range(a.queries + 5):
            q = [word(), word()]
            t = time.perf_counter()
            out = subprocess.run(pd + ["search", "--json"] + q, check=True, capture_output=True, text=True).stdout
            dt = (time.perf_counter() - t) * 1000
            if i >= 5:  # (the first runs warm the page cache)
                times.append(dt)
                found.append(len(json.loads(out)))
        times.sort()
        p = lambda q: times[min(len(times) - 1, int(round(q * (len(times) - 1))))]
        print("search over %d messages (%s): p50 %.1f ms, p95 %.1f ms, max %.1f ms (whole process); %d of %d queries found something, %.1f results on average" % (
            a.docs, "postgres" if a.pg else "sqlite", p(0.5), p(0.95), times[-1], sum(1 for f in found if f), len(found),
            statistics.mean(found)))
    finally:
        shutil.rmtree(w, ignore_errors=True)
        if a.pg:
            subprocess.run(["psql", "-q", a.pg, "-c", "DROP DATABASE IF EXISTS pdbench_search"])


if __name__ == "__main__":
    main()
