//! Threading: which ticket an incoming mail belongs to. Pure decisions over data the pipeline
//! has already looked up; no I/O here.
//!
//! Layers, first match wins: a Message-ID named by In-Reply-To or References that is a mail of
//! the ticket (received or sent) or that carries our HMAC (a self-reference), or an ancestor
//! the ticket's mail referenced but we never received when the sender takes part in that
//! ticket; the mail's own Message-ID, named by a ticket's mail that arrived first; the subject tag `[Tag #id]` (from a participant, unless configured otherwise); a
//! plus address we handed out (`support+42.MAC@`); an Outlook Thread-Index; else a new
//! ticket. A reply to a ticket closed longer than the reopen window opens a new ticket linked
//! to the old one.
//!
//! Joining a ticket does not make the sender one who receives its answers: that is
//! [`takes_part`] (the pipeline decides it; an agent adds others with `#cc`).

use std::collections::{HashMap, HashSet};

/// How a mail was matched to an existing ticket (`inbound --json` field `matched_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    References,
    SubjectTag,
    PlusAddress,
    ThreadIndex,
    Subject,
    /// An agent forwarded a customer's mail: a new ticket for that customer.
    Forwarded,
}

impl MatchedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedBy::References => "references",
            MatchedBy::SubjectTag => "subject_tag",
            MatchedBy::PlusAddress => "plus_address",
            MatchedBy::ThreadIndex => "thread_index",
            MatchedBy::Subject => "subject",
            MatchedBy::Forwarded => "forwarded",
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

/// Everything the pipeline looked up for one mail. Ids in `known`, `ours` and `shared` are
/// checked in candidate order.
#[derive(Debug, Default)]
pub struct Lookups<'a> {
    /// Message-IDs of mail stored on a ticket (received or sent by us).
    pub known: HashMap<String, i64>,
    /// Our own HMAC-carrying ids whose ticket exists.
    pub ours: HashMap<&'a str, i64>,
    /// Ancestors we never received that a ticket's mail referenced: the same conversation
    /// only for someone who takes part in that ticket, since two strangers' mails may both
    /// answer one newsletter or list post.
    pub shared: HashMap<String, i64>,
    /// The ticket whose mail named this mail's own Message-ID before it arrived: its parent
    /// came after its reply (another route, a delay).
    pub answered_by: Option<i64>,
    /// The existing ticket a subject tag names.
    pub tagged: Option<i64>,
    pub plus_address: Option<i64>,
    pub thread_index: Option<i64>,
    /// A ticket with the same subject key, for a reply that lost its threading headers, when
    /// joining it leaks nothing (list mail, or a sender who takes part in the ticket).
    pub subject: Option<i64>,
    /// The tickets among all of the above that the sender takes part in (a participant).
    pub member_of: HashSet<i64>,
}

impl Lookups<'_> {
    /// Every ticket a threading layer found (with repeats).
    pub fn tickets(&self) -> impl Iterator<Item = i64> + '_ {
        self.known
            .values()
            .chain(self.ours.values())
            .chain(self.shared.values())
            .copied()
            .chain(self.answered_by)
            .chain(self.tagged)
            .chain(self.plus_address)
            .chain(self.thread_index)
            .chain(self.subject)
    }
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

/// Who sent the mail, as far as threading cares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sender {
    /// An agent whose mail was verified: agents take part in every ticket.
    pub verified_agent: bool,
    /// The mail came through a mailing list: its conversation is public, so a shared ancestor
    /// is the list's thread (and joining makes nobody a participant).
    pub list: bool,
}

