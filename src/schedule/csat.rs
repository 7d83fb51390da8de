//! Satisfaction surveys (`[csat]`): a resolution schedules one (in the transaction that
//! resolves), a reopening cancels it, the scheduler sends it when due (once across instances),
//! and an answer, by mail or on the one-click page, is recorded once; a low score tells the
//! assignee and the queue's managers.

use crate::app::App;
use crate::notify::Answer;
use diesel::Connection;

use crate::store::models::{self, NewSurvey, SurveyRow, Ticket};
use crate::store::AnyConnection;
use crate::templates::context as ctx;
use crate::ticket::csat::{self, Plan, Resolution};
use crate::ticket::model::is_done;

/// How long a survey's one-click links work.
pub const LINK_LIFE_S: i64 = 30 * 24 * 3600;
/// How long a bounced address is not asked.
const BOUNCE_MEMORY_MS: i64 = 30 * 24 * 3_600_000;
/// How many due surveys one transaction takes.
const CHUNK: i64 = 100;

/// A ticket's status changed from `was` to the one in `ticket` (as now stored): a resolution
/// schedules a survey, a reopening cancels the one not yet sent.
pub fn status_changed(
    app: &App<'_>,
    c: &mut AnyConnection,
    ticket: &Ticket,
    was: &str,
    now: i64,
) -> diesel::QueryResult<()> {
    let Some(cfg) = &app.cfg.csat else {
        return Ok(());
    };
    match (is_done(was), is_done(&ticket.status)) {
        (false, true) => {
            let resolved_at = ticket.resolved_at.unwrap_or(now);
            let address = requester(app, c, ticket)?;
            let opened_by = models::ticket_opened_by(c, ticket.id)?;
            let plan = csat::plan(
                cfg,
                Resolution {
                    ticket: ticket.id,
                    resolved_at,
                    queue: &ticket.queue,
                    customer: address.is_some(),
                    opened_by_agent: opened_by.is_some_and(|a| app.cfg.agent(&a).is_some()),
                },
            );
            let (Some(plan), Some(address)) = (plan, address) else {
                return Ok(());
            };
            let (state, due_at, reason) = match &plan {
                Plan::Ask { due_at } => ("scheduled", *due_at, None),
                Plan::Skip(why) => ("skipped", resolved_at, Some(why.as_str())),
            };
            models::insert_survey(
                c,
                &NewSurvey {
                    ticket_id: ticket.id,
                    resolved_at,
                    due_at,
                    address: &address,
                    queue: &ticket.queue,
                    assignee: ticket.assignee.as_deref(),
                    state,
                    reason,
                },
            )?;
        }
        (true, false)
            if models::cancel_scheduled_surveys(c, ticket.id, "the ticket reopened first")? > 0 =>
        {
            models::insert_event(
                c,
                ticket.id,
                now,
                "system",
                "csat_cancelled",
                "the satisfaction survey was not sent: the ticket reopened first",
            )?;
        }
        _ => {}
    }
    Ok(())
}

/// The customer a survey goes to: the requester, when it is a customer.
fn requester(
    app: &App<'_>,
    c: &mut AnyConnection,
    ticket: &Ticket,
) -> diesel::QueryResult<Option<String>> {
    let people = models::participants_of_ticket(c, ticket.id)?;
    Ok(app
        .notify()
        .requester_among(&people, ticket)
        .map(|(_, a)| a))
}

/// What a sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub sent: usize,
    pub cancelled: usize,
    pub skipped: usize,
}

/// Sends every survey due at `now`, its mail queued due at `send_at` (a caller that delivers
/// it itself holds it). Each is claimed (moved from `scheduled`) in the transaction that
/// queues its mail, so it goes out once however many instances sweep.
pub fn sweep(
    app: &App<'_>,
    c: &mut AnyConnection,
    now: i64,
    send_at: i64,
) -> diesel::QueryResult<(SweepReport, Vec<i64>)> {
    let mut report = SweepReport::default();
    let mut outbox_ids = Vec::new();
    loop {
        let n = c.transaction(|c| {
            models::write_lock_first(c)?;
            let due = models::due_surveys(c, now, CHUNK)?;
            for s in &due {
                match send(app, c, s, (now, send_at))? {
                    Sent::Queued(id) => {
                        report.sent += 1;
                        outbox_ids.extend(id);
                    }
                    Sent::Cancelled => report.cancelled += 1,
                    Sent::Skipped => report.skipped += 1,
                    Sent::Taken => {}
                }
            }
            Ok::<_, diesel::result::Error>(due.len())
        })?;
        if (n as i64) < CHUNK {
            break;
        }
    }
    Ok((report, outbox_ids))
}

enum Sent {
    Queued(Option<i64>),
    Cancelled,
    Skipped,
    /// Another instance took it first.
    Taken,
}

