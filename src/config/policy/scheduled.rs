//! Things done on a schedule: `[[digests]]` and `[[recurring]]` tickets, and their cron
//! schedules.

use std::time::Duration;

use super::super::{QueueConfig, Reader, Section};
use crate::ticket::model::{Priority, TicketType};

/// One `[[digests]]` entry.
#[derive(Debug, Clone)]
pub struct DigestConfig {
    pub name: String,
    /// When it is sent (cron syntax with seconds), read in `timezone`.
    pub schedule: cron::Schedule,
    pub timezone: chrono_tz::Tz,
    pub to: Vec<String>,
    /// Only these queues (empty: all).
    pub queues: Vec<String>,
    /// The period "new", "resolved" and the SLA attainment count over.
    pub period_ms: i64,
    /// Open tickets due within this time are listed as at risk.
    pub due_within_ms: i64,
    /// How many of the oldest open tickets are listed.
    pub oldest: usize,
    /// After downtime, send the run that was missed (once) at start.
    pub catch_up: bool,
}

/// `[[recurring]]`: a ticket opened on a schedule (a weekly restore test, a monthly review).
#[derive(Debug, Clone)]
pub struct RecurringConfig {
    pub name: String,
    pub schedule: cron::Schedule,
    pub timezone: chrono_tz::Tz,
    pub subject: String,
    pub queue: String,
    pub ticket_type: Option<TicketType>,
    pub priority: Priority,
    /// The ticket's first message.
    pub text: String,
    /// After downtime, open the run that was missed (once) at start.
    pub catch_up: bool,
}

/// Something done on a cron schedule, once per scheduled time (digests, recurring tickets).
pub trait Scheduled {
    /// The name its runs are recorded under.
    fn run_name(&self) -> String;
    fn schedule(&self) -> &cron::Schedule;
    fn timezone(&self) -> chrono_tz::Tz;
}

impl Scheduled for DigestConfig {
    fn run_name(&self) -> String {
        self.name.clone()
    }
    fn schedule(&self) -> &cron::Schedule {
        &self.schedule
    }
    fn timezone(&self) -> chrono_tz::Tz {
        self.timezone
    }
}

impl Scheduled for RecurringConfig {
    fn run_name(&self) -> String {
        format!("recurring:{}", self.name)
    }
    fn schedule(&self) -> &cron::Schedule {
        &self.schedule
    }
    fn timezone(&self) -> chrono_tz::Tz {
        self.timezone
    }
}

impl Reader {
    /// `cron` (with seconds) and `timezone` (IANA, default UTC) of a scheduled entry.
    fn schedule(&mut self, s: &mut Section<'_>) -> (Option<cron::Schedule>, Option<chrono_tz::Tz>) {
        let schedule = self
                .required_string(s, "cron", "a cron schedule with seconds such as \"0 0 8 * * Mon-Fri\"")
                .and_then(|c| match c.parse::<cron::Schedule>() {
                    Ok(x) => Some(x),
                    Err(e) => {
                        self.problem(s.key("cron"), format!("expected a cron schedule with seconds such as \"0 0 8 * * Mon-Fri\": {e}"));
                        None
                    }
                });
        let timezone = match self.string(
            s,
            "timezone",
            "an IANA timezone such as \"Europe/Berlin\"",
        ) {
            None => Some(chrono_tz::UTC),
            Some(z) => {
                match z.parse::<chrono_tz::Tz>() {
                    Ok(tz) => Some(tz),
                    Err(_) => {
                        self.problem(s.key("timezone"), format!("expected an IANA timezone such as \"Europe/Berlin\", found \"{z}\""));
                        None
                    }
                }
            }
        };
        (schedule, timezone)
    }

