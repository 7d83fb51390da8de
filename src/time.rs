//! Time as postdesk stores it: milliseconds since the Unix epoch, UTC, in an `i64`.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// The current time in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let ms = parse_rfc3339("2026-11-21T09:30:00+01:00").unwrap();
        assert_eq!(rfc3339(ms), "2026-11-21T08:30:00Z");
        assert!(parse_rfc3339("yesterday").is_err());
    }
}
