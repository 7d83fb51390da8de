//! The transactional outbox: mail is composed and written as a row in the same transaction as
//! what caused it, and a sender delivers rows afterwards, with lettre (SMTP) or to files.
//!
//! A row's bytes, Message-ID included, are fixed when it is written, so a delivery repeated
//! after a crash is the same message. Rows are claimed with a lease before delivery, so two
//! senders (say `serve` and an `ingest`) never deliver one row twice.

mod transport;

pub use transport::*;

use std::sync::Mutex;

use diesel::Connection;

use crate::config::RetryPolicy;
use crate::mail::compose::OutgoingMail;
use crate::store::models::{self, NewMessage, NewOutbox};
use crate::store::{AnyConnection, StoreError};
use crate::ticket::model::{Direction, MessageKind, OutboxStatus};

/// How long a claimed row is reserved for the sender that claimed it.
/// Over SMTP a crashed sender's claimed rows wait this long before another sender takes them.
pub const CLAIM_LEASE_MS: i64 = 2 * 60 * 1000;

/// How many rows an SMTP sender claims at once: few enough to deliver well within the lease.
const SMTP_CHUNK: usize = 20;

/// Writes an outgoing mail into the outbox and records it as a message of its ticket, so
/// replies to it thread. Call inside the transaction that decided to send it. The row is due
/// at `due_at`: the creating process sets it a little ahead to deliver the row itself first.
#[allow(clippy::too_many_arguments)]
pub fn enqueue(
    c: &mut AnyConnection,
    ticket_id: Option<i64>,
    kind: &str,
    message_kind: MessageKind,
    mail: &OutgoingMail,
    raw: &[u8],
    now: i64,
    due_at: i64,
) -> diesel::QueryResult<i64> {
    let json = |v: &[(Option<String>, String)]| {
        serde_json::to_string(&v.iter().map(|(_, a)| a.as_str()).collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".into())
    };
    let rcpt: Vec<&str> = mail
        .to
        .iter()
        .chain(&mail.cc)
        .map(|(_, a)| a.as_str())
        .collect();
    let rcpt_json = serde_json::to_string(&rcpt).unwrap_or_else(|_| "[]".into());
    let id = models::insert_outbox(
        c,
        &NewOutbox {
            ticket_id,
            kind,
            env_from: &mail.from_address,
            rcpt: &rcpt_json,
            subject: &mail.subject,
            message_id: &mail.message_id,
            raw,
            status: OutboxStatus::Pending.as_str(),
            attempts: 0,
            next_attempt_at: due_at,
            created_at: now,
            held_by: (due_at > now).then(crate::holder::me_written),
        },
    )?;
    if let Some(ticket) = ticket_id {
        let refs = mail.references.join(" ");
        models::insert_message(
            c,
            &NewMessage {
                ticket_id: ticket,
                inbound_id: None,
                message_id: &mail.message_id,
                in_reply_to: mail.in_reply_to.as_deref(),
                refs: &refs,
                direction: Direction::Out.as_str(),
                kind: message_kind.as_str(),
                from_addr: &mail.from_address,
                from_name: Some(&mail.from_name),
                to_addrs: &json(&mail.to),
                cc_addrs: &json(&mail.cc),
                subject: &mail.subject,
                date: mail.date,
                text_body: &mail.text,
                html_body: None,
                created_at: now,
            },
        )?;
    }
    Ok(id)
}

/// One mail for [`enqueue_many`].
pub struct Queued {
    /// The ticket the mail is about (a summary of several has none, and no message row).
    pub ticket_id: Option<i64>,
    pub kind: &'static str,
    pub message_kind: MessageKind,
    pub mail: OutgoingMail,
    pub raw: Vec<u8>,
}

/// [`enqueue`] for many mails at once (a sweep's notices): the rows go in a few multi-row
/// statements instead of two per mail. Returns the outbox ids, in order.
pub fn enqueue_many(
    c: &mut AnyConnection,
    items: &[Queued],
    now: i64,
    due_at: i64,
) -> diesel::QueryResult<Vec<i64>> {
    let addrs = |v: &[(Option<String>, String)]| {
        serde_json::to_string(&v.iter().map(|(_, a)| a.as_str()).collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".into())
    };
    let owned: Vec<(String, String, String, String)> = items
        .iter()
        .map(|q| {
            let rcpt: Vec<&str> = q
                .mail
                .to
                .iter()
                .chain(&q.mail.cc)
                .map(|(_, a)| a.as_str())
                .collect();
            (
                serde_json::to_string(&rcpt).unwrap_or_else(|_| "[]".into()),
                q.mail.references.join(" "),
                addrs(&q.mail.to),
                addrs(&q.mail.cc),
            )
        })
        .collect();
    let rows: Vec<NewOutbox<'_>> = items
        .iter()
        .zip(&owned)
        .map(|(q, o)| NewOutbox {
            ticket_id: q.ticket_id,
            kind: q.kind,
            env_from: &q.mail.from_address,
            rcpt: &o.0,
            subject: &q.mail.subject,
            message_id: &q.mail.message_id,
            raw: &q.raw,
            status: OutboxStatus::Pending.as_str(),
            attempts: 0,
            next_attempt_at: due_at,
            created_at: now,
            held_by: (due_at > now).then(crate::holder::me_written),
        })
        .collect();
    let ids = models::insert_outbox_many(c, &rows)?;
    let messages: Vec<NewMessage<'_>> = items
        .iter()
        .zip(&owned)
        .filter_map(|(q, o)| Some((q, o, q.ticket_id?)))
        .map(|(q, o, ticket_id)| NewMessage {
            ticket_id,
            inbound_id: None,
            message_id: &q.mail.message_id,
            in_reply_to: q.mail.in_reply_to.as_deref(),
            refs: &o.1,
            direction: Direction::Out.as_str(),
            kind: q.message_kind.as_str(),
            from_addr: &q.mail.from_address,
            from_name: Some(&q.mail.from_name),
            to_addrs: &o.2,
            cc_addrs: &o.3,
            subject: &q.mail.subject,
            date: q.mail.date,
            text_body: &q.mail.text,
            html_body: None,
            created_at: now,
        })
        .collect();
    models::insert_messages(c, &messages)?;
    Ok(ids)
}

/// A mail that failed for good, as told to [`Rules::on_failure`].
#[derive(Debug, Clone)]
pub struct FailedMail {
    pub outbox_id: i64,
    pub ticket_id: i64,
    pub to: Vec<String>,
    pub error: String,
}

/// How deliveries are retried, and who hears of a mail that failed for good: `on_failure` runs
/// in the transaction that records the failure (the pipeline queues the agents' notice there).
#[derive(Clone, Copy)]
pub struct Rules<'a> {
    pub retry: &'a RetryPolicy,
    #[allow(clippy::type_complexity)]
    pub on_failure: Option<&'a dyn Fn(&mut AnyConnection, &FailedMail) -> diesel::QueryResult<()>>,
}

/// What one delivery run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

impl std::ops::AddAssign for DeliveryReport {
    fn add_assign(&mut self, o: Self) {
        self.sent += o.sent;
        self.retrying += o.retrying;
        self.failed += o.failed;
    }
}

/// When to try a mail again after its `attempts`-th failed attempt, or `None` to give up:
/// the delay doubles from `first` up to `max`, and the last try is at `give_up_after` from the
/// mail's creation.
pub fn next_attempt(policy: &RetryPolicy, attempts: i64, created_at: i64, now: i64) -> Option<i64> {
    let deadline = created_at.saturating_add(crate::time::millis(policy.give_up_after));
    if now >= deadline {
        return None;
    }
    let first = crate::time::millis(policy.first);
    let delay = first
        .saturating_mul(1i64 << (attempts - 1).clamp(0, 30))
        .min(crate::time::millis(policy.max));
    Some(now.saturating_add(delay).min(deadline))
}

/// Which rows a delivery may take.
#[derive(Debug, Clone, Copy)]
pub enum Claim {
    /// Rows due at this time, claimed with a lease first (the sender loop).
    Due(i64),
    /// Rows this process wrote itself, held from other senders until this time.
    Held(i64),
}

/// Time a held row must have left before its holder delivers it without claiming it again.
const HOLD_MARGIN_MS: i64 = 10_000;

/// One delivery attempt, not yet recorded in the outbox.
#[derive(Debug)]
pub struct Attempt {
    pub id: i64,
    pub ticket_id: Option<i64>,
    pub message_id: String,
    pub to: Vec<String>,
    /// Attempts recorded before this one.
    pub attempts: i64,
    /// When the mail was queued (for giving up).
    pub created_at: i64,
    pub result: Result<(), TransportError>,
}

/// The rows of `ids` this process may deliver now: those it holds, or those it claims.
fn claimable(
    c: &mut AnyConnection,
    transport: &Transport,
    ids: &[i64],
    claim: Claim,
) -> Result<Vec<i64>, StoreError> {
    let now = crate::time::now_ms();
    // Two senders delivering one row over an idempotent transport write the same file twice,
    // which changes nothing; unclaimed, the rows a crashed sender left go out at the restart.
    if transport.idempotent() {
        return Ok(ids.to_vec());
    }
    Ok(match claim {
        Claim::Held(until) if now + HOLD_MARGIN_MS < until => ids.to_vec(),
        Claim::Held(until) | Claim::Due(until) => {
            c.transaction(|c| models::claim_outbox(c, ids, until, now + CLAIM_LEASE_MS))?
        }
    })
}

fn transmit_one(
    c: &mut AnyConnection,
    transport: &Transport,
    id: i64,
) -> Result<Attempt, StoreError> {
    Ok(attempt(transport, id, models::outbox_payload(c, id)?))
}

/// A row's stored recipients (a JSON array of addresses). Unreadable or empty, the row is
/// not sent (to nobody, or to whoever a guess would name) but fails with the reason.
fn recipients(rcpt: &str) -> Result<Vec<String>, String> {
    match serde_json::from_str::<Vec<String>>(rcpt) {
        Ok(to) if !to.is_empty() => Ok(to),
        Ok(_) => Err("the stored recipients are an empty list".into()),
        Err(e) => Err(format!("the stored recipients are unreadable ({e})")),
    }
}

/// Sends one row's mail.
fn attempt(transport: &Transport, id: i64, p: models::OutboxPayload) -> Attempt {
    let (to, result) = match recipients(&p.rcpt) {
        Ok(to) => {
            let result = transport.send(&p.env_from, &to, &p.message_id, &p.raw);
            (to, result)
        }
        Err(message) => (
            Vec::new(),
            Err(TransportError {
                permanent: true,
                message: format!("outbox #{id}: {message}; not sent"),
            }),
        ),
    };
    Attempt {
        id,
        ticket_id: p.ticket_id,
        message_id: p.message_id,
        to,
        attempts: p.attempts,
        created_at: p.created_at,
        result,
    }
}

/// Sends the rows `ids` without recording anything: for idempotent transports, whose attempts
/// are recorded later with [`record`] (a crash in between repeats them harmlessly).
pub fn transmit(
    c: &mut AnyConnection,
    transport: &Transport,
    ids: &[i64],
    claim: Claim,
) -> Result<Vec<Attempt>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(200) {
        for id in claimable(c, transport, chunk, claim)? {
            out.push(transmit_one(c, transport, id)?);
        }
    }
    Ok(out)
}

