//! Read-only views: `tickets`, `ticket`, `inbound`, `outbox`, as text or the JSON contract.

use super::*;

pub(super) fn tags(t: &models::Ticket) -> Value {
    serde_json::from_str::<Value>(&t.tags).unwrap_or_else(|_| json!([]))
}

pub(super) fn ms_or_null(ms: Option<i64>) -> Value {
    ms.map(|m| Value::String(rfc3339(m))).unwrap_or(Value::Null)
}

/// What `ticket_json` shows beside the row: message ids, links, participants.
#[derive(Default)]
pub struct Related<'a> {
    pub message_ids: &'a [String],
    /// (kind, other ticket)
    pub links: &'a [(String, i64)],
    /// (address, name, role)
    pub participants: &'a [(String, Option<String>, String)],
    /// The newest satisfaction survey that went out.
    pub csat: Option<&'a models::SurveyRow>,
    /// `#set` fields, by name.
    pub fields: Option<&'a std::collections::BTreeMap<String, String>>,
    /// Its approval chain and every decision row of it.
    pub approval: Option<&'a (models::ApprovalRow, Vec<models::DecisionRow>)>,
}

/// An approval chain as the JSON contract (§6.2 `approval`) shows it.
fn approval_json(a: Option<&(models::ApprovalRow, Vec<models::DecisionRow>)>) -> Value {
    let Some((a, decisions)) = a else {
        return json!({"state": "none", "chain": null, "steps": []});
    };
    let mut steps: Vec<Value> = Vec::new();
    for d in decisions {
        let one = json!({"approver": d.approver, "decision": d.decision, "at": ms_or_null(d.at),
                         "comment": d.comment});
        match steps.iter_mut().find(|s| s["step"] == d.step) {
            Some(s) => s["decisions"].as_array_mut().expect("an array").push(one),
            None => steps.push(json!({"step": d.step, "quorum": d.quorum, "decisions": [one]})),
        }
    }
    json!({"state": a.state, "chain": a.chain, "steps": steps})
}

/// A survey as the JSON contract (§6.2 `csat`) shows it.
fn csat_json(s: Option<&models::SurveyRow>) -> Value {
    match s {
        None => Value::Null,
        Some(s) => json!({
            "score": s.score,
            "comment": s.comment,
            "asked_at": ms_or_null(s.asked_at),
            "answered_at": ms_or_null(s.answered_at),
        }),
    }
}

/// One ticket as the JSON contract (§4, §6.2) shapes it, without its messages.
pub fn ticket_json(cfg: &Config, t: &models::Ticket, r: &Related<'_>) -> Value {
    let message_ids = r.message_ids;
    json!({
        "id": t.id,
        "ref": ticket_ref(&cfg.identity_named(t.identity.as_deref()).subject_tag, t.id),
        "subject": t.subject,
        "status": t.status,
        "priority": t.priority,
        "queue": t.queue,
        "requester": t.requester,
        "assignee": t.assignee,
        "tags": tags(t),
        "created_at": rfc3339(t.created_at),
        "updated_at": rfc3339(t.updated_at),
        "sla": {
            "policy": t.sla_policy,
            "first_response_due": ms_or_null(t.first_response_due),
            "next_response_due": ms_or_null(t.next_response_due),
            "resolution_due": ms_or_null(t.resolution_due),
            "breached": t.sla_breached,
        },
        "first_response_at": ms_or_null(t.first_response_at),
        "linked_to": t.linked_to,
        "type": t.ticket_type,
        "identity": t.identity,
        "time_spent_ms": t.time_spent_ms,
        "message_ids": message_ids,
        "links": r.links.iter().map(|(k, o)| json!({"kind": k, "ticket": o})).collect::<Vec<_>>(),
        "participants": r.participants
            .iter()
            .map(|(a, n, role)| json!({"address": a, "name": n, "role": role}))
            .collect::<Vec<_>>(),
        "fields": r.fields.cloned().unwrap_or_default(),
        "approval": approval_json(r.approval),
        "csat": csat_json(r.csat),
    })
}

