//! The effects of the commands between tickets and of types: problems, links, merges,
//! broadcasts, child tasks. Pure, as the rest of the commands: they read the tickets the
//! pipeline loaded, never the database.

use super::{Action, Change, Ctx, Effect, NewTicket};
use crate::ticket::model::{is_done, Link, LinkKind, Priority, Status, TicketState, TicketType};

/// `#problem SUBJECT`: a new problem in the ticket's queue, linked to it as its incident.
pub(super) fn new_problem(ticket: &mut TicketState, subject: &str) -> Result<Effect, String> {
    let plan = NewTicket {
        subject: subject.to_string(),
        subject_key: crate::ticket::thread::subject_key(subject).0,
        queue: ticket.queue.clone(),
        priority: Priority::parse(&ticket.priority).unwrap_or(Priority::Normal),
        assign: None,
        tags: Vec::new(),
        sla_policy: None,
        ticket_type: Some(TicketType::Problem),
        linked_to: None,
        thread_index: None,
        people: Vec::new(),
        rules: Vec::new(),
        identity: None,
    };
    let mut actions = Vec::new();
    if ticket.ticket_type.is_none() {
        ticket.ticket_type = Some(TicketType::Incident.as_str().into());
        actions.push(Action::Set(Change::Type(TicketType::Incident)));
    }
    actions.push(Action::OpenLinked {
        plan: Box::new(plan),
        kind: LinkKind::Problem,
        back: LinkKind::Incident,
    });
    Ok(Effect {
        actions,
        done: format!("new problem '{subject}', linked to this ticket"),
    })
}

/// `#link N`: which way the link goes depends on which of the two is a problem.
pub(super) fn link(ctx: &Ctx<'_>, ticket: &mut TicketState, n: i64) -> Result<Effect, String> {
    let other = ctx.other(ticket, n)?;
    if ticket.links.iter().any(|l| l.ticket == n) {
        return Err(format!("the ticket is linked to #{n} already"));
    }
    let (kind, back) = match (ticket.is_problem(), other.is_problem()) {
        (false, true) => (LinkKind::Problem, LinkKind::Incident),
        (true, false) => (LinkKind::Incident, LinkKind::Problem),
        _ => (LinkKind::Related, LinkKind::Related),
    };
    let mut actions = vec![Action::Link {
        other: n,
        kind,
        back,
    }];
    if kind == LinkKind::Problem && ticket.ticket_type.is_none() {
        ticket.ticket_type = Some(TicketType::Incident.as_str().into());
        actions.push(Action::Set(Change::Type(TicketType::Incident)));
    }
    // A major problem: the incident's requester learns at once that it is known.
    let urgent = |t: &TicketState| t.priority == Priority::Urgent.as_str();
    match kind {
        LinkKind::Problem if urgent(other) => actions.push(Action::SendCurrentUpdate {
            problem: n,
            incident: ticket.id,
        }),
        LinkKind::Incident if urgent(ticket) => actions.push(Action::SendCurrentUpdate {
            problem: ticket.id,
            incident: n,
        }),
        _ => {}
    }
    ticket.links.push(Link {
        kind: kind.as_str().into(),
        ticket: n,
        status: other.status.clone(),
        requester: other.requester.clone(),
    });
    Ok(Effect {
        actions,
        done: format!("linked to #{n} ({kind})"),
    })
}

/// `#unlink N`: the problem, incident or related link goes (merges and tasks stay).
pub(super) fn unlink(ticket: &mut TicketState, n: i64) -> Result<Effect, String> {
    let linkable = [LinkKind::Problem, LinkKind::Incident, LinkKind::Related];
    let before = ticket.links.len();
    ticket
        .links
        .retain(|l| l.ticket != n || !linkable.iter().any(|k| k.as_str() == l.kind));
    if ticket.links.len() == before {
        return Err(format!(
            "the ticket is not linked to #{n} (merges and tasks stay linked)"
        ));
    }
    Ok(Effect {
        actions: vec![Action::Unlink { other: n }],
        done: format!("unlinked from #{n}"),
    })
}

/// `#merge N`: into an open ticket that was not merged into this one.
pub(super) fn merge(ctx: &Ctx<'_>, ticket: &mut TicketState, n: i64) -> Result<Effect, String> {
    let other = ctx.other(ticket, n)?;
    if other.is_done() {
        return Err(format!(
            "#{n} is {}: merge into a ticket that is still open",
            other.status
        ));
    }
    if other
        .links
        .iter()
        .any(|l| l.ticket == ticket.id && l.kind == LinkKind::MergedInto.as_str())
    {
        return Err(format!(
            "#{n} was merged into this ticket: that would be a cycle"
        ));
    }
    if ticket.linked(LinkKind::Child).any(|c| !is_done(&c.status)) {
        return Err("the ticket has open child tasks: a merge would orphan them".into());
    }
    ticket.status = Status::Closed.as_str().into();
    Ok(Effect {
        actions: vec![
            Action::Merge { into: n },
            Action::Set(Change::Status(Status::Closed)),
            Action::Set(Change::ResolvedAt(ctx.now)),
        ],
        done: format!("merged into #{n}"),
    })
}

