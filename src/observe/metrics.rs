//! What the daemon counts, for `/metrics` (Prometheus text format) and `/healthz`.
//!
//! One registry per process ([`get`]): counters are atomics bumped where the work is done
//! (the pipeline, the outbox sender, the SLA sweep), mailbox states are set by the mailbox
//! tasks, and the outbox depth is read from the database at each scrape.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Upper bounds (seconds) of the processing-latency histogram's buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Where a mailbox task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailboxState {
    /// Another instance holds the mailbox's lease; this one waits.
    Standby,
    /// Logging in (IMAP) or starting.
    Connecting { since_ms: i64 },
    /// Reading the mailbox (IMAP session open, or the Maildir scanned without error).
    Connected,
    /// Failed; the next try is at `retry_at_ms`.
    Backoff { retry_at_ms: i64 },
}

impl MailboxState {
    /// The state's name in `/metrics` and `/healthz`.
    pub fn label(self) -> &'static str {
        match self {
            MailboxState::Standby => "standby",
            MailboxState::Connecting { .. } => "connecting",
            MailboxState::Connected => "connected",
            MailboxState::Backoff { .. } => "backoff",
        }
    }

    /// Connected, waiting for its turn, or within its backoff: what `/healthz` accepts. A
    /// login hanging longer than `stuck`, or a retry overdue by as much, is not.
    pub fn healthy(self, now_ms: i64, stuck: Duration) -> bool {
        let stuck = crate::time::millis(stuck);
        match self {
            MailboxState::Standby | MailboxState::Connected => true,
            MailboxState::Connecting { since_ms } => now_ms - since_ms <= stuck,
            MailboxState::Backoff { retry_at_ms } => now_ms - retry_at_ms <= stuck,
        }
    }
}

/// The process's counters.
#[derive(Default)]
pub struct Metrics {
    received: Mutex<BTreeMap<&'static str, u64>>,
    tickets_created: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    sla_warnings: AtomicU64,
    sla_breaches: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    mailboxes: Mutex<BTreeMap<String, MailboxState>>,
    /// Each failing mailbox's last error, and whether only a person can fix it (a revoked
    /// OAuth2 grant): shown by `/healthz`.
    mailbox_errors: Mutex<BTreeMap<String, (String, bool)>>,
}

/// The registry of this process.
pub fn get() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(Metrics::default)
}

impl Metrics {
    /// One mail stored with `outcome` (`new_ticket`, `reply`, …), `latency` after it was read.
    pub fn mail_stored(&self, outcome: &'static str, latency: Duration) {
        *self
            .received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(outcome)
            .or_default() += 1;
        if outcome == "new_ticket" {
            self.tickets_created.fetch_add(1, Relaxed);
        }
        let secs = latency.as_secs_f64();
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.latency_buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_us
            .fetch_add(latency.as_micros() as u64, Relaxed);
    }

    /// Outbox results: mails delivered, failed for good, and left for another try.
    pub fn delivered(&self, sent: usize, failed: usize, retrying: usize) {
        self.sent.fetch_add(sent as u64, Relaxed);
        self.failed.fetch_add(failed as u64, Relaxed);
        self.retried.fetch_add(retrying as u64, Relaxed);
    }

    pub fn sla_fired(&self, warnings: usize, breaches: usize) {
        self.sla_warnings.fetch_add(warnings as u64, Relaxed);
        self.sla_breaches.fetch_add(breaches as u64, Relaxed);
    }

