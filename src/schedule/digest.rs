//! Scheduled SLA digests for managers (`[[digests]]`): figures from SQL aggregates over the
//! digest's queues, rendered with the `digest` templates, queued through the outbox, and each
//! run recorded (`digest_runs`, unique per digest and scheduled time) in the same transaction,
//! so a run is sent once, also with several instances, and a missed one is found at start.

use crate::notify::NotifyError;
use chrono::TimeZone;
use diesel::Connection;
use serde_json::{json, Value};

use crate::app::App;
use crate::config::{DigestConfig, Scheduled};
use crate::mail::compose::OutgoingMail;
use crate::outbox;
use crate::store::models::{self, Ticket};
use crate::store::AnyConnection;
use crate::ticket::model::{ticket_ref, MessageKind};
use crate::ticket::sla::Hours;
use crate::time::human_duration;

/// How many tickets the breached and at-risk lists show at most.
const LIST_LIMIT: i64 = 50;

/// A time as the digest's readers read it: in the digest's timezone.
fn local(d: &DigestConfig, ms: i64) -> String {
    match chrono::Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t
            .with_timezone(&d.timezone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string(),
        None => String::new(),
    }
}

/// The nearest-rank percentile `p` (0-100) of sorted values.
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn share(measured: i64, met: i64) -> Value {
    json!({
        "measured": measured,
        "met": met,
        "percent": if measured == 0 { "n/a".to_string() } else { format!("{:.1} %", met as f64 * 100.0 / measured as f64) },
    })
}

/// The earliest due time a ticket has (any target).
fn earliest_due(t: &Ticket) -> Option<i64> {
    [t.first_response_due, t.next_response_due, t.resolution_due]
        .into_iter()
        .flatten()
        .min()
}

