//! Triage rules: ordered `[[rules]]`, each a set of conditions on a mail and the actions that
//! shape the ticket it opens (or, with `on = "reply"`, a reply). Pure: the config loader
//! compiles the rules (regexes, globs, names resolved), and [`evaluate`] decides from the
//! mail's facts alone; picking an agent for `round_robin` / `least_open` is left to the caller,
//! which knows the workload.
//!
//! Rules apply in order; a later matching rule overrides what an earlier one set (queue,
//! priority, assignee, SLA policy, type, acknowledgement, template), tags add up, and a matching
//! rule with `stop = true` ends the evaluation.

use regex::Regex;

use super::model::{Priority, TicketType};

/// What a condition looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    From,
    To,
    Cc,
    Subject,
    Body,
    /// Any header by name (case-insensitive), every occurrence.
    Header(String),
    AttachmentName,
    Mailbox,
}

impl Field {
    pub fn parse(s: &str) -> Option<Field> {
        Some(match s {
            "from" => Field::From,
            "to" => Field::To,
            "cc" => Field::Cc,
            "subject" => Field::Subject,
            "body" => Field::Body,
            "attachment_name" => Field::AttachmentName,
            "mailbox" => Field::Mailbox,
            _ => {
                let name = s.strip_prefix("header:")?.trim();
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                    return None;
                }
                Field::Header(name.to_ascii_lowercase())
            }
        })
    }
}

/// How a condition compares. Text comparisons ignore case, except `regex`, which says so
/// itself (`(?i)`).
#[derive(Debug, Clone)]
pub enum Op {
    Equals(String),
    Contains(String),
    Regex(Regex),
    /// `*` and `?` wildcards over the whole value.
    Glob(Regex),
    /// The address's domain is this domain or a subdomain of it.
    Domain(String),
    Exists,
}

impl Op {
    /// Builds an operator; the error says what was wrong with the value.
    pub fn new(op: &str, value: Option<&str>) -> Result<Op, String> {
        let need = || value.ok_or_else(|| format!("op \"{op}\" needs a value"));
        Ok(match op {
            "equals" => Op::Equals(need()?.to_lowercase()),
            "contains" => Op::Contains(need()?.to_lowercase()),
            "regex" => Op::Regex(
                Regex::new(need()?).map_err(|e| format!("the regex does not compile: {e}"))?,
            ),
            "glob" => Op::Glob(glob(need()?)?),
            "domain" => Op::Domain(need()?.trim_start_matches('@').to_lowercase()),
            "exists" => Op::Exists,
            other => {
                return Err(format!(
                "unknown op \"{other}\" (expected equals, contains, regex, glob, domain or exists)"
            ))
            }
        })
    }

    fn test(&self, v: &str) -> bool {
        match self {
            Op::Equals(x) => v.trim().to_lowercase() == *x,
            Op::Contains(x) => v.to_lowercase().contains(x.as_str()),
            Op::Regex(r) => r.is_match(v),
            Op::Glob(r) => r.is_match(v),
            Op::Domain(d) => {
                let host = v
                    .rsplit_once('@')
                    .map_or(v, |(_, h)| h)
                    .trim()
                    .to_lowercase();
                host == *d || host.ends_with(&format!(".{d}"))
            }
            Op::Exists => true,
        }
    }
}

/// A glob as an anchored, case-insensitive regex.
fn glob(pattern: &str) -> Result<Regex, String> {
    let mut re = String::from("(?is)^");
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).map_err(|e| format!("the glob does not compile: {e}"))
}

#[derive(Debug, Clone)]
pub struct Condition {
    pub field: Field,
    pub op: Op,
    pub negate: bool,
}

/// When a rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    New,
    Reply,
}

/// How to pick the assignee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assign {
    /// This agent (address, lower case).
    Agent(String),
    /// The queue's agents in turn.
    RoundRobin,
    /// The queue's agent with the fewest new or open tickets.
    LeastOpen,
}

/// What rules set; `None` leaves the value alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Actions {
    pub queue: Option<String>,
    pub priority: Option<Priority>,
    pub assign: Option<Assign>,
    pub tags: Vec<String>,
    pub sla: Option<String>,
    pub ticket_type: Option<TicketType>,
    /// `acknowledge = false`: no acknowledgement.
    pub acknowledge: Option<bool>,
    /// Answer with this template instead of the acknowledgement.
    pub template: Option<String>,
    /// The language the requester is written to in (`en`, `de`, `fr`).
    pub language: Option<String>,
    /// Spam: kept in inbound with outcome `spam`, no ticket, no answer.
    pub spam: bool,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub on: On,
    /// All conditions (true) or any (false).
    pub all: bool,
    pub conditions: Vec<Condition>,
    pub actions: Actions,
    pub stop: bool,
}

