//! Threading: which ticket an incoming mail belongs to. Pure decisions over data the pipeline
//! has already looked up; no I/O here.
//!
//! Layers, first match wins: a Message-ID named by In-Reply-To or References that we know
//! (received or sent) or that carries our HMAC (a self-reference); the subject tag
//! `[Tag #id]` (from a participant, unless configured otherwise); a plus address we handed
//! out (`support+42.MAC@`); an Outlook Thread-Index; else a new ticket. A reply to a ticket
//! closed longer than the reopen window opens a new ticket linked to the old one.

use std::collections::HashMap;

/// How a mail was matched to an existing ticket (`inbound --json` field `matched_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    References,
    SubjectTag,
    PlusAddress,
    ThreadIndex,
    Subject,
}

impl MatchedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedBy::References => "references",
            MatchedBy::SubjectTag => "subject_tag",
            MatchedBy::PlusAddress => "plus_address",
            MatchedBy::ThreadIndex => "thread_index",
            MatchedBy::Subject => "subject",
        }
    }
}

/// The outcome of threading one mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadDecision {
    /// The mail belongs to this ticket.
    Existing {
        ticket_id: i64,
        matched_by: MatchedBy,
    },
    /// Nothing links the mail to a ticket; `reason` says why a link that was there did not
    /// count (a subject tag from a stranger).
    New { reason: Option<String> },
}

/// A subject tag naming an existing ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tagged {
    pub ticket_id: i64,
    /// The sender takes part in that ticket (requester, CC, or an agent).
    pub sender_known: bool,
}

/// Everything the pipeline looked up for one mail. Ids in `known` and `ours` are checked in
/// candidate order; `ours` holds our own HMAC-carrying ids whose ticket exists.
#[derive(Debug, Default)]
pub struct Lookups<'a> {
    pub known: HashMap<String, i64>,
    pub ours: HashMap<&'a str, i64>,
    pub tagged: Option<Tagged>,
    pub plus_address: Option<i64>,
    pub thread_index: Option<i64>,
    /// A ticket with the same subject key, for a reply that lost its threading headers, when
    /// joining it leaks nothing (list mail, or a sender who takes part in the ticket).
    pub subject: Option<i64>,
}

/// Whether a tag from someone who is not a participant joins the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrangerTag {
    /// Default: a new ticket, with the reason recorded.
    NewTicket,
    Join,
}

/// True for a Message-ID that can identify a mail: `<local@domain>` with no spaces. Bare words
/// such as `<yes>` or `<>` are what broken mailers write, and must never link two mails.
pub fn is_linkable_id(id: &str) -> bool {
    let inner = id.trim_start_matches('<').trim_end_matches('>');
    match inner.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !inner.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

/// The Message-IDs worth looking up for a mail, most telling first: In-Reply-To, then
/// References from the newest (last) to the oldest. Duplicates and unlinkable ids are dropped.
pub fn candidate_ids<'a>(in_reply_to: &'a [String], references: &'a [String]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::with_capacity(in_reply_to.len() + references.len());
    for id in in_reply_to.iter().chain(references.iter().rev()) {
        if is_linkable_id(id) && !out.contains(&id.as_str()) {
            out.push(id);
        }
    }
    out
}

/// Finds a subject tag `[<tag> #<number>]` (RT's format, case-insensitive tag, spaces allowed
/// around `#`) for any of `tags` and returns the number. The first well-formed tag wins.
pub fn parse_subject_tag<S: AsRef<str>>(subject: &str, tags: &[S]) -> Option<i64> {
    let lower = subject.to_lowercase();
    let tags: Vec<String> = tags.iter().map(|t| t.as_ref().to_lowercase()).collect();
    let mut from = 0;
    while let Some(pos) = lower[from..].find('[') {
        let start = from + pos + 1;
        from = start;
        let rest = &lower[start..];
        let Some(rest) = tags.iter().find_map(|t| rest.strip_prefix(t.as_str())) else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(rest) = rest.strip_prefix('#') else {
            continue;
        };
        let rest = rest.trim_start();
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() || digits.len() > 18 {
            continue;
        }
        if rest[digits.len()..].trim_start().starts_with(']') {
            return digits.parse().ok().filter(|n| *n > 0);
        }
    }
    None
}

