//! The harness: a temp dir with a config, a fresh database, and helpers to run the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_postdesk");

/// Tests that use the shared Dovecot and Postfix hold this for reading; a test that restarts one
/// of them holds it for writing, so it never pulls a server from under another test.
pub static SERVERS: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Shared use of the test servers for the rest of the calling test.
pub fn servers_shared() -> std::sync::RwLockReadGuard<'static, ()> {
    SERVERS.read().unwrap_or_else(|e| e.into_inner())
}

/// The backend under test: `sqlite` (default) or `postgres`.
pub fn backend() -> String {
    std::env::var("POSTDESK_TEST_BACKEND").unwrap_or_else(|_| "sqlite".into())
}

/// A value tests/run.sh exports for the real servers. The tests that need one carry an ignore
/// attribute with the reason, so a bare `cargo test` lists them as ignored (never as passed);
/// tests/run.sh runs them with `--include-ignored`, and there a missing value is a failure.
pub fn server_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: this test needs the servers tests/run.sh starts; run it with tests/run.sh")
    })
}

/// The IMAP and SMTP servers and Dovecot's mail root that tests/run.sh starts.
pub fn mail_servers() -> (String, String, String) {
    (
        server_env("POSTDESK_TEST_IMAP"),
        server_env("POSTDESK_TEST_SMTP"),
        server_env("POSTDESK_TEST_MAILROOT"),
    )
}

/// A `[transport]` body for the test Postfix at `hostport` (plain SMTP on loopback).
pub fn smtp_transport(hostport: &str) -> String {
    let (host, port) = hostport.rsplit_once(':').unwrap();
    format!("kind = \"smtp\"\nhost = \"{host}\"\nport = {port}\ntls = \"none\"")
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// One test's world.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub db_url: String,
    pg: Option<(String, String)>,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            if let Ok(mut c) = PgConnection::establish(admin) {
                // Bounded: a DROP that waits on the server (for a backend to let go of the
                // database) leaves a stray database for run.sh to drop rather than a hung test.
                let _ = diesel::sql_query("SET statement_timeout = '30s'").execute(&mut c);
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut c);
            }
        }
    }
}

fn fresh_database(dir: &Path) -> (String, Option<(String, String)>) {
    if backend() != "postgres" {
        return (format!("sqlite://{}/pd.db", dir.display()), None);
    }
    let admin = std::env::var("POSTDESK_TEST_PG")
        .expect("POSTDESK_TEST_PG must name the admin database when testing on PostgreSQL");
    // The harness's own connections give up rather than wait for ever on a stuck server.
    let admin = if admin.contains('?') {
        admin
    } else {
        format!("{admin}?connect_timeout=10")
    };
    let name = format!("pd_test_{}_{:x}", std::process::id(), fastrand::u64(..));
    let mut c = PgConnection::establish(&admin).expect("connect to the test PostgreSQL");
    diesel::sql_query("SET statement_timeout = '60s'")
        .execute(&mut c)
        .unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .expect("create test database");
    let (path, query) = admin.split_once('?').unwrap_or((&admin, ""));
    let base = path.rsplit_once('/').map(|(b, _)| b).unwrap_or(path);
    (
        format!("{base}/{name}?{query}"),
        Some((admin.clone(), name)),
    )
}

/// A connection to a test's SQLite file that waits for a writer's lock, as postdesk's own do
/// (a `serve` checkpointing, or recovering the WAL after a kill -9, holds it for a moment).
fn sqlite(path: &str) -> diesel::SqliteConnection {
    use diesel::connection::SimpleConnection;
    let mut c = diesel::SqliteConnection::establish(path).unwrap();
    c.batch_execute("PRAGMA busy_timeout = 10000;").unwrap();
    c
}

impl Env {
    /// An environment with the standard config plus `extra` TOML appended, and the transport
    /// section replaced by `transport` when given.
    pub fn with(extra: &str, transport: Option<&str>) -> Env {
        let dir = tempfile::Builder::new().prefix("pd.").tempdir().unwrap();
        let (db_url, pg) = fresh_database(dir.path());
        let d = dir.path().display();
        let transport = transport
            .map(String::from)
            .unwrap_or_else(|| format!("kind = \"file\"\ndir = \"{d}/outbox\""));
        let text = format!(
            r#"[database]
url = "{db_url}"

[identity]
name = "Example Support"
address = "support@example.test"
subject_tag = "Support"
message_id_domain = "example.test"

[[mailboxes]]
name = "support"
kind = "maildir"
path = "{d}/maildir"
queue = "general"
poll_interval = "200ms"

[transport]
{transport}

[[queues]]
name = "general"
{extra}
"#
        );
        let config = dir.path().join("postdesk.toml");
        std::fs::write(&config, text).unwrap();
        Env {
            dir,
            config,
            db_url,
            pg,
        }
    }

    pub fn new() -> Env {
        Env::with("", None)
    }

    /// Runs SQL straight on the test database (after `postdesk migrate`).
    pub fn sql(&self, sql: &str) {
        use diesel::connection::SimpleConnection;
        match self.db_url.strip_prefix("sqlite://") {
            Some(path) => sqlite(path).batch_execute(sql).unwrap(),
            None => PgConnection::establish(&self.db_url)
                .unwrap()
                .batch_execute(sql)
                .unwrap(),
        }
    }

    /// The one integer a query `SELECT <n> AS n …` gives, straight from the test database.
    pub fn count(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let q = diesel::sql_query(sql);
        let rows: Vec<N> = match self.db_url.strip_prefix("sqlite://") {
            Some(path) => q.load(&mut sqlite(path)),
            None => q.load(&mut PgConnection::establish(&self.db_url).unwrap()),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows[0].n
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        output_within(self.cmd(args), None, COMMAND_LIMIT)
    }

    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        output_within(self.cmd(args), Some(input), COMMAND_LIMIT)
    }

