//! Forward on behalf (issue #17): a verified agent forwards a customer's mail to the support
//! address, inline or as an attached message; the ticket is the customer's.

use crate::conversation::{ingest, sent};
use crate::util::Env;

fn env(extra: &str) -> Env {
    Env::with(
        &format!(
            "{}\n[security]\nagent_auth = \"trusted_relay\"\n{extra}",
            crate::conversation::AGENTS
        ),
        None,
    )
}

const GMAIL: &str = "From: Alice Agent <alice@example.test>\r\nTo: support@example.test\r\nSubject: Fwd: Printer on fire\r\n\
    Message-ID: <fwd1@example.test>\r\nDate: Sat, 21 Nov 2026 11:00:00 +0000\r\n\r\nCarol called about this too.\r\n\r\n\
    ---------- Forwarded message ---------\r\nFrom: *Carol Customer* <carol@example.com>\r\nDate: Sat, Nov 21, 2026 at 10:00 AM\r\n\
    Subject: Printer on fire\r\nTo: <alice@example.test>\r\n\r\n\r\nOur printer is on fire.\r\n";

#[test]
fn an_agents_inline_forward_opens_the_customers_ticket() {
    let e = env("");
    let row = ingest(&e, GMAIL);
    assert_eq!(row["outcome"], "new_ticket", "{row}");
    assert_eq!(row["matched_by"], "forwarded", "{row}");
    let t = e.ticket(row["ticket_id"].as_i64().unwrap());
    assert_eq!(t["requester"], "carol@example.com");
    assert_eq!(t["subject"], "Printer on fire");
    let m = t["messages"].as_array().unwrap();
    assert_eq!(
        (m[0]["from"].as_str(), m[0]["kind"].as_str()),
        (Some("carol@example.com"), Some("customer"))
    );
    assert_eq!(m[0]["text"], "Our printer is on fire.");
    let note = m
        .iter()
        .find(|x| x["kind"] == "note")
        .expect("the agent's note");
    assert_eq!(note["text"], "Carol called about this too.");
    assert_eq!(note["from"], "alice@example.test");
    // The customer is acknowledged; Bob (not Alice, who forwarded it) is told.
    assert_eq!(sent(&e, "ack", "carol@example.com").len(), 1);
    assert!(sent(&e, "ack", "alice@example.test").is_empty());
    assert_eq!(sent(&e, "notify_agent", "bob@example.test").len(), 1);
    assert!(sent(&e, "notify_agent", "alice@example.test").is_empty());
    // Carol's answer to the acknowledgement lands on her ticket.
    let ack = &sent(&e, "ack", "carol@example.com")[0];
    let ack_id = crate::util::header(ack, "Message-ID").unwrap();
    let reply = ingest(
        &e,
        &format!("From: carol@example.com\r\nTo: support@example.test\r\nSubject: Re: Printer on fire\r\nMessage-ID: <c2@example.com>\r\nIn-Reply-To: {ack_id}\r\n\r\nStill burning.\r\n"),
    );
    assert_eq!(reply["ticket_id"], row["ticket_id"]);
}

#[test]
fn an_attached_message_is_the_customers_mail_and_the_acknowledgement_can_be_off() {
    let e = env("\n[threading]\nacknowledge_forwarded = false\n");
    let mail = "From: Alice Agent <alice@example.test>\r\nTo: support@example.test\r\nSubject: FW: VPN\r\n\
        Message-ID: <fwd2@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
        --b\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n\
        From: Dave <dave@customer.example>\r\nTo: alice@example.test\r\nSubject: VPN down\r\nMessage-ID: <d1@customer.example>\r\n\r\nThe VPN is down.\r\n--b--\r\n";
    let row = ingest(&e, mail);
    assert_eq!(row["matched_by"], "forwarded", "{row}");
    let t = e.ticket(row["ticket_id"].as_i64().unwrap());
    assert_eq!(
        (t["requester"].as_str(), t["subject"].as_str()),
        (Some("dave@customer.example"), Some("VPN down"))
    );
    assert_eq!(t["messages"][0]["text"], "The VPN is down.");
    assert!(
        sent(&e, "ack", "dave@customer.example").is_empty(),
        "acknowledge_forwarded = false"
    );
}

/// Not verified (agent_auth = "token", the mail is not at a signed address): a customer's mail
/// like any other, the forward not believed.
#[test]
fn an_unverified_forward_is_not_believed() {
    let e = Env::with(crate::conversation::AGENTS, None);
    let row = ingest(&e, GMAIL);
    assert_eq!(row["outcome"], "new_ticket");
    assert_ne!(row["matched_by"], "forwarded");
    let t = e.ticket(row["ticket_id"].as_i64().unwrap());
    assert_eq!(t["requester"], "alice@example.test");
}
