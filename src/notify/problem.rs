//! Mail of problem management: what agents are told about an incident's problem or a
//! problem's incidents, a problem's update to each linked requester, and notices to agents.

use std::collections::HashMap;

use super::{agent_ctx, Answer, Notifier};
use crate::config::AgentConfig;
use crate::mail::compose::compose;
use crate::outbox::Queued;
use crate::store::models::{self, Ticket};
use crate::store::AnyConnection;
use crate::templates::context as ctx;
use crate::ticket::model::{is_done, ticket_ref, LinkKind, MessageKind};

/// One requester's update: their ticket, who they are, and what to thread it to.
pub struct UpdateTo<'a> {
    pub incident: &'a Ticket,
    pub name: Option<String>,
    /// Their last mail on the ticket: (Message-ID, References).
    pub last: Option<(String, String)>,
    pub resolved: bool,
}

impl Notifier<'_> {
    /// A ticket as one line of another's mail.
    pub fn ticket_line(&self, t: &Ticket) -> ctx::TicketLine {
        ctx::TicketLine {
            reference: ticket_ref(&self.identity_of(t).subject_tag, t.id),
            subject: t.subject.clone(),
            status: t.status.clone(),
        }
    }

    /// An incident's problems and a problem's incidents, for its notification to agents
    /// (nothing is read for a ticket without a type: it has no such links).
    pub fn linked_summary(
        &self,
        c: &mut AnyConnection,
        ticket: &Ticket,
    ) -> diesel::QueryResult<(Vec<ctx::TicketLine>, Option<ctx::Incidents>)> {
        if ticket.ticket_type.is_none() {
            return Ok((Vec::new(), None));
        }
        let links = models::links_of_ticket(c, ticket.id)?;
        let ids = |kind: LinkKind| -> Vec<i64> {
            links
                .iter()
                .filter(|(k, _)| k == kind.as_str())
                .map(|(_, t)| *t)
                .collect()
        };
        let (problem_ids, incident_ids) = (ids(LinkKind::Problem), ids(LinkKind::Incident));
        let problems = if problem_ids.is_empty() {
            Vec::new()
        } else {
            let mut rows = models::tickets_by_ids(c, &problem_ids)?;
            rows.sort_by_key(|t| t.id);
            rows.iter().map(|t| self.ticket_line(t)).collect()
        };
        let incidents = if incident_ids.is_empty() {
            None
        } else {
            let rows = models::tickets_by_ids(c, &incident_ids)?;
            Some(incidents_summary(&rows).map_oldest(|t| self.ticket_line(t)))
        };
        Ok((problems, incidents))
    }

    /// The problem's update, one mail per requester in their own ticket: From "Agent via
    /// Support", threaded to their last mail, Reply-To their ticket's address. Composed, not
    /// queued (the caller queues them all in one statement).
    pub fn problem_updates(
        &self,
        problem: &Ticket,
        agent: &AgentConfig,
        text: Option<&str>,
        known: bool,
        to: &[UpdateTo<'_>],
        answer: Answer,
    ) -> Vec<Result<Queued, super::NotifyError>> {
        let problem_line = self.ticket_line(problem);
        to.iter()
            .map(|u| {
                let t = u.incident;
                let context = ctx::ProblemUpdate {
                    identity: self.identity_ctx(t),
                    ticket: self.ticket_ctx(t),
                    problem: problem_line.clone(),
                    customer: ctx::Person::new(&t.requester, u.name.as_deref()),
                    agent: agent_ctx(agent),
                    text: text.map(str::to_string),
                    resolved: u.resolved,
                    known,
                };
                let mut out = self.about_ticket(
                    t,
                    &format!("Re: {}", t.subject),
                    u.last.as_ref().map(|(m, r)| (m.as_str(), r.as_str())),
                    answer,
                );
                out.from_name = format!("{} via {}", agent.name, self.identity_of(t).name);
                out.to = vec![(u.name.clone(), t.requester.clone())];
                out.reply_to = self.customer_reply_to(t);
                out.auto_submitted = None;
                let r = self
                    .templates
                    .for_address(&out.from_address)
                    .render("problem_update", &context)?;
                out.text = r.text;
                out.html = r.html;
                let raw = compose(&out)?;
                Ok(Queued {
                    ticket_id: Some(t.id),
                    kind: "problem_update",
                    message_kind: MessageKind::Agent,
                    mail: out,
                    raw,
                })
            })
            .collect()
    }

    /// A notice to one agent about `ticket` (template `agent_notice`), answerable from their
    /// own reply address.
    #[allow(clippy::too_many_arguments)]
    pub fn agent_notice(
        &self,
        c: &mut AnyConnection,
        ticket: &Ticket,
        agent: &AgentConfig,
        title: &str,
        lines: Vec<String>,
        answer: Answer,
    ) -> diesel::QueryResult<Option<i64>> {
        let context = ctx::AgentNotice {
            marker: ctx::MARKER,
            ticket: self.ticket_ctx(ticket),
            title: title.to_string(),
            lines,
        };
        let out = self.about_ticket(
            ticket,
            &format!("{title}: {}", ticket.subject),
            None,
            answer,
        );
        self.send_to_agent(c, ticket.id, agent, "agent_notice", &context, out, answer)
    }
}

