//! Conversations through `ingest` and the file transport: agents notified, answering and
//! commanding by mail (verified or not), every threading layer, and the caps on automatic mail.

use crate::util::{header, Env};
use serde_json::Value;

pub(crate) const AGENTS: &str = r#"
[[agents]]
address = "alice@example.test"
name = "Alice Agent"
role = "agent"
queues = ["general"]

[[agents]]
address = "bob@example.test"
name = "Bob Builder"
role = "agent"
queues = ["general"]
"#;

pub(crate) fn env() -> Env {
    Env::with(AGENTS, None)
}

/// A customer's first mail.
pub(crate) fn customer_mail(id: &str, subject: &str, body: &str) -> String {
    format!(
        "From: Carol Customer <carol@example.com>\r\nTo: support@example.test\r\nSubject: {subject}\r\n\
         Message-ID: <{id}>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n\r\n{body}\r\n"
    )
}

pub(crate) fn ingest(e: &Env, mail: &str) -> Value {
    let out = e.run_stdin(&["ingest", "-"], mail.as_bytes());
    assert!(
        out.status.success(),
        "ingest failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    e.inbound().last().cloned().unwrap()
}

/// The outbox files written for `to`, of outbox kind `kind`, as raw text.
pub(crate) fn sent(e: &Env, kind: &str, to: &str) -> Vec<String> {
    let ids: Vec<String> = e
        .outbox()
        .iter()
        .filter(|r| r["kind"] == kind && r["to"].as_array().unwrap().iter().any(|t| t == to))
        .map(|r| r["message_id"].as_str().unwrap().to_string())
        .collect();
    // In the order they were queued.
    let files = e.outbox_files();
    ids.iter()
        .filter_map(|id| {
            files
                .iter()
                .find(|m| header(m, "Message-ID").as_ref() == Some(id))
                .cloned()
        })
        .collect()
}

/// The body of a composed mail's text part, decoded enough for assertions (our mail is
/// quoted-printable or 7bit; soft line breaks are joined).
pub(crate) fn text_part(mail: &str) -> String {
    let start = mail.find("Content-Type: text/plain").expect("a text part");
    let body = &mail[start..];
    let body = &body[body.find("\r\n\r\n").unwrap() + 4..];
    let boundary = mail
        .split("boundary=\"")
        .nth(1)
        .and_then(|b| b.split('"').next())
        .expect("a multipart boundary");
    let end = body
        .find(&format!("\r\n--{boundary}"))
        .unwrap_or(body.len());
    body[..end].replace("=\r\n", "").replace("=3D", "=")
}

/// The address in a mail's Reply-To header (`"Name" <address>`).
pub(crate) fn reply_address(mail: &str) -> String {
    let v = header(mail, "Reply-To").expect("a Reply-To header");
    v[v.find('<').unwrap() + 1..v.find('>').unwrap()].to_string()
}

/// Opens a ticket from Carol and returns (ticket id, the notification Alice got).
pub(crate) fn ticket_with_notification(e: &Env) -> (i64, String) {
    let row = ingest(
        e,
        &customer_mail(
            "c1@example.com",
            "Printer on fire",
            "Our printer is on fire.",
        ),
    );
    let ticket = row["ticket_id"].as_i64().unwrap();
    let notes = sent(e, "notify_agent", "alice@example.test");
    assert_eq!(notes.len(), 1, "one notification for Alice");
    (ticket, notes[0].clone())
}

/// Alice's answer to a notification, as her mail client writes it: To the Reply-To, threaded,
/// her text and commands above the quoted notification.
pub(crate) fn agent_reply(notification: &str, from: &str, to: &str, top: &str) -> String {
    let mid = header(notification, "Message-ID").unwrap();
    let refs = header(notification, "References").unwrap_or_default();
    let subject = header(notification, "Subject").unwrap();
    format!(
        "From: Alice Agent <{from}>\r\nTo: {to}\r\nSubject: Re: {subject}\r\n\
         Message-ID: <a{}@example.test>\r\nIn-Reply-To: {mid}\r\nReferences: {refs} {mid}\r\n\
         Date: Sat, 21 Nov 2026 11:00:00 +0000\r\n\r\n{top}\r\n\r\n\
         On Sat, Nov 21, 2026 at 10:00 AM Carol via Example Support <support@example.test> wrote:\r\n\
         > ## Reply above this line ##\r\n> New ticket [Support #1] from Carol\r\n> Our printer is on fire.\r\n",
        fastrand::u64(..)
    )
}

#[test]
fn a_new_ticket_notifies_the_queue_agents_with_their_own_reply_address() {
    let e = env();
    let (ticket, note) = ticket_with_notification(&e);
    assert_eq!(sent(&e, "notify_agent", "bob@example.test").len(), 1);
    let reply_to = header(&note, "Reply-To").unwrap();
    assert!(
        reply_to.contains(&format!("support+{ticket}.")),
        "Reply-To routes back to the ticket: {reply_to}"
    );
    let bob = &sent(&e, "notify_agent", "bob@example.test")[0];
    assert_ne!(
        header(bob, "Reply-To"),
        Some(reply_to.clone()),
        "each agent gets an address of their own"
    );
    assert_eq!(
        header(&note, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert_eq!(
        header(&note, "In-Reply-To").as_deref(),
        Some("<c1@example.com>")
    );
    let text = text_part(&note);
    assert!(text.contains("Our printer is on fire."), "{text}");
    assert!(text.contains("## Reply above this line ##"), "{text}");
    assert!(text.contains("#status"), "how to use commands: {text}");
    assert!(text.contains("Priority: normal"), "{text}");
    // The customer got the acknowledgement, not the notification.
    assert_eq!(sent(&e, "ack", "carol@example.com").len(), 1);
    assert!(sent(&e, "notify_agent", "carol@example.com").is_empty());
}

#[test]
fn an_agent_answers_from_her_mail_client_and_the_customer_gets_only_the_new_text() {
    let e = env();
    let (ticket, note) = ticket_with_notification(&e);
    let to = reply_address(&note);
    let mail = agent_reply(
        &note,
        "alice@example.test",
        &to,
        "#priority high\r\n#tag +printer\r\n\r\nWe replaced the toner; it works again.\r\n\r\n-- \r\nAlice, 2nd floor",
    );
    let row = ingest(&e, &mail);
    assert_eq!(row["outcome"], "agent_reply", "{row}");
    assert_eq!(row["matched_by"], "plus_address");
    assert_eq!(row["ticket_id"], ticket);
    let t = e.ticket(ticket);
    assert_eq!(t["priority"], "high");
    assert_eq!(t["status"], "open");
    assert_eq!(t["tags"], serde_json::json!(["printer"]));
    let answers = sent(&e, "agent_reply", "carol@example.com");
    assert_eq!(answers.len(), 1);
    let a = &answers[0];
    assert_eq!(
        header(a, "In-Reply-To").as_deref(),
        Some("<c1@example.com>")
    );
    assert!(
        header(a, "From")
            .unwrap()
            .contains("Alice Agent via Example Support"),
        "{a}"
    );
    assert!(header(a, "From")
        .unwrap()
        .contains("<support@example.test>"));
    assert!(header(a, "Auto-Submitted").is_none(), "a person's answer");
    let refs = header(a, "References").unwrap();
    assert!(
        refs.starts_with(&format!("<ticket-{ticket}.")),
        "self-reference first: {refs}"
    );
    let text = text_part(a);
    assert!(
        text.contains("We replaced the toner; it works again."),
        "{text}"
    );
    for gone in [
        "#priority",
        "#tag",
        "Reply above this line",
        "on fire",
        "2nd floor",
    ] {
        assert!(
            !text.contains(gone),
            "'{gone}' reached the customer:\n{text}"
        );
    }
    // The first response is recorded; the agent's mail is in the ticket as an agent message.
    assert!(e.ticket(ticket)["messages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["kind"] == "agent" && m["direction"] == "in"));
}

#[test]
fn a_forged_agent_mail_is_a_customer_mail_and_nothing_in_it_is_obeyed() {
    let e = env();
    let (ticket, note) = ticket_with_notification(&e);
    // Threaded correctly and From Alice, but sent to the plain support address: no token.
    let forged = agent_reply(
        &note,
        "alice@example.test",
        "support@example.test",
        "#status closed\r\n#assign me\r\n\r\nAll done, bye.",
    );
    let row = ingest(&e, &forged);
    assert_eq!(row["outcome"], "reply", "{row}");
    assert_eq!(row["ticket_id"], ticket);
    let t = e.ticket(ticket);
    assert_eq!(t["status"], "new");
    assert!(t["assignee"].is_null());
    assert!(sent(&e, "agent_reply", "carol@example.com").is_empty());
    let inbound = e.json(&["inbound", "--json"]);
    let reason = inbound.as_array().unwrap().last().unwrap()["reason"].clone();
    assert!(
        reason.as_str().unwrap_or("").contains("not verified"),
        "{reason}"
    );
    // Mallory using Alice's own reply address is not Alice either.
    let to = reply_address(&note);
    let mallory = agent_reply(&note, "mallory@example.com", &to, "#status closed");
    ingest(&e, &mallory);
    assert_eq!(e.ticket(ticket)["status"], "new");
}

#[test]
fn commands_alone_change_the_ticket_and_send_the_customer_nothing() {
    let e = env();
    let (ticket, note) = ticket_with_notification(&e);
    let to = reply_address(&note);
    let before = e.outbox().len();
    let row = ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &to,
            "#status pending\r\n#assign Bob Builder\r\n#queue general",
        ),
    );
    assert_eq!(row["outcome"], "command", "{row}");
    let t = e.ticket(ticket);
    assert_eq!(t["status"], "pending");
    assert_eq!(t["assignee"], "bob@example.test");
    // The customer hears nothing; Alice gets a receipt saying what was done.
    let new: Vec<Value> = e.outbox().into_iter().skip(before).collect();
    assert!(
        new.iter().all(|r| r["to"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t != "carol@example.com")),
        "nothing to the customer: {new:?}"
    );
    let receipt = sent(&e, "command_receipt", "alice@example.test");
    assert_eq!(receipt.len(), 1, "{new:?}");
    let text = text_part(&receipt[0]);
    assert!(
        text.contains("- status pending") && text.contains("- assigned to bob@example.test"),
        "{text}"
    );
    assert!(text.contains("Nothing was sent to the customer."), "{text}");
    assert_eq!(new.len(), 1, "only the receipt: {new:?}");
}

/// `#time` (issue #16's example of a new command): time spent adds up across mails, shows as
/// `time_spent_ms` in `ticket --json`, and is confirmed in the receipt.
#[test]
fn time_spent_adds_up_by_command() {
    let e = env();
    let (ticket, note) = ticket_with_notification(&e);
    let to = reply_address(&note);
    assert_eq!(e.ticket(ticket)["time_spent_ms"], 0);
    let row = ingest(
        &e,
        &agent_reply(&note, "alice@example.test", &to, "#time 30m"),
    );
    assert_eq!(row["outcome"], "command", "{row}");
    assert_eq!(e.ticket(ticket)["time_spent_ms"], 1_800_000);
    let receipt = sent(&e, "command_receipt", "alice@example.test");
    assert_eq!(receipt.len(), 1);
    assert!(
        text_part(&receipt[0]).contains("- time +30 min"),
        "{}",
        receipt[0]
    );
    // With an answer to the customer; and a second agent's time adds up.
    let row = ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &to,
            "#time 1h15m\r\n\r\nFixed, please try again.",
        ),
    );
    assert_eq!(row["outcome"], "agent_reply", "{row}");
    assert_eq!(e.ticket(ticket)["time_spent_ms"], 1_800_000 + 4_500_000);
    // A time that does not read changes nothing and says why.
    ingest(
        &e,
        &agent_reply(&note, "alice@example.test", &to, "#time a while"),
    );
    assert_eq!(e.ticket(ticket)["time_spent_ms"], 6_300_000);
    let errors = sent(&e, "command_error", "alice@example.test");
    assert_eq!(errors.len(), 1);
    assert!(
        text_part(&errors[0]).contains("#time a while"),
        "{}",
        errors[0]
    );
}

#[test]
fn resolving_by_command_alone_tells_the_customer_once() {
    let e = env();
    let (ticket, note) = ticket_with_notification(&e);
    let to = reply_address(&note);
    ingest(
        &e,
        &agent_reply(&note, "alice@example.test", &to, "#status resolved"),
    );
    assert_eq!(e.ticket(ticket)["status"], "resolved");
    let told = sent(&e, "status_changed", "carol@example.com");
    assert_eq!(told.len(), 1);
    let m = &told[0];
    assert_eq!(
        header(m, "In-Reply-To").as_deref(),
        Some("<c1@example.com>"),
        "threaded"
    );
    assert_eq!(
        header(m, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert!(text_part(m).contains("is now resolved"), "{m}");
    // resolving an already resolved ticket tells nobody again
    ingest(
        &e,
        &agent_reply(&note, "alice@example.test", &to, "#status resolved"),
    );
    assert_eq!(sent(&e, "status_changed", "carol@example.com").len(), 1);
}

#[test]
fn a_bad_command_gets_a_short_reply_saying_what_was_not_done() {
    let e = env();
    let (ticket, note) = ticket_with_notification(&e);
    let to = reply_address(&note);
    ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &to,
            "#stauts resolved\r\n#assign Zed\r\n#priority urgent",
        ),
    );
    assert_eq!(
        e.ticket(ticket)["priority"],
        "urgent",
        "the valid command is done"
    );
    let errors = sent(&e, "command_error", "alice@example.test");
    assert_eq!(errors.len(), 1);
    let text = text_part(&errors[0]);
    assert!(text.contains("#stauts resolved"), "{text}");
    assert!(text.contains("unknown command #stauts"), "{text}");
    assert!(text.contains("no agent is called 'Zed'"), "{text}");
    assert!(text.contains("priority urgent"), "{text}");
    assert!(text.contains("Nothing was sent to the customer."), "{text}");
    assert_eq!(
        header(&errors[0], "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    assert!(sent(&e, "command_error", "carol@example.com").is_empty());
}

#[test]
fn an_internal_note_is_stored_and_never_sent_to_the_customer() {
    let e = env();
    let (ticket, note) = ticket_with_notification(&e);
    let to = reply_address(&note);
    let row = ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &to,
            "#note Called Carol, she is sending logs.",
        ),
    );
    assert_eq!(row["outcome"], "note", "{row}");
    let t = e.ticket(ticket);
    let notes: Vec<&Value> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "note")
        .collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["text"], "Called Carol, she is sending logs.");
    assert!(sent(&e, "agent_reply", "carol@example.com").is_empty());
    assert_eq!(t["status"], "new", "a note is no answer");
    // Bob (the queue's other agent) gets the note, marked internal; Alice, its author, does not.
    let to_bob = sent(&e, "note", "bob@example.test");
    assert_eq!(to_bob.len(), 1);
    assert!(text_part(&to_bob[0]).contains("Internal note by Alice Agent"));
    assert!(text_part(&to_bob[0]).contains("Called Carol, she is sending logs."));
    assert!(sent(&e, "note", "alice@example.test").is_empty());
    assert!(e.outbox().iter().all(|r| r["to"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t != "carol@example.com")
        || r["kind"] == "ack"));
}

