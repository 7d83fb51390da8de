//! Rows and queries, one section per table. Queries take a connection and return
//! `QueryResult`; the pipeline composes them inside its transactions.

use std::collections::HashMap;

use diesel::prelude::*;

use super::schema::{
    attachments, digest_runs, events, inbound, mailbox_cursors, messages, outbox, participants,
    sla_clocks, thread_refs, tickets,
};
use super::AnyConnection;

type Conn = AnyConnection;

// ---- tickets -------------------------------------------------------------------------------

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

// ---- inbound -------------------------------------------------------------------------------

/// An inbound row without its raw bytes (for listings).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inbound)]
pub struct InboundRow {
    pub id: i64,
    pub mailbox: String,
    pub source_pos: String,
    pub message_id: String,
    pub from_addr: String,
    pub subject: String,
    pub size: i64,
    pub received_at: i64,
    pub outcome: String,
    pub matched_by: Option<String>,
    pub ticket_id: Option<i64>,
    pub reason: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = inbound)]
pub struct NewInbound<'a> {
    pub mailbox: &'a str,
    pub source_pos: &'a str,
    pub message_id: &'a str,
    pub content_hash: &'a str,
    pub dedupe_key: &'a str,
    pub from_addr: &'a str,
    pub subject: &'a str,
    pub size: i64,
    pub raw: &'a [u8],
    pub received_at: i64,
    pub outcome: &'a str,
    pub matched_by: Option<&'a str>,
    pub ticket_id: Option<i64>,
    pub reason: Option<&'a str>,
    pub error: Option<&'a str>,
}

pub fn insert_inbound(c: &mut Conn, row: &NewInbound<'_>) -> QueryResult<i64> {
    diesel::insert_into(inbound::table)
        .values(row)
        .returning(inbound::id)
        .get_result(c)
}

/// What is already stored of a mail, found by its exact bytes or by its dedupe key.
#[derive(Debug, Clone, Queryable)]
pub struct SeenMail {
    pub id: i64,
    pub ticket_id: Option<i64>,
    pub content_hash: String,
    pub outcome: String,
}

/// Stored mails with these exact bytes (`hash`) or the same dedupe key, oldest first: one
/// indexed query for both checks.
pub fn inbound_seen(c: &mut Conn, hash: &str, dedupe_key: &str) -> QueryResult<Vec<SeenMail>> {
    inbound::table
        .filter(
            inbound::content_hash
                .eq(hash)
                .or(inbound::dedupe_key.eq(dedupe_key)),
        )
        .order(inbound::id.asc())
        .select((
            inbound::id,
            inbound::ticket_id,
            inbound::content_hash,
            inbound::outcome,
        ))
        .load(c)
}

pub fn list_inbound(c: &mut Conn, failed_only: bool) -> QueryResult<Vec<InboundRow>> {
    let mut q = inbound::table
        .select(InboundRow::as_select())
        .order(inbound::id.asc())
        .into_boxed();
    if failed_only {
        q = q.filter(inbound::outcome.eq("failed"));
    }
    q.load(c)
}

// ---- messages ------------------------------------------------------------------------------

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
    diesel::insert_into(messages::table)
        .values(m)
        .returning(messages::id)
        .get_result(c)
}

/// Maps each of `ids` that a stored message carries to its ticket (the oldest such message).
pub fn tickets_of_message_ids(c: &mut Conn, ids: &[&str]) -> QueryResult<HashMap<String, i64>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, i64)> = messages::table
        .filter(messages::message_id.eq_any(ids))
        .order(messages::id.desc())
        .select((messages::message_id, messages::ticket_id))
        .load(c)?;
    // Descending order: the oldest message's ticket is inserted last and wins.
    let mut found: HashMap<String, i64> = rows.into_iter().collect();
    let rest: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|i| !found.contains_key(*i))
        .collect();
    if !rest.is_empty() {
        // Ids we never received, but an earlier mail referenced too: the same conversation.
        let shared: Vec<(String, i64)> = thread_refs::table
            .filter(thread_refs::ref_id.eq_any(rest))
            .order(thread_refs::id.desc())
            .select((thread_refs::ref_id, thread_refs::ticket_id))
            .load(c)?;
        found.extend(shared);
    }
    Ok(found)
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
            .filter(messages::ticket_id.eq_any(chunk))
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
        .filter(attachments::message_row_id.eq_any(rows))
        .order(attachments::id.asc())
        .select((
            attachments::message_row_id,
            attachments::name,
            attachments::content_type,
            attachments::size,
        ))
        .load(c)
}

