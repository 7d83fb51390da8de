//! Tests of the parent module.

#[test]
fn secret_paths_can_name_the_systemd_credentials_directory() {
    // Only this test sets the variable.
    std::env::set_var("CREDENTIALS_DIRECTORY", "/run/credentials/postdesk.service");
    assert_eq!(
        super::credential_path("${CREDENTIALS_DIRECTORY}/postdesk_imap"),
        "/run/credentials/postdesk.service/postdesk_imap"
    );
    assert_eq!(
        super::credential_path("$CREDENTIALS_DIRECTORY/postdesk_smtp"),
        "/run/credentials/postdesk.service/postdesk_smtp"
    );
    assert_eq!(
        super::credential_path("/etc/x/${CREDENTIALS_DIRECTORY}"),
        "/etc/x/${CREDENTIALS_DIRECTORY}"
    );
    std::env::remove_var("CREDENTIALS_DIRECTORY");
    assert_eq!(
        super::credential_path("${CREDENTIALS_DIRECTORY}/postdesk_imap"),
        "${CREDENTIALS_DIRECTORY}/postdesk_imap",
        "outside systemd the path stays as written (and its read error names it)"
    );
}

use super::*;

const GOOD: &str = r#"
[database]
url = "sqlite://var/postdesk.db"

[identity]
name = "Example Support"
address = "Support@Example.test"
subject_tag = "Support"
message_id_domain = "example.test"

[[mailboxes]]
name = "support"
kind = "maildir"
path = "var/mail/support"
queue = "general"

[transport]
kind = "file"
dir = "var/outbox"

[[queues]]
name = "general"
"#;

fn errors(text: &str) -> Vec<String> {
    match Config::parse(text, Path::new("pd.toml")) {
        Ok(_) => Vec::new(),
        Err(e) => e.to_string().lines().map(String::from).collect(),
    }
}

#[test]
fn good_config() {
    let c = Config::parse(GOOD, Path::new("pd.toml")).unwrap();
    assert_eq!(c.identity.address, "support@example.test");
    assert_eq!(c.mailboxes[0].queue, "general");
    assert!(matches!(c.transport, TransportConfig::File { .. }));
}

#[test]
fn every_problem_at_once_with_file_and_key() {
    let bad = GOOD
        .replace("url = \"sqlite://var/postdesk.db\"", "url = 42")
        .replace("kind = \"maildir\"", "kind = \"pop3\"")
        .replace("queue = \"general\"", "queue = \"nope\"\ncolour = 1");
    let errs = errors(&bad);
    assert!(
        errs.iter()
            .any(|e| e.starts_with("pd.toml: database.url: expected a string")),
        "{errs:?}"
    );
    assert!(
        errs.iter().any(|e| e.contains(
            "mailboxes[0].kind: expected \"maildir\", \"imap\" or \"lmtp\", found \"pop3\""
        )),
        "{errs:?}"
    );
    assert!(
        errs.iter().any(|e| e.contains("mailboxes[0].queue")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("mailboxes[0].colour: unknown key")),
        "{errs:?}"
    );
}

/// Review of #16: an overflowing duration panicked `check`; now it is one more problem.
#[test]
fn a_duration_too_long_is_reported_with_its_key() {
    let bad = format!("{GOOD}\n[threading]\nreopen_window = \"18446744073709551615s1s\"\n");
    let errs = errors(&bad);
    assert!(
        errs.iter().any(
            |e| e.starts_with("pd.toml: threading.reopen_window: expected a duration")
                && e.contains("longer than 100 years")
        ),
        "{errs:?}"
    );
}

#[test]
fn syntax_error_names_line() {
    let errs = errors("[database]\nurl = \n");
    assert!(errs[0].starts_with("pd.toml: line 2"), "{errs:?}");
}

#[test]
fn plain_text_only_to_loopback() {
    let smtp = GOOD.replace(
        "kind = \"file\"\ndir = \"var/outbox\"",
        "kind = \"smtp\"\nhost = \"mail.example.com\"\ntls = \"none\"",
    );
    assert!(errors(&smtp).iter().any(|e| e.contains("transport.tls")));
    let local = GOOD.replace(
        "kind = \"file\"\ndir = \"var/outbox\"",
        "kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = 10025\ntls = \"none\"",
    );
    assert!(errors(&local).is_empty(), "{:?}", errors(&local));
}

