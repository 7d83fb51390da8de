//! SLA clocks against the database: keeping a ticket's clocks in step with what happens to it
//! ([`sync`]), and the sweep that fires warnings, breaches and escalation steps ([`sweep`]).
//! The arithmetic is in [`crate::ticket::sla`]; this module reads and writes rows.
//!
//! Each clock's due times are computed when something happens to its ticket and stored with
//! `next_check`, the time of its next checkpoint, so a sweep reads only the clocks that are due
//! (a partial index), never every open ticket. A checkpoint is fired by moving the clock's
//! `stage` and `next_check` on, in the transaction that read (and locked) it and that records
//! its events and queues its mails: whichever sweeper gets there first fires it, and only once.

use std::collections::HashMap;

use diesel::Connection;

use super::clocks::{pick_agent, policy_of, sync, to_clock};
use crate::app::App;
use crate::config::{Config, Notify, SlaPolicy};
use crate::notify::Answer;
use crate::outbox;
use crate::store::models::{self, NextCheck, SlaClockRow, Ticket, TicketChanges};
use crate::store::AnyConnection;
use crate::templates::context as ctx;
use crate::ticket::model::{ticket_ref, MessageKind, Priority};
use crate::ticket::sla::{Checkpoint, Clock, Target};
use crate::time::{human_duration, rfc3339};

pub use crate::ticket::sla::SlaEvent;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct SweepReport {
    /// Clocks that had a checkpoint due.
    pub clocks: usize,
    pub warnings: usize,
    pub breaches: usize,
    /// Escalation steps carried out (notices, priority raises, reassignments).
    pub steps: usize,
    /// Mails queued.
    pub mails: usize,
}

/// How many due clocks one transaction takes.
const SWEEP_CHUNK: i64 = 1000;

/// What one chunk of a sweep writes, gathered so it goes out in a few statements.
#[derive(Default)]
struct Plan<'c> {
    /// Clocks by the state they move to: (stage, breached, next check) -> clock ids.
    stages: HashMap<(i32, bool, NextCheck), Vec<i64>>,
    events: Events,
    breached: Vec<i64>,
    /// Notices to agents, composed once the chunk's clocks are fired (alone, or as a summary).
    notices: Vec<Notice<'c>>,
}

/// Events to record: (ticket, kind, detail).
type Events = Vec<(i64, &'static str, String)>;

/// One escalation notice to one agent, not yet composed (its context is built on the
/// composing thread).
struct Notice<'c> {
    ticket: Ticket,
    /// Index into the config's agents.
    agent: usize,
    template: &'static str,
    policy: &'c SlaPolicy,
    target: Target,
    due: i64,
}

impl Notice<'_> {
    fn subject(&self) -> String {
        let prefix = match self.template {
            "sla_warning" => "SLA warning",
            _ => "SLA breached",
        };
        let what = self.target.as_str().replace('_', " ");
        format!("{prefix} ({what}): {}", self.ticket.subject)
    }

    /// The template's context, times read in the recipient's timezone `tz`.
    fn context(&self, cfg: &Config, now: i64, tz: &str) -> ctx::SlaNotice {
        let t = &self.ticket;
        ctx::SlaNotice {
            marker: ctx::MARKER,
            ticket: ctx::Ticket {
                id: t.id,
                reference: ticket_ref(&cfg.identity_named(t.identity.as_deref()).subject_tag, t.id),
                subject: t.subject.clone(),
                status: t.status.clone(),
                priority: t.priority.clone(),
                queue: t.queue.clone(),
                assignee: t.assignee.clone(),
                sla_due: Some(rfc3339(self.due)),
                sla_due_ms: Some(self.due),
                ticket_type: t.ticket_type.clone(),
            },
            target: self.target.as_str().replace('_', " "),
            due: rfc3339(self.due),
            due_ms: self.due,
            left: human_duration(self.policy.hours.between(now, self.due)),
            late: human_duration(now - self.due),
            requester: t.requester.clone(),
            assignee: t.assignee.as_deref().unwrap_or("nobody").to_string(),
            policy: self.policy.name.clone(),
            recipient: ctx::Recipient {
                timezone: tz.to_string(),
            },
        }
    }
}