/// Decides the ticket for a mail from what was looked up.
pub fn decide(candidates: &[&str], l: &Lookups<'_>, stranger: StrangerTag) -> ThreadDecision {
    for id in candidates {
        if let Some(&ticket_id) = l.known.get(*id).or_else(|| l.ours.get(*id)) {
            return ThreadDecision::Existing {
                ticket_id,
                matched_by: MatchedBy::References,
            };
        }
    }
    let mut reason = None;
    if let Some(t) = l.tagged {
        if t.sender_known || stranger == StrangerTag::Join {
            return ThreadDecision::Existing {
                ticket_id: t.ticket_id,
                matched_by: MatchedBy::SubjectTag,
            };
        }
        reason = Some(format!(
            "the subject names ticket #{}, but the sender takes no part in it",
            t.ticket_id
        ));
    }
    if let Some(ticket_id) = l.plus_address {
        return ThreadDecision::Existing {
            ticket_id,
            matched_by: MatchedBy::PlusAddress,
        };
    }
    if let Some(ticket_id) = l.thread_index {
        return ThreadDecision::Existing {
            ticket_id,
            matched_by: MatchedBy::ThreadIndex,
        };
    }
    if let Some(ticket_id) = l.subject {
        return ThreadDecision::Existing {
            ticket_id,
            matched_by: MatchedBy::Subject,
        };
    }
    ThreadDecision::New { reason }
}

/// Reply and forward prefixes in the languages mail clients write them.
const PREFIXES: &[&str] = &[
    "re", "aw", "sv", "vs", "r", "rif", "ref", "antw", "odp", "fw", "fwd", "wg", "tr", "rv",
];

/// Splits one reply prefix (`Re:`, `RE[2]:`, `Re(3):`, `Re^2:`) off the front of `s`.
fn strip_prefix(s: &str) -> Option<&str> {
    let word_end = s
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(s.len());
    let word = s[..word_end].to_ascii_lowercase();
    if !PREFIXES.contains(&word.as_str()) {
        return None;
    }
    let mut rest = &s[word_end..];
    if let Some(r) = rest.strip_prefix(['(', '[', '^']) {
        let digits = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        rest = r[digits..].strip_prefix([')', ']']).unwrap_or(&r[digits..]);
    }
    rest.trim_start().strip_prefix(':').map(str::trim_start)
}

/// A subject without reply prefixes, `[list]` tags and extra spaces, lower case, and whether
/// it had a reply prefix: the key that lets list mail that lost its headers meet its thread.
pub fn subject_key(subject: &str) -> (String, bool) {
    let mut s = subject.trim();
    let mut replied = false;
    loop {
        if let Some(rest) = strip_prefix(s) {
            replied = true;
            s = rest;
        } else if s.starts_with('[') {
            match s.find(']') {
                Some(end) => s = s[end + 1..].trim_start(),
                None => break,
            }
        } else if let Some(rest) = s.strip_prefix('(').and_then(|r| {
            // "(1) Foo": a numbered first message.
            let d = r.find(|c: char| !c.is_ascii_digit())?;
            (d > 0).then(|| r[d..].strip_prefix(')')).flatten()
        }) {
            s = rest.trim_start();
        } else {
            break;
        }
    }
    (
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase(),
        replied,
    )
}

/// What a mail that threads into a ticket does to it, by the ticket's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejoin {
    /// Joins; the status stays.
    Join,
    /// Joins and sets the ticket open again (it was resolved, pending or recently closed).
    Reopen,
    /// The ticket was closed longer than the reopen window ago: a new ticket, linked to it.
    NewLinked,
}

