//! A ticket's messages, their attachments, and the Message-IDs threading meets.

use super::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: i64,
    pub ticket_id: i64,
    pub inbound_id: Option<i64>,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub refs: String,
    pub direction: String,
    pub kind: String,
    pub from_addr: String,
    pub from_name: Option<String>,
    pub to_addrs: String,
    pub cc_addrs: String,
    pub subject: String,
    pub date: i64,
    pub text_body: String,
    pub html_body: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = messages)]
pub struct NewMessage<'a> {
    pub ticket_id: i64,
    pub inbound_id: Option<i64>,
    pub message_id: &'a str,
    pub in_reply_to: Option<&'a str>,
    /// Space-separated Message-IDs.
    pub refs: &'a str,
    pub direction: &'a str,
    pub kind: &'a str,
    pub from_addr: &'a str,
    pub from_name: Option<&'a str>,
    /// JSON arrays of addresses.
    pub to_addrs: &'a str,
    pub cc_addrs: &'a str,
    pub subject: &'a str,
    pub date: i64,
    pub text_body: &'a str,
    pub html_body: Option<&'a str>,
    pub created_at: i64,
}

pub fn insert_message(c: &mut Conn, m: &NewMessage<'_>) -> QueryResult<i64> {
    // (a statement of fixed text, prepared once: diesel builds the text of an insert of a
    // struct anew at every use to look up its prepared statement)
    use diesel::sql_types::{BigInt, Nullable, Text};
    macro_rules! columns {
        () => {
            "INSERT INTO messages (ticket_id, inbound_id, message_id, in_reply_to, \
         refs, direction, kind, from_addr, from_name, to_addrs, cc_addrs, subject, date, \
         text_body, html_body, created_at) VALUES "
        };
    }
    let sql = match c {
        AnyConnection::Sqlite(_) => concat!(
            columns!(),
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
        ),
        AnyConnection::Postgresql(_) => concat!(
            columns!(),
            "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id"
        ),
    };
    diesel::sql_query(sql)
        .bind::<BigInt, _>(m.ticket_id)
        .bind::<Nullable<BigInt>, _>(m.inbound_id)
        .bind::<Text, _>(m.message_id)
        .bind::<Nullable<Text>, _>(m.in_reply_to)
        .bind::<Text, _>(m.refs)
        .bind::<Text, _>(m.direction)
        .bind::<Text, _>(m.kind)
        .bind::<Text, _>(m.from_addr)
        .bind::<Nullable<Text>, _>(m.from_name)
        .bind::<Text, _>(m.to_addrs)
        .bind::<Text, _>(m.cc_addrs)
        .bind::<Text, _>(m.subject)
        .bind::<BigInt, _>(m.date)
        .bind::<Text, _>(m.text_body)
        .bind::<Nullable<Text>, _>(m.html_body)
        .bind::<BigInt, _>(m.created_at)
        .get_result::<Id>(c)
        .map(|r| r.id)
}

/// The id a `RETURNING id` gives back.
#[derive(QueryableByName)]
pub(crate) struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
}

/// Maps each of `ids` that a stored message carries to its ticket (the oldest such message).
pub fn tickets_of_message_ids(c: &mut Conn, ids: &[&str]) -> QueryResult<HashMap<String, i64>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, i64)> = messages::table
        .filter(in_list!(messages::message_id, ids))
        .order(messages::id.desc())
        .select((messages::message_id, messages::ticket_id))
        .load(c)?;
    // Descending order: the oldest message's ticket is inserted last and wins.
    Ok(rows.into_iter().collect())
}

/// Ids we never received but a ticket's mail referenced, and the ticket that referenced each
/// (the oldest, as for messages).
pub fn tickets_of_thread_refs(c: &mut Conn, ids: &[&str]) -> QueryResult<HashMap<String, i64>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, i64)> = thread_refs::table
        .filter(in_list!(thread_refs::ref_id, ids))
        .order(thread_refs::id.desc())
        .select((thread_refs::ref_id, thread_refs::ticket_id))
        .load(c)?;
    Ok(rows.into_iter().collect())
}