/// Fires every checkpoint due at `now`: events, escalation mails (sla_warning, sla_breach, or
/// sla_summary for many to one agent), priority raises and reassignments. Returns the outbox
/// rows queued with what it did.
///
/// The mails are queued due at `send_at` (a caller that delivers them itself holds them).
/// Clocks are claimed as they are read (row locks on PostgreSQL, the write lock on SQLite),
/// and moved on with what they cause in the same transaction, so a checkpoint fires once even
/// with several sweepers, and not at all if the transaction fails (the next sweep tries again).
pub fn sweep(
    p: &App<'_>,
    c: &mut AnyConnection,
    now: i64,
    send_at: i64,
) -> diesel::QueryResult<(SweepReport, Vec<i64>)> {
    let mut report = SweepReport::default();
    let mut outbox_ids = Vec::new();
    loop {
        let n = c.transaction(|c| {
            let due = models::claim_due_sla_clocks(c, now, SWEEP_CHUNK)?;
            if due.is_empty() {
                return Ok(0);
            }
            let ids: Vec<i64> = due.iter().map(|(_, r)| r.ticket_id).collect();
            let mut tickets: HashMap<i64, Ticket> = models::tickets_by_ids(c, &ids)?
                .into_iter()
                .map(|t| (t.id, t))
                .collect();
            let mut plan = Plan::default();
            for (id, row) in &due {
                let ticket = tickets.get_mut(&row.ticket_id);
                fire(p, c, *id, row, ticket, now, &mut plan, &mut report)?;
            }
            // The notices are rendered and composed on a thread of their own while this one
            // writes the clocks and events (CPU beside database round trips).
            let notices = std::mem::take(&mut plan.notices);
            let (composed, written) = if notices.is_empty() {
                (Ok((Vec::new(), Vec::new())), write_plan(c, now, &plan))
            } else {
                std::thread::scope(|s| {
                    let composing = s.spawn(|| compose_notices(p, now, notices));
                    let written = write_plan(c, now, &plan);
                    (composing.join(), written)
                })
            };
            written?;
            let (mails, failed) = composed.unwrap_or_else(|e| std::panic::resume_unwind(e));
            models::insert_events(c, now, "system", &failed)?;
            report.mails += mails.len();
            outbox_ids.extend(outbox::enqueue_many(c, &mails, now, send_at)?);
            Ok::<_, diesel::result::Error>(due.len())
        })?;
        if (n as i64) < SWEEP_CHUNK {
            break;
        }
    }
    Ok((report, outbox_ids))
}

