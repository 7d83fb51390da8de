//! LMTP intake (issue #17): a pipelined session straight to `serve`'s listener, and the real
//! Postfix delivering to it over its `lmtp` transport, including a database that refuses to
//! store for a while (Postfix keeps the mail and delivers it again: nothing lost, nothing
//! doubled).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::mutt::smtp_send;
use crate::util::{free_port, server_env, servers_shared, wait_for, Env};

fn lmtp_env(listen: &str) -> Env {
    Env::with(
        &format!("\n[[mailboxes]]\nname = \"lmtp\"\nkind = \"lmtp\"\nlisten = \"{listen}\"\nqueue = \"general\"\n"),
        None,
    )
}

/// Reads one reply (all its lines) from an LMTP server.
fn reply(r: &mut BufReader<TcpStream>) -> String {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "connection closed; so far: {all}");
        all.push_str(&line);
        if line.as_bytes().get(3) == Some(&b' ') {
            return all;
        }
    }
}

#[test]
fn a_pipelined_session_stores_each_mail_once_and_answers_each_recipient() {
    let port = free_port();
    let e = lmtp_env(&format!("127.0.0.1:{port}"));
    let d = e.serve();
    let s = wait_for(20, "the LMTP listener", || {
        TcpStream::connect(("127.0.0.1", port)).ok()
    });
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    assert!(reply(&mut r).starts_with("220 "));
    // Everything up to DATA in one write, as a pipelining client sends it.
    w.write_all(
        b"LHLO mail.example.test\r\nMAIL FROM:<carol@example.com>\r\nRCPT TO:<support@example.test>\r\n\
          RCPT TO:<someone@example.test>\r\nRCPT TO:<Support+1.x@example.test>\r\nDATA\r\n",
    )
    .unwrap();
    let hello = reply(&mut r);
    assert!(
        hello.contains("PIPELINING") && hello.contains("SIZE 52428800"),
        "{hello}"
    );
    assert!(reply(&mut r).starts_with("250 2.1.0"));
    assert!(reply(&mut r).starts_with("250 2.1.5"));
    assert!(reply(&mut r).starts_with("550 5.1.1 <someone@example.test>"));
    assert!(reply(&mut r).starts_with("250 2.1.5"));
    assert!(reply(&mut r).starts_with("354"));
    w.write_all(
        b"From: Carol <carol@example.com>\r\nTo: support@example.test\r\nSubject: Printer on fire\r\n\
          Message-ID: <lmtp1@example.com>\r\n\r\nIt burns.\r\n..and a dotted line\r\n.\r\n",
    )
    .unwrap();
    // One reply per accepted recipient, after the commit.
    assert!(reply(&mut r).starts_with("250 2.0.0 <support@example.test> stored"));
    assert!(reply(&mut r).starts_with("250 2.0.0 <support+1.x@example.test> stored"));
    assert_eq!(e.tickets().len(), 1);
    let t = e.ticket(1);
    assert_eq!(
        t["messages"][0]["text"],
        "It burns.\r\n.and a dotted line\r\n"
    );
    let rows = e.inbound();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["mailbox"], "lmtp");

    // A second mail on the same connection; then the first again, byte for byte (the MTA
    // repeating a delivery whose answer it lost): answered as stored, nothing stored twice.
    let again = [
        ("MAIL FROM:<carol@example.com>\r\nRCPT TO:<support@example.test>\r\nDATA\r\n\
          From: carol@example.com\r\nTo: support@example.test\r\nSubject: Scanner\r\nMessage-ID: <lmtp2@example.com>\r\n\r\nHello.\r\n.\r\n",
         vec!["250 2.1.0", "250 2.1.5", "354", "250 2.0.0"]),
        ("MAIL FROM:<carol@example.com>\r\nRCPT TO:<support@example.test>\r\nRCPT TO:<Support+1.x@example.test>\r\nDATA\r\n\
          From: Carol <carol@example.com>\r\nTo: support@example.test\r\nSubject: Printer on fire\r\n\
          Message-ID: <lmtp1@example.com>\r\n\r\nIt burns.\r\n..and a dotted line\r\n.\r\n",
         vec!["250 2.1.0", "250 2.1.5", "250 2.1.5", "354", "250 2.0.0", "250 2.0.0"]),
    ];
    for (data, replies) in again {
        w.write_all(data.as_bytes()).unwrap();
        for want in replies {
            let got = reply(&mut r);
            assert!(got.starts_with(want), "{want}: {got}");
        }
    }
    w.write_all(b"QUIT\r\n").unwrap();
    assert!(reply(&mut r).starts_with("221"));
    assert_eq!(e.tickets().len(), 2);
    // The same bytes again are known: answered 250, stored nothing new.
    let rows = e.inbound();
    assert_eq!(rows.len(), 2, "{rows:?}");
    e.terminate(d);
}

