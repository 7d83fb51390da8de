//! The command line (contract §3): clap definitions and one handler per command. Exit codes are
//! decided here alone: 0 success, 1 runtime error, 2 usage or config error, 75 (EX_TEMPFAIL) when
//! `ingest -` hits a temporary failure, so an MTA pipe retries.

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
                println!("database is up to date");
            } else {
                println!(
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
    }
}

fn check(cfg: &Config) -> Outcome {
    let mut bad = 0;
    let mut report = |ok: bool, what: String| {
        println!("{} {what}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            bad += 1;
        }
    };
    report(true, format!("config {}", cfg.file.display()));
    match Templates::all(cfg.templates_dir.as_deref()) {
        Ok(_) => report(true, "templates".into()),
        Err(e) => report(false, format!("templates: {e}")),
    }
    match store::connect(&cfg.database.url) {
        Ok(mut c) => match store::has_pending_migrations(&mut c) {
            Ok(p) => report(
                true,
                format!(
                    "database {}{}",
                    store::redact_url(&cfg.database.url),
                    if p {
                        " (migrations pending: run `postdesk migrate`)"
                    } else {
                        ""
                    }
                ),
            ),
            Err(e) => report(false, format!("database: {e}")),
        },
        Err(e) => report(false, e.to_string()),
    }
    for m in &cfg.mailboxes {
        match &m.source {
            MailboxSource::Maildir { path } => match crate::intake::maildir::ensure(path) {
                Ok(()) => report(
                    true,
                    format!("mailbox '{}': maildir {}", m.name, path.display()),
                ),
                Err(e) => report(false, format!("mailbox '{}': {e}", m.name)),
            },
            MailboxSource::Imap(i) => {
                let probe = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| crate::intake::imap::ImapError::Local(e.to_string()))
                    .and_then(|rt| rt.block_on(crate::intake::imap::probe(i)));
                match probe {
                    Ok(state) => report(
                        true,
                        format!("mailbox '{}': imap {}:{}: {state}", m.name, i.host, i.port),
                    ),
                    Err(e) => report(
                        false,
                        format!("mailbox '{}': imap {}:{}: {e}", m.name, i.host, i.port),
                    ),
                }
            }
        }
    }
    match Transport::from_config(cfg) {
        Ok(Transport {
            via: Via::Smtp(s), ..
        }) => match s.probe() {
            Ok(()) => report(true, "transport: smtp server answers".into()),
            Err(e) => report(false, format!("transport: smtp: {e}")),
        },
        Ok(Transport {
            via: Via::File { dir },
            ..
        }) => report(true, format!("transport: files in {}", dir.display())),
        Err(e) => report(false, format!("transport: {e}")),
    }
    if let Some(d) = &cfg.dkim {
        report(
            true,
            format!(
                "dkim: signing {} as d={} s={} (publish the public key at {}._domainkey.{})",
                d.algorithm(),
                d.domain,
                d.selector,
                d.selector,
                d.domain
            ),
        );
    }
    if bad > 0 {
        Err(Failure::runtime(format!("{bad} check(s) failed")))
    } else {
        Ok(())
    }
}

