//! Threading: which ticket an incoming mail belongs to. Pure decisions over data the pipeline
//! has already looked up; no I/O here.
//!
//! Layers, first match wins: a Message-ID named by In-Reply-To or References that we know
//! (received or sent), then the subject tag `[Tag #id]`, else a new ticket.

use std::collections::HashMap;

/// How a mail was matched to an existing ticket (`inbound --json` field `matched_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    References,
    SubjectTag,
}

impl MatchedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedBy::References => "references",
            MatchedBy::SubjectTag => "subject_tag",
        }
    }
}

/// The outcome of threading one mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadDecision {
    /// The mail belongs to this ticket.
    Existing {
        ticket_id: i64,
        matched_by: MatchedBy,
    },
    /// Nothing links the mail to a ticket.
    New,
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
/// around `#`) and returns the number. The first well-formed tag wins.
pub fn parse_subject_tag(subject: &str, tag: &str) -> Option<i64> {
    let lower = subject.to_lowercase();
    let tag = tag.to_lowercase();
    let mut from = 0;
    while let Some(pos) = lower[from..].find('[') {
        let start = from + pos + 1;
        from = start;
        let rest = &lower[start..];
        let Some(rest) = rest.strip_prefix(tag.as_str()) else {
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
            return digits.parse().ok();
        }
    }
    None
}

/// Decides the ticket for a mail. `known` maps Message-IDs found in the store to their ticket;
/// `tagged_ticket` is the subject tag's ticket when that ticket exists.
pub fn decide(
    candidates: &[&str],
    known: &HashMap<String, i64>,
    tagged_ticket: Option<i64>,
) -> ThreadDecision {
    for id in candidates {
        if let Some(&ticket_id) = known.get(*id) {
            return ThreadDecision::Existing {
                ticket_id,
                matched_by: MatchedBy::References,
            };
        }
    }
    match tagged_ticket {
        Some(ticket_id) => ThreadDecision::Existing {
            ticket_id,
            matched_by: MatchedBy::SubjectTag,
        },
        None => ThreadDecision::New,
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
            ("[x] [Support #5]", Some(5)),
            ("no tag at all", None),
        ] {
            assert_eq!(parse_subject_tag(subject, "Support"), want, "{subject}");
        }
    }

    #[test]
    fn decisions() {
        let mut known = HashMap::new();
        known.insert("<b@x>".to_string(), 2);
        known.insert("<a@x>".to_string(), 1);
        let refs_win = decide(&["<b@x>", "<a@x>"], &known, Some(9));
        assert_eq!(
            refs_win,
            ThreadDecision::Existing {
                ticket_id: 2,
                matched_by: MatchedBy::References
            }
        );
        let tag = decide(&["<z@x>"], &known, Some(9));
        assert_eq!(
            tag,
            ThreadDecision::Existing {
                ticket_id: 9,
                matched_by: MatchedBy::SubjectTag
            }
        );
        assert_eq!(decide(&[], &known, None), ThreadDecision::New);
    }
}
