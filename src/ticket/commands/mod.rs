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
    /// `#reply NAME`: the knowledge article NAME goes to the customer, below the agent's text.
    Reply(String),
    /// `#kb save NAME`: the agent's text is saved as the article NAME (replacing one of that
    /// name); nothing goes to the customer.
    KbSave(String),
    /// `#search WORDS`: the best tickets and articles, in a mail to the agent.
    Search(String),
    /// `#set NAME VALUE`: a field of the ticket (`None`: removed).
    Set {
        name: String,
        value: Option<String>,
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
        name: "reply",
        aliases: &[],
        parse: reply,
    },
    Spec {
        name: "kb",
        aliases: &[],
        parse: kb,
    },
    Spec {
        name: "search",
        aliases: &[],
        parse: |a| match crate::search::Query::parse(&a.join(" ")).is_empty() {
            true => Err("#search needs words to look for (letters or digits)".into()),
            false => Ok(Command::Search(a.join(" "))),
        },
    },
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
    Spec {
        name: "set",
        aliases: &[],
        parse: |a| super::fields::parse(a).map(|(name, value)| Command::Set { name, value }),
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

fn article_name(command: &str, v: &str) -> Result<String, String> {
    let name = v.to_lowercase();
    if crate::knowledge::is_article_name(&name) {
        Ok(name)
    } else {
        Err(format!(
            "'{v}' is not an article name (letters, digits, - _ .): write {command} vpn-reset"
        ))
    }
}

fn reply(args: &[&str]) -> Result<Command, String> {
    let v = one("reply", args, "an article name")?;
    article_name("#reply", v).map(Command::Reply)
}

fn kb(args: &[&str]) -> Result<Command, String> {
    match args {
        [verb, name] if verb.eq_ignore_ascii_case("save") => {
            article_name("#kb save", name).map(Command::KbSave)
        }
        _ => Err("#kb save NAME saves the text below it as the article NAME".into()),
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
    /// The knowledge articles there are (files and saved ones), when the mail names one.
    pub articles: &'a std::collections::BTreeSet<String>,
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
            Command::Type(t) => between::retype(ctx, ticket, *t),
            Command::Problem(None) => {
                if ticket.is_problem() {
                    return Err("the ticket is a problem already".into());
                }
                between::retype(ctx, ticket, TicketType::Problem)
            }
            Command::Problem(Some(subject)) => between::new_problem(ticket, subject)?,
            Command::Link(n) => between::link(ctx, ticket, *n)?,
            Command::Unlink(n) => between::unlink(ticket, *n)?,
            Command::Merge(n) => between::merge(ctx, ticket, *n)?,
            Command::Broadcast { confirm } => between::broadcast(ctx, ticket, *confirm)?,
            Command::Task { queue, subject } => between::task(ctx, ticket, queue, subject)?,
            Command::Reply(name) => {
                if !ctx.articles.contains(name) {
                    let names = ctx.articles.iter().map(String::as_str);
                    return Err(crate::knowledge::missing(name, names));
                }
                Effect {
                    actions: Vec::new(),
                    done: format!("answered with the article {name}"),
                }
            }
            Command::Search(words) => Effect {
                actions: vec![Action::SearchReply {
                    words: words.clone(),
                }],
                done: format!("searched for {words}"),
            },
            Command::KbSave(name) => {
                let (title, body) = match crate::knowledge::parse(ctx.body) {
                    Ok((title, body, _)) => (Some(title), body),
                    Err(_) => (None, ctx.body.trim().to_string()),
                };
                if body.is_empty() {
                    return Err(format!(
                        "#kb save {name} needs the article's text below the command"
                    ));
                }
                // Tried now as `#reply` will render it: an unknown value is refused here.
                let trial = crate::knowledge::Article {
                    name: name.clone(),
                    title: String::new(),
                    body: body.clone(),
                    source: "saved",
                    origin: format!("#kb save {name}"),
                    updated_at: None,
                    first_line: 1,
                };
                crate::knowledge::render(&trial, &crate::templates::sample("article"))
                    .map_err(|e| format!("the text's line {}: {}", e.line, e.message))?;
                Effect {
                    actions: vec![Action::SaveArticle {
                        name: name.clone(),
                        title,
                        body,
                    }],
                    done: format!("saved the article {name}"),
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
            Command::Set { name, value } => {
                if let Some(v) = value {
                    super::fields::allowed(&ctx.cfg.changes, name, v)?;
                }
                match value {
                    Some(v) => ticket.fields.insert(name.clone(), v.clone()),
                    None => ticket.fields.remove(name),
                };
                Effect {
                    actions: vec![Action::SetField {
                        name: name.clone(),
                        value: value.clone(),
                    }],
                    done: match value {
                        Some(v) => format!("{name} {v}"),
                        None => format!("{name} removed"),
                    },
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

pub use between::audience;

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

mod between;
#[cfg(test)]
mod tests;
