//! Knowledge articles saved by agents (`articles`).

use super::*;
use crate::store::schema::articles;

/// A saved article.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct ArticleRow {
    pub name: String,
    pub title: String,
    pub body: String,
    pub saved_by: String,
    pub saved_at: i64,
}

impl ArticleRow {
    /// The article as `#reply` renders it and `kb` shows it.
    pub fn into_article(self) -> crate::knowledge::Article {
        crate::knowledge::Article {
            name: self.name,
            title: self.title,
            body: self.body,
            source: "saved",
            origin: self.saved_by,
            updated_at: Some(self.saved_at),
            first_line: 1,
        }
    }
}

/// Saves the article `name`, replacing one of that name.
pub fn save_article(c: &mut Conn, row: &ArticleRow) -> QueryResult<()> {
    diesel::delete(articles::table.filter(articles::name.eq(&row.name))).execute(c)?;
    diesel::insert_into(articles::table)
        .values((
            articles::name.eq(&row.name),
            articles::title.eq(&row.title),
            articles::body.eq(&row.body),
            articles::saved_by.eq(&row.saved_by),
            articles::saved_at.eq(row.saved_at),
        ))
        .execute(c)?;
    Ok(())
}

pub fn article(c: &mut Conn, name: &str) -> QueryResult<Option<ArticleRow>> {
    articles::table
        .filter(articles::name.eq(name))
        .first(c)
        .optional()
}

/// Every saved article, by name.
pub fn articles(c: &mut Conn) -> QueryResult<Vec<ArticleRow>> {
    articles::table.order(articles::name).load(c)
}

/// The names of the saved articles.
pub fn article_names(c: &mut Conn) -> QueryResult<Vec<String>> {
    articles::table
        .select(articles::name)
        .order(articles::name)
        .load(c)
}
