//! Load: the facts [`crate::ticket::decide`] needs about one mail, read from the database in
//! the batch's transaction: candidate tickets by every threading layer, the ticket an agent's
//! signed address names, the outbox row a bounce reports on, the rows of those tickets.

use std::collections::HashMap;

use crate::app::App;
use crate::config::MailboxConfig;
use crate::mail::classify::MailClass;
use crate::mail::parse::InboundMail;
use crate::security::AddressToken;
use crate::store::models::{self, SeenMail, Ticket};
use crate::store::AnyConnection;
use crate::ticket::commands;
use crate::ticket::decide::{BouncedRow, Facts};
use crate::ticket::model::{Link, Outcome, TicketState};
use crate::ticket::thread::{self, Lookups};

/// Reads what deciding about `mail` needs. `seen` are the stored mails with the same dedupe
/// key (exactly the same bytes were dealt with before this is called). The rows of the
/// candidate tickets go to `rows` too, for the applier (it reads none of them again).
#[allow(clippy::too_many_arguments)]
pub fn facts<'a>(
    app: &App<'a>,
    c: &mut AnyConnection,
    mailbox: &'a MailboxConfig,
    mail: &'a InboundMail,
    class: &'a MailClass,
    raw: &'a [u8],
    seen: &[SeenMail],
    now: i64,
    rows: &mut Vec<Ticket>,
) -> diesel::QueryResult<Facts<'a>> {
    let cfg = app.cfg;
    let earlier_copy = seen
        .iter()
        .find(|s| s.outcome != Outcome::Failed.as_str() && s.outcome != Outcome::Duplicate.as_str())
        .map(|s| (s.id, s.ticket_id));
    let candidates = thread::candidate_ids(&mail.in_reply_to, &mail.references);
    let mut f = Facts {
        cfg,
        mailbox,
        mail,
        class,
        raw,
        now,
        earlier_copy,
        candidates,
        lookups: Lookups::default(),
        agent_token: None,
        bounce: None,
        tickets: HashMap::new(),
        pending_broadcast: Default::default(),
        articles: Default::default(),
        approver: None,
        approver_forged: false,
    };
    if earlier_copy.is_some() {
        return Ok(f);
    }
    let sender = mail.sender();
    let tokens: Vec<AddressToken> = mail
        .to
        .iter()
        .chain(&mail.cc)
        .map(|a| a.address.as_str())
        .chain(mail.envelope_to.iter().map(String::as_str))
        .filter_map(|a| {
            cfg.all_identities().find_map(|i| {
                app.keys
                    .address_token(a, &i.address, &i.plus_delimiter, &sender)
            })
        })
        .collect();
    f.agent_token = tokens.iter().find_map(|t| match t {
        AddressToken::Agent { ticket, .. } => Some(*ticket),
        _ => None,
    });
    let mut approver_ticket = None;
    if let Some((decision, approver)) = tokens.iter().find_map(|t| match t {
        AddressToken::Approver { decision, approver } => Some((*decision, approver.clone())),
        _ => None,
    }) {
        if let Some(d) = models::decision(c, decision)? {
            if let Some(a) = models::approval(c, d.approval_id)? {
                approver_ticket = Some(a.ticket_id);
                f.approver = Some(crate::ticket::approval::ApproverMail {
                    decision,
                    ticket: a.ticket_id,
                    approver,
                    step: d.step,
                    decided: d.decision,
                    chain_state: a.state,
                    chain_step: a.step,
                });
            }
        }
    } else if mail
        .to
        .iter()
        .chain(&mail.cc)
        .any(|a| crate::ticket::approval::looks_like_approver_address(&a.address))
    {
        f.approver_forged = true;
    } else if cfg.security.agent_auth == crate::config::AgentAuth::Dkim
        && !cfg.approvals.is_empty()
        && crate::mail::auth::dkim_aligned(&mail.auth_results, &cfg.security.authserv_ids, &sender)
    {
        // With DKIM, an approver's answer to their request counts by its signature too: the
        // request is among the mails it answers, and the sender is that step's approver.
        f.approver = dkim_approver(app, c, &f.candidates, &sender)?;
        approver_ticket = f.approver.as_ref().map(|a| a.ticket);
    }

    let l = &mut f.lookups;
    l.known = models::tickets_of_message_ids(c, &f.candidates)?;
    let absent: Vec<&str> = f
        .candidates
        .iter()
        .copied()
        .filter(|id| !l.known.contains_key(*id))
        .collect();
    l.shared = models::tickets_of_thread_refs(c, &absent)?;
    // A reply that came first named this mail's Message-ID: this is its parent.
    if !mail.message_id_synthesized && thread::is_linkable_id(&mail.message_id) {
        l.answered_by = models::tickets_of_thread_refs(c, &[mail.message_id.as_str()])?
            .into_values()
            .next();
    }
    for id in &f.candidates {
        if l.known.contains_key(*id) {
            break;
        }
        if let Some(t) = app.keys.ticket_of_id(id) {
            if models::ticket_exists(c, t)? {
                l.ours.insert(id, t);
                break;
            }
        }
    }
    if let Some(t) = thread::parse_subject_tag(&mail.subject, &cfg.subject_tags()) {
        if models::ticket_exists(c, t)? {
            l.tagged = Some(t);
        }
    }
    if let Some(t) = tokens
        .iter()
        .map(|t| match t {
            AddressToken::Ticket(t) | AddressToken::Agent { ticket: t, .. } => Some(*t),
            AddressToken::Approver { .. } => approver_ticket,
        })
        .next()
        .flatten()
    {
        if models::ticket_exists(c, t)? {
            l.plus_address = Some(t);
        }
    }
    if let Some(ti) = &mail.thread_index {
        l.thread_index = models::ticket_by_thread_index(c, ti)?;
    }
    // A reply that lost its threading headers ("Re: …" and nothing else) meets a recent
    // ticket of the same subject only where that leaks nothing: list mail, or a sender who
    // already takes part in the ticket.
    let (key, replied) = thread::subject_key(&mail.subject);
    if replied && f.candidates.is_empty() && key.chars().count() >= 4 {
        let since = now - crate::time::millis(cfg.threading.reopen_window);
        for t in models::tickets_by_subject_key(c, &key, since)? {
            if matches!(class, MailClass::List(_)) || models::is_participant(c, t, &sender)? {
                l.subject = Some(t);
                break;
            }
        }
    }

    if let (MailClass::Bounce(_), Some(dsn)) = (class, &mail.dsn) {
        if let Some(failed) = dsn.failed().next() {
            let row = match &dsn.original_message_id {
                Some(mid) => models::outbox_by_message_id(c, mid)?,
                None => None,
            };
            let row = match row {
                Some(r) => Some(r),
                None => models::outbox_latest_to(c, &failed.address)?,
            };
            f.bounce = row.map(|(outbox_id, ticket)| BouncedRow { outbox_id, ticket });
        }
    }

    // A merged ticket lives on in the one it was merged into: whatever named it names that.
    redirect_merged(c, &mut f)?;

    // The rows of every ticket the mail may land on, and which of them the sender takes part
    // in, in one query each; with them, the tickets an agent's commands name.
    let named: Vec<i64> = match cfg.agent(&sender) {
        Some(_) => commands::parse(&mail.text)
            .commands
            .iter()
            .filter_map(commands::Command::names_ticket)
            .collect(),
        None => Vec::new(),
    };
    let l = &mut f.lookups;
    let mut ids: Vec<i64> = l
        .tickets()
        .chain(f.agent_token)
        .chain(f.bounce.and_then(|b| b.ticket))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    l.member_of = models::tickets_with_participant(c, &ids, &sender)?
        .into_iter()
        .collect();
    ids.extend(named);
    ids.sort_unstable();
    ids.dedup();
    if !ids.is_empty() {
        *rows = models::tickets_by_ids(c, &ids)?;
        f.tickets = rows.iter().map(|t| (t.id, state(t))).collect();
        // Links and held broadcasts are read only by agents' commands: a customer's mail
        // does not pay for them.
        if cfg.agent(&sender).is_some() {
            for link in models::links_of(c, &ids)? {
                if let Some(t) = f.tickets.get_mut(&link.ticket_id) {
                    t.links.push(Link {
                        kind: link.kind,
                        ticket: link.other_id,
                        status: link.other_status,
                        requester: link.other_requester,
                    });
                }
            }
            for (id, fields) in models::fields_of(c, &ids)? {
                if let Some(t) = f.tickets.get_mut(&id) {
                    t.fields = fields;
                }
            }
            for (id, a) in models::approvals_of(c, &ids)? {
                if let Some(t) = f.tickets.get_mut(&id) {
                    t.approval = Some(a.state);
                }
            }
            if mail.text.contains("#broadcast") {
                f.pending_broadcast = models::held_broadcasts(c, &ids)?;
            }
            if mail.text.contains("#reply") {
                f.articles = models::article_names(c)?.into_iter().collect();
                if let Ok(lib) = app.templates.knowledge() {
                    f.articles.extend(lib.files.keys().cloned());
                }
            }
        } else if !cfg.catalog.is_empty()
            && !crate::ticket::fields::leading_lines(&crate::mail::quote::strip_reply(&mail.text))
                .is_empty()
        {
            // `Name: value` lines may answer a service request's questions.
            for (id, fields) in models::fields_of(c, &ids)? {
                if let Some(t) = f.tickets.get_mut(&id) {
                    t.fields = fields;
                }
            }
        } else if cfg.suggest.count > 0
            && crate::ticket::solved::says_solved(&crate::mail::quote::strip_reply(&mail.text))
        {
            // "solved" may answer the suggestions: only then are they looked up.
            let suggested = models::tickets_with_event(c, &ids, "suggested")?;
            for (id, t) in f.tickets.iter_mut() {
                t.suggested = suggested.contains(id);
            }
        } else if cfg.csat.is_some()
            && crate::ticket::csat::parse_answer(&crate::mail::quote::strip_reply(&mail.text))
                .is_some()
        {
            // A digit on the first line may answer a survey: only then is it looked up.
            for (id, t) in f.tickets.iter_mut() {
                t.survey = models::latest_survey(c, *id)?.map(|s| crate::ticket::csat::Survey {
                    id: s.id,
                    address: s.address,
                    answered: s.state == "answered",
                });
            }
        }
    }
    Ok(f)
}