fn ingest(
    cfg: &Config,
    mailbox: Option<String>,
    at: Option<String>,
    no_send: bool,
    paths: &[String],
) -> Outcome {
    let stdin = paths.iter().any(|p| p == "-");
    // For an MTA pipe, a failure that a retry may cure must say so with EX_TEMPFAIL.
    let temp = |m: String| {
        if stdin {
            Failure {
                code: 75,
                message: m,
            }
        } else {
            Failure::runtime(m)
        }
    };
    let mb = pick_mailbox(cfg, mailbox.as_deref())?;
    let at = time_arg("--at", at)?;
    let items = files::expand(paths).map_err(|e| Failure::usage(e.to_string()))?;
    let (templates, keys) = pipeline_parts(cfg)?;
    let transport = if no_send {
        None
    } else {
        Some(Transport::from_config(cfg).map_err(Failure::runtime)?)
    };
    let mut c = store::open(&cfg.database.url)
        .map(store::ShortLived::new)
        .map_err(|e| temp(e.to_string()))?;

    let pipeline = App {
        cfg,
        templates: &templates,
        keys: &keys,
    };
    // A mail that fails for good is reported to the ticket's agents in the same transaction.
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
    // Rows this run will deliver itself are held from other senders until it is done.
    let held_until = if no_send {
        now_ms()
    } else {
        now_ms() + HOLD_MS
    };
    let clock = || BatchClock {
        received_at: at.unwrap_or_else(now_ms),
        due_at: held_until,
    };
    let mails = items.iter().flat_map(|item| match files::read_item(item) {
        Ok(v) => v.into_iter().map(Ok).collect::<Vec<_>>(),
        Err(e) => vec![Err(e)],
    });
    let store_err = |e: pipeline::RunError| match e {
        pipeline::RunError::Store(e) if e.is_temporary() => temp(e.to_string()),
        e => Failure::runtime(e),
    };
    let claim = outbox::Claim::Held(held_until);
    let report = match transport {
        None => {
            let summary =
                pipeline::run(&pipeline, &mut c, mb, mails, clock, |_| {}).map_err(store_err)?;
            eprintln!("ingested {summary}");
            None
        }
        // Many mails over an idempotent transport (files): a sender thread with its own
        // connection writes each batch's mail while the next batch is stored; the attempts are
        // recorded at the end, so the two threads never wait for each other's write lock.
        Some(t) if !stdin && t.idempotent() => std::thread::scope(|s| {
            let (tx, rx) = std::sync::mpsc::channel::<Vec<i64>>();
            let url = cfg.database.url.clone();
            let t = &t;
            let sender = s.spawn(move || -> Result<Vec<outbox::Attempt>, String> {
                let mut c2 = store::connect(&url).map_err(|e| e.to_string())?;
                let mut attempts = Vec::new();
                for ids in rx {
                    attempts.extend(
                        outbox::transmit(&mut c2, t, &ids, claim).map_err(|e| e.to_string())?,
                    );
                }
                drop(c2);
                Ok(attempts)
            });
            let summary = pipeline::run(&pipeline, &mut c, mb, mails, clock, |results| {
                let ids: Vec<i64> = results
                    .iter()
                    .flat_map(|r| r.outbox_ids.iter().copied())
                    .collect();
                if !ids.is_empty() {
                    // The sender only stops early on an error, which join() reports below.
                    let _ = tx.send(ids);
                }
            });
            drop(tx);
            let attempts = sender
                .join()
                .map_err(|_| Failure::runtime("the outbox sender crashed"))?;
            let summary = summary.map_err(store_err)?;
            eprintln!("ingested {summary}");
            let attempts = attempts.map_err(Failure::runtime)?;
            let report = c
                .transaction(|c| outbox::record(c, &attempts, &rules))
                .map_err(Failure::runtime)?;
            Ok::<_, Failure>(Some(report))
        })?,
        // Otherwise store everything, then deliver on the same connection.
        Some(t) => {
            let summary =
                pipeline::run(&pipeline, &mut c, mb, mails, clock, |_| {}).map_err(store_err)?;
            eprintln!("ingested {summary}");
            Some(
                outbox::deliver(&mut c, &t, &summary.outbox_ids, claim, &rules)
                    .map_err(Failure::runtime)?,
            )
        }
    };
    if let Some(report) = report.filter(|r| r.sent + r.retrying + r.failed > 0) {
        eprintln!(
            "sent {} mail(s){}{}",
            report.sent,
            if report.retrying > 0 {
                format!(", {} waiting for a retry", report.retrying)
            } else {
                String::new()
            },
            if report.failed > 0 {
                format!(", {} failed", report.failed)
            } else {
                String::new()
            }
        );
    }
    Ok(())
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
    Ok((Templates::lazy(cfg.templates_dir.as_deref()), keys))
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

fn sla_sweep(cfg: &Config, now: Option<String>, no_send: bool) -> Outcome {
    let now = time_arg("--now", now)?.unwrap_or_else(now_ms);
    let (_, keys) = pipeline_parts(cfg)?;
    // Every template compiled and tried first, as `serve` does at its start: a broken one is
    // reported before any clock fires (and the sweep's time is the sweep's, as in `serve`).
    let templates = Templates::all(cfg.templates_dir.as_deref()).map_err(Failure::runtime)?;
    let mut c = open_store(cfg)?;
    let pipeline = App {
        cfg,
        templates: &templates,
        keys: &keys,
    };
    let hold = if no_send {
        now_ms()
    } else {
        now_ms() + HOLD_MS
    };
    let started = std::time::Instant::now();
    let (report, ids) = crate::schedule::sla_sweep::sweep(&pipeline, &mut c, now, hold)
        .map_err(Failure::runtime)?;
    let elapsed = started.elapsed();
    let mut out = serde_json::to_value(report).unwrap_or_default();
    out["elapsed_ms"] = json!((elapsed.as_secs_f64() * 1e6).round() / 1e3);
    if !no_send && !ids.is_empty() {
        out["sent"] = json!(deliver_held(&pipeline, &mut c, &ids, hold)?.sent);
    }
    println!("{out}");
    Ok(())
}

fn digest_cmd(cfg: &Config, name: &str, dry_run: bool, now: Option<String>) -> Outcome {
    let d = cfg.digests.iter().find(|d| d.name == name).ok_or_else(|| {
        Failure::usage(format!("no [[digests]] entry named '{name}' in the config"))
    })?;
    let now = time_arg("--now", now)?.unwrap_or_else(now_ms);
    let (templates, keys) = pipeline_parts(cfg)?;
    let mut c = open_store(cfg)?;
    let pipeline = App {
        cfg,
        templates: &templates,
        keys: &keys,
    };
    if dry_run {
        let started = std::time::Instant::now();
        let ctx =
            crate::schedule::digest::gather(&pipeline, &mut c, d, now).map_err(Failure::runtime)?;
        let (_, raw) = crate::schedule::digest::compose_digest(&pipeline, d, ctx, now)
            .map_err(Failure::runtime)?;
        use std::io::Write;
        std::io::stdout()
            .write_all(&raw)
            .map_err(|e| Failure::runtime(format!("cannot write the digest: {e}")))?;
        eprintln!(
            "digest '{name}' rendered in {:.1} ms (dry run: nothing queued)",
            started.elapsed().as_secs_f64() * 1000.0
        );
        return Ok(());
    }
    let hold = now_ms() + HOLD_MS;
    match crate::schedule::digest::run(&pipeline, &mut c, d, now, now, hold)
        .map_err(Failure::runtime)?
    {
        crate::schedule::digest::RunOutcome::AlreadySent => {
            eprintln!("digest '{name}' for this time was already sent");
        }
        crate::schedule::digest::RunOutcome::Queued(id) => {
            let r = deliver_held(&pipeline, &mut c, &[id], hold)?;
            eprintln!("digest '{name}' queued as outbox #{id}, {} sent", r.sent);
        }
    }
    Ok(())
}

fn rules_test(
    cfg: &Config,
    file: &std::path::Path,
    mailbox: Option<String>,
    reply: bool,
    as_json: bool,
) -> Outcome {
    let raw = std::fs::read(file)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))?;
    let mb = pick_mailbox(cfg, mailbox.as_deref())?;
    let t = pipeline::triage_dry_run(cfg, mb, &raw, reply).map_err(Failure::usage)?;
    if as_json {
        print_json(&t);
    } else {
        let matched = t["matched"].as_array().cloned().unwrap_or_default();
        if matched.is_empty() {
            println!("no rule matches");
        }
        for (i, m) in matched.iter().enumerate() {
            println!("{}. {}", i + 1, m.as_str().unwrap_or_default());
        }
        println!("would become:");
        if let Some(o) = t["ticket"].as_object() {
            for (k, v) in o {
                println!(
                    "  {k}: {}",
                    if v.is_string() {
                        v.as_str().unwrap_or_default().to_string()
                    } else {
                        v.to_string()
                    }
                );
            }
        }
    }
    Ok(())
}