    /// `[[recurring]]`: tickets opened on a schedule.
    pub(in crate::config) fn recurring(
        &mut self,
        top: &mut Section<'_>,
        queues: &[QueueConfig],
    ) -> Vec<RecurringConfig> {
        let mut out: Vec<RecurringConfig> = Vec::new();
        for (i, t) in self
            .array_of_tables(top, "recurring")
            .into_iter()
            .enumerate()
        {
            let mut s = Section::new(t, format!("recurring[{i}]"));
            let name = self.required_string(&mut s, "name", "a name for the recurring ticket");
            let (schedule, timezone) = self.schedule(&mut s);
            let subject =
                self.required_string(&mut s, "subject", "the subject of the tickets it opens");
            if subject.as_deref().is_some_and(|x| x.contains(['\r', '\n'])) {
                self.problem(s.key("subject"), "expected one line");
            }
            let queue = self
                .string(&mut s, "queue", "a queue name")
                .unwrap_or_else(|| queues.first().map_or("general".into(), |q| q.name.clone()));
            if !queues.iter().any(|q| q.name == queue) {
                self.problem(
                    s.key("queue"),
                    format!("names the queue '{queue}', which no [[queues]] entry defines"),
                );
            }
            let ticket_type = self
                .string(&mut s, "type", "incident, request, problem or change")
                .and_then(|x| {
                    let t = TicketType::parse(&x);
                    if t.is_none() {
                        self.problem(
                            s.key("type"),
                            format!("expected incident, request, problem or change, found \"{x}\""),
                        );
                    }
                    t
                });
            let priority = match self.string(&mut s, "priority", "low, normal, high or urgent") {
                None => Priority::Normal,
                Some(x) => Priority::parse(&x).unwrap_or_else(|| {
                    self.problem(
                        s.key("priority"),
                        format!("expected low, normal, high or urgent, found \"{x}\""),
                    );
                    Priority::Normal
                }),
            };
            let text = self
                .string(&mut s, "text", "the text of the tickets it opens")
                .unwrap_or_default();
            let catch_up = self.bool(&mut s, "catch_up", true);
            self.unknown_keys(&s);
            if let (Some(name), Some(schedule), Some(timezone), Some(subject)) =
                (name, schedule, timezone, subject)
            {
                if out.iter().any(|d| d.name == name) {
                    self.problem(
                        s.key("name"),
                        format!("the recurring ticket '{name}' is defined twice"),
                    );
                }
                out.push(RecurringConfig {
                    name,
                    schedule,
                    timezone,
                    subject,
                    queue,
                    ticket_type,
                    priority,
                    text,
                    catch_up,
                });
            }
        }
        out
    }

    pub(in crate::config) fn digests(
        &mut self,
        top: &mut Section<'_>,
        queues: &[QueueConfig],
    ) -> Vec<DigestConfig> {
        let mut out: Vec<DigestConfig> = Vec::new();
        for (i, t) in self.array_of_tables(top, "digests").into_iter().enumerate() {
            let mut s = Section::new(t, format!("digests[{i}]"));
            let name = self.required_string(&mut s, "name", "a digest name");
            let (schedule, timezone) = self.schedule(&mut s);
            let to: Vec<String> = self
                .string_list(&mut s, "to")
                .into_iter()
                .map(|a| a.to_lowercase())
                .collect();
            if to.is_empty()
                || to
                    .iter()
                    .any(|a| !a.contains('@') || a.contains(['\r', '\n', ',', '<', '>']))
            {
                self.problem(
                    s.key("to"),
                    "expected a list of one or more email addresses",
                );
            }
            let dq = self.string_list(&mut s, "queues");
            for q in &dq {
                if !queues.iter().any(|x| x.name == *q) {
                    self.problem(
                        s.key("queues"),
                        format!("names the queue '{q}', which no [[queues]] entry defines"),
                    );
                }
            }
            let period_ms =
                crate::time::millis(self.duration(&mut s, "period", Duration::from_secs(86_400)));
            let due_within_ms = crate::time::millis(self.duration(
                &mut s,
                "due_within",
                Duration::from_secs(4 * 3600),
            ));
            let oldest = self.count(&mut s, "oldest", 10) as usize;
            let catch_up = self.bool(&mut s, "catch_up", true);
            self.unknown_keys(&s);
            if let (Some(name), Some(schedule), Some(timezone)) = (name, schedule, timezone) {
                if out.iter().any(|d| d.name == name) {
                    self.problem(
                        s.key("name"),
                        format!("the digest '{name}' is defined twice"),
                    );
                }
                out.push(DigestConfig {
                    name,
                    schedule,
                    timezone,
                    to,
                    queues: dq,
                    period_ms,
                    due_within_ms,
                    oldest,
                    catch_up,
                });
            }
        }
        out
    }
}
