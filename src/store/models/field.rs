//! Fields of tickets (`ticket_fields`), set by `#set NAME VALUE`.

use super::*;
use crate::store::schema::ticket_fields;

/// Sets (`Some`) or removes (`None`) field `name` of `ticket`.
pub fn set_field(
    c: &mut Conn,
    ticket: i64,
    name: &str,
    value: Option<&str>,
    by: &str,
    now: i64,
) -> QueryResult<()> {
    diesel::delete(
        ticket_fields::table
            .filter(ticket_fields::ticket_id.eq(ticket))
            .filter(ticket_fields::name.eq(name)),
    )
    .execute(c)?;
    if let Some(v) = value {
        diesel::insert_into(ticket_fields::table)
            .values((
                ticket_fields::ticket_id.eq(ticket),
                ticket_fields::name.eq(name),
                ticket_fields::value.eq(v),
                ticket_fields::set_by.eq(by),
                ticket_fields::set_at.eq(now),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// The fields of each of `tickets`, by name.
pub fn fields_of(
    c: &mut Conn,
    tickets: &[i64],
) -> QueryResult<HashMap<i64, std::collections::BTreeMap<String, String>>> {
    let mut out: HashMap<i64, std::collections::BTreeMap<String, String>> = HashMap::new();
    for chunk in tickets.chunks(500) {
        let rows: Vec<(i64, String, String)> = ticket_fields::table
            .filter(in_list!(ticket_fields::ticket_id, chunk))
            .select((
                ticket_fields::ticket_id,
                ticket_fields::name,
                ticket_fields::value,
            ))
            .load(c)?;
        for (t, n, v) in rows {
            out.entry(t).or_default().insert(n, v);
        }
    }
    Ok(out)
}

/// The changes with an approved chain and a window that are not done: (ticket, window).
pub fn approved_change_windows(c: &mut Conn) -> QueryResult<Vec<(i64, String)>> {
    use crate::store::schema::approvals;
    ticket_fields::table
        .inner_join(tickets::table.on(tickets::id.eq(ticket_fields::ticket_id)))
        .inner_join(approvals::table.on(approvals::ticket_id.eq(ticket_fields::ticket_id)))
        .filter(ticket_fields::name.eq("window"))
        .filter(approvals::state.eq("approved"))
        .filter(tickets::status.ne_all(["resolved", "closed"]))
        .select((ticket_fields::ticket_id, ticket_fields::value))
        .load(c)
}

/// Claims the notice `kind` about `window` of `ticket`: `false` when it was sent before (by
/// this or another instance).
pub fn claim_change_notice(
    c: &mut Conn,
    ticket: i64,
    kind: &str,
    window: &str,
    now: i64,
) -> QueryResult<bool> {
    use crate::store::schema::change_notices as n;
    let exists: bool = diesel::select(diesel::dsl::exists(
        n::table
            .filter(n::ticket_id.eq(ticket))
            .filter(n::kind.eq(kind))
            .filter(n::window_text.eq(window)),
    ))
    .get_result(c)?;
    if exists {
        return Ok(false);
    }
    diesel::insert_into(n::table)
        .values((
            n::ticket_id.eq(ticket),
            n::kind.eq(kind),
            n::window_text.eq(window),
            n::sent_at.eq(now),
        ))
        .execute(c)?;
    Ok(true)
}

/// Changes of `queues` (empty: all), not done: (ticket, window) of those with a window, and
/// (ticket, chain, step) of those waiting for approval.
pub type ChangeLists = (Vec<(Ticket, String)>, Vec<(Ticket, String, i32)>);

pub fn change_lists(c: &mut Conn, queues: &[String]) -> QueryResult<ChangeLists> {
    use crate::store::schema::approvals;
    let mut q = ticket_fields::table
        .inner_join(tickets::table.on(tickets::id.eq(ticket_fields::ticket_id)))
        .filter(ticket_fields::name.eq("window"))
        .filter(tickets::ticket_type.eq("change"))
        .filter(tickets::status.ne_all(["resolved", "closed"]))
        .into_boxed();
    if !queues.is_empty() {
        q = q.filter(tickets::queue.eq_any(queues));
    }
    let windows: Vec<(Ticket, String)> = q
        .select((Ticket::as_select(), ticket_fields::value))
        .load(c)?;
    let mut q = approvals::table
        .inner_join(tickets::table.on(tickets::id.eq(approvals::ticket_id)))
        .filter(approvals::state.eq("pending"))
        .into_boxed();
    if !queues.is_empty() {
        q = q.filter(tickets::queue.eq_any(queues));
    }
    let waiting = q
        .select((Ticket::as_select(), approvals::chain, approvals::step))
        .load(c)?;
    Ok((windows, waiting))
}
