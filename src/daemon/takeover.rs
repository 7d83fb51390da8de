//! Taking over at once from a holder that is provably dead: an instance whose process is gone
//! from this host (kill -9, a crash, a reboot) leaves mailbox leases and claimed outbox rows,
//! and a killed `ingest` leaves acknowledgements held for itself. Rather than wait for the
//! lease (`[cluster] lease`) or the hold to run out, a `serve` on the same host frees them as
//! soon as it sees the process gone ([`crate::holder`]): at its start, then every second.
//! Holders it cannot judge (another host, another container) keep the time-based rule.

use diesel::QueryResult;

use crate::holder::{self, Liveness};
use crate::store::{leases as q, models, AnyConnection};

/// What was taken over from one dead holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaped {
    /// The instance name, or the process for rows held by a process with no instance (ingest).
    pub from: String,
    pub why: String,
    pub mailboxes: Vec<String>,
    pub outbox_rows: usize,
}

/// Frees what dead holders on this host hold: the leases of dead instances (other than `me`)
/// and the pending outbox rows dead processes held; each written in its own statement, so a
/// lost race with another instance doing the same changes nothing twice.
pub fn reap(c: &mut AnyConnection, me: &str, now: i64) -> QueryResult<Vec<Reaped>> {
    let mut out = Vec::new();
    for (id, process) in q::other_instances(c, me)? {
        let Some(process) = process else { continue };
        if let Liveness::Dead(why) = holder::liveness(&process) {
            let mailboxes = q::reap_instance(c, &id)?;
            let outbox_rows = models::release_outbox_holds(c, &process, now)?;
            out.push(Reaped {
                from: id,
                why,
                mailboxes,
                outbox_rows,
            });
        }
    }
    for process in models::outbox_holders(c, now)? {
        if let Liveness::Dead(why) = holder::liveness(&process) {
            let outbox_rows = models::release_outbox_holds(c, &process, now)?;
            if outbox_rows > 0 {
                out.push(Reaped {
                    from: format!("process {process}"),
                    why,
                    mailboxes: Vec::new(),
                    outbox_rows,
                });
            }
        }
    }
    Ok(out)
}

/// One log line per takeover: what was taken over from whom and why.
pub fn log(reaped: &[Reaped]) {
    for r in reaped {
        tracing::warn!(
            from = %r.from,
            why = %r.why,
            mailboxes = ?r.mailboxes,
            outbox_rows = r.outbox_rows,
            "taking over at once from a holder that is dead: its mailbox leases are free and the mail it held is due now"
        );
    }
}
