//! `column IN (values)` whose SQL does not change with the number of values, so that the
//! prepared statement is reused.
//!
//! diesel writes `eq_any` as `IN (?, ?, …)` on SQLite, one placeholder per value, and marks
//! such a statement as not to be cached: every use is parsed and planned anew, which was a
//! tenth of the time of an agent's reply (`sqlite3_prepare_v3` under the thread lookups, the
//! ticket and link loads). On SQLite [`in_list`] writes `IN (SELECT value FROM json_each(?))`
//! with the values bound as one JSON array; on PostgreSQL it is diesel's `= ANY(?)`, which is
//! one statement already.

use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::Text;
use diesel::QueryResult;

use super::MultiBackend;

/// `column IN values`, as [`diesel::ExpressionMethods::eq_any`] (`any`) on PostgreSQL and
/// against a JSON array (`json`) on SQLite.
#[derive(Debug, Clone)]
pub struct InList<C, E> {
    column: C,
    any: E,
    json: String,
}

impl<C, E> InList<C, E> {
    /// `column IN values`, where `any` is `column.eq_any(values)`; see [`in_list!`].
    pub fn new<T: serde::Serialize>(column: C, any: E, values: &[T]) -> Self {
        InList {
            column,
            any,
            json: serde_json::to_string(values).unwrap_or_else(|_| "[]".into()),
        }
    }
}

/// `in_list!(column, values)`: `column IN values`, one statement whatever the number of
/// values (`values` a slice).
macro_rules! in_list {
    ($column:expr, $values:expr) => {
        $crate::store::in_list::InList::new($column, $column.eq_any($values), $values)
    };
}
pub(crate) use in_list;

impl<C, E: Expression> Expression for InList<C, E> {
    type SqlType = E::SqlType;
}

impl<C, E: AppearsOnTable<QS>, QS: ?Sized> AppearsOnTable<QS> for InList<C, E> where
    InList<C, E>: Expression
{
}

impl<C, E: SelectableExpression<QS>, QS: ?Sized> SelectableExpression<QS> for InList<C, E> where
    InList<C, E>: AppearsOnTable<QS>
{
}

impl<C, E: ValidGrouping<GB>, GB> ValidGrouping<GB> for InList<C, E> {
    type IsAggregate = E::IsAggregate;
}

impl<C, E> QueryId for InList<C, E> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C, E> QueryFragment<MultiBackend> for InList<C, E>
where
    C: QueryFragment<MultiBackend>,
    E: QueryFragment<MultiBackend>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        match out.backend() {
            MultiBackend::Sqlite(_) => {
                out.push_sql("(");
                self.column.walk_ast(out.reborrow())?;
                out.push_sql(" IN (SELECT value FROM json_each(");
                out.push_bind_param::<Text, _>(&self.json)?;
                out.push_sql(")))");
                Ok(())
            }
            _ => self.any.walk_ast(out),
        }
    }
}
