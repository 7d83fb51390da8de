//! A customer's mail that a verified agent forwarded to the support address: whose it is, and
//! the new ticket it opens for them.

use super::{Decision, Facts};
use crate::config::AgentConfig;
use crate::mail::forward::Forwarded;
use crate::mail::parse;
use crate::ticket::action::{Action, Detail, NewTicket, SlaSync};
use crate::ticket::model::{Outcome, Priority};
use crate::ticket::sla::SlaEvent;
use crate::ticket::thread::{self, MatchedBy};

/// The customer's mail a verified agent forwarded: an attached `message/rfc822` (the first
/// with a sender), else a forward written inline.
pub(super) fn forwarded(f: &Facts<'_>) -> Option<Forwarded> {
    let mail = f.mail;
    let limits = f.cfg.limits.parse_limits(true);
    let attached = mail
        .attachments
        .iter()
        .filter(|a| a.content_type.eq_ignore_ascii_case("message/rfc822"))
        .filter_map(|a| a.content.as_deref())
        .filter_map(|raw| parse::parse(raw, &parse::content_hash(raw), &limits).ok())
        .find_map(|m| {
            Some(Forwarded {
                from: m.from?,
                subject: Some(m.subject),
                text: m.text.trim().to_string(),
                note: mail.text.trim().to_string(),
            })
        });
    attached.or_else(|| crate::mail::forward::inline(&mail.text))
}

/// A new ticket for the customer whose mail an agent forwarded: they are its requester and
/// are acknowledged (`[threading] acknowledge_forwarded`); the agent's own text is a note.
pub(super) fn forwarded_mail<'a>(
    f: &Facts<'a>,
    agent: &'a AgentConfig,
    fwd: Forwarded,
) -> Decision<'a> {
    let (mail, cfg) = (f.mail, f.cfg);
    let subject = fwd
        .subject
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| crate::mail::forward::strip_prefix(&mail.subject).to_string());
    let queue = f.mailbox.queue.clone();
    let plan = NewTicket {
        subject_key: thread::subject_key(&subject).0,
        subject: if subject.is_empty() {
            "(no subject)".into()
        } else {
            subject
        },
        sla_policy: cfg.sla_for(&queue, None, None),
        queue,
        priority: Priority::Normal,
        assign: None,
        tags: Vec::new(),
        ticket_type: None,
        linked_to: None,
        thread_index: mail.thread_index.clone(),
        people: vec![(fwd.from.address.clone(), fwd.from.name.clone(), "requester")],
        rules: Vec::new(),
        identity: cfg.identity_for(super::recipients(mail), f.mailbox, &f.mailbox.queue),
    };
    let mut a = vec![
        Action::OpenTicket(Box::new(plan)),
        Action::SyncSla(SlaSync::Event(SlaEvent::Opened)),
        Action::Record,
        Action::AddForwarded {
            from: fwd.from.clone(),
            text: fwd.text.clone(),
            note: fwd.note,
        },
        Action::Event {
            on: None,
            actor: agent.address.clone(),
            kind: "created",
            detail: Detail::Created {
                mailbox: f.mailbox.name.clone(),
                follows: None,
            },
        },
        Action::Event {
            on: None,
            actor: agent.address.clone(),
            kind: "forwarded",
            detail: Detail::Text(format!(
                "{} forwarded the mail of {}",
                agent.address, fwd.from.address
            )),
        },
    ];
    if cfg.threading.acknowledge_forwarded && mail.hops < cfg.limits.max_hops {
        a.push(Action::Acknowledge {
            template: None,
            to: Some(fwd.from),
        });
    }
    a.push(Action::NotifyAgents {
        text: fwd.text,
        is_new: true,
    });
    Decision {
        outcome: Outcome::NewTicket,
        ticket: None,
        matched_by: Some(MatchedBy::Forwarded),
        reason: None,
        error: None,
        agent: Some(agent),
        hops: mail.hops,
        actions: a,
    }
}
