//! Composing outgoing mail with lettre: From the identity, Date, our Message-ID, threading
//! headers, RFC 3834 `Auto-Submitted` on automatic mail, a loop header, and a text/HTML
//! multipart/alternative body. Values that came from mail are flattened to one line first, so
//! nothing a customer writes can add a header.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;

use super::parse::{one_line, HOPS_HEADER, LOOP_HEADER};

/// One mail to send.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub from_name: String,
    pub from_address: String,
    pub to: Vec<(Option<String>, String)>,
    pub cc: Vec<(Option<String>, String)>,
    /// Where answers go: a plus address that leads back to the ticket.
    pub reply_to: Option<String>,
    pub subject: String,
    /// `<id@domain>`.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    /// Oldest first; `<id>` each.
    pub references: Vec<String>,
    /// Milliseconds since the epoch.
    pub date: i64,
    /// `auto-replied` or `auto-generated` for automatic mail; `None` for a person's mail.
    pub auto_submitted: Option<&'static str>,
    /// Value of our loop-detection header (the identity's domain).
    pub loop_marker: String,
    /// Helpdesk hops: one more than the mail this answers had.
    pub hops: u32,
    /// The ticket's Outlook conversation (Thread-Index, base64) and topic, echoed so Outlook
    /// threads our mail with the customer's.
    pub thread_index: Option<String>,
    pub thread_topic: Option<String>,
    pub text: String,
    pub html: String,
    /// Images the HTML shows by `cid:` (multipart/related): the digests' charts.
    pub inline: Vec<Inline>,
    /// The language it is written in (`Content-Language`), when not the default.
    pub language: Option<String>,
}

/// An image inside the mail, shown by the HTML as `cid:CID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inline {
    /// The Content-ID, without angle brackets.
    pub cid: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Why a mail could not be composed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("invalid address '{0}'")]
    Address(String),
    #[error("cannot build the message: {0}")]
    Build(String),
}

/// `[Tag #id] subject`, without doubling a tag the subject already carries.
pub fn tagged_subject(reference: &str, subject: &str) -> String {
    let subject = one_line(subject);
    if subject.to_lowercase().contains(&reference.to_lowercase()) {
        subject
    } else if subject.is_empty() {
        reference.to_string()
    } else {
        format!("{reference} {subject}")
    }
}

/// The longest subject we send, in characters (a 200 KB subject from a customer is cut).
const MAX_SUBJECT_CHARS: usize = 300;
/// The longest display name, Thread-Topic or Thread-Index we send, in characters.
const MAX_PHRASE_CHARS: usize = 200;
/// The longest Message-ID we echo in In-Reply-To or References; longer ones are dropped (no
/// real mailer makes them, and RFC 5322 §2.1.1 keeps every line within 998 bytes).
pub const MAX_ID_LEN: usize = 250;
/// References keeps the first id and the newest ones (RFC 5322 §3.6.4 allows trimming).
const MAX_REFERENCES: usize = 20;

/// `s` on one line, cut to `max` characters (with an ellipsis when cut).
fn short(s: &str, max: usize) -> String {
    let s = one_line(s);
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s,
    }
}

/// A Message-ID fit to echo: one line, `<…@…>` without spaces, at most [`MAX_ID_LEN`] bytes.
fn sane_id(id: &str) -> Option<String> {
    let id = one_line(id);
    (id.len() <= MAX_ID_LEN
        && id.starts_with('<')
        && id.ends_with('>')
        && id.contains('@')
        && !id.contains(char::is_whitespace))
    .then_some(id)
}

fn mailbox(name: Option<&str>, address: &str) -> Result<Mailbox, ComposeError> {
    let addr = address
        .parse()
        .map_err(|_| ComposeError::Address(one_line(address)))?;
    Ok(Mailbox::new(
        name.map(|n| short(n, MAX_PHRASE_CHARS))
            .filter(|n| !n.is_empty()),
        addr,
    ))
}