fn send(
    app: &App<'_>,
    c: &mut AnyConnection,
    s: &SurveyRow,
    (now, send_at): (i64, i64),
) -> diesel::QueryResult<Sent> {
    let ticket = models::get_ticket(c, s.ticket_id)?;
    let Some(ticket) =
        ticket.filter(|t| is_done(&t.status) && t.resolved_at == Some(s.resolved_at))
    else {
        let moved = models::move_survey(
            c,
            s.id,
            "scheduled",
            "cancelled",
            Some("the ticket reopened first"),
            None,
        )?;
        return Ok(if moved { Sent::Cancelled } else { Sent::Taken });
    };
    let bounced = models::failed_recipients(
        c,
        &std::iter::once(s.address.clone()).collect(),
        now - BOUNCE_MEMORY_MS,
    )?;
    if !bounced.is_empty() {
        let why = format!("mail to {} bounced lately", s.address);
        let moved = models::move_survey(c, s.id, "scheduled", "skipped", Some(&why), None)?;
        return Ok(if moved { Sent::Skipped } else { Sent::Taken });
    }
    if !models::move_survey(c, s.id, "scheduled", "sent", None, Some(now))? {
        return Ok(Sent::Taken);
    }
    let n = app.notify();
    let links = match &app.cfg.web {
        Some(web) => {
            let token = app.keys.click_token("csat", s.id, now / 1000 + LINK_LIFE_S);
            (1..=5)
                .rev()
                .map(|score| ctx::ScoreLink {
                    score,
                    label: ctx::score_label(score),
                    url: format!("{}/csat/{token}?score={score}", web.public_url),
                })
                .collect()
        }
        None => Vec::new(),
    };
    let name = models::participants_of_ticket(c, ticket.id)?
        .into_iter()
        .find(|(a, _, _)| *a == s.address)
        .and_then(|(_, n, _)| n);
    let context = ctx::CsatSurvey {
        identity: n.identity_ctx(&ticket),
        ticket: n.ticket_ctx(&ticket),
        customer: ctx::Person::new(&s.address, name.as_deref()),
        links,
    };
    let answer = Answer {
        hops: 0,
        now,
        due_at: send_at,
    };
    let id = n.automatic_to_customer(
        c,
        &ticket,
        (name, s.address.clone()),
        "csat_survey",
        &context,
        answer,
    )?;
    models::insert_event(
        c,
        ticket.id,
        now,
        "system",
        "csat_asked",
        &format!("satisfaction survey sent to {}", s.address),
    )?;
    Ok(Sent::Queued(id))
}

/// What became of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    /// Recorded; the outbox rows of the low-score notices.
    Recorded(Vec<i64>),
    /// The survey was answered before: nothing changed.
    Already,
    /// No such survey went out.
    Unknown,
}

/// Records `score` (and `comment`) as the answer to survey `id`, once: the event on the
/// ticket, and for a low score a notice to the assignee (else the queue's agents) and the
/// queue's managers. `via` is `mail` or `web`. Runs in the caller's transaction.
pub fn record_answer(
    app: &App<'_>,
    c: &mut AnyConnection,
    id: i64,
    (score, comment): (u8, &str),
    via: &str,
    now: i64,
) -> diesel::QueryResult<Answered> {
    let Some(s) = models::survey(c, id)? else {
        return Ok(Answered::Unknown);
    };
    if !models::answer_survey(c, id, score, comment, via, now)? {
        return Ok(if s.state == "answered" {
            Answered::Already
        } else {
            Answered::Unknown
        });
    }
    let detail = if comment.is_empty() {
        format!("{score} of 5 ({}), by {via}", ctx::score_label(score))
    } else {
        format!(
            "{score} of 5 ({}), by {via}: {}",
            ctx::score_label(score),
            crate::mail::parse::one_line(comment)
        )
    };
    models::insert_event(c, s.ticket_id, now, &s.address, "csat", &detail)?;
    let mut ids = Vec::new();
    if score > csat::LOW {
        return Ok(Answered::Recorded(ids));
    }
    let Some(ticket) = models::get_ticket(c, s.ticket_id)? else {
        return Ok(Answered::Recorded(ids));
    };
    let n = app.notify();
    let name = models::participants_of_ticket(c, ticket.id)?
        .into_iter()
        .find(|(a, _, _)| *a == s.address)
        .and_then(|(_, n, _)| n);
    let context = ctx::CsatLow {
        marker: ctx::MARKER,
        ticket: ctx::Ticket {
            assignee: ticket.assignee.clone(),
            ..n.ticket_ctx(&ticket)
        },
        customer: ctx::Person::new(&s.address, name.as_deref()),
        score,
        label: ctx::score_label(score),
        comment: comment.to_string(),
    };
    let answer = Answer {
        hops: 0,
        now,
        due_at: now,
    };
    let cfg = app.cfg;
    let mut agents = cfg.agents_for(ticket.assignee.as_deref(), &ticket.queue);
    for m in cfg.queue_managers(&ticket.queue) {
        if !agents.iter().any(|a| a.address == m.address) {
            agents.push(m);
        }
    }
    for agent in agents {
        let out = n.about_ticket(
            &ticket,
            &format!("Low satisfaction ({score} of 5): {}", ticket.subject),
            None,
            answer,
        );
        ids.extend(n.send_to_agent(c, ticket.id, agent, "csat_low", &context, out, answer)?);
    }
    Ok(Answered::Recorded(ids))
}