/// Writes what firing a chunk's clocks decided: their new stages, the events, the breached marks.
fn write_plan(c: &mut AnyConnection, now: i64, plan: &Plan) -> diesel::QueryResult<()> {
    for ((stage, breached, next), ids) in &plan.stages {
        models::set_sla_stage(c, ids, *stage, *breached, *next)?;
    }
    models::insert_events(c, now, "system", &plan.events)?;
    if !plan.breached.is_empty() {
        models::mark_sla_breached(c, &plan.breached)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn fire<'c>(
    p: &App<'c>,
    c: &mut AnyConnection,
    id: i64,
    row: &SlaClockRow,
    ticket: Option<&mut Ticket>,
    now: i64,
    plan: &mut Plan<'c>,
    report: &mut SweepReport,
) -> diesel::QueryResult<()> {
    let (Some(ticket), Some(clock)) = (ticket, to_clock(row)) else {
        // A clock whose ticket is gone is not looked at again.
        plan.stages
            .entry((row.stage, row.breached, NextCheck::Never))
            .or_default()
            .push(id);
        return Ok(());
    };
    let Some(policy) = policy_of(p.cfg, ticket) else {
        plan.stages
            .entry((row.stage, row.breached, NextCheck::Never))
            .or_default()
            .push(id);
        return Ok(());
    };
    let fired = clock.due_checkpoints(&policy.checkpoints, now);
    let stage = clock.stage + fired.len() as i32;
    let breached = clock.breached || fired.contains(&Checkpoint::Breach);
    let next = match policy.checkpoints.get(stage as usize) {
        _ if !clock.running() => NextCheck::Never,
        None => NextCheck::Never,
        Some(Checkpoint::Warning) => NextCheck::WarnAt,
        Some(Checkpoint::Breach) => NextCheck::DueAt,
        Some(Checkpoint::AfterBreach(a)) => NextCheck::DuePlus(*a),
    };
    plan.stages
        .entry((stage, breached, next))
        .or_default()
        .push(id);
    if fired.is_empty() {
        return Ok(());
    }
    report.clocks += 1;
    let what = clock.target.as_str().replace('_', " ");
    let due = clock.due_at.unwrap_or(now);
    for cp in fired {
        let (kind, detail) = match cp {
            Checkpoint::Warning => {
                report.warnings += 1;
                ("sla_warning", format!("{what} due {}", rfc3339(due)))
            }
            Checkpoint::Breach => {
                report.breaches += 1;
                if !ticket.sla_breached {
                    plan.breached.push(ticket.id);
                    ticket.sla_breached = true;
                }
                ("sla_breach", format!("{what} was due {}", rfc3339(due)))
            }
            Checkpoint::AfterBreach(a) => (
                "sla_escalation",
                format!(
                    "{what} {} past its due time {}",
                    human_duration(a),
                    rfc3339(due)
                ),
            ),
        };
        plan.events.push((ticket.id, kind, detail));
        for step in policy.escalate.iter().filter(|s| s.at == cp) {
            report.steps += 1;
            let mut changed = false;
            if step.raise_priority {
                let prio = Priority::parse(&ticket.priority).unwrap_or(Priority::Normal);
                let up = match prio {
                    Priority::Low => Priority::Normal,
                    Priority::Normal => Priority::High,
                    _ => Priority::Urgent,
                };
                if up != prio {
                    plan.events.push((
                        ticket.id,
                        "priority",
                        format!("{prio} -> {up} (SLA escalation)"),
                    ));
                    ticket.priority = up.as_str().into();
                    changed = true;
                }
            }
            if let Some(how) = &step.reassign {
                if let Some(agent) = pick_agent(p.cfg, c, how, &ticket.queue)? {
                    if ticket.assignee.as_deref() != Some(agent.as_str()) {
                        plan.events.push((
                            ticket.id,
                            "assign",
                            format!("{agent} (SLA escalation)"),
                        ));
                        ticket.assignee = Some(agent);
                        changed = true;
                    }
                }
            }
            if changed {
                models::update_ticket(
                    c,
                    ticket.id,
                    &TicketChanges {
                        priority: Some(ticket.priority.clone()),
                        assignee: Some(ticket.assignee.clone()),
                        updated_at: Some(now),
                        ..TicketChanges::default()
                    },
                )?;
                // The other clocks follow the new priority (this one is set by the plan).
                sync(c, p.cfg, ticket, now, SlaEvent::Changed)?;
            }
            notify(p, ticket, policy, &clock, cp, &step.notify, now, plan);
        }
    }
    Ok(())
}

/// Composes the step's notices into the plan; a template or address problem becomes an event.
#[allow(clippy::too_many_arguments)]
fn notify<'c>(
    p: &App<'c>,
    ticket: &Ticket,
    policy: &'c SlaPolicy,
    clock: &Clock,
    cp: Checkpoint,
    who: &[Notify],
    now: i64,
    plan: &mut Plan<'c>,
) {
    let cfg = p.cfg;
    let mut agents: Vec<&crate::config::AgentConfig> = Vec::new();
    for n in who {
        let add: Vec<&crate::config::AgentConfig> = match n {
            Notify::Assignee => p.cfg.agents_for(ticket.assignee.as_deref(), &ticket.queue),
            Notify::Queue => cfg.queue_agents(&ticket.queue).collect(),
            Notify::Managers => cfg.agents.iter().filter(|a| a.role == "manager").collect(),
        };
        for a in add {
            if !agents.iter().any(|x| x.address == a.address) {
                agents.push(a);
            }
        }
    }
    let template = match cp {
        Checkpoint::Warning => "sla_warning",
        _ => "sla_breach",
    };
    for agent in agents {
        let Some(index) = cfg.agents.iter().position(|a| a.address == agent.address) else {
            continue;
        };
        plan.notices.push(Notice {
            ticket: ticket.clone(),
            agent: index,
            template,
            policy,
            target: clock.target,
            due: clock.due_at.unwrap_or(now),
        });
    }
}

