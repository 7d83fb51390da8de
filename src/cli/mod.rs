//! The command line (contract §3): clap definitions and one handler per command. Exit codes are
//! decided here alone: 0 success, 1 runtime error, 2 usage or config error, 75 (EX_TEMPFAIL) when
//! `ingest -` hits a temporary failure, so an MTA pipe retries.

mod act;
mod check;
mod csat;
mod kb;
mod oauth;
mod progress;
mod views;

use act::*;
use check::*;
use csat::*;
use kb::*;
use oauth::*;
use views::*;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use diesel::Connection;
use serde_json::{json, Value};

use crate::app::App;
use crate::config::{Config, MailboxConfig, MailboxSource};
use crate::intake::files;
use crate::outbox::{self, Transport, Via};
use crate::pipeline::{self, BatchClock};
use crate::store::{self, models};
use crate::templates::Templates;
use crate::ticket::model::{ticket_ref, OutboxStatus};
use crate::time::{now_ms, parse_rfc3339, rfc3339};

#[derive(Debug, Parser)]
#[command(name = "postdesk", version, about = "Email-driven ticketing server")]
pub struct Cli {
    /// Config file (default: $POSTDESK_CONFIG, else config/postdesk.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: migrate, watch the mailboxes, deliver the outbox; stops on SIGTERM/SIGINT.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Validate the config and templates, and try the database, mailboxes and transport.
    Check,
    /// Process raw mails from files, Maildir folders, mbox files or `-` (stdin).
    Ingest {
        /// Mailbox the mails count as arriving on (default: the first mailbox).
        #[arg(long)]
        mailbox: Option<String>,
        /// Time of receipt (RFC 3339), for imports and tests.
        #[arg(long)]
        at: Option<String>,
        /// Leave the outbox rows created for `serve` to deliver.
        #[arg(long)]
        no_send: bool,
        /// Files, Maildir folders, directories of .eml files, mbox files, or `-` for stdin.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// SLA clocks: `sla sweep [--now RFC3339]`.
    Sla {
        #[command(subcommand)]
        action: SlaAction,
    },
    /// Triage rules: `rules test FILE`.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Render and queue the digest NAME now (`--dry-run` prints the mail instead).
    Digest {
        name: String,
        /// Print the whole mail (MIME) to stdout; queue and record nothing.
        #[arg(long)]
        dry_run: bool,
        /// The time the figures are taken at (RFC 3339; default now), for tests and imports.
        #[arg(long)]
        now: Option<String>,
    },
    /// List tickets.
    Tickets {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        queue: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one ticket with its messages and events.
    Ticket {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Received mails and what became of them.
    Inbound {
        /// Only the mails that could not be processed.
        #[arg(long)]
        failed: bool,
        #[arg(long)]
        json: bool,
    },
    /// Outgoing mails and their delivery state; `outbox retry ID` queues a failed mail again.
    Outbox {
        #[command(subcommand)]
        action: Option<OutboxAction>,
        #[arg(long, conflicts_with = "failed")]
        pending: bool,
        #[arg(long)]
        failed: bool,
        #[arg(long)]
        json: bool,
    },
    /// Full-text search over tickets (subjects, messages) and knowledge articles, best first.
    Search {
        /// The words to look for (English and German forms of a word find each other).
        #[arg(required_unless_present = "reindex")]
        query: Vec<String>,
        /// Build the index again from the stored tickets, messages and saved articles first
        /// (after an upgrade from a version without it).
        #[arg(long)]
        reindex: bool,
        #[arg(long)]
        json: bool,
    },
    /// Knowledge articles: `kb list`, `kb show NAME`.
    Kb {
        #[command(subcommand)]
        action: KbAction,
    },
    /// Satisfaction survey figures: sent, answered, average score, by queue and agent.
    Csat {
        #[command(subcommand)]
        action: Option<CsatAction>,
        /// Only surveys sent in the last N days.
        #[arg(long)]
        days: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// OAuth2 for a mailbox or the transport: `oauth login NAME`.
    Oauth {
        #[command(subcommand)]
        action: OauthAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum KbAction {
    /// The articles: files of `[knowledge] dir` and those saved by mail (`#kb save NAME`).
    List {
        #[arg(long)]
        json: bool,
    },
    /// One article as written (title and text, its values not filled in).
    Show { name: String },
}

#[derive(Debug, Subcommand)]
pub enum OauthAction {
    /// Sign in with the device-code flow (RFC 8628): prints a URL and a code to enter there,
    /// waits, and stores the refresh token in the `oauth.refresh_token_file` (mode 0600).
    /// Without `oauth.device_url`, or with `--browser`: prints a page to open instead, and
    /// waits for the browser to come back to a loopback port (authorization code with PKCE).
    Login {
        /// The mailbox's name, or "transport" for the SMTP transport.
        name: String,
        /// Sign in in a browser (needs `oauth.auth_url`) even where the device flow is set up.
        #[arg(long)]
        browser: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CsatAction {
    /// Send the satisfaction surveys due (as `serve` does on its schedule) and deliver them.
    Send {
        /// The time to send at (RFC 3339; default now), for tests and cron-less setups.
        #[arg(long)]
        now: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SlaAction {
    /// Run one SLA sweep: fire the warnings, breaches and escalations due, and deliver their mail.
    Sweep {
        /// The time to sweep at (RFC 3339; default now), for tests and cron-less setups.
        #[arg(long)]
        now: Option<String>,
        /// Leave the mails queued for `serve` to deliver.
        #[arg(long)]
        no_send: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// Dry run: which rules match a mail, in order, and what the ticket would become.
    Test {
        /// A raw mail (RFC 5322 file).
        file: PathBuf,
        /// The mailbox it counts as arriving on (default: the first).
        #[arg(long)]
        mailbox: Option<String>,
        /// Test the rules for replies (on = "reply") instead of those for new tickets.
        #[arg(long)]
        reply: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// Queue an unsent (failed or waiting) mail for delivery again, now.
    Retry { id: i64 },
}

/// A command's failure, carrying its exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
    pub fn runtime(message: impl std::fmt::Display) -> Self {
        Failure {
            code: 1,
            message: message.to_string(),
        }
    }
}

type Outcome = Result<(), Failure>;

/// Runs the command line; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match run(cli) {
        Ok(()) => 0,
        Err(f) => {
            eprintln!("postdesk: {}", f.message);
            f.code
        }
    }
}

/// Logs to stderr (the journal under systemd): `RUST_LOG`, else `[log] level`, else
/// `default_level`; readable lines or, with `[log] format = "json"`, one JSON object per line.
fn init_logging(log: &crate::config::LogConfig, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(log.level.as_deref().unwrap_or(default_level))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    // A second initialisation (tests calling `run` twice) keeps the first subscriber.
    let _ = match log.format {
        crate::config::LogFormat::Human => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        crate::config::LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}

fn config_path(cli: &Cli) -> PathBuf {
    cli.config
        .clone()
        .or_else(|| std::env::var_os("POSTDESK_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("config/postdesk.toml"))
}

fn load_config(cli: &Cli) -> Result<Config, Failure> {
    Config::load(&config_path(cli)).map_err(|e| Failure::usage(e.to_string()))
}

fn open_store(cfg: &Config) -> Result<store::ShortLived, Failure> {
    store::open(&cfg.database.url)
        .map(store::ShortLived::new)
        .map_err(Failure::runtime)
}

pub fn run(cli: Cli) -> Outcome {
    let cfg = load_config(&cli)?;
    let default_level = if matches!(cli.command, Command::Serve) {
        "info"
    } else {
        "warn"
    };
    init_logging(&cfg.log, default_level);
    match cli.command {
        Command::Serve => crate::daemon::serve(cfg).map_err(Failure::runtime),
        Command::Migrate => {
            let mut c = store::connect(&cfg.database.url)
                .map(store::ShortLived::new)
                .map_err(Failure::runtime)?;
            let applied = store::migrate(&mut c).map_err(Failure::runtime)?;
            if applied.is_empty() {
                say!("database is up to date");
            } else {
                say!(
                    "applied {} migration(s): {}",
                    applied.len(),
                    applied.join(", ")
                );
            }
            Ok(())
        }
        Command::Check => check(&cfg),
        Command::Ingest {
            mailbox,
            at,
            no_send,
            paths,
        } => ingest(&cfg, mailbox, at, no_send, &paths),
        Command::Sla {
            action: SlaAction::Sweep { now, no_send },
        } => sla_sweep(&cfg, now, no_send),
        Command::Rules {
            action:
                RulesAction::Test {
                    file,
                    mailbox,
                    reply,
                    json,
                },
        } => rules_test(&cfg, &file, mailbox, reply, json),
        Command::Digest { name, dry_run, now } => digest_cmd(&cfg, &name, dry_run, now),
        Command::Tickets {
            status,
            queue,
            json,
        } => tickets(&cfg, status, queue, json),
        Command::Ticket { id, json } => ticket(&cfg, id, json),
        Command::Inbound { failed, json } => inbound(&cfg, failed, json),
        Command::Outbox {
            action: Some(OutboxAction::Retry { id }),
            ..
        } => outbox_retry(&cfg, id),
        Command::Outbox {
            action: None,
            pending,
            failed,
            json,
        } => outbox_cmd(&cfg, pending, failed, json),
        Command::Search {
            query,
            reindex,
            json,
        } => search_cmd(&cfg, &query, reindex, json),
        Command::Kb {
            action: KbAction::List { json },
        } => kb_list(&cfg, json),
        Command::Kb {
            action: KbAction::Show { name },
        } => kb_show(&cfg, &name),
        Command::Csat {
            action: Some(CsatAction::Send { now }),
            ..
        } => csat_send(&cfg, now),
        Command::Csat {
            action: None,
            days,
            json,
        } => csat_cmd(&cfg, days, json),
        Command::Oauth {
            action: OauthAction::Login { name, browser },
        } => oauth_login(&cfg, &name, browser),
    }
}

/// The mailbox `--mailbox NAME` names, else the first.
fn pick_mailbox<'c>(cfg: &'c Config, name: Option<&str>) -> Result<&'c MailboxConfig, Failure> {
    match name {
        Some(name) => cfg.mailbox(name).ok_or_else(|| {
            let names: Vec<&str> = cfg.mailboxes.iter().map(|m| m.name.as_str()).collect();
            Failure::usage(format!(
                "--mailbox: no mailbox named '{name}' in {} (configured: {})",
                cfg.file.display(),
                names.join(", ")
            ))
        }),
        None => cfg.mailboxes.first().ok_or_else(|| {
            Failure::usage(format!(
                "{}: no [[mailboxes]] configured; mail needs one to take the queue from",
                cfg.file.display()
            ))
        }),
    }
}

/// An RFC 3339 time given as `flag` (`--at`, `--now`).
fn time_arg(flag: &str, value: Option<String>) -> Result<Option<i64>, Failure> {
    value
        .map(|a| parse_rfc3339(&a).map_err(|e| Failure::usage(format!("{flag}: {e}"))))
        .transpose()
}

/// What a [`App`] borrows: the templates (compiled when used) and the HMAC keys.
fn pipeline_parts(cfg: &Config) -> Result<(Templates, crate::security::Keys), Failure> {
    let keys = crate::security::Keys::load_or_create(&cfg.security.secret_file)
        .map_err(Failure::runtime)?;
    Ok((
        Templates::of_config(cfg, false).map_err(Failure::runtime)?,
        keys,
    ))
}

/// Delivers rows this process queued and holds until `hold`; a mail that fails for good is
/// reported to the ticket's agents.
fn deliver_held(
    pipeline: &App<'_>,
    c: &mut store::AnyConnection,
    ids: &[i64],
    hold: i64,
) -> Result<outbox::DeliveryReport, Failure> {
    let cfg = pipeline.cfg;
    let t = Transport::from_config(cfg).map_err(Failure::runtime)?;
    let on_failure = |c: &mut store::AnyConnection, f: &outbox::FailedMail| {
        pipeline
            .notify()
            .notify_delivery_failed(c, f, now_ms())
            .map(|_| ())
    };
    let rules = outbox::Rules {
        retry: &cfg.retry,
        on_failure: Some(&on_failure),
    };
    outbox::deliver(c, &t, ids, outbox::Claim::Held(hold), &rules).map_err(Failure::runtime)
}

/// How long `ingest` holds the rows it creates from other senders, to deliver them itself.
const HOLD_MS: i64 = 10 * 60 * 1000;

/// Prints a line to standard output. A reader that went away (`postdesk tickets | head`) ends
/// the command quietly, as it ends any Unix tool, instead of a panic in `println!`; any other
/// failure to write is reported.
macro_rules! say {
    () => { $crate::cli::write_line(format_args!("")) };
    ($($t:tt)*) => { $crate::cli::write_line(format_args!($($t)*)) };
}
pub(crate) use say;

pub(crate) fn write_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("postdesk: cannot write the output: {e}");
        std::process::exit(1);
    }
}

fn print_json(v: &Value) {
    say!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into())
    );
}
