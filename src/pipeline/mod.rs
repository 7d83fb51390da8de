//! The pipeline, the one place the stages are sequenced: prepare (hash, parse, classify: pure,
//! run off the database thread), then store a batch in one transaction, each mail by
//! [`load`] (the facts from the database) → [`crate::ticket::decide`] (pure) → [`apply`] (the
//! one writer), then acknowledge the sources. Each mail runs in its own savepoint, so one
//! mail the database refuses is recorded as failed and never stops the mails behind it.

pub(crate) mod apply;
pub mod approvals;
pub mod catalog;
mod load;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;

use diesel::Connection;

use crate::app::App;
use crate::config::{Config, MailboxConfig};
pub use crate::intake::Cursor;
use crate::intake::RawMail;
use crate::mail::classify::{classify, MailClass};
use crate::mail::parse::{self, InboundMail};
use crate::store::models;
use crate::store::{AnyConnection, StoreError};
use crate::ticket::decide::{decide, rule_facts};
use crate::ticket::model::{Outcome, Priority};
use crate::ticket::rules;

/// A mail made ready for storing: everything that needs no database.
#[derive(Debug)]
pub struct Prepared {
    pub raw: RawMail,
    pub hash: String,
    pub parsed: Parsed,
    /// When preparing began (the processing-latency metric runs from here to the commit).
    pub started: std::time::Instant,
}

#[derive(Debug)]
pub enum Parsed {
    Mail(Box<InboundMail>, MailClass),
    /// Over a size or structure limit: only the headers are read and kept, with the reason.
    TooLarge(Box<InboundMail>, String),
    /// Not a mail at all; the error is stored with the raw bytes.
    Failed(String),
}

/// Hashes, parses and classifies one raw mail. Never panics: a parser panic becomes a failure.
pub fn prepare(raw: RawMail, cfg: &Config, own: &[String]) -> Prepared {
    let started = std::time::Instant::now();
    let hash = parse::content_hash(&raw.bytes);
    let lim = &cfg.limits;
    let (headers, longest) = parse::header_stats(&raw.bytes);
    let headers_only = |reason: String| {
        Parsed::TooLarge(
            Box::new(parse::parse_headers_only(&raw.bytes, &hash)),
            reason,
        )
    };
    let parsed = if raw.oversized.is_some() || raw.bytes.len() > lim.max_message_size {
        headers_only(format!(
            "{} bytes is over limits.max_message_size ({} bytes); headers kept",
            raw.oversized.unwrap_or(raw.bytes.len()),
            lim.max_message_size
        ))
    } else if headers > lim.max_headers {
        headers_only(format!(
            "{headers} header fields is over limits.max_headers ({}); the first headers kept",
            lim.max_headers
        ))
    } else if longest > lim.max_header_length {
        headers_only(format!(
            "a header field of {longest} bytes is over limits.max_header_length ({} bytes); the first headers kept",
            lim.max_header_length
        ))
    } else {
        let limits = lim.parse_limits(cfg.security.block_remote_images);
        match catch_unwind(AssertUnwindSafe(|| {
            parse::parse(&raw.bytes, &hash, &limits)
        })) {
            Ok(Ok(mail)) => {
                let class = classify(&mail, own, &cfg.identity.message_id_domain);
                Parsed::Mail(Box::new(mail), class)
            }
            Ok(Err(parse::ParseError::OverLimit(reason))) => headers_only(reason),
            Ok(Err(e)) => Parsed::Failed(e.to_string()),
            Err(_) => Parsed::Failed("the MIME parser crashed on this message".into()),
        }
    };
    Prepared {
        raw,
        hash,
        parsed,
        started,
    }
}

/// What became of one mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailResult {
    pub source_pos: String,
    /// `None` when exactly these bytes were stored before: nothing was done.
    pub outcome: Option<Outcome>,
    pub inbound_id: Option<i64>,
    pub ticket_id: Option<i64>,
    /// Outbox rows this mail caused.
    pub outbox_ids: Vec<i64>,
}

/// Counts over many results, for summaries.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub mails: usize,
    pub already_stored: usize,
    pub by_outcome: std::collections::BTreeMap<&'static str, usize>,
    pub outbox_ids: Vec<i64>,
}

