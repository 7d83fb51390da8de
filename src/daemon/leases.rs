//! Several `serve` instances on one database: each mailbox is read by one instance at a time.
//!
//! Every instance writes a heartbeat (`instances`) and holds leases on mailboxes
//! (`mailbox_leases`), renewed every third of `[cluster] lease`. An instance takes at most its
//! fair share (mailboxes ÷ live instances, rounded up) and gives back what is over it, so
//! mailboxes spread out as instances join and are taken over within one lease time when an
//! instance dies. A batch is stored only while its lease holds (the fence in
//! [`crate::pipeline::Cursor`]), so even an instance that stalled past its lease never stores
//! a batch its successor stores too. The outbox, the SLA sweep and the digests need no lease:
//! rows are claimed, clocks cleared and digest runs recorded in the statements that take them.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::takeover::{self, Reaped};
use crate::observe::metrics::{self, MailboxState};
use crate::store::{leases as q, AnyConnection};

/// How many mailboxes one of `live` instances should hold.
pub fn fair_share(mailboxes: usize, live: usize) -> usize {
    mailboxes.div_ceil(live.max(1))
}

/// What an instance does with its leases this round.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Mailboxes to try to take, in order, until the share is reached.
    pub take: Vec<String>,
    /// A mailbox to give back (one per round, so a rebalance never empties an instance).
    pub give_back: Option<String>,
}

/// Decides the round: `all` mailboxes in config order, `held` those renewed just now,
/// `leaving` those already being given back, `start` where this instance begins looking
/// (spreads the instances' first picks).
pub fn plan(
    all: &[String],
    held: &[String],
    leaving: &HashSet<String>,
    share: usize,
    start: usize,
) -> Plan {
    let keeping: Vec<&String> = held.iter().filter(|m| !leaving.contains(*m)).collect();
    let mut p = Plan::default();
    if keeping.len() > share {
        p.give_back = keeping.last().map(|m| (*m).clone());
    } else if keeping.len() < share && leaving.is_empty() {
        let n = all.len();
        p.take = (0..n)
            .map(|i| &all[(start + i) % n])
            .filter(|m| !held.contains(m))
            .cloned()
            .collect();
    }
    p
}

/// This instance's name: `[cluster] instance`, else host name, process id and a random suffix
/// (a restarted process never mistakes the leases of its predecessor for its own).
pub fn instance_id(configured: Option<&str>) -> String {
    if let Some(name) = configured {
        return name.to_string();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!("{host}:{}:{:04x}", std::process::id(), fastrand::u16(..))
}

/// One round's outcome: the mailboxes held, one to give back, what was taken over.
type Round = (Vec<String>, Option<String>, Vec<Reaped>);

/// The lease keeper of one instance: heartbeats, renews, takes and gives back leases every
/// third of `lease`, and tells each mailbox task through `held[i]` whether it may run.
pub struct Keeper {
    pub id: Arc<str>,
    pub lease: Duration,
    pub mailboxes: Vec<String>,
    pub conn: Arc<Mutex<AnyConnection>>,
    pub held: Vec<watch::Sender<bool>>,
    /// Woken when mail a dead holder held is due now.
    pub outbox_ready: Arc<tokio::sync::Notify>,
}

impl Keeper {
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let period = self.lease / 3;
        let start = self
            .id
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        let mut leaving: HashSet<String> = HashSet::new();
        let mut failures = 0u32;
        while !*stop.borrow() {
            let (id, conn, all, lease) = (
                self.id.clone(),
                self.conn.clone(),
                self.mailboxes.clone(),
                crate::time::millis(self.lease),
            );
            let leaving_now = leaving.clone();
            let round = tokio::task::spawn_blocking(move || -> Result<Round, String> {
                let mut c = conn
                    .lock()
                    .map_err(|_| "database connection poisoned".to_string())?;
                let c = &mut *c;
                let now = crate::time::now_ms();
                let e = |e: diesel::result::Error| e.to_string();
                let reaped = takeover::reap(c, &id, now).map_err(e)?;
                q::heartbeat(c, &id, crate::holder::me_written(), now).map_err(e)?;
                let live = q::live_instances(c, now - lease).map_err(e)? as usize;
                let mut held = q::renew_leases(c, &id, now + lease).map_err(e)?;
                let share = fair_share(all.len(), live);
                let p = plan(&all, &held, &leaving_now, share, start % all.len().max(1));
                let mut keeping = held.iter().filter(|m| !leaving_now.contains(*m)).count();
                for m in p.take {
                    if keeping >= share {
                        break;
                    }
                    if q::try_lease(c, &m, &id, now, now + lease).map_err(e)? {
                        tracing::info!(mailbox = %m, instance = %id, "mailbox lease taken");
                        held.push(m);
                        keeping += 1;
                    }
                }
                Ok((held, p.give_back, reaped))
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
            let wait = match round {
                Ok((held, give_back, reaped)) => {
                    failures = 0;
                    self.after_takeover(&reaped);
                    leaving.retain(|m| held.contains(m));
                    if let Some(m) = give_back {
                        tracing::info!(mailbox = %m, "giving the mailbox back to even out the instances");
                        leaving.insert(m);
                    }
                    for (i, name) in self.mailboxes.iter().enumerate() {
                        let mine = held.contains(name) && !leaving.contains(name);
                        self.held[i].send_if_modified(|v| std::mem::replace(v, mine) != mine);
                    }
                    period
                }
                Err(e) => {
                    // Without the database no batch can commit either (the fence), so the
                    // mailbox tasks are left as they are; the leases run out on their own.
                    failures += 1;
                    let wait = crate::time::backoff(failures).min(period);
                    tracing::warn!(error = %e, retry_in = ?wait, "cannot renew the mailbox leases");
                    wait
                }
            };
            self.wait_watching(wait, &mut stop).await;
        }
    }

    fn after_takeover(&self, reaped: &[Reaped]) {
        takeover::log(reaped);
        if reaped.iter().any(|r| r.outbox_rows > 0) {
            self.outbox_ready.notify_waiters();
        }
    }

    /// Waits `wait` (or until stopped), looking every second for holders that died on this
    /// host; one found ends the wait, so their mailboxes are taken in the next round at once.
    async fn wait_watching(&self, wait: Duration, stop: &mut watch::Receiver<bool>) {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let tick = (until - tokio::time::Instant::now()).min(Duration::from_secs(1));
            if tick.is_zero() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = stop.changed() => return,
            }
            let (id, conn) = (self.id.clone(), self.conn.clone());
            let found = tokio::task::spawn_blocking(move || {
                let mut c = conn.lock().ok()?;
                takeover::reap(&mut c, &id, crate::time::now_ms()).ok()
            })
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
            if !found.is_empty() {
                self.after_takeover(&found);
                return;
            }
        }
    }
}

