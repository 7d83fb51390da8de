//! Mail templates: handlebars pairs (`NAME.txt.hbs`, `NAME.html.hbs`) from mail-templates/,
//! compiled into the binary and rendered in strict mode (an unknown variable is an error).
//! The HTML half escapes every value; the text half does not need to.

use std::sync::OnceLock;

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
/// [`Templates::builtin`].
pub struct Templates {
    /// One slot per entry of `BUILTIN`, in order.
    compiled: Vec<OnceLock<Result<Compiled, TemplateError>>>,
}

struct Compiled {
    text: Handlebars<'static>,
    html: Handlebars<'static>,
}

/// Compiles one built-in pair into registries of its own: a process that sends only
/// acknowledgements (an MTA pipe) compiles only those.
fn compile((name, t, h): &(&str, &str, &str)) -> Result<Compiled, TemplateError> {
    let mut text = Handlebars::new();
    text.set_strict_mode(true);
    text.register_escape_fn(handlebars::no_escape);
    let mut html = Handlebars::new();
    html.set_strict_mode(true);
    text.register_template_string(name, t)
        .map_err(|e| TemplateError::Compile {
            name: format!("{name}.txt.hbs"),
            message: e.to_string(),
        })?;
    html.register_template_string(name, h)
        .map_err(|e| TemplateError::Compile {
            name: format!("{name}.html.hbs"),
            message: e.to_string(),
        })?;
    Ok(Compiled { text, html })
}

impl Templates {
    /// Compiles the built-in templates now, reporting any error (for `check` and `serve`).
    pub fn builtin() -> Result<Templates, TemplateError> {
        let t = Templates::lazy();
        for (name, _, _) in BUILTIN {
            t.compiled(name)?;
        }
        Ok(t)
    }

    /// The built-in templates, each compiled when first rendered: a short-lived process that
    /// answers no mail (a reply, a duplicate) never pays for compiling them.
    pub fn lazy() -> Templates {
        Templates {
            compiled: BUILTIN.iter().map(|_| OnceLock::new()).collect(),
        }
    }

    fn compiled(&self, name: &str) -> Result<&Compiled, TemplateError> {
        let Some(i) = BUILTIN.iter().position(|(n, _, _)| *n == name) else {
            return Err(TemplateError::Render {
                name: name.to_string(),
                message: "no such template".into(),
            });
        };
        self.compiled[i]
            .get_or_init(|| compile(&BUILTIN[i]))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Renders both halves of template `name`.
    pub fn render(&self, name: &str, ctx: &impl Serialize) -> Result<Rendered, TemplateError> {
        let c = self.compiled(name)?;
        let err = |file: String, e: handlebars::RenderError| TemplateError::Render {
            name: file,
            message: e.to_string(),
        };
        Ok(Rendered {
            text: c
                .text
                .render(name, ctx)
                .map_err(|e| err(format!("{name}.txt.hbs"), e))?,
            html: c
                .html
                .render(name, ctx)
                .map_err(|e| err(format!("{name}.html.hbs"), e))?,
        })
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
    fn strict_mode_rejects_unknown_variables() {
        let t = Templates::builtin().unwrap();
        let err = t
            .render("ack", &serde_json::json!({"identity": {"name": "x"}}))
            .unwrap_err();
        assert!(err.to_string().contains("ack.txt.hbs"), "{err}");
    }
}