    /// Runs and insists on success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "postdesk {args:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("postdesk {args:?}: not JSON ({e}):\n{out}"))
    }

    /// Ingests fixtures by name.
    pub fn ingest(&self, names: &[&str]) -> String {
        let paths: Vec<String> = names
            .iter()
            .map(|n| fixture(n).display().to_string())
            .collect();
        let mut args = vec!["ingest"];
        args.extend(paths.iter().map(String::as_str));
        let out = self.run(&args);
        assert!(
            out.status.success(),
            "ingest {names:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn tickets(&self) -> Vec<Value> {
        self.json(&["tickets", "--json"])
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn ticket(&self, id: i64) -> Value {
        self.json(&["ticket", &id.to_string(), "--json"])
    }

    pub fn inbound(&self) -> Vec<Value> {
        self.json(&["inbound", "--json"])
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn outbox(&self) -> Vec<Value> {
        self.json(&["outbox", "--json"]).as_array().unwrap().clone()
    }

    /// The mails the file transport wrote, as text, sorted by file name.
    pub fn outbox_files(&self) -> Vec<String> {
        let dir = self.path("outbox");
        let mut names: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(rd) => rd
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
            .iter()
            .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
            .collect()
    }
}

/// The value of header `name` in raw mail text (first occurrence, unfolded).
pub fn header(mail: &str, name: &str) -> Option<String> {
    let head = mail.split("\r\n\r\n").next().unwrap_or(mail);
    let mut lines = head.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        if let Some((n, v)) = line.split_once(':') {
            if n.eq_ignore_ascii_case(name) {
                let mut value = v.trim().to_string();
                while lines
                    .peek()
                    .is_some_and(|l| l.starts_with(' ') || l.starts_with('\t'))
                {
                    value.push(' ');
                    value.push_str(lines.next().unwrap().trim());
                }
                return Some(value);
            }
        }
    }
    None
}

/// Mail files in a Dovecot Maildir (new and cur) that contain `needle`.
pub fn in_maildir(dir: &Path, needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(rd) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in rd.flatten() {
            if let Ok(b) = std::fs::read(e.path()) {
                let t = String::from_utf8_lossy(&b)
                    .replace("\r\n", "\n")
                    .replace('\n', "\r\n");
                if t.contains(needle) {
                    out.push(t);
                }
            }
        }
    }
    out
}

/// The longest a one-shot command of a test may take (each takes well under a second when
/// nothing is wrong): past it the command is killed and the test fails, saying which command
/// hung, instead of stalling the whole run.
pub const COMMAND_LIMIT: std::time::Duration = std::time::Duration::from_secs(180);

/// Runs `cmd` with `input` (or nothing) on stdin and returns its output; kills it and panics,
/// with what it printed so far, when it has not ended within `limit`.
pub fn output_within(mut cmd: Command, input: Option<&[u8]>, limit: std::time::Duration) -> Output {
    use std::io::{Read, Write};
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    if let (Some(mut w), Some(input)) = (child.stdin.take(), input) {
        // On a thread of its own: a child that stops reading must not block the clock below.
        // One that exits without reading all of it is its own business (the status says).
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = w.write_all(&input);
        });
    }
    let start = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(1);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(20));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    match status {
        Some(status) => Output {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "{what} did not end within {} s; killed. Its stderr:\n{}",
            limit.as_secs(),
            String::from_utf8_lossy(&stderr)
        ),
    }
}

/// Polls `f` every 100 ms until it returns `Some`, or panics after `secs`.
pub fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A running `postdesk serve`, killed if a test ends without stopping it.
pub struct Daemon(pub std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Env {
    /// Starts `serve`, its output appended to serve.log.
    pub fn serve(&self) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("serve.log"))
            .unwrap();
        let child = self
            .cmd(&["serve"])
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Daemon(child)
    }

    /// Starts another `serve` on the same config, its output in `log` (one of several instances),
    /// with `env` added to its environment.
    pub fn serve_instance(&self, log: &str, env: &[(&str, &str)]) -> Daemon {
        let out = std::fs::File::create(self.path(log)).unwrap();
        let mut cmd = self.cmd(&["serve"]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Daemon(child)
    }

    /// What `serve` logged so far.
    pub fn serve_log(&self) -> String {
        std::fs::read_to_string(self.path("serve.log")).unwrap_or_default()
    }

    /// Stops `serve` with SIGTERM and insists that it exits cleanly within 10 s.
    pub fn terminate(&self, d: Daemon) {
        self.terminate_logged(d, "serve.log");
    }

    /// As [`Env::terminate`], for an instance logging to `log`; returns how long it took.
    pub fn terminate_logged(&self, mut d: Daemon, log: &str) -> std::time::Duration {
        let pid = d.0.id().to_string();
        assert!(std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let start = std::time::Instant::now();
        let status = loop {
            if let Some(s) = d.0.try_wait().unwrap() {
                break s;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(10),
                "serve did not stop within 10 s of SIGTERM"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        assert!(
            status.success(),
            "serve exited with {status}:\n{}",
            std::fs::read_to_string(self.path(log)).unwrap_or_default()
        );
        start.elapsed()
    }
}

/// The time `secs` seconds ago, as RFC 3339 (for `ingest --at`).
pub fn rfc3339_ago(secs: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::seconds(secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A free loopback port (bound and let go; a listener takes it a moment later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The text part of a mail, decoded (quoted-printable umlauts and accents included).
pub fn body_text(mail: &str) -> String {
    mail_parser::MessageParser::default()
        .parse(mail.as_bytes())
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .expect("a text part")
}