    pub fn set_mailbox(&self, name: &str, state: MailboxState) {
        self.mailboxes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), state);
    }

    /// Records (or with `None` clears) a mailbox's last error; `needs_person` when retrying
    /// alone will not mend it.
    pub fn set_mailbox_error(&self, name: &str, error: Option<(String, bool)>) {
        let mut errors = self
            .mailbox_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match error {
            Some(e) => errors.insert(name.to_string(), e),
            None => errors.remove(name),
        };
    }

    /// Each failing mailbox's last error, and whether it needs a person.
    pub fn mailbox_errors(&self) -> BTreeMap<String, (String, bool)> {
        self.mailbox_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Each mailbox's state.
    pub fn mailboxes(&self) -> BTreeMap<String, MailboxState> {
        self.mailboxes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The Prometheus text exposition. `outbox_depth` is the number of rows waiting to be
    /// sent (`None` when the database did not answer).
    pub fn render(&self, outbox_depth: Option<i64>, database_up: bool) -> String {
        let mut out = String::with_capacity(4096);
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP postdesk_{name} {help}\n# TYPE postdesk_{name} counter\npostdesk_{name} {v}"
            );
        };
        counter(
            "tickets_created_total",
            "Tickets opened by incoming mail.",
            self.tickets_created.load(Relaxed),
        );
        counter(
            "mail_sent_total",
            "Outgoing mails delivered.",
            self.sent.load(Relaxed),
        );
        counter(
            "mail_failed_total",
            "Outgoing mails that failed for good.",
            self.failed.load(Relaxed),
        );
        counter(
            "mail_retried_total",
            "Delivery attempts that failed and will be tried again.",
            self.retried.load(Relaxed),
        );
        counter(
            "sla_warnings_total",
            "SLA warnings fired.",
            self.sla_warnings.load(Relaxed),
        );
        counter(
            "sla_breaches_total",
            "SLA breaches fired.",
            self.sla_breaches.load(Relaxed),
        );

        out.push_str("# HELP postdesk_mail_received_total Incoming mails stored, by outcome.\n# TYPE postdesk_mail_received_total counter\n");
        for (outcome, n) in self
            .received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "postdesk_mail_received_total{{outcome=\"{outcome}\"}} {n}"
            );
        }

        out.push_str("# HELP postdesk_processing_seconds Time from reading a mail to committing it.\n# TYPE postdesk_processing_seconds histogram\n");
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "postdesk_processing_seconds_bucket{{le=\"{le}\"}} {}",
                self.latency_buckets[i].load(Relaxed)
            );
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(
            out,
            "postdesk_processing_seconds_bucket{{le=\"+Inf\"}} {count}\npostdesk_processing_seconds_sum {}\npostdesk_processing_seconds_count {count}",
            self.latency_sum_us.load(Relaxed) as f64 / 1e6
        );

        if let Some(depth) = outbox_depth {
            let _ = writeln!(
                out,
                "# HELP postdesk_outbox_depth Outgoing mails waiting to be sent.\n# TYPE postdesk_outbox_depth gauge\npostdesk_outbox_depth {depth}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP postdesk_database_up Whether the database answered this scrape.\n# TYPE postdesk_database_up gauge\npostdesk_database_up {}",
            u8::from(database_up)
        );

        out.push_str("# HELP postdesk_mailbox_state The state of each mailbox task (1 for the current state).\n# TYPE postdesk_mailbox_state gauge\n");
        let states = self.mailboxes();
        for (name, state) in &states {
            for label in ["standby", "connecting", "connected", "backoff"] {
                let _ = writeln!(
                    out,
                    "postdesk_mailbox_state{{mailbox=\"{}\",state=\"{label}\"}} {}",
                    escape_label(name),
                    u8::from(state.label() == label)
                );
            }
        }
        out.push_str("# HELP postdesk_mailbox_connected Whether this instance has the mailbox open.\n# TYPE postdesk_mailbox_connected gauge\n");
        for (name, state) in &states {
            let _ = writeln!(
                out,
                "postdesk_mailbox_connected{{mailbox=\"{}\"}} {}",
                escape_label(name),
                u8::from(*state == MailboxState::Connected)
            );
        }
        out
    }
}

/// A label value as the exposition format wants it: backslash, quote and newline escaped.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_what_happened() {
        let m = Metrics::default();
        m.mail_stored("new_ticket", Duration::from_millis(3));
        m.mail_stored("new_ticket", Duration::from_millis(30));
        m.mail_stored("reply", Duration::from_secs(20));
        m.delivered(2, 1, 3);
        m.sla_fired(4, 5);
        m.set_mailbox("sup\"port", MailboxState::Connected);
        m.set_mailbox("sales", MailboxState::Standby);
        let text = m.render(Some(7), true);
        for line in [
            "postdesk_tickets_created_total 2",
            "postdesk_mail_received_total{outcome=\"new_ticket\"} 2",
            "postdesk_mail_received_total{outcome=\"reply\"} 1",
            "postdesk_mail_sent_total 2",
            "postdesk_mail_failed_total 1",
            "postdesk_mail_retried_total 3",
            "postdesk_sla_warnings_total 4",
            "postdesk_sla_breaches_total 5",
            "postdesk_outbox_depth 7",
            "postdesk_database_up 1",
            "postdesk_processing_seconds_bucket{le=\"0.005\"} 1",
            "postdesk_processing_seconds_bucket{le=\"0.05\"} 2",
            "postdesk_processing_seconds_bucket{le=\"10\"} 2",
            "postdesk_processing_seconds_bucket{le=\"+Inf\"} 3",
            "postdesk_processing_seconds_count 3",
            "postdesk_mailbox_connected{mailbox=\"sup\\\"port\"} 1",
            "postdesk_mailbox_state{mailbox=\"sales\",state=\"standby\"} 1",
            "postdesk_mailbox_state{mailbox=\"sales\",state=\"connected\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        // Every sample line belongs to a declared metric.
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let name = l.split(['{', ' ']).next().unwrap();
            let base = name
                .trim_end_matches("_bucket")
                .trim_end_matches("_sum")
                .trim_end_matches("_count");
            assert!(
                text.contains(&format!("# TYPE {base} ")),
                "{name} has no TYPE line"
            );
        }
    }

    #[test]
    fn a_mailbox_is_healthy_until_it_is_stuck() {
        let stuck = Duration::from_secs(60);
        assert!(MailboxState::Connected.healthy(0, stuck));
        assert!(MailboxState::Standby.healthy(0, stuck));
        assert!(MailboxState::Backoff {
            retry_at_ms: 30_000
        }
        .healthy(0, stuck));
        assert!(MailboxState::Backoff {
            retry_at_ms: 30_000
        }
        .healthy(90_000, stuck));
        assert!(!MailboxState::Backoff {
            retry_at_ms: 30_000
        }
        .healthy(90_001, stuck));
        assert!(MailboxState::Connecting { since_ms: 0 }.healthy(60_000, stuck));
        assert!(!MailboxState::Connecting { since_ms: 0 }.healthy(60_001, stuck));
    }
}