/// What a mail offers the conditions.
#[derive(Debug, Default)]
pub struct Facts<'a> {
    pub from: &'a str,
    pub to: Vec<&'a str>,
    pub cc: Vec<&'a str>,
    pub subject: &'a str,
    pub body: &'a str,
    /// Headers as (lower-case name, value), in order.
    pub headers: Vec<(String, String)>,
    pub attachment_names: Vec<&'a str>,
    pub mailbox: &'a str,
}

impl Condition {
    fn holds(&self, f: &Facts<'_>) -> bool {
        let values: Vec<&str> = match &self.field {
            Field::From => vec![f.from],
            Field::To => f.to.clone(),
            Field::Cc => f.cc.clone(),
            Field::Subject => vec![f.subject],
            Field::Body => vec![f.body],
            Field::Header(n) => f
                .headers
                .iter()
                .filter(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
                .collect(),
            Field::AttachmentName => f.attachment_names.clone(),
            Field::Mailbox => vec![f.mailbox],
        };
        let present: Vec<&str> = values.into_iter().filter(|v| !v.is_empty()).collect();
        let hit = match self.op {
            Op::Exists => !present.is_empty(),
            _ => present.iter().any(|v| self.op.test(v)),
        };
        hit != self.negate
    }
}

impl Rule {
    pub fn matches(&self, f: &Facts<'_>) -> bool {
        if self.conditions.is_empty() {
            return true;
        }
        if self.all {
            self.conditions.iter().all(|c| c.holds(f))
        } else {
            self.conditions.iter().any(|c| c.holds(f))
        }
    }
}

/// The rules that matched, in order, and the actions they add up to.
#[derive(Debug, Default, PartialEq)]
pub struct Decision {
    pub matched: Vec<String>,
    pub actions: Actions,
}

/// Applies the rules for `on` to a mail's facts.
pub fn evaluate(rules: &[Rule], facts: &Facts<'_>, on: On) -> Decision {
    let mut d = Decision::default();
    for r in rules.iter().filter(|r| r.on == on) {
        if !r.matches(facts) {
            continue;
        }
        d.matched.push(r.name.clone());
        let (a, to) = (&r.actions, &mut d.actions);
        macro_rules! over {
            ($($f:ident),*) => { $( if a.$f.is_some() { to.$f = a.$f.clone(); } )* };
        }
        over!(
            queue,
            priority,
            assign,
            sla,
            ticket_type,
            acknowledge,
            template,
            language
        );
        for t in &a.tags {
            if !to.tags.contains(t) {
                to.tags.push(t.clone());
            }
        }
        to.spam |= a.spam;
        if r.stop {
            break;
        }
    }
    d
}

/// Picks the agent for `round_robin`: the one after the queue's most recently assigned agent,
/// in the order of the config; the first when none was.
pub fn round_robin<'a>(agents: &'a [String], last: Option<&str>) -> Option<&'a String> {
    let next = last
        .and_then(|l| agents.iter().position(|a| a == l))
        .map_or(0, |i| (i + 1) % agents.len().max(1));
    agents.get(next)
}

/// Picks the agent for `least_open`: the fewest new or open tickets, ties in config order.
pub fn least_open<'a>(agents: &'a [String], open: &[(String, i64)]) -> Option<&'a String> {
    agents
        .iter()
        .min_by_key(|a| open.iter().find(|(x, _)| x == *a).map_or(0, |(_, n)| *n))
}