/// Everything a digest shows, as its templates see it.
pub fn gather(
    p: &App<'_>,
    c: &mut AnyConnection,
    d: &DigestConfig,
    now: i64,
) -> diesel::QueryResult<Value> {
    let cfg = p.cfg;
    let q = &d.queues;
    let from = now - d.period_ms;
    let reference =
        |t: &Ticket| ticket_ref(&cfg.identity_named(t.identity.as_deref()).subject_tag, t.id);
    let (by_status, by_queue) = models::open_counts(c, q)?;
    let (new, resolved) = models::new_and_resolved(c, q, from, now)?;
    let ((fr_n, fr_met), (res_n, res_met)) = models::sla_attainment(c, q, from, now)?;
    let row = |t: &Ticket, extra: (&str, String)| {
        json!({
            "ref": reference(t), "subject": t.subject, "requester": t.requester,
            "assignee": t.assignee.as_deref().unwrap_or("nobody"), "status": t.status,
            "type": t.ticket_type, extra.0: extra.1,
        })
    };
    let breached: Vec<Value> = models::sla_list(c, q, true, now, now, LIST_LIMIT)?
        .iter()
        .map(|t| {
            let late = earliest_due(t).map_or("paused".into(), |due| human_duration(now - due));
            row(t, ("late", late))
        })
        .collect();
    let at_risk: Vec<Value> =
        models::sla_list(c, q, false, now, now + d.due_within_ms, LIST_LIMIT)?
            .iter()
            .map(|t| {
                row(
                    t,
                    ("left", human_duration(earliest_due(t).unwrap_or(now) - now)),
                )
            })
            .collect();
    let oldest: Vec<Value> = models::oldest_open(c, q, d.oldest as i64)?
        .iter()
        .map(|t| row(t, ("age", human_duration(now - t.created_at))))
        .collect();
    let (load, load_breached) = models::load_per_agent(c, q)?;
    let mut agents: Vec<(String, i64, i64, i64)> = Vec::new();
    for (who, status, n) in load {
        let who = who.unwrap_or_else(|| "nobody".into());
        let i = match agents.iter().position(|a| a.0 == who) {
            Some(i) => i,
            None => {
                agents.push((who, 0, 0, 0));
                agents.len() - 1
            }
        };
        if status == "pending" {
            agents[i].2 += n;
        } else {
            agents[i].1 += n;
        }
    }
    for (who, n) in load_breached {
        let who = who.unwrap_or_else(|| "nobody".into());
        if let Some(a) = agents.iter_mut().find(|a| a.0 == who) {
            a.3 += n;
        }
    }
    agents.sort_by(|a, b| a.0.cmp(&b.0));
    let times = |c: &mut AnyConnection, resolved: bool| -> diesel::QueryResult<Value> {
        let mut v: Vec<i64> = models::durations_in(c, q, resolved, from, now)?
            .into_iter()
            .filter_map(|(start, end, policy)| {
                let hours = policy
                    .and_then(|n| cfg.sla.iter().find(|p| p.name == n))
                    .map_or(Hours::Always, |p| p.hours.clone());
                Some(hours.between(start, end?))
            })
            .collect();
        v.sort_unstable();
        let show = |x: Option<i64>| x.map_or("n/a".to_string(), human_duration);
        Ok(
            json!({"count": v.len(), "median": show(percentile(&v, 50)), "p90": show(percentile(&v, 90))}),
        )
    };
    let total: i64 = by_status.iter().map(|(_, n)| n).sum();
    let problems: Vec<Value> = models::open_problems(c, q, LIST_LIMIT)?
        .iter()
        .map(|(t, total, open)| {
            json!({"ref": reference(t), "subject": t.subject, "status": t.status,
                   "assignee": t.assignee.as_deref().unwrap_or("nobody"),
                   "incidents": total, "open_incidents": open, "age": human_duration(now - t.created_at)})
        })
        .collect();
    let linked = models::links_made(c, q, "problem", from, now)?;
    let merged = models::links_made(c, q, "merged_into", from, now)?;
    let self_solved = models::events_in(c, q, "self_solved", from, now)?;
    // Changes: those whose window opens within the next period, and those awaiting approval.
    let (windows, waiting) = models::change_lists(c, q)?;
    let mut scheduled: Vec<(i64, Value)> = windows
        .iter()
        .filter_map(|(t, w)| {
            let start = chrono::DateTime::parse_from_rfc3339(w.split('/').next()?)
                .ok()?
                .timestamp_millis();
            (start >= now && start <= now + d.period_ms).then(|| {
                (
                    start,
                    json!({"ref": reference(t), "subject": t.subject, "window": w,
                               "opens": local(d, start)}),
                )
            })
        })
        .collect();
    scheduled.sort_by_key(|(start, _)| *start);
    let scheduled: Vec<Value> = scheduled.into_iter().map(|(_, v)| v).collect();
    let awaiting: Vec<Value> = waiting
        .iter()
        .map(|(t, chain, step)| {
            json!({"ref": reference(t), "subject": t.subject, "chain": chain, "step": step,
                   "age": human_duration(now - t.created_at)})
        })
        .collect();
    let (asked, answered, score_sum) = models::surveys_in(c, q, from, now)?;
    let average = (answered > 0).then(|| format!("{:.1}", score_sum as f64 / answered as f64));
    // The recurring tickets of the digest's queues due before its next period ends.
    let recurring: Vec<Value> = cfg
        .recurring
        .iter()
        .filter(|r| q.is_empty() || q.contains(&r.queue))
        .filter_map(|r| {
            let at = next_occurrence(r, now).filter(|t| *t <= now + d.period_ms)?;
            Some(
                json!({"name": r.name, "subject": r.subject, "queue": r.queue, "at": local(d, at)}),
            )
        })
        .collect();
    Ok(json!({
        "identity": {"name": cfg.identity.name, "address": cfg.identity.address},
        "digest": {
            "name": d.name,
            "queues": if q.is_empty() { "all queues".to_string() } else { q.join(", ") },
            "from": local(d, from),
            "to": local(d, now),
            "period": human_duration(d.period_ms),
            "due_within": human_duration(d.due_within_ms),
        },
        "open": {
            "total": total,
            "by_status": by_status.iter().map(|(s, n)| json!({"status": s, "count": n})).collect::<Vec<_>>(),
            "by_queue": by_queue.iter().map(|(s, n)| json!({"queue": s, "count": n})).collect::<Vec<_>>(),
        },
        "period": {"new": new, "resolved": resolved, "self_solved": self_solved},
        "csat": {"sent": asked, "answered": answered, "average": average},
        "changes": {"scheduled": scheduled, "awaiting": awaiting},
        "sla": {"first_response": share(fr_n, fr_met), "resolution": share(res_n, res_met)},
        "counts": {"breached": breached.len(), "at_risk": at_risk.len()},
        "breached": breached,
        "at_risk": at_risk,
        "oldest": oldest,
        "agents": agents.iter().map(|(a, o, p, b)| json!({"agent": a, "open": o, "pending": p, "breached": b})).collect::<Vec<_>>(),
        "times": {"first_response": times(c, false)?, "resolution": times(c, true)?},
        "problems": problems,
        "itsm": {"open_problems": problems.len(), "incidents_linked": linked, "merges": merged},
        "recurring": recurring,
        "charts": super::charts::gather(c, d, now)?,
    }))
}

