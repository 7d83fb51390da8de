//! `check` and `rules test`: the config, templates, rules, mailboxes and transport tried.

use super::*;

pub(super) fn check(cfg: &Config) -> Outcome {
    let mut bad = 0;
    let mut report = |ok: bool, what: String| {
        say!("{} {what}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            bad += 1;
        }
    };
    report(true, format!("config {}", cfg.file.display()));
    match Templates::of_config(cfg, true) {
        Ok(_) => report(true, "templates".into()),
        Err(e) => report(false, format!("templates: {e}")),
    }
    if let Some(dir) = &cfg.knowledge_dir {
        match crate::knowledge::Library::load(Some(dir)) {
            Ok(l) => report(
                true,
                format!(
                    "knowledge: {} article(s) in {}",
                    l.files.len(),
                    dir.display()
                ),
            ),
            Err(e) => report(false, format!("knowledge: {e}")),
        }
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
            MailboxSource::Lmtp { listen } => report(
                true,
                format!("mailbox '{}': LMTP on {listen} (while serve runs)", m.name),
            ),
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
            Ok(()) => {
                let signed = match &cfg.transport {
                    crate::config::TransportConfig::Smtp(crate::config::SmtpConfig {
                        oauth: Some(o),
                        ..
                    }) => o
                        .tokens
                        .renew_at()
                        .map(|t| {
                            format!(
                                ", signed in with a token good until {}",
                                chrono::DateTime::<chrono::Utc>::from(t)
                                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                            )
                        })
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                report(true, format!("transport: smtp server answers{signed}"))
            }
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

pub(super) fn rules_test(
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
            say!("no rule matches");
        }
        for (i, m) in matched.iter().enumerate() {
            say!("{}. {}", i + 1, m.as_str().unwrap_or_default());
        }
        say!("would become:");
        if let Some(o) = t["ticket"].as_object() {
            for (k, v) in o {
                say!(
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
