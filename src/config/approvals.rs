//! `[[approvals]]` (approval chains: ordered steps of approvers with a quorum) and `[changes]`
//! (which chain a change's risk needs).

use super::*;
use crate::ticket::approval::Quorum;

/// One step of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalStep {
    /// Addresses (lower case); `managers` stands for the ticket queue's managers.
    pub approvers: Vec<String>,
    pub quorum: Quorum,
}

/// `[[approvals]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalChain {
    pub name: String,
    pub steps: Vec<ApprovalStep>,
    /// An approver who has not answered after this long is reminded once.
    pub remind_after: Duration,
}

/// `[changes]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangesConfig {
    /// The chain a change of each risk needs (`low`, `normal`, `high`); absent or "": none.
    pub approval: Vec<(String, String)>,
    /// `calendar`: the hours a change window must lie in (name and hours).
    pub calendar: Option<(String, crate::ticket::sla::Hours)>,
    /// `freeze`: periods no window may touch, as written and in milliseconds `[from, to)`.
    pub freeze: Vec<(String, i64, i64)>,
    /// `remind_before`: how long before an approved change's window its assignee is reminded.
    pub remind_before: Duration,
}

impl Default for ChangesConfig {
    fn default() -> Self {
        ChangesConfig {
            approval: Vec::new(),
            calendar: None,
            freeze: Vec::new(),
            remind_before: Duration::from_secs(3600),
        }
    }
}

impl ChangesConfig {
    /// The chain a change of `risk` needs.
    pub fn chain_for(&self, risk: &str) -> Option<&str> {
        self.approval
            .iter()
            .find(|(r, c)| r == risk && !c.is_empty())
            .map(|(_, c)| c.as_str())
    }
}

impl Reader {
    pub(super) fn approvals(&mut self, top: &mut Section<'_>) -> Vec<ApprovalChain> {
        let mut out: Vec<ApprovalChain> = Vec::new();
        for (i, t) in self
            .array_of_tables(top, "approvals")
            .into_iter()
            .enumerate()
        {
            let mut s = Section::new(t, format!("approvals[{i}]"));
            let name = self.required_string(&mut s, "name", "a name for the approval chain");
            let remind_after = self.duration(&mut s, "remind_after", Duration::from_secs(8 * 3600));
            let mut steps = Vec::new();
            for (j, st) in self
                .array_of_tables(&mut s, "steps")
                .into_iter()
                .enumerate()
            {
                let mut ss = Section::new(st, format!("approvals[{i}].steps[{j}]"));
                let approvers: Vec<String> = self
                    .string_list(&mut ss, "approvers")
                    .into_iter()
                    .map(|a| a.trim().to_lowercase())
                    .collect();
                if approvers.is_empty() {
                    self.problem(
                        ss.key("approvers"),
                        "expected at least one approver: an address, or \"managers\"",
                    );
                }
                for (k, a) in approvers.iter().enumerate() {
                    if a != "managers" && (!a.contains('@') || a.contains(char::is_whitespace)) {
                        self.problem(
                            format!("{}[{k}]", ss.key("approvers")),
                            format!("expected a mail address or \"managers\", found \"{a}\""),
                        );
                    }
                }
                let quorum = match self.get(&mut ss, "quorum") {
                    None => Quorum::Any,
                    Some(Value::String(q)) if q == "any" => Quorum::Any,
                    Some(Value::String(q)) if q == "all" => Quorum::All,
                    Some(Value::Integer(n))
                        if *n >= 1 && (*n as usize) <= approvers.len().max(1) =>
                    {
                        Quorum::Count(*n as usize)
                    }
                    Some(v) => {
                        self.problem(
                            ss.key("quorum"),
                            format!(
                                "expected \"any\", \"all\" or a number from 1 to the number of approvers ({}), found {}",
                                approvers.len(),
                                match v {
                                    Value::String(s) => format!("\"{s}\""),
                                    Value::Integer(n) => n.to_string(),
                                    v => type_name(v),
                                }
                            ),
                        );
                        Quorum::Any
                    }
                };
                self.unknown_keys(&ss);
                steps.push(ApprovalStep { approvers, quorum });
            }
            if steps.is_empty() {
                self.problem(s.key("steps"), "expected at least one step: steps = [ { approvers = [...], quorum = \"any\" } ]");
            }
            self.unknown_keys(&s);
            if let Some(name) = name {
                if out.iter().any(|c| c.name == name) {
                    self.problem(s.key("name"), format!("a second chain named '{name}'"));
                }
                out.push(ApprovalChain {
                    name,
                    steps,
                    remind_after,
                });
            }
        }
        out
    }

