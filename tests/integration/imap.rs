//! IMAP intake against the real Dovecot that tests/run.sh starts. Every test works in a folder of
//! its own in the support@example.test account, so tests can run in parallel.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use crate::util::{
    fixture, mail_servers, server_env, servers_shared, smtp_transport, wait_for, Env, SERVERS,
};

type Session = async_imap::Session<TcpStream>;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn session(addr: &str, user: &str, password: &str) -> Session {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut client = async_imap::Client::new(tcp);
    client
        .read_response()
        .await
        .unwrap()
        .expect("IMAP greeting");
    client
        .login(user, password)
        .await
        .map_err(|(e, _)| e)
        .expect("test login")
}

/// A test's own folder in the support account, removed at the end.
pub(crate) struct Folder {
    addr: String,
    pub(crate) name: String,
}

impl Folder {
    pub(crate) fn new(addr: &str) -> Folder {
        let name = format!("t{:x}", fastrand::u64(..));
        rt().block_on(async {
            let mut s = session(addr, "support@example.test", "secret").await;
            s.create(&name).await.unwrap();
            s.logout().await.unwrap();
        });
        Folder {
            addr: addr.to_string(),
            name,
        }
    }

    /// A folder made by another thread's [`Folder::new`] (removed by that one).
    pub(crate) fn existing(addr: &str, name: &str) -> std::mem::ManuallyDrop<Folder> {
        std::mem::ManuallyDrop::new(Folder {
            addr: addr.to_string(),
            name: name.to_string(),
        })
    }

    pub(crate) fn append(&self, mails: &[Vec<u8>]) {
        rt().block_on(async {
            let mut s = session(&self.addr, "support@example.test", "secret").await;
            for m in mails {
                s.append(&self.name, None, None, m).await.unwrap();
            }
            s.logout().await.unwrap();
        });
    }

    /// UIDs of the folder's messages that carry `\Seen`, and of all of them.
    fn seen_and_all(&self) -> (usize, usize) {
        rt().block_on(async {
            let mut s = session(&self.addr, "support@example.test", "secret").await;
            s.select(&self.name).await.unwrap();
            let seen = s.uid_search("SEEN").await.unwrap().len();
            let all = s.uid_search("ALL").await.unwrap().len();
            s.logout().await.unwrap();
            (seen, all)
        })
    }

    /// Deletes the folder and makes it again with `mails`: a new UIDVALIDITY.
    fn recreate(&self, mails: &[Vec<u8>]) {
        rt().block_on(async {
            let mut s = session(&self.addr, "support@example.test", "secret").await;
            s.delete(&self.name).await.unwrap();
            s.create(&self.name).await.unwrap();
            s.logout().await.unwrap();
        });
        self.append(mails);
    }

    fn uid_validity(&self) -> u32 {
        rt().block_on(async {
            let mut s = session(&self.addr, "support@example.test", "secret").await;
            let mb = s.select(&self.name).await.unwrap();
            s.logout().await.unwrap();
            mb.uid_validity.unwrap()
        })
    }

    pub(crate) fn mailbox_toml(&self, name: &str, password: &str, after: &str) -> String {
        let (host, port) = self.addr.rsplit_once(':').unwrap();
        format!(
            "\n[[mailboxes]]\nname = \"{name}\"\nkind = \"imap\"\nhost = \"{host}\"\nport = {port}\ntls = \"none\"\n\
             username = \"support@example.test\"\npassword = \"{password}\"\nfolder = \"{}\"\nafter = \"{after}\"\n\
             poll_interval = \"500ms\"\nqueue = \"general\"\n",
            self.name
        )
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let (addr, name) = (self.addr.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            rt().block_on(async {
                let mut s = session(&addr, "support@example.test", "secret").await;
                let _ = s.delete(&name).await;
                let _ = s.logout().await;
            })
        })
        .join();
    }
}

/// A generated mail from a unique customer.
pub(crate) fn mail(i: usize, tag: &str) -> Vec<u8> {
    format!(
        "From: Customer {i} <c{i}.{tag}@customer.example>\r\nTo: support@example.test\r\nSubject: Problem {i}\r\n\
         Message-ID: <m{i}.{tag}@customer.example>\r\nDate: Sat, 21 Nov 2026 09:00:00 +0100\r\n\r\nPlease help with problem {i}.\r\n"
    )
    .into_bytes()
}

