//! `[[calendars]]`, `[[sla]]`, `[[rules]]` and `[scheduler]`: read, compiled and checked
//! against each other (a policy's calendar, a queue's policy, a rule's queue, agent and policy),
//! every problem naming the file and key.

use std::collections::BTreeSet;
use std::time::Duration;

use toml::Value;

use super::{type_name, AgentConfig, QueueConfig, Reader, Section};
use crate::ticket::model::{Priority, Status, TicketType};
use crate::ticket::rules::{Actions, Assign, Condition, Field, On, Op, Rule};
use crate::ticket::sla::{checkpoints, Calendar, Checkpoint, Hours};

/// Business-time targets per priority; a priority without its own falls back to `normal`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Targets(pub [Option<i64>; 4]);

impl Targets {
    fn slot(p: Priority) -> usize {
        match p {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::High => 2,
            Priority::Urgent => 3,
        }
    }

    /// The target in milliseconds for a priority, if the policy has one.
    pub fn get(&self, p: Priority) -> Option<i64> {
        self.0[Self::slot(p)].or(self.0[Self::slot(Priority::Normal)])
    }
}

/// Who an escalation step tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    /// The assignee; the queue's agents while the ticket is unassigned.
    Assignee,
    /// The queue's agents.
    Queue,
    /// Every agent with role = "manager".
    Managers,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EscalationStep {
    pub at: Checkpoint,
    pub notify: Vec<Notify>,
    pub raise_priority: bool,
    pub reassign: Option<Assign>,
}

#[derive(Debug, Clone)]
pub struct SlaPolicy {
    pub name: String,
    pub hours: Hours,
    pub first_response: Targets,
    pub next_response: Targets,
    pub resolution: Targets,
    /// Share of the target at which the warning falls.
    pub warn_at: f64,
    /// Statuses in which the clocks stand still (waiting on the customer).
    pub pause_when: Vec<Status>,
    pub escalate: Vec<EscalationStep>,
    /// The checkpoints of this policy's clocks, in firing order.
    pub checkpoints: Vec<Checkpoint>,
    /// `types`: the ticket types it applies to (empty: every type).
    pub types: Vec<TicketType>,
}

impl SlaPolicy {
    pub fn targets(&self, t: crate::ticket::sla::Target) -> &Targets {
        use crate::ticket::sla::Target::*;
        match t {
            FirstResponse => &self.first_response,
            NextResponse => &self.next_response,
            Resolution => &self.resolution,
        }
    }
}

/// `[scheduler]`.
#[derive(Debug, Clone)]
pub struct Scheduler {
    /// When `serve` sweeps the SLA clocks (cron syntax with seconds; every minute by default).
    pub sla_sweep: cron::Schedule,
    /// More SLA notices of one kind (warning, breach) than this for one agent in one sweep go
    /// to that agent as one summary mail (template sla_summary) instead of one mail each;
    /// 0 sends every notice on its own.
    pub notice_batch: usize,
}

impl Default for Scheduler {
    fn default() -> Self {
        Scheduler {
            sla_sweep: "0 * * * * *".parse().expect("a valid schedule"),
            notice_batch: 10,
        }
    }
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `"09:00-12:00, 13:00-17:00"` as minutes after midnight.
fn parse_hours(text: &str) -> Result<Vec<(u32, u32)>, String> {
    let minutes = |t: &str| -> Option<u32> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
    };
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part
            .split_once('-')
            .and_then(|(a, b)| Some((minutes(a)?, minutes(b)?)))
            .ok_or_else(|| {
                format!("expected opening hours such as \"09:00-17:00\", found \"{part}\"")
            })?;
        if b <= a {
            return Err(format!("\"{part}\" closes before it opens"));
        }
        out.push((a, b));
    }
    out.sort_unstable();
    if out.windows(2).any(|w| w[1].0 < w[0].1) {
        return Err(format!("the intervals in \"{text}\" overlap"));
    }
    Ok(out)
}