    pub(super) fn changes(
        &mut self,
        top: &mut Section<'_>,
        chains: &[ApprovalChain],
        calendars: &[(String, crate::ticket::sla::Hours)],
    ) -> ChangesConfig {
        let Some(t) = self.table(top, "changes", false) else {
            return ChangesConfig::default();
        };
        let mut s = Section::new(t, "changes");
        let mut c = ChangesConfig::default();
        match self.get(&mut s, "approval") {
            None => {}
            Some(Value::Table(by_risk)) => {
                for (risk, chain) in by_risk {
                    let key = format!("{}.{risk}", s.key("approval"));
                    if !crate::ticket::fields::RISKS.contains(&risk.as_str()) {
                        self.problem(key, "expected a risk: low, normal or high");
                        continue;
                    }
                    match chain {
                        Value::String(n) if n.is_empty() || chains.iter().any(|c| &c.name == n) => {
                            c.approval.push((risk.clone(), n.clone()));
                        }
                        Value::String(n) => self.problem(
                            key,
                            format!("names the chain '{n}', which no [[approvals]] entry defines"),
                        ),
                        v => self.problem(key, format!("expected the name of an [[approvals]] chain, or \"\", found {}", type_name(v))),
                    }
                }
            }
            Some(v) => self.problem(
                s.key("approval"),
                format!("expected a table such as {{ low = \"\", normal = \"cab\", high = \"cab\" }}, found {}", type_name(v)),
            ),
        }
        if let Some(name) = self.string(&mut s, "calendar", "the name of a [[calendars]] entry") {
            match calendars.iter().find(|(n, _)| *n == name) {
                Some((_, hours)) => c.calendar = Some((name, hours.clone())),
                None => self.problem(
                    s.key("calendar"),
                    format!("names the calendar '{name}', which no [[calendars]] entry defines"),
                ),
            }
        }
        c.remind_before = self.duration(&mut s, "remind_before", c.remind_before);
        let tz = match &c.calendar {
            Some((_, crate::ticket::sla::Hours::Calendar(cal))) => cal.tz,
            _ => chrono_tz::UTC,
        };
        for (i, f) in self.string_list(&mut s, "freeze").into_iter().enumerate() {
            match freeze_period(&f, tz) {
                Some((from, to)) => c.freeze.push((f, from, to)),
                None => self.problem(
                    format!("{}[{i}]", s.key("freeze")),
                    format!("expected a period of dates FROM/TO such as \"2026-12-20/2027-01-04\", found \"{f}\""),
                ),
            }
        }
        self.unknown_keys(&s);
        c
    }
}

/// A freeze period `FROM/TO` (dates, both included) as milliseconds `[from, to)` in `tz`.
fn freeze_period(text: &str, tz: chrono_tz::Tz) -> Option<(i64, i64)> {
    use chrono::TimeZone;
    let (a, b) = text.split_once('/')?;
    let a = chrono::NaiveDate::parse_from_str(a.trim(), "%Y-%m-%d").ok()?;
    let b = chrono::NaiveDate::parse_from_str(b.trim(), "%Y-%m-%d").ok()?;
    if b < a {
        return None;
    }
    let start = |d: chrono::NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
            .earliest()
            .map(|t| t.timestamp_millis())
    };
    Some((start(a)?, start(b.succ_opt()?)?))
}
