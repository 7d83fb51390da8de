//! Approval chains of tickets (`approvals`) and their approvers' decisions
//! (`approval_decisions`).

use super::*;
use crate::store::schema::{approval_decisions as d, approvals as a};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = a)]
pub struct ApprovalRow {
    pub id: i64,
    pub ticket_id: i64,
    pub chain: String,
    /// pending, approved or rejected.
    pub state: String,
    /// The step under way (1-based).
    pub step: i32,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = d)]
pub struct DecisionRow {
    pub id: i64,
    pub approval_id: i64,
    pub step: i32,
    pub quorum: String,
    pub approver: String,
    /// pending, approved or rejected.
    pub decision: String,
    pub asked_at: i64,
    pub at: Option<i64>,
    pub comment: Option<String>,
    pub reminded_at: Option<i64>,
    pub escalated_at: Option<i64>,
}

pub fn approval_of(c: &mut Conn, ticket: i64) -> QueryResult<Option<ApprovalRow>> {
    a::table
        .filter(a::ticket_id.eq(ticket))
        .select(ApprovalRow::as_select())
        .first(c)
        .optional()
}

pub fn approval(c: &mut Conn, id: i64) -> QueryResult<Option<ApprovalRow>> {
    a::table
        .find(id)
        .select(ApprovalRow::as_select())
        .first(c)
        .optional()
}

/// The chains of each of `tickets` that has one.
pub fn approvals_of(c: &mut Conn, tickets: &[i64]) -> QueryResult<HashMap<i64, ApprovalRow>> {
    Ok(a::table
        .filter(in_list!(a::ticket_id, tickets))
        .select(ApprovalRow::as_select())
        .load(c)?
        .into_iter()
        .map(|r| (r.ticket_id, r))
        .collect())
}

/// A chain started on `ticket`, at step 1.
pub fn start_approval(c: &mut Conn, ticket: i64, chain: &str, now: i64) -> QueryResult<i64> {
    diesel::insert_into(a::table)
        .values((
            a::ticket_id.eq(ticket),
            a::chain.eq(chain),
            a::state.eq("pending"),
            a::step.eq(1),
            a::created_at.eq(now),
        ))
        .returning(a::id)
        .get_result(c)
}

/// The approvers of `step` asked: their decision rows, (id, approver) each.
pub fn ask_approvers(
    c: &mut Conn,
    approval: i64,
    step: i32,
    quorum: &str,
    approvers: &[String],
    now: i64,
) -> QueryResult<Vec<(i64, String)>> {
    let mut out = Vec::new();
    for who in approvers {
        let id = diesel::insert_into(d::table)
            .values((
                d::approval_id.eq(approval),
                d::step.eq(step),
                d::quorum.eq(quorum),
                d::approver.eq(who),
                d::decision.eq("pending"),
                d::asked_at.eq(now),
            ))
            .returning(d::id)
            .get_result(c)?;
        out.push((id, who.clone()));
    }
    Ok(out)
}

pub fn decision(c: &mut Conn, id: i64) -> QueryResult<Option<DecisionRow>> {
    d::table
        .find(id)
        .select(DecisionRow::as_select())
        .first(c)
        .optional()
}

/// Every decision row of a chain, by step and approver.
pub fn decisions_of(c: &mut Conn, approval: i64) -> QueryResult<Vec<DecisionRow>> {
    d::table
        .filter(d::approval_id.eq(approval))
        .order((d::step, d::id))
        .select(DecisionRow::as_select())
        .load(c)
}

/// Records a pending decision; `false` when it was answered before.
pub fn answer_decision(
    c: &mut Conn,
    id: i64,
    approve: bool,
    comment: &str,
    now: i64,
) -> QueryResult<bool> {
    // (a statement of fixed text: diesel's UPDATE is prepared anew at every use)
    use diesel::sql_types::{BigInt, Nullable, Text};
    let sql = match c {
        AnyConnection::Sqlite(_) => {
            "UPDATE approval_decisions SET decision = ?, \"at\" = ?, comment = ? \
             WHERE id = ? AND decision = 'pending'"
        }
        AnyConnection::Postgresql(_) => {
            "UPDATE approval_decisions SET decision = $1, \"at\" = $2, comment = $3 \
             WHERE id = $4 AND decision = 'pending'"
        }
    };
    let n = diesel::sql_query(sql)
        .bind::<Text, _>(if approve { "approved" } else { "rejected" })
        .bind::<BigInt, _>(now)
        .bind::<Nullable<Text>, _>((!comment.is_empty()).then_some(comment))
        .bind::<BigInt, _>(id)
        .execute(c)?;
    Ok(n == 1)
}

/// Moves a chain to `state` at `step` (`decided_at` when it finished).
pub fn set_approval(
    c: &mut Conn,
    id: i64,
    state: &str,
    step: i32,
    decided_at: Option<i64>,
) -> QueryResult<()> {
    use diesel::sql_types::{BigInt, Integer, Nullable, Text};
    let sql = match c {
        AnyConnection::Sqlite(_) => {
            "UPDATE approvals SET state = ?, step = ?, decided_at = ? WHERE id = ?"
        }
        AnyConnection::Postgresql(_) => {
            "UPDATE approvals SET state = $1, step = $2, decided_at = $3 WHERE id = $4"
        }
    };
    diesel::sql_query(sql)
        .bind::<Text, _>(state)
        .bind::<Integer, _>(step)
        .bind::<Nullable<BigInt>, _>(decided_at)
        .bind::<BigInt, _>(id)
        .execute(c)
        .map(|_| ())
}

/// Pending decisions of chains' current steps asked before `asked_before` and not yet
/// reminded (`escalation`: reminded, not yet escalated), with their chain.
pub fn overdue_decisions(
    c: &mut Conn,
    asked_before: i64,
    escalation: bool,
    limit: i64,
) -> QueryResult<Vec<(DecisionRow, ApprovalRow)>> {
    let mut q = d::table
        .inner_join(a::table.on(a::id.eq(d::approval_id).and(a::step.eq(d::step))))
        .filter(a::state.eq("pending"))
        .filter(d::decision.eq("pending"))
        .filter(d::asked_at.le(asked_before))
        .into_boxed();
    q = if escalation {
        q.filter(d::reminded_at.is_not_null())
            .filter(d::escalated_at.is_null())
    } else {
        q.filter(d::reminded_at.is_null())
    };
    q.order(d::id)
        .limit(limit)
        .select((DecisionRow::as_select(), ApprovalRow::as_select()))
        .load(c)
}

/// Marks a decision reminded (or escalated), once: `false` when another instance did.
pub fn mark_overdue(c: &mut Conn, id: i64, escalation: bool, now: i64) -> QueryResult<bool> {
    let n = if escalation {
        diesel::update(
            d::table
                .filter(d::id.eq(id))
                .filter(d::escalated_at.is_null()),
        )
        .set(d::escalated_at.eq(Some(now)))
        .execute(c)?
    } else {
        diesel::update(
            d::table
                .filter(d::id.eq(id))
                .filter(d::reminded_at.is_null()),
        )
        .set(d::reminded_at.eq(Some(now)))
        .execute(c)?
    };
    Ok(n == 1)
}
