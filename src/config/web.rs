//! `[web]` (the one-click pages: where they listen and the address mail links point to),
//! `[csat]` (satisfaction surveys after a resolution) and the suggestions of `[knowledge]`.

use super::*;
use std::net::SocketAddr;

/// `[web]`: the one-click pages of approvals and surveys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfig {
    pub listen: SocketAddr,
    /// The address links in mail point to (`https://desk.example.test`), without a trailing
    /// slash.
    pub public_url: String,
}

/// `[csat]`: a survey after each resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct CsatConfig {
    /// How long after the resolution the survey goes out (cancelled if the ticket reopens
    /// first).
    pub delay: Duration,
    /// The share of resolutions asked, 0.0 to 1.0.
    pub sample: f64,
    /// The queues whose tickets are asked; empty: all.
    pub queues: Vec<String>,
}

impl CsatConfig {
    /// Whether a ticket of `queue` is asked at all.
    pub fn covers(&self, queue: &str) -> bool {
        self.queues.is_empty() || self.queues.iter().any(|q| q == queue)
    }
}

/// `[knowledge] suggest` and `suggest_threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SuggestConfig {
    /// Articles offered in the acknowledgement, at most (0: none).
    pub count: u32,
    /// How near (0 to 1) an article must be to the new mail to be offered.
    pub threshold: f64,
}

impl Default for SuggestConfig {
    fn default() -> Self {
        SuggestConfig {
            count: 0,
            threshold: crate::knowledge::suggest::DEFAULT_THRESHOLD,
        }
    }
}

impl Reader {
    /// The suggestion keys of `[knowledge]`.
    pub(super) fn suggest(&mut self, s: &mut Section<'_>) -> SuggestConfig {
        let mut c = SuggestConfig::default();
        match self.get(s, "suggest") {
            None => {}
            Some(Value::Integer(i)) if (0..=10).contains(i) => c.count = *i as u32,
            Some(v) => self.problem(
                s.key("suggest"),
                format!(
                    "expected the number of articles offered, 0 to 10, found {}",
                    type_name(v)
                ),
            ),
        }
        match self.get(s, "suggest_threshold") {
            None => {}
            Some(Value::Float(f)) if (0.0..=1.0).contains(f) => c.threshold = *f,
            Some(v) => self.problem(
                s.key("suggest_threshold"),
                format!(
                    "expected how near an article must be, from 0.0 to 1.0, found {}",
                    match v {
                        Value::Float(f) => f.to_string(),
                        v => type_name(v),
                    }
                ),
            ),
        }
        c
    }

    pub(super) fn web(&mut self, top: &mut Section<'_>) -> Option<WebConfig> {
        let t = self.table(top, "web", false)?;
        let mut s = Section::new(t, "web");
        let listen =
            self.required_string(&mut s, "listen", "an address such as \"127.0.0.1:9180\"");
        let public_url = self.required_string(
            &mut s,
            "public_url",
            "the address mail links point to, such as \"https://desk.example.test\"",
        );
        self.unknown_keys(&s);
        let listen = match listen?.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.problem(
                    s.key("listen"),
                    "expected an IP address and port such as \"127.0.0.1:9180\"",
                );
                None
            }
        };
        let public_url = public_url?;
        let url = match url::Url::parse(&public_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                Some(public_url.trim_end_matches('/').to_string())
            }
            _ => {
                self.problem(
                    s.key("public_url"),
                    format!("expected an http:// or https:// address such as \"https://desk.example.test\", found \"{public_url}\""),
                );
                None
            }
        };
        Some(WebConfig {
            listen: listen?,
            public_url: url?,
        })
    }

    pub(super) fn csat(
        &mut self,
        top: &mut Section<'_>,
        queues: &[QueueConfig],
    ) -> Option<CsatConfig> {
        let t = self.table(top, "csat", false)?;
        let mut s = Section::new(t, "csat");
        let delay = self.duration(&mut s, "delay", Duration::from_secs(24 * 3600));
        let sample = match self.get(&mut s, "sample") {
            None => 1.0,
            Some(Value::Float(f)) if (0.0..=1.0).contains(f) => *f,
            Some(Value::Integer(i)) if (0..=1).contains(i) => *i as f64,
            Some(v) => {
                self.problem(
                    s.key("sample"),
                    format!(
                        "expected the share of resolutions asked, from 0.0 to 1.0, found {}",
                        match v {
                            Value::Float(f) => f.to_string(),
                            Value::Integer(i) => i.to_string(),
                            v => type_name(v),
                        }
                    ),
                );
                1.0
            }
        };
        let wanted = self.string_list(&mut s, "queues");
        for (i, q) in wanted.iter().enumerate() {
            if !queues.iter().any(|c| &c.name == q) {
                self.problem(
                    format!("{}[{i}]", s.key("queues")),
                    format!("expected the name of a [[queues]] entry, found \"{q}\""),
                );
            }
        }
        self.unknown_keys(&s);
        Some(CsatConfig {
            delay,
            sample,
            queues: wanted,
        })
    }
}
