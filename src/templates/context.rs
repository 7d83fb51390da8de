//! What each template sees: one type per template context. The code that sends a mail builds
//! its context as this type, and `check` (and `serve` at start, and the snapshot tests) render
//! every template with [`sample`], built from the same types: a template that names a value
//! its real context lacks fails there, never in production.

use serde::Serialize;

/// The line above which an agent writes their answer.
pub const MARKER: &str = "## Reply above this line ##";

/// The support address a mail comes from.
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub name: String,
    pub address: String,
}

/// A customer or other person by name and address.
#[derive(Debug, Clone, Serialize)]
pub struct Person {
    pub address: String,
    pub name: Option<String>,
    /// The name when known, else the address: for greetings.
    pub display: String,
}

impl Person {
    pub fn new(address: &str, name: Option<&str>) -> Person {
        Person {
            address: address.to_string(),
            name: name.map(str::to_string),
            display: name.unwrap_or(address).to_string(),
        }
    }
}

/// An agent, with the timezone their times are shown in.
#[derive(Debug, Clone, Serialize)]
pub struct Agent {
    pub name: String,
    pub address: String,
    pub timezone: String,
}

/// A ticket as mail shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Ticket {
    pub id: i64,
    /// `[Support #42]`.
    #[serde(rename = "ref")]
    pub reference: String,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub queue: String,
    /// The assignee's address (`notify_agent`), or "nobody" where a receipt says so.
    pub assignee: Option<String>,
    /// The next SLA due time (RFC 3339) and the same in milliseconds for `{{datetime}}`.
    pub sla_due: Option<String>,
    pub sla_due_ms: Option<i64>,
    /// incident, request, problem or change, when set.
    #[serde(rename = "type")]
    pub ticket_type: Option<String>,
}

/// Another ticket named in a mail (an incident's problem, a problem's oldest incident).
#[derive(Debug, Clone, Serialize)]
pub struct TicketLine {
    #[serde(rename = "ref")]
    pub reference: String,
    pub subject: String,
    pub status: String,
}

/// A problem's incidents, as its notifications to agents list them.
#[derive(Debug, Clone, Serialize)]
pub struct Incidents {
    pub count: usize,
    /// Still open (not resolved or closed).
    pub open: usize,
    pub oldest: Option<TicketLine>,
    /// The requesters' organisations (their mail domains), most incidents first.
    pub organisations: Vec<String>,
}

/// `ack` (and a rule's own answer template): the acknowledgement of a new ticket.
#[derive(Debug, Clone, Serialize)]
pub struct Ack {
    pub identity: Identity,
    pub ticket: Ticket,
    pub customer: Person,
    /// Knowledge articles that may answer the mail (`[knowledge] suggest`), nearest first.
    pub suggestions: Vec<Suggested>,
}

/// An article offered in the acknowledgement, rendered for the customer.
#[derive(Debug, Clone, Serialize)]
pub struct Suggested {
    pub name: String,
    pub title: String,
    pub text: String,
    /// The one-click "this solved my problem" page (with `[web]`).
    pub solved_url: Option<String>,
}

/// `notify_agent`: a new ticket or a customer's reply, to an agent.
#[derive(Debug, Clone, Serialize)]
pub struct NotifyAgent {
    pub marker: &'static str,
    pub is_new: bool,
    pub identity: Identity,
    pub ticket: Ticket,
    pub customer: Person,
    pub agent: Agent,
    /// The customer's text, quotes stripped.
    pub text: String,
    /// An incident's problem(s).
    pub problems: Vec<TicketLine>,
    /// A problem's incidents.
    pub incidents: Option<Incidents>,
}

/// `problem_update`: a problem's news to the requester of one linked incident, in their own
/// ticket.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemUpdate {
    pub identity: Identity,
    /// The requester's own ticket.
    pub ticket: Ticket,
    pub problem: TicketLine,
    pub customer: Person,
    pub agent: Agent,
    /// The agent's text; none when only the resolution is told.
    pub text: Option<String>,
    /// Their ticket was resolved with the problem.
    pub resolved: bool,
    /// The problem is known and worked on (an incident linked to a major problem).
    pub known: bool,
}

/// `agent_notice`: something the desk did or needs, told to an agent (a broadcast waiting for
/// confirmation, a task opened, the last child task done).
#[derive(Debug, Clone, Serialize)]
pub struct AgentNotice {
    pub marker: &'static str,
    pub ticket: Ticket,
    pub title: String,
    pub lines: Vec<String>,
}

