//! The SMTP transport against the real Postfix that tests/run.sh starts: the acknowledgement
//! travels through Postfix into the customer's mailbox at Dovecot; a server that cannot be
//! reached leaves the mail pending with its error, for a retry.

use std::path::{Path, PathBuf};

use crate::util::{header, in_maildir, server_env, smtp_transport, wait_for, Env};

/// Files delivered to Dovecot's catch-all mailbox that contain `needle`.
pub(crate) fn delivered(root: &str, needle: &str) -> Vec<String> {
    let dir = PathBuf::from(root).join("catchall/Maildir/new");
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(|e| std::fs::read(e.ok()?.path()).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .filter(|t| t.contains(needle))
        .collect()
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn acknowledgement_reaches_the_customer_through_postfix() {
    let (smtp, root) = (
        server_env("POSTDESK_TEST_SMTP"),
        server_env("POSTDESK_TEST_MAILROOT"),
    );
    // Shared with the other server tests; the Postfix-down test waits for it.
    let _servers = crate::util::servers_shared();
    let env = Env::with("", Some(&smtp_transport(&smtp)));
    // A unique customer address, so parallel tests and passes do not see each other's mail.
    let customer = format!("c{:x}@customer.example", fastrand::u64(..));
    let mail = format!("From: Carol <{customer}>\r\nTo: support@example.test\r\nSubject: Printer on fire\r\nMessage-ID: <{customer}>\r\nDate: Sat, 21 Nov 2026 09:00:00 +0100\r\n\r\nHelp.\r\n");
    let out = env.run_stdin(&["ingest", "-"], mail.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = &env.outbox()[0];
    assert_eq!(o["status"], "sent", "{o}");
    let mid = o["message_id"].as_str().unwrap().to_string();
    let got = wait_for(20, "the acknowledgement in the customer's mailbox", || {
        let v = delivered(&root, &mid);
        (!v.is_empty()).then_some(v)
    });
    assert_eq!(got.len(), 1, "delivered once");
    let m = got[0].replace('\n', "\r\n").replace("\r\r\n", "\r\n");
    assert_eq!(
        header(&m, "Delivered-To").as_deref(),
        Some(customer.as_str())
    );
    assert_eq!(
        header(&m, "In-Reply-To").as_deref(),
        Some(format!("<{customer}>").as_str())
    );
    assert_eq!(
        header(&m, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    assert_eq!(
        header(&m, "Subject").as_deref(),
        Some("[Support #1] Printer on fire")
    );
}

#[test]
fn an_unreachable_server_leaves_the_mail_pending_with_its_error() {
    let env = Env::with("", Some(&smtp_transport("127.0.0.1:1")));
    env.ingest(&["plain.eml"]);
    let o = &env.outbox()[0];
    assert_eq!(o["status"], "pending", "{o}");
    assert_eq!(o["attempts"], 1);
    assert!(
        o["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{o}"
    );
    assert_eq!(
        env.tickets().len(),
        1,
        "the mail itself is stored whatever the transport does"
    );
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn a_rejected_recipient_fails_at_once_with_an_event_on_the_ticket_and_can_be_retried() {
    let smtp = server_env("POSTDESK_TEST_SMTP");
    let _servers = crate::util::servers_shared();
    let env = Env::with("", Some(&smtp_transport(&smtp)));
    let mail = "From: Nobody <rejected@customer.example>\r\nTo: support@example.test\r\nSubject: Bounce me\r\nMessage-ID: <rej-1@customer.example>\r\n\r\nx\r\n";
    assert!(env
        .run_stdin(&["ingest", "-"], mail.as_bytes())
        .status
        .success());
    let o = &env.outbox()[0];
    assert_eq!(o["status"], "failed", "a 5xx is final: {o}");
    assert_eq!(o["attempts"], 1);
    assert!(o["last_error"].as_str().unwrap().contains("5.1.1"), "{o}");
    let events = env.ticket(1)["events"].as_array().unwrap().clone();
    let failed = events
        .iter()
        .find(|e| e["kind"] == "delivery_failed")
        .unwrap_or_else(|| panic!("no delivery_failed event: {events:?}"));
    assert!(
        failed["detail"]
            .as_str()
            .unwrap()
            .contains("rejected@customer.example"),
        "{failed}"
    );
    assert_eq!(
        env.json(&["outbox", "--failed", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // `outbox retry` queues it again; a sent or unknown row cannot be retried.
    let id = o["id"].as_i64().unwrap().to_string();
    env.ok(&["outbox", "retry", &id]);
    assert_eq!(env.outbox()[0]["status"], "pending");
    let out = env.run(&["outbox", "retry", "999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("#999"));
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn mail_waits_while_postfix_is_down_and_goes_out_once_it_is_back() {
    let (smtp, root, conf) = (
        server_env("POSTDESK_TEST_SMTP"),
        server_env("POSTDESK_TEST_MAILROOT"),
        server_env("POSTDESK_TEST_POSTFIX_CONF"),
    );
    let _exclusive = crate::util::SERVERS
        .write()
        .unwrap_or_else(|e| e.into_inner());
    let postfix = |action: &str| {
        let ok = std::process::Command::new("postfix")
            .args(["-c", &conf, action])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "postfix {action}");
    };
    let transport = format!(
        "{}\nretry_first = \"500ms\"\nretry_max = \"1s\"",
        smtp_transport(&smtp)
    );
    let env = Env::with("", Some(&transport));
    postfix("stop");
    /// Starts Postfix again however the test ends, so no other test finds it stopped.
    struct Restart<'a>(&'a str, &'a str);
    impl Drop for Restart<'_> {
        fn drop(&mut self) {
            if std::net::TcpStream::connect(self.1).is_err() {
                let _ = std::process::Command::new("postfix")
                    .args(["-c", self.0, "start"])
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        }
    }
    let _restart = Restart(&conf, &smtp);
    wait_for(15, "Postfix to stop", || {
        std::net::TcpStream::connect(&smtp).is_err().then_some(())
    });

    let customer = format!("w{:x}@customer.example", fastrand::u64(..));
    let mail = format!("From: <{customer}>\r\nTo: support@example.test\r\nSubject: Waiting\r\nMessage-ID: <{customer}>\r\n\r\nx\r\n");
    assert!(env
        .run_stdin(&["ingest", "-"], mail.as_bytes())
        .status
        .success());
    let o = env.outbox()[0].clone();
    assert_eq!(o["status"], "pending", "{o}");
    assert!(
        o["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{o}"
    );

    let d = env.serve();
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(
        env.outbox()[0]["status"],
        "pending",
        "nothing to deliver to yet"
    );
    postfix("start");
    wait_for(30, "the waiting mail to be sent", || {
        (env.outbox()[0]["status"] == "sent").then_some(())
    });
    env.terminate(d);
    let mid = o["message_id"].as_str().unwrap().to_string();
    let got = wait_for(20, "the mail in the customer's mailbox", || {
        let v = delivered(&root, &mid);
        (!v.is_empty()).then_some(v)
    });
    assert_eq!(got.len(), 1, "delivered once");
    assert!(env.outbox()[0]["attempts"].as_i64().unwrap() >= 2);
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn a_real_postfix_bounce_fails_the_outbox_row_it_reports_on() {
    let (smtp, root) = (
        server_env("POSTDESK_TEST_SMTP"),
        server_env("POSTDESK_TEST_MAILROOT"),
    );
    let _servers = crate::util::servers_shared();
    let env = Env::with("", Some(&smtp_transport(&smtp)));
    // Postfix accepts mail to bounceme...@, then bounces it to our envelope sender.
    let customer = format!("bounceme.{:x}@customer.example", fastrand::u64(..));
    let mail = format!("From: <{customer}>\r\nTo: support@example.test\r\nSubject: Lost\r\nMessage-ID: <{customer}>\r\n\r\nx\r\n");
    assert!(env
        .run_stdin(&["ingest", "-"], mail.as_bytes())
        .status
        .success());
    let ack = env.outbox()[0]["message_id"].as_str().unwrap().to_string();
    assert_eq!(
        env.outbox()[0]["status"],
        "sent",
        "Postfix accepted it first"
    );

    // The DSN lands in support@example.test's mailbox at Dovecot.
    let inbox = std::path::Path::new(&root).join("example.test/support/Maildir/new");
    let dsn = wait_for(30, "Postfix's bounce", || {
        std::fs::read_dir(&inbox)
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains(&ack)))
    });
    env.ok(&["ingest", dsn.to_str().unwrap()]);
    let o = &env.outbox()[0];
    assert_eq!(o["status"], "failed", "{o}");
    assert!(o["last_error"].as_str().unwrap().contains("5.1.1"), "{o}");
    let inbound = env.inbound();
    assert_eq!(inbound[1]["outcome"], "bounce");
    assert_eq!(inbound[1]["ticket_id"], 1);
    assert!(env.ticket(1)["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "delivery_failed"));
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn parallel_connections_deliver_every_mail_exactly_once() {
    let (smtp, root) = (
        server_env("POSTDESK_TEST_SMTP"),
        server_env("POSTDESK_TEST_MAILROOT"),
    );
    let _servers = crate::util::servers_shared();
    let env = Env::with(
        "",
        Some(&format!("{}\nparallel = 4", smtp_transport(&smtp))),
    );
    let tag = format!("{:x}", fastrand::u64(..));
    let dir = env.path("batch");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..40 {
        let mail = format!("From: <p{i}.{tag}@customer.example>\r\nTo: support@example.test\r\nSubject: n{i}\r\nMessage-ID: <p{i}.{tag}@customer.example>\r\n\r\nx\r\n");
        std::fs::write(dir.join(format!("{i:02}.eml")), mail).unwrap();
    }
    env.ok(&["ingest", dir.to_str().unwrap()]);
    let outbox = env.outbox();
    assert_eq!(outbox.len(), 40);
    assert!(
        outbox
            .iter()
            .all(|o| o["status"] == "sent" && o["attempts"] == 1),
        "{outbox:?}"
    );
    for o in &outbox {
        let mid = o["message_id"].as_str().unwrap().to_string();
        let got = wait_for(20, "each acknowledgement delivered", || {
            let v = delivered(&root, &mid);
            (!v.is_empty()).then_some(v)
        });
        assert_eq!(got.len(), 1, "{mid} delivered {} times", got.len());
    }
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn the_agents_hear_of_a_failed_delivery_and_the_customer_does_not() {
    let (smtp, root) = (
        server_env("POSTDESK_TEST_SMTP"),
        server_env("POSTDESK_TEST_MAILROOT"),
    );
    let _servers = crate::util::servers_shared();
    let env = Env::with(
        "\n[[agents]]\naddress = \"agent@example.test\"\nname = \"Alice Agent\"\nqueues = [\"general\"]\n",
        Some(&smtp_transport(&smtp)),
    );
    let tag = format!("{:x}", fastrand::u64(..));
    let mail = format!("From: Nobody <rejected@customer.example>\r\nTo: support@example.test\r\nSubject: Bounce me {tag}\r\nMessage-ID: <rej-{tag}@customer.example>\r\n\r\nx\r\n");
    assert!(env
        .run_stdin(&["ingest", "-"], mail.as_bytes())
        .status
        .success());
    let rows = env.outbox();
    let ack = rows.iter().find(|r| r["kind"] == "ack").unwrap();
    assert_eq!(ack["status"], "failed", "{ack}");
    let notice = rows
        .iter()
        .find(|r| r["kind"] == "delivery_failed")
        .unwrap_or_else(|| panic!("no notice for the agents: {rows:?}"));
    assert_eq!(notice["to"], serde_json::json!(["agent@example.test"]));
    assert!(rows
        .iter()
        .filter(|r| r["kind"] != "ack")
        .all(|r| r["to"] != serde_json::json!(["rejected@customer.example"])));
    // `serve` delivers the notice into the agent's mailbox.
    let d = env.serve();
    let agent_dir = PathBuf::from(&root).join("example.test/agent/Maildir");
    let got = wait_for(30, "the notice in the agent's mailbox", || {
        in_maildir(&agent_dir, &format!("Bounce me {tag}"))
            .into_iter()
            .find(|t| t.contains("Undelivered"))
    });
    assert!(got.contains("rejected@customer.example"), "{got}");
    assert!(got.contains("5.1.1"), "the server's reason: {got}");
    env.terminate(d);
}

/// Verifies a delivered mail's DKIM-Signature with dkimpy (Debian's python3-dkim, an
/// implementation independent of ours), the DNS lookup answered with the fixture's TXT record.
fn dkim_verifies(mail: &str, txt_fixture: &str) -> bool {
    let record = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/dkim")
            .join(txt_fixture),
    )
    .unwrap();
    let script = "import sys, dkim\nrecord = sys.argv[1].strip().encode()\nmsg = sys.stdin.buffer.read()\nok = dkim.verify(msg, dnsfunc=lambda name, timeout=5: record if name == b'pd1._domainkey.example.test.' else None)\nsys.exit(0 if ok else 3)\n";
    let mut child = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script, &record])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("/usr/bin/python3 with python3-dkim (tests/run.sh installs it)");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(mail.as_bytes())
        .unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.code() == Some(0) || status.code() == Some(3),
        "dkimpy failed to run: {status}"
    );
    status.success()
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn dkim_signed_mail_verifies_after_postfix_and_dovecot_and_a_changed_body_does_not() {
    let (smtp, root) = (
        server_env("POSTDESK_TEST_SMTP"),
        server_env("POSTDESK_TEST_MAILROOT"),
    );
    // Shared with the other server tests; the Postfix-down test waits for it.
    let _servers = crate::util::servers_shared();
    let key = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dkim/rsa.key");
    let env = Env::with(
        &format!(
            "[dkim]\ndomain = \"example.test\"\nselector = \"pd1\"\nkey_file = \"{}\"\n",
            key.display()
        ),
        Some(&smtp_transport(&smtp)),
    );
    let customer = format!("d{:x}@customer.example", fastrand::u64(..));
    // A non-ASCII name and subject: the signature covers the encoded words as they travel.
    let mail = format!("From: =?utf-8?q?J=C3=BCrgen?= <{customer}>\r\nTo: support@example.test\r\nSubject: =?utf-8?q?Dr=C3=BCcker_kaputt?=\r\nMessage-ID: <{customer}>\r\nDate: Sat, 21 Nov 2026 09:00:00 +0100\r\n\r\nGr\u{fc}\u{df}e.\r\n");
    let out = env.run_stdin(&["ingest", "-"], mail.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = &env.outbox()[0];
    assert_eq!(o["status"], "sent", "{o}");
    let mid = o["message_id"].as_str().unwrap().to_string();
    let got = wait_for(20, "the signed acknowledgement in the mailbox", || {
        let v = delivered(&root, &mid);
        (!v.is_empty()).then_some(v)
    });
    let m = &got[0];
    let sig = header(
        &m.replace('\n', "\r\n").replace("\r\r\n", "\r\n"),
        "DKIM-Signature",
    )
    .expect("a DKIM-Signature header");
    assert!(
        sig.contains("d=example.test") && sig.contains("s=pd1"),
        "{sig}"
    );
    assert!(
        dkim_verifies(m, "rsa.txt"),
        "the signature does not verify:\n{m}"
    );
    // The same check fails on a tampered copy, so the pass above means something.
    let tampered = m.replacen("\nSubject: ", "\nSubject: X", 1);
    assert_ne!(&tampered, m);
    assert!(
        !dkim_verifies(&tampered, "rsa.txt"),
        "a changed subject still verifies"
    );
    // The file outbox with an Ed25519 key: the same verifier accepts it.
    let ed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dkim/ed25519.key");
    let env = Env::with(
        &format!(
            "[dkim]\ndomain = \"example.test\"\nselector = \"pd1\"\nkey_file = \"{}\"\n",
            ed.display()
        ),
        None,
    );
    env.run_stdin(&["ingest", "-"], mail.as_bytes());
    let o = &env.outbox()[0];
    let file = env
        .dir
        .path()
        .join("outbox")
        .join(postdesk::outbox::file_name(
            o["message_id"].as_str().unwrap(),
        ));
    let m = std::fs::read_to_string(&file).unwrap();
    assert!(m.contains("a=ed25519-sha256"), "{m}");
    assert!(
        dkim_verifies(&m, "ed25519.txt"),
        "the Ed25519 signature does not verify:\n{m}"
    );
}

/// The transport section for Postfix's submission listener at `addr` with `tls`, logging in as
/// support@example.test with `password`, trusting the test CA unless `ca` is false.
fn submission(addr: &str, tls: &str, password: &str, ca: bool) -> String {
    let (host, port) = addr.rsplit_once(':').unwrap();
    let ca_file = if ca {
        format!("ca_file = \"{}\"\n", server_env("POSTDESK_TEST_CA"))
    } else {
        String::new()
    };
    format!(
        "kind = \"smtp\"\nhost = \"{host}\"\nport = {port}\ntls = \"{tls}\"\n\
         username = \"support@example.test\"\npassword = \"{password}\"\n{ca_file}"
    )
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn smtp_as_providers_run_it_implicit_tls_and_starttls_with_auth() {
    let root = server_env("POSTDESK_TEST_MAILROOT");
    let _servers = crate::util::servers_shared();
    for (tls, addr) in [
        ("tls", server_env("POSTDESK_TEST_SMTPS")),
        ("starttls", server_env("POSTDESK_TEST_SUBMISSION")),
    ] {
        let ingest = |env: &Env, customer: &str| {
            let mail = format!("From: Carol <{customer}>\r\nTo: support@example.test\r\nSubject: Printer\r\nMessage-ID: <{customer}>\r\n\r\nHelp.\r\n");
            let out = env.run_stdin(&["ingest", "-"], mail.as_bytes());
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            env.outbox()[0].clone()
        };
        // Over TLS, logged in: relayed to the customer (only an authenticated user may relay).
        let env = Env::with("", Some(&submission(&addr, tls, "secret", true)));
        let customer = format!("c{:x}@customer.example", fastrand::u64(..));
        let o = ingest(&env, &customer);
        assert_eq!(o["status"], "sent", "{tls}: {o}");
        let mid = o["message_id"].as_str().unwrap().to_string();
        wait_for(20, "the acknowledgement in the customer's mailbox", || {
            (delivered(&root, &mid).len() == 1).then_some(())
        });

        // A wrong password: refused, the password never in the error. The mail waits for the
        // password to be put right (a login concerns our account, not the mail): it is not
        // failed for good.
        let env = Env::with("", Some(&submission(&addr, tls, "wrong-pass-123", true)));
        let o = ingest(&env, &format!("w{:x}@customer.example", fastrand::u64(..)));
        let error = o["last_error"].as_str().unwrap_or_default().to_string();
        assert_eq!(o["status"], "pending", "{tls}: {o}");
        assert!(error.contains("535"), "{tls}: {error}");
        assert!(!error.contains("wrong-pass-123"), "{tls}: {error}");

        // A certificate that does not verify (no ca_file for the private CA): refused, and the
        // error names the server and why.
        let env = Env::with("", Some(&submission(&addr, tls, "secret", false)));
        let o = ingest(&env, &format!("n{:x}@customer.example", fastrand::u64(..)));
        let error = o["last_error"].as_str().unwrap_or_default().to_string();
        assert_ne!(o["status"], "sent", "{tls}: {o}");
        assert!(
            error.contains(addr.rsplit_once(':').unwrap().0),
            "{tls}: {error}"
        );
        assert!(
            error.to_lowercase().contains("certificate"),
            "{tls}: {error}"
        );
    }
}
