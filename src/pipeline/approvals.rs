//! Approval chains, the writing half: a chain started asks its first step's approvers (each a
//! mail with a reply address signed for them and that decision, and one-click pages on
//! `[web]`); a decision, by mail or on the page, is recorded once, and moves the chain on (the
//! next step asked), or ends it (the requester and the assignee told). Runs in the caller's
//! transaction; the pure half is [`crate::ticket::approval`].

use crate::app::App;
use crate::notify::Answer;
use crate::store::models::{self, ApprovalRow, Ticket};
use crate::store::AnyConnection;
use crate::templates::context as ctx;
use crate::ticket::approval::{step_state, Quorum, State};
use crate::ticket::model::MessageKind;

/// How long an approval request's one-click links work.
pub const LINK_LIFE_S: i64 = 30 * 24 * 3600;

/// The approvers of `step` (1-based) of `chain` for `ticket`: `managers` stands for the
/// queue's managers.
fn approvers(
    app: &App<'_>,
    chain: &str,
    step: i32,
    ticket: &Ticket,
) -> Option<(Vec<String>, Quorum)> {
    let c = app.cfg.approvals.iter().find(|c| c.name == chain)?;
    let s = c.steps.get(usize::try_from(step - 1).ok()?)?;
    let mut out: Vec<String> = Vec::new();
    for a in &s.approvers {
        let add: Vec<String> = if a == "managers" {
            app.cfg
                .queue_managers(&ticket.queue)
                .map(|m| m.address.clone())
                .collect()
        } else {
            vec![a.clone()]
        };
        for x in add {
            if !out.contains(&x) {
                out.push(x);
            }
        }
    }
    Some((out, s.quorum))
}

/// Starts `chain` on `ticket`: its first step's approvers are asked.
pub fn start(
    app: &App<'_>,
    c: &mut AnyConnection,
    ticket: &Ticket,
    chain: &str,
    actor: &str,
    now: i64,
) -> diesel::QueryResult<Vec<i64>> {
    if models::approval_of(c, ticket.id)?.is_some() {
        return Ok(Vec::new());
    }
    let id = models::start_approval(c, ticket.id, chain, now)?;
    models::insert_event(
        c,
        ticket.id,
        now,
        actor,
        "approval_started",
        &format!("approval '{chain}' requested"),
    )?;
    let a = models::approval(c, id)?.ok_or(diesel::result::Error::NotFound)?;
    ask_step(app, c, ticket, &a, now)
}

/// Asks the approvers of the chain's current step.
fn ask_step(
    app: &App<'_>,
    c: &mut AnyConnection,
    ticket: &Ticket,
    a: &ApprovalRow,
    now: i64,
) -> diesel::QueryResult<Vec<i64>> {
    let Some((who, quorum)) = approvers(app, &a.chain, a.step, ticket) else {
        return Ok(Vec::new());
    };
    if who.is_empty() {
        // (`managers` of a queue that has none): the agents see why it waits.
        models::insert_event(
            c,
            ticket.id,
            now,
            "system",
            "approval_stuck",
            &format!(
                "step {} of '{}' has no approver: the queue {} has no managers",
                a.step, a.chain, ticket.queue
            ),
        )?;
        let n = app.notify();
        let answer = Answer {
            hops: 0,
            now,
            due_at: now,
        };
        let lines = vec![format!(
            "Step {} of the approval '{}' names the queue's managers, and the queue {} has none: nobody was asked.",
            a.step, a.chain, ticket.queue
        )];
        let mut out = Vec::new();
        for agent in app
            .cfg
            .agents_for(ticket.assignee.as_deref(), &ticket.queue)
        {
            out.extend(n.agent_notice(
                c,
                ticket,
                agent,
                "Approval without approvers",
                lines.clone(),
                answer,
            )?);
        }
        return Ok(out);
    }
    let steps = app
        .cfg
        .approvals
        .iter()
        .find(|c| c.name == a.chain)
        .map_or(0, |c| c.steps.len());
    let rows = models::ask_approvers(c, a.id, a.step, &quorum.as_text(), &who, now)?;
    let fields: Vec<ctx::Field> = models::fields_of(c, &[ticket.id])?
        .remove(&ticket.id)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| ctx::Field { name, value })
        .collect();
    let earlier: Vec<ctx::EarlierDecision> = models::decisions_of(c, a.id)?
        .into_iter()
        .filter(|d| d.step < a.step && d.decision != "pending")
        .map(|d| ctx::EarlierDecision {
            step: d.step,
            approver: d.approver,
            decision: d.decision,
            comment: d.comment.unwrap_or_default(),
        })
        .collect();
    let n = app.notify();
    let id = n.identity_of(ticket);
    let answer = Answer {
        hops: 0,
        now,
        due_at: now,
    };
    let mut out = Vec::new();
    for (decision, approver) in rows {
        let links = app.cfg.web.as_ref().map(|w| {
            let exp = now / 1000 + LINK_LIFE_S;
            (
                format!(
                    "{}/approve/{}",
                    w.public_url,
                    app.keys.click_token("approve", decision, exp)
                ),
                format!(
                    "{}/reject/{}",
                    w.public_url,
                    app.keys.click_token("reject", decision, exp)
                ),
            )
        });
        let context = ctx::ApprovalRequest {
            identity: n.identity_ctx(ticket),
            ticket: n.ticket_ctx(ticket),
            requester: ticket.requester.clone(),
            chain: a.chain.clone(),
            step: a.step,
            steps,
            quorum: quorum.as_text(),
            fields: fields.clone(),
            earlier: earlier.clone(),
            approve_url: links.as_ref().map(|l| l.0.clone()),
            reject_url: links.map(|l| l.1),
        };
        let mut mail = n.about_ticket(
            ticket,
            &format!("Approval asked: {}", ticket.subject),
            None,
            answer,
        );
        let name = app.cfg.agent(&approver).map(|a| a.name.clone());
        mail.to = vec![(name, approver.clone())];
        mail.reply_to =
            Some(
                app.keys
                    .approver_address(&id.address, &id.plus_delimiter, decision, &approver),
            );
        mail.auto_submitted = Some("auto-generated");
        out.extend(n.queue_mail(
            c,
            ticket.id,
            "approval_request",
            MessageKind::Notification,
            "approval_request",
            &context,
            mail,
            answer,
        )?);
    }
    models::insert_event(
        c,
        ticket.id,
        now,
        "system",
        "approval_asked",
        &format!(
            "step {} of '{}' asked of {} (approvals needed: {})",
            a.step,
            a.chain,
            who.join(", "),
            quorum.as_text()
        ),
    )?;
    Ok(out)
}

