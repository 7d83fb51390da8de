//! Fields of a ticket (`#set NAME VALUE`: a change's `window`, `risk`, `rollback`, `service`,
//! a request's answers), without I/O: which names and values are taken.

/// The longest field name and value.
const MAX_NAME: usize = 40;
const MAX_VALUE: usize = 1000;

/// The risks a change may have.
pub const RISKS: [&str; 3] = ["low", "normal", "high"];

/// A field as stored: its name (lower case) and value, or `None` to remove it.
pub fn parse(args: &[&str]) -> Result<(String, Option<String>), String> {
    let Some((name, rest)) = args.split_first() else {
        return Err("#set needs a field name and a value, such as #set risk high".into());
    };
    let name = name.to_lowercase();
    if name.is_empty()
        || name.len() > MAX_NAME
        || !name.starts_with(|c: char| c.is_ascii_lowercase())
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!(
            "'{name}' is not a field name (letters, digits and _, starting with a letter)"
        ));
    }
    let value = rest.join(" ");
    if value.is_empty() {
        return Ok((name, None));
    }
    if value.chars().count() > MAX_VALUE {
        return Err(format!(
            "the value of {name} is longer than {MAX_VALUE} characters"
        ));
    }
    let value = match name.as_str() {
        "risk" => {
            let v = value.to_lowercase();
            if !RISKS.contains(&v.as_str()) {
                return Err(format!("'{value}' is not a risk: use low, normal or high"));
            }
            v
        }
        "window" => window(&value)?,
        _ => value,
    };
    Ok((name, Some(value)))
}

/// A change window: two RFC 3339 times with their offsets, `START/END`, END after START.
pub fn window(v: &str) -> Result<String, String> {
    let expected = "a window is START/END, each a time with its offset, such as 2026-12-05T22:00:00+01:00/2026-12-05T23:00:00+01:00";
    let (a, b) = v
        .split_once('/')
        .ok_or_else(|| format!("'{v}': {expected}"))?;
    let start =
        chrono::DateTime::parse_from_rfc3339(a.trim()).map_err(|_| format!("'{v}': {expected}"))?;
    let end =
        chrono::DateTime::parse_from_rfc3339(b.trim()).map_err(|_| format!("'{v}': {expected}"))?;
    if end <= start {
        return Err(format!("'{v}': the window ends before it starts"));
    }
    Ok(format!("{}/{}", start.to_rfc3339(), end.to_rfc3339()))
}

/// A `Name: value` line as `#set NAME VALUE` takes it.
pub fn parse_line(name: &str, value: &str) -> Result<(String, Option<String>), String> {
    let mut args = vec![name];
    args.extend(value.split_whitespace());
    parse(&args)
}

/// Whether `[changes]` allows field `name` to be `value` (a window: see [`window_allowed`]).
pub fn allowed(cfg: &crate::config::ChangesConfig, name: &str, value: &str) -> Result<(), String> {
    match name {
        "window" => window_allowed(cfg, value),
        _ => Ok(()),
    }
}

/// The `Name: value` lines at the top of a mail's text (blank lines before them skipped; the
/// first other line ends them), as `#set` would take them: (name, value) each.
pub fn leading_lines(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).skip_while(|l| l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            break;
        };
        let name = name.trim();
        let value = value.trim();
        if name.is_empty()
            || name.len() > MAX_NAME
            || value.is_empty()
            || !name.starts_with(|c: char| c.is_ascii_alphabetic())
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '_' || c == '-')
        {
            break;
        }
        out.push((
            name.to_ascii_lowercase().replace([' ', '-'], "_"),
            value.to_string(),
        ));
    }
    out
}

/// Whether a change window (as [`window`] stores it) is allowed by `[changes]`: not touching a
/// freeze period, and inside the change calendar's hours. The error says why not.
pub fn window_allowed(cfg: &crate::config::ChangesConfig, window: &str) -> Result<(), String> {
    let Some((a, b)) = window.split_once('/') else {
        return Ok(());
    };
    let (Ok(a), Ok(b)) = (
        chrono::DateTime::parse_from_rfc3339(a),
        chrono::DateTime::parse_from_rfc3339(b),
    ) else {
        return Ok(());
    };
    let (from, to) = (a.timestamp_millis(), b.timestamp_millis());
    if let Some((period, _, _)) = cfg.freeze.iter().find(|(_, f, t)| from < *t && *f < to) {
        return Err(format!(
            "the window falls in the change freeze {period}: choose a window outside it"
        ));
    }
    if let Some((name, hours)) = &cfg.calendar {
        if hours.between(from, to) < to - from {
            return Err(format!(
                "the window is outside the hours of the change calendar '{name}'"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_in_a_freeze_or_outside_the_calendar_is_refused() {
        let cfg = crate::config::ChangesConfig {
            freeze: vec![(
                "2026-12-20/2027-01-04".into(),
                1_797_724_800_000, // 2026-12-20T00:00Z
                1_799_107_200_000, // 2027-01-05T00:00Z
            )],
            ..Default::default()
        };
        assert!(
            window_allowed(&cfg, "2026-12-05T22:00:00+01:00/2026-12-05T23:00:00+01:00").is_ok()
        );
        let e = window_allowed(&cfg, "2026-12-21T22:00:00+01:00/2026-12-21T23:00:00+01:00")
            .unwrap_err();
        assert!(e.contains("change freeze 2026-12-20/2027-01-04"), "{e}");
        // Overlapping the freeze's start counts too.
        assert!(
            window_allowed(&cfg, "2026-12-19T23:30:00+00:00/2026-12-20T00:30:00+00:00").is_err()
        );
    }

    #[test]
    fn name_value_lines_at_the_top_until_the_first_other_line() {
        let text = "\nRisk: high\nWindow: 2026-12-05T22:00:00+01:00/2026-12-05T23:00:00+01:00\nCost center: 4711\n\nPlease do it: soon.\nService: x\n";
        assert_eq!(
            leading_lines(text),
            vec![
                ("risk".to_string(), "high".to_string()),
                (
                    "window".into(),
                    "2026-12-05T22:00:00+01:00/2026-12-05T23:00:00+01:00".into()
                ),
                ("cost_center".into(), "4711".into()),
            ]
        );
        assert!(leading_lines("Hello team,\nRisk: high").is_empty());
    }

    #[test]
    fn names_values_risks_and_windows() {
        assert_eq!(
            parse(&["Risk", "HIGH"]),
            Ok(("risk".into(), Some("high".into())))
        );
        assert_eq!(
            parse(&["rollback", "restore", "the", "snapshot"]),
            Ok(("rollback".into(), Some("restore the snapshot".into())))
        );
        assert_eq!(parse(&["service"]), Ok(("service".into(), None)));
        assert_eq!(
            parse(&[
                "window",
                "2026-12-05T22:00:00+01:00/2026-12-05T23:00:00+01:00"
            ]),
            Ok((
                "window".into(),
                Some("2026-12-05T22:00:00+01:00/2026-12-05T23:00:00+01:00".into())
            ))
        );
        for bad in [
            &["risk", "extreme"][..],
            &["window", "tomorrow night"],
            &[
                "window",
                "2026-12-05T23:00:00+01:00/2026-12-05T22:00:00+01:00",
            ],
            &["2fa", "x"],
            &["a-b", "x"],
            &[],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse(&["window", "x"]).unwrap_err().contains("START/END"));
    }
}