pub(super) fn tickets(
    cfg: &Config,
    status: Option<String>,
    queue: Option<String>,
    as_json: bool,
) -> Outcome {
    let mut c = open_store(cfg)?;
    let list = models::list_tickets(&mut c, status.as_deref(), queue.as_deref())
        .map_err(Failure::runtime)?;
    if as_json {
        let ids: Vec<i64> = list.iter().map(|t| t.id).collect();
        let mids = models::message_ids_of_tickets(&mut c, &ids).map_err(Failure::runtime)?;
        let links = models::links_of_tickets(&mut c, &ids).map_err(Failure::runtime)?;
        let people = models::participants_of_tickets(&mut c, &ids).map_err(Failure::runtime)?;
        let surveys = models::latest_surveys(&mut c, &ids).map_err(Failure::runtime)?;
        let fields = models::fields_of(&mut c, &ids).map_err(Failure::runtime)?;
        let mut approvals = std::collections::HashMap::new();
        for (t, a) in models::approvals_of(&mut c, &ids).map_err(Failure::runtime)? {
            let d = models::decisions_of(&mut c, a.id).map_err(Failure::runtime)?;
            approvals.insert(t, (a, d));
        }
        let arr: Vec<Value> = list
            .iter()
            .map(|t| {
                let r = Related {
                    message_ids: mids.get(&t.id).map(Vec::as_slice).unwrap_or(&[]),
                    links: links.get(&t.id).map(Vec::as_slice).unwrap_or(&[]),
                    participants: people.get(&t.id).map(Vec::as_slice).unwrap_or(&[]),
                    csat: surveys.get(&t.id),
                    fields: fields.get(&t.id),
                    approval: approvals.get(&t.id),
                };
                ticket_json(cfg, t, &r)
            })
            .collect();
        print_json(&Value::Array(arr));
    } else {
        for t in &list {
            say!(
                "#{:<6} {:<9} {:<7} {:<12} {:<32} {}",
                t.id,
                t.status,
                t.priority,
                t.queue,
                t.requester,
                t.subject
            );
        }
        eprintln!("{} ticket(s)", list.len());
    }
    Ok(())
}

pub(super) fn ticket(cfg: &Config, id: i64, as_json: bool) -> Outcome {
    let mut c = open_store(cfg)?;
    let t = models::get_ticket(&mut c, id)
        .map_err(Failure::runtime)?
        .ok_or_else(|| Failure::runtime(format!("no ticket #{id}")))?;
    let messages = models::messages_of_ticket(&mut c, id).map_err(Failure::runtime)?;
    let rows: Vec<i64> = messages.iter().map(|m| m.id).collect();
    let atts = models::attachments_of_messages(&mut c, &rows).map_err(Failure::runtime)?;
    let events = models::events_of_ticket(&mut c, id).map_err(Failure::runtime)?;
    let parts = models::participants_of_ticket(&mut c, id).map_err(Failure::runtime)?;
    let mids: Vec<String> = messages.iter().map(|m| m.message_id.clone()).collect();
    let links = models::links_of_ticket(&mut c, id).map_err(Failure::runtime)?;
    let survey = models::latest_survey(&mut c, id).map_err(Failure::runtime)?;
    let fields = models::fields_of(&mut c, &[id]).map_err(Failure::runtime)?;
    let approval = match models::approval_of(&mut c, id).map_err(Failure::runtime)? {
        Some(a) => {
            let d = models::decisions_of(&mut c, a.id).map_err(Failure::runtime)?;
            Some((a, d))
        }
        None => None,
    };
    let mut v = ticket_json(
        cfg,
        &t,
        &Related {
            message_ids: &mids,
            links: &links,
            participants: &parts,
            csat: survey.as_ref(),
            fields: fields.get(&id),
            approval: approval.as_ref(),
        },
    );
    let msgs: Vec<Value> = messages
        .iter()
        .map(|m| {
            let a: Vec<Value> = atts
                .iter()
                .filter(|a| a.0 == m.id)
                .map(|a| json!({"name": a.1, "content_type": a.2, "size": a.3}))
                .collect();
            json!({
                "message_id": m.message_id,
                "from": m.from_addr,
                "from_name": m.from_name,
                "to": serde_json::from_str::<Value>(&m.to_addrs).unwrap_or_else(|_| json!([])),
                "direction": m.direction,
                "kind": m.kind,
                "subject": m.subject,
                "date": rfc3339(m.date),
                "in_reply_to": m.in_reply_to,
                "text": m.text_body,
                "html": m.html_body,
                "attachments": a,
            })
        })
        .collect();
    v["messages"] = Value::Array(msgs);
    v["events"] = events
        .iter()
        .map(|e| json!({"at": rfc3339(e.at), "actor": e.actor, "kind": e.kind, "detail": e.detail}))
        .collect();
    if as_json {
        print_json(&v);
    } else {
        say!(
            "{} {}",
            ticket_ref(&cfg.identity_named(t.identity.as_deref()).subject_tag, t.id),
            t.subject
        );
        say!(
            "status {}, priority {}, queue {}, requester {}, assignee {}",
            t.status,
            t.priority,
            t.queue,
            t.requester,
            t.assignee.as_deref().unwrap_or("nobody")
        );
        if let Some(ty) = &t.ticket_type {
            say!("type {ty}");
        }
        for (kind, other) in &links {
            say!("{kind} #{other}");
        }
        for m in &messages {
            say!(
                "\n--- {} {} {} from {} ({})",
                rfc3339(m.date),
                m.direction,
                m.kind,
                m.from_addr,
                m.message_id
            );
            say!("{}", m.text_body.trim_end());
        }
        say!();
        for e in &events {
            say!("{} {} {}: {}", rfc3339(e.at), e.actor, e.kind, e.detail);
        }
    }
    Ok(())
}

