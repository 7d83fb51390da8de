#!/usr/bin/env python3
"""Benchmark: back to work after a crash (issue #22). Needs no servers: a Maildir mailbox, an
SQLite database, and a small SMTP sink on loopback that this script runs (it answers 250 to
everything, so an acknowledgement counts as delivered when postdesk records it sent).

  serve   2,000 mails in the Maildir; `serve` is killed (SIGKILL) once its first
          acknowledgements are sent, and started again at once: reports the time from the
          restart to the first mail stored, and to the last of the acknowledgements that were
          pending at the kill delivered.
  ingest  `ingest` of 5,000 mail files is killed once 500 acknowledgements are queued, then
          `serve` starts: reports the time from its start to the last acknowledgement delivered.

With --imap HOST:PORT (the test Dovecot of tests/servers.sh, user support@example.test), the
serve scenario reads its backlog from a fresh IMAP folder instead of the Maildir.

Each scenario runs --runs times per binary; the medians are printed, the binaries side by side
(an unfinished wait shows as ">LIMIT").

  python3 tests/bench/restart.py --bin target/release/postdesk [--old /path/to/old/postdesk] [--runs 3] [--imap 127.0.0.1:10143] [--skip-ingest]
"""
import argparse, imaplib, os, signal, socket, sqlite3, statistics, subprocess, sys, tempfile, threading, time

LIMIT = 150.0


def sink():
    """A loopback SMTP server that accepts every mail; returns its port."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)

    def serve(conn):
        try:
            talk(conn)
        except OSError:
            pass  # a killed postdesk resets its connections
        conn.close()

    def talk(conn):
        f = conn.makefile("rb")
        conn.sendall(b"220 sink ESMTP\r\n")
        data = False
        for line in f:
            if data:
                if line in (b".\r\n", b".\n"):
                    data = False
                    conn.sendall(b"250 ok\r\n")
                continue
            cmd = line[:4].upper()
            if cmd in (b"EHLO", b"HELO"):
                conn.sendall(b"250-sink\r\n250 8BITMIME\r\n")
            elif cmd == b"DATA":
                data = True
                conn.sendall(b"354 go\r\n")
            elif cmd == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                break
            else:
                conn.sendall(b"250 ok\r\n")

    def accept():
        while True:
            c, _ = srv.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return srv.getsockname()[1]


def mail(i, tag):
    return (f"From: Customer {i} <c{i}.{tag}@customer.example>\r\nTo: support@example.test\r\n"
            f"Subject: Problem {i}\r\nMessage-ID: <m{i}.{tag}@customer.example>\r\n"
            f"Date: Sat, 21 Nov 2026 09:00:00 +0100\r\n\r\nPlease help with problem {i}.\r\n").encode()


def imap_folder(addr, mails):
    """A fresh folder on the IMAP server holding `mails`; returns its name."""
    host, port = addr.rsplit(":", 1)
    m = imaplib.IMAP4(host, int(port))
    m.login("support@example.test", "secret")
    name = f"restart{time.time_ns():x}"
    m.create(name)
    for raw in mails:
        m.append(name, None, None, raw)
    m.logout()
    return name


def setup(d, port, imap=None, folder=None):
    for sub in ("new", "cur", "tmp"):
        os.makedirs(f"{d}/maildir/{sub}", exist_ok=True)
    if imap:
        host, iport = imap.rsplit(":", 1)
        mailbox = (f'kind = "imap"\nhost = "{host}"\nport = {iport}\ntls = "none"\n'
                   f'username = "support@example.test"\npassword = "secret"\nfolder = "{folder}"')
    else:
        mailbox = f'kind = "maildir"\npath = "{d}/maildir"'
    with open(f"{d}/postdesk.toml", "w") as f:
        f.write(f"""[database]
