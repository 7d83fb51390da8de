//! The pipeline, the one place the stages are sequenced: prepare (hash, parse, classify: pure,
//! run off the database thread), then store a batch in one transaction (dedupe, thread, act,
//! enqueue replies), then acknowledge the sources. Each mail runs in its own savepoint, so one
//! mail the database refuses is recorded as failed and never stops the mails behind it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;

use diesel::Connection;

use crate::config::{Config, MailboxConfig};
use crate::mail::classify::{classify, MailClass};
use crate::mail::compose::{compose, new_message_id, tagged_subject, OutgoingMail};
use crate::mail::dsn::Dsn;
use crate::mail::parse::{self, InboundMail, ParseLimits};
use crate::outbox;
use crate::source::{maildir, RawMail};
use crate::store::models::{self, NewAttachment, NewInbound, NewMessage, NewTicket};
use crate::store::{AnyConnection, StoreError};
use crate::templates::{AckContext, IdentityCtx, PersonCtx, Templates, TicketCtx};
use crate::ticket::model::{ticket_ref, Direction, MessageKind, Outcome, Priority, Status};
use crate::ticket::thread::{self, MatchedBy, ThreadDecision};

/// A mail made ready for storing: everything that needs no database.
#[derive(Debug)]
pub struct Prepared {
    pub raw: RawMail,
    pub hash: String,
    pub parsed: Parsed,
}

#[derive(Debug)]
pub enum Parsed {
    Mail(Box<InboundMail>, MailClass),
    /// Over `max_message_size`: only the headers are read and kept.
    TooLarge(Box<InboundMail>),
    /// Not a mail at all; the error is stored with the raw bytes.
    Failed(String),
}

/// Hashes, parses and classifies one raw mail. Never panics: a parser panic becomes a failure.
pub fn prepare(raw: RawMail, cfg: &Config, own: &[String]) -> Prepared {
    let hash = parse::content_hash(&raw.bytes);
    let parsed = if raw.oversized.is_some() || raw.bytes.len() > cfg.limits.max_message_size {
        Parsed::TooLarge(Box::new(parse::parse_headers_only(&raw.bytes, &hash)))
    } else {
        let limits = ParseLimits {
            max_attachment_size: cfg.limits.max_attachment_size,
        };
        match catch_unwind(AssertUnwindSafe(|| {
            parse::parse(&raw.bytes, &hash, &limits)
        })) {
            Ok(Ok(mail)) => {
                let class = classify(&mail, own);
                Parsed::Mail(Box::new(mail), class)
            }
            Ok(Err(e)) => Parsed::Failed(e.to_string()),
            Err(_) => Parsed::Failed("the MIME parser crashed on this message".into()),
        }
    };
    Prepared { raw, hash, parsed }
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

/// The decisions and writes for stored mail.
pub struct Pipeline<'a> {
    pub cfg: &'a Config,
    pub templates: &'a Templates,
}

