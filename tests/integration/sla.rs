//! Triage rules, SLA clocks and escalations through the binary: `ingest --at`, agent commands
//! by mail, `sla sweep --now`, `rules test`; each on SQLite and on PostgreSQL.

use crate::util::{header, Env};
use serde_json::Value;

/// `general` is under the "standard" policy (the first line lands in its [[queues]] entry).
const POLICY: &str = r#"sla = "standard"

[[queues]]
name = "vip"
sla = "standard"

[[agents]]
address = "alice@example.test"
name = "Alice Agent"
queues = ["general", "vip"]
timezone = "Europe/Berlin"

[[agents]]
address = "bob@example.test"
name = "Bob Builder"
queues = ["general", "vip"]

[[agents]]
address = "boss@example.test"
name = "Mia Manager"
role = "manager"

[[calendars]]
name = "office"
timezone = "Europe/Berlin"
hours = { mon = "09:00-17:00", tue = "09:00-17:00", wed = "09:00-17:00", thu = "09:00-17:00", fri = "09:00-17:00" }
holidays = ["2026-12-25"]

[[sla]]
name = "standard"
calendar = "office"
first_response = { normal = "4h", high = "2h", urgent = "1h" }
next_response = { normal = "8h" }
resolution = { normal = "16h" }
warn_at = 0.5
pause_when = ["pending"]
escalate = [
  { at = "warning", notify = ["assignee"] },
  { at = "breach", notify = ["managers"], raise_priority = true },
  { at = "breach", after = "2h", reassign = "least_open", notify = ["assignee"] },
]

[[rules]]
name = "bigcorp"
conditions = [
  { field = "from", op = "domain", value = "bigcorp.example" },
  { field = "subject", op = "regex", value = "(?i)outage|urgent" },
]
actions = { queue = "vip", priority = "urgent", tags = ["vip"], assign = "round_robin", type = "incident" }

[[rules]]
name = "spam flag"
conditions = [{ field = "header:X-Spam-Flag", op = "equals", value = "YES" }]
actions = { spam = true }
stop = true

[[rules]]
name = "newsletters get no acknowledgement"
match = "any"
conditions = [{ field = "subject", op = "contains", value = "newsletter" }]
actions = { acknowledge = false, tags = ["newsletter"] }

[[rules]]
name = "angry replies"
on = "reply"
conditions = [{ field = "body", op = "regex", value = "(?i)still broken" }]
actions = { priority = "high", tags = ["angry"] }
"#;

fn mail(from: &str, id: &str, subject: &str, extra: &str) -> String {
    format!(
        "From: {from}\r\nTo: support@example.test\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Fri, 27 Nov 2026 15:00:00 +0100\r\n{extra}\r\nHello.\r\n"
    )
}

