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

/// The first message of the ticket a fixture's mail opened.
fn first_message(e: &crate::util::Env, row: &serde_json::Value) -> serde_json::Value {
    let t = e.ticket(row["ticket_id"].as_i64().expect("a ticket"));
    t["messages"][0].clone()
}

#[test]
fn raw_8bit_header_text_is_read_in_its_charset() {
    let e = env();
    // (fixture, subject, sender's name, attachment's file name): see fixtures/parity/make.py.
    let cases = [
        ("8bit-gbk.eml", "打印机坏了，请尽快修理", "张伟", "报告.pdf"),
        (
            "8bit-shift_jis.eml",
            "プリンターが壊れました。至急修理をお願いします",
            "山田太郎",
            "報告書.pdf",
        ),
        (
            "8bit-euc-kr.eml",
            "프린터가 고장났습니다 빨리 고쳐 주세요",
            "김민준",
            "보고서.pdf",
        ),
        (
            "8bit-big5.eml",
            "印表機壞了，請盡快修理",
            "陳大文",
            "報告.pdf",
        ),
        (
            "8bit-windows-1251.eml",
            "Принтер сломался, почините пожалуйста",
            "Иван Петров",
            "отчёт.pdf",
        ),
    ];
    for (file, subject, name, attachment) in cases {
        e.ingest(&[&format!("parity/{file}")]);
        let row = e.inbound().last().cloned().unwrap();
        assert_eq!(row["outcome"], "new_ticket", "{file}: {row}");
        assert_eq!(row["subject"], subject, "{file}");
        let m = first_message(&e, &row);
        assert_eq!(m["from_name"], name, "{file}: {m}");
        assert_eq!(m["attachments"][0]["name"], attachment, "{file}: {m}");
    }
}

#[test]
fn every_mbox_variant_gives_back_each_mail_whole() {
    // (fixture, mails in it, the body text each mail's ticket must hold)
    let cases: [(&str, &[&str]); 3] = [
        (
            "mboxrd.mbox",
            &[
                "From what I see, the printer is offline.",
                "From sender@example.net Sat Nov 21 10:00:00 2026\n>From quoted in the original",
                "Plain text.",
            ],
        ),
        (
            "mboxcl2.mbox",
            &[
                "From what I see, the printer is offline.",
                "From sender@example.net Sat Nov 21 10:00:00 2026\n>From quoted in the original",
                "Plain text.",
            ],
        ),
        (
            "mboxcl-wrong-length.mbox",
            &["From what I see, the printer is offline.", "Plain text."],
        ),
    ];
    for (file, bodies) in cases {
        let e = env();
        let stderr = e.ingest(&[&format!("parity/{file}")]);
        assert!(
            stderr.contains(&format!("read 1 file(s), {} mail(s)", bodies.len())),
            "{file}: {stderr}"
        );
        let rows = e.inbound();
        assert_eq!(rows.len(), bodies.len(), "{file}: {rows:?}");
        for (i, (row, body)) in rows.iter().zip(bodies).enumerate() {
            assert_eq!(row["outcome"], "new_ticket", "{file} #{i}: {row}");
            assert_eq!(row["subject"], format!("mbox mail {i}"), "{file} #{i}");
            let text = first_message(&e, row)["text"]
                .as_str()
                .unwrap()
                .replace("\r\n", "\n");
            assert!(text.contains(body), "{file} #{i}: {text:?}");
        }
    }
}

#[test]
fn obsolete_address_forms_keep_their_sender() {
    let e = env();
    // (fixture, requester): written forms in fixtures/parity/make.py, compared in lower case.
    let cases = [
        ("obs-bang-path.eml", "relay!host!olduser"),
        ("obs-route.eml", "route.user@example.net"),
        ("obs-double-at.eml", "user@host@relay.example.net"),
        ("obs-quoted-local.eml", "\"john doe\"@example.net"),
        ("obs-spaces.eml", "joe.bloggs@example.net"),
    ];
    for (file, requester) in cases {
        e.ingest(&[&format!("parity/{file}")]);
        let row = e.inbound().last().cloned().unwrap();
        assert_eq!(row["outcome"], "new_ticket", "{file}: {row}");
        assert_eq!(row["sender_header"], "from", "{file}: {row}");
        let t = e.ticket(row["ticket_id"].as_i64().unwrap());
        assert_eq!(t["requester"], requester, "{file}: {t}");
    }
    // The same sender in other case is the same requester: the second mail is no stranger's.
    let mut mail =
        std::fs::read_to_string(crate::util::fixture("parity/obs-quoted-local.eml")).unwrap();
    let t = e
        .tickets()
        .into_iter()
        .find(|t| t["requester"] == "\"john doe\"@example.net")
        .unwrap();
    mail = mail
        .replace("\"john doe\"@Example.NET", "\"John Doe\"@EXAMPLE.net")
        .replace(
            "Subject: obs-quoted-local.eml",
            &format!("Subject: Re: {} obs", t["ref"].as_str().unwrap()),
        )
        .replace("<obs-quoted-local.eml@example.net>", "<again@example.net>");
    let again = ingest(&e, &mail);
    assert_eq!(again["ticket_id"], t["id"], "{again}");
}