/// The digest as a mail, ready to queue or print.
pub fn compose_digest(
    p: &App<'_>,
    d: &DigestConfig,
    ctx: Value,
    now: i64,
) -> Result<(OutgoingMail, Vec<u8>), NotifyError> {
    let images = super::charts::images(&ctx["charts"]);
    p.notify().compose_report(
        d.to.iter().map(|a| (None, a.clone())).collect(),
        format!("SLA digest \"{}\": {}", d.name, local(d, now)),
        "digest",
        ctx,
        images,
        now,
    )
}

/// What one run did.
#[derive(Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// Queued as this outbox row.
    Queued(i64),
    /// This run was already sent (by this or another instance).
    AlreadySent,
    /// A recurring ticket's run opened this ticket.
    Opened(i64),
}

/// Sends the run of `d` scheduled for `scheduled_for`, unless it was sent: the figures at
/// `now`, the mail queued due at `send_at`, and the run recorded, in one transaction.
pub fn run(
    p: &App<'_>,
    c: &mut AnyConnection,
    d: &DigestConfig,
    scheduled_for: i64,
    now: i64,
    send_at: i64,
) -> Result<RunOutcome, DigestError> {
    let result = c.transaction::<_, DigestError, _>(|c| {
        // Read, then write: wait for other writers (leases, mail) rather than fail on SQLite.
        models::write_lock_first(c)?;
        if models::digest_run_exists(c, &d.name, scheduled_for)? {
            return Ok(RunOutcome::AlreadySent);
        }
        let ctx = gather(p, c, d, now)?;
        let (mail, raw) = compose_digest(p, d, ctx, now)?;
        let id = outbox::enqueue(
            c,
            None,
            "digest",
            MessageKind::Notification,
            &mail,
            &raw,
            now,
            send_at,
        )?;
        models::insert_digest_run(c, &d.name, scheduled_for, now, Some(id))?;
        Ok(RunOutcome::Queued(id))
    });
    match result {
        Ok(r) => Ok(r),
        // Another instance recorded the same run between our check and our insert.
        Err(DigestError::Store(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ))) => Ok(RunOutcome::AlreadySent),
        Err(e) => Err(e),
    }
}

/// Why a digest run failed.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error("database: {0}")]
    Store(#[from] diesel::result::Error),
    #[error(transparent)]
    Mail(#[from] NotifyError),
}

/// The scheduled times of `d` in `(after, until]`, as milliseconds.
pub fn occurrences(d: &impl Scheduled, after: i64, until: i64) -> Vec<i64> {
    let Some(start) = chrono::Utc.timestamp_millis_opt(after).single() else {
        return Vec::new();
    };
    d.schedule()
        .after(&start.with_timezone(&d.timezone()))
        .map(|t| t.timestamp_millis())
        .take_while(|t| *t <= until)
        .take(100_000)
        .collect()
}

/// The first scheduled time of `d` after `after`.
pub fn next_occurrence(d: &impl Scheduled, after: i64) -> Option<i64> {
    let start = chrono::Utc.timestamp_millis_opt(after).single()?;
    d.schedule()
        .after(&start.with_timezone(&d.timezone()))
        .next()
        .map(|t| t.timestamp_millis())
}

/// The run a stopped service missed: the newest scheduled time after the last recorded run
/// and not after `now` (only one, however many were missed). None for a digest never sent.
pub fn missed_run(
    c: &mut AnyConnection,
    d: &impl Scheduled,
    now: i64,
) -> diesel::QueryResult<Option<i64>> {
    let Some(last) = models::last_digest_run(c, &d.run_name())? else {
        return Ok(None);
    };
    Ok(occurrences(d, last, now).last().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(share(0, 0)["percent"], "n/a");
        assert_eq!(share(3, 2)["percent"], "66.7 %");
    }
}