/// What became of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Recorded; the chain's state after it and the outbox rows it queued.
    Yes {
        chain: State,
        outbox: Vec<i64>,
    },
    /// The decision or its step was decided before: nothing changed; the chain's state.
    Closed(State),
    Unknown,
}

fn state_of(s: &str) -> State {
    match s {
        "approved" => State::Approved,
        "rejected" => State::Rejected,
        _ => State::Pending,
    }
}

/// Records `approve` by the approver of decision row `decision` (`via` mail or web), once.
pub fn record(
    app: &App<'_>,
    c: &mut AnyConnection,
    decision: i64,
    (approve, comment): (bool, &str),
    via: &str,
    now: i64,
) -> diesel::QueryResult<Recorded> {
    let Some(d) = models::decision(c, decision)? else {
        return Ok(Recorded::Unknown);
    };
    let Some(a) = models::approval(c, d.approval_id)? else {
        return Ok(Recorded::Unknown);
    };
    if a.state != "pending" || d.step != a.step || d.decision != "pending" {
        return Ok(Recorded::Closed(state_of(&a.state)));
    }
    if !models::answer_decision(c, decision, approve, comment, now)? {
        return Ok(Recorded::Closed(state_of(&a.state)));
    }
    let Some(ticket) = models::get_ticket(c, a.ticket_id)? else {
        return Ok(Recorded::Unknown);
    };
    let word = if approve { "approved" } else { "rejected" };
    let detail = if comment.is_empty() {
        format!("step {} {word} by {} ({via})", d.step, d.approver)
    } else {
        format!(
            "step {} {word} by {} ({via}): {}",
            d.step,
            d.approver,
            crate::mail::parse::one_line(comment)
        )
    };
    models::insert_event(c, ticket.id, now, &d.approver, "approval", &detail)?;
    let decisions: Vec<Option<bool>> = models::decisions_of(c, a.id)?
        .into_iter()
        .filter(|x| x.step == d.step)
        .map(|x| match x.decision.as_str() {
            "approved" => Some(true),
            "rejected" => Some(false),
            _ => None,
        })
        .collect();
    let quorum = Quorum::parse(&d.quorum).unwrap_or(Quorum::Any);
    let mut outbox = Vec::new();
    let chain = match step_state(quorum, &decisions) {
        State::Pending => State::Pending,
        State::Rejected => {
            models::set_approval(c, a.id, "rejected", a.step, Some(now))?;
            outbox.extend(outcome(
                app,
                c,
                &ticket,
                &a.chain,
                false,
                &d.approver,
                comment,
                now,
            )?);
            State::Rejected
        }
        State::Approved => {
            let steps = app
                .cfg
                .approvals
                .iter()
                .find(|x| x.name == a.chain)
                .map_or(0, |x| x.steps.len());
            if (a.step as usize) < steps {
                models::set_approval(c, a.id, "pending", a.step + 1, None)?;
                let next = models::approval(c, a.id)?.ok_or(diesel::result::Error::NotFound)?;
                outbox.extend(ask_step(app, c, &ticket, &next, now)?);
                State::Pending
            } else {
                models::set_approval(c, a.id, "approved", a.step, Some(now))?;
                outbox.extend(outcome(
                    app,
                    c,
                    &ticket,
                    &a.chain,
                    true,
                    &d.approver,
                    comment,
                    now,
                )?);
                // A service request goes on to its tasks.
                outbox.extend(super::catalog::open_tasks(app, c, &ticket, now)?);
                State::Approved
            }
        }
    };
    // The approver's receipt.
    let receipt = format!(
        "Your decision on {} is recorded: {word}{}.",
        app.notify().ticket_ctx(&ticket).reference,
        if comment.is_empty() {
            String::new()
        } else {
            format!(" ({comment})")
        }
    );
    let stands = match chain {
        State::Pending => {
            let step = models::approval(c, a.id)?.map_or(a.step, |x| x.step);
            format!("The approval '{}' waits at step {step}.", a.chain)
        }
        done => format!("The approval '{}' is {}.", a.chain, done.as_str()),
    };
    outbox.extend(tell(
        app,
        c,
        &ticket,
        &d.approver,
        decision,
        vec![receipt, stands],
        now,
    )?);
    Ok(Recorded::Yes { chain, outbox })
}

