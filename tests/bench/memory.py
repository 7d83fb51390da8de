#!/usr/bin/env python3
"""Benchmark: resident memory of `postdesk ingest` on large mails (issue #21, item 9). Writes
N mails of about 33 MB each (a 24 MB attachment, base64: under every default limit) as files
in one directory, ingests the directory into a fresh SQLite database, and reports the peak
resident set size of the ingest process (ru_maxrss) and its wall time; --runs repetitions,
medians. Goal: ≤ 300 MB for any input within the default limits.

  python3 tests/bench/memory.py [--mails 12] [--runs 3] [--bin target/release/postdesk]
"""
import argparse, base64, os, resource, statistics, subprocess, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def mail(i, blob):
    return ("From: sender%d@example.com\r\nTo: support@example.test\r\nSubject: Big %d\r\n"
            "Message-ID: <big-%d@example.com>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
            "Content-Type: text/plain\r\n\r\nSee attached.\r\n--b\r\n"
            "Content-Type: application/octet-stream; name=\"data%d.bin\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" % (i, i, i, i)).encode() + blob + b"\r\n--b--\r\n"


def peak_rss_kb(cmd):
    """Runs cmd; returns (peak RSS in kB of that child, seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    pid = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).pid
    _, status, usage = os.wait4(pid, 0)
    if status != 0:
        raise SystemExit("%s failed with %d" % (cmd, status))
    return usage.ru_maxrss, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mails", type=int, default=12)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/postdesk"))
    args = ap.parse_args()
    raw = os.urandom(24 * 1024 * 1024)
    b64 = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    rss, secs = [], []
    with tempfile.TemporaryDirectory(prefix="pd-mem.") as w:
        mails = os.path.join(w, "mails")
        os.mkdir(mails)
        for i in range(args.mails):
            with open(os.path.join(mails, "m%02d.eml" % i), "wb") as f:
                f.write(mail(i, b64))
        size = sum(os.path.getsize(os.path.join(mails, n)) for n in os.listdir(mails))
        for _ in range(args.runs):
            run = tempfile.mkdtemp(dir=w)
            cfg = os.path.join(run, "pd.toml")
            with open(os.path.join(ROOT, "config/postdesk.toml")) as f:
                open(cfg, "w").write(f.read().replace("var/", run + "/var/"))
            subprocess.run([args.bin, "--config", cfg, "migrate"], check=True, capture_output=True)
            kb, s = peak_rss_kb([args.bin, "--config", cfg, "ingest", "--no-send", mails])
            rss.append(kb / 1024)
            secs.append(s)
            subprocess.run(["rm", "-rf", run])
    print("%d mails, %.0f MB: peak resident median %.0f MB (min %.0f, max %.0f), %.1f s" % (
        args.mails, size / 2**20, statistics.median(rss), min(rss), max(rss), statistics.median(secs)))


if __name__ == "__main__":
    main()
