#!/usr/bin/env python3
"""Benchmark: `postdesk ingest` end to end on generated mail (issue #2).

Generates N realistic mails (tests/bench/gen-mail.py: 70 % new conversations, 30 % replies by
headers, 1-4 KB bodies, 10 % with a 20 KB attachment, 10 % HTML multipart/alternative) and
times, into a fresh SQLite database each run, including the acknowledgements written by the
file outbox:
  batch: one `postdesk ingest DIR` of N mails;
  pipe:  one `postdesk ingest -` process per mail (the MTA pipe mode), for M mails.
Reports the median over --runs of wall-clock msgs/s and CPU ms per mail (user+sys of the
postdesk processes, from getrusage).

  python3 tests/bench/ingest.py [--batch 5000] [--pipe 200] [--runs 3] [--bin target/release/postdesk]
"""
import argparse, json, os, resource, shutil, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

CONFIG = """[database]
url = "sqlite://{w}/pd.db"
[identity]
name = "Bench Support"
address = "support@bench.local"
subject_tag = "Support"
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
# The generator reuses a few hundred senders; lift the per-address cap on automatic mail so every
# new ticket is acknowledged, as in the figures before the cap existed.
[limits]
auto_replies_per_hour = 1000000
"""


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def fresh(base, i):
    w = os.path.join(base, "run%d" % i)
    shutil.rmtree(w, ignore_errors=True)
    os.makedirs(os.path.join(w, "outbox"))
    with open(os.path.join(w, "pd.toml"), "w") as f:
        f.write(CONFIG.format(w=w))
    return w


def check_result(pd, w, n_expected_tickets, n_mails):
    out = subprocess.run([pd, "--config", w + "/pd.toml", "tickets", "--json"], capture_output=True, check=True)
    tickets = json.loads(out.stdout)
    acks = len(os.listdir(w + "/outbox"))
    if len(tickets) != n_expected_tickets or acks != n_expected_tickets:
        sys.exit("wrong result: %d tickets, %d acks, expected %d" % (len(tickets), acks, n_expected_tickets))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--pipe", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/postdesk"))
    a = ap.parse_args()
    if not os.path.exists(a.bin):
        subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    pd = a.bin
    base = tempfile.mkdtemp(prefix="pdbench.")
    gen = os.path.join(base, "gen")
    subprocess.run([sys.executable, os.path.join(HERE, "gen-mail.py"), "-n", str(a.batch), "-o", gen,
                    "--no-tag", "--to", "support@bench.local", "--seed", "7"], check=True, capture_output=True)
    manifest = [json.loads(l) for l in open(os.path.join(gen, "manifest.jsonl"))]
    new_all = sum(1 for m in manifest if m["kind"] == "new")
    files = sorted(f for f in os.listdir(gen) if f.endswith(".eml"))

    def measure(label, n, expected_tickets, first_run, ingest):
        """Runs `ingest(w)` into fresh work dirs; prints median msgs/s and CPU ms per mail."""
        rates, cpus = [], []
        for i in range(a.runs):
            w = fresh(base, first_run + i)
            subprocess.run([pd, "--config", w + "/pd.toml", "migrate"], check=True, capture_output=True)
            c0, t0 = children_cpu(), time.perf_counter()
            ingest(w)
            dt, dc = time.perf_counter() - t0, children_cpu() - c0
            check_result(pd, w, expected_tickets, n)
            rates.append(n / dt)
            cpus.append(dc * 1000 / n)
        print("%-5s N=%d: median %.0f msgs/s (runs: %s), CPU %.3f ms/mail" % (
            label, n, statistics.median(rates), ", ".join("%.0f" % r for r in rates), statistics.median(cpus)))

    def batch(w):
        subprocess.run([pd, "--config", w + "/pd.toml", "ingest", "--mailbox", "support", gen], check=True, capture_output=True)

    def pipe(w):
        for f in files[:a.pipe]:
            with open(os.path.join(gen, f), "rb") as fh:
                subprocess.run([pd, "--config", w + "/pd.toml", "ingest", "--mailbox", "support", "-"], stdin=fh, check=True, capture_output=True)

    measure("batch", a.batch, new_all, 0, batch)
    measure("pipe", a.pipe, sum(1 for m in manifest[:a.pipe] if m["kind"] == "new"), 100, pipe)
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