/// Where the ticket's chain stands, in a sentence.
fn where_it_stands(c: &mut AnyConnection, ticket: &Ticket) -> diesel::QueryResult<String> {
    Ok(match models::approval_of(c, ticket.id)? {
        Some(a) if a.state == "pending" => {
            format!("The approval '{}' waits at step {}.", a.chain, a.step)
        }
        Some(a) => format!("The approval '{}' is {}.", a.chain, a.state),
        None => "No approval was asked for this ticket.".into(),
    })
}

/// A short mail to an approver (a receipt, how to answer, where the chain stands), with their
/// signed reply address.
fn tell(
    app: &App<'_>,
    c: &mut AnyConnection,
    ticket: &Ticket,
    approver: &str,
    decision: i64,
    lines: Vec<String>,
    now: i64,
) -> diesel::QueryResult<Option<i64>> {
    let n = app.notify();
    let id = n.identity_of(ticket);
    let answer = Answer {
        hops: 0,
        now,
        due_at: now,
    };
    let context = ctx::AgentNotice {
        marker: ctx::MARKER,
        ticket: n.ticket_ctx(ticket),
        title: "Your approval".into(),
        lines,
    };
    let mut mail = n.about_ticket(
        ticket,
        &format!("Approval: {}", ticket.subject),
        None,
        answer,
    );
    mail.to = vec![(None, approver.to_string())];
    mail.reply_to =
        Some(
            app.keys
                .approver_address(&id.address, &id.plus_delimiter, decision, approver),
        );
    mail.auto_submitted = Some("auto-replied");
    n.queue_mail(
        c,
        ticket.id,
        "approval_notice",
        MessageKind::Auto,
        "agent_notice",
        &context,
        mail,
        answer,
    )
}

/// An approver's mail that decided nothing: they are told `why` and where the chain stands.
pub fn notice(
    app: &App<'_>,
    c: &mut AnyConnection,
    decision: i64,
    why: &str,
    now: i64,
) -> diesel::QueryResult<Option<i64>> {
    let Some(d) = models::decision(c, decision)? else {
        return Ok(None);
    };
    let Some(a) = models::approval(c, d.approval_id)? else {
        return Ok(None);
    };
    let Some(ticket) = models::get_ticket(c, a.ticket_id)? else {
        return Ok(None);
    };
    let stands = where_it_stands(c, &ticket)?;
    tell(
        app,
        c,
        &ticket,
        &d.approver,
        decision,
        vec![why.to_string(), stands],
        now,
    )
}

