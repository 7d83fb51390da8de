//! Apply: the one writer of a decision. Each [`Action`] becomes rows in the batch's
//! transaction, in order; ticket field changes are gathered and written in one statement
//! before anything reads the ticket as changed, and the ticket's row is read at most once.

use crate::app::App;
use crate::config::{AgentConfig, MailboxConfig};
use crate::mail::parse::{self, one_line, InboundMail};
use crate::notify::Answer;
use crate::outbox::FailedMail;
use crate::schedule::clocks::SlaEvent;
use crate::store::models::{
    self, NewAttachment, NewInbound, NewMessage, NewTicket, Ticket, TicketChanges,
};
use crate::store::AnyConnection;
use crate::templates::context as ctx;
use crate::ticket::action::{self, Action, Change, Detail, SlaSync};
use crate::ticket::decide::Decision;
use crate::ticket::model::{Direction, MessageKind, Outcome, Status};

use super::{BatchClock, MailResult, Prepared};

mod itsm;
mod linked;
pub(crate) use linked::open_linked_ticket;

/// Writes what `d` decided about `mail`, and says what became of it. `row` is the decision's
/// ticket as load read it, when it has one (this transaction wrote nothing to it since).
#[allow(clippy::too_many_arguments)]
pub fn apply(
    app: &App<'_>,
    c: &mut AnyConnection,
    mailbox: &MailboxConfig,
    p: &Prepared,
    mail: &InboundMail,
    d: &Decision<'_>,
    row: Option<Ticket>,
    clock: BatchClock,
) -> diesel::QueryResult<MailResult> {
    let mut w = Writer {
        app,
        c,
        mailbox,
        p,
        mail,
        d,
        clock,
        answer: Answer {
            hops: d.hops,
            now: clock.received_at,
            due_at: clock.due_at,
        },
        ticket_id: d.ticket,
        row,
        pending: TicketChanges::default(),
        inbound_id: None,
        sent: false,
        outbox_ids: Vec::new(),
    };
    w.run(&d.actions)?;
    w.flush()?;
    Ok(MailResult {
        source_pos: p.raw.source_pos.clone(),
        outcome: Some(d.outcome),
        inbound_id: w.inbound_id,
        ticket_id: w.ticket_id,
        outbox_ids: w.outbox_ids,
    })
}

/// One decision being written.
struct Writer<'a, 'c> {
    app: &'a App<'a>,
    c: &'c mut AnyConnection,
    mailbox: &'a MailboxConfig,
    p: &'a Prepared,
    mail: &'a InboundMail,
    d: &'a Decision<'a>,
    clock: BatchClock,
    /// When, and in answer to what, mail is written.
    answer: Answer,
    /// The mail's ticket: the decision's, or the one [`Action::OpenTicket`] opened.
    ticket_id: Option<i64>,
    /// Its row as it is now, once read (or made).
    row: Option<Ticket>,
    /// Field changes not written yet.
    pending: TicketChanges,
    inbound_id: Option<i64>,
    /// Whether the agent's answer was queued.
    sent: bool,
    outbox_ids: Vec<i64>,
}

