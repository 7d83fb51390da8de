//! Mails that answer what the desk asked or set a ticket's fields: an approver's decision, a
//! customer's "solved" or survey score, and the `Name: value` lines of a change or a service
//! request.

use super::*;

/// The fields a service request's mail gives (its `Name: value` lines at the top), then its
/// next stage.
pub(super) fn catalog_fields(item: &crate::config::CatalogItem, text: &str) -> Vec<Action> {
    let (known, mut unknown) =
        crate::ticket::catalog::split_fields(item, crate::ticket::fields::leading_lines(text));
    let mut out = Vec::new();
    for (name, value) in known {
        match crate::ticket::fields::parse_line(&name, &value) {
            Ok((n, Some(v))) => out.push(Action::SetField {
                name: n,
                value: Some(v),
            }),
            _ => unknown.push(name.clone()),
        }
    }
    out.push(Action::CatalogNext { unknown });
    out
}

/// A change opened by mail: its `Name: value` lines at the top become fields (one that is not
/// taken is an event saying why), and a risk that needs approval starts the chain.
pub(super) fn change_fields(cfg: &Config, sender: &str, text: &str) -> Vec<Action> {
    let mut out = Vec::new();
    let mut refused = Vec::new();
    let mut risk = None;
    for (name, value) in crate::ticket::fields::leading_lines(text) {
        let taken = crate::ticket::fields::parse_line(&name, &value).and_then(|(n, v)| {
            if let Some(w) = &v {
                crate::ticket::fields::allowed(&cfg.changes, &n, w)?;
            }
            Ok((n, v))
        });
        match taken {
            Ok((n, Some(v))) => {
                if n == "risk" {
                    risk = Some(v.clone());
                }
                out.push(Action::SetField {
                    name: n,
                    value: Some(v),
                });
            }
            Ok((_, None)) => {}
            Err(why) => {
                refused.push(format!("{}: {why}", crate::ticket::catalog::label(&name)));
                out.push(Action::Event {
                    on: None,
                    actor: sender.to_string(),
                    kind: "field_refused",
                    detail: Detail::Text(format!("{name}: {why}")),
                });
            }
        }
    }
    if !refused.is_empty() {
        let mut lines = vec!["These lines of your change were not taken:".to_string()];
        lines.extend(refused);
        lines.push("Please answer this mail with the corrected lines at the top.".into());
        out.push(Action::TellRequester {
            title: "Your change needs a correction".into(),
            lines,
        });
    }
    if let Some(chain) = risk.as_deref().and_then(|r| cfg.changes.chain_for(r)) {
        out.push(Action::StartApproval {
            chain: chain.to_string(),
        });
    }
    out
}

/// An approver's mail to their signed reply address: a decision while their step is open,
/// else they are told where the chain stands; anything that is not an answer gets a reply
/// saying how to answer.
pub(super) fn approver_mail<'a>(
    f: &Facts<'a>,
    ap: &crate::ticket::approval::ApproverMail,
) -> Decision<'a> {
    let mut d = Decision::recorded(Outcome::Approval, f.mail.hops);
    d.ticket = Some(ap.ticket);
    d.matched_by = Some(MatchedBy::PlusAddress);
    // (kept as internal: the customer's mail is never threaded to an approver's)
    d.actions.push(Action::AddMessage {
        kind: MessageKind::Note,
        text: f.mail.text.clone(),
    });
    let answer = crate::ticket::approval::parse_answer(&quote::strip_reply(&f.mail.text));
    let (action, reason) = match answer {
        Some(Ok((approve, comment))) if ap.open() => (
            Action::RecordApproval {
                decision: ap.decision,
                approve,
                comment,
            },
            format!("{} by {}", if approve { "approved" } else { "rejected" }, ap.approver),
        ),
        Some(Ok(_)) => (
            Action::ApproverNotice {
                decision: ap.decision,
                why: "This step was decided already: your answer changes nothing.".into(),
            },
            format!("a decision by {} on a step or chain already decided: nothing changed", ap.approver),
        ),
        Some(Err(why)) => (
            Action::ApproverNotice {
                decision: ap.decision,
                why,
            },
            "an approver's answer without a reason: nothing decided".into(),
        ),
        None => (
            Action::ApproverNotice {
                decision: ap.decision,
                why: "Your answer was not understood: write #approve (and a comment if you like) or #reject and the reason on the first line.".into(),
            },
            "an approver's mail that is no answer: nothing decided".into(),
        ),
    };
    d.reason = Some(reason);
    d.actions.push(Action::Event {
        on: None,
        actor: ap.approver.clone(),
        kind: "approval_mail",
        detail: Detail::Inbound,
    });
    d.actions.push(action);
    d
}

/// The requester's "solved" after articles were offered: the ticket is resolved by them, a
/// `self_solved` event (deflection in digests); the agents are not asked to do anything.
pub(super) fn self_solved<'a>(
    f: &Facts<'a>,
    t: i64,
    sender: &str,
    matched_by: Option<MatchedBy>,
) -> Option<Decision<'a>> {
    let ticket = f.tickets.get(&t)?;
    if !ticket.suggested
        || ticket.is_done()
        || !ticket.requester.eq_ignore_ascii_case(sender)
        || !crate::ticket::solved::says_solved(&quote::strip_reply(&f.mail.text))
    {
        return None;
    }
    let mut d = Decision::recorded(Outcome::Reply, f.mail.hops);
    d.ticket = Some(t);
    d.matched_by = matched_by;
    d.reason = Some("the customer says an article offered solved it".into());
    d.actions.extend([
        Action::AddMessage {
            kind: MessageKind::Customer,
            text: f.mail.text.clone(),
        },
        Action::Event {
            on: None,
            actor: sender.to_string(),
            kind: "self_solved",
            detail: Detail::Text("solved by an article offered in the acknowledgement".into()),
        },
        Action::Set(Change::Status(Status::Resolved)),
        Action::Set(Change::ResolvedAt(f.now)),
        Action::Set(Change::UpdatedAt(f.now)),
        Action::SyncSla(SlaSync::Event(SlaEvent::Changed)),
    ]);
    Some(d)
}

/// A mail that answers ticket `t`'s survey: from the address asked, a digit 1-5 on the first
/// line of what it says (the rest the comment). Anything else is a normal reply.
pub(super) fn survey_answer<'a>(
    f: &Facts<'a>,
    t: i64,
    sender: &str,
    matched_by: Option<MatchedBy>,
) -> Option<Decision<'a>> {
    let survey = f.tickets.get(&t)?.survey.as_ref()?;
    if !survey.address.eq_ignore_ascii_case(sender) {
        return None;
    }
    let (score, comment) = crate::ticket::csat::parse_answer(&quote::strip_reply(&f.mail.text))?;
    let mut d = Decision::recorded(Outcome::Csat, f.mail.hops);
    d.ticket = Some(t);
    d.matched_by = matched_by;
    d.actions.push(Action::AddMessage {
        kind: MessageKind::Customer,
        text: f.mail.text.clone(),
    });
    if survey.answered {
        d.reason = Some("the satisfaction survey was answered already: the score stays".into());
    } else {
        d.reason = Some(format!("satisfaction score {score}"));
        d.actions.push(Action::RecordCsat {
            survey: survey.id,
            score,
            comment,
        });
    }
    Some(d)
}
