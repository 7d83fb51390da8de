//! Tests of the parent module.

use super::*;

#[test]
fn ack_renders_and_escapes_html_only() {
    let t = Templates::builtin().unwrap();
    let ctx = context::Ack {
        identity: context::Identity {
            name: "Example Support".into(),
            address: "support@example.test".into(),
        },
        ticket: context::Ticket {
            id: 7,
            reference: "[Support #7]".into(),
            subject: "<b>bold</b> & co".into(),
            status: "new".into(),
            priority: "normal".into(),
            queue: "general".into(),
            assignee: None,
            sla_due: None,
            sla_due_ms: None,
            ticket_type: None,
        },
        customer: context::Person::new("c@example.com", Some("Carol")),
        suggestions: Vec::new(),
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
    let translated = crate::ticket::language::LANGUAGES[1..]
        .iter()
        .flat_map(|l| BUILTIN.iter().map(move |(n, _, _)| (*l, *n)))
        .filter(|(l, n)| translations::builtin(l, n, false).is_some());
    let all = BUILTIN.iter().map(|(n, _, _)| ("en", *n)).chain(translated);
    for (lang, name) in all {
        let r = t.render_in(lang, name, &sample(name)).unwrap();
        let name = &if lang == "en" {
            name.to_string()
        } else {
            format!("{lang}/{name}")
        };
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
                std::fs::create_dir_all(f.parent().unwrap()).unwrap();
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

/// The samples `check` and `serve` render are built from the contexts' own types: a template
/// that names a value its real context lacks is refused at start, with the file named.
#[test]
fn a_value_the_real_context_lacks_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let half = dir.path().join("agent_reply.txt.hbs");
    // agent_reply's context has the ticket and the agent, not the customer.
    std::fs::write(&half, "{{ticket.priority}} {{agent.timezone}}\n{{text}}\n").unwrap();
    assert!(Templates::all(Some(dir.path())).is_ok());
    std::fs::write(&half, "Hello {{customer.display}},\n{{text}}\n").unwrap();
    let e = Templates::all(Some(dir.path()))
        .err()
        .expect("customer is not in agent_reply's context");
    assert!(e.to_string().contains("agent_reply.txt.hbs"), "{e}");
    // Each built-in context's sample is an object of its type's fields.
    for name in Templates::builtin().unwrap().names() {
        assert!(sample(&name).is_object(), "{name}");
    }
    assert_eq!(sample("agent_reply")["ticket"]["ref"], "[Support #42]");
    assert!(sample("agent_reply").get("customer").is_none());
}

#[test]
fn an_identitys_templates_override_the_shared_ones_and_are_checked_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let (shared, own) = (dir.path().join("shared"), dir.path().join("billing"));
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::create_dir_all(&own).unwrap();
    std::fs::write(shared.join("ack.txt.hbs"), "Shared {{ticket.ref}}").unwrap();
    std::fs::write(shared.join("note.txt.hbs"), "Shared note {{ticket.ref}}").unwrap();
    std::fs::write(own.join("ack.txt.hbs"), "Billing {{ticket.ref}}").unwrap();
    let text = format!(
        "[database]\nurl = \"sqlite://x.db\"\n[identity]\naddress = \"support@example.test\"\n[[mailboxes]]\nname = \"m\"\nkind = \"maildir\"\npath = \"m\"\n\
         [transport]\nkind = \"file\"\n[[queues]]\nname = \"general\"\n[templates]\ndir = \"{}\"\n\
         [[identities]]\nname = \"billing\"\naddress = \"billing@example.test\"\ntemplates_dir = \"{}\"\n",
        shared.display(),
        own.display()
    );
    let cfg = crate::config::Config::parse(&text, Path::new("pd.toml")).unwrap();
    let t = Templates::of_config(&cfg, true).unwrap();
    let ctx = context::sample("ack");
    assert_eq!(
        t.for_address("billing@example.test")
            .render_json("ack", ctx.clone())
            .unwrap()
            .text,
        "Billing [Support #42]"
    );
    assert_eq!(
        t.for_address("support@example.test")
            .render_json("ack", ctx)
            .unwrap()
            .text,
        "Shared [Support #42]"
    );
    // What the identity does not override comes from the shared directory.
    let note = t
        .for_address("billing@example.test")
        .render_json("note", context::sample("note"))
        .unwrap();
    assert_eq!(note.text, "Shared note [Support #42]");

    std::fs::write(own.join("ack.txt.hbs"), "{{#if x}}never closed").unwrap();
    let e = Templates::of_config(&cfg, true)
        .err()
        .expect("a compile error")
        .to_string();
    assert!(
        e.contains(&own.join("ack.txt.hbs").display().to_string()),
        "{e}"
    );
}
