#!/usr/bin/env python3
"""Benchmark: problem management at scale (issue #18).

1. A problem with N (5,000) linked incidents, each from its own customer: the time of
   `postdesk ingest --no-send` of the agent's `#broadcast` mail, which queues N personal mails in
   its one transaction, next to the same command for an ordinary agent reply on one incident (the
   process start, config and connection cost both share).
2. `postdesk serve` with the SMTP transport to the test Postfix: from its start until the N
   updates are sent (msgs/s).
3. Linking: 100 agent mails `#link P` against 100 ordinary agent replies, each set ingested in one
   run: the time per mail and the ratio.

SQLite by default; --pg URL (an admin URL such as postgres://postgres:postgres@127.0.0.1:5432/postgres)
runs the same on a fresh PostgreSQL database. Agents are verified by the relay (trusted_relay),
so the mails name tickets by subject tag.

  python3 tests/bench/problems.py [--n 5000] [--runs 3] [--pg URL] [--no-smtp] [--bin PATH]
"""
import argparse, os, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from servers import test_server  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
PD = os.path.join(ROOT, "target/release/postdesk")

CONFIG = """[database]
url = "{url}"
[identity]
name = "Bench Support"
address = "support@example.test"
subject_tag = "Support"
message_id_domain = "example.test"
[[mailboxes]]
name = "support"
kind = "maildir"
path = "{w}/maildir"
[transport]
{transport}
[[queues]]
name = "general"
[[agents]]
address = "alice@example.test"
name = "Alice Agent"
queues = ["general"]
[security]
agent_auth = "trusted_relay"
[problems]
confirm_above = 1000000
[limits]
auto_replies_per_hour = 1000000
"""


def mbox(path, mails):
    with open(path, "w") as f:
        for sender, m in mails:
            f.write("From %s Sat Nov 21 10:00:00 2026\n%s\n" % (sender, m.replace("\r\n", "\n")))


def customer(i, tag):
    a = "c%d-%s@customer%d.example" % (i, tag, i % 97)
    return a, ("From: Customer %d <%s>\nTo: support@example.test\nSubject: Printer broken %d\n"
               "Message-ID: <%d-%s@customer.example>\nDate: Sat, 21 Nov 2026 10:00:00 +0000\n\nIt does not print.\n"
               % (i, a, i, i, tag))


def agent(ticket, top, n):
    return "alice@example.test", ("From: Alice Agent <alice@example.test>\nTo: support@example.test\n"
                                  "Subject: Re: [Support #%d] Printer broken\nMessage-ID: <a%d-%d@example.test>\n"
                                  "Date: Sat, 21 Nov 2026 11:00:00 +0000\n\n%s\n" % (ticket, ticket, n, top))


class Db:
    """The bench database: a file for SQLite, a fresh database for PostgreSQL (psql)."""

    def __init__(self, w, pg):
        self.w, self.pg, self.name = w, pg, None
        if pg:
            self.name = "pd_bench_%d_%d" % (os.getpid(), int(time.time() * 1000) % 10 ** 8)
            subprocess.run(["psql", pg, "-qc", "CREATE DATABASE %s" % self.name], check=True)
            self.url = pg.rsplit("/", 1)[0] + "/" + self.name
        else:
            self.url = "sqlite://%s/pd.db" % w

    def q(self, sql):
        if self.pg:
            out = subprocess.run(["psql", self.url, "-qAtc", sql], check=True, capture_output=True, text=True).stdout
            return out.strip()
        db = sqlite3.connect("%s/pd.db" % self.w, timeout=60)
        try:
            r = db.executescript(sql) if ";" in sql.strip().rstrip(";") else db.execute(sql).fetchone()
            db.commit()
            return "" if r is None or isinstance(r, sqlite3.Cursor) else str(r[0])
        finally:
            db.close()

    def drop(self):
        if self.pg:
            subprocess.run(["psql", self.pg, "-qc", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.name])