/// Headers of a raw mail as (lower-case name, unfolded value), for `header:NAME` conditions.
pub fn raw_headers(raw: &[u8]) -> Vec<(String, String)> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(raw.len());
    let text = String::from_utf8_lossy(&raw[..end]);
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(field: &str, op: &str, value: Option<&str>, negate: bool) -> Condition {
        Condition {
            field: Field::parse(field).unwrap(),
            op: Op::new(op, value).unwrap(),
            negate,
        }
    }

    fn rule(
        name: &str,
        all: bool,
        conditions: Vec<Condition>,
        actions: Actions,
        stop: bool,
    ) -> Rule {
        Rule {
            name: name.into(),
            on: On::New,
            all,
            conditions,
            actions,
            stop,
        }
    }

    fn facts() -> Facts<'static> {
        Facts {
            from: "ceo@eu.bigcorp.example",
            to: vec!["support@example.test"],
            cc: vec!["billing@example.test"],
            subject: "URGENT: outage in Hamburg",
            body: "Nothing works since 9:00.",
            headers: raw_headers(
                b"X-Priority: 1\r\nX-Mailer: Outlook\r\n  16.0\r\nSubject: x\r\n\r\nbody",
            ),
            attachment_names: vec!["screenshot.PNG"],
            mailbox: "support",
        }
    }

    #[test]
    fn every_operator_on_every_field() {
        let f = facts();
        let cases: Vec<(&str, &str, Option<&str>, bool)> = vec![
            ("from", "domain", Some("bigcorp.example"), true),
            ("from", "domain", Some("@bigcorp.example"), true),
            ("from", "domain", Some("corp.example"), false),
            ("from", "equals", Some("CEO@eu.bigcorp.example"), true),
            ("to", "equals", Some("support@example.test"), true),
            ("cc", "contains", Some("billing@"), true),
            ("cc", "contains", Some("sales@"), false),
            ("subject", "regex", Some("(?i)urgent|outage"), true),
            ("subject", "regex", Some("^urgent"), false),
            ("subject", "glob", Some("urgent:*hamburg"), true),
            ("subject", "glob", Some("urgent?"), false),
            ("body", "contains", Some("nothing works"), true),
            ("header:X-Priority", "equals", Some("1"), true),
            ("header:x-mailer", "equals", Some("outlook 16.0"), true),
            ("header:X-Spam-Flag", "exists", None, false),
            ("header:X-Priority", "exists", None, true),
            ("attachment_name", "glob", Some("*.png"), true),
            ("attachment_name", "glob", Some("*.exe"), false),
            ("mailbox", "equals", Some("support"), true),
        ];
        for (field, op, value, want) in cases {
            assert_eq!(
                cond(field, op, value, false).holds(&f),
                want,
                "{field} {op} {value:?}"
            );
            assert_eq!(
                cond(field, op, value, true).holds(&f),
                !want,
                "negated {field} {op} {value:?}"
            );
        }
    }

    #[test]
    fn bad_definitions_say_what_is_wrong() {
        assert!(Op::new("regex", Some("(unclosed"))
            .unwrap_err()
            .contains("regex"));
        assert!(Op::new("matches", Some("x"))
            .unwrap_err()
            .contains("unknown op"));
        assert!(Op::new("equals", None)
            .unwrap_err()
            .contains("needs a value"));
        assert_eq!(Field::parse("header:"), None);
        assert_eq!(Field::parse("header:X Y"), None);
        assert_eq!(Field::parse("sender"), None);
    }

    #[test]
    fn rules_apply_in_order_later_ones_override_and_stop_ends() {
        let f = facts();
        let vip = Actions {
            queue: Some("vip".into()),
            priority: Some(Priority::High),
            tags: vec!["vip".into()],
            ..Default::default()
        };
        let urgent = Actions {
            priority: Some(Priority::Urgent),
            tags: vec!["outage".into(), "vip".into()],
            assign: Some(Assign::RoundRobin),
            ..Default::default()
        };
        let never = Actions {
            queue: Some("never".into()),
            ..Default::default()
        };
        let rules = vec![
            rule(
                "bigcorp",
                true,
                vec![cond("from", "domain", Some("bigcorp.example"), false)],
                vip,
                false,
            ),
            rule(
                "not me",
                true,
                vec![cond("from", "domain", Some("other.example"), false)],
                never.clone(),
                false,
            ),
            rule(
                "any: outage or spam flag",
                false,
                vec![
                    cond("header:X-Spam-Flag", "exists", None, false),
                    cond("subject", "contains", Some("outage"), false),
                ],
                urgent,
                true,
            ),
            rule("after stop", true, vec![], never, false),
        ];
        let d = evaluate(&rules, &f, On::New);
        assert_eq!(d.matched, vec!["bigcorp", "any: outage or spam flag"]);
        assert_eq!(d.actions.queue.as_deref(), Some("vip"));
        assert_eq!(d.actions.priority, Some(Priority::Urgent));
        assert_eq!(d.actions.tags, vec!["vip", "outage"]);
        assert_eq!(d.actions.assign, Some(Assign::RoundRobin));
        // reply rules are separate
        assert!(evaluate(&rules, &f, On::Reply).matched.is_empty());
    }

    #[test]
    fn picking_agents() {
        let agents: Vec<String> = ["a@x", "b@x", "c@x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(round_robin(&agents, None).unwrap(), "a@x");
        assert_eq!(round_robin(&agents, Some("a@x")).unwrap(), "b@x");
        assert_eq!(round_robin(&agents, Some("c@x")).unwrap(), "a@x");
        assert_eq!(round_robin(&agents, Some("gone@x")).unwrap(), "a@x");
        assert_eq!(round_robin(&[], None), None);
        let open = vec![
            ("a@x".to_string(), 3),
            ("b@x".to_string(), 1),
            ("c@x".to_string(), 1),
        ];
        assert_eq!(least_open(&agents, &open).unwrap(), "b@x");
        assert_eq!(least_open(&agents, &[]).unwrap(), "a@x");
    }
}