impl Summary {
    pub fn add(&mut self, r: &MailResult) {
        self.mails += 1;
        match r.outcome {
            Some(o) => *self.by_outcome.entry(o.as_str()).or_default() += 1,
            None => self.already_stored += 1,
        }
        self.outbox_ids.extend_from_slice(&r.outbox_ids);
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} mail(s)", self.mails)?;
        for (k, v) in &self.by_outcome {
            write!(f, ", {v} {k}")?;
        }
        if self.already_stored > 0 {
            write!(f, ", {} already stored", self.already_stored)?;
        }
        Ok(())
    }
}

/// The decisions and writes for stored mail, over the desk's shared parts.
#[derive(Clone, Copy)]
pub struct Pipeline<'a>(pub &'a App<'a>);

impl<'a> std::ops::Deref for Pipeline<'a> {
    type Target = App<'a>;
    fn deref(&self) -> &App<'a> {
        self.0
    }
}

/// Why a batch's transaction rolled back.
#[derive(Debug)]
enum BatchError {
    Db(diesel::result::Error),
    /// The lease fence: this instance no longer holds the mailbox.
    LeaseLost(String),
}

impl From<diesel::result::Error> for BatchError {
    fn from(e: diesel::result::Error) -> Self {
        BatchError::Db(e)
    }
}

impl From<BatchError> for StoreError {
    fn from(e: BatchError) -> Self {
        match e {
            BatchError::Db(e) => StoreError::Query(e),
            BatchError::LeaseLost(m) => StoreError::LeaseLost(m),
        }
    }
}

/// Per-batch settings.
#[derive(Debug, Clone, Copy)]
pub struct BatchClock {
    /// The pipeline's "now": the time of receipt (`ingest --at`, else the wall clock).
    pub received_at: i64,
    /// When the outbox rows made now become due for other senders (see `outbox::enqueue`).
    pub due_at: i64,
}

