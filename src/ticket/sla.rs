//! SLA clocks in business time. Pure: times are milliseconds since the epoch (UTC), calendars
//! come from the config, and nothing here reads a clock or a database.
//!
//! A calendar gives opening hours per weekday in an IANA timezone, and holidays. Business time
//! is real elapsed time inside opening hours, so a day on which the clocks change counts the
//! hours that really pass.
//!
//! A [`Clock`] is one target of one ticket (first response, next response, resolution). It
//! runs, is paused (the business time left is kept) and resumed, is retargeted when the
//! priority changes, and is stopped when met. Its checkpoints (the warning, the breach, and the
//! escalation steps some time after the breach) fire in order, each once: `stage` counts those
//! already fired and survives pauses, so nothing is announced twice.

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// What happened to a ticket, as far as its clocks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaEvent {
    /// A ticket was opened: the first-response and resolution clocks start.
    Opened,
    /// The customer wrote again: after a first response, a next-response clock starts.
    CustomerReply,
    /// An agent answered the customer: the response clocks are met.
    Answered,
    /// Status, priority or policy changed.
    Changed,
}

/// Opening hours in a timezone, and holidays.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub tz: Tz,
    /// Per weekday, Monday first: opening intervals in minutes after local midnight
    /// (`start < end <= 1440`), sorted and not overlapping.
    pub week: [Vec<(u32, u32)>; 7],
    pub holidays: BTreeSet<NaiveDate>,
}

/// Where business time is counted: around the clock, or on a calendar.
#[derive(Debug, Clone, PartialEq)]
pub enum Hours {
    Always,
    Calendar(Box<Calendar>),
}

/// How far ahead the arithmetic looks for opening hours before giving up (a calendar whose
/// hours are all holidays): ten years.
const HORIZON_DAYS: i64 = 3660;

impl Hours {
    /// The instant at which `business_ms` of business time has passed since `start`.
    pub fn add(&self, start: i64, business_ms: i64) -> i64 {
        if business_ms <= 0 {
            return start;
        }
        let cal = match self {
            Hours::Always => return start.saturating_add(business_ms),
            Hours::Calendar(c) => c,
        };
        let mut left = business_ms;
        let first = cal.local_date(start);
        for day in 0..HORIZON_DAYS {
            for (open, close) in cal.intervals(first + Duration::days(day)) {
                if close <= start {
                    continue;
                }
                let from = open.max(start);
                let available = close - from;
                if left <= available {
                    return from + left;
                }
                left -= available;
            }
        }
        i64::MAX
    }

    /// Business time between two instants (zero when `to <= from`).
    pub fn between(&self, from: i64, to: i64) -> i64 {
        if to <= from {
            return 0;
        }
        let cal = match self {
            Hours::Always => return to - from,
            Hours::Calendar(c) => c,
        };
        let (first, last) = (cal.local_date(from), cal.local_date(to));
        let mut total = 0;
        let mut day = first;
        while day <= last {
            for (open, close) in cal.intervals(day) {
                let (a, b) = (open.max(from), close.min(to));
                if b > a {
                    total += b - a;
                }
            }
            day += Duration::days(1);
        }
        total
    }
}

impl Calendar {
    fn local_date(&self, ms: i64) -> NaiveDate {
        Utc.timestamp_millis_opt(ms)
            .single()
            .map(|t| t.with_timezone(&self.tz).date_naive())
            .unwrap_or_default()
    }

    /// The opening intervals of one local date as UTC instants.
    fn intervals(&self, day: NaiveDate) -> Vec<(i64, i64)> {
        if self.holidays.contains(&day) {
            return Vec::new();
        }
        let wd = day.weekday().num_days_from_monday() as usize;
        self.week[wd]
            .iter()
            .map(|&(a, b)| (self.instant(day, a), self.instant(day, b)))
            .filter(|(a, b)| b > a)
            .collect()
    }

    /// The instant of a local wall-clock time. In a repeated hour the earlier one counts; a time
    /// that does not exist (skipped when the clocks go forward) moves to the first that does.
    fn instant(&self, day: NaiveDate, minutes: u32) -> i64 {
        let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
        let wall: NaiveDateTime = midnight + Duration::minutes(minutes as i64);
        let mut probe = wall;
        for _ in 0..(4 * 60) {
            if let Some(t) = self.tz.from_local_datetime(&probe).earliest() {
                return t.timestamp_millis();
            }
            probe += Duration::minutes(1);
        }
        Utc.from_utc_datetime(&wall).timestamp_millis()
    }
}

