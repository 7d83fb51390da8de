//! Digest runs, recorded once per scheduled time.

use super::*;

/// Statuses that count as open in figures.
pub const OPEN_STATUSES: [&str; 3] = ["new", "open", "pending"];

/// (key, count) rows of a GROUP BY.
pub type Counts = Vec<(String, i64)>;
/// (assignee, status, count).
pub type AgentStatusCount = (Option<String>, String, i64);
/// (assignee, count).
pub type AgentCount = (Option<String>, i64);
/// (created, answered or resolved, SLA policy) of one ticket.
pub type Span = (i64, Option<i64>, Option<String>);

type BoxedTickets<'a> = tickets::BoxedQuery<'a, <AnyConnection as diesel::Connection>::Backend>;

fn in_queues<'a>(q: BoxedTickets<'a>, queues: &'a [String]) -> BoxedTickets<'a> {
    if queues.is_empty() {
        q
    } else {
        q.filter(tickets::queue.eq_any(queues))
    }
}

/// Open tickets counted by status and by queue.
pub fn open_counts(c: &mut Conn, queues: &[String]) -> QueryResult<(Counts, Counts)> {
    let mut by_status = tickets::table
        .filter(tickets::status.eq_any(OPEN_STATUSES))
        .group_by(tickets::status)
        .select((tickets::status, diesel::dsl::count_star()))
        .into_boxed();
    let mut by_queue = tickets::table
        .filter(tickets::status.eq_any(OPEN_STATUSES))
        .group_by(tickets::queue)
        .order(tickets::queue.asc())
        .select((tickets::queue, diesel::dsl::count_star()))
        .into_boxed();
    if !queues.is_empty() {
        by_status = by_status.filter(tickets::queue.eq_any(queues));
        by_queue = by_queue.filter(tickets::queue.eq_any(queues));
    }
    let (by_status, by_queue) = (by_status.load(c)?, by_queue.load(c)?);
    Ok((by_status, by_queue))
}

/// Tickets opened, and tickets resolved, in `[from, to]`.
pub fn new_and_resolved(
    c: &mut Conn,
    queues: &[String],
    from: i64,
    to: i64,
) -> QueryResult<(i64, i64)> {
    let new = in_queues(tickets::table.into_boxed(), queues)
        .filter(tickets::created_at.between(from, to))
        .select(diesel::dsl::count_star())
        .first(c)?;
    let resolved = in_queues(tickets::table.into_boxed(), queues)
        .filter(tickets::resolved_at.between(from, to))
        .select(diesel::dsl::count_star())
        .first(c)?;
    Ok((new, resolved))
}

/// SLA attainment in `[from, to]` as (measured, met): first responses given in the period, and
/// tickets resolved in the period that had a resolution target.
pub fn sla_attainment(
    c: &mut Conn,
    queues: &[String],
    from: i64,
    to: i64,
) -> QueryResult<((i64, i64), (i64, i64))> {
    // One GROUP BY breached per target: (measured, met).
    let count = |c: &mut Conn, resolution: bool| -> QueryResult<(i64, i64)> {
        let mut q = sla_clocks::table
            .inner_join(tickets::table)
            .group_by(sla_clocks::breached)
            .select((sla_clocks::breached, diesel::dsl::count_star()))
            .into_boxed();
        q = if resolution {
            q.filter(sla_clocks::target.eq("resolution"))
                .filter(tickets::resolved_at.between(from, to))
        } else {
            q.filter(sla_clocks::target.eq("first_response"))
                .filter(sla_clocks::stopped_at.between(from, to))
        };
        if !queues.is_empty() {
            q = q.filter(tickets::queue.eq_any(queues));
        }
        let rows: Vec<(bool, i64)> = q.load(c)?;
        let measured = rows.iter().map(|(_, n)| n).sum();
        let met = rows.iter().filter(|(b, _)| !b).map(|(_, n)| n).sum();
        Ok((measured, met))
    };
    Ok((count(c, false)?, count(c, true)?))
}

/// Open tickets that breached a target (`breached`), or that are due by `until` and have not
/// (`!breached`), earliest due first, at most `limit`.
pub fn sla_list(
    c: &mut Conn,
    queues: &[String],
    breached: bool,
    now: i64,
    until: i64,
    limit: i64,
) -> QueryResult<Vec<Ticket>> {
    let mut q = in_queues(tickets::table.into_boxed(), queues)
        .filter(tickets::status.eq_any(OPEN_STATUSES))
        .filter(tickets::sla_breached.eq(breached));
    if !breached {
        q = q.filter(
            tickets::first_response_due
                .between(now, until)
                .or(tickets::next_response_due.between(now, until))
                .or(tickets::resolution_due.between(now, until)),
        );
    }
    q.order(tickets::id.asc())
        .limit(limit)
        .select(Ticket::as_select())
        .load(c)
}

