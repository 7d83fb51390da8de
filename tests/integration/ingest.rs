//! `postdesk ingest` on real .eml fixtures: tickets, threading, acknowledgements, dedupe, and
//! bad input.

use crate::util::{fixture, header, Env};

fn ids(v: &serde_json::Value) -> Vec<String> {
    v["message_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn new_mail_opens_a_ticket_and_is_acknowledged() {
    let env = Env::new();
    env.ingest(&["plain.eml"]);
    let tickets = env.tickets();
    assert_eq!(tickets.len(), 1);
    let t = &tickets[0];
    assert_eq!(t["ref"], "[Support #1]");
    assert_eq!(t["subject"], "Printer on fire");
    assert_eq!(t["status"], "new");
    assert_eq!(t["priority"], "normal");
    assert_eq!(t["queue"], "general");
    assert_eq!(t["requester"], "carol@customer.example");
    assert!(ids(t).contains(&"<plain-1@customer.example>".to_string()));

    let outbox = env.outbox();
    assert_eq!(outbox.len(), 1);
    let o = &outbox[0];
    assert_eq!(o["status"], "sent");
    assert_eq!(o["kind"], "ack");
    assert_eq!(o["to"], serde_json::json!(["carol@customer.example"]));
    assert_eq!(o["attempts"], 1);
    // Our own Message-ID is part of the ticket, so replies to the ack thread.
    assert!(
        ids(t).contains(&o["message_id"].as_str().unwrap().to_string()),
        "{t}"
    );

    let files = env.outbox_files();
    assert_eq!(files.len(), 1);
    let ack = &files[0];
    assert_eq!(
        header(ack, "Subject").as_deref(),
        Some("[Support #1] Printer on fire")
    );
    assert_eq!(
        header(ack, "In-Reply-To").as_deref(),
        Some("<plain-1@customer.example>")
    );
    // Our self-reference first (it survives a relay rewriting our Message-ID), then the chain.
    let refs = header(ack, "References").unwrap();
    let refs: Vec<&str> = refs.split_whitespace().collect();
    assert!(refs[0].starts_with("<ticket-1."), "{refs:?}");
    assert_eq!(refs[1..], ["<plain-1@customer.example>"]);
    assert!(header(ack, "Reply-To").unwrap().contains("<support+1."));
    assert!(header(ack, "Thread-Index").is_some());
    assert_eq!(header(ack, "X-Postdesk-Hops").as_deref(), Some("1"));
    assert_eq!(
        header(ack, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    assert_eq!(
        header(ack, "Message-ID").as_deref(),
        o["message_id"].as_str()
    );
    assert!(header(ack, "Date").is_some());
    assert_eq!(header(ack, "MIME-Version").as_deref(), Some("1.0"));
    assert!(header(ack, "From")
        .unwrap()
        .contains("<support@example.test>"));
    assert!(header(ack, "To")
        .unwrap()
        .contains("carol@customer.example"));
    assert!(
        ack.contains("multipart/alternative") && ack.contains("text/html"),
        "{ack}"
    );

    let inbound = env.inbound();
    assert_eq!(inbound[0]["outcome"], "new_ticket");
    assert_eq!(inbound[0]["ticket_id"], 1);
    assert_eq!(inbound[0]["mailbox"], "support");
}

#[test]
fn reply_threads_by_in_reply_to_and_is_not_acknowledged() {
    let env = Env::new();
    env.ingest(&["plain.eml"]);
    env.ingest(&["reply_in_reply_to.eml"]);
    let tickets = env.tickets();
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    let inbound = env.inbound();
    assert_eq!(inbound[1]["outcome"], "reply");
    assert_eq!(inbound[1]["matched_by"], "references");
    assert_eq!(inbound[1]["ticket_id"], 1);
    assert_eq!(env.outbox().len(), 1, "a reply is not acknowledged again");
    let t = env.ticket(1);
    let texts: Vec<&str> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "in")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 2);
    assert!(texts[1].contains("still burning"));
}

#[test]
fn reply_threads_by_subject_tag_alone() {
    let env = Env::new();
    env.ingest(&["plain.eml", "reply_subject_tag.eml"]);
    assert_eq!(env.tickets().len(), 1);
    let inbound = env.inbound();
    assert_eq!(inbound[1]["outcome"], "reply");
    assert_eq!(inbound[1]["matched_by"], "subject_tag");
}

#[test]
fn a_tag_naming_no_ticket_opens_a_new_one() {
    let env = Env::new();
    env.ingest(&["reply_subject_tag.eml"]);
    let inbound = env.inbound();
    assert_eq!(inbound[0]["outcome"], "new_ticket");
    assert_eq!(inbound[0]["matched_by"], serde_json::Value::Null);
}

#[test]
fn reply_to_our_acknowledgement_threads() {
    let env = Env::new();
    env.ingest(&["no_message_id.eml"]);
    let ack_id = env.outbox()[0]["message_id"].as_str().unwrap().to_string();
    let reply = format!("From: frank@customer.example\r\nTo: support@example.test\r\nSubject: Re: thanks\r\nMessage-ID: <f2@customer.example>\r\nIn-Reply-To: {ack_id}\r\nReferences: {ack_id}\r\n\r\nthanks\r\n");
    let out = env.run_stdin(&["ingest", "-"], reply.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.tickets().len(), 1);
    assert_eq!(env.inbound()[1]["matched_by"], "references");
}

#[test]
fn the_same_mail_twice_changes_nothing() {
    let env = Env::new();
    env.ingest(&["plain.eml"]);
    let before = (env.tickets(), env.inbound(), env.outbox());
    env.ingest(&["plain.eml"]);
    env.ingest(&["plain.eml", "plain.eml"]);
    assert_eq!(before, (env.tickets(), env.inbound(), env.outbox()));
    assert_eq!(env.outbox_files().len(), 1);
}

#[test]
fn the_same_mail_by_another_route_is_a_recorded_duplicate() {
    let env = Env::new();
    env.ingest(&["plain.eml"]);
    let mut other =
        b"Received: from relay2.example by mx.example.test; Sat, 21 Nov 2026 09:00:05 +0100\r\n"
            .to_vec();
    other.extend_from_slice(&std::fs::read(fixture("plain.eml")).unwrap());
    let out = env.run_stdin(&["ingest", "-"], &other);
    assert!(out.status.success());
    let inbound = env.inbound();
    assert_eq!(inbound.len(), 2);
    assert_eq!(inbound[1]["outcome"], "duplicate");
    assert_eq!(inbound[1]["ticket_id"], 1);
    assert_eq!(env.tickets().len(), 1);
    assert_eq!(env.outbox().len(), 1);
}

#[test]
fn html_only_mail_is_sanitised_and_gets_a_text_body() {
    let env = Env::new();
    env.ingest(&["html_only.eml"]);
    let t = env.ticket(1);
    let m = &t["messages"][0];
    let html = m["html"].as_str().unwrap();
    for bad in ["<script", "onerror", "javascript:", "alert(\"x\")"] {
        assert!(!html.contains(bad), "{bad} survived in {html}");
    }
    assert!(html.contains("<b>screen</b>"), "{html}");
    assert!(m["text"].as_str().unwrap().contains("screen"), "{m}");
    assert!(!m["text"].as_str().unwrap().contains("alert"), "{m}");
}

#[test]
fn attachments_are_listed() {
    let env = Env::new();
    env.ingest(&["attachment.eml"]);
    let m = &env.ticket(1)["messages"][0];
    let a = &m["attachments"][0];
    assert_eq!(a["name"], "invoice 42.pdf");
    assert_eq!(a["content_type"], "application/pdf");
    assert_eq!(a["size"], 54);
    assert!(m["text"].as_str().unwrap().contains("attached invoice"));
}

#[test]
fn non_utf8_charsets_are_decoded() {
    let env = Env::new();
    env.ingest(&["latin1.eml"]);
    let t = env.ticket(1);
    assert_eq!(t["subject"], "Drücker kaputt");
    let m = &t["messages"][0];
    assert_eq!(m["from_name"], "Jürgen Müller");
    assert!(
        m["text"]
            .as_str()
            .unwrap()
            .contains("Grüße, der Drucker im Büro"),
        "{m}"
    );
    // The acknowledgement encodes the non-ASCII subject and name.
    let ack = &env.outbox_files()[0];
    assert!(ack.is_ascii());
    assert!(
        header(ack, "Subject").unwrap().contains("=?utf-8?"),
        "{ack}"
    );
}

#[test]
fn a_missing_message_id_is_synthesised_stably() {
    let env = Env::new();
    env.ingest(&["no_message_id.eml"]);
    env.ingest(&["no_message_id.eml"]);
    let inbound = env.inbound();
    assert_eq!(inbound.len(), 1);
    let id = inbound[0]["message_id"].as_str().unwrap();
    assert!(id.ends_with("@synthesized.postdesk.invalid>"), "{id}");
    assert_eq!(env.tickets().len(), 1);
    let ack = &env.outbox_files()[0];
    assert_eq!(
        header(ack, "In-Reply-To"),
        None,
        "no In-Reply-To to an id the customer never saw"
    );
}

#[test]
fn auto_replies_open_nothing_and_get_no_answer() {
    let env = Env::new();
    env.ingest(&["auto_reply.eml"]);
    let inbound = env.inbound();
    assert_eq!(inbound[0]["outcome"], "auto_reply");
    assert_eq!(inbound[0]["ticket_id"], serde_json::Value::Null);
    assert!(inbound[0]["reason"]
        .as_str()
        .unwrap()
        .contains("Auto-Submitted"));
    assert!(env.tickets().is_empty());
    assert!(env.outbox().is_empty());
}

#[test]
fn an_auto_reply_to_a_ticket_joins_it_silently() {
    let env = Env::new();
    env.ingest(&["plain.eml"]);
    let ack_id = env.outbox()[0]["message_id"].as_str().unwrap().to_string();
    let ooo = format!("From: carol@customer.example\r\nTo: support@example.test\r\nSubject: Auto: [Support #1] Printer on fire\r\nMessage-ID: <ooo-2@customer.example>\r\nIn-Reply-To: {ack_id}\r\nAuto-Submitted: auto-replied\r\n\r\nOut of office.\r\n");
    assert!(env
        .run_stdin(&["ingest", "-"], ooo.as_bytes())
        .status
        .success());
    let inbound = env.inbound();
    assert_eq!(inbound[1]["outcome"], "auto_reply");
    assert_eq!(inbound[1]["ticket_id"], 1);
    let kinds: Vec<String> = env.ticket(1)["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, vec!["customer", "auto", "auto"]);
    assert_eq!(env.outbox().len(), 1, "never answer an auto-reply");
}

#[test]
fn bounces_open_nothing_and_get_no_answer() {
    let env = Env::new();
    env.ingest(&["bounce.eml"]);
    let inbound = env.inbound();
    assert_eq!(inbound[0]["outcome"], "bounce");
    assert!(env.tickets().is_empty());
    assert!(env.outbox().is_empty());
}

#[test]
fn list_mail_is_refused_unless_the_mailbox_accepts_it() {
    let env = Env::new();
    env.ingest(&["list.eml"]);
    assert_eq!(env.inbound()[0]["outcome"], "auto_reply");
    assert!(env.tickets().is_empty());

    let env = Env::with("", None);
    let text = std::fs::read_to_string(&env.config).unwrap().replace(
        "poll_interval = \"200ms\"",
        "poll_interval = \"200ms\"\naccept_list_mail = true",
    );
    std::fs::write(&env.config, text).unwrap();
    env.ingest(&["list.eml"]);
    assert_eq!(env.inbound()[0]["outcome"], "new_ticket");
    assert_eq!(env.tickets().len(), 1);
    assert!(env.outbox().is_empty(), "list mail is never acknowledged");
}

#[test]
fn unparseable_mail_is_kept_as_failed_and_does_not_stop_the_rest() {
    let env = Env::new();
    let dir = env.path("batch");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("1.eml"), b"\x00\x01\x02 this is not mail").unwrap();
    std::fs::write(dir.join("2.eml"), b"   \r\n").unwrap();
    std::fs::copy(fixture("plain.eml"), dir.join("3.eml")).unwrap();
    let out = env.run(&["ingest", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let failed = env.json(&["inbound", "--failed", "--json"]);
    let failed = failed.as_array().unwrap();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(failed
        .iter()
        .all(|f| f["outcome"] == "failed" && f["error"].as_str().is_some_and(|e| !e.is_empty())));
    assert_eq!(env.tickets().len(), 1);
    assert_eq!(env.inbound().len(), 3);
}

#[test]
fn stdin_works_as_an_mta_pipe() {
    let env = Env::new();
    let mail = std::fs::read(fixture("plain.eml")).unwrap();
    let out = env.run_stdin(&["ingest", "--mailbox", "support", "-"], &mail);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.tickets().len(), 1);
    assert_eq!(env.outbox_files().len(), 1);
    // An MTA's pipe may put an mbox "From " line in front.
    let mut with_from = b"From carol@customer.example Sat Nov 21 09:00:00 2026\n".to_vec();
    with_from.extend_from_slice(&std::fs::read(fixture("latin1.eml")).unwrap());
    assert!(env.run_stdin(&["ingest", "-"], &with_from).status.success());
    assert_eq!(env.tickets().len(), 2);
}

#[test]
fn stdin_exits_75_when_the_database_is_unreachable() {
    let env = Env::new();
    let text = std::fs::read_to_string(&env.config)
        .unwrap()
        .replace(&env.db_url, "postgres://postdesk@127.0.0.1:1/nowhere");
    std::fs::write(&env.config, text).unwrap();
    let out = env.run_stdin(
        &["ingest", "-"],
        &std::fs::read(fixture("plain.eml")).unwrap(),
    );
    assert_eq!(
        out.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("127.0.0.1"));
}

#[test]
fn a_bad_config_names_file_key_and_expectation_and_exits_2() {
    let env = Env::new();
    let bad = env.path("bad.toml");
    std::fs::write(&bad, "[database]\nurl = 42\n[identity]\naddress = \"support@example.test\"\n[[mailboxes]]\nname = \"x\"\nkind = \"pop3\"\n").unwrap();
    let out = std::process::Command::new(crate::util::BIN)
        .args(["--config", bad.to_str().unwrap(), "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml: database.url: expected a string"),
        "{err}"
    );
    assert!(
        err.contains(
            "bad.toml: mailboxes[0].kind: expected \"maildir\", \"imap\" or \"lmtp\", found \"pop3\""
        ),
        "{err}"
    );
}

#[test]
fn an_unreadable_path_exits_2_and_stores_nothing() {
    let env = Env::new();
    let plain = fixture("plain.eml");
    let out = env.run(&["ingest", plain.to_str().unwrap(), "/nonexistent/mail.eml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/mail.eml"));
    assert!(env.tickets().is_empty());
}

#[test]
fn mbox_and_maildir_folders_are_read() {
    let env = Env::new();
    let mut mbox = Vec::new();
    for f in ["plain.eml", "latin1.eml"] {
        mbox.extend_from_slice(b"From someone@example Sat Nov 21 09:00:00 2026\n");
        mbox.extend_from_slice(&std::fs::read(fixture(f)).unwrap());
        mbox.extend_from_slice(b"\n");
    }
    std::fs::write(env.path("in.mbox"), &mbox).unwrap();
    env.ok(&["ingest", env.path("in.mbox").to_str().unwrap()]);
    assert_eq!(env.tickets().len(), 2);

    let md = env.path("md");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(md.join(sub)).unwrap();
    }
    std::fs::copy(fixture("attachment.eml"), md.join("new/1.host")).unwrap();
    std::fs::copy(fixture("html_only.eml"), md.join("cur/2.host:2,S")).unwrap();
    env.ok(&["ingest", md.to_str().unwrap()]);
    assert_eq!(env.tickets().len(), 4);
    assert!(
        md.join("new/1.host").exists(),
        "ingest leaves the folders it imports as they are"
    );
}

#[test]
fn at_sets_the_time_of_receipt_and_no_send_leaves_the_outbox_to_serve() {
    let env = Env::new();
    env.ok(&[
        "ingest",
        "--at",
        "2026-03-02T08:15:00+01:00",
        "--no-send",
        fixture("plain.eml").to_str().unwrap(),
    ]);
    let t = &env.tickets()[0];
    assert_eq!(t["created_at"], "2026-03-02T07:15:00Z");
    let o = &env.outbox()[0];
    assert_eq!(o["status"], "pending");
    assert!(env.outbox_files().is_empty());
    assert_eq!(
        env.json(&["outbox", "--pending", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_mail_the_database_refuses_is_recorded_as_failed_and_the_batch_goes_on() {
    let env = Env::new();
    env.ok(&["migrate"]);
    // A trigger that refuses one subject stands in for any per-mail database error.
    if crate::util::backend() == "postgres" {
        env.sql(
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN \
               IF NEW.subject = 'Invoice attached' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; \
               RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse();",
        );
    } else {
        env.sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.subject = 'Invoice attached' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END;",
        );
    }
    env.ingest(&["plain.eml", "attachment.eml", "latin1.eml"]);
    let inbound = env.inbound();
    let outcomes: Vec<&str> = inbound
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        vec!["new_ticket", "failed", "new_ticket"],
        "{inbound:?}"
    );
    assert!(
        inbound[1]["error"]
            .as_str()
            .unwrap()
            .contains("refused by the test trigger"),
        "{}",
        inbound[1]
    );
    assert_eq!(
        env.tickets().len(),
        2,
        "the refused mail left no half-made ticket"
    );
    assert_eq!(env.outbox().len(), 2);
    // The search index holds the two stored tickets (its rows are written at the end of the
    // batch) and nothing of the refused mail, whose ticket row was rolled back.
    for t in env.tickets() {
        let subject = t["subject"].as_str().unwrap();
        let hits = env.json(&["search", "--json", subject]);
        assert!(
            hits.as_array().unwrap().iter().any(|h| h["id"] == t["id"]),
            "{subject}: {hits}"
        );
    }
    let hits = env.json(&["search", "--json", "invoice"]);
    assert_eq!(hits.as_array().unwrap().len(), 0, "{hits}");
}

#[test]
fn postgresql_connections_can_require_tls() {
    if crate::util::backend() != "postgres" {
        return; // SQLite has no connection to encrypt.
    }
    let env = Env::new();
    let sep = if env.db_url.contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}sslmode=require", env.db_url);
    let text = std::fs::read_to_string(&env.config)
        .unwrap()
        .replace(&env.db_url, &url);
    std::fs::write(&env.config, text).unwrap();
    env.ok(&["migrate"]);
    env.ingest(&["plain.eml"]);
    assert_eq!(env.tickets().len(), 1);
}

/// The requester takes part; someone else who answers their mail (copying others) is kept on
/// the ticket but receives no answers (issue #21: knowing a Message-ID is not enough).
#[test]
fn participants_are_the_requester_not_whoever_writes() {
    let env = Env::new();
    env.ingest(&["plain.eml"]);
    let colleague = "From: Dave Colleague <dave@customer.example>\r\nTo: support@example.test\r\nCc: carol@customer.example, erin@customer.example\r\nSubject: Re: Printer on fire\r\nMessage-ID: <dave-1@customer.example>\r\nIn-Reply-To: <plain-1@customer.example>\r\n\r\nSame here.\r\n";
    assert!(env
        .run_stdin(&["ingest", "-"], colleague.as_bytes())
        .status
        .success());
    env.ingest(&["reply_in_reply_to.eml"]);
    let parts = env.ticket(1)["participants"].as_array().unwrap().clone();
    let mut got: Vec<(String, String)> = parts
        .iter()
        .map(|p| {
            (
                p["address"].as_str().unwrap().to_string(),
                p["role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![(
            "carol@customer.example".to_string(),
            "requester".to_string()
        )]
    );
    assert_eq!(
        env.inbound()[1]["ticket_id"],
        1,
        "Dave's mail is on the ticket"
    );
}

#[test]
fn the_acknowledgement_follows_reply_to_but_never_to_ourselves() {
    let env = Env::new();
    let to_colleague = "From: Carol <carol@customer.example>\r\nReply-To: Helpdesk Team <team@customer.example>\r\nTo: support@example.test\r\nSubject: One\r\nMessage-ID: <rt1@customer.example>\r\n\r\nx\r\n";
    let to_us = "From: Dan <dan@customer.example>\r\nReply-To: support@example.test\r\nTo: support@example.test\r\nSubject: Two\r\nMessage-ID: <rt2@customer.example>\r\n\r\ny\r\n";
    for m in [to_colleague, to_us] {
        assert!(env
            .run_stdin(&["ingest", "-"], m.as_bytes())
            .status
            .success());
    }
    let to: Vec<serde_json::Value> = env.outbox().iter().map(|o| o["to"].clone()).collect();
    assert_eq!(
        to,
        vec![
            serde_json::json!(["team@customer.example"]),
            serde_json::json!(["dan@customer.example"])
        ]
    );
}

#[test]
fn a_bounce_is_matched_to_the_outbox_row_and_ticket_it_reports_on() {
    let env = Env::new();
    env.ingest(&["plain.eml"]);
    let ack = env.outbox()[0]["message_id"].as_str().unwrap().to_string();
    let dsn = format!(
        "From: MAILER-DAEMON@mx.customer.example (Mail Delivery System)\r\nTo: support@example.test\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.customer.example>\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.example\r\n\r\n\
         Final-Recipient: rfc822; carol@customer.example\r\nAction: failed\r\nStatus: 5.2.2\r\n\
         Diagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n\r\n\
         --B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: support@example.test\r\nMessage-ID: {ack}\r\n\
         Subject: [Support #1] Printer on fire\r\n--B--\r\n"
    );
    assert!(env
        .run_stdin(&["ingest", "-"], dsn.as_bytes())
        .status
        .success());
    let o = &env.outbox()[0];
    assert_eq!(o["status"], "failed", "{o}");
    assert!(o["last_error"].as_str().unwrap().contains("5.2.2"), "{o}");
    let inbound = env.inbound();
    assert_eq!(inbound[1]["outcome"], "bounce");
    assert_eq!(inbound[1]["ticket_id"], 1);
    assert_eq!(inbound[1]["matched_by"], "references");
    let t = env.ticket(1);
    assert!(
        t["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "delivery_failed"
                && e["detail"].as_str().unwrap().contains("mailbox full")),
        "{t}"
    );
    assert_eq!(env.tickets().len(), 1, "a bounce never opens a ticket");
    assert_eq!(env.outbox().len(), 1, "a bounce is never answered");
}

/// The header block of a composed mail, folded lines joined.
fn header_names(mail: &str) -> Vec<String> {
    let head = &mail[..mail.find("\r\n\r\n").unwrap_or(mail.len())];
    head.split("\r\n")
        .filter(|l| !l.starts_with([' ', '\t']))
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_ascii_lowercase()))
        .collect()
}

#[test]
fn line_breaks_in_subjects_names_and_attachment_names_never_make_headers() {
    let e = Env::new();
    // CR LF hidden in encoded words (subject, display name) and raw in an attachment name.
    let mail = "From: =?utf-8?q?Eve=0D=0ABcc=3A_victim=40example.org?= <eve@example.com>\r\n\
                To: support@example.test\r\n\
                Subject: =?utf-8?q?Hello=0D=0ABcc=3A_victim=40example.org=0D=0A=0D=0Abody?=\r\n\
                Message-ID: <inject@example.com>\r\n\
                MIME-Version: 1.0\r\n\
                Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
                --b\r\nContent-Type: text/plain\r\n\r\nHi\r\n\
                --b\r\nContent-Type: application/octet-stream\r\n\
                Content-Disposition: attachment; filename=\"..\\\\..\\\\x\u{202e}gpj.exe\"\r\n\r\nAAAA\r\n--b--\r\n";
    let out = e.run_stdin(&["ingest", "-"], mail.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = e.outbox_files();
    assert!(!files.is_empty());
    for m in &files {
        let names = header_names(m);
        assert!(
            !names.iter().any(|n| n == "bcc"),
            "a Bcc header was made: {names:?}\n{m}"
        );
        assert_eq!(names.iter().filter(|n| *n == "subject").count(), 1);
    }
    let t = e.ticket(1);
    assert!(
        !t["subject"].as_str().unwrap().contains(['\r', '\n']),
        "{t}"
    );
    let att = &t["messages"][0]["attachments"][0];
    assert_eq!(att["name"], "xgpj.exe", "{att}");
}

#[test]
fn structural_limits_give_a_recorded_outcome() {
    let e = Env::with(
        "\n[limits]\nmax_headers = 20\nmax_header_length = 2000\nmax_mime_depth = 5\nmax_attachments = 1\nmax_text_size = 64\n",
        None,
    );
    let dir = e.path("limits");
    std::fs::create_dir_all(&dir).unwrap();
    let head = |id: &str| {
        format!("From: a@example.com\r\nTo: support@example.test\r\nSubject: {id}\r\nMessage-ID: <{id}@x>\r\n")
    };
    let many: String = (0..30).map(|i| format!("X-Filler-{i}: y\r\n")).collect();
    std::fs::write(
        dir.join("1.eml"),
        format!("{}{many}\r\nbody\r\n", head("many-headers")),
    )
    .unwrap();
    std::fs::write(
        dir.join("2.eml"),
        format!(
            "{}X-Long: {}\r\n\r\nbody\r\n",
            head("long-header"),
            "y".repeat(5000)
        ),
    )
    .unwrap();
    let mut nested = "Content-Type: text/plain\r\n\r\ninnermost\r\n".to_string();
    for i in 0..8 {
        nested = format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n{nested}\r\n--b{i}--\r\n");
    }
    std::fs::write(
        dir.join("3.eml"),
        format!("{}MIME-Version: 1.0\r\n{nested}", head("nested")),
    )
    .unwrap();
    let att = |n: u32| {
        format!("--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"f{n}.bin\"\r\n\r\nAAAA\r\n")
    };
    std::fs::write(
        dir.join("4.eml"),
        format!(
            "{}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n{}\r\n{}{}{}--b--\r\n",
            head("cut"),
            "long text ".repeat(50),
            att(1),
            att(2),
            att(3)
        ),
    )
    .unwrap();
    e.ingest(&[dir.to_str().unwrap()]);
    let rows = e.inbound();
    let by = |s: &str| {
        rows.iter()
            .find(|r| r["subject"] == s)
            .unwrap_or_else(|| panic!("{s}: {rows:?}"))
            .clone()
    };
    for (subject, want) in [
        ("many-headers", "limits.max_headers"),
        ("long-header", "limits.max_header_length"),
        ("nested", "limits.max_mime_depth"),
    ] {
        let r = by(subject);
        assert_eq!(r["outcome"], "too_large", "{r}");
        assert!(
            r["reason"].as_str().unwrap_or_default().contains(want),
            "{r}"
        );
    }
    let cut = by("cut");
    assert_eq!(cut["outcome"], "new_ticket", "{cut}");
    let reason = cut["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("limits.max_text_size") && reason.contains("limits.max_attachments"),
        "{cut}"
    );
    let t = e.ticket(cut["ticket_id"].as_i64().unwrap());
    let m = &t["messages"][0];
    assert!(m["text"].as_str().unwrap().len() <= 64, "{m}");
    assert_eq!(m["attachments"].as_array().unwrap().len(), 1, "{m}");
}