impl Pipeline<'_> {
    /// Stores a batch in one transaction and returns what became of each mail, in order. A
    /// source position (an IMAP cursor) given as `cursor` is saved in the same transaction.
    pub fn store_batch(
        &self,
        c: &mut AnyConnection,
        mailbox: &MailboxConfig,
        batch: &[Prepared],
        clock: BatchClock,
        cursor: Option<&Cursor>,
    ) -> Result<Vec<MailResult>, StoreError> {
        let save_cursor = |c: &mut AnyConnection| match cursor {
            Some(k) => {
                // The fence, last before the commit: on PostgreSQL it locks the lease row only
                // for the commit, so the holder's renewals are not held up by a long batch, and
                // a takeover that comes in between waits for the commit (and then reads this
                // cursor) or, having come first, makes this batch roll back.
                if let Some(holder) = &k.fence {
                    let now = crate::time::now_ms();
                    if !crate::store::leases::hold_lease(c, &mailbox.name, holder, now)? {
                        return Err(BatchError::LeaseLost(mailbox.name.clone()));
                    }
                }
                models::set_cursor(
                    c,
                    &mailbox.name,
                    k.uid_validity,
                    k.last_uid,
                    clock.received_at,
                )?;
                Ok(())
            }
            None => Ok::<(), BatchError>(()),
        };
        // Optimistically the whole batch in one transaction; should the database refuse any
        // mail, the batch is rolled back and stored again with a savepoint per mail, so the
        // refused mail alone is recorded as failed.
        // The search index's rows of the batch go in as one statement at its end.
        let index = models::Deferral::begin();
        let fast = c.transaction::<_, BatchError, _>(|c| {
            index.discard();
            let results = batch
                .iter()
                .map(|p| self.apply(c, mailbox, p, clock))
                .collect::<Result<Vec<_>, _>>()?;
            models::write_deferred(c)?;
            save_cursor(c)?;
            Ok(results)
        });
        let stored = match fast {
            Ok(results) => Ok(results),
            Err(e @ BatchError::LeaseLost(_)) => Err(e),
            Err(BatchError::Db(e)) if crate::store::classify(&e) != crate::store::Failure::Data => {
                Err(e.into())
            }
            Err(BatchError::Db(_)) => c.transaction::<_, BatchError, _>(|c| {
                let mut out = Vec::with_capacity(batch.len());
                index.discard();
                for p in batch {
                    let one = c.transaction::<_, diesel::result::Error, _>(|c| {
                        let r = self.apply(c, mailbox, p, clock)?;
                        models::write_deferred(c)?;
                        Ok(r)
                    });
                    match one {
                        Ok(r) => out.push(r),
                        Err(e) => {
                            index.discard();
                            tracing::warn!(source = %p.raw.source_pos, error = %e, "mail could not be stored; recording it as failed");
                            let message = format!("storing failed: {e}");
                            let id = apply::record(c, mailbox, p, &InboundMail::default(), Outcome::Failed, None, None, None, Some(&message), clock)?;
                            out.push(result(p, Some(Outcome::Failed), Some(id), None, Vec::new()));
                        }
                    }
                }
                save_cursor(c)?;
                Ok(out)
            }),
        }?;
        let m = crate::observe::metrics::get();
        for (p, r) in batch.iter().zip(&stored) {
            if let Some(o) = r.outcome {
                m.mail_stored(o.as_str(), p.started.elapsed());
            }
        }
        Ok(stored)
    }

    /// Deals with one mail: already stored, not a mail, over a limit, or load → decide →
    /// apply.
    fn apply(
        &self,
        c: &mut AnyConnection,
        mailbox: &MailboxConfig,
        p: &Prepared,
        clock: BatchClock,
    ) -> diesel::QueryResult<MailResult> {
        let dedupe_key = match &p.parsed {
            Parsed::Mail(mail, _) => mail.dedupe_key.as_str(),
            _ => p.hash.as_str(),
        };
        let seen = models::inbound_seen(c, &p.hash, dedupe_key)?;
        if let Some(same) = seen.iter().find(|s| s.content_hash == p.hash) {
            return Ok(result(p, None, Some(same.id), same.ticket_id, Vec::new()));
        }
        let (mail, class) = match &p.parsed {
            Parsed::Failed(e) => {
                let none = InboundMail::default();
                let id = apply::record(
                    c,
                    mailbox,
                    p,
                    &none,
                    Outcome::Failed,
                    None,
                    None,
                    None,
                    Some(e),
                    clock,
                )?;
                return Ok(result(p, Some(Outcome::Failed), Some(id), None, Vec::new()));
            }
            Parsed::TooLarge(mail, reason) => {
                let id = apply::record(
                    c,
                    mailbox,
                    p,
                    mail,
                    Outcome::TooLarge,
                    None,
                    None,
                    Some(reason),
                    None,
                    clock,
                )?;
                return Ok(result(
                    p,
                    Some(Outcome::TooLarge),
                    Some(id),
                    None,
                    Vec::new(),
                ));
            }
            Parsed::Mail(mail, class) => (mail.as_ref(), class),
        };
        let mut rows = Vec::new();
        let facts = load::facts(
            self.0,
            c,
            mailbox,
            mail,
            class,
            &p.raw.bytes,
            &seen,
            clock.received_at,
            &mut rows,
        )?;
        let decision = decide(&facts);
        let row = rows.into_iter().find(|t| Some(t.id) == decision.ticket);
        apply::apply(self.0, c, mailbox, p, mail, &decision, row, clock)
    }
}

/// `rules test`: what the rules make of a raw mail, without a database: the rules that
/// match, in order, and the ticket's queue, priority, assignment, tags, policy and type (a
/// `round_robin` / `least_open` assignment is named, as the pick depends on the workload).
pub fn triage_dry_run(
    cfg: &Config,
    mailbox: &MailboxConfig,
    raw: &[u8],
    reply: bool,
) -> Result<serde_json::Value, String> {
    let limits = cfg.limits.parse_limits(cfg.security.block_remote_images);
    let mail = parse::parse(raw, &parse::content_hash(raw), &limits)
        .map_err(|e| format!("not a mail: {e}"))?;
    let on = if reply {
        rules::On::Reply
    } else {
        rules::On::New
    };
    let d = rules::evaluate(&cfg.rules, &rule_facts(&mail, raw, mailbox, &cfg.rules), on);
    let a = &d.actions;
    let queue = a.queue.clone().unwrap_or_else(|| mailbox.queue.clone());
    let sla = a.sla.clone().or_else(|| {
        cfg.queues
            .iter()
            .find(|q| q.name == queue)
            .and_then(|q| q.sla.clone())
    });
    let assignee = a.assign.as_ref().map(|x| match x {
        rules::Assign::Agent(a) => a.clone(),
        rules::Assign::RoundRobin => "round_robin".into(),
        rules::Assign::LeastOpen => "least_open".into(),
    });
    Ok(serde_json::json!({
        "matched": d.matched,
        "ticket": {
            "spam": a.spam,
            "queue": queue,
            "priority": a.priority.unwrap_or(Priority::Normal).as_str(),
            "assignee": assignee,
            "tags": a.tags,
            "sla_policy": sla,
            "type": a.ticket_type.map(|t| t.as_str()),
            "acknowledge": a.acknowledge.unwrap_or(true),
            "template": a.template,
        },
    }))
}

