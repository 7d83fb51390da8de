//! Store tests on every backend at hand: SQLite always, and PostgreSQL where `tests/run.sh`
//! names it (`POSTDESK_TEST_PG`; under run.sh or CI its absence is a failure, not a skip).

use diesel::{Connection, PgConnection, RunQueryDsl};

use super::models::{self, NewOutbox};
use super::{open, AnyConnection};

/// A fresh, migrated database; a PostgreSQL one is dropped with it.
pub struct TestDb {
    pub conn: AnyConnection,
    pub backend: &'static str,
    /// The SQLite file's directory, kept while the test runs.
    _dir: Option<tempfile::TempDir>,
    /// The admin URL and the database's name, to drop it.
    pg: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            // Our own connection first, or the DROP waits for it.
            self.conn = AnyConnection::Sqlite(
                diesel::SqliteConnection::establish(":memory:").expect("an in-memory SQLite"),
            );
            if let Ok(mut c) = PgConnection::establish(admin) {
                let _ = diesel::sql_query("SET statement_timeout = '30s'").execute(&mut c);
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut c);
            }
        }
    }
}

/// A fresh database on each backend at hand.
pub fn databases() -> Vec<TestDb> {
    let dir = tempfile::tempdir().expect("a temp dir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut out = vec![TestDb {
        conn: open(&url).expect("open SQLite"),
        backend: "sqlite",
        _dir: Some(dir),
        pg: None,
    }];
    let admin = match std::env::var("POSTDESK_TEST_PG") {
        Ok(a) => a,
        Err(_)
            if std::env::var_os("CI").is_some()
                || std::env::var_os("POSTDESK_TEST_STRICT").is_some() =>
        {
            panic!("POSTDESK_TEST_PG is not set: run the tests with tests/run.sh")
        }
        Err(_) => {
            eprintln!(
                "store test on SQLite only: POSTDESK_TEST_PG is not set (tests/run.sh sets it)"
            );
            return out;
        }
    };
    let admin = if admin.contains('?') {
        admin
    } else {
        format!("{admin}?connect_timeout=10")
    };
    let name = format!(
        "pd_test_unit_{}_{:x}",
        std::process::id(),
        fastrand::u64(..)
    );
    let mut c = PgConnection::establish(&admin).expect("connect to the test PostgreSQL");
    diesel::sql_query("SET statement_timeout = '60s'")
        .execute(&mut c)
        .unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .expect("create a test database");
    let (path, query) = admin.split_once('?').unwrap_or((&admin, ""));
    let base = path.rsplit_once('/').map_or(path, |(b, _)| b);
    let url = format!("{base}/{name}?{query}");
    out.push(TestDb {
        conn: open(&url).expect("open the test PostgreSQL database"),
        backend: "postgres",
        _dir: None,
        pg: Some((admin, name)),
    });
    out
}

fn outbox_row(c: &mut AnyConnection, ticket: Option<i64>, rcpt: &[&str], mid: &str) -> i64 {
    let rcpt = serde_json::to_string(rcpt).unwrap();
    models::insert_outbox(
        c,
        &NewOutbox {
            ticket_id: ticket,
            kind: "ack",
            env_from: "support@example.test",
            rcpt: &rcpt,
            subject: "s",
            message_id: mid,
            raw: b"x",
            status: "sent",
            attempts: 1,
            next_attempt_at: 0,
            created_at: 0,
            held_by: None,
        },
    )
    .unwrap()
}

/// Review of #16: a bounce for `a_b@x` failed the newest mail to `axb@x` (`_` is a wildcard
/// of SQL `LIKE`), and one for `b@x` matched `ab@x`. Now the recipient is matched exactly.
#[test]
fn a_bounced_recipient_is_matched_exactly() {
    for mut db in databases() {
        let c = &mut db.conn;
        let right = outbox_row(c, None, &["a_b@example.test"], "<1@x>");
        let wrong = outbox_row(c, None, &["axb@example.test", "ab@example.test"], "<2@x>");
        let found = models::outbox_latest_to(c, "a_b@example.test").unwrap();
        assert_eq!(found, Some((right, None)), "{}", db.backend);
        assert_eq!(
            models::outbox_latest_to(c, "b@example.test").unwrap(),
            None,
            "{}: a suffix is not the address",
            db.backend
        );
        assert_eq!(
            models::outbox_latest_to(c, "AB@Example.test").unwrap(),
            Some((wrong, None)),
            "{}: case aside",
            db.backend
        );
        assert_eq!(
            models::outbox_latest_to(c, "%@example.test").unwrap(),
            None,
            "{}: a % in the address is literal",
            db.backend
        );
    }
}

/// A column as `schema.rs` declares it: (name, diesel type, nullable).
type Declared = Vec<(String, String, bool)>;

