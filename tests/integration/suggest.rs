//! Articles offered in the acknowledgement (`[knowledge] suggest`) and the customer's
//! "solved": by mail through `ingest`, and on the one-click page in Chromium.

use crate::conversation::{ingest, sent, text_part, AGENTS};
use crate::util::{fixture, header, Env};

fn env(extra: &str) -> Env {
    let e = Env::with(
        &format!("{AGENTS}\n[knowledge]\ndir = \"knowledge\"\nsuggest = 2\n{extra}"),
        None,
    );
    std::fs::create_dir_all(e.path("knowledge")).unwrap();
    for f in std::fs::read_dir(fixture("suggest/articles")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(
            &f,
            e.path(&format!(
                "knowledge/{}",
                f.file_name().unwrap().to_string_lossy()
            )),
        )
        .unwrap();
    }
    e
}

fn mail(from: &str, id: &str, subject: &str, body: &str, in_reply_to: Option<&str>) -> String {
    let threading = in_reply_to
        .map(|m| format!("In-Reply-To: {m}\r\nReferences: {m}\r\n"))
        .unwrap_or_default();
    format!(
        "From: {from}\r\nTo: support@example.test\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{threading}\
         Date: Sat, 21 Nov 2026 10:00:00 +0000\r\n\r\n{body}\r\n"
    )
}

const CAROL: &str = "Carol Customer <carol@example.com>";