impl Reader {
    fn float(&mut self, s: &mut Section<'_>, k: &'static str, default: f64) -> f64 {
        match self.get(s, k) {
            None => default,
            Some(Value::Float(f)) if (0.0..=1.0).contains(f) => *f,
            Some(Value::Integer(i)) if (0..=1).contains(i) => *i as f64,
            Some(v) => {
                self.problem(
                    s.key(k),
                    format!("expected a share from 0.0 to 1.0, found {}", type_name(v)),
                );
                default
            }
        }
    }

    pub(super) fn calendars(&mut self, top: &mut Section<'_>) -> Vec<(String, Hours)> {
        let mut out: Vec<(String, Hours)> = Vec::new();
        for (i, t) in self
            .array_of_tables(top, "calendars")
            .into_iter()
            .enumerate()
        {
            let mut s = Section::new(t, format!("calendars[{i}]"));
            let name = self.required_string(&mut s, "name", "a calendar name");
            let tz = match self.required_string(
                &mut s,
                "timezone",
                "an IANA timezone such as \"Europe/Berlin\"",
            ) {
                Some(z) => match z.parse::<chrono_tz::Tz>() {
                    Ok(tz) => Some(tz),
                    Err(_) => {
                        self.problem(s.key("timezone"), format!("expected an IANA timezone such as \"Europe/Berlin\", found \"{z}\""));
                        None
                    }
                },
                None => None,
            };
            let mut week: [Vec<(u32, u32)>; 7] = Default::default();
            if let Some(h) = self.table(&mut s, "hours", false) {
                let mut hs = Section::new(h, s.key("hours"));
                for (d, day) in WEEKDAYS.iter().enumerate() {
                    if let Some(text) =
                        self.string(&mut hs, day, "opening hours such as \"09:00-17:00\"")
                    {
                        match parse_hours(&text) {
                            Ok(v) => week[d] = v,
                            Err(e) => self.problem(hs.key(day), e),
                        }
                    }
                }
                self.unknown_keys(&hs);
            } else {
                self.problem(
                    s.key("hours"),
                    "missing; expected opening hours per weekday such as { mon = \"09:00-17:00\" }",
                );
            }
            if s.table.contains_key("hours") && week.iter().all(Vec::is_empty) {
                self.problem(
                    s.key("hours"),
                    "expected opening hours on at least one weekday",
                );
            }
            let mut holidays = BTreeSet::new();
            for d in self.string_list(&mut s, "holidays") {
                match d.parse::<chrono::NaiveDate>() {
                    Ok(d) => {
                        holidays.insert(d);
                    }
                    Err(_) => self.problem(
                        s.key("holidays"),
                        format!("expected dates such as \"2026-12-25\", found \"{d}\""),
                    ),
                }
            }
            self.unknown_keys(&s);
            if let (Some(name), Some(tz)) = (name, tz) {
                if out.iter().any(|(n, _)| *n == name) {
                    self.problem(
                        s.key("name"),
                        format!("the calendar '{name}' is defined twice"),
                    );
                }
                out.push((
                    name,
                    Hours::Calendar(Box::new(Calendar { tz, week, holidays })),
                ));
            }
        }
        out
    }

    fn targets(&mut self, s: &mut Section<'_>, k: &'static str) -> Targets {
        let mut t = Targets::default();
        if let Some(table) = self.table(s, k, false) {
            let mut ts = Section::new(table, s.key(k));
            for p in Priority::ALL {
                let d = self.duration(&mut ts, p.as_str(), Duration::ZERO);
                if !d.is_zero() {
                    t.0[Targets::slot(*p)] = Some(crate::time::millis(d));
                }
            }
            self.unknown_keys(&ts);
        }
        t
    }

    fn assign(&mut self, key: String, v: &str, agents: &[AgentConfig]) -> Option<Assign> {
        match v {
            "round_robin" => Some(Assign::RoundRobin),
            "least_open" => Some(Assign::LeastOpen),
            a => {
                let a = a.to_lowercase();
                if agents.iter().any(|x| x.address == a) {
                    Some(Assign::Agent(a))
                } else {
                    self.problem(key, format!("expected an [[agents]] address, \"round_robin\" or \"least_open\", found \"{v}\""));
                    None
                }
            }
        }
    }

