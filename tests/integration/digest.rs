//! Digests through the binary: exact figures over a known data set (`digest --dry-run --now`),
//! queued and recorded runs, and a missed run caught up once at start by two instances.

use crate::util::{header, Env};
use mail_parser::MimeHeaders;
use serde_json::Value;

const CONFIG: &str = r#"sla = "standard"

[[agents]]
address = "alice@example.test"
name = "Alice Agent"
queues = ["general"]

[[agents]]
address = "boss@example.test"
name = "Mia Manager"
role = "manager"

[[calendars]]
name = "office"
timezone = "Europe/Berlin"
hours = { mon = "09:00-17:00", tue = "09:00-17:00", wed = "09:00-17:00", thu = "09:00-17:00", fri = "09:00-17:00" }

[[sla]]
name = "standard"
calendar = "office"
first_response = { normal = "4h" }
resolution = { normal = "16h" }

[[digests]]
name = "weekly"
cron = "0 0 8 * * Fri"
timezone = "Europe/Berlin"
to = ["boss@example.test"]
period = "7d"
due_within = "4h"
"#;

fn mail(from: &str, id: &str, subject: &str) -> String {
    format!(
        "From: {from}\r\nTo: support@example.test\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n\r\nHello.\r\n"
    )
}

fn ingest_at(e: &Env, at: &str, raw: &str) -> Value {
    let out = e.run_stdin(&["ingest", "--at", at, "-"], raw.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    e.inbound().last().cloned().unwrap()
}

/// The text part of a composed mail, quoted-printable undone.
fn text_part(mail: &str) -> String {
    let start = mail.find("Content-Type: text/plain").expect("a text part");
    let body = &mail[start..];
    let body = &body[body.find("\r\n\r\n").unwrap() + 4..];
    let end = body.find("\r\n--").unwrap_or(body.len());
    body[..end]
        .replace("=\r\n", "")
        .replace("=3D", "=")
        .replace("\r\n", "\n")
}

/// Three tickets: one answered in an hour and resolved, one left to breach, one due soon.
fn data_set() -> Env {
    let e = Env::with(CONFIG, None);
    ingest_at(
        &e,
        "2026-11-23T10:00:00+01:00",
        &mail("carol@example.com", "t1@example.com", "Printer jammed"),
    );
    ingest_at(
        &e,
        "2026-11-23T10:00:00+01:00",
        &mail("dave@example.com", "t2@example.com", "VPN down"),
    );
    let note = e
        .outbox_files()
        .into_iter()
        .find(|m| {
            m.contains("Printer jammed") && header(m, "To").is_some_and(|t| t.contains("alice@"))
        })
        .expect("Alice's notification");
    let to = header(&note, "Reply-To").unwrap();
    let to = &to[to.find('<').unwrap() + 1..to.find('>').unwrap()];
    let answer = format!(
        "From: Alice Agent <alice@example.test>\r\nTo: {to}\r\nSubject: Re: Printer jammed\r\n\
         Message-ID: <a1@example.test>\r\nDate: Mon, 23 Nov 2026 11:00:00 +0100\r\n\r\n\
         #status resolved\r\nFixed: the paper tray was stuck.\r\n"
    );
    ingest_at(&e, "2026-11-23T11:00:00+01:00", &answer);
    e.json(&["sla", "sweep", "--now", "2026-11-24T12:00:00+01:00"]);
    ingest_at(
        &e,
        "2026-11-26T16:00:00+01:00",
        &mail("erin@example.com", "t3@example.com", "Invoice question"),
    );
    e
}

#[test]
fn a_digest_over_a_known_data_set_has_exact_figures() {
    let e = data_set();
    let out = e.run(&[
        "digest",
        "weekly",
        "--dry-run",
        "--now",
        "2026-11-27T08:00:00+01:00",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = String::from_utf8(out.stdout).unwrap();
    assert_eq!(header(&m, "To").as_deref(), Some("boss@example.test"));
    assert_eq!(
        header(&m, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert!(header(&m, "Message-ID").is_some() && header(&m, "Date").is_some());
    assert!(m.contains("multipart/alternative"), "{m}");
    let t = text_part(&m);
    for want in [
        "2026-11-20 08:00 CET to 2026-11-27 08:00 CET (7 d)",
        "OPEN TICKETS: 2\n  new: 2\n",
        "By queue:\n  general: 2\n",
        "New:       3\n  Resolved:  1\n",
        "First response:  100.0 % (1 of 1 met)",
        "Resolution:      100.0 % (1 of 1 met)",
        "First response:  median 1 h, 90th percentile 1 h (1 tickets)",
        "Resolution:      median 1 h, 90th percentile 1 h (1 tickets)",
        "BREACHED (1)\n  [Support #2] VPN down - dave@example.com, nobody, 3 d 18 h late\n",
        "DUE WITHIN 4 h (1)\n  [Support #3] Invoice question - erin@example.com, nobody, 4 h left\n",
        "OLDEST OPEN\n  [Support #2] VPN down - dave@example.com, nobody, new, 3 d 22 h old\n  [Support #3] Invoice question - erin@example.com, nobody, new, 16 h old\n",
        "nobody: 2 / 0 / 1",
        "23.11 2/1, 24.11 0/0, 25.11 0/0, 26.11 1/0, 27.11 0/0\n",
        "Open tickets by age (open tickets):\n    <1d 1, 1-3d 0, 3-7d 1, 1-4w 0, >4w 0",
        "SLA attainment per week (first response, resolution):\n",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    // nothing was queued or recorded by the dry run
    assert!(e.outbox().iter().all(|r| r["kind"] != "digest"));

    // Sent for real: queued, delivered, and a second send of the same run is refused.
    let run = |e: &Env| e.run(&["digest", "weekly", "--now", "2026-11-27T08:00:00+01:00"]);
    assert!(run(&e).status.success());
    let digests: Vec<Value> = e
        .outbox()
        .into_iter()
        .filter(|r| r["kind"] == "digest")
        .collect();
    assert_eq!(digests.len(), 1);
    assert_eq!(digests[0]["status"], "sent");
    let again = run(&e);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already sent"));
    assert_eq!(
        e.outbox().iter().filter(|r| r["kind"] == "digest").count(),
        1
    );
}

/// Issue #20: the HTML digest shows its charts as inline PNGs (multipart/related, `cid:`),
/// each under 60 KB; Chromium renders the HTML with them, and the screenshot is kept.
#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn the_digest_shows_its_charts_inline_and_chromium_renders_them() {
    let e = data_set();
    let m = e.ok(&[
        "digest",
        "weekly",
        "--dry-run",
        "--now",
        "2026-11-27T08:00:00+01:00",
    ]);
    let parsed = mail_parser::MessageParser::default()
        .parse(m.as_bytes())
        .expect("the digest parses");
    let html = parsed.body_html(0).expect("an HTML part").to_string();
    assert!(
        m.contains("multipart/related"),
        "the images are related to the HTML"
    );
    let mut images = Vec::new();
    for part in parsed.parts.iter() {
        let Some(ct) = part.content_type() else {
            continue;
        };
        if ct.ctype() != "image" {
            continue;
        }
        assert_eq!(ct.subtype(), Some("png"));
        let cid = part.content_id().expect("a Content-ID").to_string();
        let bytes = part.contents().to_vec();
        assert!(bytes.starts_with(b"\x89PNG"), "{cid}");
        assert!(bytes.len() <= 60_000, "{cid}: {} bytes", bytes.len());
        assert!(
            html.contains(&format!("cid:{cid}")),
            "{cid} shown by the HTML"
        );
        images.push((cid, bytes));
    }
    assert_eq!(
        images.len(),
        4,
        "opened/resolved, SLA, satisfaction, backlog"
    );
    // The HTML as a mail client shows it: each cid: image next to it as a file.
    let dir = crate::browser::artefacts().join("digest");
    std::fs::create_dir_all(&dir).unwrap();
    let mut page = html.clone();
    for (cid, bytes) in &images {
        let file = format!("{}.png", cid.replace(['@', '.'], "-"));
        std::fs::write(dir.join(&file), bytes).unwrap();
        page = page.replace(&format!("cid:{cid}"), &file);
    }
    std::fs::write(dir.join("digest.html"), &page).unwrap();
    let b = crate::browser::Browser::start();
    b.goto(&format!("file://{}", dir.join("digest.html").display()));
    let loaded = b.execute(
        "return Array.from(document.images).map(i => i.complete && i.naturalWidth === 600 && i.naturalHeight === 220);",
    );
    assert_eq!(
        loaded,
        serde_json::json!([true, true, true, true]),
        "every chart decoded by Chromium"
    );
    b.execute("document.querySelector('h2:last-of-type').scrollIntoView();");
    b.screenshot("digest-charts");
}

#[test]
fn a_missed_run_is_sent_once_at_start_by_two_instances() {
    let e = Env::with(
        &CONFIG.replace("cron = \"0 0 8 * * Fri\"", "cron = \"0 0 * * * *\""),
        None,
    );
    // The last run was three hours ago: the service was down for the two hours since.
    let three_hours_ago =
        chrono::Utc::now().timestamp_millis() / 3_600_000 * 3_600_000 - 3 * 3_600_000;
    e.ok(&["migrate"]);
    e.sql(&format!(
        "INSERT INTO digest_runs (name, scheduled_for, sent_at) VALUES ('weekly', {three_hours_ago}, {three_hours_ago})"
    ));
    let (a, b) = (e.serve(), e.serve());
    crate::util::wait_for(20, "the caught-up digest", || {
        e.outbox()
            .iter()
            .any(|r| r["kind"] == "digest" && r["status"] == "sent")
            .then_some(())
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    e.terminate(a);
    e.terminate(b);
    let d = e.serve();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    e.terminate(d);
    let n = e.outbox().iter().filter(|r| r["kind"] == "digest").count();
    // One for the missed hour (two instances and a restart later); a second one only if an
    // hour boundary passed during the test, which the scheduler then sends once too.
    let boundary = chrono::Utc::now().timestamp_millis() / 3_600_000 * 3_600_000
        > three_hours_ago + 3 * 3_600_000;
    assert_eq!(n, if boundary { 2 } else { 1 }, "{}", e.serve_log());
}
