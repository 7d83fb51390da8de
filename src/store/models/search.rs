//! The full-text index (`search_docs`): an FTS5 table on SQLite, a tsvector with a GIN index on
//! PostgreSQL, each written and read in its own SQL. What is indexed is the stems of
//! [`crate::search::stems`]; a query is [`crate::search::Query`], which holds stems alone.

use diesel::sql_types::{BigInt, Double, Nullable, Text};

use super::*;
use crate::search::Query;

/// The most text kept per row for snippets (the stems cover all of it).
const KEEP_TEXT: usize = 1000;

/// A query matching more rows than this (a word in most mails) ranks the newest this many: the
/// cost of ranking stays bounded, and in a help desk the newest matter most. Articles are
/// always all ranked.
const RANKED: i64 = 2000;

/// Row ids: subjects and messages count up from 1; articles have negative ones, so that they
/// are found, replaced and ranked apart by an id range, never by a scan of the index: the
/// files' articles -1, -2, ..., a saved article one of its own from its name.
const SAVED_ARTICLES: i64 = 1 << 40;

fn saved_article_rowid(name: &str) -> i64 {
    // FNV-1a: the same id for a name on every run and machine.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    -SAVED_ARTICLES - (h % SAVED_ARTICLES as u64) as i64
}

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

/// Indexes `text` as a row of `kind` (`ticket`: a subject, or `message`).
pub fn index_doc(
    c: &mut Conn,
    kind: &str,
    ticket_id: Option<i64>,
    name: Option<&str>,
    text: &str,
) -> QueryResult<()> {
    insert_doc(c, None, kind, ticket_id, name, text)
}

/// Indexes (again) the saved article `name`.
pub fn index_saved_article(c: &mut Conn, name: &str, title: &str, body: &str) -> QueryResult<()> {
    unindex_article(c, name)?;
    let text = crate::knowledge::index_text(title, body);
    insert_doc(
        c,
        Some(saved_article_rowid(name)),
        "article",
        None,
        Some(name),
        &text,
    )
}

/// Inserts a row, with `rowid` as its id when given (the files' articles have negative ones:
/// they are replaced by an id range, not by a scan of the whole index).
fn insert_doc(
    c: &mut Conn,
    rowid: Option<i64>,
    kind: &str,
    ticket_id: Option<i64>,
    name: Option<&str>,
    text: &str,
) -> QueryResult<()> {
    let stems = crate::search::stems(text);
    if stems.is_empty() {
        return Ok(());
    }
    if rowid.is_none() {
        let deferred = DEFERRED.with(|d| {
            d.borrow_mut().as_mut().map(|docs| {
                docs.push(Doc {
                    k: kind.to_string(),
                    t: ticket_id,
                    n: name.map(str::to_string),
                    x: cut(text).to_string(),
                    s: stems.clone(),
                })
            })
        });
        if deferred.is_some() {
            return Ok(());
        }
    }
    let sql = match c {
        AnyConnection::Sqlite(_) => {
            "INSERT INTO search_docs (rowid, kind, ticket_id, name, text, stems) \
             VALUES (?, ?, ?, ?, ?, ?)"
        }
        AnyConnection::Postgresql(_) => {
            "INSERT INTO search_docs (id, kind, ticket_id, name, text, stems) \
             VALUES (COALESCE($1, nextval(pg_get_serial_sequence('search_docs', 'id'))), \
                     $2, $3, $4, $5, to_tsvector('simple', $6))"
        }
    };
    diesel::sql_query(sql)
        .bind::<Nullable<BigInt>, _>(rowid)
        .bind::<Text, _>(kind)
        .bind::<Nullable<BigInt>, _>(ticket_id)
        .bind::<Nullable<Text>, _>(name)
        .bind::<Text, _>(cut(text))
        .bind::<Text, _>(&stems)
        .execute(c)?;
    Ok(())
}

/// A row waiting for [`write_deferred`] (short keys: the rows travel as one JSON array).
#[derive(serde::Serialize)]
struct Doc {
    k: String,
    t: Option<i64>,
    n: Option<String>,
    x: String,
    s: String,
}

