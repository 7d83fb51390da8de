//! Mail templates: handlebars pairs (`NAME.txt.hbs`, `NAME.html.hbs`) from mail-templates/,
//! compiled into the binary, overridable from `[templates] dir`, and rendered in strict mode
//! (an unknown variable is an error).
//! The HTML half escapes every value; the text half does not need to.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use handlebars::Handlebars;
use serde::Serialize;

/// The templates postdesk ships: `(name, text source, html source)`.
const BUILTIN: &[(&str, &str, &str)] = &[
    (
        "ack",
        include_str!("../mail-templates/ack.txt.hbs"),
        include_str!("../mail-templates/ack.html.hbs"),
    ),
    (
        "notify_agent",
        include_str!("../mail-templates/notify_agent.txt.hbs"),
        include_str!("../mail-templates/notify_agent.html.hbs"),
    ),
    (
        "agent_reply",
        include_str!("../mail-templates/agent_reply.txt.hbs"),
        include_str!("../mail-templates/agent_reply.html.hbs"),
    ),
    (
        "delivery_failed",
        include_str!("../mail-templates/delivery_failed.txt.hbs"),
        include_str!("../mail-templates/delivery_failed.html.hbs"),
    ),
    (
        "sla_warning",
        include_str!("../mail-templates/sla_warning.txt.hbs"),
        include_str!("../mail-templates/sla_warning.html.hbs"),
    ),
    (
        "sla_breach",
        include_str!("../mail-templates/sla_breach.txt.hbs"),
        include_str!("../mail-templates/sla_breach.html.hbs"),
    ),
    (
        "sla_summary",
        include_str!("../mail-templates/sla_summary.txt.hbs"),
        include_str!("../mail-templates/sla_summary.html.hbs"),
    ),
    (
        "digest",
        include_str!("../mail-templates/digest.txt.hbs"),
        include_str!("../mail-templates/digest.html.hbs"),
    ),
    (
        "note",
        include_str!("../mail-templates/note.txt.hbs"),
        include_str!("../mail-templates/note.html.hbs"),
    ),
    (
        "command_receipt",
        include_str!("../mail-templates/command_receipt.txt.hbs"),
        include_str!("../mail-templates/command_receipt.html.hbs"),
    ),
    (
        "status_changed",
        include_str!("../mail-templates/status_changed.txt.hbs"),
        include_str!("../mail-templates/status_changed.html.hbs"),
    ),
    (
        "command_error",
        include_str!("../mail-templates/command_error.txt.hbs"),
        include_str!("../mail-templates/command_error.html.hbs"),
    ),
];

/// Errors at the template boundary.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TemplateError {
    #[error("template {name}: {message}")]
    Compile { name: String, message: String },
    #[error("rendering template {name}: {message}")]
    Render { name: String, message: String },
}

/// A rendered text and HTML pair.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub text: String,
    pub html: String,
}

/// The templates, each compiled once, on its first use or all up front with
/// [`Templates::all`]. With a directory (`[templates] dir`), a `NAME.txt.hbs` or
/// `NAME.html.hbs` there replaces that half of the built-in `NAME`, and a pair of files with a
/// new name is a template of its own (for a rule's `template` action).
pub struct Templates {
    dir: Option<PathBuf>,
    compiled: Mutex<HashMap<String, Arc<Result<Compiled, TemplateError>>>>,
}

struct Compiled {
    text: Handlebars<'static>,
    html: Handlebars<'static>,
    /// Where each half came from (an override's path, or the built-in's name), for errors.
    text_file: String,
    html_file: String,
}

handlebars::handlebars_helper!(duration_helper: |ms: i64| crate::time::human_duration(ms));
handlebars::handlebars_helper!(datetime_helper: |ms: i64, tz: str| {
    use chrono::TimeZone;
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    chrono::Utc
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z").to_string())
        .unwrap_or_default()
});

/// The built-in source of one half, if `name` is built in.
fn builtin(name: &str, html: bool) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, t, h)| if html { *h } else { *t })
}

/// The names a directory offers: every `NAME.txt.hbs` with its `NAME.html.hbs`.
fn names_in(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".txt.hbs").map(str::to_string)
        })
        .collect();
    v.sort();
    v
}

/// Whether template `name` exists: built in, or as a pair of files in `dir`.
pub fn exists(name: &str, dir: Option<&Path>) -> bool {
    builtin(name, false).is_some()
        || dir.is_some_and(|d| {
            d.join(format!("{name}.txt.hbs")).is_file()
                && d.join(format!("{name}.html.hbs")).is_file()
        })
}

