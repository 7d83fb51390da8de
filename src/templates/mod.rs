//! Mail templates: handlebars pairs (`NAME.txt.hbs`, `NAME.html.hbs`) from mail-templates/,
//! compiled into the binary, overridable from `[templates] dir`, and rendered in strict mode
//! (an unknown variable is an error).
//! The HTML half escapes every value; the text half does not need to.

pub mod context;

pub use context::sample;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use handlebars::Handlebars;
use serde::Serialize;

/// The templates postdesk ships: `(name, text source, html source)`.
const BUILTIN: &[(&str, &str, &str)] = &[
    (
        "ack",
        include_str!("../../mail-templates/ack.txt.hbs"),
        include_str!("../../mail-templates/ack.html.hbs"),
    ),
    (
        "notify_agent",
        include_str!("../../mail-templates/notify_agent.txt.hbs"),
        include_str!("../../mail-templates/notify_agent.html.hbs"),
    ),
    (
        "agent_reply",
        include_str!("../../mail-templates/agent_reply.txt.hbs"),
        include_str!("../../mail-templates/agent_reply.html.hbs"),
    ),
    (
        "delivery_failed",
        include_str!("../../mail-templates/delivery_failed.txt.hbs"),
        include_str!("../../mail-templates/delivery_failed.html.hbs"),
    ),
    (
        "sla_warning",
        include_str!("../../mail-templates/sla_warning.txt.hbs"),
        include_str!("../../mail-templates/sla_warning.html.hbs"),
    ),
    (
        "sla_breach",
        include_str!("../../mail-templates/sla_breach.txt.hbs"),
        include_str!("../../mail-templates/sla_breach.html.hbs"),
    ),
    (
        "sla_summary",
        include_str!("../../mail-templates/sla_summary.txt.hbs"),
        include_str!("../../mail-templates/sla_summary.html.hbs"),
    ),
    (
        "digest",
        include_str!("../../mail-templates/digest.txt.hbs"),
        include_str!("../../mail-templates/digest.html.hbs"),
    ),
    (
        "note",
        include_str!("../../mail-templates/note.txt.hbs"),
        include_str!("../../mail-templates/note.html.hbs"),
    ),
    (
        "command_receipt",
        include_str!("../../mail-templates/command_receipt.txt.hbs"),
        include_str!("../../mail-templates/command_receipt.html.hbs"),
    ),
    (
        "status_changed",
        include_str!("../../mail-templates/status_changed.txt.hbs"),
        include_str!("../../mail-templates/status_changed.html.hbs"),
    ),
    (
        "command_error",
        include_str!("../../mail-templates/command_error.txt.hbs"),
        include_str!("../../mail-templates/command_error.html.hbs"),
    ),
    (
        "problem_update",
        include_str!("../../mail-templates/problem_update.txt.hbs"),
        include_str!("../../mail-templates/problem_update.html.hbs"),
    ),
    (
        "agent_notice",
        include_str!("../../mail-templates/agent_notice.txt.hbs"),
        include_str!("../../mail-templates/agent_notice.html.hbs"),
    ),
    (
        "csat_survey",
        include_str!("../../mail-templates/csat_survey.txt.hbs"),
        include_str!("../../mail-templates/csat_survey.html.hbs"),
    ),
    (
        "approval_request",
        include_str!("../../mail-templates/approval_request.txt.hbs"),
        include_str!("../../mail-templates/approval_request.html.hbs"),
    ),
    (
        "request_update",
        include_str!("../../mail-templates/request_update.txt.hbs"),
        include_str!("../../mail-templates/request_update.html.hbs"),
    ),
    (
        "approval_outcome",
        include_str!("../../mail-templates/approval_outcome.txt.hbs"),
        include_str!("../../mail-templates/approval_outcome.html.hbs"),
    ),
    (
        "csat_low",
        include_str!("../../mail-templates/csat_low.txt.hbs"),
        include_str!("../../mail-templates/csat_low.html.hbs"),
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
    /// Override directories, the first that has a file winning (an identity's own, then
    /// `[templates] dir`).
    dirs: Vec<PathBuf>,
    compiled: Mutex<HashMap<String, Arc<Result<Compiled, TemplateError>>>>,
    /// The templates of each `[[identities]]` entry with a `templates_dir`, by its address.
    by_address: HashMap<String, Templates>,
    /// `[knowledge] dir`, and its articles once read (at start with `check`, else on first
    /// use): articles are templates the agents send by name.
    knowledge_dir: Option<PathBuf>,
    knowledge: Arc<
        std::sync::OnceLock<Result<crate::knowledge::Library, crate::knowledge::KnowledgeError>>,
    >,
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
        || is_plain_name(name)
            && dir.is_some_and(|d| {
                d.join(format!("{name}.txt.hbs")).is_file()
                    && d.join(format!("{name}.html.hbs")).is_file()
            })
}

/// A template name is a file name stem in `[templates] dir`, never a path: letters, digits,
/// `-` and `_` (so `../x` cannot read outside the directory).
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Compiles one pair into registries of its own: a process that sends only acknowledgements
/// (an MTA pipe) compiles only those. Errors name the file (and handlebars' line and column).
fn compile(name: &str, dirs: &[PathBuf], lang: &str) -> Result<Compiled, TemplateError> {
    let source = |html: bool| -> Result<(String, String), TemplateError> {
        let file = format!("{name}.{}.hbs", if html { "html" } else { "txt" });
        // Another language: its own files in the directories, then its built-in translation;
        // then, as for English, the directories' files and the built-in one.
        if lang != crate::ticket::language::LANGUAGES[0] && is_plain_name(name) {
            for d in dirs {
                let path = d.join(lang).join(&file);
                if path.is_file() {
                    return std::fs::read_to_string(&path)
                        .map(|t| (path.display().to_string(), t))
                        .map_err(|e| TemplateError::Compile {
                            name: path.display().to_string(),
                            message: format!("cannot be read: {e}"),
                        });
                }
            }
            if let Some(t) = translations::builtin(lang, name, html) {
                return Ok((format!("mail-templates/{lang}/{file}"), t.to_string()));
            }
        }
        for d in dirs.iter().filter(|_| is_plain_name(name)) {
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
        t.check()?;
        Ok(t)
    }

    /// Compiles and tries every template of this set and of every identity's.
    fn check(&self) -> Result<(), TemplateError> {
        for name in self.names() {
            for lang in crate::ticket::language::LANGUAGES {
                self.render_in(lang, &name, &sample(&name))?;
            }
        }
        self.by_address.values().try_for_each(Templates::check)
    }

    /// Every template, each compiled when first rendered: a short-lived process that answers
    /// no mail (a reply, a duplicate) never pays for compiling them.
    pub fn lazy(dir: Option<&Path>) -> Templates {
        Templates {
            dirs: dir.map(Path::to_path_buf).into_iter().collect(),
            compiled: Mutex::new(HashMap::new()),
            by_address: HashMap::new(),
            knowledge_dir: None,
            knowledge: Arc::default(),
        }
    }

    /// The templates of a config: `[templates] dir`, and for each `[[identities]]` entry with
    /// a `templates_dir`, that directory over it. `check`: all compiled and tried now (as
    /// [`Templates::all`]), else each when first used.
    pub fn of_config(cfg: &crate::config::Config, check: bool) -> Result<Templates, TemplateError> {
        let mut t = Templates::lazy(cfg.templates_dir.as_deref());
        t.knowledge_dir = cfg.knowledge_dir.clone();
        for (_, id) in &cfg.identities {
            if let Some(d) = &id.templates_dir {
                let mut own = Templates::lazy(Some(d));
                own.dirs.extend(t.dirs.iter().cloned());
                own.knowledge_dir = t.knowledge_dir.clone();
                own.knowledge = t.knowledge.clone();
                t.by_address.insert(id.address.clone(), own);
            }
        }
        if check {
            t.check()?;
        }
        Ok(t)
    }

    /// The articles of `[knowledge] dir`, read and tried once.
    pub fn knowledge(
        &self,
    ) -> Result<&crate::knowledge::Library, crate::knowledge::KnowledgeError> {
        self.knowledge
            .get_or_init(|| crate::knowledge::Library::load(self.knowledge_dir.as_deref()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The templates mail from `address` (a support address) is written with.
    pub fn for_address(&self, address: &str) -> &Templates {
        self.by_address.get(address).unwrap_or(self)
    }

    /// Whether template `name` has its own version in `lang` (built in, or in a directory's
    /// `LANG/`), so a mail rendered in `lang` is written in it.
    pub fn has_language(&self, lang: &str, name: &str) -> bool {
        translations::builtin(lang, name, false).is_some()
            || is_plain_name(name)
                && self
                    .dirs
                    .iter()
                    .any(|d| d.join(lang).join(format!("{name}.txt.hbs")).is_file())
    }

    /// The names of all templates: the built-in ones, then the directories' own.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = BUILTIN.iter().map(|(n, _, _)| n.to_string()).collect();
        for d in &self.dirs {
            for n in names_in(d) {
                if !v.contains(&n) {
                    v.push(n);
                }
            }
        }
        v
    }

    fn compiled(
        &self,
        lang: &str,
        name: &str,
    ) -> Result<Arc<Result<Compiled, TemplateError>>, TemplateError> {
        if !self.dirs.iter().any(|d| exists(name, Some(d))) && !exists(name, None) {
            return Err(TemplateError::Render {
                name: name.to_string(),
                message: "no such template".into(),
            });
        }
        let mut map = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        let c = map
            .entry(format!("{lang}/{name}"))
            .or_insert_with(|| Arc::new(compile(name, &self.dirs, lang)))
            .clone();
        if let Err(e) = c.as_ref() {
            return Err(e.clone());
        }
        Ok(c)
    }

    /// Renders both halves of template `name` (in English).
    pub fn render(&self, name: &str, ctx: &impl Serialize) -> Result<Rendered, TemplateError> {
        self.render_in(crate::ticket::language::LANGUAGES[0], name, ctx)
    }

    /// Renders both halves of template `name` in `lang` (a language without its own version
    /// of the template gets the English one).
    pub fn render_in(
        &self,
        lang: &str,
        name: &str,
        ctx: &impl Serialize,
    ) -> Result<Rendered, TemplateError> {
        let ctx = handlebars::Context::wraps(ctx).map_err(|e| TemplateError::Render {
            name: name.to_string(),
            message: e.to_string(),
        })?;
        self.render_context(lang, name, &ctx)
    }

    /// [`Templates::render`] of a context already built as JSON, taken as it is: a large one
    /// (a summary of hundreds of tickets) is not copied for each half.
    pub fn render_json(
        &self,
        name: &str,
        ctx: serde_json::Value,
    ) -> Result<Rendered, TemplateError> {
        self.render_context(
            crate::ticket::language::LANGUAGES[0],
            name,
            &handlebars::Context::from(ctx),
        )
    }

    fn render_context(
        &self,
        lang: &str,
        name: &str,
        ctx: &handlebars::Context,
    ) -> Result<Rendered, TemplateError> {
        let c = self.compiled(lang, name)?;
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

mod translations;

#[cfg(test)]
mod tests;