impl<'a> Writer<'a, '_> {
    fn run(&mut self, actions: &[Action]) -> diesel::QueryResult<()> {
        for a in actions {
            if !matches!(a, Action::Set(_) | Action::Event { .. }) {
                self.flush()?;
            }
            self.one(a)?;
        }
        Ok(())
    }

    fn one(&mut self, a: &Action) -> diesel::QueryResult<()> {
        let now = self.clock.received_at;
        match a {
            Action::MarkBounced {
                outbox_id,
                ticket,
                address,
                error,
            } => {
                models::mark_bounced(self.c, *outbox_id, error)?;
                if let Some(t) = *ticket {
                    let detail = format!("outbox #{outbox_id}: {error}");
                    models::insert_event(self.c, t, now, "system", "delivery_failed", &detail)?;
                    let failed = FailedMail {
                        outbox_id: *outbox_id,
                        ticket_id: t,
                        to: vec![address.clone()],
                        error: error.clone(),
                    };
                    self.app
                        .notify()
                        .notify_delivery_failed(self.c, &failed, now)?;
                }
            }
            Action::OpenTicket(plan) => self.open_ticket(plan)?,
            Action::Record => {
                let d = self.d;
                let id = record(
                    self.c,
                    self.mailbox,
                    self.p,
                    self.mail,
                    d.outcome,
                    self.ticket_id,
                    d.matched_by.map(|m| m.as_str()),
                    d.reason.as_deref(),
                    d.error.as_deref(),
                    self.clock,
                )?;
                self.inbound_id = Some(id);
            }
            Action::AddMessage { kind, text } => {
                let (t, inbound) = (self.ticket()?, self.inbound()?);
                add_message(self.c, t, inbound, self.mail, *kind, text, None, now)?;
            }
            Action::AddForwarded { from, text, note } => {
                let (t, inbound) = (self.ticket()?, self.inbound()?);
                let m = self.mail;
                add_message(
                    self.c,
                    t,
                    inbound,
                    m,
                    MessageKind::Customer,
                    text,
                    Some(from),
                    now,
                )?;
                if !note.is_empty() {
                    let domain = &self.app.cfg.identity.message_id_domain;
                    let note_mail = InboundMail {
                        message_id: self.app.keys.message_id(Some(t), domain),
                        attachments: Vec::new(),
                        html: None,
                        ..m.clone()
                    };
                    let kind = MessageKind::Note;
                    add_message(self.c, t, inbound, &note_mail, kind, note, None, now)?;
                }
            }
            Action::RememberReferences(ids) => {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                models::insert_thread_refs(self.c, self.ticket()?, &ids)?;
            }
            Action::AddParticipant {
                address,
                name,
                role,
            } => {
                let t = self.ticket()?;
                models::add_participant(self.c, t, address, name.as_deref(), role)?;
            }
            Action::RemoveParticipant { address } => {
                models::remove_participant(self.c, self.ticket()?, address)?;
            }
            Action::Event {
                on,
                actor,
                kind,
                detail,
            } => {
                let t = match on {
                    Some(t) => *t,
                    None => self.ticket()?,
                };
                let text = self.detail(detail)?;
                models::insert_event(self.c, t, now, actor, kind, &text)?;
            }
            Action::Set(change) => self.set(change)?,
            Action::AddTimeSpent(ms) => {
                models::add_time_spent(self.c, self.ticket()?, *ms)?;
                if let Some(r) = &mut self.row {
                    r.time_spent_ms = r.time_spent_ms.saturating_add(*ms);
                }
            }
            Action::SyncSla(how) => {
                let ev = match *how {
                    SlaSync::Event(e) => Some(e),
                    SlaSync::AfterAnswer { .. } if self.sent => Some(SlaEvent::Answered),
                    SlaSync::AfterAnswer { changed: true } => Some(SlaEvent::Changed),
                    SlaSync::AfterAnswer { changed: false } => None,
                };
                if let Some(ev) = ev {
                    let cfg = self.app.cfg;
                    self.row()?;
                    let (c, row) = (&mut *self.c, self.row.as_mut().expect("read just now"));
                    crate::schedule::clocks::sync(c, cfg, row, now, ev)?;
                }
            }
            Action::Acknowledge { template, to } => {
                let row = self.row()?.clone();
                let n = self.app.notify();
                let (mail, template) = (self.mail, template.as_deref());
                let id = n.acknowledge(self.c, &row, mail, template, to.as_ref(), self.answer)?;
                self.outbox_ids.extend(id);
            }
            Action::NotifyAgents { text, is_new } => {
                if !self.app.cfg.agents.is_empty() {
                    let row = self.row()?.clone();
                    let n = self.app.notify();
                    let ids =
                        n.notify_agents(self.c, &row, self.mail, text, *is_new, self.answer)?;
                    self.outbox_ids.extend(ids);
                }
            }
            Action::ShareNote { text } => {
                let (row, agent) = (self.row()?.clone(), self.agent()?);
                let n = self.app.notify();
                let ids = n.share_note(self.c, &row, agent, text, self.answer)?;
                self.outbox_ids.extend(ids);
            }
            Action::AnswerCustomer {
                text,
                articles,
                if_sent,
            } => {
                let (row, agent) = (self.row()?.clone(), self.agent()?);
                let n = self.app.notify();
                let text = if articles.is_empty() {
                    text.clone()
                } else {
                    n.with_articles(self.c, &row, agent, text, articles)?
                };
                if let Some(id) = n.answer_customer(self.c, &row, agent, &text, self.answer)? {
                    self.outbox_ids.push(id);
                    self.sent = true;
                    self.run(if_sent)?;
                }
            }
            a @ (Action::TellRequester { .. }
            | Action::CatalogNext { .. }
            | Action::StartApproval { .. }
            | Action::RecordApproval { .. }
            | Action::ApproverNotice { .. }
            | Action::SetField { .. }
            | Action::SetLanguage { .. }
            | Action::RecordCsat { .. }) => self.itsm(a)?,
            Action::SearchReply { words } => {
                let (row, agent) = (self.row()?.clone(), self.agent()?);
                let q = crate::search::Query::parse(words);
                if let Ok(lib) = self.app.templates.knowledge() {
                    models::sync_file_articles(self.c, &lib.files)?;
                }
                let hits = models::find(self.c, &q, 10)?;
                let mut lines: Vec<String> = hits
                    .iter()
                    .map(|h| match h.kind {
                        "ticket" => format!(
                            "{} ({}) {}: {}",
                            crate::ticket::model::ticket_ref(
                                &self.app.cfg.identity.subject_tag,
                                h.id.unwrap_or_default()
                            ),
                            h.status.as_deref().unwrap_or_default(),
                            h.title,
                            h.snippet
                        ),
                        _ => format!(
                            "Article {} ({}): {}  Send it with: #reply {}",
                            h.name.as_deref().unwrap_or_default(),
                            h.title,
                            h.snippet,
                            h.name.as_deref().unwrap_or_default()
                        ),
                    })
                    .collect();
                if lines.is_empty() {
                    lines.push(format!("Nothing was found for: {words}"));
                }
                let n = self.app.notify();
                let title = format!("Search: {words}");
                let id = n.agent_notice(self.c, &row, agent, &title, lines, self.answer)?;
                self.outbox_ids.extend(id);
            }
            Action::SaveArticle { name, title, body } => {
                let row = self.row()?.clone();
                let saved = models::ArticleRow {
                    name: name.clone(),
                    title: title.clone().unwrap_or_else(|| row.subject.clone()),
                    body: body.clone(),
                    saved_by: self.agent()?.address.clone(),
                    saved_at: self.answer.now,
                };
                models::save_article(self.c, &saved)?;
                models::index_saved_article(self.c, name, &saved.title, &saved.body)?;
            }
            Action::CommandReceipt { done } => {
                let (row, agent) = (self.row()?.clone(), self.agent()?);
                let n = self.app.notify();
                let id = n.command_receipt(self.c, &row, agent, done, self.answer)?;
                self.outbox_ids.extend(id);
            }
            Action::StatusChanged => {
                let (row, agent) = (self.row()?.clone(), self.agent()?);
                let n = self.app.notify();
                let id = n.status_changed(self.c, &row, agent, self.answer)?;
                self.outbox_ids.extend(id);
            }
            Action::CommandError { errors, done } => {
                let (row, agent) = (self.row()?.clone(), self.agent()?);
                self.command_error(&row, agent, errors, done)?;
            }
            Action::Link { other, kind, back } => self.link(*other, *kind, *back)?,
            Action::Unlink { other } => self.unlink(*other)?,
            Action::OpenLinked { plan, kind, back } => self.open_linked(plan, *kind, *back)?,
            Action::Merge { into } => self.merge(*into)?,
            Action::Broadcast {
                text,
                resolve,
                hold,
                confirm,
            } => self.broadcast(text.as_deref(), *resolve, *hold, *confirm)?,
            Action::SendCurrentUpdate { problem, incident } => {
                self.send_current_update(*problem, *incident)?
            }
            Action::ChildDone { parent } => self.child_done(*parent)?,
        }
        Ok(())
    }

    fn ticket(&self) -> diesel::QueryResult<i64> {
        self.ticket_id.ok_or(diesel::result::Error::NotFound)
    }

    fn inbound(&self) -> diesel::QueryResult<i64> {
        self.inbound_id.ok_or(diesel::result::Error::NotFound)
    }

    fn agent(&self) -> diesel::QueryResult<&'a AgentConfig> {
        self.d.agent.ok_or(diesel::result::Error::NotFound)
    }

    /// The ticket's row as it is now (read once, then kept in step with what is written).
    fn row(&mut self) -> diesel::QueryResult<&Ticket> {
        if self.row.is_none() {
            let t = self.ticket()?;
            self.row = Some(models::get_ticket(self.c, t)?.ok_or(diesel::result::Error::NotFound)?);
        }
        Ok(self.row.as_ref().expect("read just now"))
    }

    fn detail(&self, d: &Detail) -> diesel::QueryResult<String> {
        Ok(match d {
            Detail::Text(t) => t.clone(),
            Detail::Inbound => format!("inbound #{}", self.inbound()?),
            Detail::Created { mailbox, follows } => {
                let inbound = self.inbound()?;
                match follows {
                    Some(old) => format!(
                        "inbound #{inbound} via mailbox {mailbox}; follows up closed ticket #{old}"
                    ),
                    None => format!("inbound #{inbound} via mailbox {mailbox}"),
                }
            }
            Detail::FollowedUpBy => format!("followed up by ticket #{}", self.ticket()?),
        })
    }

    fn set(&mut self, change: &Change) -> diesel::QueryResult<()> {
        let ch = &mut self.pending;
        match change {
            Change::Status(s) => ch.status = Some(s.as_str().into()),
            Change::Priority(p) => ch.priority = Some(p.as_str().into()),
            Change::Queue(q) => ch.queue = Some(q.clone()),
            Change::Assignee(a) => ch.assignee = Some(a.clone()),
            Change::AssignBy(how) => {
                let queue = match &self.pending.queue {
                    Some(q) => q.clone(),
                    None => self.row()?.queue.clone(),
                };
                let picked =
                    crate::schedule::clocks::pick_agent(self.app.cfg, self.c, how, &queue)?;
                self.pending.assignee = Some(picked);
            }
            Change::Tags(tags) => {
                ch.tags = Some(serde_json::to_string(tags).unwrap_or_else(|_| "[]".into()))
            }
            Change::Type(t) => ch.ticket_type = Some(Some(t.as_str().into())),
            Change::SlaPolicy(p) => ch.sla_policy = Some(p.clone()),
            Change::FirstResponseAt(at) => ch.first_response_at = Some(*at),
            Change::ResolvedAt(at) => ch.resolved_at = Some(Some(*at)),
            Change::UpdatedAt(at) => ch.updated_at = Some(*at),
        }
        Ok(())
    }

    /// Writes the gathered field changes, and keeps the row in memory in step.
    fn flush(&mut self) -> diesel::QueryResult<()> {
        let ch = std::mem::take(&mut self.pending);
        let empty = ch.status.is_none()
            && ch.priority.is_none()
            && ch.queue.is_none()
            && ch.assignee.is_none()
            && ch.tags.is_none()
            && ch.first_response_at.is_none()
            && ch.updated_at.is_none()
            && ch.sla_policy.is_none()
            && ch.resolved_at.is_none()
            && ch.ticket_type.is_none();
        if empty {
            return Ok(());
        }
        // A survey is scheduled at a resolution and cancelled at a reopening: what the
        // status was is needed then.
        let was = match (&ch.status, &self.app.cfg.csat) {
            (Some(_), Some(_)) => Some(self.row()?.status.clone()),
            _ => None,
        };
        models::update_ticket(self.c, self.ticket()?, &ch)?;
        if let Some(r) = &mut self.row {
            merge(r, ch);
        }
        if let (Some(was), Some(row)) = (was, &self.row) {
            let now = self.clock.received_at;
            crate::schedule::csat::status_changed(self.app, self.c, row, &was, now)?;
        }
        Ok(())
    }

    fn open_ticket(&mut self, plan: &action::NewTicket) -> diesel::QueryResult<()> {
        let (cfg, now) = (self.app.cfg, self.clock.received_at);
        // A mail that named no sender opens a ticket with no requester ("").
        let requester = plan
            .people
            .iter()
            .find(|p| p.2 == "requester")
            .map(|p| p.0.clone())
            .unwrap_or_default();
        let assignee = match &plan.assign {
            Some(how) => crate::schedule::clocks::pick_agent(cfg, self.c, how, &plan.queue)?,
            None => None,
        };
        let thread_index = plan
            .thread_index
            .clone()
            .unwrap_or_else(|| new_thread_index(now));
        let ticket_type = plan.ticket_type.map(|t| t.as_str());
        let (id, tags) = insert_plan(
            self.c,
            plan,
            &requester,
            assignee.as_deref(),
            &thread_index,
            now,
        )?;
        let people: Vec<(&str, Option<&str>, &str)> = plan
            .people
            .iter()
            .map(|(a, n, r)| (a.as_str(), n.as_deref(), *r))
            .collect();
        models::insert_participants(self.c, id, &people)?;
        if !plan.rules.is_empty() {
            let detail = format!("matched '{}'", plan.rules.join("', '"));
            models::insert_event(self.c, id, now, "system", "rules", &detail)?;
        }
        // The row as stored, without reading it back.
        self.row = Some(Ticket {
            id,
            subject: plan.subject.clone(),
            status: Status::New.as_str().into(),
            priority: plan.priority.as_str().into(),
            queue: plan.queue.clone(),
            requester,
            assignee,
            tags,
            sla_policy: plan.sla_policy.clone(),
            first_response_due: None,
            resolution_due: None,
            sla_breached: false,
            first_response_at: None,
            created_at: now,
            updated_at: now,
            thread_index: Some(thread_index),
            subject_key: Some(plan.subject_key.clone()),
            linked_to: plan.linked_to,
            ticket_type: ticket_type.map(str::to_string),
            next_response_due: None,
            resolved_at: None,
            time_spent_ms: 0,
            identity: plan.identity.clone(),
        });
        self.ticket_id = Some(id);
        Ok(())
    }

    /// The command lines not obeyed, with why, to the agent who wrote them.
    fn command_error(
        &mut self,
        ticket: &Ticket,
        agent: &AgentConfig,
        errors: &[(String, String)],
        done: &[String],
    ) -> diesel::QueryResult<()> {
        let n = self.app.notify();
        let ctx = ctx::CommandError {
            marker: ctx::MARKER,
            ticket: n.ticket_ctx(ticket),
            errors: errors
                .iter()
                .map(|(line, reason)| ctx::LineError {
                    line: line.clone(),
                    reason: reason.clone(),
                })
                .collect(),
            done: done.to_vec(),
            sent: self.sent,
        };
        let to = (Some(agent.name.clone()), agent.address.clone());
        let subject = format!("Re: {}", one_line(&self.mail.subject));
        let reply_to = n.agent_reply_address(ticket, agent);
        let id = n.send_automatic(
            self.c,
            ticket,
            ("command_error", None),
            &ctx,
            to,
            &subject,
            Some(self.mail),
            Some(reply_to),
            self.answer,
        )?;
        self.outbox_ids.extend(id);
        Ok(())
    }
}