fn ingest_at(e: &Env, at: &str, raw: &str) -> Value {
    let out = e.run_stdin(&["ingest", "--at", at, "-"], raw.as_bytes());
    assert!(
        out.status.success(),
        "ingest failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    e.inbound().last().cloned().unwrap()
}

/// `n` new tickets from Carol, Monday 2026-11-23 10:00 Berlin, subjects by `subject`; their ids.
fn monday_questions(e: &Env, n: usize, subject: impl Fn(usize) -> String) -> Vec<i64> {
    (0..n)
        .map(|i| {
            let id = format!("q{i}@example.com");
            let row = ingest_at(
                e,
                "2026-11-23T10:00:00+01:00",
                &mail("carol@example.com", &id, &subject(i), ""),
            );
            row["ticket_id"].as_i64().unwrap()
        })
        .collect()
}

fn sweep(e: &Env, now: &str) -> Value {
    e.json(&["sla", "sweep", "--now", now])
}

fn events(e: &Env, ticket: i64, kind: &str) -> Vec<Value> {
    e.ticket(ticket)["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == kind)
        .cloned()
        .collect()
}

fn sent_to(e: &Env, kind: &str, to: &str) -> usize {
    e.outbox()
        .iter()
        .filter(|r| r["kind"] == kind && r["to"].as_array().unwrap().iter().any(|t| t == to))
        .count()
}

#[test]
fn rules_triage_new_mail_spam_is_kept_without_a_ticket() {
    let e = Env::with(POLICY, None);
    let a = ingest_at(
        &e,
        "2026-11-27T15:00:00+01:00",
        &mail(
            "CEO <ceo@eu.bigcorp.example>",
            "b1@bigcorp",
            "Outage in Hamburg",
            "",
        ),
    );
    let b = ingest_at(
        &e,
        "2026-11-27T15:01:00+01:00",
        &mail("cto@bigcorp.example", "b2@bigcorp", "URGENT: VPN", ""),
    );
    let (ta, tb) = (
        e.ticket(a["ticket_id"].as_i64().unwrap()),
        e.ticket(b["ticket_id"].as_i64().unwrap()),
    );
    for t in [&ta, &tb] {
        assert_eq!(t["queue"], "vip", "{t}");
        assert_eq!(t["priority"], "urgent");
        assert_eq!(t["tags"], serde_json::json!(["vip"]));
        assert_eq!(t["type"], "incident");
        assert_eq!(t["sla"]["policy"], "standard");
    }
    // round robin over the queue's agents, in config order
    assert_eq!(ta["assignee"], "alice@example.test");
    assert_eq!(tb["assignee"], "bob@example.test");
    // urgent: 1 business hour from Friday 15:00
    assert_eq!(ta["sla"]["first_response_due"], "2026-11-27T15:00:00Z");

    let spam = ingest_at(
        &e,
        "2026-11-27T15:02:00+01:00",
        &mail(
            "x@spam.example",
            "s1@spam",
            "Cheap pills",
            "X-Spam-Flag: YES\r\n",
        ),
    );
    assert_eq!(spam["outcome"], "spam", "{spam}");
    assert!(spam["ticket_id"].is_null());
    assert_eq!(e.tickets().len(), 2, "no ticket for spam");

    let n = ingest_at(
        &e,
        "2026-11-27T15:03:00+01:00",
        &mail("news@shop.example", "n1@shop", "Our newsletter", ""),
    );
    let t = n["ticket_id"].as_i64().unwrap();
    assert_eq!(events(&e, t, "ack_suppressed").len(), 1);
    assert_eq!(
        sent_to(&e, "ack", "news@shop.example"),
        0,
        "no acknowledgement"
    );
    assert_eq!(sent_to(&e, "ack", "ceo@eu.bigcorp.example"), 1);

    // the dry run says the same, without touching the database
    let f = e.path("probe.eml");
    std::fs::write(
        &f,
        mail(
            "ops@bigcorp.example",
            "p1@bigcorp",
            "outage",
            "X-Spam-Flag: YES\r\n",
        ),
    )
    .unwrap();
    let dry = e.json(&["rules", "test", f.to_str().unwrap(), "--json"]);
    assert_eq!(dry["matched"], serde_json::json!(["bigcorp", "spam flag"]));
    assert_eq!(dry["ticket"]["spam"], true);
    assert_eq!(dry["ticket"]["queue"], "vip");
    assert_eq!(dry["ticket"]["assignee"], "round_robin");
    let human = e.ok(&["rules", "test", f.to_str().unwrap()]);
    assert!(
        human.contains("1. bigcorp") && human.contains("2. spam flag"),
        "{human}"
    );
    assert_eq!(e.tickets().len(), 3);
    // a mail without a Message-ID is tested too
    let bare = e.path("bare.eml");
    std::fs::write(
        &bare,
        "From: ops@bigcorp.example\r\nSubject: outage\r\n\r\nx\r\n",
    )
    .unwrap();
    let dry = e.json(&["rules", "test", bare.to_str().unwrap(), "--json"]);
    assert_eq!(dry["matched"], serde_json::json!(["bigcorp"]));
}

#[test]
fn warnings_breaches_and_escalations_fire_once_on_business_hours() {
    let e = Env::with(POLICY, None);
    // Friday 15:00 Berlin; 4 business hours: 2 on Friday, 2 on Monday.
    let row = ingest_at(
        &e,
        "2026-11-27T15:00:00+01:00",
        &mail("carol@example.com", "c1@example.com", "Printer on fire", ""),
    );
    let id = row["ticket_id"].as_i64().unwrap();
    let t = e.ticket(id);
    assert_eq!(t["sla"]["first_response_due"], "2026-11-30T10:00:00Z");
    // 16 business hours: Friday 2, Monday 8, Tuesday 6
    assert_eq!(t["sla"]["resolution_due"], "2026-12-01T14:00:00Z");
    assert_eq!(t["sla"]["breached"], false);

    // Before the warning (half of 4 h = Friday 17:00): nothing.
    let r = sweep(&e, "2026-11-27T16:59:00+01:00");
    assert_eq!(r["clocks"], 0, "{r}");
    // Saturday: the warning, once, to the queue's agents (nobody is assigned).
    let r = sweep(&e, "2026-11-28T10:00:00+01:00");
    assert_eq!(r["warnings"], 1, "{r}");
    assert_eq!(r["mails"], 2, "{r}");
    assert_eq!(sent_to(&e, "sla_warning", "alice@example.test"), 1);
    assert_eq!(sent_to(&e, "sla_warning", "bob@example.test"), 1);
    // each reads the due time in their own timezone (Alice: Berlin, Bob: UTC)
    let warnings: Vec<String> = e
        .outbox_files()
        .into_iter()
        .filter(|m| m.contains("SLA warning"))
        .map(|m| m.replace("=\r\n", ""))
        .collect();
    assert!(warnings
        .iter()
        .any(|m| m.contains("alice@") && m.contains("2026-11-30 11:00 CET")));
    assert!(warnings
        .iter()
        .any(|m| m.contains("bob@") && m.contains("2026-11-30 10:00 UTC")));
    let r = sweep(&e, "2026-11-28T11:00:00+01:00");
    assert_eq!(r["clocks"], 0, "fired once: {r}");
    assert_eq!(e.ticket(id)["sla"]["breached"], false);

    // Monday 11:01: breached; the manager hears of it, the priority goes up.
    let r = sweep(&e, "2026-11-30T11:01:00+01:00");
    assert_eq!(r["breaches"], 1, "{r}");
    assert_eq!(sent_to(&e, "sla_breach", "boss@example.test"), 1);
    let t = e.ticket(id);
    assert_eq!(t["sla"]["breached"], true);
    assert_eq!(t["priority"], "high");
    assert_eq!(events(&e, id, "sla_breach").len(), 1);
    // The raised priority retargets the resolution clock (16 h has no "high" target: it stays).
    assert_eq!(t["sla"]["resolution_due"], "2026-12-01T14:00:00Z");
    let mail = e
        .outbox_files()
        .into_iter()
        .find(|m| m.contains("SLA breached") && m.contains("boss@example.test"))
        .expect("the breach notice");
    assert_eq!(
        header(&mail, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert!(
        header(&mail, "Subject").unwrap().contains("[Support #"),
        "{mail}"
    );

    // Two hours past the breach: reassigned (least open) and the new assignee told; once.
    let r = sweep(&e, "2026-11-30T13:30:00+01:00");
    assert_eq!(r["steps"], 1, "{r}");
    let t = e.ticket(id);
    assert_eq!(t["assignee"], "alice@example.test");
    assert_eq!(sent_to(&e, "sla_breach", "alice@example.test"), 1);
    let r = sweep(&e, "2026-12-05T13:30:00+01:00");
    // only the resolution clock is left to fire (warning and breach, in one late sweep)
    assert_eq!(r["warnings"], 1, "{r}");
    assert_eq!(r["breaches"], 1, "{r}");
    let r = sweep(&e, "2026-12-09T13:30:00+01:00");
    assert_eq!(r["clocks"], 0, "{r}");
    assert_eq!(events(&e, id, "sla_breach").len(), 2);
    assert_eq!(events(&e, id, "sla_warning").len(), 2);
}

#[test]
fn an_answer_meets_the_first_response_and_pending_pauses_the_resolution_clock() {
    let e = Env::with(POLICY, None);
    let row = ingest_at(
        &e,
        "2026-11-23T10:00:00+01:00",
        &mail("carol@example.com", "c2@example.com", "Printer jammed", ""),
    );
    let id = row["ticket_id"].as_i64().unwrap();
    // 16 business hours from Monday 10:00: Monday 7, Tuesday 8, Wednesday 1.
    assert_eq!(
        e.ticket(id)["sla"]["resolution_due"],
        "2026-11-25T09:00:00Z"
    );
    // Alice answers Monday 11:00 through her signed reply address and sets the ticket pending.
    let note = e
        .outbox_files()
        .into_iter()
        .find(|m| m.contains("alice@example.test") && m.contains("Reply above this line"))
        .expect("Alice's notification");
    // the notification names the first-response due time, in Alice's timezone
    assert!(note.contains("2026-11-23 14:00 CET"), "{note}");
    let to = header(&note, "Reply-To").unwrap();
    let to = &to[to.find('<').unwrap() + 1..to.find('>').unwrap()];
    let answer = format!(
        "From: Alice Agent <alice@example.test>\r\nTo: {to}\r\nSubject: Re: Printer jammed\r\n\
         Message-ID: <a1@example.test>\r\nDate: Mon, 23 Nov 2026 11:00:00 +0100\r\n\r\n\
         #status pending\r\nPlease send a photo of the error.\r\n"
    );
    let r = ingest_at(&e, "2026-11-23T11:00:00+01:00", &answer);
    assert_eq!(r["outcome"], "agent_reply", "{r}");
    let t = e.ticket(id);
    assert_eq!(t["status"], "pending");
    assert!(t["sla"]["first_response_due"].is_null(), "met: {t}");
    assert!(
        t["sla"]["resolution_due"].is_null(),
        "paused while pending: {t}"
    );
    // Nothing fires while it waits, however long.
    assert_eq!(sweep(&e, "2026-11-26T12:00:00+01:00")["clocks"], 0);

    // Carol answers on Thursday 15:00: 15 business hours were left at the pause.
    let reply = format!(
        "From: carol@example.com\r\nTo: support@example.test\r\nSubject: Re: [Support #{id}] Printer jammed\r\n\
         Message-ID: <c3@example.com>\r\nIn-Reply-To: <a1@example.test>\r\nDate: Thu, 26 Nov 2026 15:00:00 +0100\r\n\r\n\
         Photo attached. It is still broken!\r\n"
    );
    let r = ingest_at(&e, "2026-11-26T15:00:00+01:00", &reply);
    assert_eq!(r["outcome"], "reply", "{r}");
    let t = e.ticket(id);
    assert_eq!(t["status"], "open");
    // Thursday 2 h, Friday 8 h, Monday 5 h: Monday 14:00 Berlin.
    assert_eq!(t["sla"]["resolution_due"], "2026-11-30T13:00:00Z");
    // the reply rule raised the priority and tagged it; the next response is due in 8 h
    assert_eq!(t["priority"], "high");
    assert!(
        t["tags"].as_array().unwrap().iter().any(|x| x == "angry"),
        "{t}"
    );
    assert_eq!(t["sla"]["next_response_due"], "2026-11-27T14:00:00Z");
    assert_eq!(t["sla"]["breached"], false);
}

#[test]
fn two_sweepers_at_once_fire_each_checkpoint_once() {
    // Every notice a mail of its own (no summaries), so the mails can be counted per ticket.
    let e = Env::with(
        &format!("{POLICY}\n[scheduler]\nnotice_batch = 1000\n"),
        None,
    );
    let ids = monday_questions(&e, 20, |i| format!("Question {i}"));
    // Wednesday: every first-response clock is past its warning and its breach.
    let spawn = || {
        e.cmd(&["sla", "sweep", "--now", "2026-11-25T12:00:00+01:00"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let mut fired = 0;
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        fired += r["breaches"].as_i64().unwrap();
    }
    // 20 first-response breaches and the resolution clocks' (16 h from Monday 10:00 is due
    // Wednesday 10:00): 40 in all, split between the two sweepers however they raced.
    assert_eq!(fired, 40);
    for id in ids {
        assert_eq!(events(&e, id, "sla_breach").len(), 2, "ticket {id}");
        assert_eq!(events(&e, id, "sla_warning").len(), 2, "ticket {id}");
    }
    assert_eq!(
        sent_to(&e, "sla_breach", "boss@example.test"),
        40,
        "one notice to the manager per breach"
    );
    // and the step two hours past each breach: the (reassigned) assignee hears of it once
    assert_eq!(
        sent_to(&e, "sla_breach", "alice@example.test")
            + sent_to(&e, "sla_breach", "bob@example.test"),
        40
    );
}

#[test]
fn many_notices_to_one_agent_go_as_one_summary_mail() {
    // More than 5 notices of one kind to one agent in a sweep: one summary mail.
    let e = Env::with(&format!("{POLICY}\n[scheduler]\nnotice_batch = 5\n"), None);
    let ids = monday_questions(&e, 12, |i| format!("Question <{i}>"));
    // Three of them assigned to Alice, the rest to nobody (their queue hears of them).
    e.sql(&format!(
        "UPDATE tickets SET assignee = 'alice@example.test' WHERE id IN ({}, {}, {})",
        ids[0], ids[1], ids[2]
    ));
    // Monday 12:30: past the warning (2 business hours) of every first response, before any
    // breach. Alice: her 3 tickets + 9 as a queue agent = 12 warnings -> one summary; Bob: 9.
    let r = sweep(&e, "2026-11-23T12:30:00+01:00");
    assert_eq!(r["warnings"], 12, "{r}");
    assert_eq!(r["mails"], 2, "{r}");
    for id in &ids {
        assert_eq!(events(&e, *id, "sla_warning").len(), 1, "ticket {id}");
    }
    assert_eq!(sent_to(&e, "sla_warning", "alice@example.test"), 0);
    assert_eq!(sent_to(&e, "sla_summary", "alice@example.test"), 1);
    assert_eq!(sent_to(&e, "sla_summary", "bob@example.test"), 1);
    let files = e.outbox_files();
    let alice = files
        .iter()
        .find(|m| header(m, "To").is_some_and(|t| t.contains("alice@example.test")))
        .expect("Alice's summary");
    assert_eq!(
        header(alice, "Subject").as_deref(),
        Some("12 SLA warnings on 12 tickets")
    );
    assert_eq!(
        header(alice, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert!(header(alice, "Message-ID").is_some() && header(alice, "Date").is_some());
    // Every ticket is listed once, earliest due first, in Alice's timezone, escaped in HTML.
    let text = postdesk::mail::parse::parse(
        alice.as_bytes(),
        "x",
        &postdesk::mail::parse::ParseLimits::default(),
    )
    .unwrap();
    for id in &ids {
        let tag = format!("#{id}]");
        assert_eq!(
            text.text.matches(&tag).count(),
            1,
            "{tag} in\n{}",
            text.text
        );
    }
    assert!(
        text.text.contains("(times in Europe/Berlin)"),
        "{}",
        text.text
    );
    assert!(text.text.contains("Question <11>"), "{}", text.text);
    let html = text.html.as_deref().unwrap();
    assert!(html.contains("Question &lt;11&gt;"), "{html}");
    // The same sweep again fires nothing and sends nothing.
    let r = sweep(&e, "2026-11-23T12:31:00+01:00");
    assert_eq!(
        (r["warnings"].as_i64(), r["mails"].as_i64()),
        (Some(0), Some(0))
    );
    // Two notices (fewer than the batch) each go on their own, threaded with their ticket.
    let e2 = Env::with(&format!("{POLICY}\n[scheduler]\nnotice_batch = 5\n"), None);
    monday_questions(&e2, 2, |_| "Hi".into());
    let r = sweep(&e2, "2026-11-23T12:30:00+01:00");
    assert_eq!(r["mails"], 4, "{r}");
    assert_eq!(sent_to(&e2, "sla_warning", "alice@example.test"), 2);
    assert_eq!(sent_to(&e2, "sla_summary", "alice@example.test"), 0);
}

#[test]
fn serve_sweeps_on_its_schedule() {
    let e = Env::with(
        &format!("{POLICY}\n[scheduler]\nsla_sweep = \"* * * * * *\"\n"),
        None,
    );
    // Received a week ago: long past its warning.
    let row = ingest_at(
        &e,
        &crate::util::rfc3339_ago(7 * 24 * 3600),
        &mail("carol@example.com", "old@example.com", "Forgotten", ""),
    );
    let id = row["ticket_id"].as_i64().unwrap();
    let d = e.serve();
    crate::util::wait_for(20, "the sweep in serve", || {
        (events(&e, id, "sla_breach").len() == 2).then_some(())
    });
    e.terminate(d);
    assert_eq!(e.ticket(id)["sla"]["breached"], true);
    assert!(e
        .outbox()
        .iter()
        .any(|r| r["kind"] == "sla_breach" && r["status"] == "sent"));
}

#[test]
fn a_rule_answers_with_a_template_from_the_templates_directory() {
    let tpl = tempfile::tempdir().unwrap();
    std::fs::write(
        tpl.path().join("vip_ack.txt.hbs"),
        "Dear {{customer.display}}, our VIP desk has {{ticket.ref}} and calls you within the hour.",
    )
    .unwrap();
    std::fs::write(
        tpl.path().join("vip_ack.html.hbs"),
        "<p>Dear {{customer.display}}, our VIP desk has {{ticket.ref}}.</p>",
    )
    .unwrap();
    let extra = format!(
        "\n[templates]\ndir = \"{}\"\n\n[[rules]]\nname = \"vip answer\"\nconditions = [{{ field = \"from\", op = \"domain\", value = \"vip.example\" }}]\nactions = {{ template = \"vip_ack\" }}\n",
        tpl.path().display()
    );
    let e = Env::with(&format!("{POLICY}{extra}"), None);
    ingest_at(
        &e,
        "2026-11-23T10:00:00+01:00",
        &mail("Vera <vera@vip.example>", "v1@vip", "Help", ""),
    );
    ingest_at(
        &e,
        "2026-11-23T10:00:00+01:00",
        &mail("carol@example.com", "c9@example.com", "Help", ""),
    );
    let files = e.outbox_files();
    let vip = files
        .iter()
        .find(|m| header(m, "To").is_some_and(|t| t.contains("vera@vip.example")))
        .expect("Vera's acknowledgement");
    assert!(vip.contains("our VIP desk has [Support #1]"), "{vip}");
    assert_eq!(
        header(vip, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    let plain = files
        .iter()
        .find(|m| header(m, "To").is_some_and(|t| t.contains("carol@example.com")))
        .expect("Carol's acknowledgement");
    assert!(!plain.contains("VIP desk"), "the others get the usual one");

    // A rule naming a template that does not exist is a config error naming the rule.
    let bad = Env::with(
        &format!(
            "{POLICY}{}",
            extra.replace("template = \"vip_ack\"", "template = \"gold_ack\"")
        ),
        None,
    );
    let out = bad.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("'vip answer': actions.template: names the template 'gold_ack'"),
        "{err}"
    );
}

#[test]
fn a_broken_summary_template_stops_the_sweep_before_any_clock_fires() {
    let tpl = tempfile::tempdir().unwrap();
    let e = Env::with(
        &format!(
            "{POLICY}\n[templates]\ndir = \"{}\"\n",
            tpl.path().display()
        ),
        None,
    );
    let row = ingest_at(
        &e,
        "2026-11-23T10:00:00+01:00",
        &mail("carol@example.com", "b1@example.com", "Help", ""),
    );
    let id = row["ticket_id"].as_i64().unwrap();
    // Written after the ticket came in: its acknowledgement was sent with the built-in ones.
    std::fs::write(
        tpl.path().join("sla_summary.txt.hbs"),
        "{{#each tickets}}{{ticket.ref}}\n",
    )
    .unwrap();
    let out = e.run(&["sla", "sweep", "--now", "2026-11-23T12:30:00+01:00"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("sla_summary.txt.hbs"), "{err}");
    assert!(events(&e, id, "sla_warning").is_empty(), "a clock fired");
    // Mended, the same sweep fires the warning once.
    std::fs::write(
        tpl.path().join("sla_summary.txt.hbs"),
        "{{#each tickets}}{{ticket.ref}}\n{{/each}}",
    )
    .unwrap();
    let r = sweep(&e, "2026-11-23T12:30:00+01:00");
    assert_eq!(r["warnings"], 1, "{r}");
    assert_eq!(events(&e, id, "sla_warning").len(), 1);
}
