//! `serve`: migrate, then one task per Maildir mailbox and one outbox sender, until SIGTERM or
//! SIGINT. Database work runs on blocking threads, each task with its own connection; a batch
//! in hand is finished before shutting down.

pub mod leases;
pub mod takeover;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::app::App;
use crate::config::{AgentAuth, Config, MailboxConfig, MailboxSource};
use crate::intake::{imap, maildir};
use crate::observe::metrics::MailboxState;
use crate::outbox::{self, Transport};
use crate::pipeline::{self, BatchClock};
use crate::security::Keys;
use crate::store::{self, AnyConnection};
use crate::templates::Templates;

/// Errors that stop the daemon from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("{0}")]
    Setup(String),
}

/// How many mails one scan of a Maildir takes at most.
const SCAN_LIMIT: usize = 1024;

/// Runs the daemon until a shutdown signal.
pub fn serve(cfg: Config) -> Result<(), DaemonError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| DaemonError::Setup(format!("cannot start the async runtime: {e}")))?;
    // SIGTERM and SIGINT are caught from here on: one that arrives during the set-up (the
    // migrations, the templates) stops the daemon cleanly once it is running, instead of
    // killing it half-started.
    let shutdown = {
        let _in_runtime = runtime.enter();
        shutdown_signal()
    };
    let mut conn = store::connect(&cfg.database.url)?;
    let applied = store::migrate(&mut conn)?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "database migrated");
    }
    // A database from before the search index: indexed once, here.
    if crate::store::models::search_index_missing(&mut conn).map_err(store::StoreError::from)? {
        let n = diesel::Connection::transaction(&mut conn, crate::store::models::reindex)
            .map_err(store::StoreError::from)?;
        tracing::info!(
            rows = n,
            "search index built from the stored tickets and messages"
        );
    }
    drop(conn);
    let templates =
        Templates::of_config(&cfg, true).map_err(|e| DaemonError::Setup(e.to_string()))?;
    templates
        .knowledge()
        .map_err(|e| DaemonError::Setup(format!("knowledge article {e}")))?;
    let keys = Keys::load_or_create(&cfg.security.secret_file).map_err(DaemonError::Setup)?;
    if cfg.security.agent_auth == AgentAuth::TrustedRelay {
        tracing::warn!("security.agent_auth = \"trusted_relay\": any mail with an agent's From address is obeyed as that agent's; use it only behind a relay that checks senders");
    }
    let transport = Transport::from_config(&cfg).map_err(|e| DaemonError::Setup(e.to_string()))?;

    runtime.block_on(run(
        Arc::new(cfg),
        Arc::new(templates),
        Arc::new(keys),
        Arc::new(transport),
        shutdown,
    ))
}

/// Installs the handlers of SIGTERM and SIGINT at once (call inside the runtime); the future
/// resolves on the first of them, also one that arrived before it was first polled.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let (term, int) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            (Ok(mut one), Err(_)) | (Err(_), Ok(mut one)) => {
                one.recv().await;
            }
            (Err(_), Err(_)) => std::future::pending().await,
        }
    }
}

