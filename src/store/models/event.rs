//! A ticket's history.

use super::*;

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
    // (a statement of fixed text, prepared once; see `insert_message`)
    use diesel::sql_types::{BigInt, Text};
    let sql = match c {
        AnyConnection::Sqlite(_) => {
            "INSERT INTO events (ticket_id, \"at\", actor, kind, detail) VALUES (?, ?, ?, ?, ?)"
        }
        AnyConnection::Postgresql(_) => {
            "INSERT INTO events (ticket_id, \"at\", actor, kind, detail) \
             VALUES ($1, $2, $3, $4, $5)"
        }
    };
    diesel::sql_query(sql)
        .bind::<BigInt, _>(ticket)
        .bind::<BigInt, _>(at)
        .bind::<Text, _>(actor)
        .bind::<Text, _>(kind)
        .bind::<Text, _>(detail)
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