pub(super) fn inbound(cfg: &Config, failed: bool, as_json: bool) -> Outcome {
    let mut c = open_store(cfg)?;
    let rows = models::list_inbound(&mut c, failed).map_err(Failure::runtime)?;
    if as_json {
        let arr: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "id": r.id, "mailbox": r.mailbox, "message_id": r.message_id, "from": r.from_addr,
                    "subject": r.subject, "ticket_id": r.ticket_id, "outcome": r.outcome, "matched_by": r.matched_by,
                    "sender_header": r.sender_header, "error": r.error, "reason": r.reason, "source": r.source_pos, "size": r.size,
                    "received_at": rfc3339(r.received_at),
                })
            })
            .collect();
        print_json(&Value::Array(arr));
    } else {
        for r in &rows {
            let ticket = r
                .ticket_id
                .map(|t| format!("#{t}"))
                .unwrap_or_else(|| "-".into());
            let note = r.error.as_deref().or(r.reason.as_deref()).unwrap_or("");
            say!(
                "{:<6} {:<10} {:<11} {:<7} {:<32} {} {}",
                r.id,
                r.mailbox,
                r.outcome,
                ticket,
                r.from_addr,
                r.subject,
                note
            );
        }
        eprintln!("{} mail(s)", rows.len());
    }
    Ok(())
}

pub(super) fn outbox_cmd(cfg: &Config, pending: bool, failed: bool, as_json: bool) -> Outcome {
    let mut c = open_store(cfg)?;
    let status = if pending {
        Some(OutboxStatus::Pending.as_str())
    } else if failed {
        Some(OutboxStatus::Failed.as_str())
    } else {
        None
    };
    let rows = models::list_outbox(&mut c, status).map_err(Failure::runtime)?;
    if as_json {
        let arr: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "id": r.id, "ticket_id": r.ticket_id, "kind": r.kind,
                    "to": serde_json::from_str::<Value>(&r.rcpt).unwrap_or_else(|_| json!([])),
                    "subject": r.subject, "message_id": r.message_id, "status": r.status,
                    "attempts": r.attempts, "last_error": r.last_error,
                    "created_at": rfc3339(r.created_at), "sent_at": ms_or_null(r.sent_at),
                    "next_attempt_at": if r.status == "pending" { Value::String(rfc3339(r.next_attempt_at)) } else { Value::Null },
                })
            })
            .collect();
        print_json(&Value::Array(arr));
    } else {
        for r in &rows {
            say!(
                "{:<6} {:<8} {:<5} {:<8} {} {}",
                r.id,
                r.status,
                r.kind,
                r.ticket_id.map(|t| format!("#{t}")).unwrap_or_default(),
                r.rcpt,
                r.last_error.as_deref().unwrap_or("")
            );
        }
        eprintln!("{} mail(s)", rows.len());
    }
    Ok(())
}