    pub(super) fn sla(
        &mut self,
        top: &mut Section<'_>,
        calendars: &[(String, Hours)],
        agents: &[AgentConfig],
    ) -> Vec<SlaPolicy> {
        let mut out: Vec<SlaPolicy> = Vec::new();
        for (i, t) in self.array_of_tables(top, "sla").into_iter().enumerate() {
            let mut s = Section::new(t, format!("sla[{i}]"));
            let name = self.required_string(&mut s, "name", "a policy name");
            let hours = match self.string(&mut s, "calendar", "the name of a [[calendars]] entry") {
                None => Hours::Always,
                Some(c) => {
                    match calendars.iter().find(|(n, _)| *n == c) {
                        Some((_, h)) => h.clone(),
                        None => {
                            self.problem(s.key("calendar"), format!("names the calendar '{c}', which no [[calendars]] entry defines"));
                            Hours::Always
                        }
                    }
                }
            };
            let first_response = self.targets(&mut s, "first_response");
            let next_response = self.targets(&mut s, "next_response");
            let resolution = self.targets(&mut s, "resolution");
            let warn_at = self.float(&mut s, "warn_at", 0.8);
            let mut types = Vec::new();
            for ty in self.string_list(&mut s, "types") {
                match TicketType::parse(&ty) {
                    Some(t) => types.push(t),
                    None => self.problem(s.key("types"), format!("expected ticket types (incident, request, problem, change), found \"{ty}\"")),
                }
            }
            let mut pause_when = Vec::new();
            let pause_given = s.table.contains_key("pause_when");
            for st in self.string_list(&mut s, "pause_when") {
                match Status::parse(&st) {
                    Some(x) => pause_when.push(x),
                    None => self.problem(s.key("pause_when"), format!("expected statuses (new, open, pending, resolved, closed), found \"{st}\"")),
                }
            }
            if !pause_given {
                pause_when.push(Status::Pending);
            }
            let mut escalate = Vec::new();
            for (j, e) in self
                .array_of_tables(&mut s, "escalate")
                .into_iter()
                .enumerate()
            {
                let mut es = Section::new(e, format!("{}[{j}]", s.key("escalate")));
                let after = crate::time::millis(self.duration(&mut es, "after", Duration::ZERO));
                let at = match self
                    .required_string(&mut es, "at", "\"warning\" or \"breach\"")
                    .as_deref()
                {
                    Some("warning") => {
                        if after > 0 {
                            self.problem(
                                es.key("after"),
                                "after is only for steps at = \"breach\"",
                            );
                        }
                        Some(Checkpoint::Warning)
                    }
                    Some("breach") if after > 0 => Some(Checkpoint::AfterBreach(after)),
                    Some("breach") => Some(Checkpoint::Breach),
                    Some(other) => {
                        self.problem(
                            es.key("at"),
                            format!("expected \"warning\" or \"breach\", found \"{other}\""),
                        );
                        None
                    }
                    None => None,
                };
                let mut notify = Vec::new();
                for n in self.string_list(&mut es, "notify") {
                    match n.as_str() {
                        "assignee" => notify.push(Notify::Assignee),
                        "queue" => notify.push(Notify::Queue),
                        "managers" => notify.push(Notify::Managers),
                        other => self.problem(es.key("notify"), format!("expected \"assignee\", \"queue\" or \"managers\", found \"{other}\"")),
                    }
                }
                let raise_priority = self.bool(&mut es, "raise_priority", false);
                let reassign = self
                    .string(
                        &mut es,
                        "reassign",
                        "an agent address, \"round_robin\" or \"least_open\"",
                    )
                    .and_then(|v| self.assign(es.key("reassign"), &v, agents));
                self.unknown_keys(&es);
                if let Some(at) = at {
                    escalate.push(EscalationStep {
                        at,
                        notify,
                        raise_priority,
                        reassign,
                    });
                }
            }
            self.unknown_keys(&s);
            if let Some(name) = name {
                if out.iter().any(|p| p.name == name) {
                    self.problem(
                        s.key("name"),
                        format!("the SLA policy '{name}' is defined twice"),
                    );
                }
                let afters: Vec<i64> = escalate
                    .iter()
                    .filter_map(|e| match e.at {
                        Checkpoint::AfterBreach(a) => Some(a),
                        _ => None,
                    })
                    .collect();
                out.push(SlaPolicy {
                    name,
                    hours,
                    first_response,
                    next_response,
                    resolution,
                    warn_at,
                    pause_when,
                    checkpoints: checkpoints(&afters),
                    escalate,
                    types,
                });
            }
        }
        out
    }

