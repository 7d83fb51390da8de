//! Commands that change things: `ingest`, `sla sweep`, `digest`, `outbox retry`.

use super::*;

pub(super) fn ingest(
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
    let progress = super::progress::Progress::new(items.len());
    let mails = progress.read(items);
    let store_err = |e: pipeline::RunError| match e {
        pipeline::RunError::Store(e) if e.is_temporary() => temp(e.to_string()),
        e => Failure::runtime(e),
    };
    let claim = outbox::Claim::Held(held_until);
    let report = match transport {
        None => {
            let summary =
                pipeline::run(&pipeline, &mut c, mb, mails, clock, |_| {}).map_err(store_err)?;
            eprintln!("ingested {summary}\n{}", progress.finish());
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
            eprintln!("ingested {summary}\n{}", progress.finish());
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
            eprintln!("ingested {summary}\n{}", progress.finish());
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

pub(super) fn sla_sweep(cfg: &Config, now: Option<String>, no_send: bool) -> Outcome {
    let now = time_arg("--now", now)?.unwrap_or_else(now_ms);
    let (_, keys) = pipeline_parts(cfg)?;
    // Every template compiled and tried first, as `serve` does at its start: a broken one is
    // reported before any clock fires (and the sweep's time is the sweep's, as in `serve`).
    let templates = Templates::of_config(cfg, true).map_err(Failure::runtime)?;
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
    say!("{out}");
    Ok(())
}

pub(super) fn digest_cmd(cfg: &Config, name: &str, dry_run: bool, now: Option<String>) -> Outcome {
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
        crate::schedule::digest::RunOutcome::AlreadySent
        | crate::schedule::digest::RunOutcome::Opened(_) => {
            eprintln!("digest '{name}' for this time was already sent");
        }
        crate::schedule::digest::RunOutcome::Queued(id) => {
            let r = deliver_held(&pipeline, &mut c, &[id], hold)?;
            eprintln!("digest '{name}' queued as outbox #{id}, {} sent", r.sent);
        }
    }
    Ok(())
}

pub(super) fn outbox_retry(cfg: &Config, id: i64) -> Outcome {
    let mut c = open_store(cfg)?;
    if models::requeue_outbox(&mut c, id, now_ms()).map_err(Failure::runtime)? {
        say!("outbox #{id} is queued for delivery again; `serve` delivers it");
        Ok(())
    } else {
        Err(Failure::runtime(format!(
            "outbox #{id} does not exist or was sent already"
        )))
    }
}
