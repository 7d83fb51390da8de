//! Languages: a customer is written to in the language of a rule, of their first mail's
//! `Content-Language`, or of its text; agents keep theirs. Through `ingest` and the file
//! transport.

use crate::conversation::{agent_reply, ingest, reply_address, sent, AGENTS};
use crate::util::body_text as text_part;
use crate::util::{header, Env};

const GERMAN: &str = "Guten Tag, seit heute Morgen kann ich mich von zu Hause nicht mehr mit dem VPN verbinden. Können Sie mir bitte helfen?";
const ENGLISH: &str = "Hello, since this morning I cannot connect to the VPN from home any more. Could you please help me with it?";

fn env(extra: &str) -> Env {
    let e = Env::with(
        &format!("{AGENTS}\n[knowledge]\ndir = \"knowledge\"\n{extra}"),
        None,
    );
    std::fs::create_dir_all(e.path("knowledge/de")).unwrap();
    std::fs::write(
        e.path("knowledge/vpn-reset.md"),
        "# Resetting your VPN\n\nHello {{customer.display}}, press Reset in the VPN client.\n",
    )
    .unwrap();
    std::fs::write(
        e.path("knowledge/de/vpn-reset.md"),
        "# VPN zurücksetzen\n\nHallo {{customer.display}}, drücken Sie im VPN-Programm auf Zurücksetzen.\n",
    )
    .unwrap();
    e
}

fn mail(from: &str, id: &str, subject: &str, headers: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: support@example.test\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{headers}\
         Date: Sat, 21 Nov 2026 10:00:00 +0000\r\n\r\n{body}\r\n"
    )
}

#[test]
fn a_german_customer_is_answered_in_german_and_the_agent_stays_in_english() {
    let e = env("");
    let row = ingest(
        &e,
        &mail(
            "Grete Kunde <grete@example.de>",
            "g1@example.de",
            "VPN geht nicht",
            "",
            GERMAN,
        ),
    );
    let t = row["ticket_id"].as_i64().unwrap();
    let ack = &sent(&e, "ack", "grete@example.de")[0];
    assert_eq!(header(ack, "Content-Language").as_deref(), Some("de"));
    let text = text_part(ack);
    assert!(
        text.contains("Hallo Grete Kunde,") && text.contains("vielen Dank"),
        "{text}"
    );
    let note = &sent(&e, "notify_agent", "alice@example.test")[0];
    assert_eq!(
        header(note, "Content-Language"),
        None,
        "Alice reads English"
    );
    assert!(text_part(note).contains("## Reply above this line ##"));

    // The agent's article goes out in German, and so does the status change.
    ingest(
        &e,
        &agent_reply(
            note,
            "alice@example.test",
            &reply_address(note),
            "#reply vpn-reset",
        ),
    );
    let answer = text_part(&sent(&e, "agent_reply", "grete@example.de")[0]);
    assert!(
        answer.contains("drücken Sie im VPN-Programm auf Zurücksetzen"),
        "{answer}"
    );
    ingest(
        &e,
        &agent_reply(
            note,
            "alice@example.test",
            &reply_address(note),
            "#status resolved",
        ),
    );
    let status = &sent(&e, "status_changed", "grete@example.de")[0];
    assert!(
        text_part(status).contains("ist jetzt gelöst"),
        "{}",
        text_part(status)
    );
    assert_eq!(e.ticket(t)["status"], "resolved");
}

#[test]
fn the_mails_content_language_and_a_rule_choose_before_the_text() {
    let e = env(
        "\n[[rules]]\nname = \"swiss\"\nconditions = [{ field = \"from\", op = \"domain\", value = \"example.ch\" }]\nactions = { language = \"fr\" }\n",
    );
    ingest(
        &e,
        &mail(
            "claire@example.fr",
            "f1@example.fr",
            "VPN",
            "Content-Language: fr-FR\r\n",
            ENGLISH,
        ),
    );
    let ack = &sent(&e, "ack", "claire@example.fr")[0];
    assert_eq!(header(ack, "Content-Language").as_deref(), Some("fr"));
    assert!(
        text_part(ack).contains("merci d'avoir écrit"),
        "{}",
        text_part(ack)
    );

    ingest(
        &e,
        &mail(
            "hans@example.ch",
            "c1@example.ch",
            "VPN geht nicht",
            "",
            GERMAN,
        ),
    );
    assert!(text_part(&sent(&e, "ack", "hans@example.ch")[0]).contains("Bonjour"));

    // The first mail decided: Grete's later English mail is still answered in German.
    ingest(
        &e,
        &mail(
            "grete@example.de",
            "g2@example.de",
            "VPN geht nicht",
            "",
            GERMAN,
        ),
    );
    ingest(
        &e,
        &mail("grete@example.de", "g3@example.de", "Printer", "", ENGLISH),
    );
    let acks = sent(&e, "ack", "grete@example.de");
    assert_eq!(acks.len(), 2);
    assert!(
        text_part(&acks[1]).contains("Hallo"),
        "{}",
        text_part(&acks[1])
    );
    // An English customer gets the English templates, no Content-Language.
    ingest(
        &e,
        &mail("eve@example.com", "e1@example.com", "VPN", "", ENGLISH),
    );
    let ack = &sent(&e, "ack", "eve@example.com")[0];
    assert_eq!(header(ack, "Content-Language"), None);
    assert!(text_part(ack).contains("thank you for writing"));
}

#[test]
fn a_language_not_shipped_is_a_config_error() {
    let e = Env::with(
        "\n[[agents]]\naddress = \"a@example.test\"\nlanguage = \"es\"\n\n[[rules]]\nname = \"x\"\nconditions = [{ field = \"from\", op = \"exists\" }]\nactions = { language = \"it\" }\n",
        None,
    );
    let out = e.run(&["check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("agents[0].language: expected a language templates are shipped in"),
        "{err}"
    );
    assert!(err.contains("found \"it\""), "{err}");
}