/// Which target a clock measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    FirstResponse,
    NextResponse,
    Resolution,
}

impl Target {
    pub const ALL: [Target; 3] = [
        Target::FirstResponse,
        Target::NextResponse,
        Target::Resolution,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Target::FirstResponse => "first_response",
            Target::NextResponse => "next_response",
            Target::Resolution => "resolution",
        }
    }

    pub fn parse(s: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One clock's state, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub target: Target,
    /// The business time allowed.
    pub target_ms: i64,
    pub started_at: i64,
    /// While running: when the warning and the breach fall. `None` while paused or stopped.
    pub warn_at: Option<i64>,
    pub due_at: Option<i64>,
    /// While paused: the business time that was left to the warning and to the breach.
    pub warn_left: Option<i64>,
    pub due_left: Option<i64>,
    /// How many checkpoints have fired.
    pub stage: i32,
    pub breached: bool,
    /// When it was met (or stopped); a stopped clock never fires again.
    pub stopped_at: Option<i64>,
}

/// A point on a clock's way at which something happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoint {
    Warning,
    Breach,
    /// Escalation steps this long (wall time) after the breach.
    AfterBreach(i64),
}

/// The checkpoints of a policy in firing order: the warning, the breach, then each distinct
/// `after` of the escalation steps, ascending.
pub fn checkpoints(afters: &[i64]) -> Vec<Checkpoint> {
    let mut after: Vec<i64> = afters.iter().copied().filter(|a| *a > 0).collect();
    after.sort_unstable();
    after.dedup();
    let mut v = vec![Checkpoint::Warning, Checkpoint::Breach];
    v.extend(after.into_iter().map(Checkpoint::AfterBreach));
    v
}

/// The warning's share of the target, in business milliseconds.
fn warn_share(target_ms: i64, warn_at: f64) -> i64 {
    ((target_ms as f64) * warn_at.clamp(0.0, 1.0)).round() as i64
}

impl Clock {
    /// A clock started at `now` with `target_ms` of business time.
    pub fn start(target: Target, target_ms: i64, warn_at: f64, now: i64, hours: &Hours) -> Clock {
        Clock {
            target,
            target_ms,
            started_at: now,
            warn_at: Some(hours.add(now, warn_share(target_ms, warn_at))),
            due_at: Some(hours.add(now, target_ms)),
            warn_left: None,
            due_left: None,
            stage: 0,
            breached: false,
            stopped_at: None,
        }
    }

    pub fn running(&self) -> bool {
        self.stopped_at.is_none() && self.due_at.is_some()
    }

    pub fn paused(&self) -> bool {
        self.stopped_at.is_none() && self.due_at.is_none()
    }

    /// When a checkpoint falls on this clock (only while it runs).
    pub fn time_of(&self, c: Checkpoint) -> Option<i64> {
        if !self.running() {
            return None;
        }
        match c {
            Checkpoint::Warning => self.warn_at,
            Checkpoint::Breach => self.due_at,
            Checkpoint::AfterBreach(a) => self.due_at.map(|d| d.saturating_add(a)),
        }
    }

    /// When the sweep next has to look at this clock: the time of its next unfired checkpoint,
    /// or `None` when it is paused, stopped or has fired everything.
    pub fn next_check(&self, points: &[Checkpoint]) -> Option<i64> {
        points
            .get(usize::try_from(self.stage).ok()?)
            .and_then(|c| self.time_of(*c))
    }

    /// The checkpoints due at `now`, in order, and the stage after them. A warning that falls
    /// after the breach (a retarget can do that) fires with it.
    pub fn due_checkpoints(&self, points: &[Checkpoint], now: i64) -> Vec<Checkpoint> {
        let mut out = Vec::new();
        for c in points.iter().skip(self.stage.max(0) as usize) {
            match self.time_of(*c) {
                Some(t) if t <= now => out.push(*c),
                _ if *c == Checkpoint::Warning && self.due_at.is_some_and(|d| d <= now) => {
                    out.push(*c)
                }
                _ => break,
            }
        }
        out
    }

