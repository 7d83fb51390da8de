//! The "this solved my problem" page of an article offered in the acknowledgement: the GET
//! asks, the POST resolves the ticket as solved by the customer (`self_solved`), once.

use std::sync::Arc;

use diesel::Connection;
use hyper::StatusCode;

use super::{html, not_found, page, unavailable, with_db, Page, Web};
use crate::store::models::{self, TicketChanges};
use crate::ticket::model::{is_done, Status};
use crate::ticket::sla::SlaEvent;

/// An article name as a page may show it (the name rules of articles; anything else dropped).
fn article_name(a: Option<String>) -> Option<String> {
    a.filter(|n| crate::knowledge::is_article_name(n))
}

/// The page that asks.
pub(super) async fn show(
    web: &Arc<Web>,
    ticket: i64,
    token: &str,
    article: Option<String>,
) -> Page {
    let article = article_name(article);
    let found = with_db(web, false, move |app, c| {
        let t = models::get_ticket(c, ticket)?;
        let title = match &article {
            Some(a) => match models::article(c, a)? {
                Some(row) => Some(row.title),
                None => app
                    .templates
                    .knowledge()
                    .ok()
                    .and_then(|l| l.files.get(a).map(|f| f.title.clone())),
            },
            None => None,
        };
        Ok(t.map(|t| {
            (
                app.notify().ticket_ctx(&t).reference,
                t.subject,
                t.status,
                title,
                article,
            )
        }))
    })
    .await;
    match found {
        None => unavailable(),
        Some(None) => not_found(),
        Some(Some((reference, _, status, _, _))) if is_done(&status) => {
            html(StatusCode::OK, page::solved_done(&reference, true))
        }
        Some(Some((reference, subject, _, title, article))) => html(
            StatusCode::OK,
            page::solved_form(
                token,
                &reference,
                &subject,
                title.as_deref(),
                article.as_deref(),
            ),
        ),
    }
}

/// The button: the ticket resolved as solved by the customer, unless it is done already.
pub(super) async fn record(web: &Arc<Web>, ticket: i64, article: Option<String>) -> Page {
    let article = article_name(article);
    let done = with_db(web, true, move |app, c| {
        c.transaction(|c| {
            models::write_lock_first(c)?;
            let Some(mut t) = models::get_ticket(c, ticket)? else {
                return Ok(None);
            };
            let reference = app.notify().ticket_ctx(&t).reference;
            if is_done(&t.status) {
                return Ok(Some((reference, true)));
            }
            let now = crate::time::now_ms();
            let was = t.status.clone();
            models::update_ticket(
                c,
                t.id,
                &TicketChanges {
                    status: Some(Status::Resolved.as_str().into()),
                    resolved_at: Some(Some(now)),
                    updated_at: Some(now),
                    ..TicketChanges::default()
                },
            )?;
            t.status = Status::Resolved.as_str().into();
            t.resolved_at = Some(now);
            t.updated_at = now;
            let detail = match &article {
                Some(a) => format!(
                    "solved by the article '{a}' offered in the acknowledgement (one-click page)"
                ),
                None => {
                    "solved by an article offered in the acknowledgement (one-click page)".into()
                }
            };
            let requester = t.requester.clone();
            models::insert_event(c, t.id, now, &requester, "self_solved", &detail)?;
            crate::schedule::clocks::sync(c, app.cfg, &mut t, now, SlaEvent::Changed)?;
            crate::schedule::csat::status_changed(app, c, &t, &was, now)?;
            Ok(Some((reference, false)))
        })
    })
    .await;
    match done {
        None => unavailable(),
        Some(None) => not_found(),
        Some(Some((reference, before))) => {
            html(StatusCode::OK, page::solved_done(&reference, before))
        }
    }
}
