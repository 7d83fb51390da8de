//! Commands in an agent's mail: `#word args` lines at the top of the text, before anything
//! else. Parsing is pure and knows nothing of the config; names (agents, queues) are resolved
//! by the pipeline.

use super::model::{Priority, Status};

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
    /// `#note`: the text is an internal note, never sent to the customer.
    pub note: bool,
    /// Command lines that could not be understood: the line and why.
    pub errors: Vec<(String, String)>,
    /// The text after the command lines.
    pub body: String,
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

fn one<'a>(name: &str, args: &[&'a str], expected: &str) -> Result<&'a str, String> {
    match args {
        [a] => Ok(a),
        [] => Err(format!("#{name} needs {expected}")),
        _ => Err(format!("#{name} takes one value: {expected}")),
    }
}

fn command(name: &str, rest: &str) -> Result<Command, String> {
    let args = words(rest);
    match name {
        "status" => {
            let v = one(name, &args, "open, pending, resolved or closed")?;
            match Status::parse(&v.to_lowercase()) {
                Some(s) if s != Status::New => Ok(Command::Status(s)),
                _ => Err(format!(
                    "'{v}' is not a status: use open, pending, resolved or closed"
                )),
            }
        }
        "priority" => {
            let v = one(name, &args, "low, normal, high or urgent")?;
            Priority::parse(&v.to_lowercase())
                .map(Command::Priority)
                .ok_or_else(|| format!("'{v}' is not a priority: use low, normal, high or urgent"))
        }
        "assign" => {
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
        "queue" => one(name, &args, "a queue name").map(|q| Command::Queue(q.to_string())),
        "tag" | "tags" => {
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
        _ => Err(format!(
            "unknown command #{name} (known: #status, #assign, #priority, #queue, #tag, #note)"
        )),
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
            Ok(c) => out.commands.push(c),
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
    fn errors_say_why() {
        let got = parse("#stauts resolved");
        assert_eq!(got.errors[0].0, "#stauts resolved");
        assert!(got.errors[0].1.contains("unknown command #stauts"));
        let got = parse("#priority extreme");
        assert!(got.errors[0].1.contains("'extreme' is not a priority"));
    }
}
