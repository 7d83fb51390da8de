//! The database: SQLite (embedded default, WAL) or PostgreSQL, chosen by the URL scheme, behind
//! one diesel connection type. Migrations for both are embedded in the binary.

#[cfg(test)]
pub mod backend_tests;
pub mod in_list;
pub mod leases;
pub mod models;
pub mod schema;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either supported database.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Errors at the database boundary.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {url}: {message}")]
    Connect { url: String, message: String },
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("database: {0}")]
    Query(#[from] diesel::result::Error),
    /// A SQLite connection could not be set back to `synchronous = FULL`: its commits would no
    /// longer survive a power cut, so it must be closed and opened again.
    /// A connection shared between tasks was poisoned by a panic while in use.
    #[error("database: the connection is poisoned by an earlier panic")]
    Poisoned,
    /// A batch of a mailbox's mail was not stored: this instance no longer holds the
    /// mailbox's lease (it stalled past it and another instance took the mailbox over).
    #[error("the lease of mailbox '{0}' was lost; the batch is left to its new holder")]
    LeaseLost(String),
    #[error("database: could not restore synchronous = FULL on the SQLite connection ({0}); reopening it")]
    Durability(String),
}

/// What kind of failure a database error is, for deciding what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The connection is gone or unusable: retry later on a new one.
    Connection,
    /// Another writer holds the database (SQLite `SQLITE_BUSY`) or a serialisation conflict:
    /// retry later.
    Busy,
    /// The disk failed or is full: retry later, nothing in the data is wrong.
    Disk,
    /// The statement or the data: retrying the same thing fails the same way.
    Data,
}

/// Classifies a database error. By diesel's error kind where it has one; SQLite reports busy
/// and disk errors only as their message (diesel does not pass the result code on), so those
/// are recognised here, in this one place, by SQLite's fixed texts.
pub fn classify(e: &diesel::result::Error) -> Failure {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | Error::BrokenTransactionManager => Failure::Connection,
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => Failure::Busy,
        Error::DatabaseError(_, info) => {
            let m = info.message();
            if m.contains("database is locked") || m.contains("database table is locked") {
                Failure::Busy
            } else if m.contains("disk I/O error") || m.contains("database or disk is full") {
                Failure::Disk
            } else {
                Failure::Data
            }
        }
        _ => Failure::Data,
    }
}

impl StoreError {
    /// True when retrying later may succeed (the database is busy, locked or unreachable),
    /// as opposed to a problem in the data or the schema.
    pub fn is_temporary(&self) -> bool {
        match self {
            StoreError::Connect { .. } | StoreError::Durability(_) => true,
            StoreError::Migration(_) | StoreError::LeaseLost(_) | StoreError::Poisoned => false,
            StoreError::Query(e) => classify(e) != Failure::Data,
        }
    }
}

/// Hides the secrets of a database URL for messages: the password of its user part
/// (`postgres://u:***@host/db`, however many `@` it holds) and the values of its `password` and
/// `sslpassword` query parameters. Over-hides rather than leaks when the URL is odd.
pub fn redact_url(url: &str) -> String {
    let url = redact_query(url);
    let Some(s) = url.find("://") else {
        return url;
    };
    let rest = &url[s + 3..];
    match rest.rfind('@') {
        Some(at) => {
            let user = &rest[..at];
            let shown = match user.split_once(':') {
                Some((name, _)) => format!("{name}:***"),
                None if user.contains("***") => "***".to_string(),
                None => user.to_string(),
            };
            format!("{}{shown}{}", &url[..s + 3], &rest[at..])
        }
        None => url,
    }
}

/// The query parameters that carry secrets.
const SECRET_PARAMS: [&str; 2] = ["password", "sslpassword"];

/// `url` with the values of [`SECRET_PARAMS`] replaced by `***`.
fn redact_query(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(i) = rest.find(['?', '&']) {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let end = rest.find('&').unwrap_or(rest.len());
        match rest[..end].split_once('=') {
            Some((k, _)) if SECRET_PARAMS.contains(&k) => {
                out.push_str(k);
                out.push_str("=***");
                rest = &rest[end..];
            }
            _ => {}
        }
    }
    out.push_str(rest);
    out
}

