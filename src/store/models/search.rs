//! The full-text index (`search_docs`): an FTS5 table on SQLite, a tsvector with a GIN index on
//! PostgreSQL, each written and read in its own SQL. What is indexed is the stems of
//! [`crate::search::stems`]; a query is [`crate::search::Query`], which holds stems alone.

use diesel::sql_types::{BigInt, Double, Nullable, Text};

use super::*;
use crate::search::Query;

/// The most text kept per row for snippets (the stems cover all of it).
const KEEP_TEXT: usize = 4000;

/// One matching row, best first.
#[derive(Debug, Clone, QueryableByName)]
pub struct SearchRow {
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub ticket_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    #[diesel(sql_type = Text)]
    pub text: String,
    /// Higher is better (bm25 negated on SQLite, ts_rank on PostgreSQL).
    #[diesel(sql_type = Double)]
    pub score: f64,
}

fn cut(text: &str) -> &str {
    match text.char_indices().nth(KEEP_TEXT) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// Indexes `text` as a row of `kind` (`ticket`: a subject, `message`, `article`).
pub fn index_doc(
    c: &mut Conn,
    kind: &str,
    ticket_id: Option<i64>,
    name: Option<&str>,
    text: &str,
) -> QueryResult<()> {
    let stems = crate::search::stems(text);
    if stems.is_empty() {
        return Ok(());
    }
    let sql = match c {
        AnyConnection::Sqlite(_) => {
            "INSERT INTO search_docs (kind, ticket_id, name, text, stems) VALUES (?, ?, ?, ?, ?)"
        }
        AnyConnection::Postgresql(_) => {
            "INSERT INTO search_docs (kind, ticket_id, name, text, stems) \
             VALUES ($1, $2, $3, $4, to_tsvector('simple', $5))"
        }
    };
    diesel::sql_query(sql)
        .bind::<Text, _>(kind)
        .bind::<Nullable<BigInt>, _>(ticket_id)
        .bind::<Nullable<Text>, _>(name)
        .bind::<Text, _>(cut(text))
        .bind::<Text, _>(&stems)
        .execute(c)?;
    Ok(())
}

/// Removes a saved article's row (before it is indexed again).
pub fn unindex_article(c: &mut Conn, name: &str) -> QueryResult<()> {
    let sql = match c {
        AnyConnection::Sqlite(_) => "DELETE FROM search_docs WHERE kind = 'article' AND name = ?",
        AnyConnection::Postgresql(_) => {
            "DELETE FROM search_docs WHERE kind = 'article' AND name = $1"
        }
    };
    diesel::sql_query(sql).bind::<Text, _>(name).execute(c)?;
    Ok(())
}

/// The rows of a ticket merged into another now belong to that one.
pub fn retarget_docs(c: &mut Conn, from: i64, into: i64) -> QueryResult<()> {
    let sql = match c {
        AnyConnection::Sqlite(_) => "UPDATE search_docs SET ticket_id = ? WHERE ticket_id = ?",
        AnyConnection::Postgresql(_) => {
            "UPDATE search_docs SET ticket_id = $1 WHERE ticket_id = $2"
        }
    };
    diesel::sql_query(sql)
        .bind::<BigInt, _>(into)
        .bind::<BigInt, _>(from)
        .execute(c)?;
    Ok(())
}

/// The best `limit` rows for `q`.
pub fn search_docs(c: &mut Conn, q: &Query, limit: i64) -> QueryResult<Vec<SearchRow>> {
    if q.is_empty() {
        return Ok(Vec::new());
    }
    match c {
        AnyConnection::Sqlite(s) => diesel::sql_query(
            "SELECT kind, CAST(ticket_id AS INTEGER) AS ticket_id, name, text, \
                    -bm25(search_docs) AS score \
             FROM search_docs WHERE search_docs MATCH ? ORDER BY bm25(search_docs) LIMIT ?",
        )
        .bind::<Text, _>(q.fts5())
        .bind::<BigInt, _>(limit)
        .load(s),
        AnyConnection::Postgresql(p) => diesel::sql_query(
            "SELECT kind, ticket_id, name, text, ts_rank(stems, q)::float8 AS score \
             FROM search_docs, to_tsquery('simple', $1) q WHERE stems @@ q \
             ORDER BY score DESC LIMIT $2",
        )
        .bind::<Text, _>(q.tsquery())
        .bind::<BigInt, _>(limit)
        .load(p),
    }
}

/// How many rows the index holds of what the database stores (the files' articles aside).
pub fn indexed_docs(c: &mut Conn) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT COUNT(*) AS n FROM search_docs WHERE kind <> 'file'")
        .get_result::<N>(c)
        .map(|r| r.n)
}

