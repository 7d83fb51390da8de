//! Work done on a schedule: the SLA sweep ([`sla_sweep`]) on the clocks ([`clocks`]) and
//! the digests ([`digest`]) and the recurring tickets ([`recurring`]).

pub mod changes;
pub mod charts;
pub mod clocks;
pub mod csat;
pub mod digest;
pub mod recurring;
pub mod sla_sweep;

use crate::config::{Config, Scheduled};

/// One scheduled thing of the config: a digest or a recurring ticket, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Digest(usize),
    Recurring(usize),
}

impl Job {
    /// Every scheduled thing of `cfg`.
    pub fn all(cfg: &Config) -> Vec<Job> {
        (0..cfg.digests.len())
            .map(Job::Digest)
            .chain((0..cfg.recurring.len()).map(Job::Recurring))
            .collect()
    }

    /// Its schedule and name.
    pub fn of<'c>(&self, cfg: &'c Config) -> &'c dyn ScheduledDyn {
        match *self {
            Job::Digest(i) => &cfg.digests[i],
            Job::Recurring(i) => &cfg.recurring[i],
        }
    }

    /// Whether a run missed during downtime is done at start.
    pub fn catch_up(&self, cfg: &Config) -> bool {
        match *self {
            Job::Digest(i) => cfg.digests[i].catch_up,
            Job::Recurring(i) => cfg.recurring[i].catch_up,
        }
    }
}

/// [`Scheduled`] as a trait object.
pub trait ScheduledDyn {
    fn name(&self) -> String;
    fn occurrences(&self, after: i64, until: i64) -> Vec<i64>;
    fn next_occurrence(&self, after: i64) -> Option<i64>;
    fn missed_run(
        &self,
        c: &mut crate::store::AnyConnection,
        now: i64,
    ) -> diesel::QueryResult<Option<i64>>;
}

impl<T: Scheduled> ScheduledDyn for T {
    fn name(&self) -> String {
        self.run_name()
    }
    fn occurrences(&self, after: i64, until: i64) -> Vec<i64> {
        digest::occurrences(self, after, until)
    }
    fn next_occurrence(&self, after: i64) -> Option<i64> {
        digest::next_occurrence(self, after)
    }
    fn missed_run(
        &self,
        c: &mut crate::store::AnyConnection,
        now: i64,
    ) -> diesel::QueryResult<Option<i64>> {
        digest::missed_run(c, self, now)
    }
}
