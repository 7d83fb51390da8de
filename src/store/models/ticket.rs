//! Tickets: rows, changes, and the look-ups threading and assignment make.

use super::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tickets)]
pub struct Ticket {
    pub id: i64,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub queue: String,
    pub requester: String,
    pub assignee: Option<String>,
    /// JSON array of strings.
    pub tags: String,
    pub sla_policy: Option<String>,
    pub first_response_due: Option<i64>,
    pub resolution_due: Option<i64>,
    pub sla_breached: bool,
    pub first_response_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Conversation part of an Outlook Thread-Index (base64).
    pub thread_index: Option<String>,
    /// The subject without reply prefixes and list tags, lower case.
    pub subject_key: Option<String>,
    /// The closed ticket this one follows up.
    pub linked_to: Option<i64>,
    /// incident, request, problem or change (set by rules).
    pub ticket_type: Option<String>,
    pub next_response_due: Option<i64>,
    /// When it was last resolved or closed.
    pub resolved_at: Option<i64>,
    /// Time agents spent on it (`#time`), in milliseconds.
    pub time_spent_ms: i64,
    /// The `[[identities]]` entry it is answered as (`None`: the default identity).
    pub identity: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = tickets)]
pub struct NewTicket<'a> {
    pub subject: &'a str,
    pub status: &'a str,
    pub priority: &'a str,
    pub queue: &'a str,
    pub requester: &'a str,
    pub assignee: Option<&'a str>,
    pub tags: &'a str,
    pub sla_policy: Option<&'a str>,
    pub created_at: i64,
    pub updated_at: i64,
    pub thread_index: Option<&'a str>,
    pub subject_key: Option<&'a str>,
    pub linked_to: Option<i64>,
    pub ticket_type: Option<&'a str>,
    pub identity: Option<&'a str>,
}

/// Inserts a ticket and returns its id (its number in `[Tag #id]`).
pub fn insert_ticket(c: &mut Conn, t: &NewTicket<'_>) -> QueryResult<i64> {
    diesel::insert_into(tickets::table)
        .values(t)
        .returning(tickets::id)
        .get_result(c)
}

pub fn get_ticket(c: &mut Conn, id: i64) -> QueryResult<Option<Ticket>> {
    tickets::table
        .find(id)
        .select(Ticket::as_select())
        .first(c)
        .optional()
}

pub fn ticket_exists(c: &mut Conn, id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(tickets::table.find(id))).get_result(c)
}

/// Records activity on a ticket; `status` changes it too when given.
pub fn touch_ticket(c: &mut Conn, id: i64, at: i64, status: Option<&str>) -> QueryResult<()> {
    let target = tickets::table.find(id);
    match status {
        Some(s) => diesel::update(target)
            .set((tickets::updated_at.eq(at), tickets::status.eq(s)))
            .execute(c)?,
        None => diesel::update(target)
            .set(tickets::updated_at.eq(at))
            .execute(c)?,
    };
    Ok(())
}

/// Changes to a ticket; `None` leaves a field as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = tickets)]
pub struct TicketChanges {
    pub status: Option<String>,
    pub priority: Option<String>,
    pub queue: Option<String>,
    pub assignee: Option<Option<String>>,
    pub tags: Option<String>,
    pub first_response_at: Option<i64>,
    pub thread_index: Option<String>,
    pub updated_at: Option<i64>,
    pub sla_policy: Option<Option<String>>,
    pub first_response_due: Option<Option<i64>>,
    pub next_response_due: Option<Option<i64>>,
    pub resolution_due: Option<Option<i64>>,
    pub sla_breached: Option<bool>,
    pub resolved_at: Option<Option<i64>>,
    pub ticket_type: Option<Option<String>>,
}

/// Adds `ms` to the time spent on a ticket (in the statement, so two agents' additions at
/// once both count).
pub fn add_time_spent(c: &mut Conn, id: i64, ms: i64) -> QueryResult<()> {
    diesel::update(tickets::table.find(id))
        .set(tickets::time_spent_ms.eq(tickets::time_spent_ms + ms))
        .execute(c)
        .map(|_| ())
}

pub fn update_ticket(c: &mut Conn, id: i64, changes: &TicketChanges) -> QueryResult<()> {
    diesel::update(tickets::table.find(id))
        .set(changes)
        .execute(c)
        .map(|_| ())
}

/// The newest ticket whose Outlook conversation is `root`.
pub fn ticket_by_thread_index(c: &mut Conn, root: &str) -> QueryResult<Option<i64>> {
    tickets::table
        .filter(tickets::thread_index.eq(root))
        .order(tickets::id.desc())
        .select(tickets::id)
        .first(c)
        .optional()
}

/// The newest (up to 5) tickets not closed, active since `since`, whose subject key is `key`.
pub fn tickets_by_subject_key(c: &mut Conn, key: &str, since: i64) -> QueryResult<Vec<i64>> {
    tickets::table
        .filter(tickets::subject_key.eq(key))
        .filter(tickets::updated_at.ge(since))
        .filter(tickets::status.ne("closed"))
        .order(tickets::updated_at.desc())
        .select(tickets::id)
        .limit(5)
        .load(c)
}

/// Records Message-IDs a ticket's mail referenced that are not in the store.
pub fn insert_thread_refs(c: &mut Conn, ticket: i64, ids: &[&str]) -> QueryResult<()> {
    for id in ids {
        diesel::insert_into(thread_refs::table)
            .values((
                thread_refs::ref_id.eq(*id),
                thread_refs::ticket_id.eq(ticket),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Tickets, newest first, optionally filtered by status and queue.
pub fn list_tickets(
    c: &mut Conn,
    status: Option<&str>,
    queue: Option<&str>,
) -> QueryResult<Vec<Ticket>> {
    let mut q = tickets::table
        .select(Ticket::as_select())
        .order(tickets::id.desc())
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(tickets::status.eq(s.to_string()));
    }
    if let Some(qu) = queue {
        q = q.filter(tickets::queue.eq(qu.to_string()));
    }
    q.load(c)
}

/// Tickets by id, for a batch of due clocks.
pub fn tickets_by_ids(c: &mut Conn, ids: &[i64]) -> QueryResult<Vec<Ticket>> {
    tickets::table
        .filter(in_list!(tickets::id, ids))
        .select(Ticket::as_select())
        .load(c)
}

/// The agent most recently given a ticket of `queue` (for round robin).
pub fn last_assignee_in_queue(c: &mut Conn, queue: &str) -> QueryResult<Option<String>> {
    tickets::table
        .filter(tickets::queue.eq(queue))
        .filter(tickets::assignee.is_not_null())
        .order(tickets::id.desc())
        .select(tickets::assignee)
        .first::<Option<String>>(c)
        .optional()
        .map(Option::flatten)
}

/// New or open tickets per assignee among `agents` (for least_open).
pub fn open_per_assignee(c: &mut Conn, agents: &[String]) -> QueryResult<Vec<(String, i64)>> {
    let rows: Vec<(Option<String>, i64)> = tickets::table
        .filter(tickets::assignee.eq_any(agents))
        .filter(tickets::status.eq_any(["new", "open"]))
        .group_by(tickets::assignee)
        .select((tickets::assignee, diesel::dsl::count_star()))
        .load(c)?;
    Ok(rows
        .into_iter()
        .filter_map(|(a, n)| Some((a?, n)))
        .collect())
}