/// The daemon's tasks, until `shutdown` resolves. Public so tests can supply their own signal.
pub async fn run(
    cfg: Arc<Config>,
    templates: Arc<Templates>,
    keys: Arc<Keys>,
    transport: Arc<Transport>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), DaemonError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let outbox_ready = Arc::new(Notify::new());
    let mut tasks = tokio::task::JoinSet::new();
    let connect = || -> Result<Arc<Mutex<AnyConnection>>, DaemonError> {
        Ok(Arc::new(Mutex::new(store::connect(&cfg.database.url)?)))
    };

    // Mailboxes are leased: with several instances on one database each reads its share.
    let instance: Arc<str> =
        crate::daemon::leases::instance_id(cfg.cluster.instance.as_deref()).into();
    let lease_conn = connect()?;
    let mut held = Vec::with_capacity(cfg.mailboxes.len());
    for (i, m) in cfg.mailboxes.iter().enumerate() {
        if let MailboxSource::Maildir { path } = &m.source {
            maildir::ensure(path)
                .map_err(|e| DaemonError::Setup(format!("mailbox '{}': {e}", m.name)))?;
        }
        let (tx, mine) = watch::channel(false);
        held.push(tx);
        let conn = connect()?;
        let (cfg2, templates2, keys2, ready2, fence) = (
            cfg.clone(),
            templates.clone(),
            keys.clone(),
            outbox_ready.clone(),
            instance.clone(),
        );
        let conn2 = conn.clone();
        let task = move |stop: watch::Receiver<bool>| {
            let (cfg, templates, keys, conn, ready) = (
                cfg2.clone(),
                templates2.clone(),
                keys2.clone(),
                conn2.clone(),
                ready2.clone(),
            );
            let fence = fence.clone();
            async move {
                match &cfg.mailboxes[i].source {
                    MailboxSource::Maildir { .. } => {
                        watch_maildir(cfg, templates, keys, i, conn, stop, ready).await
                    }
                    MailboxSource::Lmtp { .. } => {
                        let store = store_batch(cfg.clone(), templates, keys, conn, i);
                        let listener = crate::intake::lmtp::Listener {
                            cfg,
                            index: i,
                            store,
                            outbox_ready: ready,
                        };
                        listener.run(stop).await
                    }
                    MailboxSource::Imap(_) => {
                        let store = store_batch(cfg.clone(), templates, keys, conn.clone(), i);
                        let worker = imap::Worker {
                            cfg,
                            store,
                            index: i,
                            conn,
                            outbox_ready: ready,
                            fence: Some(fence),
                        };
                        worker.run(stop).await
                    }
                }
            }
        };
        tasks.spawn(crate::daemon::leases::leased(
            m.name.clone(),
            instance.clone(),
            conn,
            mine,
            stop_rx.clone(),
            task,
        ));
    }
    tasks.spawn(
        crate::daemon::leases::Keeper {
            id: instance.clone(),
            lease: cfg.cluster.lease,
            mailboxes: cfg.mailboxes.iter().map(|m| m.name.clone()).collect(),
            conn: lease_conn.clone(),
            held,
            outbox_ready: outbox_ready.clone(),
        }
        .run(stop_rx.clone()),
    );
    if let Some(addr) = cfg.metrics_listen {
        let listener = crate::observe::http::bind(addr)
            .await
            .map_err(DaemonError::Setup)?;
        let probe = crate::observe::http::Probe {
            conn: connect()?,
            stuck: Duration::from_secs(300),
        };
        tracing::info!(listen = %addr, "serving /metrics and /healthz");
        tasks.spawn(crate::observe::http::http(listener, probe, stop_rx.clone()));
    }
    if let Some(web) = &cfg.web {
        let listener = crate::web::bind(web.listen)
            .await
            .map_err(DaemonError::Setup)?;
        tracing::info!(listen = %web.listen, public_url = %web.public_url, "serving the one-click pages");
        let pages = crate::web::Web {
            cfg: cfg.clone(),
            templates: templates.clone(),
            keys: keys.clone(),
            // One connection answers, three show pages.
            conns: (0..4).map(|_| connect()).collect::<Result<_, _>>()?,
            outbox_ready: outbox_ready.clone(),
            writer: None,
        };
        tasks.spawn(crate::web::serve(listener, pages, stop_rx.clone()));
    }
    if let Some(every) = crate::observe::sd_notify::watchdog_interval() {
        tasks.spawn(crate::observe::sd_notify::watchdog(every, stop_rx.clone()));
    }
    tasks.spawn(send_outbox(
        transport,
        cfg.clone(),
        templates.clone(),
        keys.clone(),
        connect()?,
        stop_rx.clone(),
        outbox_ready.clone(),
    ));
    if !cfg.sla.is_empty()
        || !cfg.digests.is_empty()
        || !cfg.recurring.is_empty()
        || cfg.csat.is_some()
        || !cfg.approvals.is_empty()
    {
        let task = || -> Result<TaskCtx, DaemonError> {
            Ok(TaskCtx {
                cfg: cfg.clone(),
                templates: templates.clone(),
                keys: keys.clone(),
                conn: connect()?,
            })
        };
        if !cfg.sla.is_empty() {
            tasks.spawn(sweep_sla(task()?, stop_rx.clone(), outbox_ready.clone()));
        }
        if cfg.csat.is_some() || !cfg.approvals.is_empty() {
            tasks.spawn(send_surveys(task()?, stop_rx.clone(), outbox_ready.clone()));
        }
        if !cfg.digests.is_empty() || !cfg.recurring.is_empty() {
            tasks.spawn(send_digests(task()?, stop_rx.clone(), outbox_ready.clone()));
        }
    }
    tracing::info!(mailboxes = cfg.mailboxes.len(), instance = %instance, "postdesk is running");
    crate::observe::sd_notify::notify("READY=1\nSTATUS=running");

    shutdown.await;
    tracing::info!("shutting down: finishing the work in hand");
    crate::observe::sd_notify::notify("STOPPING=1");
    let _ = stop_tx.send(true);
    outbox_ready.notify_waiters();
    while tasks.join_next().await.is_some() {}
    // Every batch is finished: the leases can go to the other instances at once.
    let lease = crate::time::millis(cfg.cluster.lease);
    let gone = tokio::task::spawn_blocking(move || {
        let mut c = lease_conn.lock().map_err(|_| "poisoned".to_string())?;
        let stale = crate::time::now_ms() - 100 * lease;
        crate::store::leases::forget_instance(&mut c, &instance, stale).map_err(|e| e.to_string())
    })
    .await;
    if !matches!(gone, Ok(Ok(()))) {
        tracing::warn!("could not release the mailbox leases; they run out on their own");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Stores a batch of mailbox `index`'s mail through the pipeline, with the position it
/// reaches, on the mailbox's own connection.
fn store_batch(
    cfg: Arc<Config>,
    templates: Arc<Templates>,
    keys: Arc<Keys>,
    conn: Arc<Mutex<AnyConnection>>,
    index: usize,
) -> crate::intake::StoreBatch {
    Arc::new(move |raw, cursor| {
        let mut c = conn
            .lock()
            .map_err(|_| crate::store::StoreError::Poisoned)?;
        let app = App {
            cfg: &cfg,
            templates: &templates,
            keys: &keys,
        };
        let now = crate::time::now_ms();
        let clock = BatchClock {
            received_at: now,
            due_at: now,
        };
        let mailbox = &cfg.mailboxes[index];
        let results = pipeline::store_raw(&app, &mut c, mailbox, raw, clock, cursor)?;
        let mut summary = pipeline::Summary::default();
        results.iter().for_each(|r| summary.add(r));
        tracing::info!(mailbox = %mailbox.name, "processed {summary}");
        Ok(!summary.outbox_ids.is_empty())
    })
}

/// Why a scheduled task's run failed (logged; the next tick tries again).
#[derive(Debug, thiserror::Error)]
enum TaskError {
    #[error("database: {0}")]
    Store(#[from] diesel::result::Error),
    #[error(transparent)]
    Digest(#[from] crate::schedule::digest::DigestError),
    #[error("the task's database connection is poisoned by an earlier panic")]
    Poisoned,
    #[error("crashed: {0}")]
    Crashed(String),
}

/// What a scheduled task works with: the shared parts of a [`App`] and a database
/// connection of its own.
#[derive(Clone)]
struct TaskCtx {
    cfg: Arc<Config>,
    templates: Arc<Templates>,
    keys: Arc<Keys>,
    conn: Arc<Mutex<AnyConnection>>,
}

impl TaskCtx {
    /// Runs `f` on the blocking pool with a pipeline and the task's connection; a panic in it
    /// is an error like any other.
    async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&App<'_>, &mut AnyConnection) -> Result<T, TaskError> + Send + 'static,
    ) -> Result<T, TaskError> {
        let ctx = self.clone();
        tokio::task::spawn_blocking(move || {
            let pipeline = App {
                cfg: &ctx.cfg,
                templates: &ctx.templates,
                keys: &ctx.keys,
            };
            let mut c = ctx.conn.lock().map_err(|_| TaskError::Poisoned)?;
            f(&pipeline, &mut c)
        })
        .await
        .map_err(|e| TaskError::Crashed(e.to_string()))?
    }
}

/// Sweeps the SLA clocks on the `[scheduler] sla_sweep` schedule (every minute by default).
/// A sweep that fails (database away) is logged and the next tick tries again.
async fn sweep_sla(ctx: TaskCtx, mut stop: watch::Receiver<bool>, outbox_ready: Arc<Notify>) {
    while !*stop.borrow() {
        let now = chrono::Utc::now();
        let Some(next) = ctx.cfg.scheduler.sla_sweep.after(&now).next() else {
            return;
        };
        let wait = (next - now).to_std().unwrap_or_default();
        sleep_or_stop(wait, &mut stop).await;
        if *stop.borrow() {
            break;
        }
        let job = ctx
            .with_db(|pipeline, c| {
                let now = crate::time::now_ms();
                let started = std::time::Instant::now();
                let (r, _) = crate::schedule::sla_sweep::sweep(pipeline, c, now, now)?;
                Ok((r, started.elapsed()))
            })
            .await;
        match job {
            Ok((r, took)) => {
                crate::observe::metrics::get().sla_fired(r.warnings, r.breaches);
                if r.clocks > 0 {
                    tracing::info!(
                        clocks = r.clocks,
                        warnings = r.warnings,
                        breaches = r.breaches,
                        steps = r.steps,
                        mails = r.mails,
                        elapsed_ms = (took.as_secs_f64() * 1e6).round() / 1e3,
                        "SLA sweep"
                    );
                }
                if r.mails > 0 {
                    outbox_ready.notify_one();
                }
            }
            Err(e) => tracing::warn!("SLA sweep failed, trying again at the next tick: {e}"),
        }
    }
}

/// Sends the satisfaction surveys that are due and reminds the approvers who have not
/// answered, on the `[scheduler] sla_sweep` schedule.
async fn send_surveys(ctx: TaskCtx, mut stop: watch::Receiver<bool>, outbox_ready: Arc<Notify>) {
    while !*stop.borrow() {
        let now = chrono::Utc::now();
        let Some(next) = ctx.cfg.scheduler.sla_sweep.after(&now).next() else {
            return;
        };
        sleep_or_stop((next - now).to_std().unwrap_or_default(), &mut stop).await;
        if *stop.borrow() {
            break;
        }
        let job = ctx
            .with_db(|app, c| {
                let now = crate::time::now_ms();
                let (r, mut ids) = match app.cfg.csat {
                    Some(_) => crate::schedule::csat::sweep(app, c, now, now)?,
                    None => Default::default(),
                };
                let (reminded, more) = crate::pipeline::approvals::remind(app, c, now)?;
                ids.extend(more);
                ids.extend(crate::schedule::changes::sweep(app, c, now)?);
                if reminded.reminded + reminded.escalated > 0 {
                    tracing::info!(
                        reminded = reminded.reminded,
                        escalated = reminded.escalated,
                        "approval reminders"
                    );
                }
                Ok((r, ids))
            })
            .await;
        match job {
            Ok((r, ids)) => {
                if r.sent + r.cancelled + r.skipped > 0 {
                    tracing::info!(
                        sent = r.sent,
                        cancelled = r.cancelled,
                        skipped = r.skipped,
                        "satisfaction surveys"
                    );
                }
                if !ids.is_empty() {
                    outbox_ready.notify_one();
                }
            }
            Err(e) => tracing::warn!("survey sweep failed, trying again at the next tick: {e}"),
        }
    }
}

/// Sends each `[[digests]]` entry and opens each `[[recurring]]` ticket on its schedule; at
/// start, a run missed while the service was down is done once (`catch_up`). A run is recorded
/// with its mail or ticket, so it is done once however many instances reach it.
async fn send_digests(ctx: TaskCtx, mut stop: watch::Receiver<bool>, outbox_ready: Arc<Notify>) {
    use crate::schedule::{digest::RunOutcome, Job};
    let cfg = ctx.cfg.clone();
    let jobs = Job::all(&cfg);
    // (job, scheduled time) pairs to do now; at start, the missed runs.
    let missed_jobs = jobs.clone();
    let mut due: Vec<(Job, i64)> = ctx
        .with_db(move |p, c| {
            let now = crate::time::now_ms();
            Ok(missed_jobs
                .iter()
                .filter(|j| j.catch_up(p.cfg))
                .filter_map(|j| match j.of(p.cfg).missed_run(c, now) {
                    Ok(t) => t.map(|t| (*j, t)),
                    Err(e) => {
                        tracing::warn!(job = %j.of(p.cfg).name(), "cannot look for a missed run: {e}");
                        None
                    }
                })
                .collect())
        })
        .await
        .unwrap_or_default();
    let mut after = crate::time::now_ms();
    let mut failures = 0u32;
    while !*stop.borrow() {
        // Runs that failed (database away or busy) are tried again after a backoff.
        let mut retry = Vec::new();
        for (job, at) in std::mem::take(&mut due) {
            let name = job.of(&cfg).name();
            let done = ctx
                .with_db(move |p, c| {
                    let now = crate::time::now_ms();
                    Ok(match job {
                        Job::Digest(i) => {
                            crate::schedule::digest::run(p, c, &p.cfg.digests[i], at, now, now)?
                        }
                        Job::Recurring(i) => {
                            crate::schedule::recurring::run(p, c, &p.cfg.recurring[i], at, now)?
                        }
                    })
                })
                .await;
            match done {
                Ok(RunOutcome::Queued(id)) => {
                    tracing::info!(digest = %name, outbox = id, "digest queued");
                    outbox_ready.notify_one();
                }
                Ok(RunOutcome::Opened(id)) => {
                    tracing::info!(recurring = %name, ticket = id, "recurring ticket opened");
                    outbox_ready.notify_one();
                }
                Ok(RunOutcome::AlreadySent) => {
                    tracing::debug!(job = %name, "scheduled run already done")
                }
                Err(e) => {
                    tracing::warn!(job = %name, "scheduled run failed, trying again: {e}");
                    retry.push((job, at));
                }
            }
        }
        if !retry.is_empty() {
            failures += 1;
            sleep_or_stop(crate::time::backoff(failures), &mut stop).await;
            due = retry;
            continue;
        }
        failures = 0;
        // The next scheduled time of any job.
        let next = jobs
            .iter()
            .filter_map(|j| j.of(&cfg).next_occurrence(after))
            .min();
        let Some(t) = next else {
            return;
        };
        let wait = (t - crate::time::now_ms()).max(0) as u64;
        sleep_or_stop(Duration::from_millis(wait), &mut stop).await;
        if *stop.borrow() {
            break;
        }
        let now = crate::time::now_ms();
        for j in &jobs {
            for at in j.of(&cfg).occurrences(after, now) {
                due.push((*j, at));
            }
        }
        after = now;
    }
}

async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.changed() => {}
    }
}