    /// A queue's `sla` must name a policy.
    pub(super) fn check_queue_policies(&mut self, queues: &[QueueConfig], sla: &[SlaPolicy]) {
        for (i, q) in queues.iter().enumerate() {
            if let Some(p) = &q.sla {
                if !sla.iter().any(|x| x.name == *p) {
                    self.problem(
                        format!("queues[{i}].sla"),
                        format!("names the SLA policy '{p}', which no [[sla]] entry defines"),
                    );
                }
            }
        }
    }

    pub(super) fn rules(
        &mut self,
        top: &mut Section<'_>,
        queues: &[QueueConfig],
        agents: &[AgentConfig],
        sla: &[SlaPolicy],
        templates_dir: Option<&std::path::Path>,
    ) -> Vec<Rule> {
        let mut out = Vec::new();
        for (i, t) in self.array_of_tables(top, "rules").into_iter().enumerate() {
            let mut s = Section::new(t, format!("rules[{i}]"));
            let name = self
                .required_string(&mut s, "name", "a rule name")
                .unwrap_or_else(|| format!("rules[{i}]"));
            // Problems name the rule as well as the key.
            let at = |k: &str| format!("rules[{i}] '{name}': {k}");
            let on = match self.string(&mut s, "on", "\"new\" or \"reply\"").as_deref() {
                None | Some("new") => On::New,
                Some("reply") => On::Reply,
                Some(o) => {
                    self.problem(
                        at("on"),
                        format!("expected \"new\" or \"reply\", found \"{o}\""),
                    );
                    On::New
                }
            };
            let all = match self
                .string(&mut s, "match", "\"all\" or \"any\"")
                .as_deref()
            {
                None | Some("all") => true,
                Some("any") => false,
                Some(o) => {
                    self.problem(
                        at("match"),
                        format!("expected \"all\" or \"any\", found \"{o}\""),
                    );
                    true
                }
            };
            let mut conditions = Vec::new();
            for (j, c) in self
                .array_of_tables(&mut s, "conditions")
                .into_iter()
                .enumerate()
            {
                let mut cs = Section::new(c, at(&format!("conditions[{j}]")));
                let field = self.required_string(
                    &mut cs,
                    "field",
                    "from, to, cc, subject, body, header:NAME, attachment_name or mailbox",
                );
                let op = self.required_string(
                    &mut cs,
                    "op",
                    "equals, contains, regex, glob, domain or exists",
                );
                let value = self.string(&mut cs, "value", "a string");
                let negate = self.bool(&mut cs, "negate", false);
                self.unknown_keys(&cs);
                let field = field.and_then(|f| {
                    let parsed = Field::parse(&f);
                    if parsed.is_none() {
                        self.problem(cs.key("field"), format!("expected from, to, cc, subject, body, header:NAME, attachment_name or mailbox, found \"{f}\""));
                    }
                    parsed
                });
                let op = op.and_then(|o| match Op::new(&o, value.as_deref()) {
                    Ok(op) => Some(op),
                    Err(e) => {
                        self.problem(
                            cs.key(if e.contains("op") && !e.contains("value") {
                                "op"
                            } else {
                                "value"
                            }),
                            e,
                        );
                        None
                    }
                });
                if let (Some(field), Some(op)) = (field, op) {
                    conditions.push(Condition { field, op, negate });
                }
            }
            let mut actions = Actions::default();
            if let Some(a) = self.table(&mut s, "actions", false) {
                let mut a_s = Section::new(a, at("actions"));
                if let Some(q) = self.string(&mut a_s, "queue", "a queue name") {
                    if queues.iter().any(|x| x.name == q) {
                        actions.queue = Some(q);
                    } else {
                        self.problem(
                            a_s.key("queue"),
                            format!("names the queue '{q}', which no [[queues]] entry defines"),
                        );
                    }
                }
                if let Some(p) = self.string(&mut a_s, "priority", "low, normal, high or urgent") {
                    actions.priority = Priority::parse(&p);
                    if actions.priority.is_none() {
                        self.problem(
                            a_s.key("priority"),
                            format!("expected low, normal, high or urgent, found \"{p}\""),
                        );
                    }
                }
                if let Some(v) = self.string(
                    &mut a_s,
                    "assign",
                    "an agent address, \"round_robin\" or \"least_open\"",
                ) {
                    actions.assign = self.assign(a_s.key("assign"), &v, agents);
                }
                actions.tags = self.string_list(&mut a_s, "tags");
                if let Some(p) = self.string(&mut a_s, "sla", "the name of an [[sla]] policy") {
                    if sla.iter().any(|x| x.name == p) {
                        actions.sla = Some(p);
                    } else {
                        self.problem(
                            a_s.key("sla"),
                            format!("names the SLA policy '{p}', which no [[sla]] entry defines"),
                        );
                    }
                }
                if let Some(ty) =
                    self.string(&mut a_s, "type", "incident, request, problem or change")
                {
                    actions.ticket_type = TicketType::parse(&ty);
                    if actions.ticket_type.is_none() {
                        self.problem(
                            a_s.key("type"),
                            format!(
                                "expected incident, request, problem or change, found \"{ty}\""
                            ),
                        );
                    }
                }
                if let Some(t) = self.string(&mut a_s, "template", "the name of a mail template") {
                    if !crate::templates::is_plain_name(&t) {
                        self.problem(a_s.key("template"), format!("expected a template name (letters, digits, - and _, the file name without .txt.hbs), found \"{t}\""));
                    } else if crate::templates::exists(&t, templates_dir) {
                        actions.template = Some(t);
                    } else {
                        self.problem(a_s.key("template"), format!("names the template '{t}', which is neither built in nor a pair {t}.txt.hbs / {t}.html.hbs in [templates] dir"));
                    }
                }
                if let Some(l) =
                    self.string(&mut a_s, "language", "a language: \"en\", \"de\" or \"fr\"")
                {
                    if crate::ticket::language::supported(&l) {
                        actions.language = Some(l);
                    } else {
                        self.problem(
                            a_s.key("language"),
                            format!("expected a language templates are shipped in: \"en\", \"de\" or \"fr\", found \"{l}\""),
                        );
                    }
                }
                if a_s.table.contains_key("acknowledge") {
                    actions.acknowledge = Some(self.bool(&mut a_s, "acknowledge", true));
                }
                actions.spam = self.bool(&mut a_s, "spam", false);
                self.unknown_keys(&a_s);
            } else {
                self.problem(
                    at("actions"),
                    "missing; expected a table of actions such as { queue = \"vip\" }",
                );
            }
            let stop = self.bool(&mut s, "stop", false);
            self.unknown_keys(&s);
            out.push(Rule {
                name,
                on,
                all,
                conditions,
                actions,
                stop,
            });
        }
        out
    }

    pub(super) fn scheduler(&mut self, top: &mut Section<'_>) -> Scheduler {
        let mut sched = Scheduler::default();
        if let Some(t) = self.table(top, "scheduler", false) {
            let mut s = Section::new(t, "scheduler");
            if let Some(c) = self.string(
                &mut s,
                "sla_sweep",
                "a cron schedule with seconds such as \"0 * * * * *\"",
            ) {
                match c.parse::<cron::Schedule>() {
                    Ok(x) => sched.sla_sweep = x,
                    Err(e) => self.problem(
                        s.key("sla_sweep"),
                        format!(
                            "expected a cron schedule with seconds such as \"0 * * * * *\": {e}"
                        ),
                    ),
                }
            }
            sched.notice_batch = self.count(&mut s, "notice_batch", 10) as usize;
            self.unknown_keys(&s);
        }
        sched
    }
}

mod scheduled;
pub use scheduled::{DigestConfig, RecurringConfig, Scheduled};

#[cfg(test)]
mod tests;
