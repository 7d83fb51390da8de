//! Approval chains without I/O: a step's quorum and its outcome, and what an approver's answer
//! says (`#approve [comment]`, `#reject REASON`, or the bare word in English, German, French or
//! Spanish on the first line).

/// How many of a step's approvers must approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quorum {
    Any,
    All,
    Count(usize),
}

impl Quorum {
    /// As the JSON contract writes it: `any`, `all` or the number.
    pub fn as_text(self) -> String {
        match self {
            Quorum::Any => "any".into(),
            Quorum::All => "all".into(),
            Quorum::Count(n) => n.to_string(),
        }
    }

    pub fn parse(s: &str) -> Option<Quorum> {
        match s {
            "any" => Some(Quorum::Any),
            "all" => Some(Quorum::All),
            n => n.parse().ok().filter(|n| *n >= 1).map(Quorum::Count),
        }
    }

    /// The approvals needed among `approvers`.
    pub fn needed(self, approvers: usize) -> usize {
        match self {
            Quorum::Any => 1,
            Quorum::All => approvers,
            Quorum::Count(n) => n.min(approvers),
        }
        .max(1)
    }
}

/// An approver's answer as the pipeline found it: their decision row (the HMAC of the address
/// it came to checked for its sender) and where its chain stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApproverMail {
    pub decision: i64,
    pub ticket: i64,
    pub approver: String,
    /// The step the decision belongs to, and its state (`pending`, ...).
    pub step: i32,
    pub decided: String,
    /// The chain's state and current step.
    pub chain_state: String,
    pub chain_step: i32,
}

impl ApproverMail {
    /// Whether a decision can still be recorded on it.
    pub fn open(&self) -> bool {
        self.decided == "pending" && self.chain_state == "pending" && self.step == self.chain_step
    }
}

/// Whether `address` has the form of an approver's reply address (`local+a123.mac@domain`),
/// whoever's it is.
pub fn looks_like_approver_address(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or_default();
    local.split(['+', '-']).skip(1).any(|d| {
        d.strip_prefix('a').is_some_and(|r| {
            r.split_once('.').is_some_and(|(n, mac)| {
                !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) && mac.len() == 12
            })
        })
    })
}

/// Where a step, or a chain, stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Approved,
    Rejected,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Approved => "approved",
            State::Rejected => "rejected",
        }
    }
}

/// A step's outcome from its approvers' decisions (`None`: not answered yet): one rejection
/// rejects it; enough approvals approve it.
pub fn step_state(quorum: Quorum, decisions: &[Option<bool>]) -> State {
    if decisions.contains(&Some(false)) {
        return State::Rejected;
    }
    let approved = decisions.iter().filter(|d| **d == Some(true)).count();
    if approved >= quorum.needed(decisions.len()) {
        State::Approved
    } else {
        State::Pending
    }
}

const YES: &[&str] = &[
    "approve",
    "approved",
    "genehmigt",
    "genehmigen",
    "approuvé",
    "approuve",
    "approuver",
    "aprobado",
    "aprobar",
    "apruebo",
];
const NO: &[&str] = &[
    "reject",
    "rejected",
    "abgelehnt",
    "ablehnen",
    "rejeté",
    "rejete",
    "refusé",
    "refuse",
    "rechazado",
    "rechazar",
    "rechazo",
];

/// What an approver's answer says: (approve, comment or reason); `None`: neither (they are told
/// how to answer). A rejection needs a reason only when written as `#reject`.
pub fn parse_answer(text: &str) -> Option<Result<(bool, String), String>> {
    let mut lines = text.lines().map(str::trim).skip_while(|l| l.is_empty());
    let first = lines.next()?;
    let (word, rest) = match first.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (first, ""),
    };
    let lower = word.to_lowercase();
    let bare = lower.trim_end_matches(|c: char| !c.is_alphanumeric());
    let rest = rest.trim_start_matches([':', '-', ',']).trim();
    match (lower.as_str(), bare) {
        ("#approve", _) => Some(Ok((true, rest.to_string()))),
        ("#reject", _) if rest.is_empty() => {
            Some(Err("#reject needs a reason: #reject REASON".into()))
        }
        ("#reject", _) => Some(Ok((false, rest.to_string()))),
        (_, w) if YES.contains(&w) => Some(Ok((true, rest.to_string()))),
        (_, w) if NO.contains(&w) => Some(Ok((false, rest.to_string()))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorums_and_one_rejection() {
        assert_eq!(
            step_state(Quorum::Any, &[None, Some(true)]),
            State::Approved
        );
        assert_eq!(step_state(Quorum::Any, &[None, None]), State::Pending);
        assert_eq!(step_state(Quorum::All, &[Some(true), None]), State::Pending);
        assert_eq!(
            step_state(Quorum::All, &[Some(true), Some(true)]),
            State::Approved
        );
        assert_eq!(
            step_state(Quorum::Count(2), &[Some(true), None, Some(true)]),
            State::Approved
        );
        assert_eq!(
            step_state(Quorum::Count(2), &[Some(true), None, None]),
            State::Pending
        );
        assert_eq!(
            step_state(Quorum::Any, &[Some(true), Some(false)]),
            State::Rejected
        );
        assert_eq!(Quorum::Count(5).needed(2), 2);
        assert_eq!(Quorum::parse("2"), Some(Quorum::Count(2)));
        assert_eq!(Quorum::parse("0"), None);
    }

    #[test]
    fn answers_in_four_languages_and_the_commands() {
        assert_eq!(
            parse_answer("#approve go ahead"),
            Some(Ok((true, "go ahead".into())))
        );
        assert_eq!(
            parse_answer("\n#reject too risky before Christmas"),
            Some(Ok((false, "too risky before Christmas".into())))
        );
        assert!(matches!(parse_answer("#reject"), Some(Err(_))));
        for yes in ["Approved.", "genehmigt", "Approuvé !", "aprobado"] {
            assert!(matches!(parse_answer(yes), Some(Ok((true, _)))), "{yes}");
        }
        for no in [
            "Rejected - no rollback plan",
            "abgelehnt",
            "Refusé",
            "rechazado",
        ] {
            assert!(matches!(parse_answer(no), Some(Ok((false, _)))), "{no}");
        }
        assert_eq!(
            parse_answer("Rejected - no rollback plan"),
            Some(Ok((false, "no rollback plan".into())))
        );
        assert_eq!(parse_answer("Looks fine to me"), None);
        assert_eq!(parse_answer(""), None);
    }
}