/// The oldest open tickets.
pub fn oldest_open(c: &mut Conn, queues: &[String], limit: i64) -> QueryResult<Vec<Ticket>> {
    in_queues(tickets::table.into_boxed(), queues)
        .filter(tickets::status.eq_any(OPEN_STATUSES))
        .order(tickets::created_at.asc())
        .limit(limit)
        .select(Ticket::as_select())
        .load(c)
}

/// Per assignee: open tickets by status, and how many of them breached.
pub fn load_per_agent(
    c: &mut Conn,
    queues: &[String],
) -> QueryResult<(Vec<AgentStatusCount>, Vec<AgentCount>)> {
    let mut by_status = tickets::table
        .filter(tickets::status.eq_any(OPEN_STATUSES))
        .group_by((tickets::assignee, tickets::status))
        .select((
            tickets::assignee,
            tickets::status,
            diesel::dsl::count_star(),
        ))
        .into_boxed();
    let mut breached = tickets::table
        .filter(tickets::status.eq_any(OPEN_STATUSES))
        .filter(tickets::sla_breached.eq(true))
        .group_by(tickets::assignee)
        .select((tickets::assignee, diesel::dsl::count_star()))
        .into_boxed();
    if !queues.is_empty() {
        by_status = by_status.filter(tickets::queue.eq_any(queues));
        breached = breached.filter(tickets::queue.eq_any(queues));
    }
    let (by_status, breached) = (by_status.load(c)?, breached.load(c)?);
    Ok((by_status, breached))
}

/// (created, answered or resolved, policy) of the tickets first answered (`resolved` false) or
/// resolved (true) in `[from, to]`: the inputs of the response and resolution time figures.
pub fn durations_in(
    c: &mut Conn,
    queues: &[String],
    resolved: bool,
    from: i64,
    to: i64,
) -> QueryResult<Vec<Span>> {
    let q = in_queues(tickets::table.into_boxed(), queues);
    if resolved {
        q.filter(tickets::resolved_at.between(from, to))
            .select((
                tickets::created_at,
                tickets::resolved_at,
                tickets::sla_policy,
            ))
            .load(c)
    } else {
        q.filter(tickets::first_response_at.between(from, to))
            .select((
                tickets::created_at,
                tickets::first_response_at,
                tickets::sla_policy,
            ))
            .load(c)
    }
}

/// The newest recorded run of a digest.
pub fn last_digest_run(c: &mut Conn, name: &str) -> QueryResult<Option<i64>> {
    digest_runs::table
        .filter(digest_runs::name.eq(name))
        .select(diesel::dsl::max(digest_runs::scheduled_for))
        .first::<Option<i64>>(c)
}

/// Whether the run of `name` for `scheduled_for` was sent.
pub fn digest_run_exists(c: &mut Conn, name: &str, scheduled_for: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        digest_runs::table
            .filter(digest_runs::name.eq(name))
            .filter(digest_runs::scheduled_for.eq(scheduled_for)),
    ))
    .get_result(c)
}

/// Records a run; fails with a unique violation when another instance recorded it first.
pub fn insert_digest_run(
    c: &mut Conn,
    name: &str,
    scheduled_for: i64,
    sent_at: i64,
    outbox_id: Option<i64>,
) -> QueryResult<()> {
    diesel::insert_into(digest_runs::table)
        .values((
            digest_runs::name.eq(name),
            digest_runs::scheduled_for.eq(scheduled_for),
            digest_runs::sent_at.eq(sent_at),
            digest_runs::outbox_id.eq(outbox_id),
        ))
        .execute(c)
        .map(|_| ())
}

/// Outgoing mails waiting to be sent.
pub fn outbox_depth(c: &mut Conn) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::status.eq("pending"))
        .count()
        .get_result(c)
}

