#!/usr/bin/env python3
"""Benchmark: outbox delivery to the local Postfix (issue #4).

N generated mails are ingested with --no-send (their acknowledgements queued in the outbox), then
`postdesk serve` is started with the SMTP transport and timed until every row is sent. Needs the
servers of tests/servers.sh (started in a temp dir unless POSTDESK_TEST_SMTP is set).

With --submission, delivery goes to Postfix's STARTTLS submission port with AUTH (the test CA
trusted through ca_file) instead: POSTDESK_TEST_SUBMISSION and POSTDESK_TEST_CA must be set (the
environment tests/servers.sh prints).

With --oauth (implies --submission), postdesk signs in with XOAUTH2 as oauth@example.test on tokens
of the test provider (POSTDESK_TEST_OAUTH; access tokens live 10 s there, so they are renewed
during the run).

  python3 tests/bench/smtp.py [--n 2000] [--runs 3] [--submission | --oauth]
"""
import argparse, json, os, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from servers import test_server  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
PD = os.path.join(ROOT, "target/release/postdesk")

CONFIG = """[database]
url = "sqlite://{w}/pd.db"
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
kind = "smtp"
host = "{host}"
port = {port}
{tls}
[[queues]]
name = "general"
# The generator reuses a few hundred senders; lift the per-address cap on automatic mail so every
# new ticket is acknowledged.
[limits]
auto_replies_per_hour = 1000000
"""


def sent(w):
    db = sqlite3.connect("file:%s/pd.db?mode=ro" % w, uri=True, timeout=30)
    try:
        return db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'sent'").fetchone()[0]
    finally:
        db.close()


def main():
    global PD
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--submission", action="store_true", help="STARTTLS and AUTH on the submission port")
    ap.add_argument("--oauth", action="store_true", help="STARTTLS and AUTH XOAUTH2 on the submission port")
    ap.add_argument("--bin", default=None, help="the postdesk binary to time (another build, side by side)")
    a = ap.parse_args()
    if a.bin:
        PD = a.bin
    if not os.path.exists(PD):
        subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    base = tempfile.mkdtemp(prefix="pdsmtp.")
    try:
        with test_server("SMTP") as smtp:
            host, port = smtp.rsplit(":", 1)
            tls = 'tls = "none"'
            if a.submission or a.oauth:
                host, port = os.environ["POSTDESK_TEST_SUBMISSION"].rsplit(":", 1)
                tls = ('tls = "starttls"\nusername = "support@example.test"\npassword = "secret"\n'
                       'ca_file = "%s"' % os.environ["POSTDESK_TEST_CA"])
            if a.oauth:
                idp = os.environ["POSTDESK_TEST_OAUTH"]
                tls = ('tls = "starttls"\nusername = "oauth@example.test"\nauth = "xoauth2"\nca_file = "%s"\n'
                       'oauth = {{ token_url = "%s/token", client_id = "postdesk", client_secret_file = "{w}/client.secret", '
                       'scope = "mail", refresh_token_file = "{w}/oauth.token" }}' % (os.environ["POSTDESK_TEST_CA"], idp))
            gen = os.path.join(base, "gen")
            # Every mail starts a conversation, so each gets an acknowledgement.
            subprocess.run([sys.executable, os.path.join(HERE, "gen-mail.py"), "-n", str(a.n * 2), "-o", gen,
                            "--no-tag", "--to", "support@example.test", "--seed", "5"], check=True, capture_output=True)
            manifest = [json.loads(l) for l in open(os.path.join(gen, "manifest.jsonl"))]
            new = [m["file"] for m in manifest if m["kind"] == "new"][:a.n]
            rates = []
            for r in range(a.runs):
                w = os.path.join(base, "run%d" % r)
                os.makedirs(w)
                with open(os.path.join(w, "pd.toml"), "w") as f:
                    f.write(CONFIG.format(w=w, host=host, port=port, tls=tls.format(w=w)))
                if a.oauth:
                    import urllib.parse, urllib.request
                    body = urllib.parse.urlencode({"grant_type": "password", "username": "oauth@example.test", "password": "secret",
                                                   "scope": "mail", "client_id": "postdesk", "client_secret": "postdesk-secret"}).encode()
                    refresh = json.load(urllib.request.urlopen(idp + "/token", body))["refresh_token"]
                    open(os.path.join(w, "oauth.token"), "w").write(refresh)
                    open(os.path.join(w, "client.secret"), "w").write("postdesk-secret\n")
                subprocess.run([PD, "--config", w + "/pd.toml", "ingest", "--no-send"] + [os.path.join(gen, f) for f in new],
                               check=True, capture_output=True)
                log = open(os.path.join(w, "serve.log"), "w")
                t0 = time.perf_counter()
                p = subprocess.Popen([PD, "--config", w + "/pd.toml", "serve"], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
                while sent(w) < a.n:
                    if time.perf_counter() - t0 > 300:
                        sys.exit("not delivered: %d of %d sent" % (sent(w), a.n))
                    time.sleep(0.01)
                dt = time.perf_counter() - t0
                p.terminate()
                p.wait(timeout=15)
                rates.append(a.n / dt)
            print("smtp N=%d%s: median %.0f msgs/s (runs: %s), start of serve to the last 250" % (
                a.n, " (oauth)" if a.oauth else " (submission)" if a.submission else "", statistics.median(rates), ", ".join("%.0f" % x for x in rates)))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
