//! Running as a service: the systemd unit, the notify protocol, /metrics and /healthz, JSON
//! logs, and SIGTERM under load.

use std::io::{Read, Write};
use std::time::Duration;

use crate::util::{fixture, free_port, wait_for, Env, BIN};

/// `GET path` on 127.0.0.1:port: the status code and the body.
pub(crate) fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

fn deliver(env: &Env, name: &str, bytes: &[u8]) {
    let tmp = env.path("maildir/tmp").join(name);
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, env.path("maildir/new").join(name)).unwrap();
}

#[test]
fn metrics_and_healthz_tell_what_the_daemon_did_and_logs_are_json() {
    let port = free_port();
    let env = Env::with(
        &format!("\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n\n[log]\nformat = \"json\"\n"),
        None,
    );
    let d = env.serve();
    wait_for(10, "the metrics listener", || get(port, "/healthz"));
    deliver(
        &env,
        "1.host",
        &std::fs::read(fixture("plain.eml")).unwrap(),
    );
    deliver(
        &env,
        "2.host",
        &std::fs::read(fixture("auto_reply.eml")).unwrap(),
    );
    wait_for(15, "the acknowledgement", || {
        (env.outbox_files().len() == 1).then_some(())
    });
    let metrics = wait_for(10, "the sent mail counted", || {
        let (code, body) = get(port, "/metrics")?;
        assert_eq!(code, 200);
        body.contains("postdesk_mail_sent_total 1\n")
            .then_some(body)
    });
    for line in [
        "postdesk_mail_received_total{outcome=\"new_ticket\"} 1",
        "postdesk_mail_received_total{outcome=\"auto_reply\"} 1",
        "postdesk_tickets_created_total 1",
        "postdesk_mail_failed_total 0",
        "postdesk_outbox_depth 0",
        "postdesk_database_up 1",
        "postdesk_processing_seconds_count 2",
        "postdesk_mailbox_connected{mailbox=\"support\"} 1",
        "postdesk_mailbox_state{mailbox=\"support\",state=\"connected\"} 1",
        "# TYPE postdesk_processing_seconds histogram",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line:?} in\n{metrics}"
        );
    }
    let (code, body) = get(port, "/healthz").unwrap();
    assert_eq!(code, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["database"], "ok");
    assert_eq!(health["mailboxes"]["support"]["state"], "connected");
    assert_eq!(get(port, "/nothing").unwrap().0, 404);

    // A database that no longer answers the daemon's queries: unhealthy.
    env.sql("DROP TABLE outbox");
    let (code, body) = get(port, "/healthz").unwrap();
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("\"database\":\"down\""), "{body}");
    assert!(get(port, "/metrics")
        .unwrap()
        .1
        .contains("postdesk_database_up 0\n"));
    env.terminate(d);

    // [log] format = "json": one JSON object per line, with level and message.
    let log = env.serve_log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "{log}");
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{l}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"message\":\"postdesk is running\"")),
        "{log}"
    );
}

#[test]
fn a_bad_service_section_names_the_key() {
    let env = Env::with(
        "\n[metrics]\nlisten = \"localhost\"\n\n[log]\nformat = \"xml\"\n\n[cluster]\nlease = \"1s\"\n",
        None,
    );
    let out = env.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "metrics.listen: expected an IP address and port",
        "log.format: expected \"human\" or \"json\", found \"xml\"",
        "cluster.lease: expected a duration of at least 3s",
    ] {
        assert!(err.contains(needle), "no {needle:?} in {err}");
    }
}