thread_local! {
    /// The rows of this thread's [`Deferral`], when one is open.
    static DEFERRED: std::cell::RefCell<Option<Vec<Doc>>> = const { std::cell::RefCell::new(None) };
}

/// While held, [`index_doc`] on this thread gathers its rows for [`write_deferred`] instead of
/// inserting each: a batch's rows go in as one statement. Each statement of a transaction that
/// may need undoing on its own (an insert under a foreign key, an insert into the FTS5 table
/// itself) makes FTS5 write what it holds in memory as a new segment; row by row, a batch of
/// mail made several small segments per mail, and merging them cost as much as storing the
/// mail. Dropping the deferral forgets rows not written (their transaction is being rolled
/// back).
#[must_use]
pub struct Deferral(());

impl Deferral {
    pub fn begin() -> Deferral {
        DEFERRED.with(|d| *d.borrow_mut() = Some(Vec::new()));
        Deferral(())
    }

    /// Forgets the rows gathered since the last write (their savepoint was rolled back).
    pub fn discard(&self) {
        DEFERRED.with(|d| {
            if let Some(docs) = d.borrow_mut().as_mut() {
                docs.clear();
            }
        });
    }
}

impl Drop for Deferral {
    fn drop(&mut self) {
        DEFERRED.with(|d| *d.borrow_mut() = None);
    }
}

/// Inserts the rows gathered under the open [`Deferral`], in one statement, in the order they
/// were indexed.
pub fn write_deferred(c: &mut Conn) -> QueryResult<()> {
    let docs = DEFERRED.with(|d| {
        d.borrow_mut()
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    });
    if docs.is_empty() {
        return Ok(());
    }
    let json = serde_json::to_string(&docs).expect("rows of strings and numbers serialise");
    let sql = match c {
        AnyConnection::Sqlite(_) => {
            "INSERT INTO search_docs (kind, ticket_id, name, text, stems) \
             SELECT value ->> 'k', value ->> 't', value ->> 'n', value ->> 'x', value ->> 's' \
             FROM json_each(?) ORDER BY key"
        }
        AnyConnection::Postgresql(_) => {
            "INSERT INTO search_docs (kind, ticket_id, name, text, stems) \
             SELECT d.k, d.t, d.n, d.x, to_tsvector('simple', d.s) \
             FROM ROWS FROM (json_to_recordset($1::json) \
                  AS (k text, t bigint, n text, x text, s text)) WITH ORDINALITY \
                  AS d(k, t, n, x, s, i) ORDER BY d.i"
        }
    };
    diesel::sql_query(sql).bind::<Text, _>(&json).execute(c)?;
    Ok(())
}

