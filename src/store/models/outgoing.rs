//! Outgoing mail: queueing, claiming, delivery state, bounces.

use super::*;

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
    /// The process that delivers the row itself before `next_attempt_at` ([`crate::holder`]):
    /// set on a row written ahead of its due time, so a restart can release it when that
    /// process died.
    pub held_by: Option<&'a str>,
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

pub fn insert_outbox(c: &mut Conn, row: &NewOutbox<'_>) -> QueryResult<i64> {
    // (a statement of fixed text, prepared once; see `insert_message`)
    use diesel::sql_types::{BigInt, Binary, Nullable, Text};
    let sql = match c {
        AnyConnection::Sqlite(_) => {
            "INSERT INTO outbox (ticket_id, kind, env_from, rcpt, subject, message_id, raw, \
             status, attempts, next_attempt_at, created_at, held_by) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
        }
        AnyConnection::Postgresql(_) => {
            "INSERT INTO outbox (ticket_id, kind, env_from, rcpt, subject, message_id, raw, \
             status, attempts, next_attempt_at, created_at, held_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id"
        }
    };
    diesel::sql_query(sql)
        .bind::<Nullable<BigInt>, _>(row.ticket_id)
        .bind::<Text, _>(row.kind)
        .bind::<Text, _>(row.env_from)
        .bind::<Text, _>(row.rcpt)
        .bind::<Text, _>(row.subject)
        .bind::<Text, _>(row.message_id)
        .bind::<Binary, _>(row.raw)
        .bind::<Text, _>(row.status)
        .bind::<BigInt, _>(row.attempts)
        .bind::<BigInt, _>(row.next_attempt_at)
        .bind::<BigInt, _>(row.created_at)
        .bind::<Nullable<Text>, _>(row.held_by)
        .get_result::<Id>(c)
        .map(|r| r.id)
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
    let rows: Vec<Id> = diesel::sql_query(
        "UPDATE outbox SET next_attempt_at = $1, held_by = $4 WHERE id IN (\
           SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 \
           ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id",
    )
    .bind::<diesel::sql_types::BigInt, _>(lease_until)
    .bind::<diesel::sql_types::BigInt, _>(now)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .bind::<diesel::sql_types::Text, _>(crate::holder::me_written())
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
            .filter(in_list!(outbox::id, ids))
            .filter(outbox::status.eq("pending"))
            .filter(outbox::next_attempt_at.le(now)),
    )
    .set((
        outbox::next_attempt_at.eq(lease_until),
        outbox::held_by.eq(crate::holder::me_written()),
    ))
    .returning(outbox::id)
    .get_results(c)
}

/// The holders of pending rows held past `now` (claimed, or written ahead of their due time).
pub fn outbox_holders(c: &mut Conn, now: i64) -> QueryResult<Vec<String>> {
    outbox::table
        .filter(outbox::status.eq("pending"))
        .filter(outbox::held_by.is_not_null())
        .filter(outbox::next_attempt_at.gt(now))
        .select(outbox::held_by.assume_not_null())
        .distinct()
        .load(c)
}

/// Makes the pending rows `holder` held due at `now` (its process is dead); returns how many.
pub fn release_outbox_holds(c: &mut Conn, holder: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .filter(outbox::status.eq("pending"))
            .filter(outbox::held_by.eq(holder))
            .filter(outbox::next_attempt_at.gt(now)),
    )
    .set((
        outbox::next_attempt_at.eq(now),
        outbox::held_by.eq(None::<String>),
    ))
    .execute(c)
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
            outbox::held_by.eq(None::<String>),
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
                outbox::held_by.eq(None::<String>),
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
