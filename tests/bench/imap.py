#!/usr/bin/env python3
"""Benchmark: IMAP intake from the test Dovecot (issue #3).

  backlog: N generated mails (tests/bench/gen-mail.py) are appended to a fresh folder, then
           `postdesk serve` (file transport, to isolate intake) is started and timed until every
           mail is stored and its acknowledgement handed to the transport;
  idle:    M mails appended one at a time to a folder `serve` IDLEs on; for each, the time from
           the end of the APPEND, and from Dovecot's IDLE notification (which Dovecot sends about
           0.5 s after delivery), to the mail being committed; p50 and p99;
  memory:  resident memory of `serve` watching 10 idle IMAP mailboxes.

With --oauth, backlog and idle run twice side by side: as support@example.test with a password,
then as oauth@example.test signing in with XOAUTH2 on tokens of the test provider (glewlwyd,
tests/idp.sh: access tokens live 10 s, so `serve` renews its token every 5 s during the idle run);
the ratios show what the sign-in and its renewals cost intake.

Needs the servers of tests/servers.sh (it starts them in a temp dir unless POSTDESK_TEST_IMAP is
set) and a release build.

  python3 tests/bench/imap.py [--backlog 2000] [--idle 200] [--runs 3] [--oauth]
"""
import argparse, datetime, imaplib, json, os, re, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from servers import test_server, test_servers  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
PD = os.path.join(ROOT, "target/release/postdesk")

CONFIG = """[database]
url = "sqlite://{w}/pd.db"
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
# The generator reuses a few hundred senders; lift the per-address cap on automatic mail so every
# new ticket is acknowledged (without it the backlog never drains: 600 of 1,400 acknowledgements).
[limits]
auto_replies_per_hour = 1000000
"""

MAILBOX = """
[[mailboxes]]
name = "{name}"
kind = "imap"
host = "{host}"
port = {port}
tls = "none"
folder = "{folder}"
poll_interval = "1s"
"""
PASSWORD = """username = "support@example.test"
password = "secret"
"""
OAUTH = """username = "oauth@example.test"
auth = "xoauth2"
oauth = {{ token_url = "{idp}/token", client_id = "postdesk", client_secret_file = "{w}/client.secret", scope = "mail", refresh_token_file = "{w}/oauth.token" }}
"""
# None: sign in with the password; else the provider's base URL (POSTDESK_TEST_OAUTH).
OAUTH_IDP = None


def tokens():
    """(access token, refresh token) for oauth@example.test from the test provider."""
    import urllib.parse, urllib.request
    body = urllib.parse.urlencode({"grant_type": "password", "username": "oauth@example.test", "password": "secret",
                                   "scope": "mail", "client_id": "postdesk", "client_secret": "postdesk-secret"}).encode()
    v = json.load(urllib.request.urlopen(OAUTH_IDP + "/token", body))
    return v["access_token"], v["refresh_token"]


def imap(addr):
    host, port = addr.rsplit(":", 1)
    m = imaplib.IMAP4(host, int(port))
    if OAUTH_IDP:
        access, _ = tokens()
        m.authenticate("XOAUTH2", lambda _: ("user=oauth@example.test\x01auth=Bearer %s\x01\x01" % access).encode())
    else:
        m.login("support@example.test", "secret")
    return m


def new_folder(addr, tag):
    name = "bench%s%x" % (tag, int(time.time() * 1000) % 10**9)
    m = imap(addr)
    m.create(name)
    m.logout()
    return name


def drop_folder(addr, name):
    try:
        m = imap(addr)
        m.delete(name)
        m.logout()
    except Exception:
        pass


def workdir(base, label, addr, folders):
    w = os.path.join(base, label)
    os.makedirs(os.path.join(w, "outbox"))
    host, port = addr.rsplit(":", 1)
    if OAUTH_IDP:
        sign_in = OAUTH.format(idp=OAUTH_IDP, w=w)
        open(os.path.join(w, "client.secret"), "w").write("postdesk-secret\n")
        open(os.path.join(w, "oauth.token"), "w").write(tokens()[1])
    else:
        sign_in = PASSWORD
    text = CONFIG.format(w=w) + "".join(MAILBOX.format(name="mb%d" % i, host=host, port=port, folder=f) + sign_in
                                        for i, f in enumerate(folders))
    with open(os.path.join(w, "pd.toml"), "w") as f:
        f.write(text)
    subprocess.run([PD, "--config", w + "/pd.toml", "migrate"], check=True, capture_output=True)
    return w


def start(w, debug=False):
    env = dict(os.environ)
    env["RUST_LOG"] = "postdesk=debug" if debug else "info"
    log = open(os.path.join(w, "serve.log"), "w")
    return subprocess.Popen([PD, "--config", w + "/pd.toml", "serve"], stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)


def stop(p):
    p.terminate()
    p.wait(timeout=15)


def count(w, sql):
    db = sqlite3.connect("file:%s/pd.db?mode=ro" % w, uri=True, timeout=30)
    try:
        return db.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return -1
    finally:
        db.close()


