//! Commands in an agent's mail: `#word args` lines at the top of the text, before anything
//! else. [`TABLE`] names each command with its parser; [`Command::effect`] turns a parsed
//! command into actions against the ticket as the mail found it. Pure: the config is read,
//! never the database. A new command is one entry in [`TABLE`], its variant, its arm in
//! `effect` and, if it needs one, a new [`Action`].

use std::collections::HashMap;

use super::action::{Action, Change, NewTicket};
use super::model::{parse_tags, LinkKind, Priority, Status, TicketState, TicketType};
use crate::config::{AgentConfig, Config};

/// One command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Status(Status),
    Assign(Assignee),
    Priority(Priority),
    Queue(String),
    Tags {
        add: Vec<String>,
        remove: Vec<String>,
    },
    /// `#time 30m`: time spent on the ticket, in milliseconds.
    Time(i64),
    /// `#cc +ADDR -ADDR`: who receives the answers besides the requester (lower case).
    Cc {
        add: Vec<String>,
        remove: Vec<String>,
    },
    /// `#type incident|request|problem|change`.
    Type(TicketType),
    /// `#problem`: this ticket is a problem; `#problem SUBJECT`: a new problem, linked to this
    /// incident.
    Problem(Option<String>),
    /// `#link N`: this ticket and N are linked (an incident to its problem, either way round).
    Link(i64),
    /// `#unlink N`.
    Unlink(i64),
    /// `#merge N`: this ticket is merged into N.
    Merge(i64),
    /// `#broadcast`: the text goes to every linked incident's requester; `#broadcast confirm`
    /// sends the one kept for confirmation.
    Broadcast {
        confirm: bool,
    },
    /// `#task QUEUE SUBJECT`: a child ticket in QUEUE.
    Task {
        queue: String,
        subject: String,
    },
}

/// Whom `#assign` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    Me,
    Nobody,
    /// An agent's name, address or the local part of their address, as written.
    Named(String),
}

/// What the top of an agent's mail says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentMail {
    pub commands: Vec<Command>,
    /// Each command's line as written, for messages about it.
    pub lines: Vec<String>,
    /// `#note`: the text is an internal note, never sent to the customer.
    pub note: bool,
    /// Command lines that could not be understood: the line and why.
    pub errors: Vec<(String, String)>,
    /// The text after the command lines.
    pub body: String,
}

/// One command's name, other spellings, and parser (of the words after the name).
pub struct Spec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub parse: fn(&[&str]) -> Result<Command, String>,
}

/// Every command an agent can write (`#note` aside: it ends the commands, see [`parse`]).
pub const TABLE: &[Spec] = &[
    Spec {
        name: "status",
        aliases: &[],
        parse: status,
    },
    Spec {
        name: "assign",
        aliases: &[],
        parse: assign,
    },
    Spec {
        name: "priority",
        aliases: &[],
        parse: priority,
    },
    Spec {
        name: "queue",
        aliases: &[],
        parse: queue,
    },
    Spec {
        name: "tag",
        aliases: &["tags"],
        parse: tags,
    },
    Spec {
        name: "time",
        aliases: &[],
        parse: time,
    },
    Spec {
        name: "cc",
        aliases: &[],
        parse: cc,
    },
    Spec {
        name: "type",
        aliases: &[],
        parse: ticket_type,
    },
    Spec {
        name: "problem",
        aliases: &[],
        parse: problem,
    },
    Spec {
        name: "link",
        aliases: &[],
        parse: |a| ticket_number("link", a).map(Command::Link),
    },
    Spec {
        name: "unlink",
        aliases: &[],
        parse: |a| ticket_number("unlink", a).map(Command::Unlink),
    },
    Spec {
        name: "merge",
        aliases: &[],
        parse: |a| ticket_number("merge", a).map(Command::Merge),
    },
    Spec {
        name: "broadcast",
        aliases: &[],
        parse: broadcast,
    },
    Spec {
        name: "task",
        aliases: &[],
        parse: task,
    },
];

fn one<'a>(name: &str, args: &[&'a str], expected: &str) -> Result<&'a str, String> {
    match args {
        [a] => Ok(a),
        [] => Err(format!("#{name} needs {expected}")),
        _ => Err(format!("#{name} takes one value: {expected}")),
    }
}

fn status(args: &[&str]) -> Result<Command, String> {
    let v = one("status", args, "open, pending, resolved or closed")?;
    match Status::parse(&v.to_lowercase()) {
        Some(s) if s != Status::New => Ok(Command::Status(s)),
        _ => Err(format!(
            "'{v}' is not a status: use open, pending, resolved or closed"
        )),
    }
}

fn priority(args: &[&str]) -> Result<Command, String> {
    let v = one("priority", args, "low, normal, high or urgent")?;
    Priority::parse(&v.to_lowercase())
        .map(Command::Priority)
        .ok_or_else(|| format!("'{v}' is not a priority: use low, normal, high or urgent"))
}

fn assign(args: &[&str]) -> Result<Command, String> {
    if args.is_empty() {
        return Err("#assign needs a name, me or nobody".into());
    }
    let v = args.join(" ");
    Ok(Command::Assign(match v.to_lowercase().as_str() {
        "me" => Assignee::Me,
        "nobody" | "none" => Assignee::Nobody,
        _ => Assignee::Named(v),
    }))
}

fn queue(args: &[&str]) -> Result<Command, String> {
    one("queue", args, "a queue name").map(|q| Command::Queue(q.to_string()))
}