/// The secrets written in a database URL, as written and percent-decoded.
fn url_secrets(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(s) = url.find("://") {
        let rest = &url[s + 3..];
        if let Some((user, _)) = rest.rsplit_once('@') {
            if let Some((_, password)) = user.split_once(':') {
                found.push(password.to_string());
            }
        }
    }
    for part in url.split(['?', '&']).skip(1) {
        if let Some((k, v)) = part.split_once('=') {
            if SECRET_PARAMS.contains(&k) {
                found.push(v.to_string());
            }
        }
    }
    let decoded: Vec<String> = found.iter().map(|v| percent_decode(v)).collect();
    found.extend(decoded);
    found.retain(|v| !v.is_empty());
    // Longest first, so a secret that contains another is hidden whole.
    found.sort_by_key(|v| std::cmp::Reverse(v.len()));
    found.dedup();
    found
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|c| hex(*c)),
            b.get(i + 2).and_then(|c| hex(*c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `text` (a driver's message about `url`, which may quote parts of it) with every secret of
/// the URL replaced by `***`.
pub fn redact_in(text: &str, url: &str) -> String {
    url_secrets(url).iter().fold(text.to_string(), |t, secret| {
        t.replace(secret.as_str(), "***")
    })
}

/// How long a PostgreSQL connection attempt may take when the URL does not say
/// (`connect_timeout`, seconds): libpq's own default is to wait for ever on a server that
/// accepts the TCP connection but never answers.
const PG_CONNECT_TIMEOUT_SECS: u32 = 10;

/// `url` with `connect_timeout` added unless it names one.
fn with_connect_timeout(url: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    if query
        .split('&')
        .any(|kv| kv.split('=').next() == Some("connect_timeout"))
    {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}connect_timeout={PG_CONNECT_TIMEOUT_SECS}")
}

/// Opens the database named by `url` (`sqlite://PATH` or `postgres://…`). A relative SQLite
/// path is taken from the current directory; its parent directory is created if missing.
pub fn connect(url: &str) -> Result<AnyConnection, StoreError> {
    let fail = |message: String| StoreError::Connect {
        url: redact_url(url),
        message: redact_in(&message, url),
    };
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err(fail("the URL names no file (sqlite://PATH)".into()));
        }
        if path != ":memory:" {
            if let Some(dir) = std::path::Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir)
                    .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
            }
        }
        let new_file = path == ":memory:" || !std::path::Path::new(path).exists();
        let mut c = SqliteConnection::establish(path).map_err(|e| fail(e.to_string()))?;
        // First of all: wait for other processes' locks instead of failing at once.
        c.batch_execute("PRAGMA busy_timeout = 30000;")
            .map_err(|e| fail(e.to_string()))?;
        // Two processes setting up a brand-new file can make SQLite report a lock conflict at
        // once rather than wait (switching to WAL needs the file to itself): try again briefly.
        let mut tries = 0;
        loop {
            match sqlite_setup(&mut c, new_file) {
                Ok(()) => break,
                Err(e) if tries < 300 && classify(&e) == Failure::Busy => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20 + fastrand::u64(..30)));
                }
                Err(e) => return Err(fail(e.to_string())),
            }
        }
        Ok(AnyConnection::Sqlite(c))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let c =
            PgConnection::establish(&with_connect_timeout(url)).map_err(|e| fail(e.to_string()))?;
        Ok(AnyConnection::Postgresql(c))
    } else {
        Err(fail(
            "expected a URL starting with sqlite:// or postgres://".into(),
        ))
    }
}

/// Whether the open database is in WAL mode. Asked through the connection, never by opening
/// the file a second time: closing any other descriptor of the file would drop this process's
/// POSIX locks on it, and another process's SQLite, seeing no locks, would then take itself for
/// the last user and delete the WAL that this process is still writing to.
fn is_wal(c: &mut SqliteConnection) -> bool {
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    diesel::sql_query("PRAGMA journal_mode")
        .load::<Mode>(c)
        .ok()
        .and_then(|m| m.into_iter().next())
        .is_some_and(|m| m.journal_mode.eq_ignore_ascii_case("wal"))
}