/// Open problems of `queues` with (linked incidents, of them open), oldest first.
pub fn open_problems(
    c: &mut Conn,
    queues: &[String],
    limit: i64,
) -> QueryResult<Vec<(Ticket, i64, i64)>> {
    use crate::store::schema::links;
    let problems: Vec<Ticket> = in_queues(tickets::table.into_boxed(), queues)
        .filter(tickets::status.eq_any(OPEN_STATUSES))
        .filter(tickets::ticket_type.eq("problem"))
        .order(tickets::created_at.asc())
        .limit(limit)
        .select(Ticket::as_select())
        .load(c)?;
    let ids: Vec<i64> = problems.iter().map(|t| t.id).collect();
    let rows: Vec<(i64, String)> = links::table
        .inner_join(tickets::table.on(tickets::id.eq(links::other_id)))
        .filter(in_list!(links::ticket_id, &ids))
        .filter(links::kind.eq("incident"))
        .select((links::ticket_id, tickets::status))
        .load(c)?;
    Ok(problems
        .into_iter()
        .map(|p| {
            let mine = rows.iter().filter(|(t, _)| *t == p.id);
            let total = mine.clone().count() as i64;
            let open = mine
                .filter(|(_, s)| OPEN_STATUSES.contains(&s.as_str()))
                .count() as i64;
            (p, total, open)
        })
        .collect())
}

/// How many links of `kind` tickets of `queues` made in `[from, to]` (an incident's
/// `problem`: incidents linked; `merged_into`: merges).
pub fn links_made(
    c: &mut Conn,
    queues: &[String],
    kind: &str,
    from: i64,
    to: i64,
) -> QueryResult<i64> {
    use crate::store::schema::links;
    let mut q = links::table
        .inner_join(tickets::table.on(tickets::id.eq(links::ticket_id)))
        .filter(links::kind.eq(kind))
        .filter(links::created_at.between(from, to))
        .into_boxed();
    if !queues.is_empty() {
        q = q.filter(tickets::queue.eq_any(queues));
    }
    q.select(diesel::dsl::count_star()).first(c)
}

/// Events of `kind` on tickets of `queues` (empty: all) between `from` and `to`.
pub fn events_in(
    c: &mut Conn,
    queues: &[String],
    kind: &str,
    from: i64,
    to: i64,
) -> QueryResult<i64> {
    let mut q = events::table
        .inner_join(tickets::table.on(tickets::id.eq(events::ticket_id)))
        .filter(events::kind.eq(kind))
        .filter(events::at.between(from, to))
        .into_boxed();
    if !queues.is_empty() {
        q = q.filter(tickets::queue.eq_any(queues));
    }
    q.select(diesel::dsl::count_star()).first(c)
}

/// The satisfaction surveys of `queues` (empty: all) sent between `from` and `to`: (sent,
/// answered, sum of the scores).
pub fn surveys_in(
    c: &mut Conn,
    queues: &[String],
    from: i64,
    to: i64,
) -> QueryResult<(i64, i64, i64)> {
    use crate::store::schema::csat_surveys as s;
    let mut q = s::table
        .filter(s::state.eq_any(["sent", "answered"]))
        .filter(s::asked_at.between(from, to))
        .into_boxed();
    if !queues.is_empty() {
        q = q.filter(s::queue.eq_any(queues));
    }
    let scores: Vec<Option<i32>> = q.select(s::score).load(c)?;
    let answered: Vec<i64> = scores.iter().flatten().map(|x| i64::from(*x)).collect();
    Ok((
        scores.len() as i64,
        answered.len() as i64,
        answered.iter().sum(),
    ))
}

/// The times tickets of `queues` were opened (`resolved`: resolved) in `[from, to)`, for the
/// digests' charts.
pub fn ticket_times(
    c: &mut Conn,
    queues: &[String],
    resolved: bool,
    from: i64,
    to: i64,
) -> QueryResult<Vec<i64>> {
    if resolved {
        let v: Vec<Option<i64>> = in_queues(tickets::table.into_boxed(), queues)
            .filter(tickets::resolved_at.ge(from))
            .filter(tickets::resolved_at.lt(to))
            .select(tickets::resolved_at)
            .load(c)?;
        Ok(v.into_iter().flatten().collect())
    } else {
        in_queues(tickets::table.into_boxed(), queues)
            .filter(tickets::created_at.ge(from))
            .filter(tickets::created_at.lt(to))
            .select(tickets::created_at)
            .load(c)
    }
}

/// When the open tickets of `queues` were opened (the backlog's ages).
pub fn open_since(c: &mut Conn, queues: &[String]) -> QueryResult<Vec<i64>> {
    in_queues(tickets::table.into_boxed(), queues)
        .filter(tickets::status.eq_any(OPEN_STATUSES))
        .select(tickets::created_at)
        .load(c)
}