/// How long `ingest` holds the rows it creates from other senders, to deliver them itself.
const HOLD_MS: i64 = 10 * 60 * 1000;

fn print_json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into())
    );
}

fn tags(t: &models::Ticket) -> Value {
    serde_json::from_str::<Value>(&t.tags).unwrap_or_else(|_| json!([]))
}

fn ms_or_null(ms: Option<i64>) -> Value {
    ms.map(|m| Value::String(rfc3339(m))).unwrap_or(Value::Null)
}

/// One ticket as the JSON contract (§4) shapes it, without its messages.
pub fn ticket_json(cfg: &Config, t: &models::Ticket, message_ids: &[String]) -> Value {
    json!({
        "id": t.id,
        "ref": ticket_ref(&cfg.identity.subject_tag, t.id),
        "subject": t.subject,
        "status": t.status,
        "priority": t.priority,
        "queue": t.queue,
        "requester": t.requester,
        "assignee": t.assignee,
        "tags": tags(t),
        "created_at": rfc3339(t.created_at),
        "updated_at": rfc3339(t.updated_at),
        "sla": {
            "policy": t.sla_policy,
            "first_response_due": ms_or_null(t.first_response_due),
            "next_response_due": ms_or_null(t.next_response_due),
            "resolution_due": ms_or_null(t.resolution_due),
            "breached": t.sla_breached,
        },
        "first_response_at": ms_or_null(t.first_response_at),
        "linked_to": t.linked_to,
        "type": t.ticket_type,
        "time_spent_ms": t.time_spent_ms,
        "message_ids": message_ids,
    })
}