/// The newest migration version this binary knows.
fn newest_migration(conn: &AnyConnection) -> Option<String> {
    use diesel::migration::MigrationSource;
    let versions: Vec<String> = match conn {
        AnyConnection::Sqlite(_) => {
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                .ok()?
                .iter()
                .map(|m| m.name().version().to_string())
                .collect()
        }
        AnyConnection::Postgresql(_) => {
            MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)
                .ok()?
                .iter()
                .map(|m| m.name().version().to_string())
                .collect()
        }
    };
    versions.into_iter().max()
}

/// True when the database already has this binary's newest migration: one indexed read,
/// instead of the migration harness's table set-up and full listing, on every process start.
fn schema_is_current(conn: &mut AnyConnection) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let Some(newest) = newest_migration(conn) else {
        return false;
    };
    let q = diesel::sql_query("SELECT version FROM __diesel_schema_migrations WHERE version = $1")
        .bind::<diesel::sql_types::Text, _>(&newest);
    let found: Result<Vec<Version>, _> = match conn {
        AnyConnection::Sqlite(c) => {
            diesel::sql_query("SELECT version FROM __diesel_schema_migrations WHERE version = ?")
                .bind::<diesel::sql_types::Text, _>(&newest)
                .load(c)
        }
        AnyConnection::Postgresql(c) => q.load(c),
    };
    found
        .map(|v| v.iter().any(|r| r.version == newest))
        .unwrap_or(false)
}

/// The per-connection SQLite settings, and for a new file its page size and WAL mode.
fn sqlite_setup(c: &mut SqliteConnection, new_file: bool) -> diesel::QueryResult<()> {
    if new_file {
        // Mail is stored whole: 8 KiB pages keep a typical mail in fewer overflow pages than
        // 4 KiB (faster bulk imports) without making each one-mail commit of an MTA pipe write
        // much more. Only a new file can take a page size (on an existing one this does nothing).
        c.batch_execute("PRAGMA page_size = 8192;")?;
    }
    // WAL lets readers run beside the writer. The mode is stored in the file, so it is only set
    // when the file is not in WAL mode yet (bytes 18 and 19 of the header are 2 in WAL).
    if new_file || !is_wal(c) {
        c.batch_execute("PRAGMA journal_mode = WAL;")?;
    }
    // synchronous=FULL makes every commit durable across power loss, not only across a crash
    // of the process. temp_store=MEMORY keeps statement journals (the undo of one statement
    // inside a transaction, which every insert under a foreign key has) in memory: in a file,
    // a batch of mail wrote several pages to it per mail.
    c.batch_execute(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -32000; \
         PRAGMA temp_store = MEMORY;",
    )
}

/// Applies pending migrations; returns the versions applied. Two processes opening a new
/// database race to migrate it: the loser's migration fails on the tables the winner made, and
/// once the winner is done that is no error.
pub fn migrate(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    /// Key of the PostgreSQL advisory lock that serialises migrations across processes.
    const MIGRATION_LOCK: i64 = 0x706f_7374_6465_736b; // "postdesk"
    let mut last_error = String::new();
    for attempt in 0..50 {
        let applied = match conn {
            AnyConnection::Sqlite(c) => c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>())
                .map_err(|e| e.to_string()),
            AnyConnection::Postgresql(c) => {
                let lock = diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                    .execute(c);
                let applied = lock.map_err(|e| e.to_string()).and_then(|_| {
                    c.run_pending_migrations(POSTGRES_MIGRATIONS)
                        .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>())
                        .map_err(|e| e.to_string())
                });
                let _ = diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                    .execute(c);
                applied
            }
        };
        match applied {
            Ok(v) => return Ok(v),
            // Another process migrating the same new database at the same moment: once it has
            // committed, there is nothing left to do (or the rest can be done).
            Err(_) if schema_is_current(conn) => return Ok(Vec::new()),
            Err(e) => last_error = e,
        }
        if attempt < 49 {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    Err(StoreError::Migration(last_error))
}