// ---- participants --------------------------------------------------------------------------

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

/// `(address, name, role)` of a ticket's participants.
pub fn is_participant(c: &mut Conn, ticket: i64, address: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        participants::table.find((ticket, address.to_string())),
    ))
    .get_result(c)
}

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

// ---- events --------------------------------------------------------------------------------

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: i64,
    pub ticket_id: i64,
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub detail: String,
}

pub fn insert_event(
    c: &mut Conn,
    ticket: i64,
    at: i64,
    actor: &str,
    kind: &str,
    detail: &str,
) -> QueryResult<()> {
    diesel::insert_into(events::table)
        .values((
            events::ticket_id.eq(ticket),
            events::at.eq(at),
            events::actor.eq(actor),
            events::kind.eq(kind),
            events::detail.eq(detail),
        ))
        .execute(c)?;
    Ok(())
}

pub fn events_of_ticket(c: &mut Conn, ticket: i64) -> QueryResult<Vec<EventRow>> {
    events::table
        .filter(events::ticket_id.eq(ticket))
        .order(events::id.asc())
        .select(EventRow::as_select())
        .load(c)
}

// ---- mailbox cursors -----------------------------------------------------------------------

/// `(uid_validity, last_uid)` stored for a mailbox.
pub fn cursor(c: &mut Conn, mailbox: &str) -> QueryResult<Option<(i64, i64)>> {
    mailbox_cursors::table
        .find(mailbox)
        .select((mailbox_cursors::uid_validity, mailbox_cursors::last_uid))
        .first(c)
        .optional()
}

pub fn set_cursor(
    c: &mut Conn,
    mailbox: &str,
    uid_validity: i64,
    last_uid: i64,
    at: i64,
) -> QueryResult<()> {
    let n = diesel::update(mailbox_cursors::table.find(mailbox))
        .set((
            mailbox_cursors::uid_validity.eq(uid_validity),
            mailbox_cursors::last_uid.eq(last_uid),
            mailbox_cursors::updated_at.eq(at),
        ))
        .execute(c)?;
    if n == 0 {
        diesel::insert_into(mailbox_cursors::table)
            .values((
                mailbox_cursors::mailbox.eq(mailbox),
                mailbox_cursors::uid_validity.eq(uid_validity),
                mailbox_cursors::last_uid.eq(last_uid),
                mailbox_cursors::updated_at.eq(at),
            ))
            .execute(c)?;
    }
    Ok(())
}

// ---- outbox --------------------------------------------------------------------------------

/// An outbox row without its raw bytes.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub ticket_id: Option<i64>,
    pub kind: String,
    pub env_from: String,
    /// JSON array of recipient addresses.
    pub rcpt: String,
    pub subject: String,
    pub message_id: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewOutbox<'a> {
    pub ticket_id: Option<i64>,
    pub kind: &'a str,
    pub env_from: &'a str,
    pub rcpt: &'a str,
    pub subject: &'a str,
    pub message_id: &'a str,
    pub raw: &'a [u8],
    pub status: &'a str,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub created_at: i64,
}