/// How a customer's reply treats a ticket in `status` last changed at `updated_at`.
pub fn rejoin(status: &str, updated_at: i64, now: i64, reopen_window_ms: i64) -> Rejoin {
    match status {
        "resolved" | "pending" => Rejoin::Reopen,
        "closed" if now.saturating_sub(updated_at) > reopen_window_ms => Rejoin::NewLinked,
        "closed" => Rejoin::Reopen,
        _ => Rejoin::Join,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn linkable_ids() {
        for (id, ok) in [
            ("<a@b>", true),
            ("<1234.5678@mail.example.com>", true),
            ("<yes>", false),
            ("<>", false),
            ("<@b>", false),
            ("<a@>", false),
            ("<a b@c>", false),
            ("<a@b@c>", false),
        ] {
            assert_eq!(is_linkable_id(id), ok, "{id}");
        }
    }

    #[test]
    fn candidates_in_order_without_duplicates() {
        let irt = ids(&["<c@x>"]);
        let refs = ids(&["<a@x>", "<yes>", "<b@x>", "<c@x>"]);
        assert_eq!(candidate_ids(&irt, &refs), vec!["<c@x>", "<b@x>", "<a@x>"]);
    }

    #[test]
    fn subject_tags() {
        for (subject, want) in [
            ("[Support #42] Printer on fire", Some(42)),
            ("Re: [support #7] hello", Some(7)),
            ("RE: AW: [Support # 12 ] x", Some(12)),
            ("[Support #] nothing", None),
            ("[Sales #42] other desk", None),
            ("[Support #4x2]", None),
            ("[Support #99999999999999999999]", None),
            ("[Support #0] zero", None),
            ("[x] [Support #5]", Some(5)),
            ("[RT #8] migrated from RT", Some(8)),
            ("no tag at all", None),
        ] {
            assert_eq!(
                parse_subject_tag(subject, &["Support", "RT"]),
                want,
                "{subject}"
            );
        }
    }

    fn existing(ticket_id: i64, matched_by: MatchedBy) -> ThreadDecision {
        ThreadDecision::Existing {
            ticket_id,
            matched_by,
        }
    }

    #[test]
    fn every_layer_in_order() {
        let tag = |sender_known| {
            Some(Tagged {
                ticket_id: 9,
                sender_known,
            })
        };
        let mut l = Lookups {
            known: HashMap::from([("<b@x>".to_string(), 2), ("<a@x>".to_string(), 1)]),
            ours: HashMap::from([("<ticket-5.abc@y>", 5)]),
            tagged: tag(true),
            plus_address: Some(7),
            thread_index: Some(8),
            subject: Some(6),
        };
        use MatchedBy::*;
        use StrangerTag::*;
        // (candidates, expected): references beat everything, in candidate order, ours too.
        let table: Vec<(Vec<&str>, ThreadDecision)> = vec![
            (vec!["<b@x>", "<a@x>"], existing(2, References)),
            (vec!["<a@x>", "<b@x>"], existing(1, References)),
            (vec!["<z@x>", "<ticket-5.abc@y>"], existing(5, References)),
            (vec!["<z@x>"], existing(9, SubjectTag)),
        ];
        for (cands, want) in table {
            assert_eq!(decide(&cands, &l, NewTicket), want, "{cands:?}");
        }
        // A stranger's tag does not join by default; the next layer decides.
        l.tagged = tag(false);
        assert_eq!(decide(&[], &l, NewTicket), existing(7, PlusAddress));
        assert_eq!(decide(&[], &l, Join), existing(9, SubjectTag));
        l.plus_address = None;
        assert_eq!(decide(&[], &l, NewTicket), existing(8, ThreadIndex));
        l.thread_index = None;
        assert_eq!(decide(&[], &l, NewTicket), existing(6, Subject));
        l.subject = None;
        match decide(&[], &l, NewTicket) {
            ThreadDecision::New { reason: Some(r) } => assert!(r.contains("#9"), "{r}"),
            other => panic!("{other:?}"),
        }
        l.tagged = None;
        assert_eq!(
            decide(&[], &l, NewTicket),
            ThreadDecision::New { reason: None }
        );
    }

    #[test]
    fn subject_keys() {
        for (subject, key, replied) in [
            ("Working Group Proposal", "working group proposal", false),
            ("Re: Working Group Proposal", "working group proposal", true),
            ("RE: [p5ml] Re: karie  help", "karie help", true),
            ("[p5ml] Re: karie help", "karie help", true),
            ("R: AW: Sv: Fwd: x", "x", true),
            ("Re(2): Foo", "foo", true),
            ("Re[3]: Foo", "foo", true),
            ("(1) Foo", "foo", false),
            ("Reply needed", "reply needed", false),
            ("Re: [Support #4] Printer", "printer", true),
        ] {
            assert_eq!(
                subject_key(subject),
                (key.to_string(), replied),
                "{subject}"
            );
        }
    }

    #[test]
    fn rejoin_by_status() {
        let day = 86_400_000;
        for (status, age, want) in [
            ("new", 0, Rejoin::Join),
            ("open", 90 * day, Rejoin::Join),
            ("pending", day, Rejoin::Reopen),
            ("resolved", 90 * day, Rejoin::Reopen),
            ("closed", day, Rejoin::Reopen),
            ("closed", 31 * day, Rejoin::NewLinked),
        ] {
            assert_eq!(rejoin(status, 0, age, 30 * day), want, "{status} {age}");
        }
    }
}
