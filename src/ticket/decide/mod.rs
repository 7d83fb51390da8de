//! The decision for one received mail, without I/O: given the parsed mail and the facts the
//! pipeline loaded for it (candidate tickets, the agent's signed address, the report a bounce
//! is about), what became of it (the outcome), which ticket it lands on, and the actions that
//! follow, in order. `pipeline::apply` writes them; nothing here reads a database or a clock.

use std::collections::HashMap;

use super::action::{Action, Change, Detail, NewTicket, SlaSync};
use super::commands::{self, Ctx};
use super::model::{parse_tags, MessageKind, Outcome, Priority, Status, TicketState};
use super::rules;
use super::sla::SlaEvent;
use super::thread::{self, Lookups, MatchedBy, Rejoin, ThreadDecision};
use crate::config::{AgentAuth, AgentConfig, Config, MailboxConfig};
use crate::mail::auth::dkim_aligned;
use crate::mail::classify::MailClass;
use crate::mail::parse::{self, InboundMail};
use crate::mail::quote;

/// What the pipeline knows about a mail before deciding.
pub struct Facts<'a> {
    pub cfg: &'a Config,
    pub mailbox: &'a MailboxConfig,
    pub mail: &'a InboundMail,
    pub class: &'a MailClass,
    /// The raw mail: rules may read its headers.
    pub raw: &'a [u8],
    /// The time of receipt.
    pub now: i64,
    /// The first stored copy of the same mail by another route: (inbound id, its ticket).
    pub earlier_copy: Option<(i64, Option<i64>)>,
    /// The Message-IDs the mail refers to that could link it, nearest first.
    pub candidates: Vec<&'a str>,
    pub lookups: Lookups<'a>,
    /// The ticket named by an agent's signed reply address among the recipients (the HMAC
    /// checked; the ticket may not exist).
    pub agent_token: Option<i64>,
    /// The outbox row a bounce reports on, when one was found.
    pub bounce: Option<BouncedRow>,
    /// The stored tickets the mail may land on (by threading, an agent's address, a bounce),
    /// and those an agent's commands name.
    pub tickets: HashMap<i64, TicketState>,
    /// The tickets among those loaded with a broadcast waiting for `#broadcast confirm`.
    pub pending_broadcast: std::collections::HashSet<i64>,
    /// The names of the knowledge articles (files and saved), read when an agent's mail
    /// names one with `#reply`.
    pub articles: std::collections::BTreeSet<String>,
    /// An approver's answer: to their signed reply address, from them.
    pub approver: Option<super::approval::ApproverMail>,
    /// The mail came to an approver's reply address, but not from that approver.
    pub approver_forged: bool,
}

/// The outbox row a delivery report names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BouncedRow {
    pub outbox_id: i64,
    pub ticket: Option<i64>,
}

/// What becomes of a mail.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    pub outcome: Outcome,
    /// The existing ticket the mail is recorded on (a new ticket's id comes from
    /// [`Action::OpenTicket`]).
    pub ticket: Option<i64>,
    pub matched_by: Option<MatchedBy>,
    /// Why, when it is not plain (classification, threading, limits, rules).
    pub reason: Option<String>,
    /// Why the mail could not be processed (outcome `failed`).
    pub error: Option<String>,
    /// The verified agent who wrote it, when it is an agent's mail about a ticket.
    pub agent: Option<&'a AgentConfig>,
    /// The hops of the mail, for what we answer to it.
    pub hops: u32,
    pub actions: Vec<Action>,
}

impl Decision<'_> {
    fn recorded(outcome: Outcome, hops: u32) -> Self {
        Decision {
            outcome,
            ticket: None,
            matched_by: None,
            reason: None,
            error: None,
            agent: None,
            hops,
            actions: vec![Action::Record],
        }
    }
}

