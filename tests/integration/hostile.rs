//! What a hostile sender must not achieve (issue #21), through `ingest` and the file transport:
//! receiving another customer's answers by knowing a Message-ID, reopening a ticket with a
//! forged agent From, making every answer go to thousands.

use crate::conversation::{
    agent_reply, customer_mail, env, ingest, reply_address, sent, ticket_with_notification,
};
use crate::util::Env;
use serde_json::Value;

/// A mail from `from` that answers `parent` (In-Reply-To and References).
fn reply_from(from: &str, id: &str, parent: &str, subject: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: support@example.test\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         In-Reply-To: <{parent}>\r\nReferences: <{parent}>\r\nDate: Sat, 21 Nov 2026 10:30:00 +0000\r\n\r\n{body}\r\n"
    )
}

fn participants(e: &Env, ticket: i64) -> Vec<String> {
    let mut v: Vec<String> = e.ticket(ticket)["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                p["address"].as_str().unwrap(),
                p["role"].as_str().unwrap()
            )
        })
        .collect();
    v.sort();
    v
}

fn events(e: &Env, ticket: i64, kind: &str) -> Vec<Value> {
    e.ticket(ticket)["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|ev| ev["kind"] == kind)
        .cloned()
        .collect()
}

/// Every address Alice's answers on the ticket went to.
fn answered_to(e: &Env) -> Vec<String> {
    e.outbox()
        .iter()
        .filter(|r| r["kind"] == "agent_reply")
        .flat_map(|r| r["to"].as_array().unwrap().clone())
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn two_customers_answering_one_newsletter_keep_their_own_tickets() {
    let e = env();
    // Carol writes about the shop's newsletter (never received by the desk): her ticket
    // remembers its id.
    let carol = reply_from(
        "Carol Customer <carol@example.com>",
        "c1@example.com",
        "news-7@shop.example",
        "Re: Our December offers",
        "My order 1234 never arrived; my account is carol-77.",
    );
    let row = ingest(&e, &carol);
    assert_eq!(row["outcome"], "new_ticket", "{row}");
    let carols = row["ticket_id"].as_i64().unwrap();
    // Mallory answers the same newsletter: her own ticket, with the reason recorded.
    let mallory = reply_from(
        "Mallory <mallory@evil.example>",
        "m1@evil.example",
        "news-7@shop.example",
        "Re: Our December offers",
        "Unsubscribe me.",
    );
    let row = ingest(&e, &mallory);
    assert_eq!(row["outcome"], "new_ticket", "{row}");
    assert_ne!(row["ticket_id"].as_i64().unwrap(), carols);
    assert!(
        row["reason"].as_str().unwrap().contains("takes no part"),
        "{row}"
    );
    // Carol's own second mail about it does join her ticket.
    let again = reply_from(
        "Carol Customer <carol@example.com>",
        "c2@example.com",
        "news-7@shop.example",
        "Re: Our December offers",
        "Any news?",
    );
    let row = ingest(&e, &again);
    assert_eq!(
        (row["outcome"].as_str(), row["ticket_id"].as_i64()),
        (Some("reply"), Some(carols)),
        "{row}"
    );
    assert_eq!(participants(&e, carols), ["carol@example.com requester"]);
}

#[test]
fn a_stranger_who_knows_a_message_id_is_kept_but_gets_no_answers_until_an_agent_adds_them() {
    let e = env();
    let (ticket, note) = ticket_with_notification(&e);
    let to = reply_address(&note);
    // Mallory learnt Carol's Message-ID (a forwarded mail, a shared list) and answers it.
    let mallory = reply_from(
        "Mallory <mallory@evil.example>",
        "m1@evil.example",
        "c1@example.com",
        "Re: Printer on fire",
        "Please send the answer to me too.",
    );
    let row = ingest(&e, &mallory);
    assert_eq!(
        (row["outcome"].as_str(), row["ticket_id"].as_i64()),
        (Some("reply"), Some(ticket)),
        "kept on the ticket for the agents: {row}"
    );
    assert_eq!(participants(&e, ticket), ["carol@example.com requester"]);
    let ev = events(&e, ticket, "not_participant");
    assert_eq!(ev.len(), 1, "{:?}", e.ticket(ticket)["events"]);
    assert!(ev[0]["detail"]
        .as_str()
        .unwrap()
        .contains("#cc +mallory@evil.example"));

    // Alice's answer goes to Carol only.
    ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &to,
            "Your account number is 1234.",
        ),
    );
    assert_eq!(answered_to(&e), ["carol@example.com"]);

    // An agent adds Mallory (a colleague after all); then the answers reach her too.
    let row = ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &to,
            "#cc +Mallory@Evil.example\r\n\r\nAdded you.",
        ),
    );
    assert_eq!(row["outcome"], "agent_reply", "{row}");
    assert_eq!(
        participants(&e, ticket),
        ["carol@example.com requester", "mallory@evil.example cc"]
    );
    assert_eq!(sent(&e, "agent_reply", "mallory@evil.example").len(), 1);
    // And removes her again; the requester cannot be removed.
    ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &to,
            "#cc -mallory@evil.example\r\n#cc -carol@example.com",
        ),
    );
    assert_eq!(participants(&e, ticket), ["carol@example.com requester"]);
    let errors = sent(&e, "command_error", "alice@example.test");
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].contains("#cc -carol@example.com"),
        "{}",
        errors[0]
    );
}