/// `agent_reply`: an agent's answer, to the customer.
#[derive(Debug, Clone, Serialize)]
pub struct AgentReply {
    pub text: String,
    pub agent: Agent,
    pub identity: Identity,
    pub ticket: Ticket,
}

/// What a knowledge article (`#reply NAME`) sees: the customer it goes to, their ticket, the
/// agent who sends it and the support address.
#[derive(Debug, Clone, Serialize)]
pub struct Article {
    pub customer: Person,
    pub ticket: Ticket,
    pub agent: Agent,
    pub identity: Identity,
}

/// `status_changed`: the customer told that a command resolved or closed their ticket.
#[derive(Debug, Clone, Serialize)]
pub struct StatusChanged {
    pub agent: Agent,
    pub identity: Identity,
    pub ticket: Ticket,
}

/// `delivery_failed`: a mail about the ticket did not arrive, to its agents.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryFailed {
    pub marker: &'static str,
    pub ticket: Ticket,
    /// The recipients the mail was for.
    pub to: String,
    pub error: String,
}

/// `csat_survey`: the customer asked, after a resolution, how it went.
#[derive(Debug, Clone, Serialize)]
pub struct CsatSurvey {
    pub identity: Identity,
    pub ticket: Ticket,
    pub customer: Person,
    /// One-click links for the scores 5 down to 1 (empty without `[web]`).
    pub links: Vec<ScoreLink>,
}

/// A one-click link to answer a survey with `score`.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreLink {
    pub score: u8,
    pub label: &'static str,
    pub url: String,
}

/// `csat_low`: a low satisfaction score, to the assignee and the queue's managers.
#[derive(Debug, Clone, Serialize)]
pub struct CsatLow {
    pub marker: &'static str,
    pub ticket: Ticket,
    pub customer: Person,
    pub score: u8,
    pub label: &'static str,
    /// The customer's comment ("" when none).
    pub comment: String,
}

/// `approval_request`: an approver asked to decide a step of a ticket's chain.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalRequest {
    pub identity: Identity,
    pub ticket: Ticket,
    pub requester: String,
    pub chain: String,
    pub step: i32,
    pub steps: usize,
    /// `any`, `all` or how many of the step's approvers must approve.
    pub quorum: String,
    pub fields: Vec<Field>,
    /// The decisions of the earlier steps.
    pub earlier: Vec<EarlierDecision>,
    /// One-click pages (with `[web]`).
    pub approve_url: Option<String>,
    pub reject_url: Option<String>,
}

/// A ticket field (`#set`).
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub name: String,
    pub value: String,
}

/// A decision already taken in a chain.
#[derive(Debug, Clone, Serialize)]
pub struct EarlierDecision {
    pub step: i32,
    pub approver: String,
    pub decision: String,
    pub comment: String,
}

/// `approval_outcome`: the requester and the assignee told how a chain ended.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalOutcome {
    pub identity: Identity,
    pub ticket: Ticket,
    pub chain: String,
    pub approved: bool,
    /// Who decided last, and their comment or reason.
    pub decided_by: String,
    pub comment: String,
}

/// `request_update`: a service request's customer told of its stage (fields missing, awaiting
/// approval, being fulfilled, done).
#[derive(Debug, Clone, Serialize)]
pub struct RequestUpdate {
    pub identity: Identity,
    pub ticket: Ticket,
    pub title: String,
    pub lines: Vec<String>,
}

/// What a score says, in words.
pub fn score_label(score: u8) -> &'static str {
    match score {
        1 => "Very dissatisfied",
        2 => "Dissatisfied",
        3 => "Neutral",
        4 => "Satisfied",
        _ => "Very satisfied",
    }
}

/// One command line not obeyed, and why.
#[derive(Debug, Clone, Serialize)]
pub struct LineError {
    pub line: String,
    pub reason: String,
}

/// `command_error`: what was not done of an agent's mail.
#[derive(Debug, Clone, Serialize)]
pub struct CommandError {
    pub marker: &'static str,
    pub ticket: Ticket,
    pub errors: Vec<LineError>,
    /// What was done.
    pub done: Vec<String>,
    /// Whether the answer went to the customer.
    pub sent: bool,
}

/// `note`: an internal note, to the ticket's other agents.
#[derive(Debug, Clone, Serialize)]
pub struct Note {
    pub marker: &'static str,
    pub ticket: Ticket,
    pub author: Agent,
    pub text: String,
}

