//! Full-text search through `ingest` and the file transport: `postdesk search` over ticket
//! subjects, messages and articles (English and German forms of a word find each other), the
//! index kept in the mail's transaction and built again with `--reindex`, and `#search` by mail.

use crate::conversation::{
    agent_reply, customer_mail, ingest, reply_address, sent, text_part, ticket_with_notification,
    AGENTS,
};
use crate::util::Env;
use serde_json::Value;

fn env() -> Env {
    let e = Env::with(
        &format!("{AGENTS}\n[knowledge]\ndir = \"knowledge\"\n"),
        None,
    );
    std::fs::create_dir_all(e.path("knowledge")).unwrap();
    std::fs::write(
        e.path("knowledge/vpn-reset.md"),
        "# Resetting your VPN\n\nOpen the VPN client and press Reset, {{customer.display}}.\n",
    )
    .unwrap();
    e
}

fn search(e: &Env, words: &[&str]) -> Vec<Value> {
    let mut args = vec!["search", "--json"];
    args.extend_from_slice(words);
    e.json(&args).as_array().cloned().unwrap()
}

/// Three customers' tickets: a printer (English), a Drucker (German), a VPN.
fn desk() -> (Env, [i64; 3]) {
    let e = env();
    let mut ids = [0; 3];
    for (i, (subject, body)) in [
        (
            "Printer jammed",
            "The printer on floor 2 is jammed again since Monday.",
        ),
        (
            "Drucker defekt",
            "Unser Drucker druckt seit gestern nicht mehr.",
        ),
        ("VPN down", "I cannot reach the office network from home."),
    ]
    .iter()
    .enumerate()
    {
        let row = ingest(
            &e,
            &customer_mail(&format!("s{i}@example.com"), subject, body)
                .replace("carol@example.com", &format!("c{i}@example.com")),
        );
        ids[i] = row["ticket_id"].as_i64().unwrap();
    }
    (e, ids)
}

#[test]
fn search_finds_subjects_messages_and_articles_best_first() {
    let (e, [printer, drucker, vpn]) = desk();
    let hits = search(&e, &["jammed", "printer"]);
    assert_eq!(hits[0]["kind"], "ticket", "{hits:?}");
    assert_eq!(hits[0]["id"], printer);
    assert_eq!(hits[0]["title"], "Printer jammed");
    assert!(hits[0]["score"].as_f64().unwrap() > 0.0);
    assert!(
        hits[0]["snippet"].as_str().unwrap().contains("jammed"),
        "{hits:?}"
    );
    assert_eq!(hits.len(), 1, "{hits:?}");

    // German forms: "drucken" finds "Drucker" and "druckt".
    let hits = search(&e, &["drucken"]);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["id"], drucker);
    // English forms: "jams" finds "jammed".
    assert_eq!(search(&e, &["jams"])[0]["id"], printer);

    // A ticket and the article about it.
    let hits = search(&e, &["vpn"]);
    let kinds: Vec<(&str, Value)> = hits
        .iter()
        .map(|h| (h["kind"].as_str().unwrap(), h["id"].clone()))
        .collect();
    assert!(kinds.contains(&("ticket", Value::from(vpn))), "{hits:?}");
    let article = hits.iter().find(|h| h["kind"] == "article").unwrap();
    assert_eq!(article["name"], "vpn-reset");
    assert_eq!(article["title"], "Resetting your VPN");

    // Query syntax and other scripts are words, never errors.
    for q in [
        "\"printer\" OR *",
        "NEAR(a b) ^c",
        "a:b & !c",
        "'; DROP TABLE tickets; --",
        "打印机 принтер",
    ] {
        let out = e.run(&["search", "--json", q]);
        assert!(
            out.status.success(),
            "{q}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // (the characters are dropped, the words kept)
    assert_eq!(search(&e, &["\"printer\" (jammed*"])[0]["id"], printer);
}

#[test]
fn the_index_follows_replies_and_is_built_again_by_reindex() {
    let (e, [printer, ..]) = desk();
    assert!(search(&e, &["toner"]).is_empty());
    // A reply in the thread of the printer ticket (threaded by subject tag).
    ingest(
        &e,
        &format!(
            "From: c0@example.com\r\nTo: support@example.test\r\nSubject: Re: [Support #{printer}] Printer jammed\r\n\
             Message-ID: <r1@example.com>\r\nDate: Sat, 21 Nov 2026 12:00:00 +0000\r\n\r\nAlso the toner is empty.\r\n"
        ),
    );
    assert_eq!(search(&e, &["toner"])[0]["id"], printer);

    e.sql("DELETE FROM search_docs");
    assert!(search(&e, &["toner"]).is_empty());
    let out = e.ok(&["search", "--reindex", "toner"]);
    assert!(out.contains("indexed"), "{out}");
    assert_eq!(search(&e, &["toner"])[0]["id"], printer);
}

#[test]
fn an_agents_search_by_mail_is_answered_with_tickets_and_articles() {
    let e = env();
    let (ticket, note) = ticket_with_notification(&e);
    let row = ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &reply_address(&note),
            "#search printer fire",
        ),
    );
    assert_eq!(row["outcome"], "search", "{row}");
    let answers = sent(&e, "agent_notice", "alice@example.test");
    assert_eq!(answers.len(), 1);
    let text = text_part(&answers[0]);
    assert!(text.contains("Search: printer fire"), "{text}");
    assert!(
        text.contains(&format!("[Support #{ticket}] (new) Printer on fire")),
        "{text}"
    );
    assert!(sent(&e, "agent_reply", "carol@example.com").is_empty());
    assert!(sent(&e, "command_receipt", "alice@example.test").is_empty());

    ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &reply_address(&note),
            "#search vpn",
        ),
    );
    let answers = sent(&e, "agent_notice", "alice@example.test");
    let text = text_part(&answers[1]);
    assert!(
        text.contains("Article vpn-reset (Resetting your VPN)"),
        "{text}"
    );
    assert!(text.contains("#reply vpn-reset"), "{text}");
}

#[test]
fn serve_indexes_a_database_from_before_the_index_at_start() {
    let (e, [printer, ..]) = desk();
    e.sql("DELETE FROM search_docs");
    assert!(search(&e, &["printer"]).is_empty());
    let d = e.serve();
    crate::util::wait_for(20, "the index built by serve", || {
        (search(&e, &["printer"]).first()?["id"] == printer).then_some(())
    });
    e.terminate(d);
    assert!(
        e.serve_log().contains("search index built"),
        "{}",
        e.serve_log()
    );
}