/// Composes the chunk's notices into its mails: each on its own, threaded with its ticket, or,
/// where one agent has more than `[scheduler] notice_batch` of one kind, one summary mail
/// listing them (an agent with 500 breached tickets gets one mail, not 500). A template or
/// address problem becomes an event on the ticket.
fn compose_notices(p: &App<'_>, now: i64, notices: Vec<Notice>) -> (Vec<outbox::Queued>, Events) {
    let cfg = p.cfg;
    let (mut mails, mut failed) = (Vec::new(), Vec::new());
    let mut groups: Vec<((usize, &'static str), Vec<Notice>)> = Vec::new();
    for n in notices {
        let key = (n.agent, n.template);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(n),
            None => groups.push((key, vec![n])),
        }
    }
    let answer = Answer {
        hops: 0,
        now,
        due_at: now,
    };
    for ((agent, template), mut notices) in groups {
        let agent = &cfg.agents[agent];
        if summarised(notices.len(), cfg.scheduler.notice_batch) {
            notices.sort_by_key(|n| (n.due, n.ticket.id));
            let ids: Vec<i64> = notices.iter().map(|n| n.ticket.id).collect();
            match compose_summary(p, agent, template, notices, now) {
                Ok((mail, raw)) => mails.push(outbox::Queued {
                    ticket_id: None,
                    kind: "sla_summary",
                    message_kind: MessageKind::Notification,
                    mail,
                    raw,
                }),
                Err(e) => {
                    let e = e.to_string();
                    failed.extend(
                        ids.into_iter()
                            .map(|id| (id, "sla_notice_failed", e.clone())),
                    )
                }
            }
            continue;
        }
        for n in notices {
            let out = p
                .notify()
                .about_ticket(&n.ticket, &n.subject(), None, answer);
            // Times in the notice are read in the recipient's timezone.
            let ctx = n.context(cfg, now, &agent.timezone);
            match p
                .notify()
                .compose_to_agent(n.ticket.id, agent, n.template, &ctx, out)
            {
                Ok((mail, raw)) => mails.push(outbox::Queued {
                    ticket_id: Some(n.ticket.id),
                    kind: n.template,
                    message_kind: MessageKind::Notification,
                    mail,
                    raw,
                }),
                Err(e) => failed.push((n.ticket.id, "sla_notice_failed", e.to_string())),
            }
        }
    }
    (mails, failed)
}

/// Whether `count` notices of one kind to one agent go as one summary: more than `batch`, and
/// never when `batch` is 0 (every notice on its own, as `[scheduler] notice_batch` documents).
fn summarised(count: usize, batch: usize) -> bool {
    batch > 0 && count > batch
}

/// One mail to `agent` listing `notices` (all warnings, or all breaches), earliest due first.
fn compose_summary(
    p: &App<'_>,
    agent: &crate::config::AgentConfig,
    template: &str,
    notices: Vec<Notice<'_>>,
    now: i64,
) -> Result<(crate::mail::compose::OutgoingMail, Vec<u8>), crate::notify::NotifyError> {
    let id = &p.cfg.identity;
    let breach = template == "sla_breach";
    let distinct = notices
        .iter()
        .map(|n| n.ticket.id)
        .collect::<std::collections::HashSet<_>>()
        .len();
    let count = notices.len();
    let tickets: Vec<ctx::SlaNotice> = notices
        .iter()
        .map(|n| n.context(p.cfg, now, &agent.timezone))
        .collect();
    let summary = ctx::SlaSummary {
        breach,
        count,
        tickets_count: distinct,
        tickets,
        recipient: ctx::Recipient {
            timezone: agent.timezone.clone(),
        },
        identity: ctx::Identity {
            name: id.name.clone(),
            address: id.address.clone(),
        },
    };
    let ctx = serde_json::to_value(&summary).unwrap_or_default();
    let kind = if breach {
        "SLA breaches"
    } else {
        "SLA warnings"
    };
    p.notify().compose_report(
        vec![(Some(agent.name.clone()), agent.address.clone())],
        format!("{count} {kind} on {distinct} tickets"),
        "sla_summary",
        ctx,
        Vec::new(),
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::summarised;

    #[test]
    fn notices_go_as_a_summary_only_past_a_nonzero_batch() {
        for (count, batch, want) in [
            (10, 10, false),
            (11, 10, true),
            (1, 1, false),
            (2, 1, true),
            (1, 0, false),
            (1000, 0, false),
        ] {
            assert_eq!(
                summarised(count, batch),
                want,
                "{count} notices, batch {batch}"
            );
        }
    }
}