/// Whether migrations are still to be applied (`check` reports it).
pub fn has_pending_migrations(conn: &mut AnyConnection) -> Result<bool, StoreError> {
    let pending = match conn {
        AnyConnection::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        AnyConnection::Postgresql(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
    };
    pending.map_err(|e| StoreError::Migration(e.to_string()))
}

/// Runs `f` with SQLite commits that do not wait for the disk (synchronous=NORMAL: safe across a
/// crash of the process, but the last commits may be lost on power loss until the next sync).
/// Only for writes whose loss is harmless, such as marking an idempotent delivery done: losing
/// the mark repeats the delivery, which changes nothing. Should the connection refuse to go back
/// to `synchronous = FULL`, the answer is [`StoreError::Durability`] (whatever `f` returned): the
/// caller must not write through that connection again (see [`reopen_if_less_durable`]).
pub fn with_relaxed_sync<T, E: From<StoreError>>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E> {
    let AnyConnection::Sqlite(_) = conn else {
        return f(conn);
    };
    // Failing to relax is harmless: the writes are then as durable as any.
    let relaxed = conn.batch_execute("PRAGMA synchronous = NORMAL;").is_ok();
    let out = f(conn);
    if relaxed {
        if let Err(e) = conn.batch_execute("PRAGMA synchronous = FULL;") {
            return Err(StoreError::Durability(e.to_string()).into());
        }
    }
    out
}

/// After [`StoreError::Durability`], replaces the connection with a fresh one (opened with
/// `synchronous = FULL`); any other error leaves it as it is.
pub fn reopen_if_less_durable(
    conn: &mut AnyConnection,
    url: &str,
    error: &StoreError,
) -> Result<(), StoreError> {
    if let StoreError::Durability(_) = error {
        *conn = connect(url)?;
    }
    Ok(())
}

/// Ends a short-lived process's use of the database. For SQLite, the last connection to close
/// would checkpoint and then delete the `-wal` and `-shm` files, which the next process must
/// create again: on a busy MTA pipe that file churn costs more than the mail itself. Instead the
/// WAL is checkpointed and truncated to zero bytes (everything committed is then in the main
/// file), and the connection is left for process exit to release, which keeps the two files.
pub fn finish(conn: AnyConnection) {
    match conn {
        AnyConnection::Sqlite(mut c) => {
            if let Err(e) = c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);") {
                tracing::debug!(error = %e, "wal checkpoint at exit");
            }
            std::mem::forget(c);
        }
        AnyConnection::Postgresql(c) => drop(c),
    }
}

/// A connection for a short-lived process (a CLI command): dropped, it ends with [`finish`], so
/// the SQLite WAL files stay for the next process instead of being deleted and made again.
pub struct ShortLived(Option<AnyConnection>);

impl ShortLived {
    pub fn new(conn: AnyConnection) -> Self {
        ShortLived(Some(conn))
    }
}

impl std::ops::Deref for ShortLived {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        // Only `drop` takes the connection out.
        self.0.as_ref().expect("connection present until drop")
    }
}

impl std::ops::DerefMut for ShortLived {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.0.as_mut().expect("connection present until drop")
    }
}

impl Drop for ShortLived {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            finish(c);
        }
    }
}