fn tickets(cfg: &Config, status: Option<String>, queue: Option<String>, as_json: bool) -> Outcome {
    let mut c = open_store(cfg)?;
    let list = models::list_tickets(&mut c, status.as_deref(), queue.as_deref())
        .map_err(Failure::runtime)?;
    if as_json {
        let ids: Vec<i64> = list.iter().map(|t| t.id).collect();
        let mids = models::message_ids_of_tickets(&mut c, &ids).map_err(Failure::runtime)?;
        let arr: Vec<Value> = list
            .iter()
            .map(|t| ticket_json(cfg, t, mids.get(&t.id).map(Vec::as_slice).unwrap_or(&[])))
            .collect();
        print_json(&Value::Array(arr));
    } else {
        for t in &list {
            println!(
                "#{:<6} {:<9} {:<7} {:<12} {:<32} {}",
                t.id, t.status, t.priority, t.queue, t.requester, t.subject
            );
        }
        eprintln!("{} ticket(s)", list.len());
    }
    Ok(())
}

fn ticket(cfg: &Config, id: i64, as_json: bool) -> Outcome {
    let mut c = open_store(cfg)?;
    let t = models::get_ticket(&mut c, id)
        .map_err(Failure::runtime)?
        .ok_or_else(|| Failure::runtime(format!("no ticket #{id}")))?;
    let messages = models::messages_of_ticket(&mut c, id).map_err(Failure::runtime)?;
    let rows: Vec<i64> = messages.iter().map(|m| m.id).collect();
    let atts = models::attachments_of_messages(&mut c, &rows).map_err(Failure::runtime)?;
    let events = models::events_of_ticket(&mut c, id).map_err(Failure::runtime)?;
    let parts = models::participants_of_ticket(&mut c, id).map_err(Failure::runtime)?;
    let mids: Vec<String> = messages.iter().map(|m| m.message_id.clone()).collect();
    let mut v = ticket_json(cfg, &t, &mids);
    let msgs: Vec<Value> = messages
        .iter()
        .map(|m| {
            let a: Vec<Value> = atts
                .iter()
                .filter(|a| a.0 == m.id)
                .map(|a| json!({"name": a.1, "content_type": a.2, "size": a.3}))
                .collect();
            json!({
                "message_id": m.message_id,
                "from": m.from_addr,
                "from_name": m.from_name,
                "to": serde_json::from_str::<Value>(&m.to_addrs).unwrap_or_else(|_| json!([])),
                "direction": m.direction,
                "kind": m.kind,
                "subject": m.subject,
                "date": rfc3339(m.date),
                "in_reply_to": m.in_reply_to,
                "text": m.text_body,
                "html": m.html_body,
                "attachments": a,
            })
        })
        .collect();
    v["messages"] = Value::Array(msgs);
    v["participants"] = parts
        .iter()
        .map(|(a, n, r)| json!({"address": a, "name": n, "role": r}))
        .collect();
    v["events"] = events
        .iter()
        .map(|e| json!({"at": rfc3339(e.at), "actor": e.actor, "kind": e.kind, "detail": e.detail}))
        .collect();
    if as_json {
        print_json(&v);
    } else {
        println!(
            "{} {}",
            ticket_ref(&cfg.identity.subject_tag, t.id),
            t.subject
        );
        println!(
            "status {}, priority {}, queue {}, requester {}, assignee {}",
            t.status,
            t.priority,
            t.queue,
            t.requester,
            t.assignee.as_deref().unwrap_or("nobody")
        );
        for m in &messages {
            println!(
                "\n--- {} {} {} from {} ({})",
                rfc3339(m.date),
                m.direction,
                m.kind,
                m.from_addr,
                m.message_id
            );
            println!("{}", m.text_body.trim_end());
        }
        println!();
        for e in &events {
            println!("{} {} {}: {}", rfc3339(e.at), e.actor, e.kind, e.detail);
        }
    }
    Ok(())
}