#[test]
fn secrets_from_env_and_never_printed() {
    std::env::set_var("POSTDESK_TEST_PW", "hunter2");
    let imap = GOOD.replace(
        "kind = \"maildir\"\npath = \"var/mail/support\"",
        "kind = \"imap\"\nhost = \"imap.example.com\"\nusername = \"u\"\npassword_env = \"POSTDESK_TEST_PW\"",
    );
    let c = Config::parse(&imap, Path::new("pd.toml")).unwrap();
    let MailboxSource::Imap(i) = &c.mailboxes[0].source else {
        panic!("not imap")
    };
    assert_eq!(i.password.expose(), "hunter2");
    assert!(!format!("{c:?}").contains("hunter2"));
    let missing = imap.replace("POSTDESK_TEST_PW", "POSTDESK_TEST_UNSET_VAR");
    assert!(errors(&missing)
        .iter()
        .any(|e| e
            .contains("password_env: expected the environment variable POSTDESK_TEST_UNSET_VAR")));
}

#[test]
fn a_secret_file_that_never_ends_is_an_error_not_a_hang() {
    let imap = GOOD.replace(
        "kind = \"maildir\"\npath = \"var/mail/support\"",
        "kind = \"imap\"\nhost = \"imap.example.com\"\nusername = \"u\"\npassword_file = \"/dev/zero\"",
    );
    let errs = errors(&imap);
    assert!(
        errs.iter()
            .any(|e| e.contains("password_file") && e.contains("larger than 64 KiB")),
        "{errs:?}"
    );
}

const POLICY: &str = r#"
[[agents]]
address = "alice@example.test"
queues = ["general"]

[[agents]]
address = "boss@example.test"
role = "manager"

[[queues]]
name = "vip"
sla = "standard"

[[calendars]]
name = "office"
timezone = "Europe/Berlin"
hours = { mon = "09:00-17:00", tue = "09:00-17:00", wed = "09:00-17:00", thu = "09:00-17:00", fri = "09:00-12:00, 13:00-17:00" }
holidays = ["2026-12-25", "2026-12-26"]

[[sla]]
name = "standard"
calendar = "office"
first_response = { low = "8h", normal = "4h", high = "1h", urgent = "30m" }
next_response  = { normal = "8h" }
resolution     = { normal = "24h" }
warn_at = 0.8
pause_when = ["pending"]
escalate = [
  { at = "warning", notify = ["assignee"] },
  { at = "breach", notify = ["assignee", "managers"], raise_priority = true },
  { at = "breach", after = "4h", reassign = "least_open" },
]

[[rules]]
name = "urgent from bigcorp"
match = "all"
conditions = [
  { field = "from", op = "domain", value = "bigcorp.example" },
  { field = "subject", op = "regex", value = "(?i)urgent|outage" },
]
actions = { priority = "urgent", queue = "vip", tags = ["vip"], sla = "standard", assign = "round_robin" }
stop = true

[scheduler]
sla_sweep = "*/30 * * * * *"
"#;

