//! The applier's part for actions between tickets: links, tickets opened by commands, merges,
//! a problem's broadcast to its incidents, a major problem's update to a new incident, and the
//! parent told when its last child task is done.

use std::collections::{HashMap, HashSet};

use super::{insert_plan, new_thread_index, Writer};
use crate::notify::UpdateTo;
use crate::schedule::clocks::SlaEvent;
use crate::store::models::{self, Ticket, TicketChanges};
use crate::ticket::action;
use crate::ticket::model::{is_done, LinkKind, Status};

/// How far back a failed delivery keeps an address out of broadcasts.
const BOUNCE_MEMORY_MS: i64 = 30 * 24 * 3_600_000;

impl Writer<'_, '_> {
    pub(super) fn link(
        &mut self,
        other: i64,
        kind: LinkKind,
        back: LinkKind,
    ) -> diesel::QueryResult<()> {
        let (t, now) = (self.ticket()?, self.clock.received_at);
        models::link_pair(self.c, t, kind.as_str(), other, back.as_str(), now)?;
        let actor = self.actor();
        models::insert_event(
            self.c,
            other,
            now,
            &actor,
            "linked",
            &format!("#{t} linked to this ticket as its {back}"),
        )
    }

    pub(super) fn unlink(&mut self, other: i64) -> diesel::QueryResult<()> {
        let (t, now) = (self.ticket()?, self.clock.received_at);
        let kinds = [
            LinkKind::Problem.as_str(),
            LinkKind::Incident.as_str(),
            LinkKind::Related.as_str(),
        ];
        models::unlink_pair(self.c, t, other, &kinds)?;
        let actor = self.actor();
        models::insert_event(
            self.c,
            other,
            now,
            &actor,
            "unlinked",
            &format!("#{t} unlinked"),
        )
    }

    /// Opens the ticket a command asked for, links it, and tells its queue's agents.
    pub(super) fn open_linked(
        &mut self,
        plan: &action::NewTicket,
        kind: LinkKind,
        back: LinkKind,
    ) -> diesel::QueryResult<()> {
        let t = self.ticket()?;
        let actor = self.actor();
        let from = self.row()?.clone();
        let writer = self.d.agent.map(|a| a.address.clone());
        let (_, ids) = open_linked_ticket(
            self.app,
            self.c,
            (&from, plan),
            (kind, back),
            (&actor, writer.as_deref()),
            self.answer,
        )?;
        debug_assert_eq!(from.id, t);
        self.outbox_ids.extend(ids);
        Ok(())
    }

    /// Moves the mail's ticket into `into` and links the two.
    pub(super) fn merge(&mut self, into: i64) -> diesel::QueryResult<()> {
        let (t, now) = (self.ticket()?, self.clock.received_at);
        models::move_ticket_contents(self.c, t, into)?;
        let (a, b) = (LinkKind::MergedInto.as_str(), LinkKind::MergedFrom.as_str());
        models::link_pair(self.c, t, a, into, b, now)?;
        let actor = self.actor();
        models::insert_event(
            self.c,
            into,
            now,
            &actor,
            "merged",
            &format!("#{t} merged into this ticket"),
        )
    }