/// Decides what becomes of a parsed mail.
pub fn decide<'a>(f: &Facts<'a>) -> Decision<'a> {
    let (mail, cfg) = (f.mail, f.cfg);
    // A mail that names no sender at all still reaches the agents: it opens (or joins) a
    // ticket with no requester, and nothing is sent back (the parser recorded why).
    if let Some((first, ticket)) = f.earlier_copy {
        let mut d = Decision::recorded(Outcome::Duplicate, mail.hops);
        d.ticket = ticket;
        d.reason = Some(format!("the same mail as inbound #{first}"));
        return d;
    }
    let sender = mail.sender();
    // An approver's answer to their signed address decides (or is told why not).
    if let (Some(ap), MailClass::Person) = (&f.approver, f.class) {
        return approver_mail(f, ap);
    }
    // An agent's mail is obeyed only when verified; otherwise it is a customer's mail, and the
    // agent's address counts for nothing in threading either.
    let agent = match (cfg.agent(&sender), f.class) {
        (Some(agent), MailClass::Person) => Some(agent),
        _ => None,
    };
    let verified = agent.is_some()
        && match cfg.security.agent_auth {
            AgentAuth::TrustedRelay => true,
            AgentAuth::Token => f.agent_token.is_some(),
            AgentAuth::Dkim => {
                dkim_aligned(&mail.auth_results, &cfg.security.authserv_ids, &sender)
            }
        };
    let (mut existing, mut matched_by, mut thread_reason) = match thread::decide(
        &f.candidates,
        &f.lookups,
        cfg.threading.stranger_tag,
        thread::Sender {
            verified_agent: verified,
            list: matches!(f.class, MailClass::List(_)),
        },
    ) {
        ThreadDecision::Existing {
            ticket_id,
            matched_by,
        } => (Some(ticket_id), Some(matched_by), None),
        ThreadDecision::New { reason } => (None, None, reason),
    };

    let mut agent_note = None;
    if let Some(agent) = agent {
        // The agent's own reply address names the ticket most surely.
        if let Some(t) = f
            .agent_token
            .filter(|t| verified && f.tickets.contains_key(t))
        {
            existing = Some(t);
            matched_by = Some(MatchedBy::PlusAddress);
        }
        match (verified, existing.and_then(|t| f.tickets.get(&t))) {
            (true, Some(ticket)) => return agent_mail(f, agent, ticket, matched_by),
            (true, None) => {
                if let Some(fwd) = forwarded(f).filter(|w| cfg.is_outsider(&w.from.address)) {
                    return forwarded_mail(f, agent, fwd);
                }
            }
            (false, _) => {
                agent_note = Some(format!(
                    "from the agent address {sender}, but not verified (agent_auth = \"{}\"): handled as a customer's mail, no command obeyed",
                    cfg.security.agent_auth.as_str()
                ))
            }
        }
    }

    let mut actions = Vec::new();
    // A bounce reports on one of our mails: it belongs to that mail's ticket.
    if let (MailClass::Bounce(_), Some(dsn), Some(row)) = (f.class, &mail.dsn, f.bounce) {
        if let Some(failed) = dsn.failed().next() {
            let diagnostic = failed
                .diagnostic
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            actions.push(Action::MarkBounced {
                outbox_id: row.outbox_id,
                ticket: row.ticket,
                address: failed.address.clone(),
                error: format!("bounced: {} {}{diagnostic}", failed.address, failed.status),
            });
            if existing.is_none() && row.ticket.is_some() {
                existing = row.ticket;
                matched_by = Some(MatchedBy::References);
            }
        }
    }

    // The asked customer's digit answers the ticket's survey: kept, and the ticket stays
    // resolved.
    if let (Some(t), MailClass::Person) = (existing, f.class) {
        if let Some(d) = survey_answer(f, t, &sender, matched_by) {
            return d;
        }
        if let Some(d) = self_solved(f, t, &sender, matched_by) {
            return d;
        }
    }

    // A customer's reply to a ticket closed long ago starts a new one, linked to it.
    let mut linked_to = None;
    let mut reopen = false;
    if let (Some(t), MailClass::Person | MailClass::List(_)) = (existing, f.class) {
        if let Some(ticket) = f.tickets.get(&t) {
            let window = crate::time::millis(cfg.threading.reopen_window);
            match thread::rejoin(&ticket.status, ticket.updated_at, f.now, window) {
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

    let hops_over = mail.hops >= cfg.limits.max_hops;
    let reason: Option<String> = [
        f.class.reason().map(str::to_string),
        (!mail.limits_hit.is_empty()).then(|| mail.limits_hit.join("; ")),
        thread_reason,
        agent_note,
        f.approver_forged.then(|| {
            "sent to an approver's reply address, but not from that approver: nothing decided"
                .to_string()
        }),
        hops_over.then(|| {
            format!(
                "{} {} is at limits.max_hops ({}): never answered automatically",
                parse::HOPS_HEADER,
                mail.hops,
                cfg.limits.max_hops
            )
        }),
    ]
    .into_iter()
    .flatten()
    .reduce(|a, b| format!("{a}; {b}"));

    let (outcome, kind) = match (f.class, existing) {
        (MailClass::Loop(_), _) => (Outcome::Loop, None),
        (MailClass::Bounce(_), _) => (Outcome::Bounce, Some(MessageKind::Auto)),
        (MailClass::Auto(_), _) => (Outcome::AutoReply, Some(MessageKind::Auto)),
        (MailClass::List(_), Some(_)) => (Outcome::Reply, Some(MessageKind::Customer)),
        (MailClass::List(_), None) if f.mailbox.accept_list_mail => {
            (Outcome::NewTicket, Some(MessageKind::Customer))
        }
        (MailClass::List(_), None) => (Outcome::AutoReply, None),
        (MailClass::Person, Some(_)) => (Outcome::Reply, Some(MessageKind::Customer)),
        (MailClass::Person, None) => (Outcome::NewTicket, Some(MessageKind::Customer)),
    };

    // Triage: rules for a new ticket (or a reply) decide its queue, priority, assignee, tags,
    // policy and type; a rule may call it spam (kept, no ticket).
    let on = match (outcome, kind) {
        (Outcome::NewTicket, _) => Some(rules::On::New),
        (Outcome::Reply, Some(MessageKind::Customer)) => Some(rules::On::Reply),
        _ => None,
    };
    let triage = match on {
        Some(on) if cfg.rules.iter().any(|r| r.on == on) => rules::evaluate(
            &cfg.rules,
            &rule_facts(mail, f.raw, f.mailbox, &cfg.rules),
            on,
        ),
        _ => rules::Decision::default(),
    };
    let (outcome, reason) = if triage.actions.spam && on == Some(rules::On::New) {
        let why = format!("spam by rule '{}'", triage.matched.join("', '"));
        (
            Outcome::Spam,
            Some(reason.map_or(why.clone(), |r| format!("{r}; {why}"))),
        )
    } else {
        (outcome, reason)
    };

    let mut d = Decision {
        outcome,
        ticket: existing,
        matched_by,
        reason,
        error: None,
        agent: None,
        hops: mail.hops,
        actions,
    };
    let lands = match (outcome, existing) {
        (Outcome::NewTicket, _) => {
            let (mut plan, left_out) = new_ticket(f, &sender, linked_to, &triage);
            let item = super::catalog::match_item(&cfg.catalog, &mail.subject, recipients(mail));
            if item.is_some() {
                plan.ticket_type = Some(super::model::TicketType::Request);
            }
            let change = plan.ticket_type == Some(super::model::TicketType::Change);
            d.actions.push(Action::OpenTicket(Box::new(plan)));
            if change {
                d.actions.extend(change_fields(cfg, &sender, &mail.text));
            }
            if let Some(item) = item {
                d.actions.push(Action::SetField {
                    name: "catalog".into(),
                    value: Some(item.name.clone()),
                });
                d.actions.extend(catalog_fields(item, &mail.text));
            }
            if cfg.is_outsider(&sender) && !sender.is_empty() {
                let header = super::language::content_language(f.raw);
                if let Some((language, source)) = super::language::choose(
                    triage.actions.language.as_deref(),
                    header.as_deref(),
                    &mail.text,
                ) {
                    d.actions.push(Action::SetLanguage {
                        address: sender.clone(),
                        language,
                        source,
                    });
                }
            }
            d.actions
                .push(Action::SyncSla(SlaSync::Event(SlaEvent::Opened)));
            if left_out > 0 {
                d.actions.push(Action::Event {
                    on: None,
                    actor: "system".into(),
                    kind: "participants_capped",
                    detail: Detail::Text(format!(
                        "{left_out} more Cc addresses were not taken as participants (limits.max_participants = {}); they receive no answers unless an agent adds them with #cc",
                        cfg.limits.max_participants
                    )),
                });
            }
            true
        }
        (_, Some(_)) => kind.is_some(),
        _ => false,
    };
    d.actions.push(Action::Record);
    if !lands {
        if let (Some(t), MailClass::Loop(r)) = (existing, f.class) {
            d.actions.push(Action::Event {
                on: Some(t),
                actor: "system".into(),
                kind: "loop",
                detail: Detail::Text(r.clone()),
            });
        }
        return d;
    }
    let a = &mut d.actions;
    a.push(Action::AddMessage {
        kind: kind.unwrap_or(MessageKind::Customer),
        text: mail.text.clone(),
    });
    // Ancestors we never received: a later mail naming them meets this ticket.
    let absent: Vec<String> = f
        .candidates
        .iter()
        .filter(|id| !f.lookups.known.contains_key(**id) && !f.lookups.ours.contains_key(*id))
        .take(20)
        .map(|id| id.to_string())
        .collect();
    if !absent.is_empty() {
        a.push(Action::RememberReferences(absent));
    }
    // A reply from someone who does not take part in the ticket is kept for the agents, but
    // they receive no answers until an agent adds them (`#cc +ADDR`): knowing a Message-ID,
    // a plus address or a Thread-Index is not enough to read another customer's mail.
    if let (Outcome::Reply, Some(from), Some(t)) = (outcome, &mail.from, existing) {
        // (A mail with no sender is kept on the ticket and makes no one a participant.)
        let member = f.lookups.member_of.contains(&t);
        let requester = f.tickets.get(&t).map_or("", |t| t.requester.as_str());
        let joins = thread::takes_part(member, &sender, requester, cfg.threading.join_colleagues);
        if joins && !member {
            a.push(Action::AddParticipant {
                address: from.address.clone(),
                name: from.name.clone(),
                role: "cc",
            });
        } else if !joins {
            a.push(Action::Event {
                on: Some(t),
                actor: sender.clone(),
                kind: "not_participant",
                detail: Detail::Text(format!(
                    "{sender} does not take part in the ticket: the mail is kept, but answers do not go to them (add them with #cc +{sender})"
                )),
            });
        }
    }
    if outcome == Outcome::NewTicket {
        a.push(Action::Event {
            on: None,
            actor: sender.clone(),
            kind: "created",
            detail: Detail::Created {
                mailbox: f.mailbox.name.clone(),
                follows: linked_to,
            },
        });
        if let Some(old) = linked_to {
            a.push(Action::Event {
                on: Some(old),
                actor: sender.clone(),
                kind: "linked",
                detail: Detail::FollowedUpBy,
            });
        }
        if triage.actions.acknowledge == Some(false) {
            a.push(Action::Event {
                on: None,
                actor: "system".into(),
                kind: "ack_suppressed",
                detail: Detail::Text(format!("by rule '{}'", triage.matched.join("', '"))),
            });
        } else if f.class.may_answer() && !hops_over && !sender.is_empty() {
            a.push(Action::Acknowledge {
                to: None,
                template: triage.actions.template.clone(),
            });
        }
    } else {
        let kind = match outcome {
            Outcome::Bounce => "bounce",
            Outcome::AutoReply => "auto_reply",
            _ if reopen => "reopened",
            _ => "reply",
        };
        a.push(Action::Event {
            on: None,
            actor: sender.clone(),
            kind,
            detail: Detail::Inbound,
        });
        a.push(Action::Set(Change::UpdatedAt(f.now)));
        if outcome == Outcome::Reply {
            if reopen {
                a.push(Action::Set(Change::Status(Status::Open)));
            }
            let ticket = existing.and_then(|t| f.tickets.get(&t));
            a.extend(after_customer_reply(cfg, ticket, &triage));
            // The requester's answer to a service request's questions.
            if let Some(item) = ticket
                .filter(|t| t.requester.eq_ignore_ascii_case(&sender))
                .filter(|t| !t.fields.contains_key("catalog_stage"))
                .and_then(|t| t.fields.get("catalog"))
                .and_then(|n| cfg.catalog.iter().find(|i| i.name == *n))
            {
                a.extend(catalog_fields(item, &quote::strip_reply(&mail.text)));
            }
        }
    }
    if matches!(outcome, Outcome::NewTicket | Outcome::Reply) {
        let text = if outcome == Outcome::Reply {
            quote::strip_reply(&mail.text)
        } else {
            mail.text.trim().to_string()
        };
        a.push(Action::NotifyAgents {
            text,
            is_new: outcome == Outcome::NewTicket,
        });
    }
    // What is told back to the requester goes last, threaded to their stored mail.
    let (tell, mut rest): (Vec<Action>, Vec<Action>) = std::mem::take(&mut d.actions)
        .into_iter()
        .partition(|a| matches!(a, Action::TellRequester { .. }));
    rest.extend(tell);
    d.actions = rest;
    d
}

/// The ticket a new conversation opens, as the rules made it, and how many Cc addresses were
/// left out by `limits.max_participants`.
fn new_ticket(
    f: &Facts<'_>,
    requester: &str,
    linked_to: Option<i64>,
    triage: &rules::Decision,
) -> (NewTicket, usize) {
    let (mail, cfg) = (f.mail, f.cfg);
    let a = &triage.actions;
    let queue = a.queue.clone().unwrap_or_else(|| f.mailbox.queue.clone());
    let sla_policy = cfg.sla_for(&queue, a.ticket_type, a.sla.as_deref());
    let own = cfg.own_addresses();
    let mut people = Vec::new();
    if !requester.is_empty() {
        people.push((
            requester.to_string(),
            mail.from.as_ref().and_then(|f| f.name.clone()),
            "requester",
        ));
    }
    // Linear in the Cc list, and at most `max_participants` taken: a mail copied to thousands
    // must not make every answer go to thousands.
    let mut taken: std::collections::HashSet<&str> = std::collections::HashSet::from([requester]);
    let (mut copied, mut left_out) = (0, 0);
    for cc in &mail.cc {
        let addr = cc.address.as_str();
        if own.iter().any(|o| o == addr) || cfg.agent(addr).is_some() || !taken.insert(addr) {
            continue;
        }
        if copied == cfg.limits.max_participants {
            left_out += 1;
            continue;
        }
        copied += 1;
        people.push((cc.address.clone(), cc.name.clone(), "cc"));
    }
    let plan = NewTicket {
        subject: if mail.subject.is_empty() {
            "(no subject)".into()
        } else {
            mail.subject.clone()
        },
        subject_key: thread::subject_key(&mail.subject).0,
        priority: a.priority.unwrap_or(Priority::Normal),
        assign: a.assign.clone(),
        tags: a.tags.clone(),
        sla_policy,
        ticket_type: a.ticket_type,
        linked_to,
        thread_index: mail.thread_index.clone(),
        people,
        rules: triage.matched.clone(),
        identity: cfg.identity_for(recipients(mail), f.mailbox, &queue),
        queue,
    };
    (plan, left_out)
}

/// A customer wrote on a ticket: reply rules apply, and the SLA clocks learn of it (a
/// next-response clock starts, paused clocks resume as the ticket is open again).
fn after_customer_reply(
    cfg: &Config,
    ticket: Option<&TicketState>,
    triage: &rules::Decision,
) -> Vec<Action> {
    let mut out = Vec::new();
    // Nothing to do when no rule matched and no SLA policy exists.
    if triage.matched.is_empty() && cfg.sla.is_empty() {
        return out;
    }
    let a = &triage.actions;
    if !triage.matched.is_empty() {
        if let Some(q) = &a.queue {
            out.push(Action::Set(Change::Queue(q.clone())));
        }
        if let Some(p) = a.priority {
            out.push(Action::Set(Change::Priority(p)));
        }
        if let Some(how) = &a.assign {
            out.push(Action::Set(Change::AssignBy(how.clone())));
        }
        if !a.tags.is_empty() {
            match ticket.map(|t| parse_tags(&t.tags)).unwrap_or(Ok(Vec::new())) {
                Ok(mut tags) => {
                    for t in &a.tags {
                        if !tags.contains(t) {
                            tags.push(t.clone());
                        }
                    }
                    out.push(Action::Set(Change::Tags(tags)));
                }
                Err(e) => out.push(Action::Event {
                    on: None,
                    actor: "system".into(),
                    kind: "tags_unreadable",
                    detail: Detail::Text(format!(
                        "the rules' tags were not added: the stored tags do not read ({e}); they are left as they are"
                    )),
                }),
            }
        }
        if let Some(p) = &a.sla {
            out.push(Action::Set(Change::SlaPolicy(Some(p.clone()))));
        }
        out.push(Action::Event {
            on: None,
            actor: "system".into(),
            kind: "rules",
            detail: Detail::Text(format!("matched '{}'", triage.matched.join("', '"))),
        });
    }
    out.push(Action::SyncSla(SlaSync::Event(SlaEvent::CustomerReply)));
    out
}

/// Every address a mail was sent to: To, Cc and the envelope recipients.
pub(super) fn recipients(mail: &InboundMail) -> impl Iterator<Item = &str> {
    mail.to
        .iter()
        .chain(&mail.cc)
        .map(|a| a.address.as_str())
        .chain(mail.envelope_to.iter().map(String::as_str))
}

/// What the rules may look at in a mail; its headers are read only when a rule asks.
pub fn rule_facts<'m>(
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

mod agent;
mod answers;
mod forward;
use agent::agent_mail;
use answers::{approver_mail, catalog_fields, change_fields, self_solved, survey_answer};
use forward::{forwarded, forwarded_mail};

#[cfg(test)]
mod tests;
