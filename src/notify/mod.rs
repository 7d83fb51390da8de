//! Mail about tickets, to customers and to agents: who receives it, its threading headers,
//! its rendered template, and its row in the outbox (in the caller's transaction). The
//! pipeline, the SLA sweep, digests and the sender's failure reports all compose here.

use crate::app::App;
use crate::config::AgentConfig;
use crate::mail::compose::{compose, tagged_subject, OutgoingMail};
use crate::mail::parse::{self, one_line, InboundMail};
use crate::outbox;
use crate::store::models::{self, Ticket};
use crate::store::AnyConnection;
use crate::templates::context as ctx;
use crate::ticket::model::{ticket_ref, MessageKind};

mod problem;
mod suggest;
pub use problem::UpdateTo;
pub use suggest::SOLVED_LINK_LIFE_S;

/// Why a mail could not be made.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Template(#[from] crate::templates::TemplateError),
    #[error("composing the mail: {0}")]
    Compose(#[from] crate::mail::compose::ComposeError),
}

/// Composes and queues mail for the desk `App` describes.
#[derive(Clone, Copy)]
pub struct Notifier<'a>(pub &'a App<'a>);

impl<'a> App<'a> {
    /// The composer of mail about tickets.
    pub fn notify(&'a self) -> Notifier<'a> {
        Notifier(self)
    }
}

impl<'a> std::ops::Deref for Notifier<'a> {
    type Target = App<'a>;
    fn deref(&self) -> &App<'a> {
        self.0
    }
}

