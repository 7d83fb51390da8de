//! Satisfaction surveys without I/O: whether a resolution is asked, and whether a customer's
//! mail answers a survey (a digit 1-5 on the first line, the rest the comment).

/// A survey the ticket has out or answered: what a customer's reply is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    pub id: i64,
    /// The address asked: only its answer counts.
    pub address: String,
    /// Answered already (a second answer changes nothing).
    pub answered: bool,
}

/// A score of 2 or less tells the assignee and the queue's managers.
pub const LOW: u8 = 2;

/// The score and comment a survey answer gives: the first line that says anything is a digit
/// 1-5 (alone, or followed by a word, `/5`, a full stop or a dash); the rest is the comment.
/// Anything else (a 0, a 6, "10", prose) is no answer.
pub fn parse_answer(text: &str) -> Option<(u8, String)> {
    let mut lines = text.lines().map(str::trim).skip_while(|l| l.is_empty());
    let first = lines.next()?;
    let mut chars = first.chars();
    let score = chars.next()?.to_digit(10)?;
    let rest = chars.as_str();
    if rest.starts_with(|c: char| c.is_ascii_digit() || c.is_alphanumeric()) {
        return None;
    }
    if !(1..=5).contains(&score) {
        return None;
    }
    let rest = rest.strip_prefix("/5").unwrap_or(rest);
    let rest = rest.trim_start_matches(|c: char| c.is_whitespace() || ".:-–,)!".contains(c));
    let mut comment: Vec<&str> = Vec::new();
    if !rest.is_empty() {
        comment.push(rest);
    }
    comment.extend(lines);
    Some((score as u8, comment.join("\n").trim().to_string()))
}

/// Whether the resolution `resolved_at` of `ticket` is in the sample (`sample` 0.0 to 1.0):
/// the same answer every time it is asked, on every instance.
pub fn sampled(ticket: i64, resolved_at: i64, sample: f64) -> bool {
    if sample >= 1.0 {
        return true;
    }
    if sample <= 0.0 {
        return false;
    }
    // FNV-1a over both numbers, then a fraction of 10,000.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in ticket
        .to_le_bytes()
        .into_iter()
        .chain(resolved_at.to_le_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    ((h % 10_000) as f64) < sample * 10_000.0
}

/// What a resolution means for a survey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A survey goes out at `due_at` unless the ticket reopens first.
    Ask { due_at: i64 },
    /// Recorded as not asked, with why.
    Skip(String),
}

/// Who a resolved ticket is about, as far as a survey cares.
#[derive(Debug, Clone, Copy)]
pub struct Resolution<'a> {
    pub ticket: i64,
    pub resolved_at: i64,
    pub queue: &'a str,
    /// The requester is a customer (not an agent, not one of our addresses, not empty).
    pub customer: bool,
    /// The ticket was opened by an agent (a forwarded mail, a task, a recurring ticket).
    pub opened_by_agent: bool,
}

/// Whether and when a resolution is asked about; `None`: not at all (not a customer's ticket,
/// or a queue the survey does not cover).
pub fn plan(cfg: &crate::config::CsatConfig, r: Resolution<'_>) -> Option<Plan> {
    if !cfg.covers(r.queue) || !r.customer || r.opened_by_agent {
        return None;
    }
    if !sampled(r.ticket, r.resolved_at, cfg.sample) {
        return Some(Plan::Skip(format!(
            "not in the sample ([csat] sample = {})",
            cfg.sample
        )));
    }
    Some(Plan::Ask {
        due_at: r.resolved_at.saturating_add(crate::time::millis(cfg.delay)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CsatConfig;
    use std::time::Duration;

    #[test]
    fn a_digit_on_the_first_line_is_the_score_and_the_rest_the_comment() {
        assert_eq!(parse_answer("4"), Some((4, String::new())));
        assert_eq!(
            parse_answer("\n  5\nQuick and kind.\n\nThanks"),
            Some((5, "Quick and kind.\n\nThanks".into()))
        );
        assert_eq!(
            parse_answer("2 - took a week"),
            Some((2, "took a week".into()))
        );
        assert_eq!(parse_answer("3/5 fine"), Some((3, "fine".into())));
        assert_eq!(parse_answer("1."), Some((1, String::new())));
    }

    #[test]
    fn out_of_range_numbers_and_prose_are_no_answer() {
        for text in [
            "0",
            "6",
            "10",
            "42 is the answer",
            "",
            "  \n",
            "Thanks!",
            "5th floor printer",
            "4x",
        ] {
            assert_eq!(parse_answer(text), None, "{text:?}");
        }
    }

    #[test]
    fn sampling_is_stable_and_near_the_share() {
        let asked = (0..10_000)
            .filter(|t| sampled(*t, 1_700_000_000_000, 0.3))
            .count();
        assert!((2_700..3_300).contains(&asked), "{asked}");
        assert_eq!(sampled(7, 9, 0.5), sampled(7, 9, 0.5));
        assert!((0..1000).all(|t| sampled(t, 1, 1.0)));
        assert!((0..1000).all(|t| !sampled(t, 1, 0.0)));
    }

    fn cfg(sample: f64, queues: &[&str]) -> CsatConfig {
        CsatConfig {
            delay: Duration::from_secs(3600),
            sample,
            queues: queues.iter().map(|q| q.to_string()).collect(),
        }
    }

    fn resolution(customer: bool, opened_by_agent: bool, queue: &str) -> Resolution<'_> {
        Resolution {
            ticket: 1,
            resolved_at: 1_000,
            queue,
            customer,
            opened_by_agent,
        }
    }

    #[test]
    fn only_customers_tickets_in_the_covered_queues_are_asked_after_the_delay() {
        let all = cfg(1.0, &[]);
        assert_eq!(
            plan(&all, resolution(true, false, "it")),
            Some(Plan::Ask { due_at: 3_601_000 })
        );
        assert_eq!(plan(&all, resolution(false, false, "it")), None);
        assert_eq!(plan(&all, resolution(true, true, "it")), None);
        let some = cfg(1.0, &["billing"]);
        assert_eq!(plan(&some, resolution(true, false, "it")), None);
        assert!(matches!(
            plan(&some, resolution(true, false, "billing")),
            Some(Plan::Ask { .. })
        ));
        assert!(matches!(
            plan(&cfg(0.0, &[]), resolution(true, false, "it")),
            Some(Plan::Skip(r)) if r.contains("sample")
        ));
    }
}
