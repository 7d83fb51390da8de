//! Several support addresses (issue #17, `[[identities]]`): a customer who wrote to billing@ is
//! answered from billing@ with its tag, agents answer through billing@'s own reply addresses,
//! and threading by tag accepts every identity's tag.

use crate::conversation::{agent_reply, ingest, reply_address, sent, AGENTS};
use crate::util::{header, Env};

fn env() -> Env {
    let e = Env::with(
        &format!(
            "{AGENTS}\n[[identities]]\nname = \"billing\"\naddress = \"billing@example.test\"\n\
             display_name = \"Example Billing\"\nsubject_tag = \"Billing\"\n"
        ),
        None,
    );
    // Billing's own acknowledgement text (the HTML half stays the built-in one).
    let own = e.path("billing-templates");
    std::fs::create_dir_all(&own).unwrap();
    std::fs::write(
        own.join("ack.txt.hbs"),
        "Billing here, {{customer.display}}: we opened {{ticket.ref}} for your invoice question.\n",
    )
    .unwrap();
    // A second mailbox whose tickets are billing's whatever address the mail names.
    let text = std::fs::read_to_string(&e.config)
        .unwrap()
        .replace(
            "subject_tag = \"Billing\"\n",
            &format!("subject_tag = \"Billing\"\ntemplates_dir = \"{}\"\n", own.display()),
        )
        .replace(
        "[transport]",
        &format!(
            "[[mailboxes]]\nname = \"invoices\"\nkind = \"maildir\"\npath = \"{}/invoices\"\nidentity = \"billing\"\n\n[transport]",
            e.dir.path().display()
        ),
    );
    std::fs::write(&e.config, text).unwrap();
    e
}

#[test]
fn a_customer_who_wrote_to_billing_is_answered_from_billing_with_its_tag() {
    let e = env();
    let row = ingest(
        &e,
        "From: Carol <carol@example.com>\r\nTo: billing@example.test\r\nSubject: Invoice 42 is wrong\r\n\
         Message-ID: <b1@example.com>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n\r\nPlease check.\r\n",
    );
    let t = row["ticket_id"].as_i64().unwrap();
    let tj = e.ticket(t);
    assert_eq!(tj["identity"], "billing");
    assert_eq!(tj["ref"], format!("[Billing #{t}]"));
    let ack = &sent(&e, "ack", "carol@example.com")[0];
    assert_eq!(
        header(ack, "From").unwrap(),
        "\"Example Billing\" <billing@example.test>"
    );
    assert_eq!(
        header(ack, "Subject").unwrap(),
        format!("[Billing #{t}] Invoice 42 is wrong")
    );
    assert!(
        reply_address(ack).starts_with(&format!("billing+{t}.")),
        "{ack}"
    );

    // The agent answers from the notification: her Reply-To is billing's, and the customer
    // hears from billing.
    let note = &sent(&e, "notify_agent", "alice@example.test")[0];
    let to = reply_address(note);
    assert!(to.starts_with(&format!("billing+{t}.")), "{to}");
    let row = ingest(
        &e,
        &agent_reply(note, "alice@example.test", &to, "Corrected, sorry."),
    );
    assert_eq!(row["outcome"], "agent_reply", "{row}");
    let answer = &sent(&e, "agent_reply", "carol@example.com")[0];
    assert_eq!(
        header(answer, "From").unwrap(),
        "\"Alice Agent via Example Billing\" <billing@example.test>"
    );
    assert!(header(answer, "Subject")
        .unwrap()
        .contains(&format!("[Billing #{t}]")));

    // The customer writes again with only the tag: it threads.
    let row = ingest(
        &e,
        &format!("From: carol@example.com\r\nTo: billing@example.test\r\nSubject: Re: [Billing #{t}] Invoice 42 is wrong\r\nMessage-ID: <b2@example.com>\r\n\r\nThanks.\r\n"),
    );
    assert_eq!(row["ticket_id"], t, "{row}");
    assert_eq!(row["matched_by"], "subject_tag", "{row}");

    // Mail to the default address stays the default identity's.
    let row = ingest(
        &e,
        "From: dave@customer.example\r\nTo: support@example.test\r\nSubject: VPN\r\nMessage-ID: <s1@customer.example>\r\n\r\nDown.\r\n",
    );
    let tj = e.ticket(row["ticket_id"].as_i64().unwrap());
    assert_eq!(tj["identity"], serde_json::Value::Null);
    assert!(tj["ref"].as_str().unwrap().starts_with("[Support #"));
    let ack = &sent(&e, "ack", "dave@customer.example")[0];
    assert!(
        !crate::conversation::text_part(ack).contains("Billing here"),
        "the default's own text"
    );
}

#[test]
fn a_mailbox_chooses_its_identity_and_an_unknown_identity_is_a_config_error() {
    let e = env();
    let out = e.run_stdin(
        &["ingest", "--mailbox", "invoices", "-"],
        b"From: erin@other.example\r\nTo: support@example.test\r\nSubject: Refund\r\nMessage-ID: <i1@other.example>\r\n\r\nPlease.\r\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = e.tickets().into_iter().next().unwrap();
    assert_eq!(t["identity"], "billing");

    let text = std::fs::read_to_string(&e.config)
        .unwrap()
        .replace("identity = \"billing\"", "identity = \"biling\"");
    std::fs::write(&e.config, text).unwrap();
    let out = e.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("mailboxes[1].identity") && err.contains("'biling'"),
        "{err}"
    );
}
