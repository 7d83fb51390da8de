//! Service requests, the writing half: once a request's fields are stored, the customer is
//! asked for the missing ones, or its approval chain starts, or its fulfilment tasks open as
//! child tickets; when the last task is done the request is resolved and the customer told.
//! The pure half is [`crate::ticket::catalog`].

use crate::app::App;
use crate::notify::Answer;
use crate::store::models::{self, Ticket};
use crate::store::AnyConnection;
use crate::templates::context as ctx;
use crate::ticket::action::NewTicket;
use crate::ticket::catalog::{label, missing};
use crate::ticket::model::{LinkKind, Priority, TicketType};

/// The request's item, if the ticket is one.
fn item_of<'c>(
    app: &App<'c>,
    c: &mut AnyConnection,
    t: &Ticket,
) -> diesel::QueryResult<
    Option<(
        &'c crate::config::CatalogItem,
        std::collections::BTreeMap<String, String>,
    )>,
> {
    if app.cfg.catalog.is_empty() {
        return Ok(None);
    }
    let fields = models::fields_of(c, &[t.id])?
        .remove(&t.id)
        .unwrap_or_default();
    Ok(fields
        .get("catalog")
        .and_then(|n| app.cfg.catalog.iter().find(|i| i.name == *n))
        .map(|i| (i, fields)))
}

/// A mail to the ticket's customer (template `request_update`), in its thread.
pub(crate) fn tell_customer(
    app: &App<'_>,
    c: &mut AnyConnection,
    t: &Ticket,
    title: &str,
    lines: Vec<String>,
    now: i64,
) -> diesel::QueryResult<Option<i64>> {
    let people = models::participants_of_ticket(c, t.id)?;
    let Some(to) = app.notify().requester_among(&people, t) else {
        return Ok(None);
    };
    let n = app.notify();
    let answer = Answer {
        hops: 0,
        now,
        due_at: now,
    };
    let context = ctx::RequestUpdate {
        identity: n.identity_ctx(t),
        ticket: n.ticket_ctx(t),
        title: title.to_string(),
        lines,
    };
    n.automatic_to_customer(c, t, to, "request_update", &context, answer)
}