/// Whether `postdesk check` printed a line starting with `status` (`ok` or `FAIL`) that contains
/// every one of `needles`; also returns the whole report, for messages.
fn check_reports(env: &Env, status: &str, needles: &[&str]) -> (bool, String) {
    let out = env.run(&["check"]);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let found = report
        .lines()
        .any(|l| l.starts_with(status) && needles.iter().all(|n| l.contains(n)));
    (found, report)
}

/// Starts `serve`, appends one new mail to `folder`, waits for its ticket and stops `serve`.
fn one_mail_becomes_a_ticket(env: &Env, folder: &Folder) {
    let before = env.tickets().len();
    let d = env.serve();
    folder.append(&[mail(1, &format!("{:x}", fastrand::u64(..)))]);
    wait_for(15, "the new mail's ticket", || {
        (env.tickets().len() == before + 1).then_some(())
    });
    env.terminate(d);
}

/// An environment whose only mailbox is `folder` over IMAP.
fn imap_env(folder: &Folder, after: &str, transport: Option<&str>) -> Env {
    let env = Env::with(&folder.mailbox_toml("imap", "secret", after), transport);
    without_maildir(&env);
    env
}

/// Drops the standard Maildir mailbox from the config: the test is about IMAP alone.
pub(crate) fn without_maildir(env: &Env) {
    let text = std::fs::read_to_string(&env.config).unwrap();
    let start = text.find("[[mailboxes]]\nname = \"support\"").unwrap();
    let end = start
        + text[start..].find("poll_interval = \"200ms\"\n").unwrap()
        + "poll_interval = \"200ms\"\n".len();
    std::fs::write(&env.config, format!("{}{}", &text[..start], &text[end..])).unwrap();
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn imap_mail_becomes_a_ticket_and_the_acknowledgement_reaches_the_customer() {
    let (addr, smtp, root) = mail_servers();
    let _dovecot = servers_shared();
    let folder = Folder::new(&addr);
    let env = imap_env(&folder, "seen", Some(&smtp_transport(&smtp)));
    let tag = format!("{:x}", fastrand::u64(..));
    folder.append(&[mail(1, &tag), std::fs::read(fixture("latin1.eml")).unwrap()]);
    let d = env.serve();
    wait_for(20, "two tickets from IMAP", || {
        (env.tickets().len() == 2).then_some(())
    });
    let inbound = env.inbound();
    assert!(
        inbound
            .iter()
            .all(|r| r["mailbox"] == "imap" && r["source"].as_str().unwrap().starts_with("imap:")),
        "{inbound:?}"
    );
    // The acknowledgement went through Postfix into the customer's mailbox at Dovecot.
    let customer = format!("c1.{tag}@customer.example");
    wait_for(20, "the acknowledgement in the customer's mailbox", || {
        let dir = std::path::Path::new(&root).join("catchall/Maildir/new");
        let found = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .any(|m| m.contains(&format!("Delivered-To: {customer}")) && m.contains("[Support #"));
        found.then_some(())
    });
    // The mails are flagged seen after they are stored.
    wait_for(10, "both mails flagged seen", || {
        (folder.seen_and_all() == (2, 2)).then_some(())
    });
    env.terminate(d);
    assert!(
        env.serve_log().contains("mailbox connected"),
        "{}",
        env.serve_log()
    );
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn idle_turns_a_new_mail_into_a_ticket_within_two_seconds() {
    let addr = server_env("POSTDESK_TEST_IMAP");
    let _dovecot = servers_shared();
    let folder = Folder::new(&addr);
    // Polling only every 10 minutes: a ticket within 2 s can only come through IDLE, and the
    // debug log says the server's notification woke the task.
    let mailbox = folder
        .mailbox_toml("imap", "secret", "seen")
        .replace("poll_interval = \"500ms\"", "poll_interval = \"10m\"");
    let env = Env::with(
        &format!("{mailbox}\n[log]\nlevel = \"postdesk=debug\"\n"),
        None,
    );
    without_maildir(&env);
    let d = env.serve();
    wait_for(10, "the mailbox to connect", || {
        env.serve_log().contains("mailbox connected").then_some(())
    });
    // Let the task reach IDLE (it first checks the empty folder).
    std::thread::sleep(Duration::from_millis(500));
    let tag = format!("{:x}", fastrand::u64(..));
    let start = Instant::now();
    folder.append(&[mail(1, &tag)]);
    wait_for(5, "the ticket", || (env.tickets().len() == 1).then_some(()));
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "IDLE took {took:?}");
    let log = env.serve_log();
    assert!(
        log.contains("idle: the server reported new mail"),
        "the mail came through IDLE: {log}"
    );
    env.terminate(d);
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn kill_9_in_a_backlog_then_restart_stores_every_mail_once_and_acknowledges_once() {
    let addr = server_env("POSTDESK_TEST_IMAP");
    let _dovecot = servers_shared();
    const N: usize = 2000;
    let folder = Folder::new(&addr);
    let env = imap_env(&folder, "seen", None);
    let tag = format!("{:x}", fastrand::u64(..));
    let mails: Vec<Vec<u8>> = (0..N).map(|i| mail(i, &tag)).collect();
    folder.append(&mails);
    let mut d = env.serve();
    // Kill as soon as the first batch's acknowledgements are being written.
    let outbox = env.path("outbox");
    let files = || std::fs::read_dir(&outbox).map(|d| d.count()).unwrap_or(0);
    wait_for(30, "the first acknowledgements", || {
        (files() > 0).then_some(())
    });
    d.0.kill().unwrap(); // SIGKILL: no chance to finish anything
    d.0.wait().unwrap();
    let partial = env.inbound().len();
    assert!(
        partial < N,
        "the backlog was done before the kill; the test proves nothing"
    );
    let d = env.serve();
    wait_for(90, "the whole backlog", || {
        (env.inbound().len() >= N).then_some(())
    });
    wait_for(30, "every acknowledgement delivered", || {
        env.outbox()
            .iter()
            .all(|o| o["status"] == "sent")
            .then_some(())
    });
    env.terminate(d);
    let inbound = env.inbound();
    assert_eq!(
        inbound.len(),
        N,
        "one stored mail per IMAP message (killed after {partial})"
    );
    assert!(
        inbound.iter().all(|r| r["outcome"] == "new_ticket"),
        "{:?}",
        inbound.iter().find(|r| r["outcome"] != "new_ticket")
    );
    assert_eq!(env.tickets().len(), N, "one ticket per mail");
    let outbox = env.outbox();
    assert_eq!(outbox.len(), N, "one acknowledgement per ticket");
    let mut tickets: Vec<i64> = outbox
        .iter()
        .map(|o| o["ticket_id"].as_i64().unwrap())
        .collect();
    tickets.sort_unstable();
    tickets.dedup();
    assert_eq!(tickets.len(), N);
    assert_eq!(env.outbox_files().len(), N, "one file per acknowledgement");
    wait_for(10, "every mail flagged seen", || {
        (folder.seen_and_all() == (N, N)).then_some(())
    });
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn a_wrong_password_fails_one_mailbox_while_another_keeps_working() {
    let addr = server_env("POSTDESK_TEST_IMAP");
    let _dovecot = servers_shared();
    let good = Folder::new(&addr);
    let bad = Folder::new(&addr);
    let env = imap_env(&good, "seen", None);
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    text.push_str(&bad.mailbox_toml("broken", "wrong-password", "seen"));
    std::fs::write(&env.config, text).unwrap();

    let out = env.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("ok") && l.contains("mailbox 'imap'")),
        "{report}"
    );
    assert!(
        report.lines().any(|l| l.starts_with("FAIL")
            && l.contains("mailbox 'broken'")
            && l.contains("refused the login")),
        "{report}"
    );
    assert!(
        !report.contains("wrong-password"),
        "a password was printed: {report}"
    );

    let d = env.serve();
    good.append(&[mail(1, &format!("{:x}", fastrand::u64(..)))]);
    wait_for(15, "the good mailbox's ticket", || {
        (env.tickets().len() == 1).then_some(())
    });
    wait_for(10, "the broken mailbox's error in the log", || {
        env.serve_log().contains("mailbox=broken").then_some(())
    });
    env.terminate(d);
    let log = env.serve_log();
    assert!(
        log.contains("refused the login") && !log.contains("wrong-password"),
        "{log}"
    );
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn a_new_uidvalidity_rescans_without_duplicates() {
    let addr = server_env("POSTDESK_TEST_IMAP");
    let _dovecot = servers_shared();
    let folder = Folder::new(&addr);
    let env = imap_env(&folder, "seen", None);
    let tag = format!("{:x}", fastrand::u64(..));
    let mails: Vec<Vec<u8>> = (0..3).map(|i| mail(i, &tag)).collect();
    folder.append(&mails);
    let d = env.serve();
    wait_for(15, "three tickets", || {
        (env.tickets().len() == 3).then_some(())
    });
    env.terminate(d);
    let before = folder.uid_validity();
    folder.recreate(&mails);
    assert_ne!(
        folder.uid_validity(),
        before,
        "the folder did not get a new UIDVALIDITY"
    );
    let d = env.serve();
    wait_for(15, "the rescan", || {
        env.serve_log()
            .contains("UIDVALIDITY changed")
            .then_some(())
    });
    wait_for(10, "the rescanned mails flagged seen", || {
        (folder.seen_and_all() == (3, 3)).then_some(())
    });
    env.terminate(d);
    assert_eq!(env.inbound().len(), 3, "no mail stored twice");
    assert_eq!(env.tickets().len(), 3);
    assert_eq!(env.outbox().len(), 3, "no second acknowledgement");
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn an_oversized_mail_is_recorded_with_its_headers_without_downloading_it() {
    let addr = server_env("POSTDESK_TEST_IMAP");
    let _dovecot = servers_shared();
    let folder = Folder::new(&addr);
    let env = imap_env(&folder, "seen", None);
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    text.push_str("\n[limits]\nmax_message_size = \"2KB\"\n");
    std::fs::write(&env.config, text).unwrap();
    let tag = format!("{:x}", fastrand::u64(..));
    let mut big = mail(1, &tag);
    big.extend(std::iter::repeat_n(b'x', 10_000));
    big.extend_from_slice(b"\r\n");
    folder.append(&[big, mail(2, &tag)]);
    let d = env.serve();
    wait_for(15, "both mails recorded", || {
        (env.inbound().len() == 2).then_some(())
    });
    env.terminate(d);
    let inbound = env.inbound();
    let large = inbound
        .iter()
        .find(|r| r["outcome"] == "too_large")
        .expect("a too_large row");
    assert_eq!(large["subject"], "Problem 1");
    assert!(large["size"].as_i64().unwrap() > 10_000);
    assert!(large["reason"]
        .as_str()
        .unwrap()
        .contains("max_message_size"));
    assert_eq!(env.tickets().len(), 1);
}

/// The folder as a mailbox reached over TLS by name (`localhost`, as the certificate says).
fn tls_mailbox_toml(folder: &Folder, port: &str, tls: &str, ca: Option<&str>) -> String {
    let ca = ca
        .map(|c| format!("ca_file = \"{c}\"\n"))
        .unwrap_or_default();
    format!(
        "\n[[mailboxes]]\nname = \"secure\"\nkind = \"imap\"\nhost = \"localhost\"\nport = {port}\ntls = \"{tls}\"\n{ca}\
         username = \"support@example.test\"\npassword = \"secret\"\nfolder = \"{}\"\npoll_interval = \"500ms\"\n",
        folder.name
    )
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn implicit_tls_and_starttls_with_a_private_ca() {
    let (addr, imaps, ca) = (
        server_env("POSTDESK_TEST_IMAP"),
        server_env("POSTDESK_TEST_IMAPS"),
        server_env("POSTDESK_TEST_CA"),
    );
    let _dovecot = servers_shared();
    let tls_port = imaps.rsplit_once(':').unwrap().1.to_string();
    let plain_port = addr.rsplit_once(':').unwrap().1.to_string();
    for (port, mode) in [
        (tls_port.as_str(), "tls"),
        (plain_port.as_str(), "starttls"),
    ] {
        let folder = Folder::new(&addr);
        let env = imap_env(&folder, "seen", None);
        let text = std::fs::read_to_string(&env.config).unwrap();
        // Replace the plain IMAP mailbox by the secured one.
        let start = text.find("\n[[mailboxes]]\nname = \"imap\"").unwrap();
        let end = start
            + text[start..].find("queue = \"general\"\n").unwrap()
            + "queue = \"general\"\n".len();
        let text = format!(
            "{}{}{}",
            &text[..start],
            tls_mailbox_toml(&folder, port, mode, Some(&ca)),
            &text[end..]
        );
        std::fs::write(&env.config, &text).unwrap();

        let (ok, report) = check_reports(&env, "ok", &["mailbox 'secure'"]);
        assert!(ok, "{mode}: {report}");
        one_mail_becomes_a_ticket(&env, &folder);

        // Without the private CA the server's certificate is refused, and check says why.
        std::fs::write(
            &env.config,
            text.replace(&format!("ca_file = \"{ca}\"\n"), ""),
        )
        .unwrap();
        let (refused, report) = check_reports(&env, "FAIL", &["mailbox 'secure'", "TLS"]);
        assert!(refused, "{mode}: {report}");
    }
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn dovecot_stopped_and_started_again_under_a_running_daemon() {
    let (addr, conf) = (
        server_env("POSTDESK_TEST_IMAP"),
        server_env("POSTDESK_TEST_DOVECOT_CONF"),
    );
    let _exclusive = SERVERS.write().unwrap_or_else(|e| e.into_inner());
    let folder = Folder::new(&addr);
    let env = imap_env(&folder, "seen", None);
    let tag = format!("{:x}", fastrand::u64(..));
    folder.append(&[mail(1, &tag)]);
    let d = env.serve();
    wait_for(15, "the first ticket", || {
        (env.tickets().len() == 1).then_some(())
    });

    /// Starts Dovecot again however the test ends, so no other test finds it stopped.
    struct Restart<'a> {
        conf: &'a str,
        addr: &'a str,
    }
    impl Drop for Restart<'_> {
        fn drop(&mut self) {
            if std::net::TcpStream::connect(self.addr).is_ok() {
                return;
            }
            // Dovecot daemonises: it must not inherit this test's output pipes, or the test run
            // never sees them close.
            let _ = Command::new("dovecot")
                .args(["-c", self.conf])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            for _ in 0..150 {
                if std::net::TcpStream::connect(self.addr).is_ok() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    let restart = Restart {
        conf: &conf,
        addr: &addr,
    };

    let pid_file = std::path::Path::new(&conf)
        .parent()
        .unwrap()
        .join("run/master.pid");
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    wait_for(15, "Dovecot to stop", || {
        std::net::TcpStream::connect(&addr).is_err().then_some(())
    });
    // Under load Dovecot can take a while to end the session the daemon is idling in.
    wait_for(60, "the daemon to notice", || {
        env.serve_log()
            .contains("mailbox failed; retrying")
            .then_some(())
    });
    drop(restart);
    assert!(
        std::net::TcpStream::connect(&addr).is_ok(),
        "Dovecot did not start again"
    );

    folder.append(&[mail(2, &tag)]);
    wait_for(40, "the daemon to reconnect and catch up", || {
        (env.tickets().len() == 2).then_some(())
    });
    env.terminate(d);
    assert_eq!(env.inbound().len(), 2);
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn authenticate_plain_logs_in_and_a_wrong_password_is_refused() {
    let addr = server_env("POSTDESK_TEST_IMAP");
    let _dovecot = servers_shared();
    let folder = Folder::new(&addr);
    let env = imap_env(&folder, "seen", None);
    let text = std::fs::read_to_string(&env.config)
        .unwrap()
        .replace("tls = \"none\"\n", "tls = \"none\"\nauth = \"plain\"\n");
    std::fs::write(&env.config, &text).unwrap();
    let (ok, report) = check_reports(&env, "ok", &["mailbox 'imap'"]);
    assert!(ok, "{report}");
    one_mail_becomes_a_ticket(&env, &folder);

    std::fs::write(
        &env.config,
        text.replace("password = \"secret\"", "password = \"not-it\""),
    )
    .unwrap();
    let (refused, report) = check_reports(&env, "FAIL", &["refused the login"]);
    assert!(refused, "{report}");
}