def backlog(addr, base, n, runs, gen):
    files = sorted(f for f in os.listdir(gen) if f.endswith(".eml"))[:n]
    mails = [open(os.path.join(gen, f), "rb").read() for f in files]
    new = sum(1 for l in list(open(os.path.join(gen, "manifest.jsonl")))[:n] if json.loads(l)["kind"] == "new")
    rates = []
    for r in range(runs):
        folder = new_folder(addr, "b")
        m = imap(addr)
        for raw in mails:
            m.append(folder, None, None, raw)
        m.logout()
        w = workdir(base, "backlog%d" % r, addr, [folder])
        t0 = time.perf_counter()
        p = start(w)
        while True:
            stored = count(w, "SELECT COUNT(*) FROM inbound")
            sent = count(w, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'")
            if stored == n and sent == new:
                break
            if time.perf_counter() - t0 > 300:
                sys.exit("backlog not drained: %d stored, %d acks sent" % (stored, sent))
            time.sleep(0.005)
        dt = time.perf_counter() - t0
        stop(p)
        drop_folder(addr, folder)
        rates.append(n / dt)
    print("backlog N=%d%s: median %.0f msgs/s (runs: %s), start of serve to the last acknowledgement handed over" % (
        n, " (oauth)" if OAUTH_IDP else "", statistics.median(rates), ", ".join("%.0f" % x for x in rates)))
    return statistics.median(rates)


def stamp(line):
    t = line.split()[0]
    return datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()


def idle(addr, base, n):
    folder = new_folder(addr, "i")
    w = workdir(base, "idle", addr, [folder])
    p = start(w, debug=True)
    deadline = time.time() + 30
    while "mailbox connected" not in open(os.path.join(w, "serve.log")).read():
        if time.time() > deadline:
            sys.exit("serve did not connect")
        time.sleep(0.05)
    time.sleep(1)
    m = imap(addr)
    from_append, from_notify = [], []
    for i in range(n):
        mid = "<idle%d.%x@bench.example>" % (i, int(time.time() * 1e6))
        raw = ("From: c%d@customer.example\r\nTo: support@example.test\r\nSubject: idle %d\r\nMessage-ID: %s\r\n\r\nhello\r\n" % (i, i, mid)).encode()
        m.append(folder, None, None, raw)
        appended = time.time()
        while count(w, "SELECT COUNT(*) FROM inbound WHERE message_id = '%s'" % mid) < 1:
            if time.time() - appended > 10:
                sys.exit("mail %d not stored within 10 s" % i)
            time.sleep(0.001)
        committed = time.time()
        from_append.append((committed - appended) * 1000)
        time.sleep(0.05)
    m.logout()
    stop(p)
    # From the IDLE notification to the commit, both as the daemon logged them.
    lines = open(os.path.join(w, "serve.log")).read().splitlines()
    woke = None
    for l in lines:
        if "idle: the server reported new mail" in l:
            woke = stamp(l)
        elif "processed 1 mail" in l and woke is not None:
            from_notify.append((stamp(l) - woke) * 1000)
            woke = None
    drop_folder(addr, folder)

    def pct(v, q):
        v = sorted(v)
        return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]

    renewals = sum(1 for l in lines if "signing in again before the token expires" in l)
    print("idle  N=%d%s: APPEND to commit p50 %.0f ms, p99 %.0f ms, max %.0f ms; IDLE notification to commit p50 %.1f ms, p99 %.1f ms (%d notifications, %d token renewals)" % (
        n, " (oauth)" if OAUTH_IDP else "", pct(from_append, 0.5), pct(from_append, 0.99), max(from_append),
        pct(from_notify, 0.5) if from_notify else -1, pct(from_notify, 0.99) if from_notify else -1, len(from_notify), renewals))
    return pct(from_append, 0.5), pct(from_append, 0.99)


def memory(addr, base):
    folders = [new_folder(addr, "m%d" % i) for i in range(10)]
    w = workdir(base, "memory", addr, folders)
    p = start(w)
    deadline = time.time() + 30
    while open(os.path.join(w, "serve.log")).read().count("mailbox connected") < 10:
        if time.time() > deadline:
            sys.exit("not all 10 mailboxes connected")
        time.sleep(0.1)
    time.sleep(2)
    rss = int(re.search(r"VmRSS:\s+(\d+) kB", open("/proc/%d/status" % p.pid).read()).group(1))
    stop(p)
    for f in folders:
        drop_folder(addr, f)
    print("memory: serve with 10 idle IMAP mailboxes: %.1f MB resident" % (rss / 1024))


def main():
    global PD
    ap = argparse.ArgumentParser()
    ap.add_argument("--backlog", type=int, default=2000)
    ap.add_argument("--idle", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", default=None, help="the postdesk binary to time (another build, side by side)")
    ap.add_argument("--oauth", action="store_true", help="also sign in with XOAUTH2 (the test provider's tokens), side by side")
    a = ap.parse_args()
    global OAUTH_IDP
    if a.bin:
        PD = a.bin
    if not os.path.exists(PD):
        subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    base = tempfile.mkdtemp(prefix="pdimap.")
    try:
        with test_servers("IMAP", "OAUTH") as (addr, idp):
            gen = os.path.join(base, "gen")
            subprocess.run([sys.executable, os.path.join(HERE, "gen-mail.py"), "-n", str(a.backlog), "-o", gen,
                            "--no-tag", "--to", "support@example.test", "--seed", "11"], check=True, capture_output=True)
            if a.oauth:
                results = {}
                for mode in ("password", "oauth"):
                    OAUTH_IDP = idp if mode == "oauth" else None
                    os.makedirs(os.path.join(base, mode))
                    results[mode] = (backlog(addr, os.path.join(base, mode), a.backlog, a.runs, gen),
                                     idle(addr, os.path.join(base, mode), a.idle))
                (bp, (ip50, ip99)), (bo, (io50, io99)) = results["password"], results["oauth"]
                print("oauth / password: backlog rate %.2f, idle p50 %.2f, idle p99 %.2f" % (bo / bp, io50 / ip50, io99 / ip99))
            else:
                backlog(addr, base, a.backlog, a.runs, gen)
                idle(addr, base, a.idle)
                memory(addr, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