    /// A problem's update to the requester of every linked incident (see
    /// [`action::Action::Broadcast`]).
    pub(super) fn broadcast(
        &mut self,
        text: Option<&str>,
        resolve: bool,
        hold: bool,
        confirm: bool,
    ) -> diesel::QueryResult<()> {
        let (now, cfg) = (self.clock.received_at, self.app.cfg);
        let problem = self.row()?.clone();
        let agent = self.agent()?;
        let (text, resolve, held) = if confirm {
            match models::last_broadcast(self.c, problem.id, "held")? {
                Some(b) => (
                    (!b.text.is_empty()).then_some(b.text),
                    b.resolve,
                    Some(b.id),
                ),
                None => return Ok(()),
            }
        } else {
            (text.map(str::to_string), resolve, None)
        };
        let ids: Vec<i64> = models::links_of_ticket(self.c, problem.id)?
            .into_iter()
            .filter(|(k, _)| k == LinkKind::Incident.as_str())
            .map(|(_, t)| t)
            .collect();
        let mut incidents = models::tickets_by_ids(self.c, &ids)?;
        incidents.sort_by_key(|t| t.id);
        let people: HashSet<String> = incidents
            .iter()
            .map(|t| t.requester.as_str())
            .filter(|a| cfg.is_outsider(a))
            .map(str::to_string)
            .collect();
        if hold {
            models::insert_broadcast(
                self.c,
                problem.id,
                &agent.address,
                text.as_deref().unwrap_or(""),
                "held",
                resolve,
                people.len() as i64,
                now,
            )?;
            let lines = vec![
                format!(
                    "This update would go to {} requesters of linked incidents{}, more than [problems] confirm_above = {}: nothing was sent yet.",
                    people.len(),
                    if resolve { ", and resolve their open tickets" } else { "" },
                    cfg.problems.confirm_above
                ),
                "To send it, reply to this mail with the line: #broadcast confirm".into(),
            ];
            let id = self.app.notify().agent_notice(
                self.c,
                &problem,
                agent,
                "Broadcast waiting for your confirmation",
                lines,
                self.answer,
            )?;
            self.outbox_ids.extend(id);
            return models::insert_event(
                self.c,
                problem.id,
                now,
                &agent.address,
                "broadcast_held",
                &format!("{} requesters; waits for #broadcast confirm", people.len()),
            );
        }

        // Resolve the open incidents first: their mail then says so.
        let mut resolved_now = HashSet::new();
        if resolve {
            for t in incidents.iter_mut().filter(|t| !is_done(&t.status)) {
                let ch = TicketChanges {
                    status: Some(Status::Resolved.as_str().into()),
                    resolved_at: Some(Some(now)),
                    updated_at: Some(now),
                    ..TicketChanges::default()
                };
                models::update_ticket(self.c, t.id, &ch)?;
                let was = std::mem::replace(&mut t.status, Status::Resolved.as_str().into());
                t.resolved_at = Some(now);
                t.updated_at = now;
                crate::schedule::clocks::sync(self.c, cfg, t, now, SlaEvent::Changed)?;
                crate::schedule::csat::status_changed(self.app, self.c, t, &was, now)?;
                resolved_now.insert(t.id);
            }
            let rows: Vec<(i64, &str, String)> = resolved_now
                .iter()
                .map(|t| (*t, "resolved", format!("with problem #{}", problem.id)))
                .collect();
            models::insert_events(self.c, now, &agent.address, &rows)?;
        }

        // Each requester once, in their newest linked ticket; none to an address that failed
        // lately; a resolution alone goes only to those whose ticket it resolved. The problem's
        // own customer has the text as the agent's answer on the problem (a confirmation, sent
        // later, goes to them like to anyone).
        let failed = models::failed_recipients(self.c, &people, now - BOUNCE_MEMORY_MS)?;
        let answered = (text.is_some() && !confirm).then_some(problem.requester.as_str());
        let mut newest: HashMap<&str, &Ticket> = HashMap::new();
        for t in &incidents {
            if !cfg.is_outsider(&t.requester)
                || (text.is_none() && !resolved_now.contains(&t.id))
                || answered == Some(t.requester.as_str())
            {
                continue;
            }
            newest.insert(t.requester.as_str(), t);
        }
        let mut targets: Vec<&Ticket> = newest.into_values().collect();
        targets.sort_by_key(|t| t.id);
        let (send, skipped): (Vec<&Ticket>, Vec<&Ticket>) = targets
            .into_iter()
            .partition(|t| !failed.contains(&t.requester));
        let target_ids: Vec<i64> = send.iter().map(|t| t.id).collect();
        let mut last = models::last_customer_messages(self.c, &target_ids)?;
        let names = models::requester_names(self.c, &target_ids)?;
        let to: Vec<UpdateTo<'_>> = send
            .iter()
            .map(|t| UpdateTo {
                incident: t,
                name: names.get(&t.id).cloned(),
                last: last.remove(&t.id),
                resolved: resolved_now.contains(&t.id),
            })
            .collect();
        let sent = self.queue_updates(&problem, agent, text.as_deref(), false, &to)?;
        let mut events: Vec<(i64, &str, String)> = sent
            .iter()
            .map(|t| {
                (
                    *t,
                    "problem_update",
                    format!("from problem #{}", problem.id),
                )
            })
            .collect();
        events.extend(skipped.iter().map(|t| {
            (
                t.id,
                "problem_update_skipped",
                format!(
                    "problem #{}'s update not sent: mail to {} failed in the last 30 days",
                    problem.id, t.requester
                ),
            )
        }));
        models::insert_events(self.c, now, &agent.address, &events)?;
        let summary = format!(
            "to {} requesters{}{}",
            sent.len(),
            match skipped.len() {
                0 => String::new(),
                n => format!(", {n} left out (delivery failed in the last 30 days)"),
            },
            match resolved_now.len() {
                0 => String::new(),
                n => format!("; {n} incidents resolved"),
            }
        );
        models::insert_event(
            self.c,
            problem.id,
            now,
            &agent.address,
            "broadcast",
            &summary,
        )?;
        match held {
            Some(b) => models::mark_broadcast_sent(self.c, b, sent.len() as i64, now),
            None => models::insert_broadcast(
                self.c,
                problem.id,
                &agent.address,
                text.as_deref().unwrap_or(""),
                "sent",
                resolve,
                sent.len() as i64,
                now,
            )
            .map(|_| ()),
        }
    }

