//! `postdesk serve` on the embedded default: a mail dropped into the Maildir becomes a ticket
//! and an acknowledgement, the mail moves to cur/, and SIGTERM stops the daemon cleanly.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{fixture, wait_for, Env};

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(env: &Env) -> Daemon {
    let log = std::fs::File::create(env.path("serve.log")).unwrap();
    let child = env
        .cmd(&["serve"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    Daemon(child)
}

fn deliver(env: &Env, name: &str, fixture_name: &str) {
    // As an MTA does: write into tmp/, then rename into new/.
    let tmp = env.path("maildir/tmp").join(name);
    std::fs::write(&tmp, std::fs::read(fixture(fixture_name)).unwrap()).unwrap();
    std::fs::rename(&tmp, env.path("maildir/new").join(name)).unwrap();
}

fn stop(env: &Env, mut d: Daemon) {
    let pid = d.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = d.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "serve did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(env.path("serve.log")).unwrap_or_default();
    assert!(status.success(), "serve exited with {status}:\n{log}");
}

#[test]
fn serve_turns_maildir_mail_into_tickets_and_acknowledgements() {
    let env = Env::new();
    let d = start(&env);
    wait_for(10, "serve to create the Maildir", || {
        env.path("maildir/new").is_dir().then_some(())
    });
    deliver(&env, "1700000000.1.host", "plain.eml");
    deliver(&env, "1700000000.2.host", "reply_in_reply_to.eml");
    wait_for(15, "two mails processed", || {
        (env.inbound().len() == 2).then_some(())
    });
    assert_eq!(env.tickets().len(), 1);
    wait_for(10, "the acknowledgement", || {
        (env.outbox_files().len() == 1).then_some(())
    });
    assert_eq!(env.outbox()[0]["status"], "sent");
    wait_for(5, "mail moved to cur/", || {
        let left = std::fs::read_dir(env.path("maildir/new")).unwrap().count();
        let cur = std::fs::read_dir(env.path("maildir/cur")).unwrap().count();
        (left == 0 && cur == 2).then_some(())
    });
    assert!(env.path("maildir/cur/1700000000.1.host:2,S").exists());

    // A mail that arrives later is picked up too, and a bad one does not stop the daemon.
    std::fs::write(env.path("maildir/new/1700000000.3.host"), b"\x00garbage").unwrap();
    deliver(&env, "1700000000.4.host", "latin1.eml");
    wait_for(15, "two more mails processed", || {
        (env.inbound().len() == 4).then_some(())
    });
    assert_eq!(env.tickets().len(), 2);
    stop(&env, d);
}

#[test]
fn a_restart_after_a_crash_neither_loses_nor_duplicates() {
    let env = Env::new();
    // A mail stored by an earlier run whose move to cur/ never happened (crash in between).
    std::fs::create_dir_all(env.path("maildir/new")).unwrap();
    std::fs::create_dir_all(env.path("maildir/cur")).unwrap();
    std::fs::create_dir_all(env.path("maildir/tmp")).unwrap();
    env.ingest(&["plain.eml"]);
    deliver(&env, "1700000000.1.host", "plain.eml");
    let d = start(&env);
    wait_for(15, "the stored mail to be moved", || {
        env.path("maildir/cur/1700000000.1.host:2,S")
            .exists()
            .then_some(())
    });
    assert_eq!(env.inbound().len(), 1);
    assert_eq!(env.tickets().len(), 1);
    assert_eq!(env.outbox().len(), 1);
    stop(&env, d);
}
