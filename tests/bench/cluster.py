#!/usr/bin/env python3
"""Benchmark: several `serve` instances on one PostgreSQL (issue #8).

  throughput: N mails (tests/bench/gen-mail.py, new tickets) appended to 3 IMAP folders of the
              test Dovecot; then 1, 2 or 3 `serve` instances, on a fresh PostgreSQL database and
              sending acknowledgements through the test Postfix, are started together and timed
              until every mail is stored (intake) and until every acknowledgement is accepted by
              Postfix (end to end). Median of --runs for each instance count.
  memory:     resident memory (VmRSS) of one instance reading 10 IMAP mailboxes on PostgreSQL,
              after it stored a backlog of 100 mails per mailbox and sent their acknowledgements,
              and then idle.

Needs tests/servers.sh's Dovecot and Postfix (started in a temp dir unless POSTDESK_TEST_IMAP and
POSTDESK_TEST_SMTP are set), PostgreSQL on 127.0.0.1:5432 (POSTDESK_TEST_PG, as tests/run.sh sets
it) and a release build.

  python3 tests/bench/cluster.py [-n 6000] [--runs 3]
"""
import argparse, contextlib, imaplib, os, re, shutil, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from servers import test_servers  # noqa: E402
from imap import MAILBOX, imap  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
PD = os.path.join(ROOT, "target/release/postdesk")
ADMIN = os.environ.get("POSTDESK_TEST_PG", "postgres://postgres:postgres@127.0.0.1:5432/postgres")

CONFIG = """[database]
url = "{url}"
[identity]
name = "Bench Support"
address = "support@example.test"
subject_tag = "Support"
message_id_domain = "example.test"
[transport]
kind = "smtp"
host = "{shost}"
port = {sport}
tls = "none"
[[queues]]
name = "general"
[cluster]
lease = "6s"
# The generator reuses a few hundred senders; lift the per-address cap on automatic mail so every
# new ticket is acknowledged.
[limits]
auto_replies_per_hour = 1000000
"""



def psql(url, sql):
    out = subprocess.run(["psql", url, "-tAqc", sql], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return out.stdout.strip()


@contextlib.contextmanager
def database():
    name = "pd_bench_%d_%d" % (os.getpid(), int(time.time() * 1000) % 10**8)
    psql(ADMIN, "CREATE DATABASE %s" % name)
    try:
        yield ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        psql(ADMIN, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)


def fill(addr, mails, n_folders, tag):
    """New folders holding `mails` spread over them; returns their names."""
    names = ["bench%s%d_%x" % (tag, i, int(time.time() * 1000) % 10**9) for i in range(n_folders)]
    m = imap(addr)
    for f in names:
        m.create(f)
    for i, raw in enumerate(mails):
        m.append(names[i % n_folders], None, None, raw)
    m.logout()
    return names


def drop(addr, names):
    m = imap(addr)
    for f in names:
        m.delete(f)
    m.logout()


def workdir(base, label, url, imap_addr, smtp_addr, folders):
    w = os.path.join(base, label)
    os.makedirs(w)
    host, port = imap_addr.rsplit(":", 1)
    shost, sport = smtp_addr.rsplit(":", 1)
    text = CONFIG.format(url=url, shost=shost, sport=sport) + "".join(
        MAILBOX.format(name="mb%d" % i, host=host, port=port, folder=f) for i, f in enumerate(folders))
    with open(os.path.join(w, "pd.toml"), "w") as f:
        f.write(text)
    subprocess.run([PD, "--config", w + "/pd.toml", "migrate"], check=True, capture_output=True)
    return w


def start(w, i):
    log = open(os.path.join(w, "serve%d.log" % i), "w")
    return subprocess.Popen([PD, "--config", w + "/pd.toml", "serve"], cwd=w, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log)


def stop(procs):
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=20)