fn raw_header(name: &'static str, value: &str) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), one_line(value))
}

/// Builds the RFC 5322 bytes of `mail`.
pub fn compose(mail: &OutgoingMail) -> Result<Vec<u8>, ComposeError> {
    let mut b = Message::builder()
        .from(mailbox(Some(&mail.from_name), &mail.from_address)?)
        .subject(short(&mail.subject, MAX_SUBJECT_CHARS))
        .message_id(Some(one_line(&mail.message_id)))
        .date(UNIX_EPOCH + Duration::from_millis(mail.date.max(0) as u64))
        .raw_header(raw_header(LOOP_HEADER, &mail.loop_marker));
    for (name, address) in &mail.to {
        b = b.to(mailbox(name.as_deref(), address)?);
    }
    for (name, address) in &mail.cc {
        b = b.cc(mailbox(name.as_deref(), address)?);
    }
    if let Some(r) = &mail.reply_to {
        b = b.reply_to(mailbox(Some(&mail.from_name), r)?);
    }
    if mail.hops > 0 {
        b = b.raw_header(raw_header(HOPS_HEADER, &mail.hops.to_string()));
    }
    if let Some(ti) = mail
        .thread_index
        .as_deref()
        .filter(|t| t.len() <= MAX_PHRASE_CHARS)
    {
        b = b.raw_header(raw_header("Thread-Index", ti));
    }
    if let Some(topic) = &mail.thread_topic {
        b = b.raw_header(raw_header("Thread-Topic", &short(topic, MAX_PHRASE_CHARS)));
    }
    if let Some(irt) = mail.in_reply_to.as_deref().and_then(sane_id) {
        b = b.in_reply_to(irt);
    }
    let refs: Vec<String> = mail.references.iter().filter_map(|r| sane_id(r)).collect();
    if !refs.is_empty() {
        let keep: Vec<&str> = if refs.len() > MAX_REFERENCES {
            std::iter::once(&refs[0])
                .chain(&refs[refs.len() - (MAX_REFERENCES - 1)..])
                .map(String::as_str)
                .collect()
        } else {
            refs.iter().map(String::as_str).collect()
        };
        b = b.references(keep.join(" "));
    }
    if let Some(lang) = mail
        .language
        .as_deref()
        .filter(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        b = b.raw_header(raw_header("Content-Language", lang));
    }
    if let Some(auto) = mail.auto_submitted {
        b = b
            .raw_header(raw_header("Auto-Submitted", auto))
            .raw_header(raw_header("X-Auto-Response-Suppress", "All"))
            .raw_header(raw_header("Precedence", "auto_reply"));
    }
    let body = if mail.inline.is_empty() {
        MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone())
    } else {
        use lettre::message::{header::ContentType, Attachment, SinglePart};
        let mut related = MultiPart::related().singlepart(SinglePart::html(mail.html.clone()));
        for i in &mail.inline {
            let kind = ContentType::parse(i.content_type).map_err(|e| {
                ComposeError::Build(format!("content type {}: {e}", i.content_type))
            })?;
            related = related
                .singlepart(Attachment::new_inline(i.cid.clone()).body(i.bytes.clone(), kind));
        }
        MultiPart::alternative()
            .singlepart(SinglePart::plain(mail.text.clone()))
            .multipart(related)
    };
    let msg = b
        .multipart(body)
        .map_err(|e| ComposeError::Build(e.to_string()))?;
    Ok(msg.formatted())
}