/// Inserts many outbox rows and returns their ids, in order: multi-row statements on
/// PostgreSQL (a round trip saved per row), one statement per row on SQLite (in process).
pub fn insert_outbox_many(c: &mut Conn, rows: &[NewOutbox<'_>]) -> QueryResult<Vec<i64>> {
    match c {
        AnyConnection::Postgresql(p) => {
            let mut ids = Vec::with_capacity(rows.len());
            for chunk in rows.chunks(200) {
                ids.extend(
                    diesel::insert_into(outbox::table)
                        .values(chunk)
                        .returning(outbox::id)
                        .get_results::<i64>(p)?,
                );
            }
            Ok(ids)
        }
        AnyConnection::Sqlite(_) => rows.iter().map(|r| insert_outbox(c, r)).collect(),
    }
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

pub fn insert_outbox(c: &mut Conn, row: &NewOutbox<'_>) -> QueryResult<i64> {
    diesel::insert_into(outbox::table)
        .values(row)
        .returning(outbox::id)
        .get_result(c)
}

pub fn list_outbox(c: &mut Conn, status: Option<&str>) -> QueryResult<Vec<OutboxRow>> {
    let mut q = outbox::table
        .select(OutboxRow::as_select())
        .order(outbox::id.asc())
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(outbox::status.eq(s.to_string()));
    }
    q.load(c)
}

/// Ids of pending rows due at `now`, oldest first.
pub fn due_outbox(c: &mut Conn, now: i64, limit: i64) -> QueryResult<Vec<i64>> {
    outbox::table
        .filter(outbox::status.eq("pending"))
        .filter(outbox::next_attempt_at.le(now))
        .order(outbox::next_attempt_at.asc())
        .limit(limit)
        .select(outbox::id)
        .load(c)
}

/// PostgreSQL: claims up to `limit` rows due at `now` until `lease_until` in one statement,
/// passing over rows another sender is claiming this moment (FOR UPDATE SKIP LOCKED), so
/// several instances' senders share the outbox without waiting on each other.
pub fn claim_due_outbox_skip_locked(
    p: &mut diesel::PgConnection,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Claimed {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let rows: Vec<Claimed> = diesel::sql_query(
        "UPDATE outbox SET next_attempt_at = $1 WHERE id IN (\
           SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 \
           ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id",
    )
    .bind::<diesel::sql_types::BigInt, _>(lease_until)
    .bind::<diesel::sql_types::BigInt, _>(now)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(p)?;
    let mut ids: Vec<i64> = rows.into_iter().map(|r| r.id).collect();
    ids.sort_unstable();
    Ok(ids)
}

/// Claims rows for delivery until `lease_until`: only rows still pending and due are claimed,
/// so two senders never deliver the same row at once. Returns the claimed ids.
pub fn claim_outbox(
    c: &mut Conn,
    ids: &[i64],
    now: i64,
    lease_until: i64,
) -> QueryResult<Vec<i64>> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .filter(outbox::status.eq("pending"))
            .filter(outbox::next_attempt_at.le(now)),
    )
    .set(outbox::next_attempt_at.eq(lease_until))
    .returning(outbox::id)
    .get_results(c)
}

/// What a sender needs to deliver a row.
#[derive(Debug, Queryable)]
pub struct OutboxPayload {
    pub ticket_id: Option<i64>,
    pub env_from: String,
    /// JSON array of recipient addresses.
    pub rcpt: String,
    pub message_id: String,
    pub attempts: i64,
    pub created_at: i64,
    pub raw: Vec<u8>,
}

pub fn outbox_payload(c: &mut Conn, id: i64) -> QueryResult<OutboxPayload> {
    outbox::table
        .find(id)
        .select((
            outbox::ticket_id,
            outbox::env_from,
            outbox::rcpt,
            outbox::message_id,
            outbox::attempts,
            outbox::created_at,
            outbox::raw,
        ))
        .first(c)
}

