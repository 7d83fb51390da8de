//! Delivery status notifications (RFC 3464): what a bounce says about which of our mails and
//! which recipients. Pure: works on the parsed message only.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use super::ids::normalize_id;

/// What a DSN reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dsn {
    /// The Message-ID of the mail it reports on, from the returned headers or message.
    pub original_message_id: Option<String>,
    pub recipients: Vec<DsnRecipient>,
}

/// One recipient block of a DSN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnRecipient {
    /// The final recipient's address, lower case.
    pub address: String,
    /// `failed`, `delayed`, `delivered`, `relayed` or `expanded`.
    pub action: String,
    /// The enhanced status code, such as `5.1.1`.
    pub status: String,
    pub diagnostic: Option<String>,
}

impl Dsn {
    /// The recipients whose delivery failed for good.
    pub fn failed(&self) -> impl Iterator<Item = &DsnRecipient> {
        self.recipients
            .iter()
            .filter(|r| r.action == "failed" || (r.action.is_empty() && r.status.starts_with('5')))
    }
}

/// `Name: value` fields of a header-like block, continuation lines unfolded, names lower case.
fn fields(block: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    out
}

/// The address in a `Final-Recipient: rfc822; user@example.com` value.
fn typed_address(value: &str) -> String {
    let a = value.split_once(';').map(|(_, a)| a).unwrap_or(value);
    a.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_lowercase()
}

/// Reads the `message/delivery-status` body: the per-recipient blocks after the per-message one.
pub fn parse_status(body: &str) -> Vec<DsnRecipient> {
    let normalized = body.replace("\r\n", "\n");
    let mut out = Vec::new();
    for block in normalized.split("\n\n") {
        let f = fields(block);
        let get = |n: &str| f.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let Some(recipient) = get("final-recipient").or_else(|| get("original-recipient")) else {
            continue;
        };
        out.push(DsnRecipient {
            address: typed_address(&recipient),
            action: get("action").unwrap_or_default().to_ascii_lowercase(),
            status: get("status")
                .unwrap_or_default()
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string(),
            diagnostic: get("diagnostic-code").map(|d| {
                d.split_once(';')
                    .map(|(_, t)| t.trim().to_string())
                    .unwrap_or(d)
            }),
        });
    }
    out
}

/// Reads a DSN from a parsed message, or `None` when it has no delivery-status part.
pub fn read(msg: &Message<'_>) -> Option<Dsn> {
    let mut dsn: Option<Dsn> = None;
    let mut original = None;
    for part in &msg.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let (t, sub) = (
            ct.ctype().to_ascii_lowercase(),
            ct.subtype().unwrap_or("").to_ascii_lowercase(),
        );
        match (t.as_str(), sub.as_str()) {
            ("message", "delivery-status") | ("message", "global-delivery-status") => {
                let body = String::from_utf8_lossy(part.contents());
                dsn.get_or_insert_with(Dsn::default)
                    .recipients
                    .extend(parse_status(&body));
            }
            ("text", "rfc822-headers") | ("message", "rfc822-headers") if original.is_none() => {
                original = MessageParser::default()
                    .parse_headers(part.contents())
                    .and_then(|m| m.message_id().and_then(normalize_id));
            }
            ("message", "rfc822") | ("message", "global") if original.is_none() => {
                if let PartType::Message(m) = &part.body {
                    original = m.message_id().and_then(normalize_id);
                }
            }
            _ => {}
        }
    }
    let mut dsn = dsn?;
    dsn.original_message_id = original;
    Some(dsn)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POSTFIX_DSN: &str = "From: MAILER-DAEMON@mx.example.test (Mail Delivery System)\r\n\
To: support@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n\
--B\r\nContent-Type: message/delivery-status\r\n\r\n\
Reporting-MTA: dns; mx.example.test\r\nX-Postfix-Queue-ID: 123\r\n\r\n\
Final-Recipient: rfc822; Nobody@Customer.example\r\nOriginal-Recipient: rfc822;nobody@customer.example\r\n\
Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <nobody@customer.example>:\r\n    user unknown\r\n\r\n\
Final-Recipient: rfc822; slow@customer.example\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n\
--B\r\nContent-Type: text/rfc822-headers\r\n\r\n\
From: Example Support <support@example.test>\r\nMessage-ID: <pd.7.abc@example.test>\r\nSubject: [Support #7] Hi\r\n\
--B--\r\n";

    #[test]
    fn postfix_style_dsn() {
        let msg = MessageParser::default()
            .parse(POSTFIX_DSN.as_bytes())
            .unwrap();
        let dsn = read(&msg).unwrap();
        assert_eq!(
            dsn.original_message_id.as_deref(),
            Some("<pd.7.abc@example.test>")
        );
        assert_eq!(dsn.recipients.len(), 2);
        let failed: Vec<&DsnRecipient> = dsn.failed().collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].address, "nobody@customer.example");
        assert_eq!(failed[0].status, "5.1.1");
        assert_eq!(
            failed[0].diagnostic.as_deref(),
            Some("550 5.1.1 <nobody@customer.example>: user unknown")
        );
        assert_eq!(dsn.recipients[1].action, "delayed");
    }

    #[test]
    fn not_a_dsn() {
        let msg = MessageParser::default()
            .parse(b"From: a@b.c\r\nSubject: hi\r\n\r\nbody\r\n".as_slice())
            .unwrap();
        assert_eq!(read(&msg), None);
    }

    #[test]
    fn corpus_dsns() {
        for (file, failed) in [("report_530.eml", 1), ("multi_address_bounce1.eml", 5)] {
            let path = format!(
                "{}/tests/fixtures/corpus/ruby-mail-gem/multipart_report_emails/{file}",
                env!("CARGO_MANIFEST_DIR")
            );
            let raw = std::fs::read(&path).unwrap();
            let msg = MessageParser::default().parse(&raw).unwrap();
            let dsn = read(&msg).unwrap_or_else(|| panic!("{file}: no DSN"));
            assert_eq!(dsn.failed().count(), failed, "{file}: {dsn:?}");
        }
    }
}