#[test]
fn serve_speaks_the_systemd_notify_protocol() {
    let env = Env::new();
    let socket = env.path("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&socket).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let d = env.serve_instance(
        "serve.log",
        &[
            ("NOTIFY_SOCKET", socket.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    let next = || {
        let mut buf = [0u8; 256];
        let n = sock.recv(&mut buf).expect("a notify message");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let mut seen = Vec::new();
    while seen.iter().filter(|m: &&String| *m == "WATCHDOG=1").count() < 3 {
        seen.push(next());
    }
    assert!(
        seen.iter().any(|m| m.starts_with("READY=1")),
        "no READY=1 in {seen:?}"
    );
    env.terminate(d);
    let mut rest = Vec::new();
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 256];
    while let Ok(n) = sock.recv(&mut buf) {
        rest.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(rest.iter().any(|m| m == "STOPPING=1"), "{rest:?}");
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let unit = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/postdesk.service"),
    )
    .unwrap();
    for directive in [
        "Type=notify",
        "WatchdogSec=",
        "DynamicUser=yes",
        "StateDirectory=postdesk",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
        "RestrictAddressFamilies=",
        "SystemCallFilter=@system-service",
        "LoadCredential=",
        "Restart=on-failure",
        "/etc/postdesk/postdesk.toml",
    ] {
        assert!(unit.contains(directive), "the unit lacks {directive:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let verify = |text: &str| {
        let path = dir.path().join("postdesk.service");
        // The binary under test stands in for the installed one (verify checks it exists).
        std::fs::write(&path, text.replace("/usr/local/bin/postdesk", BIN)).unwrap();
        let out = std::process::Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&path)
            .output()
            .expect("systemd-analyze (tests/run.sh installs systemd)");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let about_unit: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("postdesk.service"))
            .collect();
        (out.status.success() && about_unit.is_empty(), stderr)
    };
    let (ok, stderr) = verify(&unit);
    assert!(ok, "systemd-analyze verify: {stderr}");
    // The check notices a mistake.
    let (ok, stderr) = verify(&unit.replace("Type=notify", "Type=notifyy"));
    assert!(!ok, "a bad Type= passed: {stderr}");
}

#[test]
fn sigterm_under_load_stops_within_10_s_and_a_restart_loses_nothing() {
    const N: usize = 3000;
    let env = Env::new();
    let d = env.serve();
    wait_for(10, "serve to create the Maildir", || {
        env.path("maildir/new").is_dir().then_some(())
    });
    for i in 0..N {
        let mail = format!(
            "From: c{i}@customer.example\r\nTo: support@example.test\r\nSubject: Load {i}\r\n\
             Message-ID: <load{i}@customer.example>\r\nDate: Sat, 21 Nov 2026 09:00:00 +0100\r\n\r\nMail {i}.\r\n"
        );
        deliver(&env, &format!("{i}.load"), mail.as_bytes());
    }
    wait_for(60, "some mails stored", || {
        (env.count("SELECT COUNT(*) AS n FROM inbound") >= 300).then_some(())
    });
    env.terminate(d); // asserts a clean exit within 10 s
    let stored = env.count("SELECT COUNT(*) AS n FROM inbound");
    assert!(
        (stored as usize) < N,
        "SIGTERM came after the work was done ({stored} stored); the test proves nothing"
    );
    let moved = std::fs::read_dir(env.path("maildir/cur")).unwrap().count() as i64;
    assert!(moved <= stored, "a mail left new/ without being stored");

    let d = env.serve();
    wait_for(120, "every mail stored after the restart", || {
        (env.count("SELECT COUNT(*) AS n FROM inbound") == N as i64).then_some(())
    });
    // Seen from this process while the daemon runs: its commits are visible to other readers.
    wait_for(60, "every acknowledgement marked sent", || {
        (env.count("SELECT COUNT(*) AS n FROM outbox WHERE status = 'sent'") == N as i64)
            .then_some(())
    });
    env.terminate(d);
    assert_eq!(env.count("SELECT COUNT(*) AS n FROM tickets"), N as i64);
    assert_eq!(
        env.count("SELECT COUNT(*) AS n FROM inbound WHERE outcome = 'new_ticket'"),
        N as i64
    );
    assert_eq!(env.count("SELECT COUNT(*) AS n FROM outbox"), N as i64);
    assert_eq!(env.outbox_files().len(), N);
    assert_eq!(
        std::fs::read_dir(env.path("maildir/new")).unwrap().count(),
        0
    );
}
