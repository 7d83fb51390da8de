#!/usr/bin/env python3
"""Benchmark: LMTP intake from the real Postfix (issue #17).

`postdesk serve` listens for LMTP on 127.0.0.1:10024, where the test Postfix (tests/servers.sh)
routes mail for lmtp.example.test. N mails (distinct customers, 1-2 KB) are handed to Postfix
over SMTP on 8 connections; the time runs from the first mail handed over until the N-th is
stored in postdesk's database (SQLite). The latency is Postfix's own: the last of its `delays=`
figures for each LMTP delivery (connection, handing over and our answer after the commit).
Needs the servers (started in a temp dir unless POSTDESK_TEST_SMTP and POSTDESK_TEST_POSTFIX_CONF
are set).

With --direct S, postdesk alone: S LMTP sessions of this script deliver the N mails straight to
the listener (no Postfix), and the latency is each mail's MAIL..DATA..250 as the client sees it.

  python3 tests/bench/lmtp.py [--n 2000] [--runs 3] [--direct 8] [--bin target/release/postdesk]
"""
import argparse, os, re, shutil, smtplib, socket, sqlite3, statistics, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from servers import test_servers  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))

CONFIG = """[database]
url = "sqlite://{w}/pd.db"
[identity]
name = "Bench Support"
address = "support@lmtp.example.test"
subject_tag = "Support"
message_id_domain = "lmtp.example.test"
[[mailboxes]]
name = "lmtp"
kind = "lmtp"
listen = "127.0.0.1:10024"
[transport]
kind = "file"
dir = "{w}/outbox"
[[queues]]
name = "general"
"""


def stored(w):
    try:
        db = sqlite3.connect("file:%s/pd.db?mode=ro" % w, uri=True, timeout=30)
        try:
            return db.execute("SELECT COUNT(*) FROM inbound").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def send(smtp, mails):
    host, port = smtp.rsplit(":", 1)
    s = smtplib.SMTP(host, int(port), timeout=120)
    for frm, data in mails:
        s.sendmail(frm, ["support@lmtp.example.test"], data)
    s.quit()


def send_lmtp(mails, times):
    s = smtplib.LMTP("127.0.0.1", 10024)
    for frm, data in mails:
        t = time.perf_counter()
        s.sendmail(frm, ["support@lmtp.example.test"], data)
        times.append(time.perf_counter() - t)
    s.quit()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/postdesk"))
    ap.add_argument("--direct", type=int, default=0, help="LMTP sessions straight to postdesk, no Postfix")
    a = ap.parse_args()
    base = tempfile.mkdtemp(prefix="pdlmtp.")
    try:
        with test_servers("SMTP", "POSTFIX_CONF") as (smtp, postfix_conf):
            log = os.path.join(os.path.dirname(postfix_conf), "postfix.log")
            rates, p50s, p99s = [], [], []
            for r in range(a.runs):
                w = os.path.join(base, "run%d" % r)
                os.makedirs(w)
                with open(os.path.join(w, "pd.toml"), "w") as f:
                    f.write(CONFIG.format(w=w))
                subprocess.run([a.bin, "--config", w + "/pd.toml", "migrate"], check=True, capture_output=True)
                out = open(os.path.join(w, "serve.log"), "w")
                p = subprocess.Popen([a.bin, "--config", w + "/pd.toml", "serve"], stdin=subprocess.DEVNULL, stdout=out, stderr=out)
                for _ in range(200):
                    try:
                        socket.create_connection(("127.0.0.1", 10024), timeout=1).close()
                        break
                    except OSError:
                        time.sleep(0.05)
                log_start = os.path.getsize(log) if os.path.exists(log) else 0
                body = "Line of text for the benchmark.\r\n" * 40
                mails = [("c%d-%d@customer.test" % (r, i),
                          "From: c%d-%d@customer.test\r\nTo: support@lmtp.example.test\r\nSubject: Bench %d\r\n"
                          "Message-ID: <%d-%d-%d@customer.test>\r\n\r\n%s" % (r, i, i, r, i, os.getpid(), body))
                         for i in range(a.n)]
                t0 = time.perf_counter()
                times = []
                if a.direct:
                    threads = [threading.Thread(target=send_lmtp, args=(mails[k::a.direct], times)) for k in range(a.direct)]
                else:
                    threads = [threading.Thread(target=send, args=(smtp, mails[k::8])) for k in range(8)]
                for t in threads:
                    t.start()
                while stored(w) < a.n:
                    if time.perf_counter() - t0 > 600:
                        sys.exit("not stored: %d of %d" % (stored(w), a.n))
                    time.sleep(0.02)
                dt = time.perf_counter() - t0
                for t in threads:
                    t.join()
                p.terminate()
                p.wait(timeout=30)
                rates.append(a.n / dt)
                if a.direct:
                    d = sorted(times)
                else:
                    with open(log) as f:
                        f.seek(log_start)
                        d = sorted(float(m.group(1)) for m in re.finditer(r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:10024.*?delays=[\d.]+/[\d.]+/[\d.]+/([\d.]+).*status=sent", f.read()))
                if d:
                    p50s.append(d[len(d) // 2] * 1000)
                    p99s.append(d[min(len(d) - 1, int(len(d) * 0.99))] * 1000)
            how = "%d LMTP sessions straight to postdesk" % a.direct if a.direct else "handed to Postfix"
            print("lmtp N=%d: median %.0f msgs/s %s and stored (runs: %s)" % (
                a.n, statistics.median(rates), how, ", ".join("%.0f" % x for x in rates)))
            if p99s:
                what = "the client's MAIL to 250" if a.direct else "Postfix's delivery time per mail (delays d)"
                print("lmtp: %s: p50 median %.0f ms, p99 median %.0f ms (runs: %s)" % (what,
                    statistics.median(p50s), statistics.median(p99s), ", ".join("%.0f" % x for x in p99s)))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
