//! The sections about running the service: `[log]`, `[metrics]` and `[cluster]`.

use std::net::SocketAddr;
use std::time::Duration;

use super::{Reader, Section};

/// `[log]`: what the daemon logs and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// A tracing filter such as `info` or `postdesk=debug,warn`; `RUST_LOG` overrides it.
    pub level: Option<String>,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One readable line per event (default).
    #[default]
    Human,
    /// One JSON object per line (for journald/Loki/Elasticsearch pipelines).
    Json,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: None,
            format: LogFormat::Human,
        }
    }
}

/// `[cluster]`: how several `serve` processes on one database share the mailboxes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// How long a mailbox stays with an instance that stopped renewing its lease (it renews
    /// every third of this); also how long an instance counts as alive after its heartbeat.
    pub lease: Duration,
    /// This instance's name in the lease table (default: host name and process id).
    pub instance: Option<String>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            lease: Duration::from_secs(30),
            instance: None,
        }
    }
}

impl Reader {
    pub(super) fn log(&mut self, top: &mut Section<'_>) -> LogConfig {
        let mut log = LogConfig::default();
        let Some(t) = self.table(top, "log", false) else {
            return log;
        };
        let mut s = Section::new(t, "log");
        if let Some(level) = self.string(&mut s, "level", "a level such as \"info\" or \"debug\"") {
            match tracing_subscriber::EnvFilter::try_new(&level) {
                Ok(_) => log.level = Some(level),
                Err(e) => self.problem(
                    s.key("level"),
                    format!("expected a level such as \"info\", \"debug\" or \"postdesk=debug,warn\": {e}"),
                ),
            }
        }
        match self
            .string(&mut s, "format", "\"human\" or \"json\"")
            .as_deref()
        {
            None | Some("human") => {}
            Some("json") => log.format = LogFormat::Json,
            Some(other) => self.problem(
                s.key("format"),
                format!("expected \"human\" or \"json\", found \"{other}\""),
            ),
        }
        self.unknown_keys(&s);
        log
    }

    pub(super) fn metrics(&mut self, top: &mut Section<'_>) -> Option<SocketAddr> {
        let t = self.table(top, "metrics", false)?;
        let mut s = Section::new(t, "metrics");
        let listen =
            self.required_string(&mut s, "listen", "an address such as \"127.0.0.1:9187\"");
        self.unknown_keys(&s);
        match listen?.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.problem(
                    s.key("listen"),
                    "expected an IP address and port such as \"127.0.0.1:9187\"",
                );
                None
            }
        }
    }

    pub(super) fn cluster(&mut self, top: &mut Section<'_>) -> ClusterConfig {
        let mut c = ClusterConfig::default();
        let Some(t) = self.table(top, "cluster", false) else {
            return c;
        };
        let mut s = Section::new(t, "cluster");
        c.lease = self.duration(&mut s, "lease", c.lease);
        if c.lease < Duration::from_secs(3) {
            self.problem(s.key("lease"), "expected a duration of at least 3s");
        }
        c.instance = self.string(&mut s, "instance", "a name for this instance");
        if let Some(name) = &c.instance {
            if name.is_empty() || name.len() > 200 || name.contains(char::is_control) {
                self.problem(
                    s.key("instance"),
                    "expected a name of 1 to 200 characters without control characters",
                );
            }
        }
        self.unknown_keys(&s);
        c
    }
}