#[test]
fn trusted_relay_and_authentication_results_verify_agents() {
    let e = Env::with(
        &format!("{AGENTS}\n[security]\nagent_auth = \"trusted_relay\"\n"),
        None,
    );
    let (ticket, note) = ticket_with_notification(&e);
    let row = ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            "support@example.test",
            "#status resolved",
        ),
    );
    assert_eq!(row["outcome"], "command");
    assert_eq!(e.ticket(ticket)["status"], "resolved");

    let e = Env::with(
        &format!(
            "{AGENTS}\n[security]\nagent_auth = \"dkim\"\nauthserv_id = \"mx.example.test\"\n"
        ),
        None,
    );
    let (ticket, note) = ticket_with_notification(&e);
    let unsigned = agent_reply(
        &note,
        "alice@example.test",
        "support@example.test",
        "#status resolved",
    );
    assert_eq!(ingest(&e, &unsigned)["outcome"], "reply");
    let forged_ar = format!(
        "Authentication-Results: evil.example; dkim=pass header.d=example.test\r\n{}",
        unsigned.replace("Message-ID: <a", "Message-ID: <b")
    );
    assert_eq!(ingest(&e, &forged_ar)["outcome"], "reply");
    assert_eq!(e.ticket(ticket)["status"], "new", "nothing was obeyed");
    let signed = format!(
        "Authentication-Results: mx.example.test; dkim=pass header.d=example.test header.s=s1\r\n{}",
        unsigned.replace("Message-ID: <a", "Message-ID: <c")
    );
    assert_eq!(ingest(&e, &signed)["outcome"], "command");
    assert_eq!(e.ticket(ticket)["status"], "resolved");
}