#[test]
fn the_acknowledgement_offers_the_nearest_article_and_solved_closes_the_ticket() {
    let e = env("");
    let row = ingest(
        &e,
        &mail(
            CAROL,
            "q1@example.com",
            "Printer jammed",
            "The printer on the 2nd floor has a paper jam and I can't get the paper out.",
            None,
        ),
    );
    let t = row["ticket_id"].as_i64().unwrap();
    let ack = &sent(&e, "ack", "carol@example.com")[0];
    let text = text_part(ack);
    assert!(
        text.contains("--- Clearing a paper jam in the office printers ---"),
        "{text}"
    );
    assert!(
        text.contains("Hello Carol Customer,\n\nwhen a printer shows a paper jam")
            || text.contains("Hello Carol Customer,\r\n\r\nwhen a printer shows a paper jam"),
        "rendered for Carol: {text}"
    );
    assert!(!text.contains("{{"), "{text}");
    assert!(!text.contains("solved/"), "no link without [web]: {text}");
    let ticket = e.ticket(t);
    let ev = ticket["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|ev| ev["kind"] == "suggested")
        .cloned();
    assert!(
        ev.unwrap()["detail"]
            .as_str()
            .unwrap()
            .starts_with("printer-jam ("),
        "{ticket}"
    );

    // Someone else's "solved" is a plain reply; Carol's resolves it.
    let row = ingest(
        &e,
        &mail(
            "dave@example.com",
            "d1@example.com",
            "Re: x",
            "solved",
            Some(&header(ack, "Message-ID").unwrap()),
        ),
    );
    assert_eq!(row["outcome"], "reply", "{row}");
    assert_ne!(e.ticket(t)["status"], "resolved");
    let row = ingest(
        &e,
        &mail(
            CAROL,
            "q2@example.com",
            "Re: Printer jammed",
            "Solved!\r\n\r\nThanks, the article helped.\r\n\r\n> While you wait",
            Some(&header(ack, "Message-ID").unwrap()),
        ),
    );
    assert_eq!(row["outcome"], "reply", "{row}");
    assert!(
        row["reason"]
            .as_str()
            .unwrap()
            .contains("article offered solved it"),
        "{row}"
    );
    let ticket = e.ticket(t);
    assert_eq!(ticket["status"], "resolved", "{ticket}");
    assert!(
        ticket["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|ev| ev["kind"] == "self_solved"),
        "{ticket}"
    );
}

#[test]
fn nothing_is_offered_when_no_article_is_near_and_solved_then_means_nothing() {
    let e = env("");
    let row = ingest(
        &e,
        &mail(
            CAROL,
            "q3@example.com",
            "Parking space",
            "I need a parking space for my new car.",
            None,
        ),
    );
    let t = row["ticket_id"].as_i64().unwrap();
    let text = text_part(&sent(&e, "ack", "carol@example.com")[0]);
    assert!(!text.contains("may already answer"), "{text}");
    let row = ingest(
        &e,
        &mail(
            CAROL,
            "q4@example.com",
            "Re: Parking space",
            "solved",
            Some("<q3@example.com>"),
        ),
    );
    assert_eq!(row["outcome"], "reply", "{row}");
    assert_ne!(e.ticket(t)["status"], "resolved", "no article was offered");
}

#[test]
fn a_self_solved_ticket_counts_as_deflection_in_the_digest() {
    let e = env("\n[[digests]]\nname = \"daily\"\ncron = \"0 0 8 * * *\"\ntimezone = \"UTC\"\nto = [\"boss@example.test\"]\nperiod = \"1d\"\n");
    ingest(&e, &mail(CAROL, "q5@example.com", "VPN not working", "Since this morning I cannot connect to the VPN from home, it just says the gateway is not reachable.", None));
    ingest(
        &e,
        &mail(
            CAROL,
            "q6@example.com",
            "Re: VPN not working",
            "gelöst, danke",
            Some("<q5@example.com>"),
        ),
    );
    let out = e.ok(&["digest", "daily", "--dry-run"]);
    let body = out.replace("=\r\n", "").replace("=\n", "");
    assert!(
        body.contains("Solved by the customer with an article offered: 1"),
        "{body}"
    );
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn the_solved_page_closes_the_ticket_only_on_its_button_in_chromium() {
    let port = crate::util::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let e = env(&format!(
        "\n[web]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"{base}\"\n"
    ));
    let row = ingest(
        &e,
        &mail(
            CAROL,
            "q7@example.com",
            "Teams audio",
            "In Teams meetings I hear nothing, but YouTube works fine.",
            None,
        ),
    );
    let t = row["ticket_id"].as_i64().unwrap();
    let text = text_part(&sent(&e, "ack", "carol@example.com")[0]);
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{base}/solved/")))
        .unwrap_or_else(|| panic!("a solved link: {text}"))
        .to_string();
    assert!(link.ends_with("?article=teams-audio"), "{link}");
    let daemon = e.serve();
    let http = crate::browser::http();
    crate::browser::wait_for_pages(&http, &base);
    // A link scanner's GET: the page, nothing changed.
    let mut r = http.get(&link).call().unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .body_mut()
        .read_to_string()
        .unwrap()
        .contains("No sound or microphone in Teams calls"));
    assert_ne!(e.ticket(t)["status"], "resolved");
    // A survey token is not a solved token.
    let token = &link[link.find("/solved/").unwrap() + 8..link.find('?').unwrap()];
    assert_eq!(
        http.get(&format!("{base}/csat/{token}"))
            .call()
            .unwrap()
            .status(),
        404
    );

    let b = crate::browser::Browser::start();
    b.goto(&link);
    assert!(b.source().contains("Did the article"));
    b.screenshot("solved-form");
    assert_ne!(
        e.ticket(t)["status"],
        "resolved",
        "the browser's GET changes nothing"
    );
    b.click("button[type=submit]");
    assert!(b
        .source_with("Thank you: we have closed your request.")
        .contains("Thank you: we have closed your request."));
    b.screenshot("solved-done");
    let ticket = e.ticket(t);
    assert_eq!(ticket["status"], "resolved", "{ticket}");
    let ev = ticket["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|ev| ev["kind"] == "self_solved")
        .cloned()
        .unwrap();
    assert!(
        ev["detail"].as_str().unwrap().contains("'teams-audio'"),
        "{ev}"
    );
    // Again: closed already, nothing more.
    b.goto(&link);
    assert!(b.source_with("closed already").contains("closed already"));
    e.terminate(daemon);
}