/// Compiles one pair into registries of its own: a process that sends only acknowledgements
/// (an MTA pipe) compiles only those. Errors name the file (and handlebars' line and column).
fn compile(name: &str, dir: Option<&Path>) -> Result<Compiled, TemplateError> {
    let source = |html: bool| -> Result<(String, String), TemplateError> {
        let file = format!("{name}.{}.hbs", if html { "html" } else { "txt" });
        if let Some(d) = dir {
            let path = d.join(&file);
            if path.is_file() {
                return std::fs::read_to_string(&path)
                    .map(|t| (path.display().to_string(), t))
                    .map_err(|e| TemplateError::Compile {
                        name: path.display().to_string(),
                        message: format!("cannot be read: {e}"),
                    });
            }
        }
        builtin(name, html)
            .map(|t| (format!("mail-templates/{file}"), t.to_string()))
            .ok_or_else(|| TemplateError::Compile {
                name: file.clone(),
                message: "no such template (neither built in nor in the templates directory)"
                    .into(),
            })
    };
    let registry = |escape: bool, (file, text): (String, String)| {
        let mut h = Handlebars::new();
        h.set_strict_mode(true);
        // {{duration MS}}: "3 h 20 min"; {{datetime MS "Europe/Berlin"}}: "2026-11-30 14:00 CET".
        h.register_helper("duration", Box::new(duration_helper));
        h.register_helper("datetime", Box::new(datetime_helper));
        if !escape {
            h.register_escape_fn(handlebars::no_escape);
        }
        h.register_template_string(name, text)
            .map_err(|e| TemplateError::Compile {
                name: file.clone(),
                message: e.to_string(),
            })?;
        Ok::<_, TemplateError>((h, file))
    };
    let (text, text_file) = registry(false, source(false)?)?;
    let (html, html_file) = registry(true, source(true)?)?;
    Ok(Compiled {
        text,
        html,
        text_file,
        html_file,
    })
}

impl Templates {
    /// The built-in templates only, compiled now (tests).
    pub fn builtin() -> Result<Templates, TemplateError> {
        Templates::all(None)
    }

    /// Compiles every template now (built in, overridden, and the directory's own), reporting
    /// the first error (for `check` and `serve`).
    /// Each is also rendered with a sample of what postdesk gives it (a template of the
    /// directory's own gets the acknowledgement's), so a misspelt or unknown variable is found
    /// here, with its file, line and column, not when a mail is due.
    pub fn all(dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let t = Templates::lazy(dir);
        for name in t.names() {
            t.compiled(&name)?;
            t.render(&name, &sample(&name))?;
        }
        Ok(t)
    }

    /// Every template, each compiled when first rendered: a short-lived process that answers
    /// no mail (a reply, a duplicate) never pays for compiling them.
    pub fn lazy(dir: Option<&Path>) -> Templates {
        Templates {
            dir: dir.map(Path::to_path_buf),
            compiled: Mutex::new(HashMap::new()),
        }
    }

    /// The names of all templates: the built-in ones, then the directory's own.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = BUILTIN.iter().map(|(n, _, _)| n.to_string()).collect();
        if let Some(d) = &self.dir {
            for n in names_in(d) {
                if !v.contains(&n) {
                    v.push(n);
                }
            }
        }
        v
    }

    fn compiled(&self, name: &str) -> Result<Arc<Result<Compiled, TemplateError>>, TemplateError> {
        if !exists(name, self.dir.as_deref()) {
            return Err(TemplateError::Render {
                name: name.to_string(),
                message: "no such template".into(),
            });
        }
        let mut map = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        let c = map
            .entry(name.to_string())
            .or_insert_with(|| Arc::new(compile(name, self.dir.as_deref())))
            .clone();
        if let Err(e) = c.as_ref() {
            return Err(e.clone());
        }
        Ok(c)
    }

    /// Renders both halves of template `name`.
    pub fn render(&self, name: &str, ctx: &impl Serialize) -> Result<Rendered, TemplateError> {
        let ctx = handlebars::Context::wraps(ctx).map_err(|e| TemplateError::Render {
            name: name.to_string(),
            message: e.to_string(),
        })?;
        self.render_context(name, &ctx)
    }

    /// [`Templates::render`] of a context already built as JSON, taken as it is: a large one
    /// (a summary of hundreds of tickets) is not copied for each half.
    pub fn render_json(
        &self,
        name: &str,
        ctx: serde_json::Value,
    ) -> Result<Rendered, TemplateError> {
        self.render_context(name, &handlebars::Context::from(ctx))
    }

    fn render_context(
        &self,
        name: &str,
        ctx: &handlebars::Context,
    ) -> Result<Rendered, TemplateError> {
        let c = self.compiled(name)?;
        let c = c.as_ref().as_ref().map_err(Clone::clone)?;
        let err = |file: String, e: handlebars::RenderError| TemplateError::Render {
            name: file,
            message: e.to_string(),
        };
        Ok(Rendered {
            text: c
                .text
                .render_with_context(name, ctx)
                .map_err(|e| err(c.text_file.clone(), e))?,
            html: c
                .html
                .render_with_context(name, ctx)
                .map_err(|e| err(c.html_file.clone(), e))?,
        })
    }
}