/// Records attempts: the sent rows in one statement, each failure with its retry time. A mail
/// that fails for good (a 5xx, or retried until `give_up_after`) is recorded as an event on its
/// ticket, never answered to the customer.
pub fn record(
    c: &mut AnyConnection,
    attempts: &[Attempt],
    rules: &Rules<'_>,
) -> Result<DeliveryReport, StoreError> {
    let mut report = DeliveryReport::default();
    let now = crate::time::now_ms();
    let sent: Vec<i64> = attempts
        .iter()
        .filter(|a| a.result.is_ok())
        .map(|a| a.id)
        .collect();
    for chunk in sent.chunks(500) {
        models::mark_sent_many(c, chunk, now)?;
    }
    report.sent = sent.len();
    for a in attempts {
        let Err(e) = &a.result else { continue };
        let attempts = a.attempts + 1;
        let retry_at = if e.permanent {
            None
        } else {
            next_attempt(rules.retry, attempts, a.created_at, now)
        };
        if retry_at.is_some() {
            report.retrying += 1;
            tracing::warn!(outbox = a.id, attempts, error = %e, "delivery failed; will retry");
        } else {
            report.failed += 1;
            tracing::error!(outbox = a.id, attempts, error = %e, "delivery failed for good");
        }
        models::mark_attempt_failed(c, a.id, &e.message, retry_at)?;
        if let (None, Some(ticket)) = (retry_at, a.ticket_id) {
            let detail = format!("{} to {}: {}", a.message_id, a.to.join(", "), e.message);
            models::insert_event(c, ticket, now, "system", "delivery_failed", &detail)?;
            if let Some(hook) = rules.on_failure {
                hook(
                    c,
                    &FailedMail {
                        outbox_id: a.id,
                        ticket_id: ticket,
                        to: a.to.clone(),
                        error: e.message.clone(),
                    },
                )?;
            }
        }
    }
    Ok(report)
}

