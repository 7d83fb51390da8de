//! `postdesk serve` on the embedded default: a mail dropped into the Maildir becomes a ticket
//! and an acknowledgement, the mail moves to cur/, and SIGTERM stops the daemon cleanly.

use crate::util::{fixture, wait_for, Env};

fn deliver(env: &Env, name: &str, fixture_name: &str) {
    // As an MTA does: write into tmp/, then rename into new/.
    let tmp = env.path("maildir/tmp").join(name);
    std::fs::write(&tmp, std::fs::read(fixture(fixture_name)).unwrap()).unwrap();
    std::fs::rename(&tmp, env.path("maildir/new").join(name)).unwrap();
}

#[test]
fn serve_turns_maildir_mail_into_tickets_and_acknowledgements() {
    let env = Env::new();
    let d = env.serve();
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
    env.terminate(d);
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
    let d = env.serve();
    wait_for(15, "the stored mail to be moved", || {
        env.path("maildir/cur/1700000000.1.host:2,S")
            .exists()
            .then_some(())
    });
    assert_eq!(env.inbound().len(), 1);
    assert_eq!(env.tickets().len(), 1);
    assert_eq!(env.outbox().len(), 1);
    env.terminate(d);
}

/// Whether process `pid` has a handler for SIGTERM (bit 15 of SigCgt in /proc/PID/status).
fn catches_sigterm(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (15 - 1)) != 0)
}

#[test]
fn a_sigterm_while_serve_is_still_starting_stops_it_cleanly() {
    let env = Env::new();
    // SIGTERM the moment serve handles it, which is before its set-up (migrations, templates,
    // connections): each start must still end cleanly (the first one also migrates).
    for _ in 0..3 {
        let d = env.serve();
        let pid = d.0.id();
        wait_for(10, "serve to handle SIGTERM", || {
            catches_sigterm(pid).then_some(())
        });
        env.terminate(d);
    }
}