/// A mailbox's position at its IMAP server: everything up to `last_uid` in the folder with
/// this UIDVALIDITY is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub uid_validity: i64,
    pub last_uid: i64,
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
            Some(k) => models::set_cursor(
                c,
                &mailbox.name,
                k.uid_validity,
                k.last_uid,
                clock.received_at,
            ),
            None => Ok(()),
        };
        // Optimistically the whole batch in one transaction; should the database refuse any
        // mail, the batch is rolled back and stored again with a savepoint per mail, so the
        // refused mail alone is recorded as failed.
        let fast = c.transaction::<_, diesel::result::Error, _>(|c| {
            let results = batch
                .iter()
                .map(|p| self.apply(c, mailbox, p, clock))
                .collect::<Result<Vec<_>, _>>()?;
            save_cursor(c)?;
            Ok(results)
        });
        match fast {
            Ok(results) => Ok(results),
            Err(e) if is_connection_error(&e) => Err(e.into()),
            Err(_) => c.transaction::<_, StoreError, _>(|c| {
                let mut out = Vec::with_capacity(batch.len());
                for p in batch {
                    match c.transaction::<_, diesel::result::Error, _>(|c| self.apply(c, mailbox, p, clock)) {
                        Ok(r) => out.push(r),
                        Err(e) => {
                            tracing::warn!(source = %p.raw.source_pos, error = %e, "mail could not be stored; recording it as failed");
                            let message = format!("storing failed: {e}");
                            let id = self.record(c, mailbox, p, &InboundMail::default(), Outcome::Failed, None, None, None, Some(&message), clock)?;
                            out.push(result(p, Some(Outcome::Failed), Some(id), None, Vec::new()));
                        }
                    }
                }
                save_cursor(c)?;
                Ok(out)
            }),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        c: &mut AnyConnection,
        mailbox: &MailboxConfig,
        p: &Prepared,
        mail: &InboundMail,
        outcome: Outcome,
        ticket_id: Option<i64>,
        matched_by: Option<&str>,
        reason: Option<&str>,
        error: Option<&str>,
        clock: BatchClock,
    ) -> diesel::QueryResult<i64> {
        let raw: &[u8] = if outcome == Outcome::TooLarge {
            parse::header_block(&p.raw.bytes)
        } else {
            &p.raw.bytes
        };
        let dedupe_key = if mail.dedupe_key.is_empty() {
            p.hash.as_str()
        } else {
            mail.dedupe_key.as_str()
        };
        models::insert_inbound(
            c,
            &NewInbound {
                mailbox: &mailbox.name,
                source_pos: &p.raw.source_pos,
                message_id: &mail.message_id,
                content_hash: &p.hash,
                dedupe_key,
                from_addr: mail.from.as_ref().map(|f| f.address.as_str()).unwrap_or(""),
                subject: &mail.subject,
                size: p.raw.size() as i64,
                raw,
                received_at: clock.received_at,
                outcome: outcome.as_str(),
                matched_by,
                ticket_id,
                reason,
                error,
            },
        )
    }

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
                let id = self.record(
                    c,
                    mailbox,
                    p,
                    &InboundMail::default(),
                    Outcome::Failed,
                    None,
                    None,
                    None,
                    Some(e),
                    clock,
                )?;
                return Ok(result(p, Some(Outcome::Failed), Some(id), None, Vec::new()));
            }
            Parsed::TooLarge(mail) => {
                let reason = format!(
                    "{} bytes is over limits.max_message_size ({} bytes); headers kept",
                    p.raw.size(),
                    self.cfg.limits.max_message_size
                );
                let id = self.record(
                    c,
                    mailbox,
                    p,
                    mail,
                    Outcome::TooLarge,
                    None,
                    None,
                    Some(&reason),
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
        if mail.from.is_none() {
            let id = self.record(
                c,
                mailbox,
                p,
                mail,
                Outcome::Failed,
                None,
                None,
                None,
                Some("message has no From address"),
                clock,
            )?;
            return Ok(result(p, Some(Outcome::Failed), Some(id), None, Vec::new()));
        }
        let first_copy = seen.iter().find(|s| {
            s.outcome != Outcome::Failed.as_str() && s.outcome != Outcome::Duplicate.as_str()
        });
        if let Some((first, ticket)) = first_copy.map(|s| (s.id, s.ticket_id)) {
            let reason = format!("the same mail as inbound #{first}");
            let id = self.record(
                c,
                mailbox,
                p,
                mail,
                Outcome::Duplicate,
                ticket,
                None,
                Some(&reason),
                None,
                clock,
            )?;
            return Ok(result(
                p,
                Some(Outcome::Duplicate),
                Some(id),
                ticket,
                Vec::new(),
            ));
        }

        let candidates = thread::candidate_ids(&mail.in_reply_to, &mail.references);
        let known = models::tickets_of_message_ids(c, &candidates)?;
        let tagged = match thread::parse_subject_tag(&mail.subject, &self.cfg.identity.subject_tag)
        {
            Some(id) if models::ticket_exists(c, id)? => Some(id),
            _ => None,
        };
        let decision = thread::decide(&candidates, &known, tagged);
        let (mut existing, mut matched_by) = match decision {
            ThreadDecision::Existing {
                ticket_id,
                matched_by,
            } => (Some(ticket_id), Some(matched_by.as_str())),
            ThreadDecision::New => (None, None),
        };
        // A bounce reports on one of our mails: it belongs to that mail's ticket.
        if let (MailClass::Bounce(_), Some(dsn)) = (class, &mail.dsn) {
            let ticket = self.record_bounce(c, dsn, clock.received_at)?;
            if existing.is_none() && ticket.is_some() {
                existing = ticket;
                matched_by = Some(MatchedBy::References.as_str());
            }
        }
        let reason = class.reason();
        let now = clock.received_at;

        let (outcome, kind) = match (class, existing) {
            (MailClass::Loop(_), _) => (Outcome::Loop, None),
            (MailClass::Bounce(_), _) => (Outcome::Bounce, Some(MessageKind::Auto)),
            (MailClass::Auto(_), _) => (Outcome::AutoReply, Some(MessageKind::Auto)),
            (MailClass::List(_), Some(_)) => (Outcome::Reply, Some(MessageKind::Customer)),
            (MailClass::List(_), None) if mailbox.accept_list_mail => {
                (Outcome::NewTicket, Some(MessageKind::Customer))
            }
            (MailClass::List(_), None) => (Outcome::AutoReply, None),
            (MailClass::Person, Some(_)) => (Outcome::Reply, Some(MessageKind::Customer)),
            (MailClass::Person, None) => (Outcome::NewTicket, Some(MessageKind::Customer)),
        };

        let ticket_id = match (outcome, existing) {
            (Outcome::NewTicket, _) => Some(self.open_ticket(c, mailbox, mail, now)?),
            (_, Some(t)) if kind.is_some() => Some(t),
            _ => None,
        };
        let inbound_id = self.record(
            c,
            mailbox,
            p,
            mail,
            outcome,
            ticket_id.or(existing),
            matched_by,
            reason,
            None,
            clock,
        )?;
        let Some(ticket_id) = ticket_id else {
            if let (Some(t), MailClass::Loop(r)) = (existing, class) {
                models::insert_event(c, t, now, "system", "loop", r)?;
            }
            return Ok(result(
                p,
                Some(outcome),
                Some(inbound_id),
                existing,
                Vec::new(),
            ));
        };

        self.add_message(
            c,
            ticket_id,
            inbound_id,
            mail,
            kind.unwrap_or(MessageKind::Customer),
            now,
        )?;
        // Whoever writes on an existing ticket takes part in it from now on (the requester
        // already does, so for them this changes nothing).
        if outcome == Outcome::Reply {
            if let Some(f) = &mail.from {
                models::add_participant(c, ticket_id, &f.address, f.name.as_deref(), "cc")?;
            }
        }
        let mut outbox_ids = Vec::new();
        if outcome == Outcome::NewTicket {
            models::insert_event(
                c,
                ticket_id,
                now,
                &mail_from(mail),
                "created",
                &format!("inbound #{inbound_id} via mailbox {}", mailbox.name),
            )?;
            if class.may_answer() {
                if let Some(id) = self.acknowledge(c, ticket_id, mail, now, clock.due_at)? {
                    outbox_ids.push(id);
                }
            }
        } else {
            let event = match outcome {
                Outcome::Bounce => "bounce",
                Outcome::AutoReply => "auto_reply",
                _ => "reply",
            };
            models::insert_event(
                c,
                ticket_id,
                now,
                &mail_from(mail),
                event,
                &format!("inbound #{inbound_id}"),
            )?;
            let reopen = outcome == Outcome::Reply
                && models::get_ticket(c, ticket_id)?.is_some_and(|t| {
                    matches!(
                        Status::parse(&t.status),
                        Some(Status::Resolved | Status::Pending)
                    )
                });
            models::touch_ticket(c, ticket_id, now, reopen.then_some(Status::Open.as_str()))?;
        }
        Ok(result(
            p,
            Some(outcome),
            Some(inbound_id),
            Some(ticket_id),
            outbox_ids,
        ))
    }

    /// Finds the outbox row a bounce reports on (by our Message-ID in the returned headers, else
    /// the newest mail to a failed recipient), marks it failed and notes it on its ticket.
    /// Returns that ticket.
    fn record_bounce(
        &self,
        c: &mut AnyConnection,
        dsn: &Dsn,
        now: i64,
    ) -> diesel::QueryResult<Option<i64>> {
        let Some(failed) = dsn.failed().next() else {
            return Ok(None);
        };
        let row = match &dsn.original_message_id {
            Some(mid) => models::outbox_by_message_id(c, mid)?,
            None => None,
        };
        let row = match row {
            Some(r) => Some(r),
            None => models::outbox_latest_to(c, &failed.address)?,
        };
        let Some((outbox_id, ticket)) = row else {
            return Ok(None);
        };
        let error = format!(
            "bounced: {} {}{}",
            failed.address,
            failed.status,
            failed
                .diagnostic
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        );
        models::mark_bounced(c, outbox_id, &error)?;
        if let Some(t) = ticket {
            models::insert_event(
                c,
                t,
                now,
                "system",
                "delivery_failed",
                &format!("outbox #{outbox_id}: {error}"),
            )?;
        }
        Ok(ticket)
    }

    fn open_ticket(
        &self,
        c: &mut AnyConnection,
        mailbox: &MailboxConfig,
        mail: &InboundMail,
        now: i64,
    ) -> diesel::QueryResult<i64> {
        let requester = mail_from(mail);
        let subject = if mail.subject.is_empty() {
            "(no subject)"
        } else {
            mail.subject.as_str()
        };
        let id = models::insert_ticket(
            c,
            &NewTicket {
                subject,
                status: Status::New.as_str(),
                priority: Priority::Normal.as_str(),
                queue: &mailbox.queue,
                requester: &requester,
                assignee: None,
                tags: "[]",
                sla_policy: self
                    .cfg
                    .queues
                    .iter()
                    .find(|q| q.name == mailbox.queue)
                    .and_then(|q| q.sla.as_deref()),
                created_at: now,
                updated_at: now,
            },
        )?;
        let own = self.cfg.own_addresses();
        let mut people: Vec<(&str, Option<&str>, &str)> = vec![(
            requester.as_str(),
            mail.from.as_ref().and_then(|f| f.name.as_deref()),
            "requester",
        )];
        for cc in &mail.cc {
            if !own.contains(&cc.address) && !people.iter().any(|p| p.0 == cc.address) {
                people.push((&cc.address, cc.name.as_deref(), "cc"));
            }
        }
        models::insert_participants(c, id, &people)?;
        Ok(id)
    }

    fn add_message(
        &self,
        c: &mut AnyConnection,
        ticket_id: i64,
        inbound_id: i64,
        mail: &InboundMail,
        kind: MessageKind,
        now: i64,
    ) -> diesel::QueryResult<()> {
        let refs = mail.references.join(" ");
        let addrs = |v: &[parse::MailAddr]| {
            serde_json::to_string(&v.iter().map(|a| a.address.as_str()).collect::<Vec<_>>())
                .unwrap_or_else(|_| "[]".into())
        };
        let from = mail.from.as_ref();
        let row = models::insert_message(
            c,
            &NewMessage {
                ticket_id,
                inbound_id: Some(inbound_id),
                message_id: &mail.message_id,
                in_reply_to: mail.in_reply_to.first().map(String::as_str),
                refs: &refs,
                direction: Direction::In.as_str(),
                kind: kind.as_str(),
                from_addr: from.map(|f| f.address.as_str()).unwrap_or(""),
                from_name: from.and_then(|f| f.name.as_deref()),
                to_addrs: &addrs(&mail.to),
                cc_addrs: &addrs(&mail.cc),
                subject: &mail.subject,
                date: mail.date.unwrap_or(now),
                text_body: &mail.text,
                html_body: mail.html.as_deref(),
                created_at: now,
            },
        )?;
        if !mail.attachments.is_empty() {
            let rows: Vec<NewAttachment<'_>> = mail
                .attachments
                .iter()
                .map(|a| NewAttachment {
                    message_row_id: row,
                    name: &a.name,
                    content_type: &a.content_type,
                    size: a.size as i64,
                    content: a.content.as_deref(),
                })
                .collect();
            models::insert_attachments(c, &rows)?;
        }
        Ok(())
    }

    /// Queues the acknowledgement of a new ticket. A mail that cannot be composed (an address
    /// lettre refuses, say) is recorded as an event instead; it never fails the mail.
    fn acknowledge(
        &self,
        c: &mut AnyConnection,
        ticket_id: i64,
        mail: &InboundMail,
        now: i64,
        due_at: i64,
    ) -> diesel::QueryResult<Option<i64>> {
        let id = &self.cfg.identity;
        let reference = ticket_ref(&id.subject_tag, ticket_id);
        // Reply-To wins, unless it names one of our own addresses (web forms and some clients
        // set it so): then the answer goes to From, never to ourselves.
        let own = self.cfg.own_addresses();
        let to = mail
            .reply_to
            .as_ref()
            .filter(|r| !own.contains(&r.address))
            .or(mail.from.as_ref())
            .cloned()
            .unwrap_or_else(|| parse::MailAddr {
                name: None,
                address: String::new(),
            });
        let subject = if mail.subject.is_empty() {
            "(no subject)"
        } else {
            mail.subject.as_str()
        };
        let ctx = AckContext {
            identity: IdentityCtx {
                name: &id.name,
                address: &id.address,
            },
            ticket: TicketCtx {
                id: ticket_id,
                reference: &reference,
                subject,
                status: Status::New.as_str(),
                priority: Priority::Normal.as_str(),
                queue: "",
            },
            customer: PersonCtx {
                address: &to.address,
                name: to.name.as_deref(),
                display: to.name.as_deref().unwrap_or(&to.address),
            },
        };
        let rendered = match self.templates.render("ack", &ctx) {
            Ok(r) => r,
            Err(e) => {
                models::insert_event(c, ticket_id, now, "system", "ack_failed", &e.to_string())?;
                return Ok(None);
            }
        };
        let (in_reply_to, mut references) = if mail.message_id_synthesized {
            (None, mail.references.clone())
        } else {
            let mut r = mail.references.clone();
            r.push(mail.message_id.clone());
            (Some(mail.message_id.clone()), r)
        };
        if references.len() > 20 {
            references.drain(1..references.len() - 19);
        }
        let out = OutgoingMail {
            from_name: id.name.clone(),
            from_address: id.address.clone(),
            to: vec![(to.name.clone(), to.address.clone())],
            subject: tagged_subject(&reference, subject),
            message_id: new_message_id(Some(ticket_id), &id.message_id_domain),
            in_reply_to,
            references,
            date: now,
            auto_submitted: Some("auto-replied"),
            loop_marker: id.message_id_domain.clone(),
            text: rendered.text,
            html: rendered.html,
        };
        match compose(&out) {
            Ok(raw) => {
                outbox::enqueue(c, Some(ticket_id), "ack", &out, &raw, now, due_at).map(Some)
            }
            Err(e) => {
                models::insert_event(c, ticket_id, now, "system", "ack_failed", &e.to_string())?;
                Ok(None)
            }
        }
    }
}

