//! The pipeline, the one place the stages are sequenced: prepare (hash, parse, classify: pure,
//! run off the database thread), then store a batch in one transaction (dedupe, thread, act,
//! enqueue replies), then acknowledge the sources. Each mail runs in its own savepoint, so one
//! mail the database refuses is recorded as failed and never stops the mails behind it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;

use diesel::Connection;

use crate::app::App;
use crate::config::{AgentAuth, AgentConfig, Config, MailboxConfig};
use crate::mail::auth::dkim_aligned;
use crate::mail::classify::{classify, MailClass};
use crate::mail::dsn::Dsn;
use crate::mail::parse::{self, one_line, InboundMail};
use crate::mail::quote::{self, REPLY_MARKER};
use crate::notify::Answer;
use crate::outbox;
use crate::security::AddressToken;
use crate::sla::SlaEvent;
use crate::source::{maildir, RawMail};
use crate::store::models::{
    self, NewAttachment, NewInbound, NewMessage, NewTicket, Ticket, TicketChanges,
};
use crate::store::{AnyConnection, StoreError};
use crate::ticket::commands::{self, Assignee, Command};
use crate::ticket::model::{ticket_ref, Direction, MessageKind, Outcome, Priority, Status};
use crate::ticket::rules;
use crate::ticket::thread::{self, Lookups, MatchedBy, Rejoin, Tagged, ThreadDecision};

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

/// A mailbox's position at its IMAP server: everything up to `last_uid` in the folder with
/// this UIDVALIDITY is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub uid_validity: i64,
    pub last_uid: i64,
    /// The instance whose mailbox lease the batch needs ([`crate::cluster`]): the cursor is
    /// saved only while that lease holds, so an instance that lost its mailbox (it stalled
    /// past the lease and another took over) rolls its batch back instead of storing it twice.
    pub fence: Option<std::sync::Arc<str>>,
}

