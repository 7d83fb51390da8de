//! SLA clocks: stored state, due checkpoints, breaches.

use super::*;

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
