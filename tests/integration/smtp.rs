//! The SMTP transport against the real Postfix that tests/run.sh starts: the acknowledgement
//! travels through Postfix into the customer's mailbox at Dovecot; a server that cannot be
//! reached leaves the mail pending with its error, for a retry.

use std::path::PathBuf;

use crate::util::{header, server_env, wait_for, Env};

fn smtp_transport(hostport: &str) -> String {
    let (host, port) = hostport.rsplit_once(':').unwrap();
    format!("kind = \"smtp\"\nhost = \"{host}\"\nport = {port}\ntls = \"none\"")
}

/// Files delivered to Dovecot's catch-all mailbox that contain `needle`.
fn delivered(root: &str, needle: &str) -> Vec<String> {
    let dir = PathBuf::from(root).join("catchall/Maildir/new");
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(|e| std::fs::read(e.ok()?.path()).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .filter(|t| t.contains(needle))
        .collect()
}

#[test]
fn acknowledgement_reaches_the_customer_through_postfix() {
    let (Some(smtp), Some(root)) = (
        server_env("POSTDESK_TEST_SMTP"),
        server_env("POSTDESK_TEST_MAILROOT"),
    ) else {
        return;
    };
    let env = Env::with("", Some(&smtp_transport(&smtp)));
    // A unique customer address, so parallel tests and passes do not see each other's mail.
    let customer = format!("c{:x}@customer.example", fastrand::u64(..));
    let mail = format!("From: Carol <{customer}>\r\nTo: support@example.test\r\nSubject: Printer on fire\r\nMessage-ID: <{customer}>\r\nDate: Sat, 21 Nov 2026 09:00:00 +0100\r\n\r\nHelp.\r\n");
    let out = env.run_stdin(&["ingest", "-"], mail.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = &env.outbox()[0];
    assert_eq!(o["status"], "sent", "{o}");
    let mid = o["message_id"].as_str().unwrap().to_string();
    let got = wait_for(20, "the acknowledgement in the customer's mailbox", || {
        let v = delivered(&root, &mid);
        (!v.is_empty()).then_some(v)
    });
    assert_eq!(got.len(), 1, "delivered once");
    let m = got[0].replace('\n', "\r\n").replace("\r\r\n", "\r\n");
    assert_eq!(
        header(&m, "Delivered-To").as_deref(),
        Some(customer.as_str())
    );
    assert_eq!(
        header(&m, "In-Reply-To").as_deref(),
        Some(format!("<{customer}>").as_str())
    );
    assert_eq!(
        header(&m, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    assert_eq!(
        header(&m, "Subject").as_deref(),
        Some("[Support #1] Printer on fire")
    );
}

#[test]
fn an_unreachable_server_leaves_the_mail_pending_with_its_error() {
    let env = Env::with("", Some(&smtp_transport("127.0.0.1:1")));
    env.ingest(&["plain.eml"]);
    let o = &env.outbox()[0];
    assert_eq!(o["status"], "pending", "{o}");
    assert_eq!(o["attempts"], 1);
    assert!(
        o["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{o}"
    );
    assert_eq!(
        env.tickets().len(),
        1,
        "the mail itself is stored whatever the transport does"
    );
}