def busy():
    """(busy, total) CPU ticks of the whole machine so far."""
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def cpu_seconds(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def throughput(imap_addr, smtp_addr, base, mails, instances, runs):
    n = len(mails)
    intake, end = [], []
    for r in range(runs):
        folders = fill(imap_addr, mails, 3, "t")
        with database() as url:
            w = workdir(base, "t%d_%d" % (instances, r), url, imap_addr, smtp_addr, folders)
            t0 = time.perf_counter()
            b0 = busy()
            procs = [start(w, i) for i in range(instances)]
            stored_at = None
            while True:
                stored = int(psql(url, "SELECT COUNT(*) FROM inbound"))
                if stored == n and stored_at is None:
                    stored_at = time.perf_counter() - t0
                if stored_at is not None and int(psql(url, "SELECT COUNT(*) FROM outbox WHERE status <> 'sent'")) == 0:
                    break
                if time.perf_counter() - t0 > 600:
                    sys.exit("not drained after 600 s: %d stored" % stored)
                time.sleep(0.02)
            done = time.perf_counter() - t0
            b1 = busy()
            ours = sum(cpu_seconds(p.pid) for p in procs)
            machine = (b1[0] - b0[0]) / max(1, b1[1] - b0[1])
            stop(procs)
            per = psql(url, "SELECT string_agg(n::text, '/') FROM (SELECT COUNT(*) AS n FROM inbound GROUP BY mailbox ORDER BY mailbox) x")
        drop(imap_addr, folders)
        intake.append(n / stored_at)
        end.append(n / done)
        print("  %d instance(s), run %d: stored in %.1f s, acknowledged in %.1f s (mails per mailbox %s); "
              "machine CPU %.0f %% busy, postdesk %.1f CPU-s of %.1f (%.2f ms per mail)" % (
                  instances, r + 1, stored_at, done, per, machine * 100, ours,
                  done * os.cpu_count(), ours * 1000 / n), flush=True)
    return statistics.median(intake), statistics.median(end)


def memory(imap_addr, smtp_addr, base, gen_mails):
    folders = fill(imap_addr, gen_mails[:1000], 10, "m")
    with database() as url:
        w = workdir(base, "memory", url, imap_addr, smtp_addr, folders)
        p = start(w, 0)
        t0 = time.time()
        while int(psql(url, "SELECT COUNT(*) FROM inbound")) < 1000 or \
                int(psql(url, "SELECT COUNT(*) FROM outbox WHERE status <> 'sent'")) > 0:
            if time.time() - t0 > 120:
                sys.exit("the memory run's backlog did not drain")
            time.sleep(0.1)
        time.sleep(2)

        def rss():
            return int(re.search(r"VmRSS:\s+(\d+) kB", open("/proc/%d/status" % p.pid).read()).group(1)) / 1024
        after_backlog = rss()
        time.sleep(10)
        idle = rss()
        stop([p])
    drop(imap_addr, folders)
    return after_backlog, idle


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=6000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--instances", default="1,2,3", help="instance counts to time (empty: memory only)")
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    base = tempfile.mkdtemp(prefix="pdcluster.")
    try:
        with test_servers("IMAP", "SMTP") as (imap_addr, smtp_addr):
            gen = os.path.join(base, "gen")
            subprocess.run([sys.executable, os.path.join(HERE, "gen-mail.py"), "-n", str(a.n), "-o", gen,
                            "--no-tag", "--to", "support@example.test", "--seed", "23"],
                           check=True, capture_output=True)
            files = sorted(f for f in os.listdir(gen) if f.endswith(".eml"))[:a.n]
            mails = [open(os.path.join(gen, f), "rb").read() for f in files]
            results = {}
            for k in [int(x) for x in a.instances.split(",") if x]:
                results[k] = throughput(imap_addr, smtp_addr, base, mails, k, a.runs)
            for k, (intake, end) in results.items():
                print("%d instance(s): stored %.0f msgs/s, acknowledged %.0f msgs/s (medians of %d runs of %d mails; x%.2f / x%.2f of one instance)" % (
                    k, intake, end, a.runs, len(mails), intake / results.get(1, (intake, end))[0], end / results.get(1, (intake, end))[1]))
            after, idle = memory(imap_addr, smtp_addr, base, mails)
            print("memory: one instance, 10 IMAP mailboxes on PostgreSQL: %.1f MB resident after 1,000 mails, %.1f MB idle 10 s later" % (after, idle))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