/// The requester and the assignee told how the chain ended.
#[allow(clippy::too_many_arguments)]
fn outcome(
    app: &App<'_>,
    c: &mut AnyConnection,
    ticket: &Ticket,
    chain: &str,
    approved: bool,
    by: &str,
    comment: &str,
    now: i64,
) -> diesel::QueryResult<Vec<i64>> {
    models::insert_event(
        c,
        ticket.id,
        now,
        by,
        if approved {
            "approval_approved"
        } else {
            "approval_rejected"
        },
        &format!(
            "approval '{chain}' {}",
            if approved { "approved" } else { "rejected" }
        ),
    )?;
    let n = app.notify();
    let context = ctx::ApprovalOutcome {
        identity: n.identity_ctx(ticket),
        ticket: n.ticket_ctx(ticket),
        chain: chain.to_string(),
        approved,
        decided_by: by.to_string(),
        comment: comment.to_string(),
    };
    let answer = Answer {
        hops: 0,
        now,
        due_at: now,
    };
    let mut to: Vec<String> = Vec::new();
    for a in [Some(ticket.requester.clone()), ticket.assignee.clone()]
        .into_iter()
        .flatten()
    {
        if !a.is_empty() && !to.contains(&a) {
            to.push(a);
        }
    }
    let mut out = Vec::new();
    for address in to {
        let mut mail = n.about_ticket(
            ticket,
            &format!(
                "{}: {}",
                if approved { "Approved" } else { "Rejected" },
                ticket.subject
            ),
            None,
            answer,
        );
        let agent = app.cfg.agent(&address);
        mail.to = vec![(agent.map(|a| a.name.clone()), address.clone())];
        mail.reply_to = match agent {
            Some(ag) => Some(n.agent_reply_address(ticket, ag)),
            None => n.customer_reply_to(ticket),
        };
        mail.auto_submitted = Some("auto-generated");
        let kind = if agent.is_some() {
            MessageKind::Notification
        } else {
            MessageKind::Auto
        };
        out.extend(n.queue_mail(
            c,
            ticket.id,
            "approval_outcome",
            kind,
            "approval_outcome",
            &context,
            mail,
            answer,
        )?);
    }
    Ok(out)
}

/// What a reminder sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reminded {
    pub reminded: usize,
    pub escalated: usize,
}

/// Reminds each approver who has not answered after their chain's `remind_after`, and after
/// twice that tells the ticket queue's managers; each once, across instances (the row is
/// marked in the transaction that queues the mail).
pub fn remind(
    app: &App<'_>,
    c: &mut AnyConnection,
    now: i64,
) -> diesel::QueryResult<(Reminded, Vec<i64>)> {
    use diesel::Connection;
    let mut report = Reminded::default();
    let mut outbox = Vec::new();
    let Some(shortest) = app
        .cfg
        .approvals
        .iter()
        .map(|a| crate::time::millis(a.remind_after))
        .min()
    else {
        return Ok((report, outbox));
    };
    for escalation in [false, true] {
        let factor = if escalation { 2 } else { 1 };
        c.transaction(|c| {
            models::write_lock_first(c)?;
            let rows = models::overdue_decisions(c, now - shortest * factor, escalation, 200)?;
            for (d, a) in rows {
                let after = app
                    .cfg
                    .approvals
                    .iter()
                    .find(|x| x.name == a.chain)
                    .map_or(shortest, |x| crate::time::millis(x.remind_after));
                if d.asked_at + after * factor > now || !models::mark_overdue(c, d.id, escalation, now)? {
                    continue;
                }
                let Some(ticket) = models::get_ticket(c, a.ticket_id)? else { continue };
                let reference = app.notify().ticket_ctx(&ticket).reference;
                let waited = crate::time::human_duration(now - d.asked_at);
                if escalation {
                    report.escalated += 1;
                    let n = app.notify();
                    let answer = Answer { hops: 0, now, due_at: now };
                    let lines = vec![
                        format!("{} has not decided step {} of the approval '{}' of {reference} for {waited}.", d.approver, d.step, a.chain),
                        "You may remind them, or decide how to go on with the ticket's agents.".to_string(),
                    ];
                    for m in app.cfg.queue_managers(&ticket.queue) {
                        outbox.extend(n.agent_notice(c, &ticket, m, "Approval overdue", lines.clone(), answer)?);
                    }
                    models::insert_event(c, ticket.id, now, "system", "approval_escalated", &format!("{} has not answered for {waited}: the queue's managers told", d.approver))?;
                } else {
                    report.reminded += 1;
                    let lines = vec![
                        format!("Reminder: your decision on {reference} \"{}\" (approval '{}', step {}) is awaited since {waited}.", ticket.subject, a.chain, d.step),
                        "Answer this mail with #approve (and a comment if you like) or #reject REASON on the first line.".to_string(),
                    ];
                    outbox.extend(tell(app, c, &ticket, &d.approver, d.id, lines, now)?);
                    models::insert_event(c, ticket.id, now, "system", "approval_reminded", &format!("{} reminded after {waited}", d.approver))?;
                }
            }
            Ok::<_, diesel::result::Error>(())
        })?;
    }
    Ok((report, outbox))
}