fn result(
    p: &Prepared,
    outcome: Option<Outcome>,
    inbound_id: Option<i64>,
    ticket_id: Option<i64>,
    outbox_ids: Vec<i64>,
) -> MailResult {
    MailResult {
        source_pos: p.raw.source_pos.clone(),
        outcome,
        inbound_id,
        ticket_id,
        outbox_ids,
    }
}

/// How many mails go into one transaction.
pub const BATCH: usize = 256;

/// A batch is closed once its mails hold this many bytes, whatever their number: with one
/// batch being read, one waiting and one being stored, a run of large mails (each within
/// `limits.max_message_size`) keeps a few batches' worth in memory, not a few hundred mails'.
pub const BATCH_BYTES: usize = 16 * 1024 * 1024;

/// Runs raw mails through the pipeline: a second thread reads and prepares while this one
/// stores, batch by batch; each batch's sources are acknowledged after its commit, and then
/// `on_commit` sees its results (to start delivering the mail it queued, say).
pub fn run(
    app: &App<'_>,
    c: &mut AnyConnection,
    mailbox: &MailboxConfig,
    mails: impl Iterator<Item = Result<RawMail, crate::intake::SourceError>> + Send,
    clock: impl Fn() -> BatchClock,
    mut on_commit: impl FnMut(&[MailResult]),
) -> Result<Summary, RunError> {
    let pipeline = Pipeline(app);
    let cfg = app.cfg;
    let own = cfg.own_addresses();
    std::thread::scope(|s| {
        // One batch waits while another is stored: enough to keep both threads busy.
        let (tx, rx) = mpsc::sync_channel::<Result<Vec<Prepared>, crate::intake::SourceError>>(1);
        let own = &own;
        s.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let mut bytes = 0;
            for m in mails {
                match m {
                    Ok(raw) => {
                        bytes += raw.bytes.len();
                        batch.push(prepare(raw, cfg, own));
                        if (batch.len() == BATCH || bytes >= BATCH_BYTES)
                            && tx.send(Ok(std::mem::take(&mut batch))).is_err()
                        {
                            return;
                        }
                        if batch.is_empty() {
                            bytes = 0;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Ok(std::mem::take(&mut batch)));
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
            if !batch.is_empty() {
                let _ = tx.send(Ok(batch));
            }
        });
        let mut summary = Summary::default();
        for batch in rx {
            let batch = batch.map_err(RunError::Source)?;
            if batch.is_empty() {
                continue;
            }
            let results = pipeline
                .store_batch(c, mailbox, &batch, clock(), None)
                .map_err(RunError::Store)?;
            for (p, r) in batch.iter().zip(&results) {
                if let Err(e) = p.raw.ack.acknowledge() {
                    tracing::warn!(error = %e, "stored, but could not acknowledge to the source; it will be recognised as stored next time");
                }
                summary.add(r);
            }
            on_commit(&results);
        }
        Ok(summary)
    })
}

/// Prepares and stores one batch of mails with the source position it reaches, in one
/// transaction (the IMAP task's unit of work).
pub fn store_raw(
    app: &App<'_>,
    c: &mut AnyConnection,
    mailbox: &MailboxConfig,
    mails: Vec<RawMail>,
    clock: BatchClock,
    cursor: Option<&Cursor>,
) -> Result<Vec<MailResult>, StoreError> {
    let own = app.cfg.own_addresses();
    let batch: Vec<Prepared> = mails
        .into_iter()
        .map(|m| prepare(m, app.cfg, &own))
        .collect();
    Pipeline(app).store_batch(c, mailbox, &batch, clock, cursor)
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Source(crate::intake::SourceError),
    #[error(transparent)]
    Store(StoreError),
}