/// Removes a saved article's row (before it is indexed again).
pub fn unindex_article(c: &mut Conn, name: &str) -> QueryResult<()> {
    let sql = match c {
        AnyConnection::Sqlite(_) => "DELETE FROM search_docs WHERE rowid = ?",
        AnyConnection::Postgresql(_) => "DELETE FROM search_docs WHERE id = $1",
    };
    diesel::sql_query(sql)
        .bind::<BigInt, _>(saved_article_rowid(name))
        .execute(c)?;
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

/// The best `limit` rows for `q`: articles, and the best of the newest [`RANKED`] subjects and
/// messages that match; best first.
pub fn search_docs(c: &mut Conn, q: &Query, limit: i64) -> QueryResult<Vec<SearchRow>> {
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<SearchRow> = match c {
        AnyConnection::Sqlite(s) => {
            let m = q.fts5();
            let mut rows: Vec<SearchRow> = diesel::sql_query(
                "SELECT * FROM (SELECT kind, CAST(ticket_id AS INTEGER) AS ticket_id, name, text, \
                        -bm25(search_docs) AS score \
                 FROM search_docs WHERE search_docs MATCH ? AND rowid > 0 \
                 ORDER BY rowid DESC LIMIT ?) ORDER BY score DESC LIMIT ?",
            )
            .bind::<Text, _>(&m)
            .bind::<BigInt, _>(RANKED)
            .bind::<BigInt, _>(limit)
            .load(s)?;
            rows.extend(
                diesel::sql_query(
                    "SELECT kind, ticket_id, name, text, -bm25(search_docs) AS score \
                     FROM search_docs WHERE search_docs MATCH ? AND rowid < 0 \
                     ORDER BY bm25(search_docs) LIMIT ?",
                )
                .bind::<Text, _>(&m)
                .bind::<BigInt, _>(limit)
                .load::<SearchRow>(s)?,
            );
            rows
        }
        AnyConnection::Postgresql(p) => {
            let m = q.tsquery();
            let mut rows: Vec<SearchRow> = diesel::sql_query(
                "SELECT * FROM (SELECT kind, ticket_id, name, text, ts_rank(stems, q)::float8 AS score \
                 FROM search_docs, to_tsquery('simple', $1) q WHERE stems @@ q AND id > 0 \
                 ORDER BY id DESC LIMIT $2) s ORDER BY score DESC LIMIT $3",
            )
            .bind::<Text, _>(&m)
            .bind::<BigInt, _>(RANKED)
            .bind::<BigInt, _>(limit)
            .load(p)?;
            rows.extend(
                diesel::sql_query(
                    "SELECT kind, ticket_id, name, text, ts_rank(stems, q)::float8 AS score \
                     FROM search_docs, to_tsquery('simple', $1) q WHERE stems @@ q AND id < 0 \
                     ORDER BY score DESC LIMIT $2",
                )
                .bind::<Text, _>(&m)
                .bind::<BigInt, _>(limit)
                .load::<SearchRow>(p)?,
            );
            rows
        }
    };
    rows.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(rows)
}

/// How many rows the index holds of what the database stores (the files' articles aside).
pub fn indexed_docs(c: &mut Conn) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let sql = match c {
        AnyConnection::Sqlite(_) => "SELECT COUNT(*) AS n FROM search_docs WHERE rowid > 0",
        AnyConnection::Postgresql(_) => "SELECT COUNT(*) AS n FROM search_docs WHERE id > 0",
    };
    diesel::sql_query(sql).get_result::<N>(c).map(|r| r.n)
}

/// Builds the index again from the tickets, messages and saved articles; how many rows.
pub fn reindex(c: &mut Conn) -> QueryResult<i64> {
    // (an FTS5 table's writes begin with reads of its own: the write lock is taken first, so
    // that another process's commit meanwhile is waited for, not a "database is locked")
    write_lock_first(c)?;
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
        index_saved_article(c, &a.name, &a.title, &a.body)?;
    }
    indexed_docs(c)
}

/// The articles of `[knowledge] dir` in the index, as they are now (rows `file`, replaced).
pub fn sync_file_articles(
    c: &mut Conn,
    files: &std::collections::BTreeMap<String, crate::knowledge::Article>,
) -> QueryResult<()> {
    let sql = match c {
        AnyConnection::Sqlite(_) => "DELETE FROM search_docs WHERE rowid < 0 AND rowid > ?",
        AnyConnection::Postgresql(_) => "DELETE FROM search_docs WHERE id < 0 AND id > $1",
    };
    diesel::sql_query(sql)
        .bind::<BigInt, _>(-SAVED_ARTICLES)
        .execute(c)?;
    for (i, a) in files.values().enumerate() {
        let text = crate::knowledge::index_text(&a.title, &a.body);
        insert_doc(c, Some(-1 - i as i64), "file", None, Some(&a.name), &text)?;
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
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        #[allow(dead_code)]
        r: i64,
    }
    let sql = match c {
        AnyConnection::Sqlite(_) => "SELECT rowid AS r FROM search_docs WHERE rowid > 0 LIMIT 1",
        AnyConnection::Postgresql(_) => "SELECT id AS r FROM search_docs WHERE id > 0 LIMIT 1",
    };
    if !diesel::sql_query(sql).load::<Row>(c)?.is_empty() {
        return Ok(false);
    }
    let any: Option<i64> = messages::table.select(messages::id).first(c).optional()?;
    Ok(any.is_some())
}
