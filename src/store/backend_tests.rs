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
