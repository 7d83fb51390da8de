//! Received mail (`inbound`) and the IMAP mailboxes' positions (`mailbox_cursors`).

use super::*;

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
    pub sender_header: Option<String>,
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
    pub sender_header: Option<&'a str>,
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
