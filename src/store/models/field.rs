//! Fields of tickets (`ticket_fields`), set by `#set NAME VALUE`.

use super::*;
use crate::store::schema::ticket_fields;

/// Sets (`Some`) or removes (`None`) field `name` of `ticket`.
pub fn set_field(
    c: &mut Conn,
    ticket: i64,
    name: &str,
    value: Option<&str>,
    by: &str,
    now: i64,
) -> QueryResult<()> {
    diesel::delete(
        ticket_fields::table
            .filter(ticket_fields::ticket_id.eq(ticket))
            .filter(ticket_fields::name.eq(name)),
    )
    .execute(c)?;
    if let Some(v) = value {
        diesel::insert_into(ticket_fields::table)
            .values((
                ticket_fields::ticket_id.eq(ticket),
                ticket_fields::name.eq(name),
                ticket_fields::value.eq(v),
                ticket_fields::set_by.eq(by),
                ticket_fields::set_at.eq(now),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// The fields of each of `tickets`, by name.
pub fn fields_of(
    c: &mut Conn,
    tickets: &[i64],
) -> QueryResult<HashMap<i64, std::collections::BTreeMap<String, String>>> {
    let mut out: HashMap<i64, std::collections::BTreeMap<String, String>> = HashMap::new();
    for chunk in tickets.chunks(500) {
        let rows: Vec<(i64, String, String)> = ticket_fields::table
            .filter(ticket_fields::ticket_id.eq_any(chunk))
            .select((
                ticket_fields::ticket_id,
                ticket_fields::name,
                ticket_fields::value,
            ))
            .load(c)?;
        for (t, n, v) in rows {
            out.entry(t).or_default().insert(n, v);
        }
    }
    Ok(out)
}