#[test]
fn threading_by_self_reference_plus_address_thread_index_and_tag() {
    let e = env();
    let (ticket, _) = ticket_with_notification(&e);
    let ack = &sent(&e, "ack", "carol@example.com")[0];
    let refs = header(ack, "References").unwrap();
    let self_ref = refs.split_whitespace().next().unwrap().to_string();
    assert!(
        self_ref.starts_with(&format!("<ticket-{ticket}.")),
        "{refs}"
    );

    // A relay rewrote our Message-ID: only the self-reference is left, and a new subject.
    let relayed = format!(
        "From: carol@example.com\r\nTo: support@example.test\r\nSubject: more\r\nMessage-ID: <r1@example.com>\r\n\
         In-Reply-To: <0100018c.rewritten@email.amazonses.com>\r\nReferences: {self_ref} <0100018c.rewritten@email.amazonses.com>\r\n\r\nmore info\r\n"
    );
    let row = ingest(&e, &relayed);
    assert_eq!(
        (row["ticket_id"].as_i64(), row["matched_by"].as_str()),
        (Some(ticket), Some("references"))
    );

    // A fresh mail to the ticket's plus address (Reply-To of the acknowledgement).
    let plus = &reply_address(ack);
    let to_plus = format!(
        "From: carol@example.com\r\nTo: {plus}\r\nSubject: new words\r\nMessage-ID: <r2@example.com>\r\n\r\nhello\r\n"
    );
    let row = ingest(&e, &to_plus);
    assert_eq!(
        (row["ticket_id"].as_i64(), row["matched_by"].as_str()),
        (Some(ticket), Some("plus_address"))
    );
    // A forged plus address threads nothing.
    let forged = to_plus
        .replace(
            &plus[plus.find('.').unwrap()..plus.find('@').unwrap()],
            ".000000000000",
        )
        .replace("<r2@", "<r3@");
    assert_eq!(ingest(&e, &forged)["outcome"], "new_ticket");

    // Outlook: a reply carrying the conversation index of our mail, nothing else.
    let ti = header(ack, "Thread-Index").unwrap();
    let outlook = format!(
        "From: carol@example.com\r\nTo: support@example.test\r\nSubject: RE: something else\r\nMessage-ID: <r4@example.com>\r\n\
         Thread-Index: {ti}AQIDBAU=\r\n\r\nfrom outlook\r\n"
    );
    // Outlook appends 5 bytes per reply: decode, extend, encode.
    let outlook = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut bytes = b64.decode(&ti).unwrap();
        bytes.extend_from_slice(&[1, 2, 3, 4, 5]);
        outlook.replace(&format!("{ti}AQIDBAU="), &b64.encode(bytes))
    };
    let row = ingest(&e, &outlook);
    assert_eq!(
        (row["ticket_id"].as_i64(), row["matched_by"].as_str()),
        (Some(ticket), Some("thread_index"))
    );

    // A subject tag from someone who takes no part: a new ticket, with the reason.
    let stranger = format!(
        "From: eve@example.org\r\nTo: support@example.test\r\nSubject: Re: [Support #{ticket}] hi\r\nMessage-ID: <r5@example.org>\r\n\r\nhi\r\n"
    );
    let row = ingest(&e, &stranger);
    assert_eq!(row["outcome"], "new_ticket");
    assert_ne!(row["ticket_id"].as_i64(), Some(ticket));
    assert!(
        row["reason"]
            .as_str()
            .unwrap_or("")
            .contains("takes no part"),
        "{row}"
    );
    // From the requester, the tag joins.
    let own = stranger
        .replace("eve@example.org", "carol@example.com")
        .replace("<r5@", "<r6@");
    let row = ingest(&e, &own);
    assert_eq!(
        (row["ticket_id"].as_i64(), row["matched_by"].as_str()),
        (Some(ticket), Some("subject_tag"))
    );
}