#[test]
fn colleagues_of_the_requester_take_part_only_where_the_desk_allows_it() {
    for (allowed, want) in [
        (false, vec!["carol@example.com requester"]),
        (
            true,
            vec!["carol@example.com requester", "dave@example.com cc"],
        ),
    ] {
        let extra = format!(
            "{}\n[threading]\njoin_colleagues = {allowed}\n",
            crate::conversation::AGENTS
        );
        let e = Env::with(&extra, None);
        let row = ingest(&e, &customer_mail("c1@example.com", "Printer", "Broken."));
        let ticket = row["ticket_id"].as_i64().unwrap();
        for (from, id) in [
            ("Dave <dave@example.com>", "d1@example.com"),
            ("Mallory <mallory@evil.example>", "m1@evil.example"),
        ] {
            let row = ingest(
                &e,
                &reply_from(from, id, "c1@example.com", "Re: Printer", "x"),
            );
            assert_eq!(row["ticket_id"].as_i64(), Some(ticket), "{row}");
        }
        assert_eq!(
            participants(&e, ticket),
            want,
            "join_colleagues = {allowed}"
        );
    }
}

#[test]
fn a_forged_agent_from_neither_commands_nor_reopens_a_ticket() {
    let e = env();
    let (ticket, note) = ticket_with_notification(&e);
    let to = reply_address(&note);
    ingest(
        &e,
        &agent_reply(&note, "alice@example.test", &to, "#status closed"),
    );
    assert_eq!(e.ticket(ticket)["status"], "closed");
    // The same From, the ticket's tag, to the plain address: not verified (agent_auth =
    // "token"), so a stranger's mail, which a subject tag does not join.
    let forged = format!(
        "From: Alice Agent <alice@example.test>\r\nTo: support@example.test\r\n\
         Subject: Re: [Support #{ticket}] Printer on fire\r\nMessage-ID: <forged@evil.example>\r\n\r\n\
         #status open\r\n#cc +mallory@evil.example\r\n"
    );
    let row = ingest(&e, &forged);
    assert_eq!(row["outcome"], "new_ticket", "{row}");
    assert_ne!(row["ticket_id"].as_i64(), Some(ticket));
    let reason = row["reason"].as_str().unwrap();
    assert!(
        reason.contains("not verified") && reason.contains("takes no part"),
        "{reason}"
    );
    assert_eq!(e.ticket(ticket)["status"], "closed");
    assert_eq!(participants(&e, ticket), ["carol@example.com requester"]);
}

#[test]
fn a_mail_copied_to_thousands_makes_answers_go_to_at_most_max_participants() {
    let e = env();
    let cc: Vec<String> = (0..10_000)
        .map(|i| format!("guest{i}@example.org"))
        .collect();
    let mail = format!(
        "From: Carol Customer <carol@example.com>\r\nTo: support@example.test\r\nCc: {}\r\n\
         Subject: Party\r\nMessage-ID: <party@example.com>\r\n\r\nAll invited.\r\n",
        cc.join(",\r\n ")
    );
    let row = ingest(&e, &mail);
    let ticket = row["ticket_id"].as_i64().unwrap();
    assert_eq!(participants(&e, ticket).len(), 51, "the requester and 50");
    let capped = events(&e, ticket, "participants_capped");
    assert_eq!(capped.len(), 1);
    assert!(capped[0]["detail"]
        .as_str()
        .unwrap()
        .starts_with("9950 more"));
    let note = sent(&e, "notify_agent", "alice@example.test").remove(0);
    let to = reply_address(&note);
    ingest(
        &e,
        &agent_reply(&note, "alice@example.test", &to, "See you there."),
    );
    let recipients = answered_to(&e);
    assert_eq!(recipients.len(), 51, "{:?}", &recipients[..3]);
}

#[test]
fn database_secrets_never_reach_the_output() {
    // Nothing listens on port 1: every command fails to connect and says so; a raw '@' in the
    // password is refused by the config check, which does not show the URL.
    for (url, says) in [
        (
            "postgres://desk:p%40ss%2Fw0rd@127.0.0.1:1/desk?sslmode=disable&password=qu3ry-s3cret",
            "127.0.0.1",
        ),
        (
            "postgres://desk:p@ss/w0rd@127.0.0.1:1/desk?password=qu3ry-s3cret",
            "percent-encoded",
        ),
    ] {
        let e = Env::new();
        let text = std::fs::read_to_string(&e.config)
            .unwrap()
            .replace(&e.db_url, url);
        std::fs::write(&e.config, text).unwrap();
        for args in [&["migrate"][..], &["check"], &["ingest", "-"], &["serve"]] {
            let out = crate::util::output_within(
                e.cmd(args),
                Some(b"From: a@b.example\r\n\r\nx\r\n"),
                crate::util::COMMAND_LIMIT,
            );
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!out.status.success(), "{args:?}: {all}");
            assert!(all.contains(says), "{args:?} says why: {all}");
            for secret in ["p%40ss", "p@ss", "w0rd", "qu3ry-s3cret"] {
                assert!(!all.contains(secret), "{args:?} printed {secret}: {all}");
            }
        }
    }
}

#[test]
fn a_reader_that_stops_early_ends_a_command_quietly() {
    let e = Env::new();
    e.ingest(&["plain.eml"]);
    // `postdesk check | head -1`, with the reader gone before the first line is written.
    for args in [&["check"][..], &["inbound", "--json"], &["tickets"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = e.cmd(args).stdout(writer).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(out.status.success(), "{args:?}: {:?} {err}", out.status);
    }
}