fn tags(args: &[&str]) -> Result<Command, String> {
    if args.is_empty() {
        return Err("#tag needs +name or -name".into());
    }
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for a in args {
        let (list, t) = match a.strip_prefix('-') {
            Some(t) => (&mut remove, t),
            None => (&mut add, a.strip_prefix('+').unwrap_or(a)),
        };
        let t = t.to_lowercase();
        if t.is_empty() || !t.chars().all(|c| c.is_alphanumeric() || "-_.:".contains(c)) {
            return Err(format!("'{a}' is not a tag (letters, digits, - _ . :)"));
        }
        list.push(t);
    }
    Ok(Command::Tags { add, remove })
}

/// The most one `#time` line may add (a typo such as `#time 300h` is refused).
const MAX_TIME_MS: i64 = 24 * 3_600_000;

fn time(args: &[&str]) -> Result<Command, String> {
    let expected = "a duration such as 30m, 1h or 1h15m";
    let v = match args {
        [] => return Err(format!("#time needs {expected}")),
        words => words.concat(),
    };
    let ms = crate::config::parse_duration(&v)
        .map(crate::time::millis)
        .map_err(|e| format!("{e}: #time takes {expected}"))?;
    match ms {
        0 => Err("#time 0 adds nothing".into()),
        ms if ms > MAX_TIME_MS => Err(format!(
            "'{v}' is more than a day: add time spent in pieces of at most 24h"
        )),
        ms => Ok(Command::Time(ms)),
    }
}

fn cc(args: &[&str]) -> Result<Command, String> {
    if args.is_empty() {
        return Err("#cc needs +address or -address".into());
    }
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for a in args {
        let (list, addr) = match a.strip_prefix('-') {
            Some(rest) => (&mut remove, rest),
            None => (&mut add, a.strip_prefix('+').unwrap_or(a)),
        };
        let addr = addr.trim_start_matches('<').trim_end_matches([',', '>']);
        if !plain_address(addr) {
            return Err(format!(
                "'{a}' is not a mail address (write +name@example.org)"
            ));
        }
        list.push(addr.to_lowercase());
    }
    Ok(Command::Cc { add, remove })
}

fn ticket_type(args: &[&str]) -> Result<Command, String> {
    let v = one("type", args, "incident, request, problem or change")?;
    TicketType::parse(&v.to_lowercase())
        .map(Command::Type)
        .ok_or_else(|| format!("'{v}' is not a type: use incident, request, problem or change"))
}

fn problem(args: &[&str]) -> Result<Command, String> {
    Ok(Command::Problem((!args.is_empty()).then(|| args.join(" "))))
}

/// A ticket number as an agent writes it: `42`, `#42`, or the reference `[Support #42]`'s
/// last word.
fn ticket_number(name: &str, args: &[&str]) -> Result<i64, String> {
    let reference =
        args.len() > 1 && args[0].starts_with('[') && args[args.len() - 1].ends_with(']');
    let v = match args {
        [.., last] if reference => last,
        _ => one(name, args, "a ticket number")?,
    };
    let digits = v.trim_start_matches('#').trim_end_matches([']', ',', '.']);
    match digits.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{v}' is not a ticket number (write #{name} 42)")),
    }
}

fn broadcast(args: &[&str]) -> Result<Command, String> {
    match args {
        [] => Ok(Command::Broadcast { confirm: false }),
        [w] if w.eq_ignore_ascii_case("confirm") => Ok(Command::Broadcast { confirm: true }),
        _ => Err("#broadcast takes nothing, or 'confirm' to send the one waiting".into()),
    }
}

fn task(args: &[&str]) -> Result<Command, String> {
    match args {
        [] | [_] => Err("#task needs a queue and a subject: #task QUEUE what is to be done".into()),
        [queue, subject @ ..] => Ok(Command::Task {
            queue: queue.to_string(),
            subject: subject.join(" "),
        }),
    }
}

/// `local@domain` with nothing that could reach a header as more than one address.
fn plain_address(a: &str) -> bool {
    match a.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && a.len() <= 254
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !a
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "<>,;:\"()[]\\".contains(c))
        }
        None => false,
    }
}