/// Now, for `OutgoingMail::date`.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(crate::time::millis)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::parse::{content_hash, parse, ParseLimits};

    fn sample() -> OutgoingMail {
        OutgoingMail {
            from_name: "Example Support".into(),
            from_address: "support@example.test".into(),
            to: vec![(Some("Zoë Customer".into()), "zoe@example.com".into())],
            cc: vec![(None, "boss@example.com".into())],
            reply_to: Some("support+3.abcdef012345@example.test".into()),
            subject: "[Support #3] Printer\r\nBcc: evil@example.com".into(),
            message_id: "<pd.3.abc@example.test>".into(),
            in_reply_to: Some("<c1@example.com>".into()),
            references: vec!["<c0@example.com>".into(), "<c1@example.com>".into()],
            date: 1_795_000_000_000,
            auto_submitted: Some("auto-replied"),
            loop_marker: "example.test".into(),
            hops: 2,
            thread_index: Some("AdxYZ0123456789abcdefghijklmnopqrs=".into()),
            thread_topic: Some("Printer".into()),
            text: "Grüße\n".into(),
            html: "<p>Grüße</p>".into(),
            inline: Vec::new(),
            language: None,
        }
    }

    #[test]
    fn headers_and_round_trip() {
        let raw = compose(&sample()).unwrap();
        let text = String::from_utf8_lossy(&raw);
        for h in [
            "Date: ",
            "Message-ID: <pd.3.abc@example.test>",
            "In-Reply-To: <c1@example.com>",
            "Auto-Submitted: auto-replied",
            "MIME-Version: 1.0",
            "X-Postdesk-Loop: example.test",
            "multipart/alternative",
            "Cc: boss@example.com",
            "Reply-To: \"Example Support\" <support+3.abcdef012345@example.test>",
            "X-Postdesk-Hops: 2",
            "Thread-Topic: Printer",
        ] {
            assert!(text.contains(h), "missing {h} in\n{text}");
        }
        assert!(!text.contains("\nBcc:"), "header injection:\n{text}");
        let back = parse(&raw, &content_hash(&raw), &ParseLimits::default()).unwrap();
        assert_eq!(
            back.references,
            vec!["<c0@example.com>", "<c1@example.com>"]
        );
        assert_eq!(back.to[0].name.as_deref(), Some("Zoë Customer"));
        assert_eq!(back.subject, "[Support #3] Printer Bcc: evil@example.com");
        assert_eq!(back.text.trim(), "Grüße");
        assert!(
            raw.iter().all(|b| b.is_ascii()),
            "8-bit bytes must be encoded"
        );
    }

    #[test]
    fn no_line_is_longer_than_rfc_5322_allows() {
        let long_id = format!("<{}@example.com>", "x".repeat(100_000));
        let mut m = sample();
        m.subject = format!("[Support #3] {}", "word ".repeat(40_000));
        m.in_reply_to = Some(long_id.clone());
        m.references = (0..60)
            .map(|i| format!("<{i}.{}@example.com>", "r".repeat(150)))
            .chain([long_id.clone(), "<c1@example.com>".into()])
            .collect();
        m.to[0].0 = Some("Zoë ".repeat(2_000));
        m.thread_topic = Some("t".repeat(5_000));
        let raw = compose(&m).unwrap();
        let text = String::from_utf8_lossy(&raw);
        for line in text.split("\r\n") {
            assert!(line.len() <= 998, "{} bytes: {}…", line.len(), &line[..80]);
        }
        assert!(
            !text.contains(&"x".repeat(1_000)),
            "the 100 KB id is dropped"
        );
        let back = parse(&raw, &content_hash(&raw), &ParseLimits::default()).unwrap();
        assert!(
            back.subject.starts_with("[Support #3] word word"),
            "{}",
            back.subject
        );
        assert!(back.subject.len() < 1_000);
        // The newest references survive (the one the mail answers last), the oversized not.
        assert_eq!(
            back.references.last().map(String::as_str),
            Some("<c1@example.com>")
        );
        assert!(back.in_reply_to.is_empty(), "{:?}", back.in_reply_to);
    }

    #[test]
    fn subjects_are_tagged_once() {
        assert_eq!(
            tagged_subject("[Support #3]", "Printer"),
            "[Support #3] Printer"
        );
        assert_eq!(
            tagged_subject("[Support #3]", "Re: [support #3] Printer"),
            "Re: [support #3] Printer"
        );
        assert_eq!(tagged_subject("[Support #3]", ""), "[Support #3]");
    }
}