/// `#broadcast [confirm]`: on a problem with requesters to reach.
pub(super) fn broadcast(
    ctx: &Ctx<'_>,
    ticket: &mut TicketState,
    confirm: bool,
) -> Result<Effect, String> {
    if !ticket.is_problem() {
        return Err(format!(
            "#broadcast is for problems; this ticket's type is {} (make it one with #problem)",
            ticket.ticket_type.as_deref().unwrap_or("not set")
        ));
    }
    let n = audience(ctx, ticket);
    if n == 0 {
        return Err("no incident with a requester is linked to this problem".into());
    }
    if confirm {
        if !ctx.pending_broadcast {
            return Err("no broadcast of this problem waits for confirmation".into());
        }
        return Ok(Effect {
            actions: vec![Action::Broadcast {
                text: None,
                resolve: false,
                hold: false,
                confirm: true,
            }],
            done: "broadcast confirmed".into(),
        });
    }
    if ctx.body.is_empty() {
        return Err("#broadcast needs the text of the update below the command".into());
    }
    let hold = n > ctx.cfg.problems.confirm_above as usize;
    Ok(Effect {
        actions: vec![Action::Broadcast {
            text: Some(ctx.body.to_string()),
            resolve: false,
            hold,
            confirm: false,
        }],
        done: if hold {
            format!("broadcast to {n} requesters kept until you confirm")
        } else {
            format!("broadcast to {n} requesters")
        },
    })
}

/// `#task QUEUE SUBJECT`: a child ticket in an existing queue.
pub(super) fn task(
    ctx: &Ctx<'_>,
    ticket: &mut TicketState,
    queue: &str,
    subject: &str,
) -> Result<Effect, String> {
    if !ctx.cfg.queues.iter().any(|x| x.name == queue) {
        return Err(format!("there is no queue '{queue}'"));
    }
    let plan = NewTicket {
        subject: subject.to_string(),
        subject_key: crate::ticket::thread::subject_key(subject).0,
        queue: queue.to_string(),
        priority: Priority::parse(&ticket.priority).unwrap_or(Priority::Normal),
        assign: None,
        tags: Vec::new(),
        sla_policy: ctx
            .cfg
            .queues
            .iter()
            .find(|q| q.name == queue)
            .and_then(|q| q.sla.clone()),
        ticket_type: None,
        linked_to: None,
        thread_index: None,
        people: Vec::new(),
        rules: Vec::new(),
        identity: None,
    };
    ticket.links.push(Link {
        kind: LinkKind::Child.as_str().into(),
        ticket: 0,
        status: Status::New.as_str().into(),
        requester: String::new(),
    });
    Ok(Effect {
        actions: vec![Action::OpenLinked {
            plan: Box::new(plan),
            kind: LinkKind::Child,
            back: LinkKind::Parent,
        }],
        done: format!("task in {queue}: {subject}"),
    })
}

/// A ticket's new type, and the SLA policy that type takes in its queue when it differs.
pub(super) fn retype(ctx: &Ctx<'_>, ticket: &mut TicketState, t: TicketType) -> Effect {
    ticket.ticket_type = Some(t.as_str().into());
    let mut e = Effect {
        actions: vec![Action::Set(Change::Type(t))],
        done: format!("type {t}"),
    };
    let policy = ctx.cfg.sla_for(&ticket.queue, Some(t), None);
    if policy != ticket.sla_policy {
        e.done.push_str(&match &policy {
            Some(p) => format!(" (SLA policy {p})"),
            None => " (no SLA policy applies)".into(),
        });
        ticket.sla_policy = policy.clone();
        e.actions.push(Action::Set(Change::SlaPolicy(policy)));
    }
    e
}

/// How many people a problem's broadcast reaches: the distinct requesters of its incidents,
/// agents and the desk's own addresses left out.
pub fn audience(ctx: &Ctx<'_>, problem: &TicketState) -> usize {
    let mut seen = std::collections::HashSet::new();
    problem
        .linked(LinkKind::Incident)
        .map(|i| i.requester.as_str())
        .filter(|r| ctx.cfg.is_outsider(r))
        .filter(|r| seen.insert(*r))
        .count()
}
