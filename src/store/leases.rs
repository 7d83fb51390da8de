//! Queries of the instance heartbeats and mailbox leases (see [`crate::cluster`]). Every
//! statement is atomic on its own: none of them needs a surrounding transaction, and a lost
//! race shows as zero rows changed or a unique violation, never as two holders.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};

use super::schema::{instances, mailbox_leases};
use super::AnyConnection as Conn;

/// Records that instance `id`, run by process `process` ([`crate::holder`]), is alive at `now`.
pub fn heartbeat(c: &mut Conn, id: &str, process: &str, now: i64) -> QueryResult<()> {
    let n = diesel::update(instances::table.find(id))
        .set((instances::seen_at.eq(now), instances::process.eq(process)))
        .execute(c)?;
    if n == 0 {
        diesel::insert_into(instances::table)
            .values((
                instances::id.eq(id),
                instances::started_at.eq(now),
                instances::seen_at.eq(now),
                instances::process.eq(process),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Every instance other than `me` with the process it recorded: `(id, process)`.
pub fn other_instances(c: &mut Conn, me: &str) -> QueryResult<Vec<(String, Option<String>)>> {
    instances::table
        .filter(instances::id.ne(me))
        .select((instances::id, instances::process))
        .load(c)
}

/// Forgets instance `id`, found dead, and makes its leases free at once (expired long ago);
/// returns the mailboxes it held. Only leases still `id`'s are touched.
pub fn reap_instance(c: &mut Conn, id: &str) -> QueryResult<Vec<String>> {
    let q = diesel::update(mailbox_leases::table.filter(mailbox_leases::holder.eq(id)))
        .set(mailbox_leases::expires_at.eq(0));
    let mailboxes = match c {
        Conn::Sqlite(s) => q.returning(mailbox_leases::mailbox).get_results(s)?,
        Conn::Postgresql(p) => q.returning(mailbox_leases::mailbox).get_results(p)?,
    };
    diesel::delete(instances::table.find(id)).execute(c)?;
    Ok(mailboxes)
}

/// How many instances were seen since `since`.
pub fn live_instances(c: &mut Conn, since: i64) -> QueryResult<i64> {
    instances::table
        .filter(instances::seen_at.ge(since))
        .count()
        .get_result(c)
}

/// Removes instance `id` and gives up its leases (a clean shutdown), and forgets instances not
/// seen since `stale_before`.
pub fn forget_instance(c: &mut Conn, id: &str, stale_before: i64) -> QueryResult<()> {
    diesel::delete(mailbox_leases::table.filter(mailbox_leases::holder.eq(id))).execute(c)?;
    diesel::delete(
        instances::table.filter(instances::id.eq(id).or(instances::seen_at.lt(stale_before))),
    )
    .execute(c)?;
    Ok(())
}

/// Extends every lease `holder` has to `until`; returns the mailboxes it holds.
pub fn renew_leases(c: &mut Conn, holder: &str, until: i64) -> QueryResult<Vec<String>> {
    let q = diesel::update(mailbox_leases::table.filter(mailbox_leases::holder.eq(holder)))
        .set(mailbox_leases::expires_at.eq(until));
    match c {
        Conn::Sqlite(s) => q.returning(mailbox_leases::mailbox).get_results(s),
        Conn::Postgresql(p) => q.returning(mailbox_leases::mailbox).get_results(p),
    }
}

/// Takes the lease of `mailbox` until `until` when nobody holds it or its lease ran out before
/// `now`. On PostgreSQL two takers of an expired lease serialise on its row: the second finds
/// it no longer expired. Returns whether `holder` has it now.
pub fn try_lease(
    c: &mut Conn,
    mailbox: &str,
    holder: &str,
    now: i64,
    until: i64,
) -> QueryResult<bool> {
    let taken = diesel::update(
        mailbox_leases::table.find(mailbox).filter(
            mailbox_leases::holder
                .eq(holder)
                .or(mailbox_leases::expires_at.lt(now)),
        ),
    )
    .set((
        mailbox_leases::holder.eq(holder),
        mailbox_leases::expires_at.eq(until),
    ))
    .execute(c)?;
    if taken == 1 {
        return Ok(true);
    }
    let exists: i64 = mailbox_leases::table.find(mailbox).count().get_result(c)?;
    if exists > 0 {
        return Ok(false);
    }
    match diesel::insert_into(mailbox_leases::table)
        .values((
            mailbox_leases::mailbox.eq(mailbox),
            mailbox_leases::holder.eq(holder),
            mailbox_leases::expires_at.eq(until),
        ))
        .execute(c)
    {
        Ok(_) => Ok(true),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Gives up the lease of `mailbox` if `holder` has it.
pub fn release_lease(c: &mut Conn, mailbox: &str, holder: &str) -> QueryResult<()> {
    diesel::delete(
        mailbox_leases::table
            .find(mailbox)
            .filter(mailbox_leases::holder.eq(holder)),
    )
    .execute(c)?;
    Ok(())
}

/// The fence of a batch: true when `holder` still has an unexpired lease of `mailbox` at `now`.
/// Run last in the batch's transaction, it locks the lease row on PostgreSQL until the commit,
/// so a takeover waits for the batch (and then reads its cursor) or, if it came first, the
/// batch finds the lease gone and rolls back.
pub fn hold_lease(c: &mut Conn, mailbox: &str, holder: &str, now: i64) -> QueryResult<bool> {
    let n = diesel::update(
        mailbox_leases::table
            .find(mailbox)
            .filter(mailbox_leases::holder.eq(holder))
            .filter(mailbox_leases::expires_at.ge(now)),
    )
    .set(mailbox_leases::expires_at.eq(mailbox_leases::expires_at))
    .execute(c)?;
    Ok(n == 1)
}

/// Every lease: `(mailbox, holder, expires_at)`.
pub fn leases(c: &mut Conn) -> QueryResult<Vec<(String, String, i64)>> {
    mailbox_leases::table
        .select((
            mailbox_leases::mailbox,
            mailbox_leases::holder,
            mailbox_leases::expires_at,
        ))
        .order(mailbox_leases::mailbox.asc())
        .load(c)
}