def run(w, *args):
    t0 = time.perf_counter()
    p = subprocess.run([PD, "--config", w + "/pd.toml"] + list(args), capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("postdesk %s failed: %s" % (" ".join(args), p.stderr[-2000:]))
    return dt


def setup(base, name, n, pg, transport, link=True):
    """A desk with n incidents from n customers and one problem, linked by SQL when `link`."""
    w = os.path.join(base, name)
    os.makedirs(w)
    db = Db(w, pg)
    with open(os.path.join(w, "pd.toml"), "w") as f:
        f.write(CONFIG.format(url=db.url, w=w, transport=transport))
    tag = name
    mbox(os.path.join(w, "customers.mbox"), [customer(i, tag) for i in range(n)])
    run(w, "ingest", "--no-send", os.path.join(w, "customers.mbox"))
    problem = n + 1
    mbox(os.path.join(w, "problem.mbox"), [agent(1, "#problem Printers on floor 2 fail", 0)])
    run(w, "ingest", "--no-send", os.path.join(w, "problem.mbox"))
    assert db.q("SELECT ticket_type FROM tickets WHERE id = %d" % problem) == "problem"
    if link:
        db.q("INSERT INTO links (ticket_id, kind, other_id, created_at) SELECT id, 'problem', %d, 0 FROM tickets "
             "WHERE id NOT IN (1, %d); INSERT INTO links (ticket_id, kind, other_id, created_at) SELECT %d, 'incident', id, 0 "
             "FROM tickets WHERE id NOT IN (1, %d); UPDATE tickets SET ticket_type = 'incident' WHERE id <> %d;"
             % (problem, problem, problem, problem, problem))
    # Nothing queued so far counts: the acknowledgements are marked sent.
    db.q("UPDATE outbox SET status = 'sent'")
    return w, db, problem


def main():
    global PD
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pg", default=None, help="admin URL of a PostgreSQL server: run on PostgreSQL")
    ap.add_argument("--no-smtp", action="store_true", help="skip the delivery to Postfix")
    ap.add_argument("--bin", default=None, help="the postdesk binary to time")
    a = ap.parse_args()
    if a.bin:
        PD = a.bin
    if not os.path.exists(PD):
        subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    backend = "PostgreSQL" if a.pg else "SQLite"
    base = tempfile.mkdtemp(prefix="pdprob.")
    dbs = []
    try:
        with test_server("SMTP") as smtp:
            host, port = smtp.rsplit(":", 1)
            transport = 'kind = "smtp"\nhost = "%s"\nport = %s\ntls = "none"' % (host, port)
            bcast, reply, rates = [], [], []
            for r in range(a.runs):
                w, db, problem = setup(base, "b%d" % r, a.n, a.pg, transport)
                dbs.append(db)
                mbox(os.path.join(w, "reply.mbox"), [agent(2, "Thanks, we are looking into it.", 1)])
                reply.append(run(w, "ingest", "--no-send", os.path.join(w, "reply.mbox")))
                mbox(os.path.join(w, "bcast.mbox"), [agent(problem, "#broadcast\n\nThe print server was restarted.", 2)])
                bcast.append(run(w, "ingest", "--no-send", os.path.join(w, "bcast.mbox")))
                queued = int(db.q("SELECT COUNT(*) FROM outbox WHERE kind = 'problem_update'"))
                if queued != a.n:
                    sys.exit("queued %d updates, not %d" % (queued, a.n))
                if a.no_smtp:
                    continue
                log = open(os.path.join(w, "serve.log"), "w")
                t0 = time.perf_counter()
                p = subprocess.Popen([PD, "--config", w + "/pd.toml", "serve"], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
                count = "SELECT COUNT(*) FROM outbox WHERE kind = 'problem_update' AND status = 'sent'"
                while int(db.q(count) or 0) < a.n:
                    if time.perf_counter() - t0 > 600:
                        sys.exit("not delivered: %s of %d sent" % (db.q(count), a.n))
                    time.sleep(0.05)
                dt = time.perf_counter() - t0
                p.terminate()
                p.wait(timeout=30)
                rates.append(a.n / dt)
            print("%s, problem with %d incidents: ingest of the #broadcast mail median %.2f s (runs: %s); "
                  "an ordinary agent reply %.2f s" % (backend, a.n, statistics.median(bcast),
                                                     ", ".join("%.2f" % x for x in bcast), statistics.median(reply)))
            if rates:
                print("%s: the %d updates delivered to Postfix at median %.0f msgs/s (runs: %s), start of serve to the last"
                      % (backend, a.n, statistics.median(rates), ", ".join("%.0f" % x for x in rates)))

            # Linking by mail against ordinary replies, 100 of each per run.
            per_link, per_reply = [], []
            for r in range(a.runs):
                w, db, problem = setup(base, "l%d" % r, 200, a.pg, 'kind = "file"\ndir = "%s/outbox"' % os.path.join(base, "l%d" % r), link=False)
                dbs.append(db)
                mbox(os.path.join(w, "links.mbox"), [agent(t, "#link %d" % problem, 3) for t in range(2, 102)])
                mbox(os.path.join(w, "replies.mbox"), [agent(t, "Thanks, we are looking into it.", 4) for t in range(102, 201)] + [agent(1, "And this one.", 4)])
                per_reply.append(run(w, "ingest", "--no-send", os.path.join(w, "replies.mbox")) / 100)
                per_link.append(run(w, "ingest", "--no-send", os.path.join(w, "links.mbox")) / 100)
                # The incident the problem was opened from, and the 100 linked by mail.
                linked = int(db.q("SELECT COUNT(*) FROM links WHERE ticket_id = %d" % problem))
                if linked != 101:
                    sys.exit("linked %d, not 101" % linked)
            ml, mr = statistics.median(per_link), statistics.median(per_reply)
            print("%s: #link by mail %.1f ms per mail, an ordinary agent reply %.1f ms per mail: ratio %.2f (runs: %s)"
                  % (backend, ml * 1000, mr * 1000, ml / mr, ", ".join("%.2f" % (l / r) for l, r in zip(per_link, per_reply))))
    finally:
        for db in dbs:
            db.drop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