    /// Stops the clock for good (the target was met, or no longer applies).
    pub fn stop(&mut self, now: i64) {
        if self.stopped_at.is_none() {
            if self.due_at.is_some_and(|d| d < now) {
                self.breached = true;
            }
            self.stopped_at = Some(now);
            self.warn_at = None;
            self.due_at = None;
        }
    }

    /// Pauses a running clock, keeping the business time left; paused after its due time, it
    /// counts as breached.
    pub fn pause(&mut self, now: i64, hours: &Hours) {
        if let (true, Some(due), Some(warn)) = (self.running(), self.due_at, self.warn_at) {
            if due < now {
                self.breached = true;
            }
            self.due_left = Some(hours.between(now, due));
            self.warn_left = Some(hours.between(now, warn));
            self.due_at = None;
            self.warn_at = None;
        }
    }

    /// Resumes a paused clock with the business time it had left.
    pub fn resume(&mut self, now: i64, hours: &Hours) {
        if self.paused() {
            self.due_at = Some(hours.add(now, self.due_left.take().unwrap_or(0)));
            self.warn_at = Some(hours.add(now, self.warn_left.take().unwrap_or(0)));
        }
    }

    /// Changes the target (the priority changed): what was used stays used, and the rest is
    /// measured against the new target. A clock already breached keeps its times.
    pub fn retarget(&mut self, new_target_ms: i64, warn_at: f64, now: i64, hours: &Hours) {
        if self.stopped_at.is_some() || self.breached || new_target_ms == self.target_ms {
            return;
        }
        let was_paused = self.paused();
        if was_paused {
            self.resume(now, hours);
        }
        let left = self.due_at.map_or(0, |d| hours.between(now, d));
        let used = (self.target_ms - left).max(0);
        self.target_ms = new_target_ms;
        self.due_at = Some(hours.add(now, (new_target_ms - used).max(0)));
        self.warn_at = Some(hours.add(now, (warn_share(new_target_ms, warn_at) - used).max(0)));
        if was_paused {
            self.pause(now, hours);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: i64 = 3_600_000;
    const M: i64 = 60_000;

    fn office(tz: Tz) -> Hours {
        let day = vec![(9 * 60, 17 * 60)];
        Hours::Calendar(Box::new(Calendar {
            tz,
            week: [
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day,
                vec![],
                vec![],
            ],
            holidays: ["2026-12-25", "2026-12-26"]
                .iter()
                .map(|d| d.parse().unwrap())
                .collect(),
        }))
    }

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    fn show(ms: i64) -> String {
        crate::time::rfc3339(ms)
    }

    #[test]
    fn adding_business_time() {
        let berlin = office(chrono_tz::Europe::Berlin);
        let ny = office(chrono_tz::America::New_York);
        // (calendar, start, business time, expected due)
        let cases: Vec<(&Hours, &str, i64, &str)> = vec![
            // inside one day
            (
                &berlin,
                "2026-11-23T10:00:00+01:00",
                4 * H,
                "2026-11-23T14:00:00+01:00",
            ),
            // ends exactly at closing time: that day, not the next morning
            (
                &berlin,
                "2026-11-23T13:00:00+01:00",
                4 * H,
                "2026-11-23T17:00:00+01:00",
            ),
            // before opening: counts from 09:00
            (
                &berlin,
                "2026-11-23T06:30:00+01:00",
                30 * M,
                "2026-11-23T09:30:00+01:00",
            ),
            // over the night
            (
                &berlin,
                "2026-11-23T16:00:00+01:00",
                2 * H,
                "2026-11-24T10:00:00+01:00",
            ),
            // Friday afternoon to Monday
            (
                &berlin,
                "2026-11-27T15:00:00+01:00",
                4 * H,
                "2026-11-30T11:00:00+01:00",
            ),
            // received on a Saturday
            (
                &berlin,
                "2026-11-28T12:00:00+01:00",
                H,
                "2026-11-30T10:00:00+01:00",
            ),
            // a target of several days (24 business hours = three office days)
            (
                &berlin,
                "2026-11-23T09:00:00+01:00",
                24 * H,
                "2026-11-25T17:00:00+01:00",
            ),
            (
                &berlin,
                "2026-11-23T12:00:00+01:00",
                24 * H,
                "2026-11-26T12:00:00+01:00",
            ),
            // Christmas: Thu 24th afternoon, 25th and 26th are holidays (26th a Saturday)
            (
                &berlin,
                "2026-12-24T16:00:00+01:00",
                2 * H,
                "2026-12-28T10:00:00+01:00",
            ),
            // Berlin goes to summer time on Sunday 2026-03-29: the office day after is whole
            (
                &berlin,
                "2026-03-27T16:00:00+01:00",
                2 * H,
                "2026-03-30T10:00:00+02:00",
            ),
            // and back on Sunday 2026-10-25
            (
                &berlin,
                "2026-10-23T16:00:00+02:00",
                2 * H,
                "2026-10-26T10:00:00+01:00",
            ),
            // New York: summer time from Sunday 2026-03-08, winter time from 2026-11-01
            (
                &ny,
                "2026-03-06T16:30:00-05:00",
                H,
                "2026-03-09T09:30:00-04:00",
            ),
            (
                &ny,
                "2026-10-30T16:30:00-04:00",
                H,
                "2026-11-02T09:30:00-05:00",
            ),
            // 24x7
            (
                &Hours::Always,
                "2026-11-28T12:00:00Z",
                30 * H,
                "2026-11-29T18:00:00Z",
            ),
            // nothing to add
            (
                &berlin,
                "2026-11-28T12:00:00+01:00",
                0,
                "2026-11-28T12:00:00+01:00",
            ),
        ];
        for (hours, start, add, want) in cases {
            assert_eq!(
                show(hours.add(at(start), add)),
                show(at(want)),
                "{start} + {} min",
                add / M
            );
        }
    }

    #[test]
    fn business_time_between() {
        let berlin = office(chrono_tz::Europe::Berlin);
        let cases = [
            (
                "2026-11-23T10:00:00+01:00",
                "2026-11-23T12:00:00+01:00",
                2 * H,
            ),
            (
                "2026-11-27T16:00:00+01:00",
                "2026-11-30T10:00:00+01:00",
                2 * H,
            ),
            ("2026-11-28T10:00:00+01:00", "2026-11-29T10:00:00+01:00", 0),
            (
                "2026-11-23T00:00:00+01:00",
                "2026-11-30T00:00:00+01:00",
                40 * H,
            ),
            ("2026-11-23T12:00:00+01:00", "2026-11-23T10:00:00+01:00", 0),
        ];
        for (a, b, want) in cases {
            assert_eq!(berlin.between(at(a), at(b)), want, "{a} .. {b}");
        }
    }

    #[test]
    fn a_night_shift_over_the_clock_change_counts_real_hours() {
        // 00:00-06:00 on the night Berlin goes to summer time has only five real hours.
        let mut week: [Vec<(u32, u32)>; 7] = Default::default();
        week[6] = vec![(0, 360)]; // Sunday
        let night = Hours::Calendar(Box::new(Calendar {
            tz: chrono_tz::Europe::Berlin,
            week,
            holidays: BTreeSet::new(),
        }));
        let sunday = at("2026-03-29T00:00:00+01:00");
        assert_eq!(night.between(sunday, sunday + 24 * H), 5 * H);
        assert_eq!(
            show(night.add(sunday, 5 * H)),
            show(at("2026-03-29T06:00:00+02:00"))
        );
    }

    #[test]
    fn a_pause_over_the_weekend_keeps_the_time_that_was_left() {
        let berlin = office(chrono_tz::Europe::Berlin);
        let pts = checkpoints(&[]);
        // 8 business hours from Friday 13:00: due Monday 13:00.
        let mut c = Clock::start(
            Target::Resolution,
            8 * H,
            0.75,
            at("2026-11-27T13:00:00+01:00"),
            &berlin,
        );
        assert_eq!(
            show(c.due_at.unwrap()),
            show(at("2026-11-30T13:00:00+01:00"))
        );
        assert_eq!(
            show(c.warn_at.unwrap()),
            show(at("2026-11-30T11:00:00+01:00"))
        );
        // Waiting on the customer from Friday 15:00 (6 business hours left) …
        c.pause(at("2026-11-27T15:00:00+01:00"), &berlin);
        assert!(c.paused());
        assert_eq!(c.due_left, Some(6 * H));
        assert_eq!(c.next_check(&pts), None);
        // … who answers on Sunday: the clock goes on from Monday 09:00.
        c.resume(at("2026-11-29T20:00:00+01:00"), &berlin);
        assert_eq!(
            show(c.due_at.unwrap()),
            show(at("2026-11-30T15:00:00+01:00"))
        );
        assert_eq!(
            show(c.warn_at.unwrap()),
            show(at("2026-11-30T13:00:00+01:00"))
        );
        assert_eq!(c.next_check(&pts), c.warn_at);
    }

    #[test]
    fn checkpoints_fire_in_order_each_once() {
        let hours = Hours::Always;
        let pts = checkpoints(&[4 * H, 0, 4 * H, H]);
        assert_eq!(
            pts,
            vec![
                Checkpoint::Warning,
                Checkpoint::Breach,
                Checkpoint::AfterBreach(H),
                Checkpoint::AfterBreach(4 * H)
            ]
        );
        let t0 = at("2026-11-23T10:00:00Z");
        let mut c = Clock::start(Target::FirstResponse, 10 * H, 0.8, t0, &hours);
        assert!(c.due_checkpoints(&pts, t0 + 7 * H).is_empty());
        assert_eq!(
            c.due_checkpoints(&pts, t0 + 8 * H),
            vec![Checkpoint::Warning]
        );
        // a sweep that comes late fires everything due, in order
        assert_eq!(
            c.due_checkpoints(&pts, t0 + 11 * H + M),
            vec![
                Checkpoint::Warning,
                Checkpoint::Breach,
                Checkpoint::AfterBreach(H)
            ]
        );
        c.stage = 3;
        assert_eq!(c.next_check(&pts), Some(t0 + 14 * H));
        c.stage = 4;
        assert_eq!(c.next_check(&pts), None);
        // met: never again
        let mut met = Clock::start(Target::FirstResponse, 10 * H, 0.8, t0, &hours);
        met.stop(t0 + H);
        assert!(!met.breached);
        assert!(met.due_checkpoints(&pts, t0 + 100 * H).is_empty());
        assert_eq!(met.next_check(&pts), None);
        let mut late = Clock::start(Target::FirstResponse, 10 * H, 0.8, t0, &hours);
        late.stop(t0 + 11 * H);
        assert!(late.breached);
    }

    #[test]
    fn a_raised_priority_keeps_the_time_used() {
        let hours = Hours::Always;
        let t0 = at("2026-11-23T10:00:00Z");
        let mut c = Clock::start(Target::FirstResponse, 8 * H, 0.5, t0, &hours);
        // 3 hours in, the target drops from 8 h to 4 h: 1 hour left, warning (at 2 h) passed.
        c.retarget(4 * H, 0.5, t0 + 3 * H, &hours);
        assert_eq!(c.due_at, Some(t0 + 4 * H));
        assert_eq!(c.warn_at, Some(t0 + 3 * H));
        // already used more than the new target: due now
        let mut d = Clock::start(Target::FirstResponse, 8 * H, 0.5, t0, &hours);
        d.retarget(H, 0.5, t0 + 3 * H, &hours);
        assert_eq!(d.due_at, Some(t0 + 3 * H));
        // a paused clock stays paused, with less left
        let mut p = Clock::start(Target::Resolution, 8 * H, 0.5, t0, &hours);
        p.pause(t0 + 2 * H, &hours);
        p.retarget(4 * H, 0.5, t0 + 5 * H, &hours);
        assert!(p.paused());
        assert_eq!(p.due_left, Some(2 * H));
        // paused (say, resolved) after the due time: breached
        let mut late = Clock::start(Target::Resolution, H, 0.5, t0, &hours);
        late.pause(t0 + 2 * H, &hours);
        assert!(late.breached && late.paused());
    }

    proptest! {
        #[test]
        fn due_never_moves_backwards_as_the_target_grows(
            start in 1_767_225_600_000i64..1_830_297_600_000i64, // 2026 .. 2028
            a in 0i64..(200 * H),
            b in 0i64..(200 * H),
            ny in any::<bool>(),
        ) {
            let hours = office(if ny { chrono_tz::America::New_York } else { chrono_tz::Europe::Berlin });
            let (small, big) = (a.min(b), a.max(b));
            let (d1, d2) = (hours.add(start, small), hours.add(start, big));
            prop_assert!(d1 <= d2);
            prop_assert!(d1 >= start);
            // and the business time up to the due time is exactly what was added
            prop_assert_eq!(hours.between(start, d2), big);
        }
    }
}
