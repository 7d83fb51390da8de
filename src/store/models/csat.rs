//! Satisfaction surveys (`csat_surveys`): scheduled at a resolution, sent by the scheduler,
//! answered by mail or on the one-click page.

use super::*;
use crate::store::schema::csat_surveys;

/// A survey as stored.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = csat_surveys)]
pub struct SurveyRow {
    pub id: i64,
    pub ticket_id: i64,
    pub resolved_at: i64,
    pub due_at: i64,
    pub address: String,
    pub queue: String,
    pub assignee: Option<String>,
    /// scheduled, sent, answered, cancelled or skipped.
    pub state: String,
    pub reason: Option<String>,
    pub asked_at: Option<i64>,
    pub score: Option<i32>,
    pub comment: Option<String>,
    pub answered_at: Option<i64>,
    /// mail or web.
    pub answered_via: Option<String>,
}

/// A survey to record at a resolution.
#[derive(Debug, Insertable)]
#[diesel(table_name = csat_surveys)]
pub struct NewSurvey<'a> {
    pub ticket_id: i64,
    pub resolved_at: i64,
    pub due_at: i64,
    pub address: &'a str,
    pub queue: &'a str,
    pub assignee: Option<&'a str>,
    pub state: &'a str,
    pub reason: Option<&'a str>,
}

/// Records the survey of one resolution (once: a second call for it changes nothing).
pub fn insert_survey(c: &mut Conn, s: &NewSurvey<'_>) -> QueryResult<bool> {
    let exists: bool = diesel::select(diesel::dsl::exists(
        csat_surveys::table
            .filter(csat_surveys::ticket_id.eq(s.ticket_id))
            .filter(csat_surveys::resolved_at.eq(s.resolved_at)),
    ))
    .get_result(c)?;
    if exists {
        return Ok(false);
    }
    diesel::insert_into(csat_surveys::table)
        .values(s)
        .execute(c)?;
    Ok(true)
}

/// The ticket reopened: its survey not yet sent is cancelled.
pub fn cancel_scheduled_surveys(c: &mut Conn, ticket: i64, reason: &str) -> QueryResult<usize> {
    diesel::update(
        csat_surveys::table
            .filter(csat_surveys::ticket_id.eq(ticket))
            .filter(csat_surveys::state.eq("scheduled")),
    )
    .set((
        csat_surveys::state.eq("cancelled"),
        csat_surveys::reason.eq(reason),
    ))
    .execute(c)
}

/// Surveys due at `now`, oldest first.
pub fn due_surveys(c: &mut Conn, now: i64, limit: i64) -> QueryResult<Vec<SurveyRow>> {
    csat_surveys::table
        .filter(csat_surveys::state.eq("scheduled"))
        .filter(csat_surveys::due_at.le(now))
        .order(csat_surveys::due_at)
        .limit(limit)
        .select(SurveyRow::as_select())
        .load(c)
}

/// Moves a survey on from `from` (only if it is still there: the claim that makes a survey go
/// out once across instances). Returns whether it moved.
pub fn move_survey(
    c: &mut Conn,
    id: i64,
    from: &str,
    to: &str,
    reason: Option<&str>,
    asked_at: Option<i64>,
) -> QueryResult<bool> {
    let n = diesel::update(
        csat_surveys::table
            .filter(csat_surveys::id.eq(id))
            .filter(csat_surveys::state.eq(from)),
    )
    .set((
        csat_surveys::state.eq(to),
        csat_surveys::reason.eq(reason),
        csat_surveys::asked_at.eq(asked_at),
    ))
    .execute(c)?;
    Ok(n == 1)
}

pub fn survey(c: &mut Conn, id: i64) -> QueryResult<Option<SurveyRow>> {
    csat_surveys::table
        .find(id)
        .select(SurveyRow::as_select())
        .first(c)
        .optional()
}

/// The ticket's newest survey that went out (sent or answered): what a reply answers and what
/// `ticket --json` shows.
pub fn latest_survey(c: &mut Conn, ticket: i64) -> QueryResult<Option<SurveyRow>> {
    csat_surveys::table
        .filter(csat_surveys::ticket_id.eq(ticket))
        .filter(csat_surveys::state.eq_any(["sent", "answered"]))
        .order(csat_surveys::asked_at.desc())
        .select(SurveyRow::as_select())
        .first(c)
        .optional()
}

/// Records an answer to a sent survey; `false` when it was answered already (single use).
pub fn answer_survey(
    c: &mut Conn,
    id: i64,
    score: u8,
    comment: &str,
    via: &str,
    now: i64,
) -> QueryResult<bool> {
    let n = diesel::update(
        csat_surveys::table
            .filter(csat_surveys::id.eq(id))
            .filter(csat_surveys::state.eq("sent")),
    )
    .set((
        csat_surveys::state.eq("answered"),
        csat_surveys::score.eq(Some(i32::from(score))),
        csat_surveys::comment.eq((!comment.is_empty()).then_some(comment)),
        csat_surveys::answered_at.eq(Some(now)),
        csat_surveys::answered_via.eq(Some(via)),
    ))
    .execute(c)?;
    Ok(n == 1)
}

/// A survey that went out, for the figures: (queue, assignee at resolution, score if answered).
pub type AskedSurvey = (String, Option<String>, Option<i32>);

/// The surveys that went out since `since`.
pub fn asked_surveys(c: &mut Conn, since: i64) -> QueryResult<Vec<AskedSurvey>> {
    csat_surveys::table
        .filter(csat_surveys::state.eq_any(["sent", "answered"]))
        .filter(csat_surveys::asked_at.ge(since))
        .select((
            csat_surveys::queue,
            csat_surveys::assignee,
            csat_surveys::score,
        ))
        .load(c)
}

/// Who opened the ticket (the actor of its `created` event).
pub fn ticket_opened_by(c: &mut Conn, ticket: i64) -> QueryResult<Option<String>> {
    events::table
        .filter(events::ticket_id.eq(ticket))
        .filter(events::kind.eq("created"))
        .order(events::id)
        .select(events::actor)
        .first(c)
        .optional()
}

/// [`latest_survey`] of each of `tickets` that has one.
pub fn latest_surveys(c: &mut Conn, tickets: &[i64]) -> QueryResult<HashMap<i64, SurveyRow>> {
    let mut out: HashMap<i64, SurveyRow> = HashMap::new();
    for chunk in tickets.chunks(500) {
        let rows: Vec<SurveyRow> = csat_surveys::table
            .filter(in_list!(csat_surveys::ticket_id, chunk))
            .filter(csat_surveys::state.eq_any(["sent", "answered"]))
            .select(SurveyRow::as_select())
            .load(c)?;
        for r in rows {
            let newer = out
                .get(&r.ticket_id)
                .is_none_or(|o| r.asked_at > o.asked_at);
            if newer {
                out.insert(r.ticket_id, r);
            }
        }
    }
    Ok(out)
}

/// Those of `tickets` that have an event of `kind`.
pub fn tickets_with_event(
    c: &mut Conn,
    tickets: &[i64],
    kind: &str,
) -> QueryResult<std::collections::HashSet<i64>> {
    Ok(events::table
        .filter(in_list!(events::ticket_id, tickets))
        .filter(events::kind.eq(kind))
        .select(events::ticket_id)
        .distinct()
        .load::<i64>(c)?
        .into_iter()
        .collect())
}