    /// Queues the composed updates in one statement; the tickets they went to. One that could
    /// not be made is recorded on its ticket.
    fn queue_updates(
        &mut self,
        problem: &Ticket,
        agent: &crate::config::AgentConfig,
        text: Option<&str>,
        known: bool,
        to: &[UpdateTo<'_>],
    ) -> diesel::QueryResult<Vec<i64>> {
        let now = self.clock.received_at;
        let n = self.app.notify();
        let mut ok = Vec::with_capacity(to.len());
        let mut failed = Vec::new();
        for (u, made) in
            to.iter()
                .zip(n.problem_updates(problem, agent, text, known, to, self.answer))
        {
            match made {
                Ok(q) => ok.push(q),
                Err(e) => failed.push((u.incident.id, "problem_update_failed", e.to_string())),
            }
        }
        models::insert_events(self.c, now, "system", &failed)?;
        let tickets: Vec<i64> = ok.iter().filter_map(|q| q.ticket_id).collect();
        let ids = crate::outbox::enqueue_many(self.c, &ok, now, self.answer.due_at)?;
        self.outbox_ids.extend(ids);
        Ok(tickets)
    }

    /// The requester of an incident just linked to a major problem learns it is known, with
    /// the problem's last update.
    pub(super) fn send_current_update(
        &mut self,
        problem: i64,
        incident: i64,
    ) -> diesel::QueryResult<()> {
        let cfg = self.app.cfg;
        let agent = self.agent()?;
        let rows = models::tickets_by_ids(self.c, &[problem, incident])?;
        let (Some(p), Some(i)) = (
            rows.iter().find(|t| t.id == problem),
            rows.iter().find(|t| t.id == incident),
        ) else {
            return Ok(());
        };
        if !cfg.is_outsider(&i.requester) {
            return Ok(());
        }
        let text = models::last_broadcast(self.c, problem, "sent")?
            .map(|b| b.text)
            .filter(|t| !t.is_empty());
        let to = [UpdateTo {
            incident: i,
            name: models::requester_names(self.c, &[incident])?.remove(&incident),
            last: models::last_customer_messages(self.c, &[incident])?.remove(&incident),
            resolved: false,
        }];
        let p = p.clone();
        let sent = self.queue_updates(&p, agent, text.as_deref(), true, &to)?;
        let detail = format!("problem #{problem} is a major incident: its current update sent");
        let rows: Vec<(i64, &str, String)> = sent
            .iter()
            .map(|t| (*t, "problem_update", detail.clone()))
            .collect();
        models::insert_events(self.c, self.clock.received_at, &agent.address, &rows)
    }

    /// The parent's assignee (else its queue's agents) told when its last open child is done.
    pub(super) fn child_done(&mut self, parent: i64) -> diesel::QueryResult<()> {
        let t = self.ticket()?;
        let children: Vec<(i64, String)> = models::links_of(self.c, &[parent])?
            .into_iter()
            .filter(|l| l.kind == LinkKind::Child.as_str())
            .map(|l| (l.other_id, l.other_status))
            .collect();
        // This ticket's new status may not be written yet.
        if children
            .iter()
            .any(|(id, status)| *id != t && !is_done(status))
        {
            return Ok(());
        }
        let Some(row) = models::get_ticket(self.c, parent)? else {
            return Ok(());
        };
        // A service request is done when its tasks are.
        let now = self.clock.received_at;
        if let Some(ids) =
            crate::pipeline::catalog::fulfilled_if_request(self.app, self.c, &row, now)?
        {
            self.outbox_ids.extend(ids);
            return Ok(());
        }
        let cfg = self.app.cfg;
        let lines = vec![format!(
            "All {} child tasks are done, the last one #{t} just now: the ticket can be resolved.",
            children.len()
        )];
        let n = self.app.notify();
        for agent in cfg.agents_for(row.assignee.as_deref(), &row.queue) {
            let id = n.agent_notice(
                self.c,
                &row,
                agent,
                "Child tasks done",
                lines.clone(),
                self.answer,
            )?;
            self.outbox_ids.extend(id);
        }
        Ok(())
    }

    /// Who acts: the verified agent, else the system.
    pub(super) fn actor(&self) -> String {
        self.d
            .agent
            .map_or_else(|| "system".to_string(), |a| a.address.clone())
    }
}

/// Opens `plan` as a ticket linked to `from` (it is `kind` to `from`, which is `back` to it),
/// its clocks started and its queue's agents told (but `writer`); its id and the outbox rows.
pub(crate) fn open_linked_ticket(
    app: &crate::app::App<'_>,
    c: &mut crate::store::AnyConnection,
    (from, plan): (&Ticket, &action::NewTicket),
    (kind, back): (LinkKind, LinkKind),
    (actor, writer): (&str, Option<&str>),
    answer: crate::notify::Answer,
) -> diesel::QueryResult<(i64, Vec<i64>)> {
    let (t, now, cfg) = (from.id, answer.now, app.cfg);
    let (id, _) = insert_plan(c, plan, "", None, &new_thread_index(now), now)?;
    models::link_pair(c, t, kind.as_str(), id, back.as_str(), now)?;
    models::insert_event(
        c,
        id,
        now,
        actor,
        "created",
        &format!("opened by {actor} from #{t}, as its {kind}"),
    )?;
    models::insert_event(c, t, now, actor, "linked", &format!("{kind} #{id} opened"))?;
    let Some(mut row) = models::get_ticket(c, id)? else {
        return Err(diesel::result::Error::NotFound);
    };
    crate::schedule::clocks::sync(c, cfg, &mut row, now, SlaEvent::Opened)?;
    let n = app.notify();
    let line = n.ticket_line(from);
    let mut out = Vec::new();
    for agent in cfg.queue_agents(&plan.queue) {
        if Some(agent.address.as_str()) == writer {
            continue;
        }
        let lines = vec![
            format!(
                "{actor} opened it from {} \"{}\".",
                line.reference, line.subject
            ),
            format!("Queue {}, priority {}.", row.queue, row.priority),
        ];
        let title = format!("New {kind}");
        out.extend(n.agent_notice(c, &row, agent, &title, lines, answer)?);
    }
    Ok((id, out))
}