#[test]
fn replies_reopen_resolved_tickets_and_follow_up_long_closed_ones() {
    let e = env();
    let (ticket, _) = ticket_with_notification(&e);
    let reply = |id: &str| {
        format!(
            "From: carol@example.com\r\nTo: support@example.test\r\nSubject: Re: [Support #{ticket}] Printer on fire\r\n\
             Message-ID: <{id}>\r\nIn-Reply-To: <c1@example.com>\r\n\r\nstill burning\r\n"
        )
    };
    e.sql(&format!(
        "UPDATE tickets SET status = 'resolved' WHERE id = {ticket}"
    ));
    ingest(&e, &reply("re1@example.com"));
    assert_eq!(e.ticket(ticket)["status"], "open");
    // Closed yesterday: reopened.
    let day = 86_400_000i64;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    e.sql(&format!(
        "UPDATE tickets SET status = 'closed', updated_at = {} WHERE id = {ticket}",
        now - day
    ));
    ingest(&e, &reply("re2@example.com"));
    assert_eq!(e.ticket(ticket)["status"], "open");
    // Closed 40 days ago (reopen_window 30d): a new ticket, linked.
    e.sql(&format!(
        "UPDATE tickets SET status = 'closed', updated_at = {} WHERE id = {ticket}",
        now - 40 * day
    ));
    let row = ingest(&e, &reply("re3@example.com"));
    assert_eq!(row["outcome"], "new_ticket", "{row}");
    let new = row["ticket_id"].as_i64().unwrap();
    assert_ne!(new, ticket);
    assert_eq!(e.ticket(new)["linked_to"], ticket);
    assert_eq!(e.ticket(ticket)["status"], "closed");
}

