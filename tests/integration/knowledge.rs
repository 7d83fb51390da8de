//! Knowledge articles by mail, through `ingest` and the file transport: `#reply NAME` sends an
//! article rendered for the customer, `#kb save NAME` keeps an agent's text as one, `kb list`
//! and `kb show` show them, and `check` names a broken article's file, line and value.

use crate::conversation::{
    agent_reply, customer_mail, ingest, reply_address, sent, text_part, ticket_with_notification,
    AGENTS,
};
use crate::util::Env;

/// A desk with `[knowledge] dir = "knowledge"` holding `files` (name, text).
fn env(files: &[(&str, &str)]) -> Env {
    let e = Env::with(
        &format!("{AGENTS}\n[knowledge]\ndir = \"knowledge\"\n"),
        None,
    );
    std::fs::create_dir_all(e.path("knowledge")).unwrap();
    for (name, text) in files {
        std::fs::write(e.path(&format!("knowledge/{name}")), text).unwrap();
    }
    e
}

const VPN: &str = "# Resetting your VPN\n\nHello {{customer.display}},\n\n\
for {{ticket.ref}}: open the VPN app & press Reset.\n\n{{agent.name}}\n";

#[test]
fn reply_sends_the_article_below_the_agents_text_rendered_for_the_customer() {
    let e = env(&[("vpn-reset.md", VPN)]);
    let (ticket, note) = ticket_with_notification(&e);
    let row = ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &reply_address(&note),
            "#reply vpn-reset\r\n\r\nThis should do it:",
        ),
    );
    assert_eq!(row["outcome"], "agent_reply", "{row}");
    let answers = sent(&e, "agent_reply", "carol@example.com");
    assert_eq!(answers.len(), 1);
    let text = text_part(&answers[0]);
    let own = text.find("This should do it:").expect(&text);
    let article = text.find("Hello Carol Customer,").expect(&text);
    assert!(own < article, "the agent's text first: {text}");
    assert!(
        text.contains(&format!(
            "for [Support #{ticket}]: open the VPN app & press Reset."
        )),
        "{text}"
    );
    assert!(text.contains("Alice Agent"), "{text}");
    assert!(!text.contains("{{"), "{text}");
    assert_eq!(e.ticket(ticket)["status"], "open");
}

#[test]
fn an_unknown_article_is_a_command_error_naming_the_closest_and_nothing_is_sent() {
    let e = env(&[("vpn-reset.md", VPN)]);
    let (_, note) = ticket_with_notification(&e);
    ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &reply_address(&note),
            "#reply vpn-rest",
        ),
    );
    let errors = sent(&e, "command_error", "alice@example.test");
    assert_eq!(errors.len(), 1);
    let text = text_part(&errors[0]);
    assert!(
        text.contains("there is no article 'vpn-rest'; the closest: vpn-reset"),
        "{text}"
    );
    assert!(sent(&e, "agent_reply", "carol@example.com").is_empty());
}

#[test]
fn kb_save_keeps_an_agents_text_which_reply_then_sends_and_kb_lists() {
    let e = env(&[("vpn-reset.md", VPN)]);
    let (ticket, note) = ticket_with_notification(&e);
    let row = ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &reply_address(&note),
            "#kb save printer-jam\r\n# Clearing a paper jam\r\n\r\nOpen tray 2, {{customer.display}}, and pull gently.",
        ),
    );
    assert_eq!(row["outcome"], "note", "{row}");
    assert!(
        sent(&e, "agent_reply", "carol@example.com").is_empty(),
        "an article's text goes to no customer"
    );
    let list = e.json(&["kb", "list", "--json"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    let saved = list.iter().find(|a| a["name"] == "printer-jam").unwrap();
    assert_eq!(saved["source"], "saved");
    assert_eq!(saved["title"], "Clearing a paper jam");
    assert_eq!(saved["origin"], "alice@example.test");
    let file = list.iter().find(|a| a["name"] == "vpn-reset").unwrap();
    assert_eq!(file["source"], "file");
    assert_eq!(file["title"], "Resetting your VPN");
    let shown = e.ok(&["kb", "show", "printer-jam"]);
    assert!(
        shown.starts_with("# Clearing a paper jam\n\nOpen tray 2, {{customer.display}}"),
        "{shown}"
    );
    assert_eq!(e.run(&["kb", "show", "printer-jan"]).status.code(), Some(1));

    // Another customer's ticket, answered with it.
    ingest(
        &e,
        &customer_mail("c2@example.com", "Printer jammed", "Paper stuck."),
    );
    let note2 = sent(&e, "notify_agent", "alice@example.test")
        .into_iter()
        .find(|m| m.contains("Printer jammed"))
        .unwrap();
    ingest(
        &e,
        &agent_reply(
            &note2,
            "alice@example.test",
            &reply_address(&note2),
            "#reply printer-jam",
        ),
    );
    let answers = sent(&e, "agent_reply", "carol@example.com");
    assert_eq!(
        answers.len(),
        1,
        "ticket {ticket} got none, the new one one"
    );
    let text = text_part(&answers[0]);
    assert!(
        text.contains("Open tray 2, Carol Customer, and pull gently."),
        "{text}"
    );

    // Saving the name again replaces the text.
    ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &reply_address(&note),
            "#kb save printer-jam\r\nUse tray 3 instead.",
        ),
    );
    let shown = e.ok(&["kb", "show", "printer-jam"]);
    assert!(shown.contains("Use tray 3 instead."), "{shown}");
    assert_eq!(
        e.json(&["kb", "list", "--json"]).as_array().unwrap().len(),
        2
    );
    // The search index holds the article once, as saved last.
    let hits = e.json(&["search", "--json", "tray"]);
    let articles: Vec<&serde_json::Value> = hits
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["kind"] == "article")
        .collect();
    assert_eq!(articles.len(), 1, "{hits}");
    assert_eq!(articles[0]["name"], "printer-jam");
    assert!(
        articles[0]["snippet"].as_str().unwrap().contains("tray 3"),
        "{hits}"
    );
}

#[test]
fn check_and_serve_name_a_broken_articles_file_line_and_value() {
    let e = env(&[
        ("vpn-reset.md", VPN),
        (
            "broken.md",
            "# Broken\n\nHello,\n{{customer.nmae}} is wrong here.\n",
        ),
    ]);
    let out = e.run(&["check"]);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{report}");
    let line = report
        .lines()
        .find(|l| l.starts_with("FAIL knowledge"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(line.contains("broken.md: line 4"), "{line}");
    assert!(line.contains("customer.nmae"), "{line}");

    std::fs::write(e.path("knowledge/broken.md"), "Broken without a title\n").unwrap();
    let out = e.run(&["serve"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success());
    assert!(stderr.contains("broken.md: line 1"), "{stderr}");
    assert!(stderr.contains("# Title"), "{stderr}");
}