async fn watch_maildir(
    cfg: Arc<Config>,
    templates: Arc<Templates>,
    keys: Arc<Keys>,
    index: usize,
    conn: Arc<Mutex<AnyConnection>>,
    mut stop: watch::Receiver<bool>,
    outbox_ready: Arc<Notify>,
) {
    let mailbox: &MailboxConfig = &cfg.mailboxes[index];
    let name = mailbox.name.clone();
    let interval = mailbox.poll_interval;
    let mut failures: u32 = 0;
    while !*stop.borrow() {
        let (cfg2, templates2, keys2, conn2) =
            (cfg.clone(), templates.clone(), keys.clone(), conn.clone());
        let job = tokio::task::spawn_blocking(move || -> Result<(usize, bool), String> {
            let mailbox = &cfg2.mailboxes[index];
            let MailboxSource::Maildir { path } = &mailbox.source else {
                return Ok((0, false));
            };
            let mails = maildir::scan_new(path, SCAN_LIMIT).map_err(|e| e.to_string())?;
            if mails.is_empty() {
                return Ok((0, false));
            }
            let n = mails.len();
            let pipeline = App {
                cfg: &cfg2,
                templates: &templates2,
                keys: &keys2,
            };
            let mut c = conn2
                .lock()
                .map_err(|_| "database connection poisoned".to_string())?;
            let clock = || {
                let now = crate::time::now_ms();
                BatchClock {
                    received_at: now,
                    due_at: now,
                }
            };
            let summary = pipeline::run(
                &pipeline,
                &mut c,
                mailbox,
                mails.into_iter().map(Ok),
                clock,
                |_| {},
            )
            .map_err(|e| e.to_string())?;
            tracing::info!(mailbox = %mailbox.name, "processed {summary}");
            Ok((n, !summary.outbox_ids.is_empty()))
        });
        match job.await {
            Ok(Ok((n, queued))) => {
                failures = 0;
                crate::observe::metrics::get().set_mailbox(&name, MailboxState::Connected);
                if queued {
                    outbox_ready.notify_one();
                }
                if n == SCAN_LIMIT {
                    continue;
                }
                sleep_or_stop(interval, &mut stop).await;
            }
            Ok(Err(e)) => {
                failures += 1;
                let backoff = crate::time::backoff(failures);
                crate::observe::metrics::get().set_mailbox(
                    &name,
                    MailboxState::Backoff {
                        retry_at_ms: crate::time::now_ms() + crate::time::millis(backoff),
                    },
                );
                tracing::error!(mailbox = %name, error = %e, retry_in = ?backoff, "mailbox failed; retrying");
                sleep_or_stop(backoff, &mut stop).await;
            }
            Err(e) => {
                tracing::error!(mailbox = %name, error = %e, "mailbox task crashed; restarting it");
                sleep_or_stop(crate::time::backoff(1), &mut stop).await;
            }
        }
    }
}

