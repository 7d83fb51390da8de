//! Classifying incoming mail: a person writing, or automatic mail (auto-replies, bounces,
//! mailing lists, our own mail looping back), which must never be answered automatically.

use super::parse::InboundMail;

/// What kind of sender a mail comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailClass {
    /// A person writing; may be acknowledged.
    Person,
    /// An auto-reply or other automatic mail; the reason names the header.
    Auto(String),
    /// A delivery status notification or mailer-daemon bounce.
    Bounce(String),
    /// Mailing list or bulk mail.
    List(String),
    /// Our own mail came back to us.
    Loop(String),
}

impl MailClass {
    /// Whether an automatic answer (such as an acknowledgement) may be sent to this mail.
    pub fn may_answer(&self) -> bool {
        matches!(self, MailClass::Person)
    }

    /// The reason recorded for anything other than [`MailClass::Person`].
    pub fn reason(&self) -> Option<&str> {
        match self {
            MailClass::Person => None,
            MailClass::Auto(r) | MailClass::Bounce(r) | MailClass::List(r) | MailClass::Loop(r) => {
                Some(r)
            }
        }
    }
}

fn is_daemon(local: &str) -> bool {
    let local = local.to_ascii_lowercase();
    local == "mailer-daemon" || local == "postmaster" || local.starts_with("mailer-daemon")
}

/// Classifies a mail. `own_addresses` are the addresses postdesk sends from (lower case);
/// `own_marker` is the value of our loop header. Another helpdesk's loop header is not a loop
/// here (its people write to us too); its hop counter is what stops ping-pong.
pub fn classify(mail: &InboundMail, own_addresses: &[String], own_marker: &str) -> MailClass {
    let a = &mail.auto;
    if let Some(v) = a
        .loop_header
        .as_deref()
        .filter(|v| v.eq_ignore_ascii_case(own_marker))
    {
        return MailClass::Loop(format!("our own loop header ({v})"));
    }
    if let Some(from) = &mail.from {
        if own_addresses.contains(&from.address) {
            return MailClass::Loop(format!("sent from our own address {}", from.address));
        }
    }
    let local = mail
        .from
        .as_ref()
        .and_then(|f| f.address.split('@').next())
        .unwrap_or("");
    if a.delivery_status_report {
        return MailClass::Bounce("delivery status report (multipart/report)".into());
    }
    if is_daemon(local) {
        return MailClass::Bounce(format!("sent by {local}"));
    }
    if let Some(v) = a.auto_submitted.as_deref().filter(|v| !v.starts_with("no")) {
        return MailClass::Auto(format!("Auto-Submitted: {v}"));
    }
    if a.x_autoreply {
        return MailClass::Auto("X-Autoreply/X-Autorespond header".into());
    }
    match a.precedence.as_deref() {
        Some(p @ ("bulk" | "junk" | "list")) => {
            return MailClass::List(format!("Precedence: {p}"));
        }
        Some(p @ "auto_reply") => return MailClass::Auto(format!("Precedence: {p}")),
        _ => {}
    }
    if a.list_id {
        return MailClass::List("List-Id, List-Post or Mailing-List header".into());
    }
    if a.list_unsubscribe {
        return MailClass::List("List-Unsubscribe header".into());
    }
    if a.return_path_empty {
        return MailClass::Auto("empty Return-Path (null sender)".into());
    }
    MailClass::Person
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::parse::{content_hash, parse, ParseLimits};

    fn class(headers: &str) -> MailClass {
        let raw = format!("{headers}\r\nSubject: x\r\n\r\nbody\r\n");
        let m = parse(
            raw.as_bytes(),
            &content_hash(raw.as_bytes()),
            &ParseLimits::default(),
        )
        .unwrap();
        classify(&m, &["support@example.test".to_string()], "example.test")
    }

    #[test]
    fn table() {
        let cases: &[(&str, &str)] = &[
            ("From: a@b.c", "person"),
            ("From: a@b.c\r\nAuto-Submitted: no", "person"),
            ("From: a@b.c\r\nAuto-Submitted: auto-replied", "auto"),
            ("From: a@b.c\r\nX-Autoreply: yes", "auto"),
            ("From: a@b.c\r\nPrecedence: bulk", "list"),
            ("From: a@b.c\r\nPrecedence: auto_reply", "auto"),
            ("From: a@b.c\r\nList-Id: <l.b.c>", "list"),
            ("From: a@b.c\r\nMailing-List: contact l-help@b.c; run by ezmlm", "list"),
            ("From: a@b.c\r\nReturn-Path: <>", "auto"),
            ("From: MAILER-DAEMON@b.c", "bounce"),
            ("From: postmaster@b.c", "bounce"),
            ("From: a@b.c\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=x", "bounce"),
            ("From: Support <support@example.test>", "loop"),
            ("From: a@b.c\r\nX-Postdesk-Loop: example.test", "loop"),
            ("From: a@b.c\r\nX-Postdesk-Loop: other-desk.example", "person"),
            ("From: a@b.c\r\nPrecedence: junk", "list"),
            ("From: a@b.c\r\nX-Autorespond: yes", "auto"),
            ("From: a@b.c\r\nList-Unsubscribe: <mailto:u@b.c>", "list"),
            ("From: a@b.c\r\nAuto-Submitted: auto-generated", "auto"),
        ];
        for (headers, want) in cases {
            let got = match class(headers) {
                MailClass::Person => "person",
                MailClass::Auto(_) => "auto",
                MailClass::Bounce(_) => "bounce",
                MailClass::List(_) => "list",
                MailClass::Loop(_) => "loop",
            };
            assert_eq!(got, *want, "{headers}");
        }
    }
}