/// A batch refused because its instance no longer holds the mailbox's lease.
#[derive(Debug, thiserror::Error)]
#[error("the lease of mailbox '{0}' was lost; the batch is left to its new holder")]
pub struct LeaseLost(pub String);

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
                    if !crate::store::cluster::hold_lease(c, &mailbox.name, holder, now)? {
                        return Err(diesel::result::Error::QueryBuilderError(Box::new(
                            LeaseLost(mailbox.name.clone()),
                        )));
                    }
                }
                models::set_cursor(
                    c,
                    &mailbox.name,
                    k.uid_validity,
                    k.last_uid,
                    clock.received_at,
                )
            }
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
        let stored = match fast {
            Ok(results) => Ok(results),
            Err(e) if is_connection_error(&e) || is_lease_lost(&e) => Err(e.into()),
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
        }?;
        let m = crate::metrics::get();
        for (p, r) in batch.iter().zip(&stored) {
            if let Some(o) = r.outcome {
                m.mail_stored(o.as_str(), p.started.elapsed());
            }
        }
        Ok(stored)
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
            Parsed::TooLarge(mail, reason) => {
                let id = self.record(
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

        let sender = mail.sender();
        let now = clock.received_at;
        let ident = &self.cfg.identity;
        let recipients: Vec<&str> = mail
            .to
            .iter()
            .chain(&mail.cc)
            .map(|a| a.address.as_str())
            .chain(mail.envelope_to.iter().map(String::as_str))
            .collect();
        let tokens: Vec<AddressToken> = recipients
            .iter()
            .filter_map(|a| {
                self.keys
                    .address_token(a, &ident.address, &ident.plus_delimiter, &sender)
            })
            .collect();
        let agent_token = tokens.iter().find_map(|t| match t {
            AddressToken::Agent { ticket, .. } => Some(*ticket),
            AddressToken::Ticket(_) => None,
        });

        let candidates = thread::candidate_ids(&mail.in_reply_to, &mail.references);
        let mut lookups = Lookups {
            known: models::tickets_of_message_ids(c, &candidates)?,
            ..Lookups::default()
        };
        for id in &candidates {
            if lookups.known.contains_key(*id) {
                break;
            }
            if let Some(t) = self.keys.ticket_of_id(id) {
                if models::ticket_exists(c, t)? {
                    lookups.ours.insert(id, t);
                    break;
                }
            }
        }
        if let Some(t) = thread::parse_subject_tag(&mail.subject, &self.cfg.subject_tags()) {
            if models::ticket_exists(c, t)? {
                let sender_known =
                    self.cfg.agent(&sender).is_some() || models::is_participant(c, t, &sender)?;
                lookups.tagged = Some(Tagged {
                    ticket_id: t,
                    sender_known,
                });
            }
        }
        if let Some(t) = tokens
            .iter()
            .map(|t| match t {
                AddressToken::Ticket(t) | AddressToken::Agent { ticket: t, .. } => *t,
            })
            .next()
        {
            if models::ticket_exists(c, t)? {
                lookups.plus_address = Some(t);
            }
        }
        if let Some(ti) = &mail.thread_index {
            lookups.thread_index = models::ticket_by_thread_index(c, ti)?;
        }
        // A reply that lost its threading headers ("Re: …" and nothing else) meets a recent
        // ticket of the same subject only where that leaks nothing: list mail, or a sender
        // who already takes part in the ticket.
        let (key, replied) = thread::subject_key(&mail.subject);
        if replied && candidates.is_empty() && key.chars().count() >= 4 {
            let since = now - crate::time::millis(self.cfg.threading.reopen_window);
            for t in models::tickets_by_subject_key(c, &key, since)? {
                if matches!(class, MailClass::List(_)) || models::is_participant(c, t, &sender)? {
                    lookups.subject = Some(t);
                    break;
                }
            }
        }
        let (mut existing, mut matched_by, mut thread_reason) =
            match thread::decide(&candidates, &lookups, self.cfg.threading.stranger_tag) {
                ThreadDecision::Existing {
                    ticket_id,
                    matched_by,
                } => (Some(ticket_id), Some(matched_by.as_str()), None),
                ThreadDecision::New { reason } => (None, None, reason),
            };

        // An agent's mail is obeyed only when verified; otherwise it is a customer's mail.
        let mut agent_note = None;
        if let (Some(agent), MailClass::Person) = (self.cfg.agent(&sender), class) {
            let verified = match self.cfg.security.agent_auth {
                AgentAuth::TrustedRelay => true,
                AgentAuth::Token => agent_token.is_some(),
                AgentAuth::Dkim => {
                    dkim_aligned(&mail.auth_results, &self.cfg.security.authserv_ids, &sender)
                }
            };
            // The agent's own reply address names the ticket most surely.
            if let Some(t) = agent_token.filter(|_| verified) {
                if models::ticket_exists(c, t)? {
                    existing = Some(t);
                    matched_by = Some(MatchedBy::PlusAddress.as_str());
                }
            }
            match (verified, existing) {
                (true, Some(ticket_id)) => {
                    let to_notes = ident
                        .notes_address
                        .as_deref()
                        .is_some_and(|n| recipients.contains(&n));
                    return self.agent_mail(
                        c,
                        mailbox,
                        p,
                        mail,
                        agent,
                        AgentMailAt {
                            ticket_id,
                            matched_by,
                            to_notes,
                        },
                        clock,
                    );
                }
                (true, None) => {}
                (false, _) => {
                    agent_note = Some(format!(
                        "from the agent address {sender}, but not verified (agent_auth = \"{}\"): handled as a customer's mail, no command obeyed",
                        self.cfg.security.agent_auth.as_str()
                    ))
                }
            }
        }

        // A bounce reports on one of our mails: it belongs to that mail's ticket.
        if let (MailClass::Bounce(_), Some(dsn)) = (class, &mail.dsn) {
            let ticket = self.record_bounce(c, dsn, now)?;
            if existing.is_none() && ticket.is_some() {
                existing = ticket;
                matched_by = Some(MatchedBy::References.as_str());
            }
        }

        // A customer's reply to a ticket closed long ago starts a new one, linked to it.
        let mut linked_to = None;
        let mut reopen = false;
        if let (Some(t), MailClass::Person | MailClass::List(_)) = (existing, class) {
            if let Some(ticket) = models::get_ticket(c, t)? {
                let window = crate::time::millis(self.cfg.threading.reopen_window);
                match thread::rejoin(&ticket.status, ticket.updated_at, now, window) {
                    Rejoin::Join => {}
                    Rejoin::Reopen => reopen = true,
                    Rejoin::NewLinked => {
                        linked_to = Some(t);
                        thread_reason = Some(format!(
                            "replies to ticket #{t}, closed longer than threading.reopen_window ago: a new ticket linked to it"
                        ));
                        existing = None;
                        matched_by = None;
                    }
                }
            }
        }

        let hops_over = mail.hops >= self.cfg.limits.max_hops;
        let reason: Option<String> = [
            class.reason().map(str::to_string),
            (!mail.limits_hit.is_empty()).then(|| mail.limits_hit.join("; ")),
            thread_reason,
            agent_note,
            hops_over.then(|| {
                format!(
                    "{} {} is at limits.max_hops ({}): never answered automatically",
                    parse::HOPS_HEADER,
                    mail.hops,
                    self.cfg.limits.max_hops
                )
            }),
        ]
        .into_iter()
        .flatten()
        .reduce(|a, b| format!("{a}; {b}"));

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

        // Triage: rules for a new ticket (or a reply) decide its queue, priority, assignee,
        // tags, policy and type; a rule may call it spam (kept, no ticket).
        let on = match (outcome, kind) {
            (Outcome::NewTicket, _) => Some(rules::On::New),
            (Outcome::Reply, Some(MessageKind::Customer)) => Some(rules::On::Reply),
            _ => None,
        };
        let decision = match on {
            Some(on) if self.cfg.rules.iter().any(|r| r.on == on) => rules::evaluate(
                &self.cfg.rules,
                &facts(mail, &p.raw.bytes, mailbox, &self.cfg.rules),
                on,
            ),
            _ => rules::Decision::default(),
        };
        let (outcome, reason) = if decision.actions.spam && on == Some(rules::On::New) {
            let why = format!("spam by rule '{}'", decision.matched.join("', '"));
            (
                Outcome::Spam,
                Some(reason.map_or(why.clone(), |r| format!("{r}; {why}"))),
            )
        } else {
            (outcome, reason)
        };

        let mut opened = None;
        let ticket_id = match (outcome, existing) {
            (Outcome::NewTicket, _) => {
                let t = self.open_ticket(c, mailbox, mail, now, linked_to, &decision)?;
                let id = t.id;
                opened = Some(t);
                Some(id)
            }
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
            reason.as_deref(),
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
            &mail.text,
            now,
        )?;
        // Ancestors we never received: a later mail naming them meets this ticket.
        let absent: Vec<&str> = candidates
            .iter()
            .copied()
            .filter(|id| !lookups.known.contains_key(*id) && !lookups.ours.contains_key(id))
            .take(20)
            .collect();
        if !absent.is_empty() {
            models::insert_thread_refs(c, ticket_id, &absent)?;
        }
        // Whoever writes on an existing ticket takes part in it from now on (the requester
        // already does, so for them this changes nothing).
        if outcome == Outcome::Reply {
            if let Some(f) = &mail.from {
                models::add_participant(c, ticket_id, &f.address, f.name.as_deref(), "cc")?;
            }
        }
        let mut outbox_ids = Vec::new();
        let answer = Answer {
            hops: mail.hops,
            now,
            due_at: clock.due_at,
        };
        if outcome == Outcome::NewTicket {
            let detail = match linked_to {
                Some(old) => format!(
                    "inbound #{inbound_id} via mailbox {}; follows up closed ticket #{old}",
                    mailbox.name
                ),
                None => format!("inbound #{inbound_id} via mailbox {}", mailbox.name),
            };
            models::insert_event(c, ticket_id, now, &sender, "created", &detail)?;
            if let Some(old) = linked_to {
                models::insert_event(
                    c,
                    old,
                    now,
                    &sender,
                    "linked",
                    &format!("followed up by ticket #{ticket_id}"),
                )?;
            }
            if decision.actions.acknowledge == Some(false) {
                models::insert_event(
                    c,
                    ticket_id,
                    now,
                    "system",
                    "ack_suppressed",
                    &format!("by rule '{}'", decision.matched.join("', '")),
                )?;
            } else if class.may_answer() && !hops_over {
                let ticket = opened.as_ref().expect("a new ticket was opened");
                if let Some(id) = self.0.notify().acknowledge(
                    c,
                    ticket,
                    mail,
                    decision.actions.template.as_deref(),
                    answer,
                )? {
                    outbox_ids.push(id);
                }
            }
        } else {
            let event = match outcome {
                Outcome::Bounce => "bounce",
                Outcome::AutoReply => "auto_reply",
                _ if reopen => "reopened",
                _ => "reply",
            };
            models::insert_event(
                c,
                ticket_id,
                now,
                &sender,
                event,
                &format!("inbound #{inbound_id}"),
            )?;
            let reopen = reopen && outcome == Outcome::Reply;
            models::touch_ticket(c, ticket_id, now, reopen.then_some(Status::Open.as_str()))?;
            if outcome == Outcome::Reply {
                self.after_customer_reply(c, ticket_id, &decision, now)?;
            }
        }
        if matches!(outcome, Outcome::NewTicket | Outcome::Reply) {
            let text = if outcome == Outcome::Reply {
                quote::strip_reply(&mail.text)
            } else {
                mail.text.trim().to_string()
            };
            outbox_ids.extend(self.0.notify().notify_agents(
                c,
                ticket_id,
                mail,
                &text,
                outcome == Outcome::NewTicket,
                answer,
            )?);
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
            self.0.notify().notify_delivery_failed(
                c,
                &outbox::FailedMail {
                    outbox_id,
                    ticket_id: t,
                    to: vec![failed.address.clone()],
                    error: error.clone(),
                },
                now,
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
        linked_to: Option<i64>,
        triage: &rules::Decision,
    ) -> diesel::QueryResult<Ticket> {
        let requester = mail.sender();
        let a = &triage.actions;
        let queue = a.queue.clone().unwrap_or_else(|| mailbox.queue.clone());
        let priority = a.priority.unwrap_or(Priority::Normal);
        let assignee = match &a.assign {
            Some(how) => crate::sla::pick_agent(self.cfg, c, how, &queue)?,
            None => None,
        };
        let tags = serde_json::to_string(&a.tags).unwrap_or_else(|_| "[]".into());
        let subject = if mail.subject.is_empty() {
            "(no subject)"
        } else {
            mail.subject.as_str()
        };
        let thread_index = mail
            .thread_index
            .clone()
            .unwrap_or_else(|| new_thread_index(now));
        let sla_policy = a.sla.clone().or_else(|| {
            self.cfg
                .queues
                .iter()
                .find(|q| q.name == queue)
                .and_then(|q| q.sla.clone())
        });
        let ticket_type = a.ticket_type.map(|t| t.as_str());
        let subject_key = thread::subject_key(&mail.subject).0;
        let id = models::insert_ticket(
            c,
            &NewTicket {
                subject,
                status: Status::New.as_str(),
                priority: priority.as_str(),
                queue: &queue,
                requester: &requester,
                assignee: assignee.as_deref(),
                tags: &tags,
                sla_policy: sla_policy.as_deref(),
                created_at: now,
                updated_at: now,
                thread_index: Some(&thread_index),
                subject_key: Some(&subject_key),
                linked_to,
                ticket_type,
            },
        )?;
        let own = self.cfg.own_addresses();
        let mut people: Vec<(&str, Option<&str>, &str)> = vec![(
            requester.as_str(),
            mail.from.as_ref().and_then(|f| f.name.as_deref()),
            "requester",
        )];
        for cc in &mail.cc {
            if !own.contains(&cc.address)
                && self.cfg.agent(&cc.address).is_none()
                && !people.iter().any(|p| p.0 == cc.address)
            {
                people.push((&cc.address, cc.name.as_deref(), "cc"));
            }
        }
        models::insert_participants(c, id, &people)?;
        if !triage.matched.is_empty() {
            models::insert_event(
                c,
                id,
                now,
                "system",
                "rules",
                &format!("matched '{}'", triage.matched.join("', '")),
            )?;
        }
        // The row as stored, without reading it back.
        let mut ticket = Ticket {
            id,
            subject: subject.to_string(),
            status: Status::New.as_str().into(),
            priority: priority.as_str().into(),
            queue,
            requester,
            assignee,
            tags,
            sla_policy,
            first_response_due: None,
            resolution_due: None,
            sla_breached: false,
            first_response_at: None,
            created_at: now,
            updated_at: now,
            thread_index: Some(thread_index),
            subject_key: Some(subject_key),
            linked_to,
            ticket_type: ticket_type.map(str::to_string),
            next_response_due: None,
            resolved_at: None,
        };
        crate::sla::sync(c, self.cfg, &mut ticket, now, SlaEvent::Opened)?;
        Ok(ticket)
    }

    #[allow(clippy::too_many_arguments)]
    fn add_message(
        &self,
        c: &mut AnyConnection,
        ticket_id: i64,
        inbound_id: i64,
        mail: &InboundMail,
        kind: MessageKind,
        text: &str,
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
                text_body: text,
                html_body: if kind == MessageKind::Customer || kind == MessageKind::Auto {
                    mail.html.as_deref()
                } else {
                    None
                },
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

    /// A verified agent's mail about a ticket: commands, then an internal note, or an answer
    /// that goes to the customer; a short reply to the agent for anything not done.
    #[allow(clippy::too_many_arguments)]
    fn agent_mail(
        &self,
        c: &mut AnyConnection,
        mailbox: &MailboxConfig,
        p: &Prepared,
        mail: &InboundMail,
        agent: &AgentConfig,
        at: AgentMailAt<'_>,
        clock: BatchClock,
    ) -> diesel::QueryResult<MailResult> {
        let now = clock.received_at;
        let ticket_id = at.ticket_id;
        let Some(ticket) = models::get_ticket(c, ticket_id)? else {
            return Err(diesel::result::Error::NotFound);
        };
        let parsed = commands::parse(&mail.text);
        let note = parsed.note || at.to_notes;
        let body = quote::strip_reply(&parsed.body);
        let mut errors: Vec<(String, String)> = parsed.errors.clone();
        let mut done: Vec<String> = Vec::new();
        let mut changes = TicketChanges::default();
        let mut tags: Vec<String> = serde_json::from_str(&ticket.tags).unwrap_or_default();
        let mut status_set = false;
        for cmd in &parsed.commands {
            match cmd {
                Command::Status(s) => {
                    changes.status = Some(s.as_str().into());
                    if matches!(s, Status::Resolved | Status::Closed) {
                        changes.resolved_at = Some(Some(now));
                    }
                    status_set = true;
                    done.push(format!("status {s}"));
                }
                Command::Priority(pr) => {
                    changes.priority = Some(pr.as_str().into());
                    done.push(format!("priority {pr}"));
                }
                Command::Queue(q) => {
                    if self.cfg.queues.iter().any(|x| &x.name == q) {
                        changes.queue = Some(q.clone());
                        done.push(format!("queue {q}"));
                    } else {
                        errors.push((format!("#queue {q}"), format!("there is no queue '{q}'")));
                    }
                }
                Command::Assign(a) => match a {
                    Assignee::Me => {
                        changes.assignee = Some(Some(agent.address.clone()));
                        done.push(format!("assigned to {}", agent.address));
                    }
                    Assignee::Nobody => {
                        changes.assignee = Some(None);
                        done.push("unassigned".into());
                    }
                    Assignee::Named(n) => match self.cfg.find_agent(n) {
                        Some(to) => {
                            changes.assignee = Some(Some(to.address.clone()));
                            done.push(format!("assigned to {}", to.address));
                        }
                        None => errors.push((
                            format!("#assign {n}"),
                            format!(
                                "no agent is called '{n}' (use a name, an address, me or nobody)"
                            ),
                        )),
                    },
                },
                Command::Tags { add, remove } => {
                    tags.retain(|t| !remove.contains(t));
                    for t in add {
                        if !tags.contains(t) {
                            tags.push(t.clone());
                        }
                    }
                    changes.tags =
                        Some(serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into()));
                    done.push(format!(
                        "tags {}",
                        add.iter()
                            .map(|t| format!("+{t}"))
                            .chain(remove.iter().map(|t| format!("-{t}")))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ));
                }
            }
        }
        let outcome = if note {
            Outcome::Note
        } else if !body.is_empty() {
            Outcome::AgentReply
        } else {
            Outcome::Command
        };
        let inbound_id = self.record(
            c,
            mailbox,
            p,
            mail,
            outcome,
            Some(ticket_id),
            at.matched_by,
            None,
            None,
            clock,
        )?;
        let kind = if note {
            MessageKind::Note
        } else {
            MessageKind::Agent
        };
        self.add_message(c, ticket_id, inbound_id, mail, kind, &body, now)?;
        for d in &done {
            models::insert_event(c, ticket_id, now, &agent.address, "command", d)?;
        }
        let answer = Answer {
            hops: mail.hops,
            now,
            due_at: clock.due_at,
        };
        let mut outbox_ids = Vec::new();
        let mut sent = false;
        match outcome {
            Outcome::Note => {
                models::insert_event(
                    c,
                    ticket_id,
                    now,
                    &agent.address,
                    "note",
                    &format!("inbound #{inbound_id}"),
                )?;
                outbox_ids.extend(
                    self.0
                        .notify()
                        .share_note(c, &ticket, agent, &body, answer)?,
                );
            }
            Outcome::AgentReply => {
                if let Some(id) = self
                    .0
                    .notify()
                    .answer_customer(c, &ticket, agent, &body, answer)?
                {
                    outbox_ids.push(id);
                    sent = true;
                    models::insert_event(
                        c,
                        ticket_id,
                        now,
                        &agent.address,
                        "agent_reply",
                        &format!("inbound #{inbound_id}"),
                    )?;
                    if ticket.first_response_at.is_none() {
                        changes.first_response_at = Some(now);
                    }
                    if !status_set {
                        changes.status = Some(Status::Open.as_str().into());
                    }
                }
            }
            _ => {}
        }
        changes.updated_at = Some(now);
        let touched_sla = sent
            || changes.status.is_some()
            || changes.priority.is_some()
            || changes.queue.is_some();
        models::update_ticket(c, ticket_id, &changes)?;
        let clocks = touched_sla && ticket.sla_policy.is_some();
        let receipt = outcome == Outcome::Command && errors.is_empty() && !done.is_empty();
        // The ticket as changed, read once for the clocks and the receipt.
        let changed = if clocks || receipt {
            models::get_ticket(c, ticket_id)?
        } else {
            None
        };
        if let (true, Some(mut t)) = (clocks, changed.clone()) {
            let ev = if sent {
                SlaEvent::Answered
            } else {
                SlaEvent::Changed
            };
            crate::sla::sync(c, self.cfg, &mut t, now, ev)?;
        }
        if let (true, Some(t)) = (receipt, changed) {
            outbox_ids.extend(
                self.0
                    .notify()
                    .command_receipt(c, &t, agent, &done, answer)?,
            );
            let closed_now = changes
                .status
                .as_deref()
                .and_then(Status::parse)
                .is_some_and(|s| matches!(s, Status::Resolved | Status::Closed));
            if closed_now && ticket.status != t.status {
                outbox_ids.extend(self.0.notify().status_changed(c, &t, agent, answer)?);
            }
        }
        if !errors.is_empty() {
            let ctx = serde_json::json!({
                "marker": REPLY_MARKER,
                "ticket": {"ref": ticket_ref(&self.cfg.identity.subject_tag, ticket_id)},
                "errors": errors.iter().map(|(line, reason)| serde_json::json!({"line": line, "reason": reason})).collect::<Vec<_>>(),
                "done": done,
                "sent": sent,
            });
            models::insert_event(
                c,
                ticket_id,
                now,
                &agent.address,
                "command_error",
                &errors
                    .iter()
                    .map(|(l, r)| format!("{l}: {r}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            )?;
            let to = (Some(agent.name.clone()), agent.address.clone());
            let subject = format!("Re: {}", one_line(&mail.subject));
            if let Some(id) = self.0.notify().send_automatic(
                c,
                &ticket,
                ("command_error", None),
                &ctx,
                to,
                &subject,
                Some(mail),
                Some(self.0.notify().agent_reply_address(ticket_id, agent)),
                answer,
            )? {
                outbox_ids.push(id);
            }
        }
        Ok(result(
            p,
            Some(outcome),
            Some(inbound_id),
            Some(ticket_id),
            outbox_ids,
        ))
    }

    /// A customer wrote on a ticket: reply rules apply, and the SLA clocks learn of it
    /// (a next-response clock starts, paused clocks resume as the ticket is open again).
    fn after_customer_reply(
        &self,
        c: &mut AnyConnection,
        ticket_id: i64,
        triage: &rules::Decision,
        now: i64,
    ) -> diesel::QueryResult<()> {
        // Nothing to do (and no read) when no rule matched and no SLA policy exists.
        if triage.matched.is_empty() && self.cfg.sla.is_empty() {
            return Ok(());
        }
        let Some(mut ticket) = models::get_ticket(c, ticket_id)? else {
            return Ok(());
        };
        let a = &triage.actions;
        if !triage.matched.is_empty() {
            let mut changes = TicketChanges::default();
            if let Some(q) = &a.queue {
                changes.queue = Some(q.clone());
                ticket.queue = q.clone();
            }
            if let Some(pr) = a.priority {
                changes.priority = Some(pr.as_str().into());
                ticket.priority = pr.as_str().into();
            }
            if let Some(how) = &a.assign {
                let agent = crate::sla::pick_agent(self.cfg, c, how, &ticket.queue)?;
                changes.assignee = Some(agent.clone());
                ticket.assignee = agent;
            }
            if !a.tags.is_empty() {
                let mut tags: Vec<String> = serde_json::from_str(&ticket.tags).unwrap_or_default();
                for t in &a.tags {
                    if !tags.contains(t) {
                        tags.push(t.clone());
                    }
                }
                ticket.tags = serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into());
                changes.tags = Some(ticket.tags.clone());
            }
            if let Some(pol) = &a.sla {
                changes.sla_policy = Some(Some(pol.clone()));
                ticket.sla_policy = Some(pol.clone());
            }
            models::update_ticket(c, ticket_id, &changes)?;
            models::insert_event(
                c,
                ticket_id,
                now,
                "system",
                "rules",
                &format!("matched '{}'", triage.matched.join("', '")),
            )?;
        }
        crate::sla::sync(c, self.cfg, &mut ticket, now, SlaEvent::CustomerReply)
    }
}

/// Where an agent's mail landed.
struct AgentMailAt<'a> {
    ticket_id: i64,
    matched_by: Option<&'a str>,
    to_notes: bool,
}

/// A fresh Outlook conversation index (1 reserved byte, 5 bytes of FILETIME, 16 random bytes),
/// base64: our mail carries it so Outlook threads a conversation we start.
fn new_thread_index(now_ms: i64) -> String {
    use base64::Engine;
    // 100 ns intervals since 1601-01-01.
    let filetime = (now_ms.max(0) as u64 + 11_644_473_600_000) * 10_000;
    let mut b = [0u8; 22];
    b[0] = 1;
    b[1..6].copy_from_slice(&filetime.to_be_bytes()[..5]);
    b[6..14].copy_from_slice(&fastrand::u64(..).to_le_bytes());
    b[14..22].copy_from_slice(&fastrand::u64(..).to_le_bytes());
    base64::engine::general_purpose::STANDARD.encode(b)
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
    let d = rules::evaluate(&cfg.rules, &facts(&mail, raw, mailbox, &cfg.rules), on);
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

/// What the rules may look at in a mail; its headers are read only when a rule asks.
fn facts<'m>(
    mail: &'m InboundMail,
    raw: &[u8],
    mailbox: &'m MailboxConfig,
    rules: &[rules::Rule],
) -> rules::Facts<'m> {
    let wants_headers = rules.iter().any(|r| {
        r.conditions
            .iter()
            .any(|c| matches!(c.field, rules::Field::Header(_)))
    });
    rules::Facts {
        from: mail.from.as_ref().map_or("", |f| f.address.as_str()),
        to: mail
            .to
            .iter()
            .map(|a| a.address.as_str())
            .chain(mail.envelope_to.iter().map(String::as_str))
            .collect(),
        cc: mail.cc.iter().map(|a| a.address.as_str()).collect(),
        subject: &mail.subject,
        body: &mail.text,
        headers: if wants_headers {
            rules::raw_headers(raw)
        } else {
            Vec::new()
        },
        attachment_names: mail.attachments.iter().map(|a| a.name.as_str()).collect(),
        mailbox: &mailbox.name,
    }
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
    app: &App<'_>,
    c: &mut AnyConnection,
    mailbox: &MailboxConfig,
    mails: impl Iterator<Item = Result<RawMail, crate::source::SourceError>> + Send,
    clock: impl Fn() -> BatchClock,
    mut on_commit: impl FnMut(&[MailResult]),
) -> Result<Summary, RunError> {
    let pipeline = Pipeline(app);
    let cfg = app.cfg;
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

/// Whether a batch failed on its lease fence ([`LeaseLost`]).
pub fn is_lease_lost(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::QueryBuilderError(b) if b.is::<LeaseLost>())
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
    Source(crate::source::SourceError),
    #[error(transparent)]
    Store(StoreError),
}