#[test]
fn policies_rules_and_calendars() {
    use crate::ticket::model::Priority;
    let c = Config::parse(&format!("{GOOD}{POLICY}"), Path::new("pd.toml")).unwrap();
    let p = &c.sla[0];
    assert_eq!(p.first_response.get(Priority::Urgent), Some(30 * 60_000));
    // a priority without its own next-response target falls back to normal
    assert_eq!(p.next_response.get(Priority::Urgent), Some(8 * 3_600_000));
    assert_eq!(p.checkpoints.len(), 3);
    assert_eq!(
        p.escalate[1].notify,
        vec![Notify::Assignee, Notify::Managers]
    );
    assert!(matches!(p.hours, crate::ticket::sla::Hours::Calendar(_)));
    assert_eq!(c.rules[0].name, "urgent from bigcorp");
    assert_eq!(c.rules[0].conditions.len(), 2);
    assert!(c.rules[0].stop);
    assert_eq!(c.queues[1].sla.as_deref(), Some("standard"));

    // Every mistake is reported at once, naming the rule, the key and what was expected.
    let bad = format!("{GOOD}{POLICY}")
        .replace("(?i)urgent|outage", "(urgent")
        .replace("queue = \"vip\", tags", "queue = \"nope\", tags")
        .replace(
            "assign = \"round_robin\"",
            "assign = \"carol@example.test\"",
        )
        .replace("op = \"domain\"", "op = \"endswith\"")
        .replace("calendar = \"office\"", "calendar = \"shop\"")
        .replace("Europe/Berlin", "Europe/Atlantis")
        .replace(
            "fri = \"09:00-12:00, 13:00-17:00\"",
            "fri = \"17:00-09:00\"",
        )
        .replace("at = \"warning\", notify", "at = \"soon\", notify")
        .replace("*/30 * * * * *", "every minute");
    let e = errors(&bad);
    for want in [
        "rules[0] 'urgent from bigcorp': conditions[1].value: the regex does not compile",
        "rules[0] 'urgent from bigcorp': actions.queue: names the queue 'nope'",
        "rules[0] 'urgent from bigcorp': actions.assign: expected an [[agents]] address",
        "rules[0] 'urgent from bigcorp': conditions[0].op: unknown op \"endswith\"",
        "sla[0].calendar: names the calendar 'shop'",
        "calendars[0].timezone: expected an IANA timezone",
        "calendars[0].hours.fri: \"17:00-09:00\" closes before it opens",
        "sla[0].escalate[0].at: expected \"warning\" or \"breach\", found \"soon\"",
        "scheduler.sla_sweep: expected a cron schedule",
    ] {
        assert!(
            e.iter().any(|l| l.contains(want) && l.contains("pd.toml")),
            "{want} not in {e:#?}"
        );
    }
    let bad_queue =
        format!("{GOOD}{POLICY}").replace("sla = \"standard\"\n\n[[cal", "sla = \"gold\"\n\n[[cal");
    assert!(errors(&bad_queue)
        .iter()
        .any(|l| l.contains("queues[1].sla: names the SLA policy 'gold'")));
}

#[test]
fn dkim_key_problems_name_the_file_and_the_key() {
    let key = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dkim/rsa.key");
    let good = format!(
        "{GOOD}\n[dkim]\ndomain = \"example.test\"\nselector = \"pd1\"\nkey_file = \"{key}\"\n"
    );
    let c = Config::parse(&good, Path::new("pd.toml")).unwrap();
    assert_eq!(c.dkim.unwrap().algorithm(), "rsa-sha256");
    let missing = good.replace(key, "/nonexistent/dkim.key");
    assert!(errors(&missing).iter().any(|e| e.contains("pd.toml")
        && e.contains("dkim.key_file")
        && e.contains("/nonexistent/dkim.key")));
    let not_a_key = good.replace(key, concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
    assert!(errors(&not_a_key)
        .iter()
        .any(|e| e.contains("dkim.key_file") && e.contains("expected a PEM private key")));
    let no_selector = good.replace("selector = \"pd1\"\n", "");
    assert!(errors(&no_selector)
        .iter()
        .any(|e| e.contains("dkim.selector")));
}

#[test]
fn durations_and_sizes() {
    assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
    assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
    assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172800)));
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert!(parse_duration("soon").is_err());
    assert!(parse_duration("5 weeks").is_err());
    // Review of #16: these panicked `check` (overflow) instead of being reported.
    for huge in [
        "18446744073709551615s1s",
        "18446744073709551615d",
        "99999999999999999999999s",
        "36600d",
        "3650000000h1s",
    ] {
        let e = parse_duration(huge).expect_err(huge);
        assert!(e.contains("longer than 100 years"), "{huge}: {e}");
    }
    assert_eq!(parse_duration("36500d"), Ok(MAX_DURATION));
    assert_eq!(parse_size("25MB"), Ok(25 * 1024 * 1024));
    assert_eq!(parse_size("1024"), Ok(1024));
    assert!(parse_size("lots").is_err());
}