/// Decides the ticket for a mail from what was looked up.
pub fn decide(
    candidates: &[&str],
    l: &Lookups<'_>,
    stranger: StrangerTag,
    sender: Sender,
) -> ThreadDecision {
    let member = |t: i64| sender.verified_agent || l.member_of.contains(&t);
    let mut reasons = Vec::new();
    for id in candidates {
        if let Some(&ticket_id) = l.known.get(*id).or_else(|| l.ours.get(*id)) {
            return ThreadDecision::Existing {
                ticket_id,
                matched_by: MatchedBy::References,
            };
        }
        if let Some(&ticket_id) = l.shared.get(*id) {
            if member(ticket_id) || sender.list {
                return ThreadDecision::Existing {
                    ticket_id,
                    matched_by: MatchedBy::References,
                };
            }
            let why = format!("refers to {id} as ticket #{ticket_id}'s mail did, but the sender takes no part in that ticket");
            if !reasons.contains(&why) {
                reasons.push(why);
            }
        }
    }
    if let Some(ticket_id) = l.answered_by {
        return ThreadDecision::Existing {
            ticket_id,
            matched_by: MatchedBy::References,
        };
    }
    if let Some(t) = l.tagged {
        if member(t) || stranger == StrangerTag::Join {
            return ThreadDecision::Existing {
                ticket_id: t,
                matched_by: MatchedBy::SubjectTag,
            };
        }
        reasons.push(format!(
            "the subject names ticket #{t}, but the sender takes no part in it"
        ));
    }
    let reason = (!reasons.is_empty()).then(|| reasons.join("; "));
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

/// Whether the sender of a mail that joined a ticket becomes one of its participants (who
/// receive the answers): someone who already is, or with `[threading] join_colleagues`, a
/// sender from the requester's own domain. Anyone else's mail is kept on the ticket for the
/// agents, but knowing a Message-ID, a plus address or a Thread-Index must not be enough to
/// receive another customer's answers.
pub fn takes_part(member: bool, sender: &str, requester: &str, join_colleagues: bool) -> bool {
    let domain = |a: &str| a.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
    member || (join_colleagues && domain(sender).is_some() && domain(sender) == domain(requester))
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
        let mut l = Lookups {
            known: HashMap::from([("<b@x>".to_string(), 2), ("<a@x>".to_string(), 1)]),
            ours: HashMap::from([("<ticket-5.abc@y>", 5)]),
            shared: HashMap::from([("<news@list>".to_string(), 3)]),
            answered_by: None,
            tagged: Some(9),
            plus_address: Some(7),
            thread_index: Some(8),
            subject: Some(6),
            member_of: HashSet::from([9, 3]),
        };
        use MatchedBy::*;
        use StrangerTag::*;
        let nobody = Sender::default();
        let agent = Sender {
            verified_agent: true,
            list: false,
        };
        // (candidates, expected): references beat everything, in candidate order, ours too.
        let table: Vec<(Vec<&str>, ThreadDecision)> = vec![
            (vec!["<b@x>", "<a@x>"], existing(2, References)),
            (vec!["<a@x>", "<b@x>"], existing(1, References)),
            (vec!["<z@x>", "<ticket-5.abc@y>"], existing(5, References)),
            (vec!["<news@list>", "<a@x>"], existing(3, References)),
            (vec!["<z@x>"], existing(9, SubjectTag)),
        ];
        for (cands, want) in table {
            assert_eq!(decide(&cands, &l, NewTicket, nobody), want, "{cands:?}");
        }
        // A stranger's tag does not join by default; the next layer decides.
        l.member_of.clear();
        assert_eq!(decide(&[], &l, NewTicket, nobody), existing(7, PlusAddress));
        assert_eq!(decide(&[], &l, Join, nobody), existing(9, SubjectTag));
        assert_eq!(decide(&[], &l, NewTicket, agent), existing(9, SubjectTag));
        l.plus_address = None;
        assert_eq!(decide(&[], &l, NewTicket, nobody), existing(8, ThreadIndex));
        l.thread_index = None;
        assert_eq!(decide(&[], &l, NewTicket, nobody), existing(6, Subject));
        l.subject = None;
        match decide(&[], &l, NewTicket, nobody) {
            ThreadDecision::New { reason: Some(r) } => assert!(r.contains("#9"), "{r}"),
            other => panic!("{other:?}"),
        }
        l.tagged = None;
        assert_eq!(
            decide(&[], &l, NewTicket, nobody),
            ThreadDecision::New { reason: None }
        );
    }

    #[test]
    fn a_shared_ancestor_joins_only_its_own_participants() {
        // Two customers answer the same newsletter: the second is not put on the first's
        // ticket by the newsletter's id, which the first ticket's mail referenced.
        let mut l = Lookups {
            shared: HashMap::from([("<newsletter@shop>".to_string(), 4)]),
            ..Lookups::default()
        };
        let cands = ["<newsletter@shop>"];
        let nobody = Sender::default();
        match decide(&cands, &l, StrangerTag::NewTicket, nobody) {
            ThreadDecision::New { reason: Some(r) } => {
                assert!(r.contains("#4") && r.contains("<newsletter@shop>"), "{r}")
            }
            other => panic!("{other:?}"),
        }
        // Even with stranger tags allowed, a shared ancestor is no link.
        assert!(matches!(
            decide(&cands, &l, StrangerTag::Join, nobody),
            ThreadDecision::New { .. }
        ));
        // On a mailing list the shared ancestor is the list's thread: the mail joins it (and
        // its sender still does not become a participant, see `takes_part`).
        let list = Sender {
            verified_agent: false,
            list: true,
        };
        assert_eq!(
            decide(&cands, &l, StrangerTag::NewTicket, list),
            existing(4, MatchedBy::References)
        );
        // The first customer's own later mail (a reply to the same ancestor) does join.
        l.member_of.insert(4);
        assert_eq!(
            decide(&cands, &l, StrangerTag::NewTicket, nobody),
            existing(4, MatchedBy::References)
        );
    }

    #[test]
    fn a_parent_that_arrives_after_its_reply_joins_the_replys_ticket() {
        let mut l = Lookups {
            answered_by: Some(5),
            tagged: Some(9),
            member_of: HashSet::from([9]),
            ..Lookups::default()
        };
        let nobody = Sender::default();
        // Before the subject tag, after the mail's own references.
        assert_eq!(
            decide(&[], &l, StrangerTag::NewTicket, nobody),
            existing(5, MatchedBy::References)
        );
        l.known.insert("<p@x>".into(), 2);
        assert_eq!(
            decide(&["<p@x>"], &l, StrangerTag::NewTicket, nobody),
            existing(2, MatchedBy::References)
        );
    }

    #[test]
    fn who_takes_part() {
        for (member, sender, requester, colleagues, want) in [
            (true, "x@other.example", "c@shop.example", false, true),
            (false, "x@other.example", "c@shop.example", false, false),
            (false, "x@shop.example", "c@shop.example", false, false),
            (false, "x@shop.example", "c@SHOP.example", true, true),
            (false, "x@other.example", "c@shop.example", true, false),
            (false, "x@shop.example.evil", "c@shop.example", true, false),
            (false, "nodomain", "nodomain", true, false),
        ] {
            assert_eq!(
                takes_part(member, sender, requester, colleagues),
                want,
                "{sender} on {requester}'s ticket"
            );
        }
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