/// Opens the database and applies pending migrations.
pub fn open(url: &str) -> Result<AnyConnection, StoreError> {
    let mut conn = connect(url)?;
    if !schema_is_current(&mut conn) {
        migrate(&mut conn)?;
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_gets_a_connect_timeout_unless_it_names_one() {
        assert_eq!(
            with_connect_timeout("postgres://u@h/db"),
            "postgres://u@h/db?connect_timeout=10"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?sslmode=require"),
            "postgres://u@h/db?sslmode=require&connect_timeout=10"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?sslmode=require&connect_timeout=3"),
            "postgres://u@h/db?sslmode=require&connect_timeout=3"
        );
    }

    /// A connection that cannot go back to `synchronous = FULL` (here: `f` left a transaction
    /// open, where SQLite refuses to change it) is reported, never kept silently less durable.
    #[test]
    fn a_failed_restore_of_synchronous_full_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let mut c = open(&url).unwrap();
        let sync = |c: &mut AnyConnection| -> i32 {
            #[derive(diesel::QueryableByName)]
            struct S {
                #[diesel(sql_type = diesel::sql_types::Integer)]
                synchronous: i32,
            }
            let AnyConnection::Sqlite(s) = c else {
                unreachable!("opened as SQLite")
            };
            diesel::sql_query("PRAGMA synchronous")
                .get_result::<S>(s)
                .unwrap()
                .synchronous
        };
        assert_eq!(sync(&mut c), 2, "opened with synchronous = FULL");
        let ok: Result<(), StoreError> = with_relaxed_sync(&mut c, |_| Ok(()));
        assert!(ok.is_ok());
        assert_eq!(sync(&mut c), 2, "FULL again after a relaxed write");

        let r: Result<(), StoreError> = with_relaxed_sync(&mut c, |c| {
            c.batch_execute("BEGIN;")?;
            Ok(())
        });
        let e = r.expect_err("FULL could not be restored inside the open transaction");
        assert!(matches!(e, StoreError::Durability(_)), "{e}");
        c.batch_execute("ROLLBACK;").unwrap();
        reopen_if_less_durable(&mut c, &url, &e).unwrap();
        assert_eq!(sync(&mut c), 2, "the reopened connection is durable");
    }

    #[test]
    fn database_errors_are_classified_in_one_place() {
        use diesel::result::{DatabaseErrorKind as K, Error};
        let db = |k: K, m: &str| Error::DatabaseError(k, Box::new(m.to_string()));
        for (e, want) in [
            (
                db(K::ClosedConnection, "server closed"),
                Failure::Connection,
            ),
            (Error::BrokenTransactionManager, Failure::Connection),
            (
                db(K::SerializationFailure, "could not serialize"),
                Failure::Busy,
            ),
            (db(K::Unknown, "database is locked"), Failure::Busy),
            (db(K::Unknown, "disk I/O error"), Failure::Disk),
            (db(K::Unknown, "database or disk is full"), Failure::Disk),
            (
                db(K::UniqueViolation, "UNIQUE constraint failed"),
                Failure::Data,
            ),
            (db(K::Unknown, "no such table: x"), Failure::Data),
            (Error::NotFound, Failure::Data),
        ] {
            assert_eq!(classify(&e), want, "{e}");
        }
        assert!(StoreError::Query(db(K::Unknown, "database is locked")).is_temporary());
        assert!(!StoreError::LeaseLost("support".into()).is_temporary());
        assert!(!StoreError::Query(Error::NotFound).is_temporary());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://var/x.db"), "sqlite://var/x.db");
        // Every form a secret takes in a URL, and odd URLs: the secret never shows.
        for (url, secret) in [
            ("postgres://u:p@ss@h/db", "p@ss"),
            ("postgres://u:p%40ss@h/db", "p%40ss"),
            ("postgres://u@h/db?password=s3cret", "s3cret"),
            (
                "postgres://h/db?sslmode=require&password=s3cret&x=1",
                "s3cret",
            ),
            (
                "postgres://h/db?password=s3cret&application_name=a@b",
                "s3cret",
            ),
            ("postgres://u:s3cret@h/db?options=-c%20x@y", "s3cret"),
            ("postgresql://u:s3:cret@h:5432/db", "s3:cret"),
            ("postgres://u:s3cret@h/db?sslpassword=k3y", "k3y"),
        ] {
            let shown = redact_url(url);
            assert!(!shown.contains(secret), "{url} -> {shown}");
            assert!(shown.contains("***"), "{url} -> {shown}");
        }
        assert_eq!(
            redact_url("postgres://u@h/db?sslmode=require&password=x&application_name=pd"),
            "postgres://u@h/db?sslmode=require&password=***&application_name=pd"
        );
        // A driver's message that quotes the URL's parts, raw or decoded.
        let url = "postgres://u:p%zz%40ss@h/db?password=other";
        let msg = "invalid percent-encoded token: \"p%zz%40ss\"; p%zz@ss; other";
        let shown = redact_in(msg, url);
        assert!(
            !shown.contains("p%zz") && !shown.contains("other"),
            "{shown}"
        );
    }
}
