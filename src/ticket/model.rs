//! The ticket vocabulary shared by the store, the pipeline and the JSON contract.

use std::fmt;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text stored in the database and printed in JSON.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the stored text; `None` for anything else.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// Where a ticket stands.
    Status { New = "new", Open = "open", Pending = "pending", Resolved = "resolved", Closed = "closed" }
);

string_enum!(
    /// How urgent a ticket is.
    Priority { Low = "low", Normal = "normal", High = "high", Urgent = "urgent" }
);

string_enum!(
    /// What kind of work a ticket is (set by rules).
    TicketType { Incident = "incident", Request = "request", Problem = "problem", Change = "change" }
);

string_enum!(
    /// Which way a message went.
    Direction { In = "in", Out = "out" }
);

string_enum!(
    /// Who wrote a message, as the JSON contract names it.
    MessageKind { Customer = "customer", Agent = "agent", Note = "note", Auto = "auto", Notification = "notification" }
);

string_enum!(
    /// What became of one received mail (`inbound --json` field `outcome`).
    Outcome {
        NewTicket = "new_ticket",
        Reply = "reply",
        AgentReply = "agent_reply",
        Note = "note",
        Command = "command",
        Search = "search",
        Csat = "csat",
        Approval = "approval",
        Duplicate = "duplicate",
        AutoReply = "auto_reply",
        Bounce = "bounce",
        Loop = "loop",
        Spam = "spam",
        TooLarge = "too_large",
        Failed = "failed",
    }
);

string_enum!(
    /// Delivery state of an outbox row.
    OutboxStatus { Pending = "pending", Sent = "sent", Failed = "failed" }
);

/// What a decision needs of a stored ticket (the pipeline loads it; decisions read it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketState {
    pub id: i64,
    pub status: String,
    pub priority: String,
    pub queue: String,
    pub assignee: Option<String>,
    /// As stored: a JSON array of strings (read with [`parse_tags`]).
    pub tags: String,
    pub sla_policy: Option<String>,
    pub first_response_at: Option<i64>,
    pub updated_at: i64,
    pub time_spent_ms: i64,
    /// The address the ticket was opened for.
    pub requester: String,
    /// incident, request, problem, change (as stored; `None` when never set).
    pub ticket_type: Option<String>,
    /// How it relates to other tickets.
    pub links: Vec<Link>,
    /// Its newest satisfaction survey that went out (loaded only for a mail that may answer
    /// one).
    pub survey: Option<super::csat::Survey>,
    /// Articles were offered in its acknowledgement (loaded only for a mail that says it is
    /// solved).
    pub suggested: bool,
    /// Its `#set` fields (loaded for agents' mails).
    pub fields: std::collections::BTreeMap<String, String>,
    /// Its approval chain's state, if one was started (loaded for agents' mails).
    pub approval: Option<String>,
}

impl TicketState {
    /// Whether the ticket is a problem.
    pub fn is_problem(&self) -> bool {
        self.ticket_type.as_deref() == Some(TicketType::Problem.as_str())
    }

    /// Whether it is finished (resolved or closed).
    pub fn is_done(&self) -> bool {
        is_done(&self.status)
    }

    /// The tickets linked to it as `kind`.
    pub fn linked(&self, kind: LinkKind) -> impl Iterator<Item = &Link> {
        self.links.iter().filter(move |l| l.kind == kind.as_str())
    }
}

/// Whether a status is a finished one (resolved or closed).
pub fn is_done(status: &str) -> bool {
    matches!(
        Status::parse(status),
        Some(Status::Resolved | Status::Closed)
    )
}

string_enum!(
    /// What the other ticket of a link is to this one (DESIGN.md §6.2 `links`).
    LinkKind {
        Problem = "problem",
        Incident = "incident",
        MergedInto = "merged_into",
        MergedFrom = "merged_from",
        Parent = "parent",
        Child = "child",
        Related = "related",
    }
);

/// A linked ticket as a decision reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// What `ticket` is to the ticket holding the link ([`LinkKind`] as text).
    pub kind: String,
    pub ticket: i64,
    pub status: String,
    pub requester: String,
}

/// A ticket's stored tags. Unreadable tags are an error, never an empty list: a change
/// written back from an empty list would lose them.
pub fn parse_tags(json: &str) -> Result<Vec<String>, String> {
    serde_json::from_str(json).map_err(|e| format!("not a JSON list of tags: {e}"))
}

/// The reference a ticket carries in subjects, RT style: `[Support #42]`.
pub fn ticket_ref(subject_tag: &str, id: i64) -> String {
    format!("[{subject_tag} #{id}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_read_or_say_why() {
        assert_eq!(parse_tags(r#"["a","b"]"#), Ok(vec!["a".into(), "b".into()]));
        assert_eq!(parse_tags("[]"), Ok(vec![]));
        for bad in ["", "[\"a\"", "{}", "[1]", "null"] {
            assert!(parse_tags(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_value_round_trips() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(*o));
        }
        assert_eq!(Priority::parse("URGENT"), None);
        assert_eq!(ticket_ref("Support", 42), "[Support #42]");
    }
}
