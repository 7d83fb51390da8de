//! Time as postdesk stores it: milliseconds since the Unix epoch, UTC, in an `i64`.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// The current time in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// A duration in milliseconds as stored, saturating at `i64::MAX` instead of wrapping (config
/// durations are at most [`crate::config::MAX_DURATION`], far below it).
pub fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Formats stored milliseconds as RFC 3339 (`2026-11-21T12:00:00Z`), the JSON contract's format.
pub fn rfc3339(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Secs, true),
        None => String::new(),
    }
}

/// Parses an RFC 3339 time (as given to `--at` or `--now`) into milliseconds.
pub fn parse_rfc3339(s: &str) -> Result<i64, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|e| format!("'{s}' is not an RFC 3339 time such as 2026-11-21T09:30:00Z ({e})"))
}

/// A duration for people: "2 d 3 h", "3 h 20 min", "45 min", "under a minute".
pub fn human_duration(ms: i64) -> String {
    let m = ms.max(0) / 60_000;
    let (d, h, min) = (m / 1440, (m % 1440) / 60, m % 60);
    match (d, h, min) {
        (0, 0, 0) => "under a minute".into(),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// Capped exponential backoff with jitter after `failures` failures in a row: about 1 s, 2 s,
/// 4 s … up to 5 minutes, each between half and all of that.
pub fn backoff(failures: u32) -> std::time::Duration {
    let base = 1000u64
        .saturating_mul(1 << failures.saturating_sub(1).min(9))
        .min(300_000);
    std::time::Duration::from_millis(base / 2 + fastrand::u64(..=base / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let ms = parse_rfc3339("2026-11-21T09:30:00+01:00").unwrap();
        assert_eq!(rfc3339(ms), "2026-11-21T08:30:00Z");
        assert!(parse_rfc3339("yesterday").is_err());
    }

    #[test]
    fn millis_saturates_instead_of_wrapping() {
        use std::time::Duration;
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        assert_eq!(millis(Duration::MAX), i64::MAX);
        assert_eq!(millis(Duration::from_secs(u64::MAX / 1000 + 1)), i64::MAX);
    }

    #[test]
    fn durations_for_people() {
        for (ms, want) in [
            (0, "under a minute"),
            (59_000, "under a minute"),
            (45 * 60_000, "45 min"),
            (3 * 3_600_000, "3 h"),
            (200 * 60_000, "3 h 20 min"),
            (2 * 86_400_000 + 3 * 3_600_000 + 60_000, "2 d 3 h"),
            (86_400_000, "1 d"),
        ] {
            assert_eq!(human_duration(ms), want);
        }
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        use std::time::Duration;
        for f in 1..40 {
            let d = backoff(f);
            assert!(d <= Duration::from_secs(300), "{f}: {d:?}");
            assert!(d >= Duration::from_millis(500), "{f}: {d:?}");
        }
        assert!(backoff(10) >= Duration::from_secs(150));
    }
}