/// Points every look-up that names a merged ticket at the ticket it was merged into.
fn redirect_merged(c: &mut AnyConnection, f: &mut Facts<'_>) -> diesel::QueryResult<()> {
    let named: Vec<i64> = f.lookups.tickets().chain(f.agent_token).collect();
    if named.is_empty() {
        return Ok(());
    }
    let into = models::merge_targets(c, &named)?;
    if into.is_empty() {
        return Ok(());
    }
    let l = &mut f.lookups;
    let to = |t: &mut i64| {
        if let Some(n) = into.get(t) {
            *t = *n;
        }
    };
    l.known.values_mut().for_each(to);
    l.ours.values_mut().for_each(to);
    l.shared.values_mut().for_each(to);
    for t in [
        &mut l.answered_by,
        &mut l.tagged,
        &mut l.plus_address,
        &mut l.thread_index,
        &mut l.subject,
        &mut f.agent_token,
    ]
    .into_iter()
    .flatten()
    {
        to(t);
    }
    Ok(())
}

/// The decision of `sender` on the chain of a ticket one of `candidates` (our Message-IDs)
/// names, at its current step (else their latest).
fn dkim_approver(
    app: &App<'_>,
    c: &mut AnyConnection,
    candidates: &[&str],
    sender: &str,
) -> diesel::QueryResult<Option<crate::ticket::approval::ApproverMail>> {
    for id in candidates {
        let Some(t) = app.keys.ticket_of_id(id) else {
            continue;
        };
        let Some(a) = models::approval_of(c, t)? else {
            continue;
        };
        let mine: Vec<models::DecisionRow> = models::decisions_of(c, a.id)?
            .into_iter()
            .filter(|d| d.approver.eq_ignore_ascii_case(sender))
            .collect();
        let Some(d) = mine.iter().find(|d| d.step == a.step).or(mine.last()) else {
            continue;
        };
        return Ok(Some(crate::ticket::approval::ApproverMail {
            decision: d.id,
            ticket: t,
            approver: d.approver.clone(),
            step: d.step,
            decided: d.decision.clone(),
            chain_state: a.state,
            chain_step: a.step,
        }));
    }
    Ok(None)
}

/// What a decision reads of a stored ticket.
pub fn state(t: &Ticket) -> TicketState {
    TicketState {
        id: t.id,
        status: t.status.clone(),
        priority: t.priority.clone(),
        queue: t.queue.clone(),
        assignee: t.assignee.clone(),
        tags: t.tags.clone(),
        sla_policy: t.sla_policy.clone(),
        first_response_at: t.first_response_at,
        updated_at: t.updated_at,
        time_spent_ms: t.time_spent_ms,
        requester: t.requester.clone(),
        ticket_type: t.ticket_type.clone(),
        links: Vec::new(),
        survey: None,
        suggested: false,
        fields: Default::default(),
        approval: None,
    }
}