/// True when the connection itself failed: retrying the batch mail by mail would not help.
fn is_connection_error(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | Error::BrokenTransactionManager => true,
        Error::DatabaseError(_, info) => {
            let m = info.message();
            m.contains("database is locked")
                || m.contains("disk I/O error")
                || m.contains("database or disk is full")
        }
        _ => false,
    }
}

fn mail_from(mail: &InboundMail) -> String {
    mail.from
        .as_ref()
        .map(|f| f.address.clone())
        .unwrap_or_default()
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

/// Runs raw mails through the pipeline: a second thread reads and prepares while this one
/// stores, batch by batch; each batch's sources are acknowledged after its commit, and then
/// `on_commit` sees its results (to start delivering the mail it queued, say).
pub fn run(
    pipeline: &Pipeline<'_>,
    c: &mut AnyConnection,
    mailbox: &MailboxConfig,
    mails: impl Iterator<Item = Result<RawMail, crate::source::SourceError>> + Send,
    clock: impl Fn() -> BatchClock,
    mut on_commit: impl FnMut(&[MailResult]),
) -> Result<Summary, RunError> {
    let cfg = pipeline.cfg;
    let own = cfg.own_addresses();
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<Result<Vec<Prepared>, crate::source::SourceError>>(4);
        let own = &own;
        s.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            for m in mails {
                match m {
                    Ok(raw) => {
                        batch.push(prepare(raw, cfg, own));
                        if batch.len() == BATCH && tx.send(Ok(std::mem::take(&mut batch))).is_err()
                        {
                            return;
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
                if let Err(e) = maildir::ack(&p.raw.ack) {
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
    pipeline: &Pipeline<'_>,
    c: &mut AnyConnection,
    mailbox: &MailboxConfig,
    mails: Vec<RawMail>,
    clock: BatchClock,
    cursor: Option<&Cursor>,
) -> Result<Vec<MailResult>, StoreError> {
    let own = pipeline.cfg.own_addresses();
    let batch: Vec<Prepared> = mails
        .into_iter()
        .map(|m| prepare(m, pipeline.cfg, &own))
        .collect();
    pipeline.store_batch(c, mailbox, &batch, clock, cursor)
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Source(crate::source::SourceError),
    #[error(transparent)]
    Store(StoreError),
}