/// Delivers the rows `ids`, claiming them first unless they are held by this process. Over
/// SMTP each row is marked sent right after the server's 250 (the only window in which a crash
/// repeats a mail); over an idempotent transport the rows are marked in groups.
pub fn deliver(
    c: &mut AnyConnection,
    transport: &Transport,
    ids: &[i64],
    claim: Claim,
    rules: &Rules<'_>,
) -> Result<DeliveryReport, StoreError> {
    let mut report = DeliveryReport::default();
    if transport.idempotent() {
        for chunk in ids.chunks(200) {
            let attempts = transmit(c, transport, chunk, claim)?;
            report += crate::store::with_relaxed_sync(c, |c| record(c, &attempts, rules))?;
        }
    } else {
        let workers = transport.parallelism();
        for chunk in ids.chunks(SMTP_CHUNK * workers) {
            report += deliver_parallel(c, transport, chunk, claim, rules, workers)?;
        }
    }
    Ok(report)
}

/// Claims `ids` and sends them on up to `workers` connections at once; each result is recorded
/// by this thread as soon as it arrives, so a row is marked sent right after its 250.
fn deliver_parallel(
    c: &mut AnyConnection,
    transport: &Transport,
    ids: &[i64],
    claim: Claim,
    rules: &Rules<'_>,
    workers: usize,
) -> Result<DeliveryReport, StoreError> {
    let mut payloads = Vec::new();
    for id in claimable(c, transport, ids, claim)? {
        payloads.push((id, models::outbox_payload(c, id)?));
    }
    let workers = workers.min(payloads.len());
    let queue = Mutex::new(payloads.into_iter());
    let mut report = DeliveryReport::default();
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel::<Attempt>();
        for _ in 0..workers {
            let (tx, queue) = (tx.clone(), &queue);
            s.spawn(move || loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some((id, p)) = next else { break };
                if tx.send(attempt(transport, id, p)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for a in rx {
            match record(c, std::slice::from_ref(&a), rules) {
                Ok(r) => report += r,
                Err(e) => {
                    // Send nothing more that could not be recorded; what is in flight is
                    // repeated later, the documented window.
                    for _ in queue.lock().unwrap_or_else(|e| e.into_inner()).by_ref() {}
                    return Err(e);
                }
            }
        }
        Ok(report)
    })
}

/// Delivers every row due now, in batches; returns the total.
pub fn deliver_due(
    c: &mut AnyConnection,
    transport: &Transport,
    rules: &Rules<'_>,
) -> Result<DeliveryReport, StoreError> {
    let mut total = DeliveryReport::default();
    loop {
        let now = crate::time::now_ms();
        let (ids, claim) = match c {
            // Several instances on one PostgreSQL: each claims its own rows, never waiting.
            AnyConnection::Postgresql(p) if !transport.idempotent() => {
                let lease = now + CLAIM_LEASE_MS;
                let n = (SMTP_CHUNK * transport.parallelism()) as i64;
                let ids = models::claim_due_outbox_skip_locked(p, now, lease, n)?;
                (ids, Claim::Held(lease))
            }
            _ => (models::due_outbox(c, now, 200)?, Claim::Due(now)),
        };
        if ids.is_empty() {
            return Ok(total);
        }
        let r = deliver(c, transport, &ids, claim, rules)?;
        total += r;
        if r.sent + r.retrying + r.failed == 0 {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests;
