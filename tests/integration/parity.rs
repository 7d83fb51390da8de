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
