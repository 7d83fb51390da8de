#!/usr/bin/env python3
"""Benchmark: pathological mails (issue #9). Times one `postdesk ingest FILE` (wall clock,
process start included, acknowledgement written) for each of: an HTML mail with 10,000 links,
100 nested multiparts, 5 MB of headers (50,000 header fields), 80,000 nested <div>s (400 KB),
and 4 MB of nested <div>s or inline elements (under limits.max_html_size), each into a fresh
SQLite database;
reports the median of --runs and the outcome. Target: each under 1 s.

  python3 tests/bench/pathological.py [--runs 5] [--bin target/release/postdesk]
"""
import argparse, json, os, statistics, subprocess, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def mails():
    head = lambda s: ("From: a@example.com\r\nTo: support@example.test\r\nSubject: %s\r\n"
                      "Message-ID: <%s@x>\r\nMIME-Version: 1.0\r\n" % (s, s))
    links = "".join('<a href="https://example.com/%d">link %d</a><br>\n' % (i, i) for i in range(10000))
    yield "10,000 links", head("links") + "Content-Type: text/html; charset=utf-8\r\n\r\n<html><body>" + links + "</body></html>\r\n"
    body = "Content-Type: text/plain\r\n\r\ninnermost\r\n"
    for i in range(100):
        body = 'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n%s\r\n--b%d--\r\n' % (i, i, body, i)
    yield "100 nested multiparts", head("nested") + body
    filler = "".join("X-Filler-%d: %s\r\n" % (i, "y" * 90) for i in range(50000))
    yield "5 MB of headers", head("headers") + filler + "\r\nbody\r\n"
    html = lambda s, body: head(s) + "Content-Type: text/html; charset=utf-8\r\n\r\n" + body + "\r\n"
    yield "80,000 nested divs", html("divs", "<div>" * 80000 + "deep")
    yield "4 MB nested divs", html("divs4m", "<div>" * (4 * 1024 * 1024 // 5 - 10) + "deep")
    yield "4 MB nested inline", html("nest4m", "<span><b><i>" * (4 * 1024 * 1024 // 12 - 10) + "deep")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/postdesk"))
    ap.add_argument("--only", help="run only the mails whose name contains this")
    ap.add_argument("--timeout", type=float, default=120, help="give up on one ingest after this many seconds")
    args = ap.parse_args()
    for name, text in mails():
        if args.only and args.only not in name:
            continue
        times, outcome = [], None
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="pd-patho.") as w:
                cfg = os.path.join(w, "pd.toml")
                with open(os.path.join(ROOT, "config/postdesk.toml")) as f:
                    open(cfg, "w").write(f.read().replace("var/", w + "/var/"))
                path = os.path.join(w, "m.eml")
                open(path, "w").write(text)
                subprocess.run([args.bin, "--config", cfg, "migrate"], check=True, capture_output=True)
                t0 = time.perf_counter()
                try:
                    subprocess.run([args.bin, "--config", cfg, "ingest", path], check=True, capture_output=True, timeout=args.timeout)
                except subprocess.TimeoutExpired:
                    print("%-22s %8d bytes: over %.0f s, given up" % (name, len(text), args.timeout))
                    break
                times.append(time.perf_counter() - t0)
                rows = json.loads(subprocess.run([args.bin, "--config", cfg, "inbound", "--json"], check=True, capture_output=True).stdout)
                outcome = rows[0]["outcome"], rows[0].get("reason")
        if not times:
            continue
        print("%-22s %8d bytes: median %.0f ms (min %.0f, max %.0f), outcome %s" % (
            name, len(text), statistics.median(times) * 1000, min(times) * 1000, max(times) * 1000, outcome))


if __name__ == "__main__":
    main()
