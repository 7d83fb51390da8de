//! The SLA clocks of each ticket kept in step with it (started, paused, met, moved), and
//! the assignee picked by workload: what the pipeline and the sweep both do to tickets.

use crate::config::{Config, SlaPolicy};
use crate::store::models::{self, SlaClockRow, Ticket, TicketChanges};
use crate::store::AnyConnection;
use crate::ticket::model::{Priority, Status};
use crate::ticket::rules::{self, Assign};
pub use crate::ticket::sla::SlaEvent;
use crate::ticket::sla::{Clock, Target};
use std::collections::HashMap;

/// The policy a ticket is under, if any (and if the config still has it).
pub fn policy_of<'c>(cfg: &'c Config, ticket: &Ticket) -> Option<&'c SlaPolicy> {
    let name = ticket.sla_policy.as_deref()?;
    cfg.sla.iter().find(|p| p.name == name)
}

pub(crate) fn to_clock(r: &SlaClockRow) -> Option<Clock> {
    Some(Clock {
        target: Target::parse(&r.target)?,
        target_ms: r.target_ms,
        started_at: r.started_at,
        warn_at: r.warn_at,
        due_at: r.due_at,
        warn_left: r.warn_left,
        due_left: r.due_left,
        stage: r.stage,
        breached: r.breached,
        stopped_at: r.stopped_at,
    })
}

pub(crate) fn to_row(ticket: i64, c: &Clock, p: &SlaPolicy) -> SlaClockRow {
    SlaClockRow {
        ticket_id: ticket,
        target: c.target.as_str().into(),
        target_ms: c.target_ms,
        started_at: c.started_at,
        warn_at: c.warn_at,
        due_at: c.due_at,
        warn_left: c.warn_left,
        due_left: c.due_left,
        stage: c.stage,
        breached: c.breached,
        stopped_at: c.stopped_at,
        next_check: c.next_check(&p.checkpoints),
    }
}

/// Brings a ticket's clocks in step with the ticket as it now is (status, priority, first
/// response) after `ev`, and writes the due times shown on the ticket, in the row and in
/// `ticket` (so the caller need not read it back).
pub fn sync(
    c: &mut AnyConnection,
    cfg: &Config,
    ticket: &mut Ticket,
    now: i64,
    ev: SlaEvent,
) -> diesel::QueryResult<()> {
    let Some(p) = policy_of(cfg, ticket) else {
        return Ok(());
    };
    let prio = Priority::parse(&ticket.priority).unwrap_or(Priority::Normal);
    let status = Status::parse(&ticket.status).unwrap_or(Status::Open);
    let rows = if ev == SlaEvent::Opened {
        Vec::new()
    } else {
        models::sla_clocks_of(c, ticket.id)?
    };
    let before: HashMap<Target, Clock> = rows
        .iter()
        .filter_map(to_clock)
        .map(|k| (k.target, k))
        .collect();
    let mut clocks = before.clone();
    let start = |t: Target| {
        p.targets(t)
            .get(prio)
            .map(|ms| Clock::start(t, ms, p.warn_at, now, &p.hours))
    };
    match ev {
        SlaEvent::Opened => {
            for t in [Target::FirstResponse, Target::Resolution] {
                if let Some(k) = start(t) {
                    clocks.insert(t, k);
                }
            }
        }
        SlaEvent::CustomerReply => {
            let waiting = clocks
                .get(&Target::NextResponse)
                .is_some_and(|k| k.stopped_at.is_none());
            if ticket.first_response_at.is_some() && !waiting {
                if let Some(k) = start(Target::NextResponse) {
                    clocks.insert(Target::NextResponse, k);
                }
            }
        }
        SlaEvent::Answered => {
            for t in [Target::FirstResponse, Target::NextResponse] {
                if let Some(k) = clocks.get_mut(&t) {
                    k.stop(now);
                }
            }
        }
        SlaEvent::Changed => {
            // A policy given later (by a rule on a reply, by a change of type) starts the
            // clocks the ticket would have had, from its opening.
            let open = !matches!(status, Status::Resolved | Status::Closed);
            let mut missing = vec![Target::Resolution];
            if ticket.first_response_at.is_none() {
                missing.push(Target::FirstResponse);
            }
            for t in missing {
                if open && !clocks.contains_key(&t) {
                    if let Some(ms) = p.targets(t).get(prio) {
                        let k = Clock::start(t, ms, p.warn_at, ticket.created_at, &p.hours);
                        clocks.insert(t, k);
                    }
                }
            }
        }
    }
    let done = matches!(status, Status::Resolved | Status::Closed);
    for k in clocks.values_mut() {
        if done && k.target != Target::Resolution {
            k.stop(now);
        } else if done || p.pause_when.contains(&status) {
            k.pause(now, &p.hours);
        } else {
            k.resume(now, &p.hours);
        }
        match p.targets(k.target).get(prio) {
            Some(ms) => k.retarget(ms, p.warn_at, now, &p.hours),
            // The policy (changed) has no such target: the clock stops.
            None => k.stop(now),
        }
    }
    for (t, k) in &clocks {
        if before.get(t) != Some(k) {
            models::save_sla_clock(c, &to_row(ticket.id, k, p))?;
        }
    }
    let due = |t: Target| clocks.get(&t).and_then(|k| k.due_at);
    let changes = TicketChanges {
        first_response_due: Some(due(Target::FirstResponse)),
        next_response_due: Some(due(Target::NextResponse)),
        resolution_due: Some(due(Target::Resolution)),
        sla_breached: Some(clocks.values().any(|k| k.breached)),
        ..TicketChanges::default()
    };
    let unchanged = changes.first_response_due == Some(ticket.first_response_due)
        && changes.next_response_due == Some(ticket.next_response_due)
        && changes.resolution_due == Some(ticket.resolution_due)
        && changes.sla_breached == Some(ticket.sla_breached);
    if !unchanged {
        models::update_ticket(c, ticket.id, &changes)?;
        ticket.first_response_due = due(Target::FirstResponse);
        ticket.next_response_due = due(Target::NextResponse);
        ticket.resolution_due = due(Target::Resolution);
        ticket.sla_breached = clocks.values().any(|k| k.breached);
    }
    Ok(())
}

/// The agent `how` picks within `queue` (round robin, least open, or a named one).
pub fn pick_agent(
    cfg: &Config,
    c: &mut AnyConnection,
    how: &Assign,
    queue: &str,
) -> diesel::QueryResult<Option<String>> {
    let pool: Vec<String> = cfg.queue_agents(queue).map(|a| a.address.clone()).collect();
    Ok(match how {
        Assign::Agent(a) => Some(a.clone()),
        Assign::RoundRobin => {
            let last = models::last_assignee_in_queue(c, queue)?;
            rules::round_robin(&pool, last.as_deref()).cloned()
        }
        Assign::LeastOpen => {
            let open = models::open_per_assignee(c, &pool)?;
            rules::least_open(&pool, &open).cloned()
        }
    })
}
