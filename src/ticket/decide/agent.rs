//! A verified agent's mail about a ticket: its commands, then an internal note or an answer
//! to the customer, and what is told back to the agent.

use super::*;
use crate::ticket::model::TicketType;

/// A verified agent's mail about a ticket: commands, then an internal note, or an answer
/// that goes to the customer; a short reply to the agent for anything not done.
pub(super) fn agent_mail<'a>(
    f: &Facts<'a>,
    agent: &'a AgentConfig,
    ticket: &TicketState,
    matched_by: Option<MatchedBy>,
) -> Decision<'a> {
    let (mail, cfg, now) = (f.mail, f.cfg, f.now);
    let to_notes = cfg
        .identity
        .notes_address
        .as_deref()
        .is_some_and(|n| recipients(mail).any(|r| r == n));
    let parsed = commands::parse(&mail.text);
    // Text saved as an article is the desk's own: it goes to no customer.
    let saving = parsed
        .commands
        .iter()
        .any(|c| matches!(c, commands::Command::KbSave(_)));
    let note = parsed.note || to_notes || saving;
    let body = quote::strip_reply(&parsed.body);
    let ctx = Ctx {
        cfg,
        agent,
        now,
        others: &f.tickets,
        body: &body,
        pending_broadcast: f.pending_broadcast.contains(&ticket.id),
        articles: &f.articles,
    };
    let mut state = ticket.clone();
    let mut errors = parsed.errors.clone();
    let (mut done, mut changes) = (Vec::new(), Vec::new());
    let mut articles = Vec::new();
    let (mut status_set, mut changed) = (false, false);
    for (cmd, line) in parsed.commands.iter().zip(&parsed.lines) {
        match cmd.effect(&ctx, &mut state) {
            // (a mail that saves its text as an article sends nothing, so not an article either)
            Ok(_) if saving && matches!(cmd, commands::Command::Reply(_)) => errors.push((
                line.clone(),
                "#reply goes in a mail of its own: this one's text is saved by #kb save, and nothing of it is sent".into(),
            )),
            Ok(e) => {
                if let commands::Command::Reply(name) = cmd {
                    articles.push(name.clone());
                }
                changes.extend(e.actions);
                done.push(e.done);
                status_set |= matches!(cmd, commands::Command::Status(_));
                changed |= cmd.touches_sla();
            }
            Err(why) => errors.push((line.clone(), why)),
        }
    }
    // A change with a risk that needs approval (`[changes] approval`) starts its chain once.
    if state.approval.is_none() && state.ticket_type.as_deref() == Some(TicketType::Change.as_str())
    {
        if let Some(chain) = state
            .fields
            .get("risk")
            .and_then(|r| cfg.changes.chain_for(r))
        {
            changes.push(Action::StartApproval {
                chain: chain.to_string(),
            });
            done.push(format!("approval '{chain}' requested"));
        }
    }
    let changes = one_broadcast(changes);
    let broadcasting = changes
        .iter()
        .any(|a| matches!(a, Action::Broadcast { text: Some(_), .. }));
    let searching = parsed
        .commands
        .iter()
        .any(|c| matches!(c, commands::Command::Search(_)));
    let outcome = if note {
        Outcome::Note
    } else if !body.is_empty() || !articles.is_empty() {
        Outcome::AgentReply
    } else if searching {
        Outcome::Search
    } else {
        Outcome::Command
    };
    let mut a = vec![
        Action::Record,
        Action::AddMessage {
            kind: if note {
                MessageKind::Note
            } else {
                MessageKind::Agent
            },
            text: body.clone(),
        },
    ];
    a.extend(done.iter().map(|d| Action::Event {
        on: None,
        actor: agent.address.clone(),
        kind: "command",
        detail: Detail::Text(d.clone()),
    }));
    a.extend(changes);
    match outcome {
        Outcome::Note => {
            a.push(Action::Event {
                on: None,
                actor: agent.address.clone(),
                kind: "note",
                detail: Detail::Inbound,
            });
            a.push(Action::ShareNote { text: body });
        }
        Outcome::AgentReply if broadcasting && ticket.requester.is_empty() => {
            // A problem of its own has no customer: its text goes out as the broadcast only.
            a.push(Action::Event {
                on: None,
                actor: agent.address.clone(),
                kind: "agent_reply",
                detail: Detail::Inbound,
            });
        }
        Outcome::AgentReply => {
            let mut if_sent = vec![Action::Event {
                on: None,
                actor: agent.address.clone(),
                kind: "agent_reply",
                detail: Detail::Inbound,
            }];
            if ticket.first_response_at.is_none() {
                if_sent.push(Action::Set(Change::FirstResponseAt(now)));
            }
            if !status_set {
                if_sent.push(Action::Set(Change::Status(Status::Open)));
            }
            a.push(Action::AnswerCustomer {
                text: body,
                articles,
                if_sent,
            });
        }
        _ => {}
    }
    a.push(Action::Set(Change::UpdatedAt(now)));
    if ticket.sla_policy.is_some() || state.sla_policy.is_some() {
        if outcome == Outcome::AgentReply {
            a.push(Action::SyncSla(SlaSync::AfterAnswer { changed }));
        } else if changed {
            a.push(Action::SyncSla(SlaSync::Event(SlaEvent::Changed)));
        }
    }
    // (a search is answered by its result; other commands with it get their receipt)
    let receipt = match outcome {
        Outcome::Command => true,
        Outcome::Search => parsed
            .commands
            .iter()
            .any(|c| !matches!(c, commands::Command::Search(_))),
        _ => false,
    };
    if receipt && errors.is_empty() && !done.is_empty() {
        a.push(Action::CommandReceipt { done: done.clone() });
        let closed_now = matches!(
            Status::parse(&state.status),
            Some(Status::Resolved | Status::Closed)
        );
        if status_set && closed_now && ticket.status != state.status {
            a.push(Action::StatusChanged);
        }
    }
    if !errors.is_empty() {
        a.push(Action::Event {
            on: None,
            actor: agent.address.clone(),
            kind: "command_error",
            detail: Detail::Text(
                errors
                    .iter()
                    .map(|(l, r)| format!("{l}: {r}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        });
        a.push(Action::CommandError { errors, done });
    }
    Decision {
        outcome,
        ticket: Some(ticket.id),
        matched_by,
        reason: None,
        error: None,
        agent: Some(agent),
        hops: mail.hops,
        actions: a,
    }
}

/// A problem's text broadcast and the resolution of its incidents in one mail become one
/// broadcast that does both: each requester hears once.
fn one_broadcast(changes: Vec<Action>) -> Vec<Action> {
    let texted = changes
        .iter()
        .any(|a| matches!(a, Action::Broadcast { text: Some(_), .. }));
    let resolving = changes.iter().find_map(|a| match a {
        Action::Broadcast {
            text: None,
            resolve: true,
            hold,
            ..
        } => Some(*hold),
        _ => None,
    });
    match (texted, resolving) {
        (true, Some(resolve_hold)) => changes
            .into_iter()
            .filter_map(|a| match a {
                Action::Broadcast {
                    text: None,
                    resolve: true,
                    ..
                } => None,
                Action::Broadcast {
                    text: Some(text),
                    hold,
                    confirm,
                    ..
                } => Some(Action::Broadcast {
                    text: Some(text),
                    resolve: true,
                    hold: hold || resolve_hold,
                    confirm,
                }),
                other => Some(other),
            })
            .collect(),
        _ => changes,
    }
}