/// `command_receipt`: what a mail of commands alone did, to its agent.
#[derive(Debug, Clone, Serialize)]
pub struct CommandReceipt {
    pub marker: &'static str,
    pub ticket: Ticket,
    pub done: Vec<String>,
}

/// The timezone times are shown in.
#[derive(Debug, Clone, Serialize)]
pub struct Recipient {
    pub timezone: String,
}

/// `sla_warning` and `sla_breach`: one ticket's clock, to whoever is notified.
#[derive(Debug, Clone, Serialize)]
pub struct SlaNotice {
    pub marker: &'static str,
    pub ticket: Ticket,
    /// "first response", "next response" or "resolution".
    pub target: String,
    pub due: String,
    pub due_ms: i64,
    pub left: String,
    pub late: String,
    pub requester: String,
    /// The assignee's address, or "nobody".
    pub assignee: String,
    pub policy: String,
    pub recipient: Recipient,
}

/// `sla_summary`: many notices of one kind to one agent, in one mail.
#[derive(Debug, Clone, Serialize)]
pub struct SlaSummary {
    pub breach: bool,
    pub count: usize,
    pub tickets_count: usize,
    pub tickets: Vec<SlaNotice>,
    pub recipient: Recipient,
    pub identity: Identity,
}

/// A sample context of template `name`, built from the types above (the digest's from its
/// own figures' shape), for rendering every template before any mail needs it.
pub fn sample(name: &str) -> serde_json::Value {
    match name {
        "notify_agent" => to_json(&NotifyAgent {
            marker: MARKER,
            is_new: true,
            identity: identity(),
            ticket: Ticket {
                sla_due: Some("2026-11-30T13:00:00Z".into()),
                sla_due_ms: Some(1_796_043_600_000),
                ..ticket()
            },
            customer: customer(),
            agent: agent(),
            text: "Our printer is on fire.\nPlease help.".into(),
            problems: vec![TicketLine {
                reference: "[Support #40]".into(),
                subject: "Printers <on> the second floor fail".into(),
                status: "open".into(),
            }],
            incidents: Some(Incidents {
                count: 3,
                open: 2,
                oldest: Some(TicketLine {
                    reference: "[Support #31]".into(),
                    subject: "Cannot print".into(),
                    status: "open".into(),
                }),
                organisations: vec!["example.com".into(), "customer.example".into()],
            }),
        }),
        "problem_update" => to_json(&ProblemUpdate {
            identity: identity(),
            ticket: Ticket {
                ticket_type: Some("incident".into()),
                ..ticket()
            },
            problem: TicketLine {
                reference: "[Support #40]".into(),
                subject: "Printers <on> the second floor fail".into(),
                status: "resolved".into(),
            },
            customer: customer(),
            agent: agent(),
            text: Some("The print server was restarted & works again.".into()),
            resolved: true,
            known: false,
        }),
        "agent_notice" => to_json(&AgentNotice {
            marker: MARKER,
            ticket: Ticket {
                ticket_type: Some("problem".into()),
                ..ticket()
            },
            title: "Broadcast waiting for your confirmation".into(),
            lines: vec![
                "This update would go to 25 requesters (more than [problems] confirm_above = 20)."
                    .into(),
                "To send it, reply to this mail with the line: #broadcast confirm".into(),
            ],
        }),
        "agent_reply" => to_json(&AgentReply {
            text: "We are on our way.\n\nAlice".into(),
            agent: agent(),
            identity: identity(),
            ticket: ticket(),
        }),
        "article" => to_json(&Article {
            customer: customer(),
            ticket: ticket(),
            agent: agent(),
            identity: identity(),
        }),
        "delivery_failed" => to_json(&DeliveryFailed {
            marker: MARKER,
            ticket: ticket(),
            to: "carol@example.com".into(),
            error: "550 5.1.1 <carol@example.com>: Recipient address rejected".into(),
        }),
        "command_error" => to_json(&CommandError {
            marker: MARKER,
            ticket: ticket(),
            errors: vec![LineError {
                line: "#priority hihg".into(),
                reason: "expected low, normal, high or urgent".into(),
            }],
            done: vec!["status pending".into()],
            sent: true,
        }),
        "note" => to_json(&Note {
            marker: MARKER,
            ticket: ticket(),
            author: agent(),
            text: "Carol called: it is the second floor printer.".into(),
        }),
        "command_receipt" => to_json(&CommandReceipt {
            marker: MARKER,
            ticket: Ticket {
                status: "pending".into(),
                priority: "high".into(),
                assignee: Some("alice@example.test".into()),
                ..ticket()
            },
            done: vec!["status pending".into(), "priority high".into()],
        }),
        "status_changed" => to_json(&StatusChanged {
            agent: agent(),
            identity: identity(),
            ticket: Ticket {
                status: "resolved".into(),
                ..ticket()
            },
        }),
        "sla_warning" | "sla_breach" => to_json(&notice(
            "[Support #42]",
            "Printer <on> fire",
            1_796_043_600_000,
            "Europe/Berlin",
        )),
        "sla_summary" => to_json(&SlaSummary {
            breach: false,
            count: 2,
            tickets_count: 2,
            tickets: vec![
                notice(
                    "[Support #42]",
                    "Printer <on> fire",
                    1_796_043_600_000,
                    "UTC",
                ),
                notice("[Support #43]", "Scanner & fax", 1_796_047_200_000, "UTC"),
            ],
            recipient: Recipient {
                timezone: "Europe/Berlin".into(),
            },
            identity: identity(),
        }),
        "digest" => digest_sample(),
        "csat_survey" => to_json(&CsatSurvey {
            identity: identity(),
            ticket: Ticket {
                status: "resolved".into(),
                ..ticket()
            },
            customer: customer(),
            links: (1..=5)
                .rev()
                .map(|score| ScoreLink {
                    score,
                    label: score_label(score),
                    url: format!(
                        "https://desk.example.test/csat/1.1796043600.c2lnbmF0dXJl?score={score}"
                    ),
                })
                .collect(),
        }),
        "approval_request" => to_json(&ApprovalRequest {
            identity: identity(),
            ticket: Ticket {
                ticket_type: Some("change".into()),
                ..ticket()
            },
            requester: "alice@example.test".into(),
            chain: "cab".into(),
            step: 2,
            steps: 2,
            quorum: "all".into(),
            fields: vec![
                Field {
                    name: "risk".into(),
                    value: "high".into(),
                },
                Field {
                    name: "window".into(),
                    value: "2026-12-05T22:00:00+01:00/2026-12-05T23:00:00+01:00".into(),
                },
            ],
            earlier: vec![EarlierDecision {
                step: 1,
                approver: "boss@example.test".into(),
                decision: "approved".into(),
                comment: "Fine <if> the rollback is tested.".into(),
            }],
            approve_url: Some("https://desk.example.test/approve/7.1796043600.c2lnbmF0dXJl".into()),
            reject_url: Some("https://desk.example.test/reject/7.1796043600.c2lnbmF0dXJl".into()),
        }),
        "request_update" => to_json(&RequestUpdate {
            identity: identity(),
            ticket: Ticket {
                ticket_type: Some("request".into()),
                ..ticket()
            },
            title: "A few details are missing".into(),
            lines: vec![
                "To go on with your request for New laptop, we need:".into(),
                "Cost center: ...".into(),
                "Not taken (this request has no such field): Colour <dark>.".into(),
            ],
        }),
        "approval_outcome" => to_json(&ApprovalOutcome {
            identity: identity(),
            ticket: Ticket {
                ticket_type: Some("change".into()),
                ..ticket()
            },
            chain: "cab".into(),
            approved: false,
            decided_by: "ciso@example.test".into(),
            comment: "No rollback plan & no window.".into(),
        }),
        "csat_low" => to_json(&CsatLow {
            marker: MARKER,
            ticket: Ticket {
                status: "resolved".into(),
                assignee: Some("alice@example.test".into()),
                ..ticket()
            },
            customer: customer(),
            score: 1,
            label: score_label(1),
            comment: "Nobody called back & the printer <still> jams.".into(),
        }),
        // ack, and a template of the directory's own that a rule answers with
        _ => to_json(&Ack {
            identity: identity(),
            ticket: ticket(),
            customer: customer(),
            suggestions: vec![Suggested {
                name: "printer-jam".into(),
                title: "Clearing a paper jam <in> the office printers".into(),
                text: "Open the front door & pull out the paper slowly.".into(),
                solved_url: Some(
                    "https://desk.example.test/solved/42.1796043600.c2lnbmF0dXJl?article=printer-jam"
                        .into(),
                ),
            }],
        }),
    }
}