/// The request's next stage (see the module).
pub fn next(
    app: &App<'_>,
    c: &mut AnyConnection,
    t: &Ticket,
    unknown: &[String],
    now: i64,
) -> diesel::QueryResult<Vec<i64>> {
    let Some((item, fields)) = item_of(app, c, t)? else {
        return Ok(Vec::new());
    };
    if fields.contains_key("catalog_stage") {
        return Ok(Vec::new());
    }
    let lacking = missing(item, &fields);
    let mut out = Vec::new();
    if !lacking.is_empty() {
        let mut lines = vec![format!(
            "To go on with your request for {}, we need:",
            item.title
        )];
        lines.extend(lacking.iter().map(|n| format!("{}: ...", label(n))));
        lines.push("Please answer this mail with these lines at the top, each filled in.".into());
        if !unknown.is_empty() {
            lines.push(format!(
                "Not taken (this request has no such field): {}.",
                unknown
                    .iter()
                    .map(|u| label(u))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        models::insert_event(
            c,
            t.id,
            now,
            "system",
            "catalog_fields_asked",
            &lacking.join(", "),
        )?;
        out.extend(tell_customer(
            app,
            c,
            t,
            "A few details are missing",
            lines,
            now,
        )?);
        return Ok(out);
    }
    match (&item.approval, models::approval_of(c, t.id)?) {
        (Some(chain), None) => {
            out.extend(super::approvals::start(app, c, t, chain, "system", now)?);
            out.extend(tell_customer(
                app,
                c,
                t,
                "Your request is complete",
                vec![format!(
                    "Your request for {} now awaits approval; we write again when it is decided.",
                    item.title
                )],
                now,
            )?);
        }
        (Some(_), Some(a)) if a.state == "approved" => out.extend(open_tasks(app, c, t, now)?),
        (Some(_), Some(_)) => {}
        (None, _) => out.extend(open_tasks(app, c, t, now)?),
    }
    Ok(out)
}

/// Opens the request's tasks as child tickets in their queues (once) and tells the customer.
pub fn open_tasks(
    app: &App<'_>,
    c: &mut AnyConnection,
    t: &Ticket,
    now: i64,
) -> diesel::QueryResult<Vec<i64>> {
    let Some((item, fields)) = item_of(app, c, t)? else {
        return Ok(Vec::new());
    };
    if fields.contains_key("catalog_stage") {
        return Ok(Vec::new());
    }
    models::set_field(c, t.id, "catalog_stage", Some("fulfilling"), "system", now)?;
    let answer = Answer {
        hops: 0,
        now,
        due_at: now,
    };
    let reference = app.notify().ticket_ctx(t).reference;
    let mut out = Vec::new();
    for (queue, subject) in &item.tasks {
        let plan = NewTicket {
            subject: format!("{subject} ({reference})"),
            subject_key: subject.to_lowercase(),
            queue: queue.clone(),
            priority: Priority::Normal,
            assign: None,
            tags: Vec::new(),
            sla_policy: app.cfg.sla_for(queue, Some(TicketType::Request), None),
            ticket_type: Some(TicketType::Request),
            linked_to: None,
            thread_index: None,
            people: Vec::new(),
            rules: Vec::new(),
            identity: t.identity.clone(),
        };
        let (_, ids) = crate::pipeline::apply::open_linked_ticket(
            app,
            c,
            (t, &plan),
            (LinkKind::Child, LinkKind::Parent),
            ("system", None),
            answer,
        )?;
        out.extend(ids);
    }
    out.extend(tell_customer(
        app,
        c,
        t,
        "Your request is being fulfilled",
        vec![format!(
            "Your request for {} is approved and being fulfilled; we write again when it is done.",
            item.title
        )],
        now,
    )?);
    if item.tasks.is_empty() {
        out.extend(fulfilled(app, c, t, now)?);
    }
    Ok(out)
}

/// The last task of request `t` is done: it is resolved and the customer told.
pub fn fulfilled(
    app: &App<'_>,
    c: &mut AnyConnection,
    t: &Ticket,
    now: i64,
) -> diesel::QueryResult<Vec<i64>> {
    let Some((item, _)) = item_of(app, c, t)? else {
        return Ok(Vec::new());
    };
    let mut row = t.clone();
    let was = row.status.clone();
    if !crate::ticket::model::is_done(&was) {
        models::update_ticket(
            c,
            t.id,
            &models::TicketChanges {
                status: Some("resolved".into()),
                resolved_at: Some(Some(now)),
                updated_at: Some(now),
                ..Default::default()
            },
        )?;
        row.status = "resolved".into();
        row.resolved_at = Some(now);
        crate::schedule::clocks::sync(
            c,
            app.cfg,
            &mut row,
            now,
            crate::ticket::sla::SlaEvent::Changed,
        )?;
        crate::schedule::csat::status_changed(app, c, &row, &was, now)?;
    }
    models::insert_event(c, t.id, now, "system", "fulfilled", "every task is done")?;
    Ok(tell_customer(
        app,
        c,
        &row,
        "Your request is fulfilled",
        vec![
            format!("Your request for {} is done.", item.title),
            "If something is missing, simply answer this mail.".into(),
        ],
        now,
    )?
    .into_iter()
    .collect())
}

/// [`fulfilled`] when `t` is a service request; `None` when it is not one.
pub fn fulfilled_if_request(
    app: &App<'_>,
    c: &mut AnyConnection,
    t: &Ticket,
    now: i64,
) -> diesel::QueryResult<Option<Vec<i64>>> {
    if item_of(app, c, t)?.is_none() {
        return Ok(None);
    }
    fulfilled(app, c, t, now).map(Some)
}
