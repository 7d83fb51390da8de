//! Who takes part in a ticket (requester, copies).

use super::*;

/// Adds a participant unless the address already takes part.
pub fn add_participant(
    c: &mut Conn,
    ticket: i64,
    address: &str,
    name: Option<&str>,
    role: &str,
) -> QueryResult<()> {
    let exists: bool = diesel::select(diesel::dsl::exists(
        participants::table
            .filter(participants::ticket_id.eq(ticket))
            .filter(participants::address.eq(address)),
    ))
    .get_result(c)?;
    if !exists {
        diesel::insert_into(participants::table)
            .values((
                participants::ticket_id.eq(ticket),
                participants::address.eq(address),
                participants::name.eq(name),
                participants::role.eq(role),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Inserts participants known to be new (those of a ticket being opened).
pub fn insert_participants(
    c: &mut Conn,
    ticket: i64,
    rows: &[(&str, Option<&str>, &str)],
) -> QueryResult<()> {
    for (address, name, role) in rows {
        diesel::insert_into(participants::table)
            .values((
                participants::ticket_id.eq(ticket),
                participants::address.eq(*address),
                participants::name.eq(*name),
                participants::role.eq(*role),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Whether the address takes part in the ticket.
pub fn is_participant(c: &mut Conn, ticket: i64, address: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        participants::table.find((ticket, address.to_string())),
    ))
    .get_result(c)
}

/// Which of `tickets` the address takes part in, in one query.
pub fn tickets_with_participant(
    c: &mut Conn,
    tickets: &[i64],
    address: &str,
) -> QueryResult<Vec<i64>> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    participants::table
        .filter(in_list!(participants::ticket_id, tickets))
        .filter(participants::address.eq(address))
        .select(participants::ticket_id)
        .load(c)
}

/// Removes a participant; whether there was one.
pub fn remove_participant(c: &mut Conn, ticket: i64, address: &str) -> QueryResult<bool> {
    diesel::delete(participants::table.find((ticket, address.to_string())))
        .execute(c)
        .map(|n| n > 0)
}

/// `(address, name, role)` of a ticket's participants.
pub fn participants_of_ticket(
    c: &mut Conn,
    ticket: i64,
) -> QueryResult<Vec<(String, Option<String>, String)>> {
    participants::table
        .filter(participants::ticket_id.eq(ticket))
        .select((
            participants::address,
            participants::name,
            participants::role,
        ))
        .load(c)
}

/// The requester's name on each of `tickets` that has one, in one query per 5,000 tickets.
pub fn requester_names(c: &mut Conn, tickets: &[i64]) -> QueryResult<HashMap<i64, String>> {
    let mut out = HashMap::new();
    for chunk in tickets.chunks(5_000) {
        let rows: Vec<(i64, Option<String>)> = participants::table
            .filter(in_list!(participants::ticket_id, chunk))
            .filter(participants::role.eq("requester"))
            .select((participants::ticket_id, participants::name))
            .load(c)?;
        out.extend(rows.into_iter().filter_map(|(t, n)| Some((t, n?))));
    }
    Ok(out)
}

/// `(address, name, role)`.
pub type Participant = (String, Option<String>, String);

/// [`participants_of_ticket`] of many tickets, by ticket, in one query per 5,000.
pub fn participants_of_tickets(
    c: &mut Conn,
    tickets: &[i64],
) -> QueryResult<HashMap<i64, Vec<Participant>>> {
    let mut out: HashMap<i64, Vec<Participant>> = HashMap::new();
    for chunk in tickets.chunks(5_000) {
        let rows: Vec<(i64, String, Option<String>, String)> = participants::table
            .filter(in_list!(participants::ticket_id, chunk))
            .select((
                participants::ticket_id,
                participants::address,
                participants::name,
                participants::role,
            ))
            .load(c)?;
        for (t, a, n, r) in rows {
            out.entry(t).or_default().push((a, n, r));
        }
    }
    Ok(out)
}