fn command(name: &str, rest: &str) -> Result<Command, String> {
    let args: Vec<&str> = rest.split_whitespace().collect();
    match TABLE
        .iter()
        .find(|s| s.name == name || s.aliases.contains(&name))
    {
        Some(spec) => (spec.parse)(&args),
        None => Err(format!(
            "unknown command #{name} (known: {}, #note)",
            TABLE
                .iter()
                .map(|s| format!("#{}", s.name))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// What a command's effect is read against: the desk, the agent who wrote, the time, the
/// other tickets the mail's commands name, the text of the mail.
pub struct Ctx<'a> {
    pub cfg: &'a Config,
    pub agent: &'a AgentConfig,
    pub now: i64,
    /// The stored tickets the pipeline loaded (those the commands name among them).
    pub others: &'a HashMap<i64, TicketState>,
    /// The agent's text below the commands (quotes stripped).
    pub body: &'a str,
    /// A broadcast of this problem waits for `#broadcast confirm`.
    pub pending_broadcast: bool,
}

impl Ctx<'_> {
    /// Another stored ticket by number, or why not.
    fn other(&self, ticket: &TicketState, n: i64) -> Result<&TicketState, String> {
        if n == ticket.id {
            return Err(format!("#{n} is this ticket itself"));
        }
        self.others
            .get(&n)
            .ok_or_else(|| format!("there is no ticket #{n}"))
    }
}

/// What one obeyed command does: its actions and the line that reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    pub actions: Vec<Action>,
    pub done: String,
}

impl Command {
    /// The command's actions against `ticket` as the earlier commands of the same mail left it
    /// (`ticket` is updated to match), or why it is not obeyed (then nothing of it happens).
    pub fn effect(&self, ctx: &Ctx<'_>, ticket: &mut TicketState) -> Result<Effect, String> {
        let one = |change: Change, done: String| Effect {
            actions: vec![Action::Set(change)],
            done,
        };
        Ok(match self {
            Command::Status(s) => {
                let finishing = matches!(s, Status::Resolved | Status::Closed);
                let open_children: Vec<String> = ticket
                    .linked(LinkKind::Child)
                    .filter(|c| !super::model::is_done(&c.status))
                    .map(|c| match c.ticket {
                        0 => "(the one this mail opens)".to_string(),
                        n => format!("#{n}"),
                    })
                    .collect();
                if finishing && !open_children.is_empty() {
                    return Err(format!(
                        "its child tasks {} are still open: resolve them first",
                        open_children.join(", ")
                    ));
                }
                let was_done = ticket.is_done();
                ticket.status = s.as_str().into();
                let mut e = one(Change::Status(*s), format!("status {s}"));
                if finishing {
                    e.actions.push(Action::Set(Change::ResolvedAt(ctx.now)));
                    if !was_done {
                        e.actions.extend(
                            ticket
                                .linked(LinkKind::Parent)
                                .map(|p| Action::ChildDone { parent: p.ticket }),
                        );
                        let open_incidents = ticket
                            .linked(LinkKind::Incident)
                            .any(|i| !super::model::is_done(&i.status));
                        if ticket.is_problem() && ctx.cfg.problems.resolve_linked && open_incidents
                        {
                            e.actions.push(Action::Broadcast {
                                text: None,
                                resolve: true,
                                hold: audience(ctx, ticket)
                                    > ctx.cfg.problems.confirm_above as usize,
                                confirm: false,
                            });
                            e.done.push_str(" (with its open incidents)");
                        }
                    }
                }
                e
            }
            Command::Type(t) => retype(ctx, ticket, *t),
            Command::Problem(None) => {
                if ticket.is_problem() {
                    return Err("the ticket is a problem already".into());
                }
                retype(ctx, ticket, TicketType::Problem)
            }
            Command::Problem(Some(subject)) => {
                let plan = NewTicket {
                    subject: subject.clone(),
                    subject_key: super::thread::subject_key(subject).0,
                    queue: ticket.queue.clone(),
                    priority: Priority::parse(&ticket.priority).unwrap_or(Priority::Normal),
                    assign: None,
                    tags: Vec::new(),
                    sla_policy: None,
                    ticket_type: Some(TicketType::Problem),
                    linked_to: None,
                    thread_index: None,
                    people: Vec::new(),
                    rules: Vec::new(),
                };
                let mut actions = Vec::new();
                if ticket.ticket_type.is_none() {
                    ticket.ticket_type = Some(TicketType::Incident.as_str().into());
                    actions.push(Action::Set(Change::Type(TicketType::Incident)));
                }
                actions.push(Action::OpenLinked {
                    plan: Box::new(plan),
                    kind: LinkKind::Problem,
                    back: LinkKind::Incident,
                });
                Effect {
                    actions,
                    done: format!("new problem '{subject}', linked to this ticket"),
                }
            }
            Command::Link(n) => {
                let other = ctx.other(ticket, *n)?;
                if ticket.links.iter().any(|l| l.ticket == *n) {
                    return Err(format!("the ticket is linked to #{n} already"));
                }
                let (kind, back) = match (ticket.is_problem(), other.is_problem()) {
                    (false, true) => (LinkKind::Problem, LinkKind::Incident),
                    (true, false) => (LinkKind::Incident, LinkKind::Problem),
                    _ => (LinkKind::Related, LinkKind::Related),
                };
                let mut actions = vec![Action::Link {
                    other: *n,
                    kind,
                    back,
                }];
                if kind == LinkKind::Problem && ticket.ticket_type.is_none() {
                    ticket.ticket_type = Some(TicketType::Incident.as_str().into());
                    actions.push(Action::Set(Change::Type(TicketType::Incident)));
                }
                // A major problem: the incident's requester learns at once that it is known.
                let urgent = |t: &TicketState| t.priority == Priority::Urgent.as_str();
                match kind {
                    LinkKind::Problem if urgent(other) => actions.push(Action::SendCurrentUpdate {
                        problem: *n,
                        incident: ticket.id,
                    }),
                    LinkKind::Incident if urgent(ticket) => {
                        actions.push(Action::SendCurrentUpdate {
                            problem: ticket.id,
                            incident: *n,
                        })
                    }
                    _ => {}
                }
                ticket.links.push(super::model::Link {
                    kind: kind.as_str().into(),
                    ticket: *n,
                    status: other.status.clone(),
                    requester: other.requester.clone(),
                });
                Effect {
                    actions,
                    done: format!("linked to #{n} ({kind})"),
                }
            }
            Command::Unlink(n) => {
                let linkable = [LinkKind::Problem, LinkKind::Incident, LinkKind::Related];
                let before = ticket.links.len();
                ticket
                    .links
                    .retain(|l| l.ticket != *n || !linkable.iter().any(|k| k.as_str() == l.kind));
                if ticket.links.len() == before {
                    return Err(format!(
                        "the ticket is not linked to #{n} (merges and tasks stay linked)"
                    ));
                }
                Effect {
                    actions: vec![Action::Unlink { other: *n }],
                    done: format!("unlinked from #{n}"),
                }
            }
            Command::Merge(n) => {
                let other = ctx.other(ticket, *n)?;
                if other.is_done() {
                    return Err(format!(
                        "#{n} is {}: merge into a ticket that is still open",
                        other.status
                    ));
                }
                if other
                    .links
                    .iter()
                    .any(|l| l.ticket == ticket.id && l.kind == LinkKind::MergedInto.as_str())
                {
                    return Err(format!(
                        "#{n} was merged into this ticket: that would be a cycle"
                    ));
                }
                if ticket
                    .linked(LinkKind::Child)
                    .any(|c| !super::model::is_done(&c.status))
                {
                    return Err("the ticket has open child tasks: a merge would orphan them".into());
                }
                ticket.status = Status::Closed.as_str().into();
                Effect {
                    actions: vec![
                        Action::Merge { into: *n },
                        Action::Set(Change::Status(Status::Closed)),
                        Action::Set(Change::ResolvedAt(ctx.now)),
                    ],
                    done: format!("merged into #{n}"),
                }
            }
            Command::Broadcast { confirm } => {
                if !ticket.is_problem() {
                    return Err(format!(
                        "#broadcast is for problems; this ticket is {} (make it one with #problem)",
                        ticket
                            .ticket_type
                            .as_deref()
                            .map_or("of no type".to_string(), |t| format!("an {t}")
                                .replace("an request", "a request")
                                .replace("an change", "a change"))
                    ));
                }
                let n = audience(ctx, ticket);
                if n == 0 {
                    return Err("no incident with a requester is linked to this problem".into());
                }
                if *confirm {
                    if !ctx.pending_broadcast {
                        return Err("no broadcast of this problem waits for confirmation".into());
                    }
                    return Ok(Effect {
                        actions: vec![Action::Broadcast {
                            text: None,
                            resolve: false,
                            hold: false,
                            confirm: true,
                        }],
                        done: "broadcast confirmed".into(),
                    });
                }
                if ctx.body.is_empty() {
                    return Err("#broadcast needs the text of the update below the command".into());
                }
                let hold = n > ctx.cfg.problems.confirm_above as usize;
                Effect {
                    actions: vec![Action::Broadcast {
                        text: Some(ctx.body.to_string()),
                        resolve: false,
                        hold,
                        confirm: false,
                    }],
                    done: if hold {
                        format!("broadcast to {n} requesters kept until you confirm")
                    } else {
                        format!("broadcast to {n} requesters")
                    },
                }
            }
            Command::Task { queue, subject } => {
                if !ctx.cfg.queues.iter().any(|x| &x.name == queue) {
                    return Err(format!("there is no queue '{queue}'"));
                }
                let plan = NewTicket {
                    subject: subject.clone(),
                    subject_key: super::thread::subject_key(subject).0,
                    queue: queue.clone(),
                    priority: Priority::parse(&ticket.priority).unwrap_or(Priority::Normal),
                    assign: None,
                    tags: Vec::new(),
                    sla_policy: ctx
                        .cfg
                        .queues
                        .iter()
                        .find(|q| &q.name == queue)
                        .and_then(|q| q.sla.clone()),
                    ticket_type: None,
                    linked_to: None,
                    thread_index: None,
                    people: Vec::new(),
                    rules: Vec::new(),
                };
                ticket.links.push(super::model::Link {
                    kind: LinkKind::Child.as_str().into(),
                    ticket: 0,
                    status: Status::New.as_str().into(),
                    requester: String::new(),
                });
                Effect {
                    actions: vec![Action::OpenLinked {
                        plan: Box::new(plan),
                        kind: LinkKind::Child,
                        back: LinkKind::Parent,
                    }],
                    done: format!("task in {queue}: {subject}"),
                }
            }
            Command::Priority(p) => {
                ticket.priority = p.as_str().into();
                one(Change::Priority(*p), format!("priority {p}"))
            }
            Command::Queue(q) => {
                if !ctx.cfg.queues.iter().any(|x| &x.name == q) {
                    return Err(format!("there is no queue '{q}'"));
                }
                ticket.queue = q.clone();
                one(Change::Queue(q.clone()), format!("queue {q}"))
            }
            Command::Assign(a) => {
                let to = match a {
                    Assignee::Me => Some(ctx.agent.address.clone()),
                    Assignee::Nobody => None,
                    Assignee::Named(n) => match ctx.cfg.find_agent(n) {
                        Some(to) => Some(to.address.clone()),
                        None => {
                            return Err(format!(
                                "no agent is called '{n}' (use a name, an address, me or nobody)"
                            ))
                        }
                    },
                };
                ticket.assignee = to.clone();
                let done = match &to {
                    Some(a) => format!("assigned to {a}"),
                    None => "unassigned".into(),
                };
                one(Change::Assignee(to), done)
            }
            Command::Tags { add, remove } => {
                let mut tags = parse_tags(&ticket.tags).map_err(|e| {
                    format!("the ticket's stored tags do not read ({e}); they are left as they are")
                })?;
                tags.retain(|t| !remove.contains(t));
                for t in add {
                    if !tags.contains(t) {
                        tags.push(t.clone());
                    }
                }
                ticket.tags = serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into());
                let said = add
                    .iter()
                    .map(|t| format!("+{t}"))
                    .chain(remove.iter().map(|t| format!("-{t}")))
                    .collect::<Vec<_>>()
                    .join(" ");
                one(Change::Tags(tags), format!("tags {said}"))
            }
            Command::Cc { add, remove } => {
                let own = ctx.cfg.own_addresses();
                let mut actions = Vec::new();
                for a in add {
                    if own.contains(a) || ctx.cfg.agent(a).is_some() {
                        return Err(format!(
                            "{a} is the desk's own or an agent's address: agents hear of the ticket anyway"
                        ));
                    }
                    actions.push(Action::AddParticipant {
                        address: a.clone(),
                        name: None,
                        role: "cc",
                    });
                }
                for a in remove {
                    if *a == ticket.requester {
                        return Err(format!(
                            "{a} asked for the ticket and always receives its answers"
                        ));
                    }
                    actions.push(Action::RemoveParticipant { address: a.clone() });
                }
                let said = add
                    .iter()
                    .map(|a| format!("+{a}"))
                    .chain(remove.iter().map(|a| format!("-{a}")))
                    .collect::<Vec<_>>()
                    .join(" ");
                Effect {
                    actions,
                    done: format!("cc {said}"),
                }
            }
            Command::Time(ms) => {
                ticket.time_spent_ms = ticket.time_spent_ms.saturating_add(*ms);
                Effect {
                    actions: vec![Action::AddTimeSpent(*ms)],
                    done: format!("time +{}", crate::time::human_duration(*ms)),
                }
            }
        })
    }

    /// Whether the command changes something the SLA clocks depend on.
    pub fn touches_sla(&self) -> bool {
        matches!(
            self,
            Command::Status(_)
                | Command::Priority(_)
                | Command::Queue(_)
                | Command::Merge(_)
                | Command::Type(_)
                | Command::Problem(None)
        )
    }

    /// The other tickets the command names (the pipeline loads them before deciding).
    pub fn names_ticket(&self) -> Option<i64> {
        match self {
            Command::Link(n) | Command::Unlink(n) | Command::Merge(n) => Some(*n),
            _ => None,
        }
    }
}

