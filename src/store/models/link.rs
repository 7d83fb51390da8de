//! How tickets relate (`links`, one row per direction), merges, and problem broadcasts.

use std::collections::HashSet;

use super::*;
use crate::store::schema::{broadcasts, links};

/// A link as a decision reads it: what `other` is to the ticket, and how `other` stands.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct LinkRow {
    pub ticket_id: i64,
    pub kind: String,
    pub other_id: i64,
    pub other_status: String,
    pub other_requester: String,
}

/// Links `a` and `b` both ways: `b` is `kind_b` to `a`, `a` is `kind_a` to `b`. The caller
/// knows the link is new (a decision refuses a link that exists; a ticket just opened has none).
pub fn link_pair(
    c: &mut Conn,
    a: i64,
    kind_b: &str,
    b: i64,
    kind_a: &str,
    now: i64,
) -> QueryResult<()> {
    // One row per statement: the multi-connection backend has no multi-row insert on SQLite.
    for (t, kind, other) in [(a, kind_b, b), (b, kind_a, a)] {
        diesel::insert_into(links::table)
            .values((
                links::ticket_id.eq(t),
                links::kind.eq(kind),
                links::other_id.eq(other),
                links::created_at.eq(now),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Removes the links of `kinds` between `a` and `b`, both ways; how many rows went.
pub fn unlink_pair(c: &mut Conn, a: i64, b: i64, kinds: &[&str]) -> QueryResult<usize> {
    let one = diesel::delete(
        links::table
            .filter(links::ticket_id.eq(a))
            .filter(links::other_id.eq(b))
            .filter(links::kind.eq_any(kinds)),
    )
    .execute(c)?;
    let two = diesel::delete(
        links::table
            .filter(links::ticket_id.eq(b))
            .filter(links::other_id.eq(a))
            .filter(links::kind.eq_any(kinds)),
    )
    .execute(c)?;
    Ok(one + two)
}

/// The links of `tickets`, with the status and requester of each linked ticket, in one query.
pub fn links_of(c: &mut Conn, ids: &[i64]) -> QueryResult<Vec<LinkRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    links::table
        .inner_join(tickets::table.on(tickets::id.eq(links::other_id)))
        .filter(in_list!(links::ticket_id, ids))
        .order((links::ticket_id, links::other_id))
        .select((
            links::ticket_id,
            links::kind,
            links::other_id,
            tickets::status,
            tickets::requester,
        ))
        .load(c)
}

/// `(kind, other)` of one ticket's links, in link order (for `ticket --json`).
pub fn links_of_ticket(c: &mut Conn, ticket: i64) -> QueryResult<Vec<(String, i64)>> {
    links::table
        .filter(links::ticket_id.eq(ticket))
        .order((links::created_at, links::other_id))
        .select((links::kind, links::other_id))
        .load(c)
}

/// Where each of `ids` was merged, following merges of merges: (merged, where it lives now).
pub fn merge_targets(c: &mut Conn, ids: &[i64]) -> QueryResult<HashMap<i64, i64>> {
    let mut out = HashMap::new();
    let mut look: Vec<i64> = ids.to_vec();
    // A chain is as long as merges were made one after another; a cycle cannot form (a merge
    // into a closed ticket is refused), but the walk is bounded all the same.
    for _ in 0..16 {
        if look.is_empty() {
            break;
        }
        let rows: Vec<(i64, i64)> = links::table
            .filter(in_list!(links::ticket_id, &look))
            .filter(links::kind.eq("merged_into"))
            .select((links::ticket_id, links::other_id))
            .load(c)?;
        look.clear();
        for (from, into) in rows {
            // Everything that led to `from` now leads to `into`.
            for v in out.values_mut() {
                if *v == from {
                    *v = into;
                }
            }
            out.entry(from).or_insert(into);
            look.push(into);
        }
    }
    Ok(out)
}

/// Moves a merged ticket's messages, thread references and participants into `into` (a
/// participant of both stays as `into` has them; the merged requester joins as `cc`).
pub fn move_ticket_contents(c: &mut Conn, from: i64, into: i64) -> QueryResult<()> {
    retarget_docs(c, from, into)?;
    diesel::update(messages::table.filter(messages::ticket_id.eq(from)))
        .set(messages::ticket_id.eq(into))
        .execute(c)?;
    diesel::update(thread_refs::table.filter(thread_refs::ticket_id.eq(from)))
        .set(thread_refs::ticket_id.eq(into))
        .execute(c)?;
    for (address, name, _) in participants_of_ticket(c, from)? {
        add_participant(c, into, &address, name.as_deref(), "cc")?;
    }
    diesel::delete(participants::table.filter(participants::ticket_id.eq(from))).execute(c)?;
    Ok(())
}

/// Addresses among `addrs` that a mail of ours failed to reach since `since` (a bounce or a
/// permanent refusal at delivery).
pub fn failed_recipients(
    c: &mut Conn,
    addrs: &HashSet<String>,
    since: i64,
) -> QueryResult<HashSet<String>> {
    let rows: Vec<(String, Option<String>)> = outbox::table
        .filter(outbox::status.eq("failed"))
        .filter(outbox::created_at.ge(since))
        .select((outbox::rcpt, outbox::last_error))
        .load(c)?;
    let mut out = HashSet::new();
    for (rcpt, error) in rows {
        // A bounce names the one address that failed; a refusal at delivery fails them all.
        let named = error
            .as_deref()
            .and_then(|e| e.strip_prefix("bounced: "))
            .and_then(|e| e.split_whitespace().next());
        let failed: Vec<String> = match named {
            Some(a) => vec![a.to_string()],
            None => serde_json::from_str(&rcpt).unwrap_or_default(),
        };
        out.extend(failed.into_iter().filter(|a| addrs.contains(a.as_str())));
    }
    Ok(out)
}

/// A broadcast on a problem, as stored.
#[derive(Debug, Clone, Queryable)]
pub struct BroadcastRow {
    pub id: i64,
    pub ticket_id: i64,
    pub agent: String,
    pub text: String,
    pub state: String,
    pub resolve: bool,
    pub recipients: i64,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

#[allow(clippy::too_many_arguments)]
pub fn insert_broadcast(
    c: &mut Conn,
    ticket: i64,
    agent: &str,
    text: &str,
    state: &str,
    resolve: bool,
    recipients: i64,
    now: i64,
) -> QueryResult<i64> {
    diesel::insert_into(broadcasts::table)
        .values((
            broadcasts::ticket_id.eq(ticket),
            broadcasts::agent.eq(agent),
            broadcasts::text.eq(text),
            broadcasts::state.eq(state),
            broadcasts::resolve.eq(resolve),
            broadcasts::recipients.eq(recipients),
            broadcasts::created_at.eq(now),
            broadcasts::sent_at.eq(None::<i64>),
        ))
        .returning(broadcasts::id)
        .get_result(c)
}

/// The newest broadcast of a problem in `state`.
pub fn last_broadcast(c: &mut Conn, ticket: i64, state: &str) -> QueryResult<Option<BroadcastRow>> {
    broadcasts::table
        .filter(broadcasts::ticket_id.eq(ticket))
        .filter(broadcasts::state.eq(state))
        .order(broadcasts::id.desc())
        .first(c)
        .optional()
}

/// Which of `tickets` have a broadcast waiting for confirmation.
pub fn held_broadcasts(c: &mut Conn, tickets: &[i64]) -> QueryResult<HashSet<i64>> {
    let rows: Vec<i64> = broadcasts::table
        .filter(in_list!(broadcasts::ticket_id, tickets))
        .filter(broadcasts::state.eq("held"))
        .select(broadcasts::ticket_id)
        .load(c)?;
    Ok(rows.into_iter().collect())
}

pub fn mark_broadcast_sent(c: &mut Conn, id: i64, recipients: i64, at: i64) -> QueryResult<()> {
    diesel::update(broadcasts::table.find(id))
        .set((
            broadcasts::state.eq("sent"),
            broadcasts::recipients.eq(recipients),
            broadcasts::sent_at.eq(Some(at)),
        ))
        .execute(c)
        .map(|_| ())
}

/// `(kind, other)` of many tickets' links, by ticket, in one query.
pub fn links_of_tickets(
    c: &mut Conn,
    ids: &[i64],
) -> QueryResult<HashMap<i64, Vec<(String, i64)>>> {
    let mut out: HashMap<i64, Vec<(String, i64)>> = HashMap::new();
    for chunk in ids.chunks(5_000) {
        let rows: Vec<(i64, String, i64)> = links::table
            .filter(in_list!(links::ticket_id, chunk))
            .order((links::created_at, links::other_id))
            .select((links::ticket_id, links::kind, links::other_id))
            .load(c)?;
        for (t, k, o) in rows {
            out.entry(t).or_default().push((k, o));
        }
    }
    Ok(out)
}