/// Inserts the ticket `plan` describes (status new); its id and its tags as stored.
fn insert_plan(
    c: &mut AnyConnection,
    plan: &action::NewTicket,
    requester: &str,
    assignee: Option<&str>,
    thread_index: &str,
    now: i64,
) -> diesel::QueryResult<(i64, String)> {
    let tags = serde_json::to_string(&plan.tags).unwrap_or_else(|_| "[]".into());
    let id = models::insert_ticket(
        c,
        &NewTicket {
            subject: &plan.subject,
            status: Status::New.as_str(),
            priority: plan.priority.as_str(),
            queue: &plan.queue,
            requester,
            assignee,
            tags: &tags,
            sla_policy: plan.sla_policy.as_deref(),
            created_at: now,
            updated_at: now,
            thread_index: Some(thread_index),
            subject_key: Some(&plan.subject_key),
            linked_to: plan.linked_to,
            ticket_type: plan.ticket_type.map(|t| t.as_str()),
            identity: plan.identity.as_deref(),
        },
    )?;
    models::index_doc(c, "ticket", Some(id), None, &plan.subject)?;
    Ok((id, tags))
}

/// A row in memory brought in step with the changes written to it.
fn merge(t: &mut Ticket, ch: TicketChanges) {
    macro_rules! take {
        ($($f:ident),+) => { $(if let Some(v) = ch.$f { t.$f = v; })+ };
    }
    take!(
        status,
        priority,
        queue,
        assignee,
        tags,
        updated_at,
        sla_policy,
        resolved_at,
        ticket_type
    );
    if let Some(v) = ch.first_response_at {
        t.first_response_at = Some(v);
    }
}

/// The received mail's row (the raw bytes, or only the headers of a mail over a limit).
#[allow(clippy::too_many_arguments)]
pub fn record(
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
            sender_header: mail.sender_header,
        },
    )
}

/// The mail as a message of `ticket_id`, with its attachments; `from` instead of the mail's
/// sender (a forwarded customer's mail).
#[allow(clippy::too_many_arguments)]
fn add_message(
    c: &mut AnyConnection,
    ticket_id: i64,
    inbound_id: i64,
    mail: &InboundMail,
    kind: MessageKind,
    text: &str,
    from: Option<&parse::MailAddr>,
    now: i64,
) -> diesel::QueryResult<()> {
    let refs = mail.references.join(" ");
    let addrs = |v: &[parse::MailAddr]| {
        serde_json::to_string(&v.iter().map(|a| a.address.as_str()).collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".into())
    };
    let from = from.or(mail.from.as_ref());
    models::index_doc(c, "message", Some(ticket_id), None, text)?;
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