/// The outbox row that sent the mail with this Message-ID: `(id, ticket_id)`.
pub fn outbox_by_message_id(
    c: &mut Conn,
    message_id: &str,
) -> QueryResult<Option<(i64, Option<i64>)>> {
    outbox::table
        .filter(outbox::message_id.eq(message_id))
        .select((outbox::id, outbox::ticket_id))
        .first(c)
        .optional()
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// How many rows whose recipients merely contain `address` as text are looked at for one
/// that really has it: more than any mail has recipients.
const RECIPIENT_CANDIDATES: i64 = 200;

/// The newest outbox row with exactly `address` (case aside) among its recipients:
/// `(id, ticket_id)`. The recipients' JSON is narrowed by a `LIKE` with its wildcards escaped
/// (`a_b@x` must not match `axb@x`), then each candidate's list is read and compared whole.
pub fn outbox_latest_to(c: &mut Conn, address: &str) -> QueryResult<Option<(i64, Option<i64>)>> {
    let address = address.to_lowercase();
    let quoted = serde_json::to_string(&address).unwrap_or_default();
    let pattern = format!("%{}%", escape_like(&quoted));
    let rows: Vec<(i64, Option<i64>, String)> = outbox::table
        .filter(lower(outbox::rcpt).like(pattern).escape('\\'))
        .order(outbox::id.desc())
        .select((outbox::id, outbox::ticket_id, outbox::rcpt))
        .limit(RECIPIENT_CANDIDATES)
        .load(c)?;
    Ok(rows
        .into_iter()
        .find(|(_, _, rcpt)| {
            serde_json::from_str::<Vec<String>>(rcpt)
                .is_ok_and(|to| to.iter().any(|a| a.to_lowercase() == address))
        })
        .map(|(id, ticket, _)| (id, ticket)))
}

/// `text` for a `LIKE … ESCAPE '\\'` pattern that matches it literally.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Marks a row failed because a bounce reported its delivery failed.
/// How many mails of the `kinds` went to exactly `[address]` since `since`.
pub fn count_sent_to(
    c: &mut Conn,
    address: &str,
    kinds: &[&str; 2],
    since: i64,
) -> QueryResult<i64> {
    let rcpt = serde_json::to_string(&[address]).unwrap_or_default();
    outbox::table
        .filter(outbox::rcpt.eq(rcpt))
        .filter(outbox::created_at.ge(since))
        .filter(outbox::kind.eq(kinds[0]).or(outbox::kind.eq(kinds[1])))
        .count()
        .get_result(c)
}

pub fn mark_bounced(c: &mut Conn, id: i64, error: &str) -> QueryResult<()> {
    diesel::update(outbox::table.find(id))
        .set((outbox::status.eq("failed"), outbox::last_error.eq(error)))
        .execute(c)?;
    Ok(())
}

/// Queues an unsent row again, due at once (`outbox retry`). Returns whether a row was
/// queued: false for a row that does not exist or was sent already.
pub fn requeue_outbox(c: &mut Conn, id: i64, now: i64) -> QueryResult<bool> {
    let n = diesel::update(outbox::table.find(id).filter(outbox::status.ne("sent")))
        .set((
            outbox::status.eq("pending"),
            outbox::next_attempt_at.eq(now),
        ))
        .execute(c)?;
    Ok(n == 1)
}

/// Marks delivered rows sent, many at once (for transports where a repeat is harmless).
pub fn mark_sent_many(c: &mut Conn, ids: &[i64], at: i64) -> QueryResult<()> {
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
        .set((
            outbox::status.eq("sent"),
            outbox::sent_at.eq(at),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(c)?;
    Ok(())
}

/// Records a failed attempt: retried at `retry_at`, or failed for good when `None`.
pub fn mark_attempt_failed(
    c: &mut Conn,
    id: i64,
    error: &str,
    retry_at: Option<i64>,
) -> QueryResult<()> {
    let target = outbox::table.find(id);
    match retry_at {
        Some(at) => diesel::update(target)
            .set((
                outbox::attempts.eq(outbox::attempts + 1),
                outbox::last_error.eq(error),
                outbox::next_attempt_at.eq(at),
            ))
            .execute(c)?,
        None => diesel::update(target)
            .set((
                outbox::attempts.eq(outbox::attempts + 1),
                outbox::last_error.eq(error),
                outbox::status.eq("failed"),
            ))
            .execute(c)?,
    };
    Ok(())
}

/// One SLA clock as stored (see migrations …_sla and `ticket::sla::Clock`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = sla_clocks, treat_none_as_null = true)]
pub struct SlaClockRow {
    pub ticket_id: i64,
    pub target: String,
    pub target_ms: i64,
    pub started_at: i64,
    pub warn_at: Option<i64>,
    pub due_at: Option<i64>,
    pub warn_left: Option<i64>,
    pub due_left: Option<i64>,
    pub stage: i32,
    pub breached: bool,
    pub stopped_at: Option<i64>,
    pub next_check: Option<i64>,
}

/// A ticket's clocks.
pub fn sla_clocks_of(c: &mut Conn, ticket: i64) -> QueryResult<Vec<SlaClockRow>> {
    sla_clocks::table
        .filter(sla_clocks::ticket_id.eq(ticket))
        .select(SlaClockRow::as_select())
        .load(c)
}

/// Writes a clock: inserted when the ticket has none for its target yet, else replaced.
pub fn save_sla_clock(c: &mut Conn, row: &SlaClockRow) -> QueryResult<()> {
    let n = diesel::update(
        sla_clocks::table
            .filter(sla_clocks::ticket_id.eq(row.ticket_id))
            .filter(sla_clocks::target.eq(&row.target)),
    )
    .set(row)
    .execute(c)?;
    if n == 0 {
        diesel::insert_into(sla_clocks::table)
            .values(row)
            .execute(c)?;
    }
    Ok(())
}

/// Called first in a transaction that reads and then writes: on SQLite it takes the write lock
/// at once, so the transaction waits for other writers (busy_timeout) instead of failing with
/// "database is locked" when it upgrades after another writer committed; on PostgreSQL it
/// changes nothing.
pub fn write_lock_first(c: &mut Conn) -> QueryResult<()> {
    if let AnyConnection::Sqlite(_) = c {
        diesel::update(sla_clocks::table.filter(sla_clocks::id.eq(-1)))
            .set(sla_clocks::stage.eq(sla_clocks::stage))
            .execute(c)?;
    }
    Ok(())
}

/// Claims up to `limit` clocks with a checkpoint due at `now`, earliest first (the partial
/// index on next_check), for the caller's transaction, which must move each one's next_check
/// on ([`set_sla_stage`]) before it commits. A second sweeper never takes them too: on
/// PostgreSQL the rows are locked and other sweepers skip them (and find them no longer due
/// once this transaction commits); on SQLite the write lock is taken first, so sweeps run one
/// after the other. Reading without writing keeps it to one update per clock.
pub fn claim_due_sla_clocks(
    c: &mut Conn,
    now: i64,
    limit: i64,
) -> QueryResult<Vec<(i64, SlaClockRow)>> {
    write_lock_first(c)?;
    let due = sla_clocks::table
        .filter(sla_clocks::next_check.le(now))
        .order(sla_clocks::next_check.asc())
        .limit(limit);
    match c {
        AnyConnection::Sqlite(s) => due
            .select((sla_clocks::id, SlaClockRow::as_select()))
            .load(s),
        AnyConnection::Postgresql(p) => due
            .select((sla_clocks::id, SlaClockRow::as_select()))
            .for_update()
            .skip_locked()
            .load(p),
    }
}

/// Where a clock's next check falls after the sweep, as a column of its own row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NextCheck {
    Never,
    WarnAt,
    DueAt,
    /// This long after the due time.
    DuePlus(i64),
}

/// Moves claimed clocks on: one statement for every clock that ends in the same state.
pub fn set_sla_stage(
    c: &mut Conn,
    ids: &[i64],
    stage: i32,
    breached: bool,
    next: NextCheck,
) -> QueryResult<()> {
    let target = sla_clocks::table.filter(sla_clocks::id.eq_any(ids));
    let base = (
        sla_clocks::stage.eq(stage),
        sla_clocks::breached.eq(breached),
    );
    match next {
        NextCheck::Never => diesel::update(target)
            .set((base, sla_clocks::next_check.eq(None::<i64>)))
            .execute(c)?,
        NextCheck::WarnAt => diesel::update(target)
            .set((base, sla_clocks::next_check.eq(sla_clocks::warn_at)))
            .execute(c)?,
        NextCheck::DueAt => diesel::update(target)
            .set((base, sla_clocks::next_check.eq(sla_clocks::due_at)))
            .execute(c)?,
        NextCheck::DuePlus(a) => diesel::update(target)
            .set((base, sla_clocks::next_check.eq(sla_clocks::due_at + a)))
            .execute(c)?,
    };
    Ok(())
}

/// Marks tickets as having breached an SLA target.
pub fn mark_sla_breached(c: &mut Conn, ids: &[i64]) -> QueryResult<()> {
    diesel::update(tickets::table.filter(tickets::id.eq_any(ids)))
        .set(tickets::sla_breached.eq(true))
        .execute(c)
        .map(|_| ())
}

/// Records many events at once: (ticket, kind, detail), all at `at` by `actor`.
pub fn insert_events(
    c: &mut Conn,
    at: i64,
    actor: &str,
    rows: &[(i64, &str, String)],
) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    match c {
        // One statement with three array parameters, however many rows (a sweep writes a
        // thousand): PostgreSQL parses and plans it once instead of a row of binds per event.
        AnyConnection::Postgresql(p) => {
            use diesel::sql_types::{Array, BigInt, Text};
            let tickets: Vec<i64> = rows.iter().map(|r| r.0).collect();
            let kinds: Vec<&str> = rows.iter().map(|r| r.1).collect();
            let details: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
            diesel::sql_query(
                "INSERT INTO events (ticket_id, at, actor, kind, detail) \
                 SELECT t, $2, $3, k, d FROM UNNEST($1::int8[], $4::text[], $5::text[]) AS u(t, k, d)",
            )
            .bind::<Array<BigInt>, _>(&tickets)
            .bind::<BigInt, _>(at)
            .bind::<Text, _>(actor)
            .bind::<Array<Text>, _>(&kinds)
            .bind::<Array<Text>, _>(&details)
            .execute(p)?;
        }
        AnyConnection::Sqlite(_) => {
            for (t, k, d) in rows {
                diesel::insert_into(events::table)
                    .values((
                        events::ticket_id.eq(*t),
                        events::at.eq(at),
                        events::actor.eq(actor),
                        events::kind.eq(*k),
                        events::detail.eq(d.as_str()),
                    ))
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

/// Tickets by id, for a batch of due clocks.
pub fn tickets_by_ids(c: &mut Conn, ids: &[i64]) -> QueryResult<Vec<Ticket>> {
    tickets::table
        .filter(tickets::id.eq_any(ids))
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

// ---- digests -------------------------------------------------------------------------------

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
