#!/usr/bin/env python3
"""Quality figure: ticket grouping on real list mail with ground truth (issue #5).

Ingests every mail of ../shared/corpus/threading/mail-thread-perl (9 mboxes, 43 mails, 11
conversations) in Date order into a fresh SQLite database, with `accept_list_mail = true`, and
compares the tickets postdesk made with groundtruth.json: pairwise precision, recall and F1
over all pairs of mails (a pair is "together" when both are in the same ticket / thread).

With --order reverse the mails go in newest first, and with --order shuffle in a seeded
random order: every reply arrives before its parent, or many do (a parent delivered late, or
by another mailbox), which the threading must join all the same.

  python3 tests/bench/threading.py [--bin target/release/postdesk] [--corpus DIR]
                                   [--order date|reverse|shuffle] [--seed N]
"""
import argparse, email.utils, itertools, json, mailbox, os, random, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

CONFIG = """[database]
url = "sqlite://{w}/pd.db"
[identity]
name = "Support"
address = "support@desk.test"
message_id_domain = "desk.test"
[[mailboxes]]
name = "lists"
kind = "maildir"
path = "{w}/maildir"
queue = "general"
accept_list_mail = true
[transport]
kind = "file"
dir = "{w}/outbox"
[[queues]]
name = "general"
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/postdesk"))
    ap.add_argument("--corpus", default=os.path.join(ROOT, "../shared/corpus/threading/mail-thread-perl"))
    ap.add_argument("--order", choices=["date", "reverse", "shuffle"], default="date")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    truth = json.load(open(os.path.join(args.corpus, "groundtruth.json")))["threads"]
    thread_of = {mid: i for i, t in enumerate(truth) for mid in t}

    mails = []
    for name in sorted(os.listdir(args.corpus)):
        if not name.endswith(".mbox"):
            continue
        for i, msg in enumerate(mailbox.mbox(os.path.join(args.corpus, name))):
            d = msg.get("Date")
            try:
                when = email.utils.parsedate_to_datetime(d).timestamp() if d else 0
            except Exception:
                when = 0
            mails.append((when, name, i, msg.as_bytes()))
    mails.sort(key=lambda m: (m[0], m[1], m[2]))
    if args.order == "reverse":
        mails.reverse()
    elif args.order == "shuffle":
        random.Random(args.seed).shuffle(mails)

    with tempfile.TemporaryDirectory() as w:
        open(os.path.join(w, "pd.toml"), "w").write(CONFIG.format(w=w))
        d = os.path.join(w, "mails")
        os.makedirs(d)
        for n, (_, _, _, raw) in enumerate(mails):
            open(os.path.join(d, "%04d.eml" % n), "wb").write(raw)
        subprocess.run([args.bin, "--config", os.path.join(w, "pd.toml"), "ingest", "--no-send", d],
                       check=True, cwd=w, stdout=subprocess.DEVNULL)
        rows = json.loads(subprocess.run([args.bin, "--config", os.path.join(w, "pd.toml"), "inbound", "--json"],
                                         check=True, cwd=w, capture_output=True).stdout)
    ticket_of = {r["message_id"].strip("<>"): r["ticket_id"] for r in rows}
    ids = [m for m in thread_of if m in ticket_of]
    missing = [m for m in thread_of if m not in ticket_of]
    tp = fp = fn = 0
    for a, b in itertools.combinations(ids, 2):
        same_truth = thread_of[a] == thread_of[b]
        same_ours = ticket_of[a] is not None and ticket_of[a] == ticket_of[b]
        tp += same_truth and same_ours
        fp += (not same_truth) and same_ours
        fn += same_truth and not same_ours
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    tickets = len({ticket_of[m] for m in ids})
    print(json.dumps({"order": args.order, "mails": len(ids), "missing": missing, "threads": len(truth), "tickets": tickets,
                      "pairs_tp": tp, "pairs_fp": fp, "pairs_fn": fn,
                      "precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)}))
    for i, t in enumerate(truth):
        got = sorted({str(ticket_of.get(m)) for m in t})
        if len(got) > 1:
            print("split: thread %d -> tickets %s" % (i, ", ".join(got)), file=sys.stderr)


if __name__ == "__main__":
    main()