/// Builds the index again from the tickets, messages and saved articles; how many rows.
pub fn reindex(c: &mut Conn) -> QueryResult<i64> {
    diesel::sql_query("DELETE FROM search_docs").execute(c)?;
    let subjects: Vec<(i64, String)> = tickets::table
        .select((tickets::id, tickets::subject))
        .load(c)?;
    for (id, subject) in &subjects {
        index_doc(c, "ticket", Some(*id), None, subject)?;
    }
    let mut last = 0i64;
    loop {
        let batch: Vec<(i64, i64, String)> = messages::table
            .filter(messages::id.gt(last))
            .filter(messages::direction.eq("in"))
            .order(messages::id)
            .select((messages::id, messages::ticket_id, messages::text_body))
            .limit(1000)
            .load(c)?;
        let Some(end) = batch.last().map(|b| b.0) else {
            break;
        };
        for (_, ticket, body) in &batch {
            index_doc(c, "message", Some(*ticket), None, body)?;
        }
        last = end;
    }
    for a in articles(c)? {
        index_doc(
            c,
            "article",
            None,
            Some(&a.name),
            &format!("{}\n{}", a.title, a.body),
        )?;
    }
    indexed_docs(c)
}

/// The articles of `[knowledge] dir` in the index, as they are now (rows `file`, replaced).
pub fn sync_file_articles(
    c: &mut Conn,
    files: &std::collections::BTreeMap<String, crate::knowledge::Article>,
) -> QueryResult<()> {
    diesel::sql_query("DELETE FROM search_docs WHERE kind = 'file'").execute(c)?;
    for a in files.values() {
        index_doc(
            c,
            "file",
            None,
            Some(&a.name),
            &format!("{}\n{}", a.title, a.body),
        )?;
    }
    Ok(())
}

/// A search result: a ticket (its best row) or an article.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Hit {
    /// `ticket` or `article`.
    pub kind: &'static str,
    /// The ticket's number (tickets).
    pub id: Option<i64>,
    /// The article's name (articles).
    pub name: Option<String>,
    pub title: String,
    /// The ticket's status (tickets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub score: f64,
    pub snippet: String,
}

/// The best `limit` tickets and articles for `q`: each ticket once, by its best subject or
/// message; a saved article over a file of the same name.
pub fn find(c: &mut Conn, q: &Query, limit: usize) -> QueryResult<Vec<Hit>> {
    let rows = search_docs(c, q, (limit as i64 * 20).max(100))?;
    let mut hits: Vec<Hit> = Vec::new();
    let mut tickets_seen = std::collections::HashMap::new();
    let mut articles_seen = std::collections::HashMap::new();
    for r in rows {
        match (r.kind.as_str(), r.ticket_id, r.name) {
            ("ticket" | "message", Some(t), _) => {
                if tickets_seen.contains_key(&t) {
                    continue;
                }
                tickets_seen.insert(t, hits.len());
                hits.push(Hit {
                    kind: "ticket",
                    id: Some(t),
                    name: None,
                    title: String::new(),
                    status: None,
                    score: r.score,
                    snippet: crate::search::snippet(&r.text, q, 24),
                });
            }
            ("article" | "file", _, Some(name)) => {
                // (rows come best first: a saved article's row and its file's may both match)
                if let Some(&i) = articles_seen.get(&name) {
                    if r.kind == "article" {
                        let h: &mut Hit = &mut hits[i];
                        h.snippet = article_snippet(&r.text, q);
                    }
                    continue;
                }
                articles_seen.insert(name.clone(), hits.len());
                hits.push(Hit {
                    kind: "article",
                    id: None,
                    title: r.text.lines().next().unwrap_or_default().to_string(),
                    name: Some(name),
                    status: None,
                    score: r.score,
                    snippet: article_snippet(&r.text, q),
                });
            }
            _ => {}
        }
        if hits.len() >= limit {
            break;
        }
    }
    let ids: Vec<i64> = tickets_seen.keys().copied().collect();
    let rows: std::collections::HashMap<i64, Ticket> = tickets_by_ids(c, &ids)?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    hits.retain_mut(|h| match h.id {
        Some(id) => match rows.get(&id) {
            Some(t) => {
                h.title = t.subject.clone();
                h.status = Some(t.status.clone());
                true
            }
            // (a ticket gone since: not shown)
            None => false,
        },
        None => true,
    });
    Ok(hits)
}

fn article_snippet(text: &str, q: &Query) -> String {
    let body = text.split_once('\n').map_or(text, |(_, b)| b);
    crate::search::snippet(body, q, 24)
}

/// Whether there are messages but no index (a database from before it).
pub fn search_index_missing(c: &mut Conn) -> QueryResult<bool> {
    if indexed_docs(c)? > 0 {
        return Ok(false);
    }
    let any: Option<i64> = messages::table.select(messages::id).first(c).optional()?;
    Ok(any.is_some())
}