/// Counts, the oldest and the organisations of a problem's incidents.
struct Summary<'a> {
    count: usize,
    open: usize,
    oldest: Option<&'a Ticket>,
    organisations: Vec<String>,
}

impl<'a> Summary<'a> {
    fn map_oldest(self, line: impl Fn(&'a Ticket) -> ctx::TicketLine) -> ctx::Incidents {
        ctx::Incidents {
            count: self.count,
            open: self.open,
            oldest: self.oldest.map(line),
            organisations: self.organisations,
        }
    }
}

/// The oldest open incident (else the oldest), and the requesters' domains, most first (ties
/// by name), at most ten.
fn incidents_summary(rows: &[Ticket]) -> Summary<'_> {
    let open: Vec<&Ticket> = rows.iter().filter(|t| !is_done(&t.status)).collect();
    let oldest = open
        .iter()
        .copied()
        .min_by_key(|t| (t.created_at, t.id))
        .or_else(|| rows.iter().min_by_key(|t| (t.created_at, t.id)));
    let mut by_domain: HashMap<&str, usize> = HashMap::new();
    for t in rows {
        if let Some((_, d)) = t.requester.rsplit_once('@') {
            *by_domain.entry(d).or_default() += 1;
        }
    }
    let mut domains: Vec<(&str, usize)> = by_domain.into_iter().collect();
    domains.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    Summary {
        count: rows.len(),
        open: open.len(),
        oldest,
        organisations: domains
            .into_iter()
            .take(10)
            .map(|(d, _)| d.to_string())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: i64, requester: &str, status: &str, created_at: i64) -> Ticket {
        Ticket {
            id,
            subject: format!("t{id}"),
            status: status.into(),
            priority: "normal".into(),
            queue: "general".into(),
            requester: requester.into(),
            assignee: None,
            tags: "[]".into(),
            sla_policy: None,
            first_response_due: None,
            resolution_due: None,
            sla_breached: false,
            first_response_at: None,
            created_at,
            updated_at: created_at,
            thread_index: None,
            subject_key: None,
            linked_to: None,
            ticket_type: Some("incident".into()),
            next_response_due: None,
            resolved_at: None,
            time_spent_ms: 0,
            identity: None,
        }
    }

    #[test]
    fn a_problems_incidents_are_counted_by_organisation_oldest_open_first() {
        let rows = vec![
            t(5, "a@beta.example", "resolved", 1),
            t(7, "b@alpha.example", "open", 3),
            t(6, "c@beta.example", "new", 2),
            t(8, "", "open", 4),
        ];
        let s = incidents_summary(&rows);
        assert_eq!((s.count, s.open), (4, 3));
        assert_eq!(s.oldest.map(|t| t.id), Some(6), "the oldest open one");
        assert_eq!(s.organisations, vec!["beta.example", "alpha.example"]);
        let done = vec![
            t(5, "a@beta.example", "resolved", 1),
            t(4, "x@y.example", "closed", 9),
        ];
        assert_eq!(incidents_summary(&done).oldest.map(|t| t.id), Some(5));
    }
}