#[test]
fn an_auto_responder_that_ignores_auto_submitted_is_capped() {
    // A naive auto-responder answers every acknowledgement with a new mail (new subject, no
    // threading headers): each would open a ticket and be acknowledged again, forever.
    let e = Env::with("[limits]\nauto_replies_per_hour = 5\n", None);
    let mut mail = customer_mail("bot0@example.net", "Hello", "hi")
        .replace("carol@example.com", "bot@example.net");
    for round in 1..=9 {
        ingest(&e, &mail);
        let acks = sent(&e, "ack", "bot@example.net");
        let last = acks
            .iter()
            .max_by_key(|m| header(m, "Date"))
            .unwrap()
            .clone();
        mail = format!(
            "From: bot@example.net\r\nTo: support@example.test\r\nSubject: I got your mail {round}\r\n\
             Message-ID: <bot{round}@example.net>\r\n\r\nThank you for your message: {}\r\n",
            header(&last, "Subject").unwrap()
        );
    }
    assert_eq!(
        sent(&e, "ack", "bot@example.net").len(),
        5,
        "capped at 5 an hour"
    );
    let suppressed: usize = e
        .tickets()
        .iter()
        .map(|t| {
            e.ticket(t["id"].as_i64().unwrap())["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|ev| ev["kind"] == "auto_reply_suppressed")
                .count()
        })
        .sum();
    assert_eq!(suppressed, 4);
}

#[test]
fn mail_that_made_too_many_helpdesk_hops_is_never_answered() {
    let e = env();
    let mail = customer_mail("hop@example.com", "Hi", "hi")
        .replace("Subject:", "X-Postdesk-Hops: 5\r\nSubject:");
    let row = ingest(&e, &mail);
    assert_eq!(row["outcome"], "new_ticket");
    assert!(
        row["reason"].as_str().unwrap().contains("max_hops"),
        "{row}"
    );
    assert!(sent(&e, "ack", "carol@example.com").is_empty());
    // Our own mail carries the count on.
    let e = env();
    ingest(
        &e,
        &customer_mail("hop2@example.com", "Hi", "hi")
            .replace("Subject:", "X-Postdesk-Hops: 2\r\nSubject:"),
    );
    let ack = &sent(&e, "ack", "carol@example.com")[0];
    assert_eq!(header(ack, "X-Postdesk-Hops").as_deref(), Some("3"));
}

#[test]
fn a_reply_without_threading_headers_joins_by_subject_only_from_a_participant() {
    let e = env();
    let (ticket, _) = ticket_with_notification(&e);
    let bare = |from: &str, id: &str| {
        format!(
            "From: {from}\r\nTo: support@example.test\r\nSubject: Re: Printer on fire\r\nMessage-ID: <{id}>\r\n\r\nsame thing\r\n"
        )
    };
    // Someone else guessing the subject must not join (and so receive the answers).
    let row = ingest(&e, &bare("eve@example.org", "s1@example.org"));
    assert_eq!(row["outcome"], "new_ticket", "{row}");
    let row = ingest(&e, &bare("carol@example.com", "s2@example.com"));
    assert_eq!(
        (row["ticket_id"].as_i64(), row["matched_by"].as_str()),
        (Some(ticket), Some("subject"))
    );
}
