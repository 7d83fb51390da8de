//! Tests of the parent module.

use super::*;
use std::time::Duration;

#[test]
fn recipients_are_read_or_refused() {
    assert_eq!(
        recipients(r#"["a@example.test","b@example.test"]"#),
        Ok(vec![
            "a@example.test".to_string(),
            "b@example.test".to_string()
        ])
    );
    for bad in [r#"["a@example.test""#, "", "{}", "[1]", "[]"] {
        assert!(recipients(bad).is_err(), "{bad:?}");
    }
}

/// Review of #16: a row whose recipients did not read was sent to nobody (an empty
/// list); now it fails for good with the reason, and nothing is written.
#[test]
fn a_row_with_unreadable_recipients_fails_and_is_not_sent() {
    for mut db in crate::store::backend_tests::databases() {
        let c = &mut db.conn;
        let id = models::insert_outbox(
            c,
            &models::NewOutbox {
                ticket_id: None,
                kind: "ack",
                env_from: "support@example.test",
                rcpt: "[\"cut@example.te",
                subject: "s",
                message_id: "<cut@example.test>",
                raw: b"Subject: s\r\n\r\nx\r\n",
                status: "pending",
                attempts: 0,
                next_attempt_at: 0,
                created_at: crate::time::now_ms(),
                held_by: None,
            },
        )
        .unwrap();
        let out = tempfile::tempdir().unwrap();
        let transport = Transport {
            via: Via::File {
                dir: out.path().to_path_buf(),
            },
            dkim: None,
        };
        let policy = RetryPolicy::default();
        let rules = Rules {
            retry: &policy,
            on_failure: None,
        };
        let r = deliver(
            c,
            &transport,
            &[id],
            Claim::Due(crate::time::now_ms()),
            &rules,
        )
        .unwrap();
        assert_eq!((r.sent, r.failed), (0, 1), "{}", db.backend);
        let row = models::list_outbox(c, None)
            .unwrap()
            .into_iter()
            .find(|r| r.id == id)
            .unwrap();
        assert_eq!(row.status, "failed", "{}", db.backend);
        let err = row.last_error.unwrap_or_default();
        assert!(
            err.contains("recipients are unreadable"),
            "{}: {err}",
            db.backend
        );
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
    }
}

#[test]
fn data_is_dot_stuffed_and_terminated() {
    assert_eq!(
        data_payload(b"Subject: x\r\n\r\n.hidden\r\nline\r\n"),
        "Subject: x\r\n\r\n..hidden\r\nline\r\n.\r\n"
    );
    assert_eq!(data_payload(b"a\nb"), "a\r\nb\r\n.\r\n");
    assert_eq!(data_payload(b"."), "..\r\n.\r\n");
}

#[test]
fn file_names_are_safe() {
    assert_eq!(
        file_name("<pd.1.ab@example.test>"),
        "pd.1.ab@example.test.eml"
    );
    assert_eq!(file_name("<../../etc/passwd>"), "_.._.._etc_passwd.eml");
    assert_eq!(file_name("<>"), "_.eml");
}

#[test]
fn retries_double_up_to_the_cap_and_stop_at_the_deadline() {
    let p = RetryPolicy {
        first: Duration::from_secs(60),
        max: Duration::from_secs(3600),
        give_up_after: Duration::from_secs(2 * 86400),
    };
    let t0 = 1_000_000_000;
    let s = |n: i64| n * 1000;
    assert_eq!(next_attempt(&p, 1, t0, t0), Some(t0 + s(60)));
    assert_eq!(next_attempt(&p, 2, t0, t0), Some(t0 + s(120)));
    assert_eq!(next_attempt(&p, 12, t0, t0), Some(t0 + s(3600)));
    assert_eq!(
        next_attempt(&p, 60, t0, t0),
        Some(t0 + s(3600)),
        "no overflow"
    );
    let late = t0 + s(2 * 86400 - 10);
    assert_eq!(
        next_attempt(&p, 40, t0, late),
        Some(t0 + s(2 * 86400)),
        "the last try is at the deadline"
    );
    assert_eq!(next_attempt(&p, 41, t0, t0 + s(2 * 86400)), None);
}