/// The newest mail the customer side (not agents, not us) wrote on a ticket: its Message-ID
/// and References, to thread an answer to it.
pub fn last_customer_message(c: &mut Conn, ticket: i64) -> QueryResult<Option<(String, String)>> {
    messages::table
        .filter(messages::ticket_id.eq(ticket))
        .filter(messages::direction.eq("in"))
        .filter(messages::kind.eq("customer"))
        .order(messages::id.desc())
        .select((messages::message_id, messages::refs))
        .first(c)
        .optional()
}

pub fn messages_of_ticket(c: &mut Conn, ticket: i64) -> QueryResult<Vec<MessageRow>> {
    messages::table
        .filter(messages::ticket_id.eq(ticket))
        .order(messages::id.asc())
        .select(MessageRow::as_select())
        .load(c)
}

/// Every Message-ID of each of `tickets`, in order of arrival.
pub fn message_ids_of_tickets(
    c: &mut Conn,
    tickets: &[i64],
) -> QueryResult<HashMap<i64, Vec<String>>> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    for chunk in tickets.chunks(500) {
        let rows: Vec<(i64, String)> = messages::table
            .filter(in_list!(messages::ticket_id, chunk))
            .order(messages::id.asc())
            .select((messages::ticket_id, messages::message_id))
            .load(c)?;
        for (t, m) in rows {
            out.entry(t).or_default().push(m);
        }
    }
    Ok(out)
}

// ---- attachments ---------------------------------------------------------------------------

#[derive(Debug, Insertable)]
#[diesel(table_name = attachments)]
pub struct NewAttachment<'a> {
    pub message_row_id: i64,
    pub name: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub content: Option<&'a [u8]>,
}

pub fn insert_attachments(c: &mut Conn, rows: &[NewAttachment<'_>]) -> QueryResult<()> {
    for row in rows {
        diesel::insert_into(attachments::table)
            .values(row)
            .execute(c)?;
    }
    Ok(())
}

/// `(message row id, name, content type, size)` of the attachments of these messages.
pub fn attachments_of_messages(
    c: &mut Conn,
    rows: &[i64],
) -> QueryResult<Vec<(i64, String, String, i64)>> {
    attachments::table
        .filter(in_list!(attachments::message_row_id, rows))
        .order(attachments::id.asc())
        .select((
            attachments::message_row_id,
            attachments::name,
            attachments::content_type,
            attachments::size,
        ))
        .load(c)
}

/// Inserts many messages (multi-row statements on PostgreSQL).
pub fn insert_messages(c: &mut Conn, rows: &[NewMessage<'_>]) -> QueryResult<()> {
    match c {
        AnyConnection::Postgresql(p) => {
            for chunk in rows.chunks(200) {
                diesel::insert_into(messages::table)
                    .values(chunk)
                    .execute(p)?;
            }
        }
        AnyConnection::Sqlite(_) => {
            for r in rows {
                insert_message(c, r)?;
            }
        }
    }
    Ok(())
}

/// [`last_customer_message`] of many tickets in one query: ticket → (Message-ID, References).
pub fn last_customer_messages(
    c: &mut Conn,
    tickets: &[i64],
) -> QueryResult<HashMap<i64, (String, String)>> {
    let mut out = HashMap::with_capacity(tickets.len());
    for chunk in tickets.chunks(5_000) {
        let rows: Vec<(i64, String, String)> = messages::table
            .filter(in_list!(messages::ticket_id, chunk))
            .filter(messages::direction.eq("in"))
            .filter(messages::kind.eq("customer"))
            .order(messages::id.asc())
            .select((messages::ticket_id, messages::message_id, messages::refs))
            .load(c)?;
        // In id order: the last row of a ticket is its newest mail.
        out.extend(rows.into_iter().map(|(t, m, r)| (t, (m, r))));
    }
    Ok(out)
}