url = "sqlite://{d}/pd.db"
[identity]
address = "support@example.test"
[[mailboxes]]
name = "support"
{mailbox}
queue = "general"
[transport]
kind = "smtp"
host = "127.0.0.1"
port = {port}
tls = "none"
[[queues]]
name = "general"
""")
    return f"{d}/postdesk.toml"


def count(d, sql):
    try:
        c = sqlite3.connect(f"file:{d}/pd.db?mode=ro", uri=True, timeout=5)
        n = c.execute(sql).fetchone()[0]
        c.close()
        return n
    except sqlite3.Error:
        return 0


def wait(pred, limit=LIMIT):
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        r = pred()
        if r:
            return r
        time.sleep(0.02)
    return None


def start(binary, cfg, d, args):
    log = open(f"{d}/{args[0]}.log", "ab")
    return subprocess.Popen([binary, "--config", cfg] + args, stdout=log, stderr=log, cwd=d)


def kill(p):
    p.send_signal(signal.SIGKILL)
    p.wait()


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        kill(p)


def serve_scenario(binary, port, imap):
    with tempfile.TemporaryDirectory(prefix="pd-restart.") as d:
        tag = f"{time.time_ns():x}"
        mails = [mail(i, tag) for i in range(2000)]
        folder = imap_folder(imap, mails) if imap else None
        cfg = setup(d, port, imap, folder)
        subprocess.run([binary, "--config", cfg, "migrate"], check=True, capture_output=True)
        if not imap:
            for i, raw in enumerate(mails):
                with open(f"{d}/maildir/new/{i:05}.eml", "wb") as f:
                    f.write(raw)
        p = start(binary, cfg, d, ["serve"])
        if not wait(lambda: count(d, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'") > 0, 60):
            kill(p)
            raise SystemExit("serve sent nothing within 60 s")
        kill(p)
        stored = count(d, "SELECT COUNT(*) FROM inbound")
        pending = count(d, "SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
        ids = f"SELECT COUNT(*) FROM outbox WHERE status <> 'sent' AND id <= {count(d, 'SELECT MAX(id) FROM outbox')}"
        t0 = time.monotonic()
        p = start(binary, cfg, d, ["serve"])
        first = wait(lambda: count(d, "SELECT COUNT(*) FROM inbound") > stored and time.monotonic() - t0)
        acks = wait(lambda: count(d, ids) == 0 and time.monotonic() - t0)
        stop(p)
        return first, acks, stored, pending


def ingest_scenario(binary, port):
    with tempfile.TemporaryDirectory(prefix="pd-restart.") as d:
        cfg = setup(d, port)
        subprocess.run([binary, "--config", cfg, "migrate"], check=True, capture_output=True)
        tag = f"{time.time_ns():x}"
        os.makedirs(f"{d}/files")
        for i in range(5000):
            with open(f"{d}/files/{i:05}.eml", "wb") as f:
                f.write(mail(i, tag))
        p = start(binary, cfg, d, ["ingest", f"{d}/files"])
        if not wait(lambda: count(d, "SELECT COUNT(*) FROM outbox") >= 500, 60):
            kill(p)
            raise SystemExit("ingest queued nothing within 60 s")
        kill(p)
        held = count(d, "SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
        t0 = time.monotonic()
        p = start(binary, cfg, d, ["serve"])
        acks = wait(lambda: count(d, "SELECT COUNT(*) FROM outbox WHERE status <> 'sent'") == 0
                    and time.monotonic() - t0)
        stop(p)
        return acks, held


def fmt(xs):
    done = [x for x in xs if x]
    if len(done) < len(xs):
        return f">{LIMIT:.0f} s"
    return f"{statistics.median(done):.2f} s"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/postdesk")
    ap.add_argument("--old")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-ingest", action="store_true", help="only the serve scenario")
    ap.add_argument("--imap", help="HOST:PORT of the test Dovecot: the serve backlog comes over IMAP")
    a = ap.parse_args()
    port = sink()
    bins = [("new", os.path.abspath(a.bin))] + ([("old", os.path.abspath(a.old))] if a.old else [])
    res = {name: {"first": [], "acks": [], "ingest": []} for name, _ in bins}
    for r in range(a.runs):
        for name, b in bins:  # interleaved, so both see the same machine
            first, acks, stored, pending = serve_scenario(b, port, a.imap)
            ing, held = (None, 0) if a.skip_ingest else ingest_scenario(b, port)
            res[name]["first"].append(first)
            res[name]["acks"].append(acks)
            res[name]["ingest"].append(ing)
            print(f"run {r + 1} {name}: serve killed after {stored} mails ({pending} acks pending): "
                  f"first stored {first}, acks {acks}; ingest killed ({held} held): acks {ing}",
                  file=sys.stderr)
    print("median of", a.runs, "runs")
    print(f"{'':32}" + "".join(f"{n:>12}" for n, _ in bins))
    rows = [("first", "restart → first stored mail"), ("acks", "restart → last pending ack")]
    if not a.skip_ingest:
        rows.append(("ingest", "serve start → killed ingest's acks"))
    for key, label in rows:
        print(f"{label:32}" + "".join(f"{fmt(res[n][key]):>12}" for n, _ in bins))


if __name__ == "__main__":
    main()