/// A sample of what postdesk gives template `name` (the same shape as the real contexts in
/// process.rs, sla.rs and digest.rs; the snapshot tests render every template with it).
pub fn sample(name: &str) -> serde_json::Value {
    use serde_json::json;
    let identity = json!({"name": "Example Support", "address": "support@example.test"});
    let customer = json!({"address": "carol@example.com", "name": "Carol Customer", "display": "Carol Customer"});
    let agent = json!({"name": "Alice Agent", "address": "alice@example.test", "timezone": "Europe/Berlin"});
    let marker = "## Reply above this line ##";
    match name {
        "notify_agent" => json!({
            "marker": marker, "is_new": true, "identity": identity,
            "ticket": {"id": 42, "ref": "[Support #42]", "subject": "Printer <on> fire", "status": "new",
                       "priority": "normal", "queue": "general", "assignee": null, "sla_due": "2026-11-30T13:00:00Z",
                       "sla_due_ms": 1_796_043_600_000i64},
            "customer": customer, "agent": agent, "text": "Our printer is on fire.\nPlease help.",
        }),
        "agent_reply" => json!({
            "text": "We are on our way.\n\nAlice", "agent": agent, "identity": identity,
            "ticket": {"id": 42, "ref": "[Support #42]", "subject": "Printer <on> fire"},
        }),
        "delivery_failed" => json!({
            "marker": marker, "ticket": {"ref": "[Support #42]", "subject": "Printer <on> fire"},
            "to": "carol@example.com", "error": "550 5.1.1 <carol@example.com>: Recipient address rejected",
        }),
        "command_error" => json!({
            "marker": marker, "ticket": {"ref": "[Support #42]"},
            "errors": [{"line": "#priority hihg", "reason": "expected low, normal, high or urgent"}],
            "done": ["status pending"], "sent": true,
        }),
        "note" => json!({
            "marker": marker, "ticket": {"ref": "[Support #42]", "subject": "Printer <on> fire"},
            "author": agent, "text": "Carol called: it is the second floor printer.",
        }),
        "command_receipt" => json!({
            "marker": marker,
            "ticket": {"ref": "[Support #42]", "subject": "Printer <on> fire", "status": "pending",
                       "priority": "high", "assignee": "alice@example.test", "queue": "general"},
            "done": ["status pending", "priority high"],
        }),
        "status_changed" => json!({
            "agent": agent, "identity": identity,
            "ticket": {"id": 42, "ref": "[Support #42]", "subject": "Printer <on> fire", "status": "resolved"},
        }),
        "sla_warning" | "sla_breach" => json!({
            "marker": marker,
            "ticket": {"ref": "[Support #42]", "subject": "Printer <on> fire", "queue": "general",
                       "priority": "high", "status": "open"},
            "target": "first response", "due": "2026-11-30T13:00:00Z", "left": "1 h 30 min",
            "late": "2 h", "requester": "carol@example.com", "assignee": "alice@example.test", "policy": "standard",
            "due_ms": 1_796_043_600_000i64, "recipient": {"timezone": "Europe/Berlin"},
        }),
        "sla_summary" => {
            let t = |r: &str, s: &str, due_ms: i64| {
                json!({"marker": marker,
                    "ticket": {"ref": r, "subject": s, "queue": "general", "priority": "high", "status": "open"},
                    "target": "first response", "due": "2026-11-30T13:00:00Z", "left": "1 h 30 min",
                    "late": "2 h", "requester": "carol@example.com", "assignee": "alice@example.test",
                    "policy": "standard", "due_ms": due_ms, "recipient": {"timezone": "UTC"}})
            };
            json!({
                "breach": false, "count": 2, "tickets_count": 2, "identity": identity,
                "tickets": [t("[Support #42]", "Printer <on> fire", 1_796_043_600_000i64),
                            t("[Support #43]", "Scanner & fax", 1_796_047_200_000i64)],
                "recipient": {"timezone": "Europe/Berlin"},
            })
        }
        "digest" => {
            let t = |extra: (&str, &str)| {
                json!({"ref": "[Support #42]", "subject": "Printer <on> fire",
                "requester": "carol@example.com", "assignee": "alice@example.test", "status": "open", extra.0: extra.1})
            };
            json!({
                "identity": identity,
                "digest": {"name": "daily", "queues": "all queues", "from": "2026-11-29 08:00 CET",
                           "to": "2026-11-30 08:00 CET", "period": "1 d", "due_within": "4 h"},
                "open": {"total": 3, "by_status": [{"status": "new", "count": 1}, {"status": "open", "count": 2}],
                         "by_queue": [{"queue": "general", "count": 3}]},
                "period": {"new": 4, "resolved": 2},
                "sla": {"first_response": {"measured": 4, "met": 3, "percent": "75.0 %"},
                        "resolution": {"measured": 2, "met": 2, "percent": "100.0 %"}},
                "counts": {"breached": 1, "at_risk": 1},
                "breached": [t(("late", "2 h"))], "at_risk": [t(("left", "1 h"))], "oldest": [t(("age", "3 d 2 h"))],
                "agents": [{"agent": "alice@example.test", "open": 2, "pending": 0, "breached": 1}],
                "times": {"first_response": {"count": 4, "median": "1 h", "p90": "3 h 20 min"},
                          "resolution": {"count": 2, "median": "5 h", "p90": "1 d 2 h"}},
            })
        }
        // ack, and a template of the directory's own that a rule answers with
        _ => json!({
            "identity": identity,
            "ticket": {"id": 42, "ref": "[Support #42]", "subject": "Printer <on> fire", "status": "new",
                       "priority": "normal", "queue": "general"},
            "customer": customer,
        }),
    }
}

