#!/usr/bin/env python3
"""Benchmark: the one-click pages under load (issues #19 and #20).

A fresh SQLite desk with [web] and [csat] gets N sent surveys written straight into its database
(with their tickets); `postdesk serve` then serves the survey pages while C concurrent clients
(asyncio, keep-alive HTTP/1.1 connections, default 50) each open survey pages (GET) and answer
them (POST), every survey answered once, until all N are answered. Reports p50, p99 and max of
GET and of POST, measured by the clients from sending the request to reading the whole answer,
and checks that every answer was recorded once. By default the clients send as fast as they
are answered (the server saturated: latency is mostly queueing); with --think MS each client
waits a random 0 to 2xMS between one survey and the next, as people clicking links do.

  python3 tests/bench/web.py [--surveys 4000] [--clients 50] [--think MS] [--bin target/release/postdesk]
"""
import argparse, asyncio, hashlib, hmac, os, shutil, socket, sqlite3, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SECRET = "bench-secret-0123456789abcdef0123456789"

CONFIG = """[database]
url = "sqlite://{w}/desk.db"
[identity]
name = "Bench Support"
address = "support@example.test"
subject_tag = "Support"
message_id_domain = "example.test"
[[mailboxes]]
name = "support"
kind = "maildir"
path = "{w}/maildir"
[security]
secret_file = "{w}/secret"
[transport]
kind = "file"
dir = "{w}/outbox"
[[queues]]
name = "general"
[web]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
[csat]
delay = "1h"
"""


def token(sid, expires):
    mac = hmac.new(SECRET.encode(), ("click:csat:%d:%d" % (sid, expires)).encode(), hashlib.sha256).digest()
    return "%d.%d.%s" % (sid, expires, mac[:16].hex())


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


async def request(reader, writer, method, path, body=b""):
    head = "%s %s HTTP/1.1\r\nHost: bench\r\nContent-Length: %d\r\n" % (method, path, len(body))
    if body:
        head += "Content-Type: application/x-www-form-urlencoded\r\n"
    writer.write(head.encode() + b"\r\n" + body)
    await writer.drain()
    status = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        k, _, v = line.decode().partition(":")
        if k.lower() == "content-length":
            length = int(v)
    data = await reader.readexactly(length)
    return int(status.split()[1]), data


async def client(port, todo, gets, posts, statuses, think, rng):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while todo:
        if think:
            await asyncio.sleep(rng.uniform(0, 2 * think) / 1000)
            if not todo:
                break
        sid, tok = todo.pop()
        t = time.perf_counter()
        st, _ = await request(reader, writer, "GET", "/csat/%s?score=4" % tok)
        gets.append(time.perf_counter() - t)
        statuses.append(st)
        t = time.perf_counter()
        st, _ = await request(reader, writer, "POST", "/csat/%s" % tok, b"score=%d&comment=bench" % (sid % 5 + 1))
        posts.append(time.perf_counter() - t)
        statuses.append(st)
    writer.close()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--surveys", type=int, default=4000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--think", type=float, default=0.0, help="mean pause of each client between surveys, ms")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/postdesk"))
    a = ap.parse_args()
    w = tempfile.mkdtemp(prefix="pd-web.")
    try:
        port = free_port()
        open(os.path.join(w, "secret"), "w").write(SECRET)
        cfg = os.path.join(w, "postdesk.toml")
        open(cfg, "w").write(CONFIG.format(w=w, port=port))
        subprocess.run([a.bin, "--config", cfg, "migrate"], check=True, capture_output=True)
        db = sqlite3.connect(os.path.join(w, "desk.db"))
        now = int(time.time() * 1000)
        db.executemany(
            "INSERT INTO tickets (id, subject, status, priority, queue, requester, tags, sla_breached, "
            "created_at, updated_at, time_spent_ms, resolved_at) VALUES (?, ?, 'resolved', 'normal', 'general', ?, '[]', 0, ?, ?, 0, ?)",
            ((i, "Ticket %d" % i, "c%d@example.com" % i, now, now, now) for i in range(1, a.surveys + 1)))
        db.executemany(
            "INSERT INTO csat_surveys (id, ticket_id, resolved_at, due_at, address, queue, state, asked_at) "
            "VALUES (?, ?, ?, ?, ?, 'general', 'sent', ?)",
            ((i, i, now, now, "c%d@example.com" % i, now) for i in range(1, a.surveys + 1)))
        db.commit()
        expires = now // 1000 + 86400
        todo = [(i, token(i, expires)) for i in range(1, a.surveys + 1)]
        log = open(os.path.join(w, "serve.log"), "w")
        serve = subprocess.Popen([a.bin, "--config", cfg, "serve"], stdout=log, stderr=log)
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            gets, posts, statuses = [], [], []

            async def run():
                rng = __import__("random").Random(7)
                await asyncio.gather(*(client(port, todo, gets, posts, statuses, a.think, rng) for _ in range(a.clients)))

            t0 = time.perf_counter()
            asyncio.run(asyncio.wait_for(run(), timeout=600))
            took = time.perf_counter() - t0
        finally:
            serve.terminate()
            serve.wait(20)
        answered = db.execute("SELECT COUNT(*) FROM csat_surveys WHERE state = 'answered' AND answered_via = 'web'").fetchone()[0]
        bad = [s for s in statuses if s != 200]
        print("surveys %d, clients %d, think %.0f ms, %.1f s, %d requests (%.0f/s), non-200: %d, answered once: %d"
              % (a.surveys, a.clients, a.think, took, len(statuses), len(statuses) / took, len(bad), answered))
        for name, xs in (("GET", gets), ("POST", posts)):
            print("%-4s p50 %.2f ms  p99 %.2f ms  max %.2f ms" % (name, pct(xs, 50), pct(xs, 99), max(xs) * 1000))
        if answered != a.surveys or bad:
            sys.exit("FAILED: every survey should be answered once with 200s")
    finally:
        shutil.rmtree(w, ignore_errors=True)


if __name__ == "__main__":
    main()
