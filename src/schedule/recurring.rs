//! `[[recurring]]`: tickets opened on a cron schedule. Each run is recorded in `digest_runs`
//! (as `recurring:NAME`, unique per scheduled time) in the transaction that opens its ticket, so
//! a run opens one ticket however many instances reach it, and a run missed while the service
//! was down is found at start (the digests' catch-up).

use diesel::Connection;

use super::digest::{DigestError, RunOutcome};
use crate::app::App;
use crate::config::{RecurringConfig, Scheduled};
use crate::notify::Answer;
use crate::schedule::clocks::{self, SlaEvent};
use crate::store::models::{self, NewMessage, NewTicket};
use crate::store::AnyConnection;
use crate::ticket::model::{Direction, MessageKind, Status};
use crate::ticket::thread::subject_key;

/// Opens the ticket of `r`'s run scheduled for `at`, unless that run was done; its queue's
/// agents are told.
pub fn run(
    p: &App<'_>,
    c: &mut AnyConnection,
    r: &RecurringConfig,
    at: i64,
    now: i64,
) -> Result<RunOutcome, DigestError> {
    let cfg = p.cfg;
    let name = r.run_name();
    let result = c.transaction::<_, DigestError, _>(|c| {
        models::write_lock_first(c)?;
        if models::digest_run_exists(c, &name, at)? {
            return Ok(RunOutcome::AlreadySent);
        }
        let sla = cfg.sla_for(&r.queue, r.ticket_type, None);
        let id = models::insert_ticket(
            c,
            &NewTicket {
                subject: &r.subject,
                status: Status::New.as_str(),
                priority: r.priority.as_str(),
                queue: &r.queue,
                requester: "",
                assignee: None,
                tags: "[]",
                sla_policy: sla.as_deref(),
                created_at: now,
                updated_at: now,
                thread_index: None,
                subject_key: Some(&subject_key(&r.subject).0),
                linked_to: None,
                ticket_type: r.ticket_type.map(|t| t.as_str()),
                identity: cfg
                    .queues
                    .iter()
                    .find(|q| q.name == r.queue)
                    .and_then(|q| q.identity.as_deref()),
            },
        )?;
        models::index_doc(c, "ticket", Some(id), None, &r.subject)?;
        let when = crate::time::rfc3339(at);
        models::insert_event(
            c,
            id,
            now,
            "system",
            "created",
            &format!("recurring '{}', scheduled for {when}", r.name),
        )?;
        if !r.text.is_empty() {
            let mid = p.keys.message_id(Some(id), &cfg.identity.message_id_domain);
            models::insert_message(
                c,
                &NewMessage {
                    ticket_id: id,
                    inbound_id: None,
                    message_id: &mid,
                    in_reply_to: None,
                    refs: "",
                    direction: Direction::In.as_str(),
                    kind: MessageKind::Note.as_str(),
                    from_addr: "",
                    from_name: Some("recurring"),
                    to_addrs: "[]",
                    cc_addrs: "[]",
                    subject: &r.subject,
                    date: now,
                    text_body: &r.text,
                    html_body: None,
                    created_at: now,
                },
            )?;
            models::index_doc(c, "message", Some(id), None, &r.text)?;
        }
        let Some(mut row) = models::get_ticket(c, id)? else {
            return Err(diesel::result::Error::NotFound.into());
        };
        clocks::sync(c, cfg, &mut row, now, SlaEvent::Opened)?;
        let answer = Answer {
            hops: 0,
            now,
            due_at: now,
        };
        let n = p.notify();
        for agent in cfg.queue_agents(&r.queue) {
            let lines = vec![format!(
                "Opened by the schedule '{}' for {when}, in queue {}.",
                r.name, r.queue
            )];
            n.agent_notice(c, &row, agent, "New recurring ticket", lines, answer)?;
        }
        models::insert_digest_run(c, &name, at, now, None)?;
        Ok(RunOutcome::Opened(id))
    });
    match result {
        // Another instance recorded the same run between our check and our insert.
        Err(DigestError::Store(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ))) => Ok(RunOutcome::AlreadySent),
        other => other,
    }
}