/// A context as JSON (plain fields only: serialising cannot fail).
fn to_json(v: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

fn identity() -> Identity {
    Identity {
        name: "Example Support".into(),
        address: "support@example.test".into(),
    }
}

fn customer() -> Person {
    Person::new("carol@example.com", Some("Carol Customer"))
}

fn agent() -> Agent {
    Agent {
        name: "Alice Agent".into(),
        address: "alice@example.test".into(),
        timezone: "Europe/Berlin".into(),
    }
}

fn ticket() -> Ticket {
    Ticket {
        id: 42,
        reference: "[Support #42]".into(),
        subject: "Printer <on> fire".into(),
        status: "new".into(),
        priority: "normal".into(),
        queue: "general".into(),
        assignee: None,
        sla_due: None,
        sla_due_ms: None,
        ticket_type: None,
    }
}

fn notice(reference: &str, subject: &str, due_ms: i64, tz: &str) -> SlaNotice {
    SlaNotice {
        marker: MARKER,
        ticket: Ticket {
            reference: reference.into(),
            subject: subject.into(),
            priority: "high".into(),
            status: "open".into(),
            ..ticket()
        },
        target: "first response".into(),
        due: "2026-11-30T13:00:00Z".into(),
        due_ms,
        left: "1 h 30 min".into(),
        late: "2 h".into(),
        requester: "carol@example.com".into(),
        assignee: "alice@example.test".into(),
        policy: "standard".into(),
        recipient: Recipient {
            timezone: tz.into(),
        },
    }
}

/// The digest's figures are gathered as JSON by `schedule::digest`; this sample has their shape.
fn digest_sample() -> serde_json::Value {
    use serde_json::json;
    let t = |extra: (&str, &str)| {
        json!({"ref": "[Support #42]", "subject": "Printer <on> fire",
        "requester": "carol@example.com", "assignee": "alice@example.test", "status": "open", "type": "incident", extra.0: extra.1})
    };
    json!({
        "identity": identity(),
        "digest": {"name": "daily", "queues": "all queues", "from": "2026-11-29 08:00 CET",
                   "to": "2026-11-30 08:00 CET", "period": "1 d", "due_within": "4 h"},
        "open": {"total": 3, "by_status": [{"status": "new", "count": 1}, {"status": "open", "count": 2}],
                 "by_queue": [{"queue": "general", "count": 3}]},
        "period": {"new": 4, "resolved": 2, "self_solved": 1},
        "csat": {"sent": 3, "answered": 2, "average": "4.5"},
        "changes": {"scheduled": [{"ref": "[Support #44]", "subject": "Firewall <upgrade>",
                                   "window": "2026-12-05T22:00:00+01:00/2026-12-05T23:00:00+01:00",
                                   "opens": "2026-12-05 22:00 CET"}],
                    "awaiting": [{"ref": "[Support #45]", "subject": "New VPN gateway", "chain": "cab",
                                  "step": 1, "age": "2 d"}]},
        "charts": [{"cid": "opened@postdesk", "title": "Tickets opened and resolved per day",
                    "text": "29.11 3/1, 30.11 4/2", "labels": ["29.11", "30.11"],
                    "series": [{"colour": "blue", "css": "#3366cc", "name": "opened", "values": [3, 4]},
                               {"colour": "green", "css": "#2e9e5b", "name": "resolved", "values": [1, 2]}],
                    "max": null, "suffix": ""}],
        "sla": {"first_response": {"measured": 4, "met": 3, "percent": "75.0 %"},
                "resolution": {"measured": 2, "met": 2, "percent": "100.0 %"}},
        "counts": {"breached": 1, "at_risk": 1},
        "breached": [t(("late", "2 h"))], "at_risk": [t(("left", "1 h"))], "oldest": [t(("age", "3 d 2 h"))],
        "agents": [{"agent": "alice@example.test", "open": 2, "pending": 0, "breached": 1}],
        "times": {"first_response": {"count": 4, "median": "1 h", "p90": "3 h 20 min"},
                  "resolution": {"count": 2, "median": "5 h", "p90": "1 d 2 h"}},
        "problems": [{"ref": "[Support #40]", "subject": "Printers <on> the second floor fail", "status": "open",
                      "assignee": "alice@example.test", "incidents": 12, "open_incidents": 9, "age": "2 d 3 h"}],
        "itsm": {"open_problems": 1, "incidents_linked": 7, "merges": 2},
        "recurring": [{"name": "backup-check", "subject": "Weekly backup restore test", "queue": "general",
                       "at": "2026-11-30 09:00 CET"}],
    })
}