/// A ticket's new type, and the SLA policy that type takes in its queue when it differs.
fn retype(ctx: &Ctx<'_>, ticket: &mut TicketState, t: TicketType) -> Effect {
    ticket.ticket_type = Some(t.as_str().into());
    let mut e = Effect {
        actions: vec![Action::Set(Change::Type(t))],
        done: format!("type {t}"),
    };
    let policy = ctx.cfg.sla_for(&ticket.queue, Some(t), None);
    if policy != ticket.sla_policy {
        e.done.push_str(&match &policy {
            Some(p) => format!(" (SLA policy {p})"),
            None => " (no SLA policy applies)".into(),
        });
        ticket.sla_policy = policy.clone();
        e.actions.push(Action::Set(Change::SlaPolicy(policy)));
    }
    e
}

/// How many people a problem's broadcast reaches: the distinct requesters of its incidents,
/// agents and the desk's own addresses left out.
pub fn audience(ctx: &Ctx<'_>, problem: &TicketState) -> usize {
    let own = ctx.cfg.own_addresses();
    let mut seen = std::collections::HashSet::new();
    problem
        .linked(LinkKind::Incident)
        .map(|i| i.requester.as_str())
        .filter(|r| !r.is_empty() && !own.iter().any(|o| o == r) && ctx.cfg.agent(r).is_none())
        .filter(|r| seen.insert(*r))
        .count()
}