/// The tables of `schema.rs`, read from its `diesel::table!` blocks.
fn declared_schema() -> std::collections::BTreeMap<String, Declared> {
    let text = include_str!("schema.rs");
    let mut out = std::collections::BTreeMap::new();
    let mut rest = text;
    while let Some(at) = rest.find("diesel::table! {") {
        rest = &rest[at + "diesel::table! {".len()..];
        let block = &rest[..rest.find("\n}").expect("a table! block ends")];
        let name = block
            .trim_start()
            .split([' ', '('])
            .next()
            .unwrap()
            .to_string();
        let cols = block
            .lines()
            .filter_map(|l| l.trim().strip_suffix(','))
            .filter_map(|l| l.split_once(" -> "))
            .map(|(c, ty)| match ty.strip_prefix("Nullable<") {
                Some(inner) => (c.to_string(), inner.trim_end_matches('>').to_string(), true),
                None => (c.to_string(), ty.to_string(), false),
            })
            .collect();
        out.insert(name, cols);
    }
    out
}

/// Whether a column type a database reports stores what the diesel type says.
fn type_fits(backend: &str, diesel: &str, db: &str) -> bool {
    let db = db.to_ascii_lowercase();
    match (backend, diesel) {
        ("sqlite", "BigInt") => db == "bigint" || db == "integer",
        ("sqlite", "Integer") => db == "integer",
        ("sqlite", "Text") => db == "text",
        ("sqlite", "Bool") => db == "boolean",
        ("sqlite", "Binary") => db == "blob",
        ("postgres", "BigInt") => db == "bigint",
        ("postgres", "Integer") => db == "integer",
        ("postgres", "Text") => db == "text",
        ("postgres", "Bool") => db == "boolean",
        ("postgres", "Binary") => db == "bytea",
        _ => false,
    }
}

#[derive(diesel::QueryableByName, Debug)]
struct DbColumn {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    data_type: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    nullable: bool,
}

/// Every table and column the migrations make, as the database reports them; but the search
/// index, a backend's own (an FTS5 table and its shadow tables, a table with a tsvector), which
/// store/models/search.rs reads and writes in SQL of each backend's.
fn migrated_schema(c: &mut AnyConnection) -> Vec<DbColumn> {
    match c {
        AnyConnection::Sqlite(s) => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
                    (p.\"notnull\" = 0 AND p.pk = 0) AS nullable \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
               AND m.name <> '__diesel_schema_migrations' AND m.name NOT LIKE 'search_docs%' \
             ORDER BY m.name, p.cid",
        )
        .load(s),
        AnyConnection::Postgresql(p) => diesel::sql_query(
            "SELECT table_name::text, column_name::text, data_type::text, \
                    (is_nullable = 'YES') AS nullable \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations' \
               AND table_name NOT LIKE 'search_docs%' \
             ORDER BY table_name, ordinal_position",
        )
        .load(p),
    }
    .expect("read the migrated schema")
}

/// What differs between the declared tables and a database's: each difference as a line.
fn mismatches(
    backend: &str,
    declared: &std::collections::BTreeMap<String, Declared>,
    found: &[DbColumn],
) -> Vec<String> {
    let mut out = Vec::new();
    let mut tables: std::collections::BTreeMap<&str, Vec<&DbColumn>> = Default::default();
    for col in found {
        tables.entry(&col.table_name).or_default().push(col);
    }
    for t in tables.keys().filter(|t| !declared.contains_key(**t)) {
        out.push(format!("table {t} is not in schema.rs"));
    }
    for (table, cols) in declared {
        let Some(got) = tables.get(table.as_str()) else {
            out.push(format!("table {table} is not in the database"));
            continue;
        };
        for c in got
            .iter()
            .filter(|c| !cols.iter().any(|d| d.0 == c.column_name))
        {
            out.push(format!("{table}.{} is not in schema.rs", c.column_name));
        }
        for (name, ty, nullable) in cols {
            let Some(c) = got.iter().find(|c| &c.column_name == name) else {
                out.push(format!("{table}.{name} is not in the database"));
                continue;
            };
            if !type_fits(backend, ty, &c.data_type) {
                out.push(format!(
                    "{table}.{name} is {} in the database, {ty} in schema.rs",
                    c.data_type
                ));
            }
            if c.nullable != *nullable {
                out.push(format!(
                    "{table}.{name} may be NULL in the database: {}, in schema.rs: {nullable}",
                    c.nullable
                ));
            }
        }
    }
    out
}