async fn send_outbox(
    transport: Arc<Transport>,
    cfg: Arc<Config>,
    templates: Arc<Templates>,
    keys: Arc<Keys>,
    conn: Arc<Mutex<AnyConnection>>,
    mut stop: watch::Receiver<bool>,
    ready: Arc<Notify>,
) {
    let mut failures = 0;
    loop {
        let (t, c) = (transport.clone(), conn.clone());
        let (cfg, templates, keys) = (cfg.clone(), templates.clone(), keys.clone());
        let job = tokio::task::spawn_blocking(move || {
            let mut c = c
                .lock()
                .map_err(|_| "database connection poisoned".to_string())?;
            let pipeline = App {
                cfg: &cfg,
                templates: &templates,
                keys: &keys,
            };
            let on_failure = |c: &mut AnyConnection, f: &outbox::FailedMail| {
                pipeline
                    .notify()
                    .notify_delivery_failed(c, f, crate::time::now_ms())
                    .map(|_| ())
            };
            let rules = outbox::Rules {
                retry: &cfg.retry,
                on_failure: Some(&on_failure),
            };
            let delivered = outbox::deliver_due(&mut c, &t, &rules);
            if let Err(e) = &delivered {
                if let Err(re) = crate::store::reopen_if_less_durable(&mut c, &cfg.database.url, e)
                {
                    tracing::error!(error = %re, "could not reopen the database connection");
                }
            }
            delivered.map_err(|e| e.to_string())
        });
        let wait = match job.await {
            Ok(Ok(r)) => {
                failures = 0;
                crate::observe::metrics::get().delivered(r.sent, r.failed, r.retrying);
                if r.sent + r.failed + r.retrying > 0 {
                    tracing::info!(
                        sent = r.sent,
                        retrying = r.retrying,
                        failed = r.failed,
                        "outbox delivered"
                    );
                }
                Duration::from_secs(1)
            }
            Ok(Err(e)) => {
                failures += 1;
                tracing::error!(error = %e, "outbox sender failed; retrying");
                crate::time::backoff(failures)
            }
            Err(e) => {
                failures += 1;
                tracing::error!(error = %e, "outbox sender crashed; restarting it");
                crate::time::backoff(failures)
            }
        };
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = ready.notified() => {}
            _ = stop.changed() => {}
        }
    }
}