/// Reads the command lines at the top of `text`. Blank lines between them are allowed; the
/// first other line ends them. `#note` makes the rest (and any text after `#note` on its line)
/// an internal note. A line such as `#1 is fixed` (not a word after `#`) is text, not a command.
pub fn parse(text: &str) -> AgentMail {
    let text = text.replace("\r\n", "\n");
    let mut out = AgentMail::default();
    let mut lines = text.lines().peekable();
    let mut body_start: Vec<String> = Vec::new();
    while let Some(line) = lines.peek() {
        let t = line.trim();
        if t.is_empty() {
            lines.next();
            continue;
        }
        let Some(after) = t.strip_prefix('#') else {
            break;
        };
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        if name.is_empty() {
            break;
        }
        let rest = after[name.len()..].trim();
        let name = name.to_lowercase();
        lines.next();
        if name == "note" {
            out.note = true;
            if !rest.is_empty() {
                body_start.push(rest.to_string());
            }
            break;
        }
        match command(&name, rest) {
            Ok(c) => {
                out.commands.push(c);
                out.lines.push(t.to_string());
            }
            Err(e) => out.errors.push((t.to_string(), e)),
        }
    }
    body_start.extend(lines.map(str::to_string));
    out.body = body_start.join("\n").trim().to_string();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: Vec<(&str, Vec<Command>, bool, usize, &str)> = vec![
            ("Hello, fixed.", vec![], false, 0, "Hello, fixed."),
            (
                "#status resolved\n#priority HIGH\n\nDone, see attached.",
                vec![
                    Command::Status(Status::Resolved),
                    Command::Priority(Priority::High),
                ],
                false,
                0,
                "Done, see attached.",
            ),
            (
                "#assign me\n#assign nobody\n#assign Bob Builder",
                vec![
                    Command::Assign(Assignee::Me),
                    Command::Assign(Assignee::Nobody),
                    Command::Assign(Assignee::Named("Bob Builder".into())),
                ],
                false,
                0,
                "",
            ),
            (
                "#tag +printer -urgent vip\n#queue billing",
                vec![
                    Command::Tags {
                        add: vec!["printer".into(), "vip".into()],
                        remove: vec!["urgent".into()],
                    },
                    Command::Queue("billing".into()),
                ],
                false,
                0,
                "",
            ),
            (
                "#note called the customer\nthey will send logs",
                vec![],
                true,
                0,
                "called the customer\nthey will send logs",
            ),
            (
                "#status open\n#note\ninternal only",
                vec![Command::Status(Status::Open)],
                true,
                0,
                "internal only",
            ),
            (
                "#stauts resolved\n#status new\n#priority\n#tag +a/b\nText",
                vec![],
                false,
                4,
                "Text",
            ),
            ("#1 is fixed now", vec![], false, 0, "#1 is fixed now"),
            (
                "Text first\n#status closed",
                vec![],
                false,
                0,
                "Text first\n#status closed",
            ),
        ];
        for (text, commands, note, errors, body) in cases {
            let got = parse(text);
            assert_eq!(got.commands, commands, "{text}");
            assert_eq!(got.note, note, "{text}");
            assert_eq!(got.errors.len(), errors, "{text}: {:?}", got.errors);
            assert_eq!(got.body, body, "{text}");
        }
    }

    #[test]
    fn time_takes_a_duration_of_at_most_a_day() {
        for (text, want) in [
            ("#time 30m", Ok(Command::Time(1_800_000))),
            ("#time 1h 15m", Ok(Command::Time(4_500_000))),
            ("#time 24h", Ok(Command::Time(86_400_000))),
        ] {
            let got = parse(text);
            assert_eq!(got.commands.first().cloned().ok_or(()), want, "{text}");
        }
        for (text, why) in [
            ("#time", "#time needs a duration"),
            ("#time soon", "not a duration"),
            ("#time 0m", "adds nothing"),
            ("#time 25h", "more than a day"),
        ] {
            let got = parse(text);
            assert!(got.commands.is_empty(), "{text}");
            assert!(got.errors[0].1.contains(why), "{text}: {:?}", got.errors);
        }
    }

    #[test]
    fn every_command_in_the_table_is_known_by_its_names() {
        for spec in TABLE {
            for name in std::iter::once(&spec.name).chain(spec.aliases) {
                let got = parse(&format!("#{name}"));
                assert!(
                    got.errors.iter().all(|e| !e.1.contains("unknown command")),
                    "#{name}: {:?}",
                    got.errors
                );
            }
        }
        let got = parse("#frobnicate");
        assert!(got.errors[0].1.contains("#time"), "{:?}", got.errors);
    }

    #[test]
    fn cc_adds_and_removes_plain_addresses_only() {
        let got =
            parse("#cc +Dave@Customer.example <erin@customer.example>, -old@customer.example");
        assert_eq!(
            got.commands,
            vec![Command::Cc {
                add: vec![
                    "dave@customer.example".into(),
                    "erin@customer.example".into()
                ],
                remove: vec!["old@customer.example".into()],
            }],
            "{:?}",
            got.errors
        );
        for bad in [
            "#cc",
            "#cc +nobody",
            "#cc +a@b",
            "#cc +a@b.example,c@d.example",
            "#cc +\"x\"@b.example",
            "#cc +a@@b.example",
            "#cc +a@b.example.",
        ] {
            let got = parse(bad);
            assert!(
                got.commands.is_empty() && got.errors.len() == 1,
                "{bad}: {got:?}"
            );
        }

        let cfg = crate::config::Config::parse(
            include_str!("../../config/postdesk.toml"),
            std::path::Path::new("postdesk.toml"),
        )
        .expect("the shipped config");
        let agent = &cfg.agents[0];
        let others = HashMap::new();
        let ctx = Ctx {
            cfg: &cfg,
            agent,
            now: 0,
            others: &others,
            body: "",
            pending_broadcast: false,
        };
        let mut t = state(7, "open", None, "carol@customer.example");
        let cc = |add: &[&str], remove: &[&str]| Command::Cc {
            add: add.iter().map(|s| s.to_string()).collect(),
            remove: remove.iter().map(|s| s.to_string()).collect(),
        };
        let e = cc(&["dave@customer.example"], &["old@customer.example"])
            .effect(&ctx, &mut t)
            .unwrap();
        assert_eq!(
            e.actions,
            vec![
                Action::AddParticipant {
                    address: "dave@customer.example".into(),
                    name: None,
                    role: "cc"
                },
                Action::RemoveParticipant {
                    address: "old@customer.example".into()
                }
            ]
        );
        assert_eq!(e.done, "cc +dave@customer.example -old@customer.example");
        let err = cc(&[], &["carol@customer.example"]).effect(&ctx, &mut t);
        assert!(err.unwrap_err().contains("asked for the ticket"));
        let err = cc(&[&agent.address], &[]).effect(&ctx, &mut t);
        assert!(err.unwrap_err().contains("agent"));
        let err = cc(&[&cfg.identity.address], &[]).effect(&ctx, &mut t);
        assert!(err.is_err());
    }

    #[test]
    fn errors_say_why() {
        let got = parse("#stauts resolved");
        assert_eq!(got.errors[0].0, "#stauts resolved");
        assert!(got.errors[0].1.contains("unknown command #stauts"));
        let got = parse("#priority extreme");
        assert!(got.errors[0].1.contains("'extreme' is not a priority"));
    }

    fn state(id: i64, status: &str, ty: Option<&str>, requester: &str) -> TicketState {
        TicketState {
            id,
            status: status.into(),
            priority: "normal".into(),
            queue: "general".into(),
            tags: "[]".into(),
            requester: requester.into(),
            ticket_type: ty.map(str::to_string),
            ..TicketState::default()
        }
    }

    fn link(kind: LinkKind, t: &TicketState) -> super::super::model::Link {
        super::super::model::Link {
            kind: kind.as_str().into(),
            ticket: t.id,
            status: t.status.clone(),
            requester: t.requester.clone(),
        }
    }

    fn shipped() -> Config {
        Config::parse(
            include_str!("../../config/postdesk.toml"),
            std::path::Path::new("postdesk.toml"),
        )
        .expect("the shipped config")
    }

    /// Runs one command line against `t` with `others` stored.
    fn run(
        cfg: &Config,
        line: &str,
        t: &mut TicketState,
        others: &[TicketState],
        body: &str,
    ) -> Result<Effect, String> {
        let others: HashMap<i64, TicketState> = others.iter().map(|o| (o.id, o.clone())).collect();
        let ctx = Ctx {
            cfg,
            agent: &cfg.agents[0],
            now: 5,
            others: &others,
            body,
            pending_broadcast: false,
        };
        let parsed = parse(line);
        assert!(parsed.errors.is_empty(), "{line}: {:?}", parsed.errors);
        parsed.commands[0].effect(&ctx, t)
    }

    #[test]
    fn the_itsm_commands_read_their_arguments() {
        for (line, want) in [
            ("#type Problem", Command::Type(TicketType::Problem)),
            ("#problem", Command::Problem(None)),
            (
                "#problem VPN drops every hour",
                Command::Problem(Some("VPN drops every hour".into())),
            ),
            ("#link 42", Command::Link(42)),
            ("#link #42", Command::Link(42)),
            ("#unlink [Support #42]", Command::Unlink(42)),
            ("#merge 9", Command::Merge(9)),
            ("#broadcast", Command::Broadcast { confirm: false }),
            ("#broadcast CONFIRM", Command::Broadcast { confirm: true }),
            (
                "#task it Set up the laptop",
                Command::Task {
                    queue: "it".into(),
                    subject: "Set up the laptop".into(),
                },
            ),
        ] {
            let got = parse(line);
            assert_eq!(got.commands, vec![want], "{line}: {:?}", got.errors);
        }
        for (line, why) in [
            ("#type bug", "not a type"),
            ("#link", "needs a ticket number"),
            ("#link 0", "not a ticket number"),
            ("#link abc", "not a ticket number"),
            ("#merge 1 2", "takes one value"),
            ("#broadcast now", "takes nothing"),
            ("#task it", "needs a queue and a subject"),
        ] {
            let got = parse(line);
            assert!(got.commands.is_empty(), "{line}");
            assert!(got.errors[0].1.contains(why), "{line}: {:?}", got.errors);
        }
    }

    #[test]
    fn link_says_which_way_and_refuses_what_cannot_be() {
        let cfg = shipped();
        let problem = state(9, "open", Some("problem"), "");
        let mut incident = state(5, "open", None, "carol@customer.example");
        let e = run(
            &cfg,
            "#link 9",
            &mut incident,
            std::slice::from_ref(&problem),
            "",
        )
        .unwrap();
        assert_eq!(
            e.actions,
            vec![
                Action::Link {
                    other: 9,
                    kind: LinkKind::Problem,
                    back: LinkKind::Incident
                },
                Action::Set(Change::Type(TicketType::Incident)),
            ]
        );
        assert_eq!(incident.ticket_type.as_deref(), Some("incident"));
        // the other way round, from the problem
        let mut p = problem.clone();
        let e = run(
            &cfg,
            "#link 5",
            &mut p,
            &[state(5, "open", None, "c@x.example")],
            "",
        )
        .unwrap();
        assert_eq!(
            e.actions[0],
            Action::Link {
                other: 5,
                kind: LinkKind::Incident,
                back: LinkKind::Problem
            }
        );
        // two incidents are only related
        let mut a = state(5, "open", None, "");
        let e = run(&cfg, "#link 6", &mut a, &[state(6, "open", None, "")], "").unwrap();
        assert!(matches!(
            e.actions[0],
            Action::Link {
                kind: LinkKind::Related,
                ..
            }
        ));

        for (line, t, others, why) in [
            (
                "#link 5",
                state(5, "open", None, ""),
                vec![],
                "this ticket itself",
            ),
            (
                "#link 77",
                state(5, "open", None, ""),
                vec![],
                "there is no ticket #77",
            ),
            (
                "#unlink 9",
                state(5, "open", None, ""),
                vec![problem.clone()],
                "not linked to #9",
            ),
            (
                "#merge 5",
                state(5, "open", None, ""),
                vec![],
                "this ticket itself",
            ),
            (
                "#merge 77",
                state(5, "open", None, ""),
                vec![],
                "there is no ticket #77",
            ),
            (
                "#merge 8",
                state(5, "open", None, ""),
                vec![state(8, "closed", None, "")],
                "is closed",
            ),
            (
                "#broadcast",
                state(5, "open", Some("incident"), ""),
                vec![],
                "is for problems",
            ),
            (
                "#task nowhere Do it",
                state(5, "open", None, ""),
                vec![],
                "no queue 'nowhere'",
            ),
        ] {
            let mut t = t;
            let before = t.clone();
            let err = run(&cfg, line, &mut t, &others, "text").unwrap_err();
            assert!(err.contains(why), "{line}: {err}");
            assert_eq!(t, before, "{line}: nothing changes");
        }
        // already linked
        let mut linked = state(5, "open", Some("incident"), "");
        linked.links.push(link(LinkKind::Problem, &problem));
        let err = run(
            &cfg,
            "#link 9",
            &mut linked,
            std::slice::from_ref(&problem),
            "",
        )
        .unwrap_err();
        assert!(err.contains("already"), "{err}");
        let e = run(&cfg, "#unlink 9", &mut linked, &[problem], "").unwrap();
        assert_eq!(e.actions, vec![Action::Unlink { other: 9 }]);
        assert!(linked.links.is_empty());
    }

    #[test]
    fn a_merge_into_a_ticket_merged_into_this_one_is_a_cycle() {
        let cfg = shipped();
        let mut a = state(5, "open", None, "");
        let mut b = state(8, "open", None, "");
        b.links.push(link(LinkKind::MergedInto, &a));
        let err = run(&cfg, "#merge 8", &mut a, &[b], "").unwrap_err();
        assert!(err.contains("cycle"), "{err}");
        let e = run(&cfg, "#merge 6", &mut a, &[state(6, "open", None, "")], "").unwrap();
        assert_eq!(e.actions[0], Action::Merge { into: 6 });
        assert!(e
            .actions
            .contains(&Action::Set(Change::Status(Status::Closed))));
    }

    #[test]
    fn a_parent_is_not_resolved_while_a_child_is_open_and_the_last_child_tells_it() {
        let cfg = shipped();
        let mut parent = state(5, "open", None, "");
        parent
            .links
            .push(link(LinkKind::Child, &state(6, "open", None, "")));
        parent
            .links
            .push(link(LinkKind::Child, &state(7, "resolved", None, "")));
        let err = run(&cfg, "#status resolved", &mut parent, &[], "").unwrap_err();
        assert!(err.contains("#6") && !err.contains("#7"), "{err}");
        assert_eq!(parent.status, "open");
        // pending is allowed
        run(&cfg, "#status pending", &mut parent, &[], "").unwrap();

        let mut child = state(6, "open", None, "");
        child.links.push(link(LinkKind::Parent, &parent));
        let e = run(&cfg, "#status resolved", &mut child, &[], "").unwrap();
        assert!(
            e.actions.contains(&Action::ChildDone { parent: 5 }),
            "{e:?}"
        );
        // a task opened in the same mail is open too
        let mut p = state(5, "open", None, "");
        run(&cfg, "#task general Order cables", &mut p, &[], "").unwrap();
        let err = run(&cfg, "#status closed", &mut p, &[], "").unwrap_err();
        assert!(err.contains("the one this mail opens"), "{err}");
    }

    #[test]
    fn a_broadcast_reaches_each_requester_once_and_asks_first_above_the_threshold() {
        let mut cfg = shipped();
        cfg.problems.confirm_above = 2;
        let mut p = state(9, "open", Some("problem"), "");
        let agent = cfg.agents[0].address.clone();
        for (id, who) in [
            (1, "a@x.example"),
            (2, "a@x.example"),
            (3, "b@x.example"),
            (4, agent.as_str()),
            (5, ""),
        ] {
            p.links.push(link(
                LinkKind::Incident,
                &state(id, "open", Some("incident"), who),
            ));
        }
        let e = run(&cfg, "#broadcast", &mut p, &[], "Fixed.").unwrap();
        assert_eq!(
            e.actions,
            vec![Action::Broadcast {
                text: Some("Fixed.".into()),
                resolve: false,
                hold: false,
                confirm: false
            }]
        );
        assert_eq!(e.done, "broadcast to 2 requesters");
        let err = run(&cfg, "#broadcast", &mut p, &[], "").unwrap_err();
        assert!(err.contains("needs the text"), "{err}");
        let err = run(&cfg, "#broadcast confirm", &mut p, &[], "").unwrap_err();
        assert!(err.contains("no broadcast"), "{err}");

        p.links.push(link(
            LinkKind::Incident,
            &state(6, "open", Some("incident"), "c@x.example"),
        ));
        let e = run(&cfg, "#broadcast", &mut p, &[], "Fixed.").unwrap();
        assert!(
            matches!(e.actions[0], Action::Broadcast { hold: true, .. }),
            "{e:?}"
        );

        // resolving the problem resolves its open incidents, held above the threshold too
        let e = run(&cfg, "#status resolved", &mut p, &[], "").unwrap();
        assert!(
            e.actions.contains(&Action::Broadcast {
                text: None,
                resolve: true,
                hold: true,
                confirm: false
            }),
            "{e:?}"
        );
        cfg.problems.resolve_linked = false;
        let mut q = p.clone();
        q.status = "open".into();
        let e = run(&cfg, "#status resolved", &mut q, &[], "").unwrap();
        assert!(!e
            .actions
            .iter()
            .any(|a| matches!(a, Action::Broadcast { .. })));
    }
}