#[test]
fn a_non_loopback_listener_is_refused_with_the_key_named() {
    let e = lmtp_env("192.0.2.1:24");
    let out = e.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("mailboxes[1].listen") && err.contains("not a loopback address"),
        "{err}"
    );
}

/// Turns storing off and on: a trigger makes every insert into `inbound` fail, as a database
/// that is away would.
fn refuse_inserts(e: &Env, refuse: bool) {
    let pg = crate::util::backend() == "postgres";
    let sql = match (refuse, pg) {
        (true, false) => "CREATE TRIGGER refuse BEFORE INSERT ON inbound BEGIN SELECT RAISE(ABORT, 'database away (test)'); END;",
        (false, false) => "DROP TRIGGER refuse;",
        (true, true) => "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'database away (test)'; END $$ LANGUAGE plpgsql; \
                         CREATE TRIGGER refuse BEFORE INSERT ON inbound FOR EACH ROW EXECUTE FUNCTION refuse();",
        (false, true) => "DROP TRIGGER refuse ON inbound; DROP FUNCTION refuse();",
    };
    e.sql(sql);
}

/// The desk's LMTP address as the test Postfix routes it (tests/servers.sh: mail to
/// lmtp.example.test goes to 127.0.0.1:10024): one test at a time.
static LMTP_PORT: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn postfix_delivers_over_lmtp_and_keeps_the_mail_while_the_database_refuses_it() {
    let smtp = server_env("POSTDESK_TEST_SMTP");
    let _servers = servers_shared();
    let _port = LMTP_PORT.lock().unwrap_or_else(|e| e.into_inner());
    let e = lmtp_env("127.0.0.1:10024");
    let text = std::fs::read_to_string(&e.config).unwrap().replace(
        "address = \"support@example.test\"",
        "address = \"support@lmtp.example.test\"",
    );
    std::fs::write(&e.config, text).unwrap();
    let d = e.serve();
    let tag = format!("{:x}", fastrand::u64(..));
    let mail = |n: u32| {
        format!(
            "From: Carol <carol-{tag}@customer.test>\r\nTo: support@lmtp.example.test\r\nSubject: Printer {n} {tag}\r\n\
             Message-ID: <{n}-{tag}@customer.test>\r\nDate: Sat, 21 Nov 2026 09:00:00 +0100\r\n\r\nHelp.\r\n"
        )
    };
    let stored = |n: u32| {
        e.inbound()
            .into_iter()
            .filter(|r| r["message_id"] == format!("<{n}-{tag}@customer.test>").as_str())
            .count()
    };
    smtp_send(
        &smtp,
        &format!("carol-{tag}@customer.test"),
        "support@lmtp.example.test",
        &mail(1),
    );
    wait_for(60, "the mail delivered over LMTP", || {
        (stored(1) == 1).then_some(())
    });
    assert_eq!(e.tickets().len(), 1);

    // The database refuses: Postfix gets 451 and keeps the mail; once it stores again, the
    // next delivery attempt lands, once.
    refuse_inserts(&e, true);
    smtp_send(
        &smtp,
        &format!("carol-{tag}@customer.test"),
        "support+x@lmtp.example.test",
        &mail(2),
    );
    let log = std::path::Path::new(&server_env("POSTDESK_TEST_POSTFIX_CONF"))
        .parent()
        .unwrap()
        .join("postfix.log");
    wait_for(60, "Postfix deferring the mail on our 451", || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .any(|l| {
                l.contains("status=deferred")
                    && l.contains("support+x@lmtp.example.test")
                    && l.contains("not stored, try again later")
            })
            .then_some(())
    });
    assert_eq!(stored(2), 0);
    refuse_inserts(&e, false);
    wait_for(90, "the deferred mail delivered again", || {
        (stored(2) == 1).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(stored(2), 1, "once");
    assert_eq!(e.tickets().len(), 2);
    e.terminate(d);
}