#[test]
fn a_password_is_hidden_in_every_form_a_login_sends_it() {
    use base64::Engine as _;
    let secret = Secret::new("p\"a\\ss word".into());
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for echoed in [
        "NO [AUTHENTICATIONFAILED] LOGIN support \"p\\\"a\\\\ss word\" failed".to_string(),
        "NO login p\"a\\ss word rejected".to_string(),
        format!(
            "NO AUTHENTICATE PLAIN {} failed",
            b64("\0support\0p\"a\\ss word")
        ),
        format!("535 5.7.8 {} rejected", b64("p\"a\\ss word")),
    ] {
        let shown = secret.redact_in(&echoed, "support");
        assert!(shown.contains("***"), "{shown}");
        assert!(!shown.contains("ss word"), "{shown}");
        assert!(!shown.contains(&b64("p\"a\\ss word")), "{shown}");
    }
    assert_eq!(
        secret.redact_in(
            "NO [AUTHENTICATIONFAILED] Authentication failed.",
            "support"
        ),
        "NO [AUTHENTICATIONFAILED] Authentication failed."
    );
}

#[test]
fn a_rule_template_is_a_name_never_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("templates");
    std::fs::create_dir(&inner).unwrap();
    // A pair outside the templates directory that "../outside" would reach.
    for ext in ["txt", "html"] {
        std::fs::write(dir.path().join(format!("outside.{ext}.hbs")), "x").unwrap();
    }
    let text = format!(
        "{GOOD}\n[templates]\ndir = \"{}\"\n\n[[rules]]\nname = \"r\"\nactions = {{ template = \"../outside\" }}\n",
        inner.display()
    );
    let e = errors(&text);
    assert!(
        e.iter()
            .any(|l| l.contains("rules[0]") && l.contains("expected a template name")),
        "{e:?}"
    );
    assert!(!crate::templates::exists("../outside", Some(&inner)));
    assert!(crate::templates::is_plain_name("ack_vip-2"));
}

#[test]
fn idle_refresh_defaults_to_two_minutes_and_stays_within_the_rfc_limit() {
    let imap = GOOD.replace(
        "kind = \"maildir\"\npath = \"var/mail/support\"",
        "kind = \"imap\"\nhost = \"imap.example.com\"\nusername = \"u\"\npassword = \"p\"",
    );
    let c = Config::parse(&imap, Path::new("pd.toml")).unwrap();
    let MailboxSource::Imap(i) = &c.mailboxes[0].source else {
        panic!("not imap")
    };
    assert_eq!(i.idle_refresh, std::time::Duration::from_secs(120));
    for bad in ["30m", "500ms"] {
        let text = imap.replace(
            "password = \"p\"",
            &format!("password = \"p\"\nidle_refresh = \"{bad}\""),
        );
        assert!(
            errors(&text)
                .iter()
                .any(|e| e.contains("idle_refresh") && e.contains("from 1s to 29m")),
            "{bad}: {:?}",
            errors(&text)
        );
    }
}

#[test]
fn an_sla_policy_may_apply_to_some_ticket_types_only() {
    use crate::ticket::model::TicketType::*;
    let text = format!(
        "{GOOD}\n[[sla]]\nname = \"support\"\ntypes = [\"incident\", \"request\"]\nresolution = {{ normal = \"8h\" }}\n\n[[sla]]\nname = \"rca\"\ntypes = [\"problem\"]\nresolution = {{ normal = \"5d\" }}\n\n[problems]\nresolve_linked = false\nconfirm_above = 3\n"
    )
    .replacen("name = \"general\"", "name = \"general\"\nsla = \"support\"", 1);
    let c = Config::parse(&text, Path::new("pd.toml")).unwrap();
    assert_eq!(
        c.sla_for("general", Some(Incident), None).as_deref(),
        Some("support")
    );
    assert_eq!(
        c.sla_for("general", Some(Problem), None).as_deref(),
        Some("rca")
    );
    assert_eq!(c.sla_for("general", Some(Change), None), None);
    assert_eq!(c.sla_for("general", None, None), None);
    assert_eq!(
        c.sla_for("general", Some(Change), Some("x")).as_deref(),
        Some("x")
    );
    assert!(!c.problems.resolve_linked);
    assert_eq!(c.problems.confirm_above, 3);

    let errs = errors(
        &text
            .replace("[\"problem\"]", "[\"problme\"]")
            .replace("confirm_above = 3", "confirm_above = \"many\""),
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("sla[1].types") && e.contains("problme")),
        "{errs:?}"
    );
    assert!(
        errs.iter().any(|e| e.contains("problems.confirm_above")),
        "{errs:?}"
    );
}
