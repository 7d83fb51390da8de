//! The language each customer is written to in (`contacts`).

use super::*;
use crate::store::schema::contacts;

/// The language stored for `address`, if any.
pub fn contact_language(c: &mut Conn, address: &str) -> QueryResult<Option<String>> {
    contacts::table
        .find(address.to_lowercase())
        .select(contacts::language)
        .first(c)
        .optional()
}

/// Stores `language` for `address`: a rule's choice replaces what was stored; a header's or a
/// detection's is kept only when nothing was (the first mail decides).
pub fn set_contact_language(
    c: &mut Conn,
    address: &str,
    language: &str,
    source: &str,
    now: i64,
) -> QueryResult<()> {
    let address = address.to_lowercase();
    let stored = contact_language(c, &address)?;
    match stored {
        Some(_) if source != "rule" => Ok(()),
        Some(_) => diesel::update(contacts::table.find(&address))
            .set((
                contacts::language.eq(language),
                contacts::source.eq(source),
                contacts::updated_at.eq(now),
            ))
            .execute(c)
            .map(|_| ()),
        None => diesel::insert_into(contacts::table)
            .values((
                contacts::address.eq(&address),
                contacts::language.eq(language),
                contacts::source.eq(source),
                contacts::updated_at.eq(now),
            ))
            .execute(c)
            .map(|_| ()),
    }
}