impl Notifier<'_> {
    /// The support address a ticket is answered as (its `[[identities]]` entry, else the
    /// default identity).
    pub fn identity_of(&self, t: &Ticket) -> &crate::config::Identity {
        self.cfg.identity_named(t.identity.as_deref())
    }

    /// The ticket's identity, for templates.
    pub fn identity_ctx(&self, t: &Ticket) -> ctx::Identity {
        let id = self.identity_of(t);
        ctx::Identity {
            name: id.name.clone(),
            address: id.address.clone(),
        }
    }

    /// A ticket as templates show it (no assignee or due time unless a context adds them).
    pub fn ticket_ctx(&self, t: &Ticket) -> ctx::Ticket {
        ctx::Ticket {
            id: t.id,
            reference: ticket_ref(&self.identity_of(t).subject_tag, t.id),
            subject: t.subject.clone(),
            status: t.status.clone(),
            priority: t.priority.clone(),
            queue: t.queue.clone(),
            assignee: None,
            sla_due: None,
            sla_due_ms: None,
            ticket_type: t.ticket_type.clone(),
        }
    }

    /// Tells the ticket's agents (the assignee, else the queue's) that a mail failed for good,
    /// from the sender or by a bounce. Mail that went to agents themselves is not reported
    /// this way (a notice about a notice could loop), and the customer is never told.
    pub fn notify_delivery_failed(
        &self,
        c: &mut AnyConnection,
        failed: &outbox::FailedMail,
        now: i64,
    ) -> diesel::QueryResult<Vec<i64>> {
        if !failed.to.is_empty() && failed.to.iter().all(|a| self.cfg.agent(a).is_some()) {
            return Ok(Vec::new());
        }
        let Some(ticket) = models::get_ticket(c, failed.ticket_id)? else {
            return Ok(Vec::new());
        };
        let answer = Answer {
            hops: 0,
            now,
            due_at: now,
        };
        let ctx = ctx::DeliveryFailed {
            marker: ctx::MARKER,
            ticket: self.ticket_ctx(&ticket),
            to: failed.to.join(", "),
            error: failed.error.clone(),
        };
        let mut ids = Vec::new();
        for agent in self
            .cfg
            .agents_for(ticket.assignee.as_deref(), &ticket.queue)
        {
            let out = self.about_ticket(
                &ticket,
                &format!("Undelivered: {}", ticket.subject),
                None,
                answer,
            );
            if let Some(i) =
                self.send_to_agent(c, ticket.id, agent, "delivery_failed", &ctx, out, answer)?
            {
                ids.push(i);
            }
        }
        Ok(ids)
    }

    /// The signed address that brings `agent`'s answer back to `ticket` as theirs (at the
    /// ticket's support address).
    pub fn agent_reply_address(&self, ticket: &Ticket, agent: &AgentConfig) -> String {
        self.agent_address_at(&self.identity_of(ticket).address, ticket.id, agent)
    }

    /// [`Self::agent_reply_address`] at the support address `at`.
    fn agent_address_at(&self, at: &str, ticket: i64, agent: &AgentConfig) -> String {
        let delimiter = &self.cfg.identity.plus_delimiter;
        self.keys
            .agent_address(at, delimiter, ticket, &agent.address)
    }

    /// Queues a notice to one agent (template and outbox kind `kind`): To the agent, Reply-To
    /// their own signed address, marked automatic.
    #[allow(clippy::too_many_arguments)]
    pub fn send_to_agent(
        &self,
        c: &mut AnyConnection,
        ticket: i64,
        agent: &AgentConfig,
        kind: &str,
        ctx: &impl serde::Serialize,
        mut out: OutgoingMail,
        answer: Answer,
    ) -> diesel::QueryResult<Option<i64>> {
        out.to = vec![(Some(agent.name.clone()), agent.address.clone())];
        out.reply_to = Some(self.agent_address_at(&out.from_address, ticket, agent));
        out.auto_submitted = Some("auto-generated");
        self.queue_mail(
            c,
            ticket,
            kind,
            MessageKind::Notification,
            kind,
            ctx,
            out,
            answer,
        )
    }

    /// An automatic mail about no one ticket (a digest, an SLA summary) from our identity to
    /// `to`, with `template` rendered from `ctx`, composed but not queued.
    pub fn compose_report(
        &self,
        to: Vec<(Option<String>, String)>,
        subject: String,
        template: &str,
        ctx: serde_json::Value,
        inline: Vec<crate::mail::compose::Inline>,
        now: i64,
    ) -> Result<(OutgoingMail, Vec<u8>), NotifyError> {
        let id = &self.cfg.identity;
        let rendered = self.templates.render_json(template, ctx)?;
        let mail = OutgoingMail {
            from_name: id.name.clone(),
            from_address: id.address.clone(),
            to,
            cc: Vec::new(),
            reply_to: None,
            subject,
            message_id: self.keys.message_id(None, &id.message_id_domain),
            in_reply_to: None,
            references: Vec::new(),
            date: now,
            auto_submitted: Some("auto-generated"),
            loop_marker: id.message_id_domain.clone(),
            hops: 1,
            thread_index: None,
            thread_topic: None,
            text: rendered.text,
            html: rendered.html,
            inline,
            language: None,
        };
        let raw = compose(&mail)?;
        Ok((mail, raw))
    }

    /// A notice to one agent, rendered and composed but not queued (for [`outbox::enqueue_many`]):
    /// the same mail [`Self::send_to_agent`] queues. The error says what failed.
    pub fn compose_to_agent(
        &self,
        ticket: i64,
        agent: &AgentConfig,
        template: &str,
        ctx: &impl serde::Serialize,
        mut out: OutgoingMail,
    ) -> Result<(OutgoingMail, Vec<u8>), NotifyError> {
        out.to = vec![(Some(agent.name.clone()), agent.address.clone())];
        out.reply_to = Some(self.agent_address_at(&out.from_address, ticket, agent));
        out.auto_submitted = Some("auto-generated");
        let rendered = self
            .templates
            .for_address(&out.from_address)
            .render(template, ctx)?;
        out.text = rendered.text;
        out.html = rendered.html;
        let raw = compose(&out)?;
        Ok((out, raw))
    }

    /// The fields every mail about a ticket shares: our identity, a Message-ID naming the
    /// ticket, the self-reference first in References, the ticket's Outlook conversation and
    /// the hop count.
    pub fn about_ticket(
        &self,
        ticket: &Ticket,
        subject: &str,
        threading: Option<(&str, &str)>,
        answer: Answer,
    ) -> OutgoingMail {
        let id = self.identity_of(ticket);
        let self_ref = self.keys.self_reference(ticket.id, &id.message_id_domain);
        let (in_reply_to, mut references) = match threading {
            Some((mid, refs)) => {
                let mut r: Vec<String> = refs.split_whitespace().map(str::to_string).collect();
                r.push(mid.to_string());
                (Some(mid.to_string()), r)
            }
            None => (None, Vec::new()),
        };
        references.retain(|r| r != &self_ref);
        if references.len() > 19 {
            references.drain(..references.len() - 19);
        }
        references.insert(0, self_ref);
        OutgoingMail {
            from_name: id.name.clone(),
            from_address: id.address.clone(),
            to: Vec::new(),
            cc: Vec::new(),
            reply_to: None,
            subject: tagged_subject(&ticket_ref(&id.subject_tag, ticket.id), subject),
            message_id: self.keys.message_id(Some(ticket.id), &id.message_id_domain),
            in_reply_to,
            references,
            date: answer.now,
            auto_submitted: None,
            loop_marker: id.message_id_domain.clone(),
            hops: answer.hops.saturating_add(1),
            thread_index: ticket.thread_index.clone(),
            thread_topic: Some(one_line(&ticket.subject)),
            text: String::new(),
            html: String::new(),
            inline: Vec::new(),
            language: None,
        }
    }

    /// The customer's Reply-To: the ticket's plus address, when plus addressing is on.
    pub fn customer_reply_to(&self, ticket: &Ticket) -> Option<String> {
        let id = self.identity_of(ticket);
        id.plus_addressing.then(|| {
            self.keys
                .ticket_address(&id.address, &id.plus_delimiter, ticket.id)
        })
    }

    /// Renders, composes and queues one mail; a template or address problem becomes an event
    /// on the ticket instead of failing the mail that caused it.
    #[allow(clippy::too_many_arguments)]
    pub fn queue_mail(
        &self,
        c: &mut AnyConnection,
        ticket_id: i64,
        kind: &str,
        message_kind: MessageKind,
        template: &str,
        ctx: &impl serde::Serialize,
        mut out: OutgoingMail,
        answer: Answer,
    ) -> diesel::QueryResult<Option<i64>> {
        // A customer is written to in their language, an agent in theirs.
        let to = out.to.first().map(|(_, a)| a.as_str()).unwrap_or_default();
        let lang = match message_kind {
            MessageKind::Notification => self.cfg.agent(to).map(|a| a.language.clone()),
            _ if self.cfg.is_outsider(to) && !to.is_empty() => models::contact_language(c, to)?,
            _ => None,
        }
        .filter(|l| l != crate::ticket::language::LANGUAGES[0]);
        let templates = self.templates.for_address(&out.from_address);
        out.language = lang.clone().filter(|l| templates.has_language(l, template));
        let made = templates
            .render_in(
                lang.as_deref()
                    .unwrap_or(crate::ticket::language::LANGUAGES[0]),
                template,
                ctx,
            )
            .map_err(NotifyError::from)
            .and_then(|r| {
                out.text = r.text;
                out.html = r.html;
                Ok(compose(&out)?)
            });
        match made {
            Ok(raw) => outbox::enqueue(
                c,
                Some(ticket_id),
                kind,
                message_kind,
                &out,
                &raw,
                answer.now,
                answer.due_at,
            )
            .map(Some),
            Err(e) => {
                models::insert_event(
                    c,
                    ticket_id,
                    answer.now,
                    "system",
                    &format!("{kind}_failed"),
                    &e.to_string(),
                )?;
                Ok(None)
            }
        }
    }

    /// An automatic answer (acknowledgement, command error) to `to`, unless the address had
    /// `limits.auto_replies_per_hour` of them in the last hour: that stops two auto-responders
    /// from ping-ponging through us. `kind` is the outbox kind; the template is `template`,
    /// else the one named like the kind.
    #[allow(clippy::too_many_arguments)]
    pub fn send_automatic(
        &self,
        c: &mut AnyConnection,
        ticket: &Ticket,
        (kind, template): (&'static str, Option<&str>),
        ctx: &impl serde::Serialize,
        to: (Option<String>, String),
        subject: &str,
        answering: Option<&InboundMail>,
        reply_to: Option<String>,
        answer: Answer,
    ) -> diesel::QueryResult<Option<i64>> {
        let cap = self.cfg.limits.auto_replies_per_hour;
        let recent = models::count_sent_to(c, &to.1, AUTOMATIC_KINDS, answer.now - 3_600_000)?;
        if recent >= i64::from(cap) {
            models::insert_event(
                c,
                ticket.id,
                answer.now,
                "system",
                "auto_reply_suppressed",
                &format!("no {kind} to {}: already {recent} automatic mails in the last hour (limits.auto_replies_per_hour = {cap})", to.1),
            )?;
            return Ok(None);
        }
        let threading = answering.and_then(answer_threading);
        let mut out = self.about_ticket(
            ticket,
            subject,
            threading.as_ref().map(|(m, r)| (*m, r.as_str())),
            answer,
        );
        out.to = vec![to];
        out.reply_to = reply_to;
        out.auto_submitted = Some("auto-replied");
        self.queue_mail(
            c,
            ticket.id,
            kind,
            MessageKind::Auto,
            template.unwrap_or(kind),
            ctx,
            out,
            answer,
        )
    }

    /// Queues the acknowledgement of a new ticket.
    pub fn acknowledge(
        &self,
        c: &mut AnyConnection,
        ticket: &Ticket,
        mail: &InboundMail,
        template: Option<&str>,
        to: Option<&parse::MailAddr>,
        answer: Answer,
    ) -> diesel::QueryResult<Option<i64>> {
        // Reply-To wins, unless it names one of our own addresses (web forms and some clients
        // set it so): then the answer goes to From, never to ourselves. A forwarded customer's
        // mail is acknowledged to that customer.
        let own = self.cfg.own_addresses();
        let to = to
            .or(mail
                .reply_to
                .as_ref()
                .filter(|r| !own.contains(&r.address))
                .or(mail.from.as_ref()))
            .cloned()
            .unwrap_or_else(|| parse::MailAddr {
                name: None,
                address: String::new(),
            });
        let customer = ctx::Person::new(&to.address, to.name.as_deref());
        let suggestions = self.suggestions(c, ticket, &mail.text, &customer, answer.now)?;
        let ctx = ctx::Ack {
            identity: self.identity_ctx(ticket),
            ticket: self.ticket_ctx(ticket),
            customer,
            suggestions,
        };
        self.send_automatic(
            c,
            ticket,
            ("ack", template),
            &ctx,
            (to.name.clone(), to.address.clone()),
            &ticket.subject,
            Some(mail),
            self.customer_reply_to(ticket),
            answer,
        )
    }

    /// Mails a new ticket or a customer's reply to the agents who should see it, each with a
    /// Reply-To of their own that brings their answer back to this ticket as theirs.
    pub fn notify_agents(
        &self,
        c: &mut AnyConnection,
        ticket: &Ticket,
        mail: &InboundMail,
        text: &str,
        is_new: bool,
        answer: Answer,
    ) -> diesel::QueryResult<Vec<i64>> {
        let id = self.identity_of(ticket);
        let sender = mail.sender();
        let customer_name = mail.from.as_ref().and_then(|f| f.name.clone());
        let sla_due = ticket
            .first_response_at
            .is_none()
            .then_some(ticket.first_response_due)
            .flatten()
            .or(ticket.next_response_due)
            .or(ticket.resolution_due);
        let threading = answer_threading(mail);
        let (problems, incidents) = self.linked_summary(c, ticket)?;
        let mut ids = Vec::new();
        for agent in self
            .cfg
            .agents_for(ticket.assignee.as_deref(), &ticket.queue)
        {
            if agent.address == sender {
                continue;
            }
            let ctx = ctx::NotifyAgent {
                marker: ctx::MARKER,
                is_new,
                identity: self.identity_ctx(ticket),
                ticket: ctx::Ticket {
                    assignee: ticket.assignee.clone(),
                    sla_due: sla_due.map(crate::time::rfc3339),
                    sla_due_ms: sla_due,
                    ..self.ticket_ctx(ticket)
                },
                customer: ctx::Person::new(&sender, customer_name.as_deref()),
                agent: agent_ctx(agent),
                text: text.to_string(),
                problems: problems.clone(),
                incidents: incidents.clone(),
            };
            let mut out = self.about_ticket(
                ticket,
                &mail.subject,
                threading.as_ref().map(|(m, r)| (*m, r.as_str())),
                answer,
            );
            out.from_name = match &customer_name {
                Some(n) => format!("{n} via {}", id.name),
                None => format!("{sender} via {}", id.name),
            };
            if let Some(i) =
                self.send_to_agent(c, ticket.id, agent, "notify_agent", &ctx, out, answer)?
            {
                ids.push(i);
            }
        }
        Ok(ids)
    }

    /// The agent's answer, to the requester and the CCs, from "Agent via Support", threaded to
    /// the customer's last mail.
    pub fn answer_customer(
        &self,
        c: &mut AnyConnection,
        ticket: &Ticket,
        agent: &AgentConfig,
        text: &str,
        answer: Answer,
    ) -> diesel::QueryResult<Option<i64>> {
        let ctx = ctx::AgentReply {
            text: text.to_string(),
            agent: agent_ctx(agent),
            identity: self.identity_ctx(ticket),
            ticket: self.ticket_ctx(ticket),
        };
        self.to_customer(
            c,
            ticket,
            agent,
            ("agent_reply", MessageKind::Agent, None),
            &ctx,
            answer,
        )
    }

    /// The agent's text with the knowledge articles `names` (`#reply`) below it, each rendered
    /// for the ticket's requester: a saved article over a file of the same name.
    pub fn with_articles(
        &self,
        c: &mut AnyConnection,
        ticket: &Ticket,
        agent: &AgentConfig,
        text: &str,
        names: &[String],
    ) -> diesel::QueryResult<String> {
        let requester_name = models::requester_names(c, &[ticket.id])?.remove(&ticket.id);
        let context = ctx::Article {
            customer: ctx::Person::new(&ticket.requester, requester_name.as_deref()),
            ticket: self.ticket_ctx(ticket),
            agent: agent_ctx(agent),
            identity: self.identity_ctx(ticket),
        };
        let mut out = text.trim_end().to_string();
        let lang = models::contact_language(c, &ticket.requester)?;
        for name in names {
            // A saved article first, then the file in the customer's language, then as written.
            let article = match models::article(c, name)? {
                Some(a) => Some(a.into_article()),
                None => self.templates.knowledge().ok().and_then(|l| {
                    lang.as_deref()
                        .and_then(|lang| l.translations.get(lang))
                        .and_then(|t| t.get(name))
                        .or_else(|| l.files.get(name))
                        .cloned()
                }),
            };
            // (decide saw the name among the articles; one deleted since is left out)
            let Some(article) = article else { continue };
            let body = crate::knowledge::render(&article, &context).unwrap_or_else(|e| {
                tracing::warn!(article = %name, error = %e, "article sent as written");
                article.body.clone()
            });
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&body);
        }
        Ok(out)
    }

    /// Tells the customer their ticket was resolved or closed by an agent's command alone (an
    /// answer with text tells them itself).
    pub fn status_changed(
        &self,
        c: &mut AnyConnection,
        ticket: &Ticket,
        agent: &AgentConfig,
        answer: Answer,
    ) -> diesel::QueryResult<Option<i64>> {
        let ctx = ctx::StatusChanged {
            agent: agent_ctx(agent),
            identity: self.identity_ctx(ticket),
            ticket: self.ticket_ctx(ticket),
        };
        self.to_customer(
            c,
            ticket,
            agent,
            ("status_changed", MessageKind::Auto, Some("auto-generated")),
            &ctx,
            answer,
        )
    }

    /// A mail to the ticket's customer (requester, others in copy), threaded to their last mail,
    /// From "Agent via Support", Reply-To the ticket's address.
    pub fn to_customer(
        &self,
        c: &mut AnyConnection,
        ticket: &Ticket,
        agent: &AgentConfig,
        (template, kind, auto): (&str, MessageKind, Option<&'static str>),
        ctx: &impl serde::Serialize,
        answer: Answer,
    ) -> diesel::QueryResult<Option<i64>> {
        let id = self.identity_of(ticket);
        let people = models::participants_of_ticket(c, ticket.id)?;
        let outsider = |a: &str| self.cfg.is_outsider(a);
        let Some(requester) = self.requester_among(&people, ticket) else {
            models::insert_event(
                c,
                ticket.id,
                answer.now,
                "system",
                &format!("{template}_failed"),
                "the ticket has no customer to write to",
            )?;
            return Ok(None);
        };
        let cc: Vec<(Option<String>, String)> = people
            .iter()
            .filter(|(a, _, role)| role != "requester" && outsider(a) && *a != requester.1)
            .map(|(a, n, _)| (n.clone(), a.clone()))
            .collect();
        let last = models::last_customer_message(c, ticket.id)?;
        let subject = format!("Re: {}", ticket.subject);
        let mut out = self.about_ticket(
            ticket,
            &subject,
            last.as_ref().map(|(m, r)| (m.as_str(), r.as_str())),
            answer,
        );
        out.from_name = format!("{} via {}", agent.name, id.name);
        out.to = vec![requester];
        out.cc = cc;
        out.reply_to = self.customer_reply_to(ticket);
        out.auto_submitted = auto;
        self.queue_mail(c, ticket.id, template, kind, template, ctx, out, answer)
    }

    /// The ticket's customer, (name, address): its requester among `people` (its
    /// participants), else the ticket's requester address; `None` when that is no customer.
    pub fn requester_among(
        &self,
        people: &[(String, Option<String>, String)],
        ticket: &Ticket,
    ) -> Option<(Option<String>, String)> {
        let outsider = |a: &str| !a.is_empty() && self.cfg.is_outsider(a);
        people
            .iter()
            .find(|(a, _, role)| role == "requester" && outsider(a))
            .map(|(a, n, _)| (n.clone(), a.clone()))
            .or_else(|| outsider(&ticket.requester).then(|| (None, ticket.requester.clone())))
    }

    /// An automatic mail (outbox kind and template `template`) to the customer `to`, from the
    /// support address, threaded to their last mail, Reply-To the ticket's address.
    pub fn automatic_to_customer(
        &self,
        c: &mut AnyConnection,
        ticket: &Ticket,
        to: (Option<String>, String),
        template: &str,
        ctx: &impl serde::Serialize,
        answer: Answer,
    ) -> diesel::QueryResult<Option<i64>> {
        let last = models::last_customer_message(c, ticket.id)?;
        let mut out = self.about_ticket(
            ticket,
            &format!("Re: {}", ticket.subject),
            last.as_ref().map(|(m, r)| (m.as_str(), r.as_str())),
            answer,
        );
        out.to = vec![to];
        out.reply_to = self.customer_reply_to(ticket);
        out.auto_submitted = Some("auto-generated");
        self.queue_mail(
            c,
            ticket.id,
            template,
            MessageKind::Auto,
            template,
            ctx,
            out,
            answer,
        )
    }

    /// An internal note goes to the ticket's other agents (the assignee, else the queue's),
    /// never to the customer; each can answer it from their own reply address.
    pub fn share_note(
        &self,
        c: &mut AnyConnection,
        ticket: &Ticket,
        author: &AgentConfig,
        text: &str,
        answer: Answer,
    ) -> diesel::QueryResult<Vec<i64>> {
        let mut to: Vec<&AgentConfig> = self
            .cfg
            .agents_for(ticket.assignee.as_deref(), &ticket.queue)
            .into_iter()
            .filter(|a| a.address != author.address)
            .collect();
        if to.is_empty() && ticket.assignee.as_deref() == Some(author.address.as_str()) {
            // The assignee wrote it: the queue's other agents hear of it.
            to = self
                .cfg
                .queue_agents(&ticket.queue)
                .filter(|a| a.address != author.address)
                .collect();
        }
        let ctx = ctx::Note {
            marker: ctx::MARKER,
            ticket: self.ticket_ctx(ticket),
            author: agent_ctx(author),
            text: text.to_string(),
        };
        let mut ids = Vec::new();
        for agent in to {
            let out = self.about_ticket(
                ticket,
                &format!("Internal note: {}", ticket.subject),
                None,
                answer,
            );
            if let Some(i) = self.send_to_agent(c, ticket.id, agent, "note", &ctx, out, answer)? {
                ids.push(i);
            }
        }
        Ok(ids)
    }

    /// Confirms to an agent what a mail of commands alone did.
    pub fn command_receipt(
        &self,
        c: &mut AnyConnection,
        ticket: &Ticket,
        agent: &AgentConfig,
        done: &[String],
        answer: Answer,
    ) -> diesel::QueryResult<Option<i64>> {
        let ctx = ctx::CommandReceipt {
            marker: ctx::MARKER,
            ticket: ctx::Ticket {
                assignee: Some(ticket.assignee.as_deref().unwrap_or("nobody").to_string()),
                ..self.ticket_ctx(ticket)
            },
            done: done.to_vec(),
        };
        let out = self.about_ticket(ticket, &format!("Done: {}", ticket.subject), None, answer);
        self.send_to_agent(c, ticket.id, agent, "command_receipt", &ctx, out, answer)
    }
}

/// An agent, for templates.
pub fn agent_ctx(a: &AgentConfig) -> ctx::Agent {
    ctx::Agent {
        name: a.name.clone(),
        address: a.address.clone(),
        timezone: a.timezone.clone(),
    }
}

/// What an answer to `mail` threads to: its Message-ID and References, unless the id was made
/// up here (then nobody else knows it).
pub fn answer_threading(mail: &InboundMail) -> Option<(&str, String)> {
    (!mail.message_id_synthesized).then(|| (mail.message_id.as_str(), mail.references.join(" ")))
}

/// Outbox kinds that are automatic answers to someone's mail (capped per address).
const AUTOMATIC_KINDS: &[&str; 2] = &["ack", "command_error"];

/// When and in answer to what a mail is written.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    /// Hops of the mail being answered.
    pub hops: u32,
    pub now: i64,
    pub due_at: i64,
}
