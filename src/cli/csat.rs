//! `csat [--json]`: satisfaction survey figures (sent, answered, average score), overall, by
//! queue and by agent (the assignee at resolution).

use std::collections::BTreeMap;

use super::*;

/// Sent, answered and the scores of one group.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tally {
    pub sent: u64,
    pub answered: u64,
    sum: u64,
    /// Scores of 2 or less.
    pub low: u64,
}

impl Tally {
    fn add(&mut self, score: Option<i32>) {
        self.sent += 1;
        if let Some(s) = score {
            self.answered += 1;
            self.sum += s.clamp(0, 5) as u64;
            if s <= i32::from(crate::ticket::csat::LOW) {
                self.low += 1;
            }
        }
    }

    /// The average score, when any was given.
    pub fn average(&self) -> Option<f64> {
        (self.answered > 0)
            .then(|| (self.sum as f64 / self.answered as f64 * 100.0).round() / 100.0)
    }

    fn json(&self) -> Value {
        json!({
            "sent": self.sent,
            "answered": self.answered,
            "response_rate": if self.sent > 0 {
                json!((self.answered as f64 / self.sent as f64 * 1000.0).round() / 1000.0)
            } else {
                Value::Null
            },
            "average": self.average(),
            "low": self.low,
        })
    }
}

/// The figures of a set of surveys: (queue, assignee, score) each.
#[derive(Debug, Default)]
pub struct Figures {
    pub all: Tally,
    pub by_queue: BTreeMap<String, Tally>,
    /// By assignee at resolution; `None`: unassigned.
    pub by_agent: BTreeMap<Option<String>, Tally>,
}

pub fn figures(rows: &[(String, Option<String>, Option<i32>)]) -> Figures {
    let mut f = Figures::default();
    for (queue, agent, score) in rows {
        f.all.add(*score);
        f.by_queue.entry(queue.clone()).or_default().add(*score);
        f.by_agent.entry(agent.clone()).or_default().add(*score);
    }
    f
}

pub(super) fn csat_cmd(cfg: &Config, days: Option<u32>, as_json: bool) -> Outcome {
    let since = days.map_or(0, |d| crate::time::now_ms() - i64::from(d) * 86_400_000);
    let mut c = open_store(cfg)?;
    let rows = models::asked_surveys(&mut c, since).map_err(Failure::runtime)?;
    let f = figures(&rows);
    if as_json {
        let mut all = f.all.json();
        all["by_queue"] = f
            .by_queue
            .iter()
            .map(|(q, t)| {
                let mut v = t.json();
                v["queue"] = json!(q);
                v
            })
            .collect();
        all["by_agent"] = f
            .by_agent
            .iter()
            .map(|(a, t)| {
                let mut v = t.json();
                v["agent"] = json!(a);
                v
            })
            .collect();
        print_json(&all);
        return Ok(());
    }
    if cfg.csat.is_none() {
        eprintln!("note: [csat] is not configured: no new surveys are sent");
    }
    let line = |name: &str, t: &Tally| {
        say!(
            "{:<32} {:>6} {:>8} {:>8} {:>5}",
            name,
            t.sent,
            t.answered,
            t.average().map_or("-".into(), |a| format!("{a:.2}")),
            t.low
        );
    };
    say!(
        "{:<32} {:>6} {:>8} {:>8} {:>5}",
        "",
        "sent",
        "answered",
        "average",
        "low"
    );
    line("all", &f.all);
    for (q, t) in &f.by_queue {
        line(&format!("queue {q}"), t);
    }
    for (a, t) in &f.by_agent {
        line(
            &format!("agent {}", a.as_deref().unwrap_or("(unassigned)")),
            t,
        );
    }
    Ok(())
}

/// `csat send`: the surveys due at `--now`, queued and delivered.
pub(super) fn csat_send(cfg: &Config, now: Option<String>) -> Outcome {
    let now = time_arg("--now", now)?.unwrap_or_else(now_ms);
    let (templates, keys) = pipeline_parts(cfg)?;
    let mut c = open_store(cfg)?;
    let app = App {
        cfg,
        templates: &templates,
        keys: &keys,
    };
    let hold = now_ms() + HOLD_MS;
    let (r, ids) =
        crate::schedule::csat::sweep(&app, &mut c, now, hold).map_err(Failure::runtime)?;
    let delivered = if ids.is_empty() {
        0
    } else {
        deliver_held(&app, &mut c, &ids, hold)?.sent
    };
    say!(
        "{}",
        json!({"sent": r.sent, "cancelled": r.cancelled, "skipped": r.skipped, "delivered": delivered})
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_count_sent_answered_average_and_low_by_queue_and_agent() {
        let a = || Some("alice@example.test".to_string());
        let rows = vec![
            ("it".to_string(), a(), Some(5)),
            ("it".to_string(), a(), Some(2)),
            ("it".to_string(), None, None),
            ("billing".to_string(), a(), Some(4)),
        ];
        let f = figures(&rows);
        assert_eq!((f.all.sent, f.all.answered, f.all.low), (4, 3, 1));
        assert_eq!(f.all.average(), Some(3.67));
        assert_eq!(f.by_queue["it"].average(), Some(3.5));
        assert_eq!(f.by_queue["billing"].sent, 1);
        assert_eq!(f.by_agent[&a()].answered, 3);
        assert_eq!(f.by_agent[&None].average(), None);
        assert_eq!(f.all.json()["response_rate"], 0.75);
    }
}