/// What the acknowledgement template sees.
#[derive(Debug, Serialize)]
pub struct AckContext<'a> {
    pub identity: IdentityCtx<'a>,
    pub ticket: TicketCtx<'a>,
    pub customer: PersonCtx<'a>,
}

#[derive(Debug, Serialize)]
pub struct IdentityCtx<'a> {
    pub name: &'a str,
    pub address: &'a str,
}

#[derive(Debug, Serialize)]
pub struct TicketCtx<'a> {
    pub id: i64,
    #[serde(rename = "ref")]
    pub reference: &'a str,
    pub subject: &'a str,
    pub status: &'a str,
    pub priority: &'a str,
    pub queue: &'a str,
}

#[derive(Debug, Serialize)]
pub struct PersonCtx<'a> {
    pub address: &'a str,
    pub name: Option<&'a str>,
    /// The name when known, else the address: for greetings.
    pub display: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_renders_and_escapes_html_only() {
        let t = Templates::builtin().unwrap();
        let ctx = AckContext {
            identity: IdentityCtx {
                name: "Example Support",
                address: "support@example.test",
            },
            ticket: TicketCtx {
                id: 7,
                reference: "[Support #7]",
                subject: "<b>bold</b> & co",
                status: "new",
                priority: "normal",
                queue: "general",
            },
            customer: PersonCtx {
                address: "c@example.com",
                name: Some("Carol"),
                display: "Carol",
            },
        };
        let r = t.render("ack", &ctx).unwrap();
        assert!(r.text.contains("Hello Carol,"));
        assert!(r.text.contains("\"<b>bold</b> & co\""));
        assert!(
            r.html.contains("&lt;b&gt;bold&lt;/b&gt; &amp; co"),
            "{}",
            r.html
        );
        assert!(!r.html.contains("<b>bold</b>"));
    }

    #[test]
    fn a_directory_overrides_halves_and_adds_templates() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("ack.txt.hbs"), "Moin {{customer.display}}!").unwrap();
        std::fs::write(d.join("vip.txt.hbs"), "VIP {{ticket.ref}}").unwrap();
        std::fs::write(d.join("vip.html.hbs"), "<p>VIP {{ticket.ref}}</p>").unwrap();
        let t = Templates::all(Some(d)).unwrap();
        assert!(t.names().contains(&"vip".to_string()));
        assert!(exists("vip", Some(d)) && exists("ack", None) && !exists("vip", None));
        let ctx = serde_json::json!({"customer": {"display": "Carol"}, "ticket": {"ref": "[S #1]"},
            "identity": {"name": "x", "address": "y"}});
        let r = t.render("ack", &ctx);
        // the text half is overridden; the built-in HTML half still needs its own variables
        assert!(r.is_err());
        let full = serde_json::json!({"customer": {"display": "Carol", "address": "c@x", "name": "Carol"},
            "ticket": {"ref": "[S #1]", "id": 1, "subject": "s", "status": "new", "priority": "normal", "queue": "q"},
            "identity": {"name": "x", "address": "y"}});
        let r = t.render("ack", &full).unwrap();
        assert_eq!(r.text, "Moin Carol!");
        assert!(r.html.contains("Carol"));
        assert_eq!(t.render("vip", &full).unwrap().html, "<p>VIP [S #1]</p>");

        // A syntax error names the file and where in it.
        std::fs::write(d.join("ack.txt.hbs"), "line one\n{{#if x}}never closed\n").unwrap();
        let e = Templates::all(Some(d))
            .err()
            .expect("a compile error")
            .to_string();
        assert!(
            e.contains(&d.join("ack.txt.hbs").display().to_string()),
            "{e}"
        );
        assert!(e.contains("line") || e.contains("Line"), "{e}");
    }

    /// Every built-in template rendered with its sample, compared with the snapshot in
    /// tests/fixtures/snapshots (UPDATE_SNAPSHOTS=1 writes them anew). The HTML half must be
    /// well-formed enough: every tag opened is closed, no value arrives unescaped.
    #[test]
    fn snapshots_of_every_template() {
        let t = Templates::builtin().unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/snapshots");
        let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
        for (name, _, _) in BUILTIN {
            let r = t.render(name, &sample(name)).unwrap();
            assert!(
                !r.html.contains("Printer <on>"),
                "{name}: unescaped value in HTML"
            );
            for tag in [
                "html", "body", "table", "tr", "td", "p", "h1", "h2", "strong",
            ] {
                let opened = r.html.matches(&format!("<{tag}>")).count()
                    + r.html.matches(&format!("<{tag} ")).count();
                let closed = r.html.matches(&format!("</{tag}>")).count();
                assert_eq!(
                    opened, closed,
                    "{name}: <{tag}> opened {opened}, closed {closed}"
                );
            }
            for (ext, got) in [("txt", &r.text), ("html", &r.html)] {
                let f = dir.join(format!("{name}.{ext}"));
                if update {
                    std::fs::create_dir_all(&dir).unwrap();
                    std::fs::write(&f, got).unwrap();
                }
                let want = std::fs::read_to_string(&f)
                    .unwrap_or_else(|_| panic!("no snapshot {} (UPDATE_SNAPSHOTS=1)", f.display()));
                assert_eq!(got, &want, "{name}.{ext} differs from its snapshot");
            }
        }
    }

    #[test]
    fn an_unknown_variable_in_an_override_is_found_by_check_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("sla_breach.txt.hbs"),
            "SLA breached\n{{ticket.ref}} was due {{ticket.due_at}}\n",
        )
        .unwrap();
        let e = Templates::all(Some(dir.path()))
            .err()
            .expect("an error")
            .to_string();
        let file = dir.path().join("sla_breach.txt.hbs").display().to_string();
        assert!(e.contains(&file), "{e}");
        assert!(e.contains("line 2"), "{e}");
        assert!(e.contains("ticket.due_at"), "{e}");
    }

    #[test]
    fn duration_and_datetime_helpers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("h.txt.hbs"),
            "{{duration 12000000}} | {{datetime 1796000000000 \"America/New_York\"}}",
        )
        .unwrap();
        std::fs::write(dir.path().join("h.html.hbs"), "{{duration 60000}}").unwrap();
        let t = Templates::lazy(Some(dir.path()));
        let r = t.render("h", &serde_json::json!({})).unwrap();
        assert_eq!(r.text, "3 h 20 min | 2026-11-29 19:53 EST");
        assert_eq!(r.html, "1 min");
    }

    #[test]
    fn strict_mode_rejects_unknown_variables() {
        let t = Templates::builtin().unwrap();
        let err = t
            .render("ack", &serde_json::json!({"identity": {"name": "x"}}))
            .unwrap_err();
        assert!(err.to_string().contains("ack.txt.hbs"), "{err}");
    }
}
