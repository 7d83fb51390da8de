#!/usr/bin/env python3
"""Benchmark: approval answers by mail against agent replies (issue #19).

A fresh SQLite desk (or PostgreSQL with --pg URL) with N (1,000) tickets, each a change of high
risk whose one-step chain asks boss@example.test; then, in one `ingest --no-send` run each, N
approver answers (`#approve`, each to its signed reply address, which also queues a receipt and
the outcome) and N ordinary agent replies (text to the customer) on the same tickets. Reports
the time per mail of each (median of --runs fresh desks) and their ratio.

  python3 tests/bench/approvals.py [--n 1000] [--runs 3] [--pg URL] [--bin PATH]
"""
import argparse, os, re, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

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
kind = "file"
dir = "{w}/outbox"
[[queues]]
name = "general"
[[agents]]
address = "alice@example.test"
name = "Alice Agent"
queues = ["general"]
[security]
agent_auth = "trusted_relay"
[limits]
auto_replies_per_hour = 1000000
[[approvals]]
name = "cab"
steps = [ {{ approvers = ["boss@example.test"] }} ]
[changes]
approval = {{ high = "cab" }}
"""


def mbox(path, mails):
    with open(path, "w") as f:
        for sender, m in mails:
            f.write("From %s Sat Nov 21 10:00:00 2026\n%s\n" % (sender, m.replace("\r\n", "\n")))


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("%s failed: %s" % (" ".join(cmd), r.stderr))
    return r


def one(a, w, url):
    cfg = os.path.join(w, "pd.toml")
    open(cfg, "w").write(CONFIG.format(url=url, w=w))
    pd = [a.bin, "--config", cfg]
    run(pd + ["migrate"])
    n = a.n
    mbox(os.path.join(w, "open.mbox"), [("c%d@example.com" % i,
        "From: c%d@example.com\r\nTo: support@example.test\r\nSubject: Move server %d\r\nMessage-ID: <c%d@example.com>\r\n\r\nPlease move it.\r\n" % (i, i, i))
        for i in range(1, n + 1)])
    run(pd + ["ingest", "--no-send", os.path.join(w, "open.mbox")])
    mbox(os.path.join(w, "change.mbox"), [("alice@example.test",
        "From: alice@example.test\r\nTo: support@example.test\r\nSubject: Re: [Support #%d] Move server\r\nMessage-ID: <ch%d@example.test>\r\n\r\n#type change\r\n#set risk high\r\n" % (i, i))
        for i in range(1, n + 1)])
    run(pd + ["ingest", "--no-send", os.path.join(w, "change.mbox")])
    # The approvers' signed reply addresses, from the queued requests.
    raws = []
    if url.startswith("sqlite"):
        db = sqlite3.connect(os.path.join(w, "desk.db"))
        raws = [r[0] for r in db.execute("SELECT raw FROM outbox WHERE kind = 'approval_request' ORDER BY id")]
    else:
        out = subprocess.run(["psql", "-At", "-R", "\x1e", url, "-c",
                              "SELECT convert_from(raw, 'UTF8') FROM outbox WHERE kind = 'approval_request' ORDER BY id"],
                             capture_output=True, check=True).stdout
        raws = [x for x in out.split(b"\x1e") if x.strip()]
    tos = []
    for raw in raws:
        text = raw.decode() if isinstance(raw, bytes) else raw
        m = re.search(r"Reply-To: [^\r\n]*<([^>]+)>", text)
        tos.append(m.group(1))
    assert len(tos) == n, "%d approval requests" % len(tos)
    mbox(os.path.join(w, "approve.mbox"), [("boss@example.test",
        "From: boss@example.test\r\nTo: %s\r\nSubject: Re: approval\r\nMessage-ID: <ap%d@example.test>\r\n\r\n#approve fine\r\n" % (to, i))
        for i, to in enumerate(tos)])
    mbox(os.path.join(w, "reply.mbox"), [("alice@example.test",
        "From: alice@example.test\r\nTo: support@example.test\r\nSubject: Re: [Support #%d] Move server\r\nMessage-ID: <re%d@example.test>\r\n\r\nWe move it on Saturday.\r\n" % (i, i))
        for i in range(1, n + 1)])
    times = {}
    for name in ("approve", "reply"):
        t = time.perf_counter()
        run(pd + ["ingest", "--no-send", os.path.join(w, name + ".mbox")])
        times[name] = (time.perf_counter() - t) / n * 1000
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pg")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/postdesk"))
    a = ap.parse_args()
    results = []
    for r in range(a.runs):
        w = tempfile.mkdtemp(prefix="pd-appr.")
        try:
            if a.pg:
                subprocess.run(["psql", "-q", a.pg, "-c", "DROP DATABASE IF EXISTS pdbench_appr"], check=True)
                subprocess.run(["psql", "-q", a.pg, "-c", "CREATE DATABASE pdbench_appr"], check=True)
                url = a.pg.rsplit("/", 1)[0] + "/pdbench_appr"
            else:
                url = "sqlite://%s/desk.db" % w
            t = one(a, w, url)
            print("run %d: approval answer %.2f ms/mail, agent reply %.2f ms/mail (ratio %.2f)"
                  % (r + 1, t["approve"], t["reply"], t["approve"] / t["reply"]))
            results.append(t)
        finally:
            shutil.rmtree(w, ignore_errors=True)
    ap_, re_ = statistics.median(x["approve"] for x in results), statistics.median(x["reply"] for x in results)
    print("%s, %d mails: approval answers %.2f ms/mail, agent replies %.2f ms/mail, ratio %.2f (medians of %d)"
          % ("postgres" if a.pg else "sqlite", a.n, ap_, re_, ap_ / re_, a.runs))


if __name__ == "__main__":
    main()
