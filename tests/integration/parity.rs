//! Messy real mail that must still reach an agent (issue #21, parity with the best parsers),
//! through `ingest` on both backends.

use crate::conversation::{env, ingest};

#[test]
fn a_parent_that_arrives_after_its_reply_joins_the_replys_ticket() {
    let e = env();
    // Bob answers Carol's mail to him and the desk; his answer is delivered first.
    let reply = "From: Bob <bob@example.org>\r\nTo: carol@example.com\r\nCc: support@example.test\r\n\
                 Subject: Re: VPN down\r\nMessage-ID: <b1@example.org>\r\nIn-Reply-To: <c0@example.com>\r\n\
                 References: <c0@example.com>\r\nDate: Sat, 21 Nov 2026 10:05:00 +0000\r\n\r\nSame for me.\r\n";
    let parent = "From: Carol <carol@example.com>\r\nTo: bob@example.org\r\nCc: support@example.test\r\n\
                  Subject: VPN down\r\nMessage-ID: <c0@example.com>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n\r\nThe VPN is down.\r\n";
    let first = ingest(&e, reply);
    assert_eq!(first["outcome"], "new_ticket", "{first}");
    let late = ingest(&e, parent);
    assert_eq!(
        (
            late["outcome"].as_str(),
            late["ticket_id"].as_i64(),
            late["matched_by"].as_str()
        ),
        (
            Some("reply"),
            first["ticket_id"].as_i64(),
            Some("references")
        ),
        "{late}"
    );
    assert_eq!(e.tickets().len(), 1);
}

#[test]
fn a_mail_without_a_usable_from_still_reaches_an_agent() {
    let e = env();
    // (From as written, other headers, the header the sender comes from, the sender.)
    let cases = [
        (
            "From: \"Carol\" <>\r\nSender: carol@example.com\r\n",
            Some("sender"),
            "carol@example.com",
        ),
        (
            "From: Carol\r\nReply-To: Carol <carol@example.com>\r\n",
            Some("reply-to"),
            "carol@example.com",
        ),
        (
            "Return-Path: <bounce-me@example.net>\r\n",
            Some("return-path"),
            "bounce-me@example.net",
        ),
        (
            "From: <>, Dave <dave@example.org>\r\n",
            Some("from"),
            "dave@example.org",
        ),
        ("From: undisclosed\r\n", None, ""),
    ];
    for (i, (headers, header, sender)) in cases.iter().enumerate() {
        let mail = format!(
            "{headers}To: support@example.test\r\nSubject: Case {i}\r\nMessage-ID: <nf{i}@example.com>\r\n\r\nHelp.\r\n"
        );
        let row = ingest(&e, &mail);
        assert_eq!(row["outcome"], "new_ticket", "{headers}: {row}");
        assert_eq!(row["sender_header"].as_str(), *header, "{headers}: {row}");
        assert_eq!(row["from"], *sender, "{headers}: {row}");
        let t = e.ticket(row["ticket_id"].as_i64().unwrap());
        assert_eq!(t["requester"], *sender, "{t}");
        let acks: Vec<_> = e
            .outbox()
            .into_iter()
            .filter(|o| o["kind"] == "ack" && o["ticket_id"] == row["ticket_id"])
            .collect();
        assert_eq!(
            acks.len(),
            usize::from(header.is_some()),
            "{headers}: {acks:?}"
        );
        if header.is_none() {
            assert!(
                row["reason"]
                    .as_str()
                    .unwrap()
                    .contains("no sender address"),
                "{row}"
            );
        }
        let notified = e
            .outbox()
            .into_iter()
            .filter(|o| o["kind"] == "notify_agent" && o["ticket_id"] == row["ticket_id"])
            .count();
        assert!(notified > 0, "the agents hear of it: {headers}");
    }
}
