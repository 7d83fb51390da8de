//! Commands in an agent's mail: `#word args` lines at the top of the text, before anything
//! else. [`TABLE`] names each command with its parser; [`Command::effect`] turns a parsed
//! command into actions against the ticket as the mail found it. Pure: the config is read,
//! never the database. A new command is one entry in [`TABLE`], its variant, its arm in
//! `effect` and, if it needs one, a new [`Action`].

use super::action::{Action, Change};
use super::model::{parse_tags, Priority, Status, TicketState};
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

/// What a command's effect is read against: the desk, the agent who wrote, the time.
pub struct Ctx<'a> {
    pub cfg: &'a Config,
    pub agent: &'a AgentConfig,
    pub now: i64,
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
                ticket.status = s.as_str().into();
                let mut e = one(Change::Status(*s), format!("status {s}"));
                if matches!(s, Status::Resolved | Status::Closed) {
                    e.actions.push(Action::Set(Change::ResolvedAt(ctx.now)));
                }
                e
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
            Command::Status(_) | Command::Priority(_) | Command::Queue(_)
        )
    }
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
                    !got.errors[0].1.contains("unknown command"),
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
        let ctx = Ctx {
            cfg: &cfg,
            agent,
            now: 0,
        };
        let mut t = TicketState {
            id: 7,
            status: "open".into(),
            priority: "normal".into(),
            queue: "general".into(),
            assignee: None,
            tags: "[]".into(),
            sla_policy: None,
            first_response_at: None,
            updated_at: 0,
            time_spent_ms: 0,
            requester: "carol@customer.example".into(),
        };
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
}