/// `schema.rs` is written by hand for both backends: it must say what the migrations make,
/// on each (every table and column, its type and whether it may be NULL), so a migration
/// without its schema line, or a schema line without its migration, fails here.
#[test]
fn schema_rs_matches_what_the_migrations_create() {
    let declared = declared_schema();
    assert!(
        declared.len() >= 10,
        "read {} tables from schema.rs",
        declared.len()
    );
    for mut db in databases() {
        let found = migrated_schema(&mut db.conn);
        let wrong = mismatches(db.backend, &declared, &found);
        assert!(wrong.is_empty(), "{}: {wrong:#?}", db.backend);
        // The comparison sees a difference of each kind.
        let mut altered = declared.clone();
        let tickets = altered.get_mut("tickets").unwrap();
        tickets.retain(|c| c.0 != "time_spent_ms");
        tickets.push(("closed_by".into(), "Text".into(), true));
        let subject = tickets.iter_mut().find(|c| c.0 == "subject").unwrap();
        subject.2 = true;
        let priority = tickets.iter_mut().find(|c| c.0 == "priority").unwrap();
        priority.1 = "BigInt".into();
        let wrong = mismatches(db.backend, &altered, &found);
        assert_eq!(wrong.len(), 4, "{}: {wrong:#?}", db.backend);
    }
}

/// The bundled SQLite plans without looking at bound values (`.cargo/config.toml`): a
/// statement with a bound LIMIT, prepared once, is not prepared again at every use. Seen from
/// outside as the build's compile options, and as the plan of a query whose bound value would
/// otherwise let it use a partial index.
#[test]
fn sqlite_plans_do_not_depend_on_bound_values() {
    use diesel::sql_types::Text;
    #[derive(diesel::QueryableByName)]
    struct Opt {
        #[diesel(sql_type = Text)]
        compile_options: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Plan {
        #[diesel(sql_type = Text)]
        detail: String,
    }
    let mut db = databases().remove(0);
    let c = &mut db.conn;
    let options: Vec<Opt> = diesel::sql_query("PRAGMA compile_options").load(c).unwrap();
    assert!(
        options.iter().any(|o| o.compile_options == "ENABLE_QPSG"),
        "SQLite built without SQLITE_ENABLE_QPSG (LIBSQLITE3_FLAGS in .cargo/config.toml)"
    );
    let plan: Vec<Plan> = diesel::sql_query(
        "EXPLAIN QUERY PLAN SELECT id FROM outbox WHERE status = ? AND held_by = ?",
    )
    .bind::<Text, _>("pending")
    .bind::<Text, _>("me")
    .load(c)
    .unwrap();
    assert!(
        plan.iter().all(|p| !p.detail.contains("outbox_held_by")),
        "the plan looked at the bound 'pending': {:?}",
        plan.iter().map(|p| &p.detail).collect::<Vec<_>>()
    );
}

/// `in_list!` finds the rows of any number of values (text with quotes, none at all) with one
/// statement: prepared and cached at its first use, reused for another number of values. (On
/// SQLite diesel's own `eq_any` is prepared anew at every use and never cached.)
#[test]
fn a_list_of_values_is_one_cached_statement() {
    use super::in_list::in_list;
    use super::schema::outbox;
    use diesel::connection::{Instrumentation, InstrumentationEvent};
    use diesel::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    struct Cached(Arc<AtomicUsize>);
    impl Instrumentation for Cached {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            if let InstrumentationEvent::CacheQuery { .. } = event {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    for mut db in databases() {
        let c = &mut db.conn;
        let a = outbox_row(c, None, &["a@example.test"], "<it's@x>");
        let b = outbox_row(c, None, &["b@example.test"], "<ü\"@x>");
        let _other = outbox_row(c, None, &["c@example.test"], "<other@x>");
        let cached = Arc::new(AtomicUsize::new(0));
        c.set_instrumentation(Cached(cached.clone()));
        let by_mid = |c: &mut AnyConnection, mids: &[&str]| -> Vec<i64> {
            outbox::table
                .filter(in_list!(outbox::message_id, mids))
                .order(outbox::id)
                .select(outbox::id)
                .load(c)
                .unwrap()
        };
        assert_eq!(
            by_mid(c, &["<it's@x>", "<ü\"@x>"]),
            vec![a, b],
            "{}",
            db.backend
        );
        let after_first = cached.load(Ordering::SeqCst);
        assert_eq!(after_first, 1, "{}: prepared and cached once", db.backend);
        assert_eq!(by_mid(c, &["<ü\"@x>", "<none@x>", "<it's@x>"]), vec![a, b]);
        assert_eq!(by_mid(c, &[]), Vec::<i64>::new(), "{}", db.backend);
        assert_eq!(
            cached.load(Ordering::SeqCst),
            after_first,
            "{}: another number of values is the same statement",
            db.backend
        );
        let by_id: Vec<String> = outbox::table
            .filter(in_list!(outbox::id, &[b, a]))
            .order(outbox::id)
            .select(outbox::message_id)
            .load(c)
            .unwrap();
        assert_eq!(by_id, vec!["<it's@x>", "<ü\"@x>"], "{}", db.backend);
    }
}