/// Runs a mailbox task only while this instance holds the mailbox's lease: `task` is started
/// with a stop signal that turns true on shutdown or when the lease goes, and once it has
/// stopped for a lost or given-back lease, the lease is released so the next holder need not
/// wait for it to run out.
pub async fn leased<F, Fut>(
    name: String,
    id: Arc<str>,
    conn: Arc<Mutex<AnyConnection>>,
    mut mine: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
    task: F,
) where
    F: Fn(watch::Receiver<bool>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    loop {
        metrics::get().set_mailbox(&name, MailboxState::Standby);
        while !*mine.borrow() {
            tokio::select! {
                r = mine.changed() => if r.is_err() { return },
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
        }
        if *stop.borrow() {
            return;
        }
        tracing::info!(mailbox = %name, "reading the mailbox (lease held)");
        let (tx, rx) = watch::channel(false);
        let run = task(rx);
        tokio::pin!(run);
        loop {
            tokio::select! {
                _ = &mut run => break,
                _ = mine.changed() => if !*mine.borrow() { let _ = tx.send(true); },
                _ = stop.changed() => { let _ = tx.send(true); },
            }
        }
        if *stop.borrow() {
            return;
        }
        let (n, i, c) = (name.clone(), id.clone(), conn.clone());
        let released = tokio::task::spawn_blocking(move || {
            let mut c = c
                .lock()
                .map_err(|_| "database connection poisoned".to_string())?;
            q::release_lease(&mut c, &n, &i).map_err(|e| e.to_string())
        })
        .await;
        match released {
            Ok(Ok(())) => tracing::info!(mailbox = %name, "mailbox lease released"),
            _ => {
                tracing::warn!(mailbox = %name, "could not release the mailbox lease; it runs out on its own")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_share_is_rounded_up() {
        assert_eq!(fair_share(3, 1), 3);
        assert_eq!(fair_share(3, 2), 2);
        assert_eq!(fair_share(3, 3), 1);
        assert_eq!(fair_share(3, 5), 1);
        assert_eq!(fair_share(10, 3), 4);
        assert_eq!(fair_share(3, 0), 3, "no heartbeat seen yet counts as alone");
        assert_eq!(fair_share(0, 2), 0);
    }

    #[test]
    fn an_instance_takes_up_to_its_share_starting_at_its_own_place() {
        let all = names(&["a", "b", "c"]);
        let none = HashSet::new();
        let p = plan(&all, &[], &none, 1, 1);
        assert_eq!(p.take, names(&["b", "c", "a"]));
        assert_eq!(p.give_back, None);
        let p = plan(&all, &names(&["c"]), &none, 2, 2);
        assert_eq!(
            p.take,
            names(&["a", "b"]),
            "what it holds is not taken again"
        );
        assert_eq!(plan(&all, &names(&["a"]), &none, 1, 0), Plan::default());
    }

    #[test]
    fn over_its_share_it_gives_back_one_at_a_time() {
        let all = names(&["a", "b", "c"]);
        let mut leaving = HashSet::new();
        let p = plan(&all, &all, &leaving, 1, 0);
        assert_eq!(p.give_back.as_deref(), Some("c"));
        assert!(p.take.is_empty());
        leaving.insert("c".to_string());
        let p = plan(&all, &all, &leaving, 1, 0);
        assert_eq!(p.give_back.as_deref(), Some("b"));
        leaving.insert("b".to_string());
        assert_eq!(plan(&all, &all, &leaving, 1, 0), Plan::default());
        // While something is being given back, nothing is taken (it would be taken back).
        let p = plan(&all, &names(&["a", "c"]), &leaving, 3, 0);
        assert!(p.take.is_empty());
    }
}
