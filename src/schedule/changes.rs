//! Approved changes around their window: the assignee (else the queue's agents) is reminded
//! `[changes] remind_before` the window opens, and asked for a post-implementation note once it
//! has closed; each once per window, across instances.

use diesel::Connection;

use crate::app::App;
use crate::notify::Answer;
use crate::store::models;
use crate::store::AnyConnection;

/// The window `START/END` in milliseconds.
fn window_ms(w: &str) -> Option<(i64, i64)> {
    let (a, b) = w.split_once('/')?;
    Some((
        chrono::DateTime::parse_from_rfc3339(a)
            .ok()?
            .timestamp_millis(),
        chrono::DateTime::parse_from_rfc3339(b)
            .ok()?
            .timestamp_millis(),
    ))
}

/// Sends what is due at `now`; returns the outbox rows.
pub fn sweep(app: &App<'_>, c: &mut AnyConnection, now: i64) -> diesel::QueryResult<Vec<i64>> {
    let before = crate::time::millis(app.cfg.changes.remind_before);
    c.transaction(|c| {
        models::write_lock_first(c)?;
        let mut out = Vec::new();
        for (t, window) in models::approved_change_windows(c)? {
            let Some((start, end)) = window_ms(&window) else { continue };
            let kind = if now >= end {
                "review"
            } else if now >= start - before {
                "reminder"
            } else {
                continue;
            };
            if !models::claim_change_notice(c, t, kind, &window, now)? {
                continue;
            }
            let Some(ticket) = models::get_ticket(c, t)? else { continue };
            let reference = app.notify().ticket_ctx(&ticket).reference;
            let (title, lines) = if kind == "reminder" {
                (
                    "Change window opens soon",
                    vec![
                        format!("The approved change {reference} \"{}\" is to be carried out in its window {window}.", ticket.subject),
                        format!("It opens in {}.", crate::time::human_duration(start - now)),
                    ],
                )
            } else {
                (
                    "Post-implementation note asked",
                    vec![
                        format!("The window {window} of the change {reference} \"{}\" has closed.", ticket.subject),
                        "Please answer this mail with #note and what was done (and anything that went wrong), then #status resolved.".to_string(),
                    ],
                )
            };
            let n = app.notify();
            let answer = Answer { hops: 0, now, due_at: now };
            for agent in app.cfg.agents_for(ticket.assignee.as_deref(), &ticket.queue) {
                out.extend(n.agent_notice(c, &ticket, agent, title, lines.clone(), answer)?);
            }
            models::insert_event(
                c,
                t,
                now,
                "system",
                if kind == "reminder" { "change_reminded" } else { "change_review_asked" },
                &lines[0],
            )?;
        }
        Ok(out)
    })
}
