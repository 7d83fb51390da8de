//! The approver's pages: `/approve/TOKEN` and `/reject/TOKEN` show what is decided (a GET
//! decides nothing); the button's POST records the decision on the approver's decision row,
//! once, as an answer by mail would.

use std::sync::Arc;

use diesel::Connection;
use hyper::StatusCode;

use super::{html, not_found, page, unavailable, with_db, Page, Web};
use crate::pipeline::approvals::Recorded;
use crate::store::models;
use crate::ticket::approval::State;

/// The page that asks.
pub(super) async fn show(web: &Arc<Web>, decision: i64, token: &str, approve: bool) -> Page {
    let found = with_db(web, false, move |app, c| {
        let Some(d) = models::decision(c, decision)? else {
            return Ok(None);
        };
        let Some(a) = models::approval(c, d.approval_id)? else {
            return Ok(None);
        };
        let Some(t) = models::get_ticket(c, a.ticket_id)? else {
            return Ok(None);
        };
        let fields: Vec<(String, String)> = models::fields_of(c, &[t.id])?
            .remove(&t.id)
            .unwrap_or_default()
            .into_iter()
            .collect();
        Ok(Some((
            app.notify().ticket_ctx(&t).reference,
            t.subject,
            fields,
            d,
            a,
        )))
    })
    .await;
    match found {
        None => unavailable(),
        Some(None) => not_found(),
        Some(Some((reference, _, _, d, a)))
            if a.state != "pending" || d.step != a.step || d.decision != "pending" =>
        {
            html(
                StatusCode::OK,
                page::approval_done(
                    &reference,
                    &format!(
                        "This step was decided already; the approval is {}.",
                        a.state
                    ),
                    false,
                ),
            )
        }
        Some(Some((reference, subject, fields, _, a))) => html(
            StatusCode::OK,
            page::approval_form(
                token,
                &reference,
                &subject,
                &fields,
                (approve, &a.chain, a.step),
            ),
        ),
    }
}

/// The button: the decision recorded (a rejection needs its reason).
pub(super) async fn record(web: &Arc<Web>, decision: i64, approve: bool, comment: String) -> Page {
    if !approve && comment.is_empty() {
        return html(
            StatusCode::BAD_REQUEST,
            page::problem(
                "A reason is needed",
                "Go back and write why you reject it, then press the button again.",
            ),
        );
    }
    let done = with_db(web, true, move |app, c| {
        c.transaction(|c| {
            models::write_lock_first(c)?;
            let now = crate::time::now_ms();
            let r = crate::pipeline::approvals::record(
                app,
                c,
                decision,
                (approve, &comment),
                "web",
                now,
            )?;
            let reference = match models::decision(c, decision)? {
                Some(d) => match models::approval(c, d.approval_id)? {
                    Some(a) => models::get_ticket(c, a.ticket_id)?
                        .map(|t| app.notify().ticket_ctx(&t).reference),
                    None => None,
                },
                None => None,
            };
            Ok((r, reference.unwrap_or_default()))
        })
    })
    .await;
    let word = |s: State| s.as_str();
    match done {
        None => unavailable(),
        Some((Recorded::Unknown, _)) => not_found(),
        Some((Recorded::Closed(state), reference)) => html(
            StatusCode::OK,
            page::approval_done(
                &reference,
                &format!(
                    "This step was decided already; the approval is {}. Nothing changed.",
                    word(state)
                ),
                false,
            ),
        ),
        Some((Recorded::Yes { chain, outbox }, reference)) => {
            if !outbox.is_empty() {
                web.outbox_ready.notify_one();
            }
            let what = if approve { "approved" } else { "rejected" };
            html(
                StatusCode::OK,
                page::approval_done(
                    &reference,
                    &format!(
                        "Thank you: you {what} it. The approval is now {}.",
                        word(chain)
                    ),
                    true,
                ),
            )
        }
    }
}