fn inbound(cfg: &Config, failed: bool, as_json: bool) -> Outcome {
    let mut c = open_store(cfg)?;
    let rows = models::list_inbound(&mut c, failed).map_err(Failure::runtime)?;
    if as_json {
        let arr: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "id": r.id, "mailbox": r.mailbox, "message_id": r.message_id, "from": r.from_addr,
                    "subject": r.subject, "ticket_id": r.ticket_id, "outcome": r.outcome, "matched_by": r.matched_by,
                    "error": r.error, "reason": r.reason, "source": r.source_pos, "size": r.size,
                    "received_at": rfc3339(r.received_at),
                })
            })
            .collect();
        print_json(&Value::Array(arr));
    } else {
        for r in &rows {
            let ticket = r
                .ticket_id
                .map(|t| format!("#{t}"))
                .unwrap_or_else(|| "-".into());
            let note = r.error.as_deref().or(r.reason.as_deref()).unwrap_or("");
            println!(
                "{:<6} {:<10} {:<11} {:<7} {:<32} {} {}",
                r.id, r.mailbox, r.outcome, ticket, r.from_addr, r.subject, note
            );
        }
        eprintln!("{} mail(s)", rows.len());
    }
    Ok(())
}

fn outbox_retry(cfg: &Config, id: i64) -> Outcome {
    let mut c = open_store(cfg)?;
    if models::requeue_outbox(&mut c, id, now_ms()).map_err(Failure::runtime)? {
        println!("outbox #{id} is queued for delivery again; `serve` delivers it");
        Ok(())
    } else {
        Err(Failure::runtime(format!(
            "outbox #{id} does not exist or was sent already"
        )))
    }
}

fn outbox_cmd(cfg: &Config, pending: bool, failed: bool, as_json: bool) -> Outcome {
    let mut c = open_store(cfg)?;
    let status = if pending {
        Some(OutboxStatus::Pending.as_str())
    } else if failed {
        Some(OutboxStatus::Failed.as_str())
    } else {
        None
    };
    let rows = models::list_outbox(&mut c, status).map_err(Failure::runtime)?;
    if as_json {
        let arr: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "id": r.id, "ticket_id": r.ticket_id, "kind": r.kind,
                    "to": serde_json::from_str::<Value>(&r.rcpt).unwrap_or_else(|_| json!([])),
                    "subject": r.subject, "message_id": r.message_id, "status": r.status,
                    "attempts": r.attempts, "last_error": r.last_error,
                    "created_at": rfc3339(r.created_at), "sent_at": ms_or_null(r.sent_at),
                    "next_attempt_at": if r.status == "pending" { Value::String(rfc3339(r.next_attempt_at)) } else { Value::Null },
                })
            })
            .collect();
        print_json(&Value::Array(arr));
    } else {
        for r in &rows {
            println!(
                "{:<6} {:<8} {:<5} {:<8} {} {}",
                r.id,
                r.status,
                r.kind,
                r.ticket_id.map(|t| format!("#{t}")).unwrap_or_default(),
                r.rcpt,
                r.last_error.as_deref().unwrap_or("")
            );
        }
        eprintln!("{} mail(s)", rows.len());
    }
    Ok(())
}
