//! Configuration: TOML (contract §5) read in two phases. The raw `toml::Table` is walked key by
//! key into a validated [`Config`]; every problem is collected, so one run reports them all, each
//! naming the file, the key and what was expected.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::{Table, Value};

mod policy;
mod runtime;
pub use policy::{DigestConfig, EscalationStep, Notify, Scheduler, SlaPolicy, Targets};
pub use runtime::{ClusterConfig, LogConfig, LogFormat};

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted key path such as `mailboxes[0].path`; empty for whole-file problems.
    pub key: String,
    pub message: String,
}

/// Everything wrong with a config file, reported at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if p.key.is_empty() {
                write!(f, "{}: {}", self.file.display(), p.message)?;
            } else {
                write!(f, "{}: {}: {}", self.file.display(), p.key, p.message)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A secret read from the config, a file or the environment. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from (for messages).
    pub file: PathBuf,
    pub database: DatabaseConfig,
    pub identity: Identity,
    pub mailboxes: Vec<MailboxConfig>,
    pub transport: TransportConfig,
    /// Retry schedule of the outbox.
    pub retry: RetryPolicy,
    pub security: SecurityConfig,
    pub threading: ThreadingConfig,
    pub agents: Vec<AgentConfig>,
    pub queues: Vec<QueueConfig>,
    pub limits: Limits,
    /// `[dkim]`: sign everything we send (domain, selector, key_file).
    pub dkim: Option<std::sync::Arc<crate::mail::dkim::Signer>>,
    /// `[[sla]]` policies (calendars resolved).
    pub sla: Vec<SlaPolicy>,
    /// `[[rules]]`, compiled, in order.
    pub rules: Vec<crate::ticket::rules::Rule>,
    pub scheduler: Scheduler,
    /// `[templates] dir`: overrides of the built-in mail templates, and templates of its own.
    pub templates_dir: Option<PathBuf>,
    /// `[[digests]]`.
    pub digests: Vec<DigestConfig>,
    /// `[log]`.
    pub log: LogConfig,
    /// `[metrics] listen`: where /metrics and /healthz are served (off when absent).
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// `[cluster]`: mailbox leases between instances.
    pub cluster: ClusterConfig,
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://…`.
    pub url: String,
}

/// Who postdesk is when it writes mail.
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: String,
    /// From: of everything postdesk sends (lower case).
    pub address: String,
    /// Outgoing subjects carry `[<subject_tag> #<id>]`.
    pub subject_tag: String,
    /// Domain of the Message-IDs postdesk makes.
    pub message_id_domain: String,
    /// Mail from an agent to this address is an internal note (lower case).
    pub notes_address: Option<String>,
    /// Our mail carries Reply-To `local+TICKET.MAC@domain` (key `plus_addressing`).
    pub plus_addressing: bool,
    /// The separator of plus addresses (`plus_delimiter`, default "+").
    pub plus_delimiter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Implicit TLS from the first byte.
    Tls,
    StartTls,
    /// Plain text; only allowed to loopback addresses.
    None,
}

#[derive(Debug, Clone)]
pub enum MailboxSource {
    Maildir { path: PathBuf },
    Imap(ImapConfig),
}

#[derive(Debug, Clone)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub username: String,
    pub password: Secret,
    pub folder: String,
    /// Use IDLE when the server offers it (else poll at the mailbox's `poll_interval`).
    pub idle: bool,
    /// What to do with a mail once it is stored: `seen`, `move:FOLDER` or `delete`.
    pub after: String,
    /// PEM file of extra CA certificates to trust (a private CA), besides the public roots.
    pub ca_file: Option<PathBuf>,
    /// How to log in: IMAP LOGIN, or SASL AUTHENTICATE PLAIN (for servers that disable LOGIN).
    pub auth: ImapAuth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapAuth {
    Login,
    Plain,
}

#[derive(Debug, Clone)]
pub struct MailboxConfig {
    pub name: String,
    pub source: MailboxSource,
    /// Queue of the tickets this mailbox opens.
    pub queue: String,
    /// Mailing-list and bulk mail may open tickets.
    pub accept_list_mail: bool,
    /// How often the source is checked for new mail.
    pub poll_interval: Duration,
}

#[derive(Debug, Clone)]
pub enum TransportConfig {
    /// One `.eml` file per outgoing mail in `dir`.
    File {
        dir: PathBuf,
    },
    Smtp(SmtpConfig),
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// How many connections deliver in parallel.
    pub parallel: usize,
}

/// When failed deliveries are tried again (transport keys `retry_first`, `retry_max`,
/// `give_up_after`): after a 4xx reply or a connection error the delay starts at `first` and
/// doubles up to `max`; a mail still undelivered `give_up_after` its creation fails for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first: Duration,
    pub max: Duration,
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first: Duration::from_secs(60),
            max: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(2 * 86400),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SecurityConfig {
    pub agent_auth: AgentAuth,
    pub secret_file: PathBuf,
    /// `authserv_id`: the hosts whose Authentication-Results headers are trusted (dkim mode).
    pub authserv_ids: Vec<String>,
    /// `remote_images = "block"` (default) or `"keep"`: remote images in stored HTML.
    pub block_remote_images: bool,
}

/// How a mail from an agent address is verified before anything in it is obeyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentAuth {
    /// A DKIM pass aligned with the From domain, per a trusted Authentication-Results header.
    Dkim,
    /// The mail arrived at the agent's own signed reply address.
    Token,
    /// From is believed (a relay in front checks senders).
    TrustedRelay,
}

impl AgentAuth {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentAuth::Dkim => "dkim",
            AgentAuth::Token => "token",
            AgentAuth::TrustedRelay => "trusted_relay",
        }
    }
}

/// How mail is threaded into tickets (`[threading]`).
#[derive(Debug, Clone)]
pub struct ThreadingConfig {
    /// A reply to a ticket closed longer ago than this opens a new, linked ticket.
    pub reopen_window: Duration,
    /// Subject tags recognised besides the identity's (`subject_tags`, for migrations).
    pub extra_subject_tags: Vec<String>,
    /// `tag_from_stranger`: whether a subject tag from a non-participant joins the ticket.
    pub stranger_tag: crate::ticket::thread::StrangerTag,
}

impl Default for ThreadingConfig {
    fn default() -> Self {
        ThreadingConfig {
            reopen_window: Duration::from_secs(30 * 86400),
            extra_subject_tags: Vec::new(),
            stranger_tag: crate::ticket::thread::StrangerTag::NewTicket,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub address: String,
    pub name: String,
    pub role: String,
    pub queues: Vec<String>,
    /// IANA timezone the agent reads times in (`timezone`, default UTC).
    pub timezone: String,
}

#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub name: String,
    pub sla: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Mails larger than this are recorded (outcome too_large) with their headers only.
    pub max_message_size: usize,
    /// Attachments larger than this are recorded without their content.
    pub max_attachment_size: usize,
    /// Automatic mails (acknowledgements, command errors) to one address per hour, at most.
    pub auto_replies_per_hour: u32,
    /// Mail that has passed this many helpdesks (X-Postdesk-Hops) is never answered.
    pub max_hops: u32,
    /// More header fields, or a longer one, and only the headers are kept (too_large).
    pub max_headers: usize,
    pub max_header_length: usize,
    /// More MIME parts, or deeper nesting, and only the headers are kept (too_large).
    pub max_mime_parts: usize,
    pub max_mime_depth: usize,
    /// Attachments stored separately per mail (the raw mail keeps the rest).
    pub max_attachments: usize,
    /// HTML given to the sanitiser, and decoded text stored, are cut to these sizes.
    pub max_html_size: usize,
    pub max_text_size: usize,
}

impl Limits {
    /// The limits the parser applies.
    pub fn parse_limits(&self, block_remote_images: bool) -> crate::mail::parse::ParseLimits {
        crate::mail::parse::ParseLimits {
            max_attachment_size: self.max_attachment_size,
            block_remote_images,
            max_mime_parts: self.max_mime_parts,
            max_mime_depth: self.max_mime_depth,
            max_attachments: self.max_attachments,
            max_html_size: self.max_html_size,
            max_text_size: self.max_text_size,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 50 * 1024 * 1024,
            max_attachment_size: 25 * 1024 * 1024,
            auto_replies_per_hour: 10,
            max_hops: 5,
            max_headers: 2000,
            max_header_length: 256 * 1024,
            max_mime_parts: 500,
            max_mime_depth: 30,
            max_attachments: 200,
            max_html_size: 5 * 1024 * 1024,
            max_text_size: 2 * 1024 * 1024,
        }
    }
}

impl Config {
    /// The mailbox named `name`.
    pub fn mailbox(&self, name: &str) -> Option<&MailboxConfig> {
        self.mailboxes.iter().find(|m| m.name == name)
    }

    /// Addresses postdesk sends from or receives at: mail from them coming back in is a loop.
    pub fn own_addresses(&self) -> Vec<String> {
        let mut v = vec![self.identity.address.clone()];
        v.extend(self.identity.notes_address.clone());
        v
    }

    /// The agent with this address.
    pub fn agent(&self, address: &str) -> Option<&AgentConfig> {
        self.agents.iter().find(|a| a.address == address)
    }

    /// The agent `name` means: an address, a display name, or an address's local part.
    pub fn find_agent(&self, name: &str) -> Option<&AgentConfig> {
        let n = name.trim().to_lowercase();
        self.agents.iter().find(|a| {
            a.address == n
                || a.name.to_lowercase() == n
                || a.address.split('@').next() == Some(n.as_str())
        })
    }

    /// The agents to tell about a ticket: its assignee, else the agents of its queue.
    pub fn agents_for(&self, assignee: Option<&str>, queue: &str) -> Vec<&AgentConfig> {
        if let Some(a) = assignee.and_then(|a| self.agent(a)) {
            return vec![a];
        }
        self.queue_agents(queue).collect()
    }

    /// The agents (not managers) who work `queue`: those listing it, and those listing none.
    pub fn queue_agents<'a, 'q>(
        &'a self,
        queue: &'q str,
    ) -> impl Iterator<Item = &'a AgentConfig> + use<'a, 'q> {
        self.agents.iter().filter(move |a| {
            a.role == "agent" && (a.queues.is_empty() || a.queues.iter().any(|q| q == queue))
        })
    }

    /// Every subject tag recognised: the identity's first.
    pub fn subject_tags(&self) -> Vec<&str> {
        std::iter::once(self.identity.subject_tag.as_str())
            .chain(self.threading.extra_subject_tags.iter().map(String::as_str))
            .collect()
    }

    /// Reads and validates the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            problems: vec![ConfigProblem {
                key: String::new(),
                message: format!("cannot read the config file: {e}"),
            }],
        })?;
        Config::parse(&text, path)
    }

    /// Validates config text; `path` is used in messages and to resolve nothing else.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let fail = |key: String, message: String| ConfigError {
            file: path.to_path_buf(),
            problems: vec![ConfigProblem { key, message }],
        };
        let table: Table = match text.parse::<Table>() {
            Ok(t) => t,
            Err(e) => {
                let at = e
                    .span()
                    .map(|s| {
                        let before = &text[..s.start.min(text.len())];
                        let line = before.matches('\n').count() + 1;
                        let col = before.len() - before.rfind('\n').map(|p| p + 1).unwrap_or(0) + 1;
                        format!("line {line}, column {col}: ")
                    })
                    .unwrap_or_default();
                return Err(fail(
                    String::new(),
                    format!("{at}invalid TOML: {}", e.message().trim()),
                ));
            }
        };
        let mut r = Reader {
            problems: Vec::new(),
        };
        let cfg = r.config(&table, path);
        match cfg {
            Some(cfg) if r.problems.is_empty() => Ok(cfg),
            _ => Err(ConfigError {
                file: path.to_path_buf(),
                problems: r.problems,
            }),
        }
    }
}

/// Reads a secret file (a password or a key), refusing one over 64 KiB: a path naming a
/// device or a huge file by mistake is an error, not a hang.
fn read_secret(path: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    const MAX: u64 = 64 * 1024;
    let mut out = Vec::new();
    std::fs::File::open(path)?
        .take(MAX + 1)
        .read_to_end(&mut out)?;
    if out.len() as u64 > MAX {
        return Err(std::io::Error::other("larger than 64 KiB"));
    }
    Ok(out)
}

/// A secret file's path with a leading `${CREDENTIALS_DIRECTORY}` replaced by that variable:
/// the directory where systemd puts what the unit's `LoadCredential=` lines load.
pub fn credential_path(path: &str) -> String {
    for var in ["${CREDENTIALS_DIRECTORY}", "$CREDENTIALS_DIRECTORY"] {
        if let Some(rest) = path.strip_prefix(var) {
            if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
                return format!("{}{rest}", dir.to_string_lossy());
            }
        }
    }
    path.to_string()
}

/// The longest duration a config or command may name (100 years): any sum of two of them, or
/// one added to a time in milliseconds, still fits an `i64` ([`crate::time::millis`]).
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Parses durations such as `30s`, `500ms`, `4h`, `2d`, `1h30m`, up to [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("an empty duration".into());
    }
    let too_long = || format!("'{s}' is longer than 100 years");
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("'{s}' is not a duration"));
        }
        let n: u64 = rest[..digits].parse().map_err(|_| too_long())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let ms_per_unit: u64 = match unit.trim() {
            "ms" => 1,
            "s" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => {
                return Err(format!(
                    "'{s}' has an unknown unit '{unit}' (use ms, s, m, h or d)"
                ))
            }
        };
        let d = n
            .checked_mul(ms_per_unit)
            .map(Duration::from_millis)
            .ok_or_else(too_long)?;
        total = total.checked_add(d).ok_or_else(too_long)?;
        if total > MAX_DURATION {
            return Err(too_long());
        }
    }
    Ok(total)
}

/// Parses sizes: a number of bytes, or with a unit `KB`, `MB`, `GB` (powers of 1024; `KiB` etc.
/// accepted too).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: usize = t[..digits]
        .parse()
        .map_err(|_| format!("'{s}' is not a size"))?;
    let mult = match t[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        u => {
            return Err(format!(
                "'{s}' has an unknown unit '{u}' (use KB, MB or GB)"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too large"))
}

fn type_name(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string \"{s}\""),
        Value::Integer(i) => format!("the integer {i}"),
        Value::Float(f) => format!("the number {f}"),
        Value::Boolean(b) => format!("the boolean {b}"),
        Value::Datetime(d) => format!("the date {d}"),
        Value::Array(_) => "an array".into(),
        Value::Table(_) => "a table".into(),
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// Walks a raw table, collecting problems.
struct Reader {
    problems: Vec<ConfigProblem>,
}

/// The keys of one table being read, to report unknown ones.
struct Section<'a> {
    table: &'a Table,
    path: String,
    known: Vec<&'static str>,
}

impl<'a> Section<'a> {
    fn new(table: &'a Table, path: impl Into<String>) -> Self {
        Section {
            table,
            path: path.into(),
            known: Vec::new(),
        }
    }

    fn key(&self, k: &str) -> String {
        if self.path.is_empty() {
            k.to_string()
        } else {
            format!("{}.{k}", self.path)
        }
    }
}

impl Reader {
    fn problem(&mut self, key: String, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            key,
            message: message.into(),
        });
    }

    fn get<'a>(&mut self, s: &mut Section<'a>, k: &'static str) -> Option<&'a Value> {
        s.known.push(k);
        s.table.get(k)
    }

    fn string(&mut self, s: &mut Section<'_>, k: &'static str, expected: &str) -> Option<String> {
        match self.get(s, k) {
            None => None,
            Some(Value::String(v)) => Some(v.clone()),
            Some(v) => {
                self.problem(
                    s.key(k),
                    format!("expected {expected}, found {}", type_name(v)),
                );
                None
            }
        }
    }

    fn required_string(
        &mut self,
        s: &mut Section<'_>,
        k: &'static str,
        expected: &str,
    ) -> Option<String> {
        let v = self.string(s, k, expected);
        match v {
            Some(v) if v.trim().is_empty() => {
                self.problem(
                    s.key(k),
                    format!("expected {expected}, found an empty string"),
                );
                None
            }
            None if !s.table.contains_key(k) => {
                self.problem(s.key(k), format!("missing; expected {expected}"));
                None
            }
            v => v,
        }
    }

    fn bool(&mut self, s: &mut Section<'_>, k: &'static str, default: bool) -> bool {
        match self.get(s, k) {
            None => default,
            Some(Value::Boolean(b)) => *b,
            Some(v) => {
                self.problem(
                    s.key(k),
                    format!("expected true or false, found {}", type_name(v)),
                );
                default
            }
        }
    }

    fn port(&mut self, s: &mut Section<'_>, k: &'static str, default: u16) -> u16 {
        match self.get(s, k) {
            None => default,
            Some(Value::Integer(i)) if (1..=65535).contains(i) => *i as u16,
            Some(v) => {
                self.problem(
                    s.key(k),
                    format!(
                        "expected a port number from 1 to 65535, found {}",
                        type_name(v)
                    ),
                );
                default
            }
        }
    }

    fn duration(&mut self, s: &mut Section<'_>, k: &'static str, default: Duration) -> Duration {
        match self.string(s, k, "a duration such as \"30s\", \"4h\" or \"2d\"") {
            None => default,
            Some(text) => match parse_duration(&text) {
                Ok(d) => d,
                Err(e) => {
                    self.problem(
                        s.key(k),
                        format!("expected a duration such as \"30s\", \"4h\" or \"2d\": {e}"),
                    );
                    default
                }
            },
        }
    }

    fn size(&mut self, s: &mut Section<'_>, k: &'static str, default: usize) -> usize {
        match self.get(s, k) {
            None => default,
            Some(Value::Integer(i)) if *i > 0 => *i as usize,
            Some(Value::String(text)) => match parse_size(text) {
                Ok(n) if n > 0 => n,
                Ok(_) => {
                    self.problem(s.key(k), "expected a size above zero");
                    default
                }
                Err(e) => {
                    self.problem(s.key(k), format!("expected a size such as \"25MB\": {e}"));
                    default
                }
            },
            Some(v) => {
                self.problem(
                    s.key(k),
                    format!(
                        "expected a size such as \"25MB\" or a number of bytes, found {}",
                        type_name(v)
                    ),
                );
                default
            }
        }
    }

    fn count(&mut self, s: &mut Section<'_>, k: &'static str, default: u32) -> u32 {
        match self.get(s, k) {
            None => default,
            Some(Value::Integer(i)) if (1..=i64::from(u32::MAX)).contains(i) => *i as u32,
            Some(v) => {
                self.problem(
                    s.key(k),
                    format!("expected a whole number above zero, found {}", type_name(v)),
                );
                default
            }
        }
    }

    fn string_list(&mut self, s: &mut Section<'_>, k: &'static str) -> Vec<String> {
        match self.get(s, k) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(v) => out.push(v.clone()),
                        v => self.problem(
                            format!("{}[{i}]", s.key(k)),
                            format!("expected a string, found {}", type_name(v)),
                        ),
                    }
                }
                out
            }
            Some(v) => {
                self.problem(
                    s.key(k),
                    format!("expected an array of strings, found {}", type_name(v)),
                );
                Vec::new()
            }
        }
    }

    fn tls(&mut self, s: &mut Section<'_>, host: &str) -> Tls {
        let tls = match self
            .string(s, "tls", "\"tls\", \"starttls\" or \"none\"")
            .as_deref()
        {
            None | Some("tls") => Tls::Tls,
            Some("starttls") => Tls::StartTls,
            Some("none") => Tls::None,
            Some(other) => {
                self.problem(
                    s.key("tls"),
                    format!("expected \"tls\", \"starttls\" or \"none\", found \"{other}\""),
                );
                Tls::Tls
            }
        };
        if tls == Tls::None && !host.is_empty() && !is_loopback(host) {
            self.problem(
                s.key("tls"),
                format!("\"none\" sends passwords and mail in clear text; it is only allowed to loopback addresses, not to '{host}' (use \"tls\" or \"starttls\")"),
            );
        }
        tls
    }

    /// `password`, `password_file` or `password_env`: at most one of them.
    fn secret(&mut self, s: &mut Section<'_>) -> Option<Secret> {
        let inline = self.string(s, "password", "a string");
        let file = self.string(s, "password_file", "a path to a file holding the password");
        let env = self.string(s, "password_env", "the name of an environment variable");
        let given = [inline.is_some(), file.is_some(), env.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if given > 1 {
            self.problem(
                s.key("password"),
                "give only one of password, password_file and password_env",
            );
            return None;
        }
        if let Some(p) = inline {
            return Some(Secret(p));
        }
        if let Some(f) = file.map(|f| credential_path(&f)) {
            return match read_secret(&f).and_then(|b| {
                String::from_utf8(b).map_err(|_| std::io::Error::other("not UTF-8 text"))
            }) {
                Ok(p) => Some(Secret(p.trim_end_matches(['\r', '\n']).to_string())),
                Err(e) => {
                    self.problem(
                        s.key("password_file"),
                        format!("expected a readable file, but '{f}' cannot be read: {e}"),
                    );
                    None
                }
            };
        }
        if let Some(var) = env {
            return match std::env::var(&var) {
                Ok(p) => Some(Secret(p)),
                Err(_) => {
                    self.problem(
                        s.key("password_env"),
                        format!("expected the environment variable {var} to be set"),
                    );
                    None
                }
            };
        }
        None
    }

    fn table<'a>(
        &mut self,
        parent: &mut Section<'a>,
        k: &'static str,
        required: bool,
    ) -> Option<&'a Table> {
        match self.get(parent, k) {
            Some(Value::Table(t)) => Some(t),
            Some(v) => {
                self.problem(
                    parent.key(k),
                    format!("expected a table [{k}], found {}", type_name(v)),
                );
                None
            }
            None => {
                if required {
                    self.problem(parent.key(k), format!("missing; expected a [{k}] table"));
                }
                None
            }
        }
    }

    fn array_of_tables<'a>(&mut self, parent: &mut Section<'a>, k: &'static str) -> Vec<&'a Table> {
        match self.get(parent, k) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::Table(t) => out.push(t),
                        v => self.problem(
                            format!("{}[{i}]", parent.key(k)),
                            format!("expected a table [[{k}]], found {}", type_name(v)),
                        ),
                    }
                }
                out
            }
            Some(v) => {
                self.problem(
                    parent.key(k),
                    format!(
                        "expected an array of tables [[{k}]], found {}",
                        type_name(v)
                    ),
                );
                Vec::new()
            }
        }
    }

    fn unknown_keys(&mut self, s: &Section<'_>) {
        for k in s.table.keys() {
            if !s.known.contains(&k.as_str()) {
                let mut known = s.known.clone();
                known.sort_unstable();
                known.dedup();
                self.problem(
                    s.key(k),
                    format!("unknown key (expected one of: {})", known.join(", ")),
                );
            }
        }
    }

    fn config(&mut self, root: &Table, file: &Path) -> Option<Config> {
        let mut top = Section::new(root, "");

        let database = match self.table(&mut top, "database", true) {
            Some(t) => {
                let mut s = Section::new(t, "database");
                let url = self.required_string(
                    &mut s,
                    "url",
                    "a string such as \"sqlite://var/postdesk.db\" or \"postgres://user@host/db\"",
                );
                if let Some(u) = &url {
                    if !(u.starts_with("sqlite://")
                        || u.starts_with("postgres://")
                        || u.starts_with("postgresql://"))
                    {
                        self.problem(s.key("url"), format!("expected a URL starting with sqlite:// or postgres://, found \"{u}\""));
                    }
                }
                self.unknown_keys(&s);
                url.map(|url| DatabaseConfig { url })
            }
            None => None,
        };

        let identity = match self.table(&mut top, "identity", true) {
            Some(t) => {
                let mut s = Section::new(t, "identity");
                let name = self
                    .string(&mut s, "name", "a display name")
                    .unwrap_or_else(|| "Support".into());
                let address = self.required_string(
                    &mut s,
                    "address",
                    "an email address such as \"support@example.test\"",
                );
                if let Some(a) = &address {
                    if !a.contains('@') || a.contains(char::is_whitespace) {
                        self.problem(
                            s.key("address"),
                            format!("expected an email address, found \"{a}\""),
                        );
                    }
                }
                let subject_tag = self
                    .string(&mut s, "subject_tag", "a short word such as \"Support\"")
                    .unwrap_or_else(|| "Support".into());
                if subject_tag.is_empty() || subject_tag.contains(['[', ']', '#', '\r', '\n']) {
                    self.problem(
                        s.key("subject_tag"),
                        "expected a short word without [, ], # or line breaks",
                    );
                }
                let domain = self.string(&mut s, "message_id_domain", "a domain name");
                let notes_address = self.string(&mut s, "notes_address", "an email address");
                if let Some(a) = &notes_address {
                    if !a.contains('@') || a.contains(char::is_whitespace) {
                        self.problem(
                            s.key("notes_address"),
                            format!("expected an email address, found \"{a}\""),
                        );
                    }
                }
                let plus_addressing = self.bool(&mut s, "plus_addressing", true);
                let plus_delimiter = self
                    .string(&mut s, "plus_delimiter", "one character such as \"+\"")
                    .unwrap_or_else(|| "+".into());
                if plus_delimiter.chars().count() != 1
                    || plus_delimiter
                        .contains(|c: char| c.is_alphanumeric() || c == '@' || c.is_whitespace())
                {
                    self.problem(
                        s.key("plus_delimiter"),
                        format!("expected one character such as \"+\" or \"-\", found \"{plus_delimiter}\""),
                    );
                }
                self.unknown_keys(&s);
                address.map(|address| {
                    let address = address.to_lowercase();
                    let domain = domain.unwrap_or_else(|| {
                        address
                            .rsplit('@')
                            .next()
                            .unwrap_or("localhost")
                            .to_string()
                    });
                    Identity {
                        name: crate::mail::parse::one_line(&name),
                        address,
                        subject_tag,
                        message_id_domain: domain,
                        notes_address: notes_address.map(|a| a.to_lowercase()),
                        plus_addressing,
                        plus_delimiter,
                    }
                })
            }
            None => None,
        };

        let mut queues = Vec::new();
        for (i, t) in self
            .array_of_tables(&mut top, "queues")
            .into_iter()
            .enumerate()
        {
            let mut s = Section::new(t, format!("queues[{i}]"));
            let name = self.required_string(&mut s, "name", "a queue name");
            let sla = self.string(&mut s, "sla", "the name of an [[sla]] policy");
            self.unknown_keys(&s);
            if let Some(name) = name {
                if queues.iter().any(|q: &QueueConfig| q.name == name) {
                    self.problem(
                        s.key("name"),
                        format!("the queue '{name}' is defined twice"),
                    );
                }
                queues.push(QueueConfig { name, sla });
            }
        }
        let queue_names: HashSet<String> = queues.iter().map(|q| q.name.clone()).collect();
        let default_queue = queues
            .first()
            .map(|q| q.name.clone())
            .unwrap_or_else(|| "general".into());

        let mut mailboxes = Vec::new();
        for (i, t) in self
            .array_of_tables(&mut top, "mailboxes")
            .into_iter()
            .enumerate()
        {
            let mut s = Section::new(t, format!("mailboxes[{i}]"));
            if let Some(m) = self.mailbox(&mut s, &queue_names, &default_queue) {
                if mailboxes.iter().any(|o: &MailboxConfig| o.name == m.name) {
                    self.problem(
                        s.key("name"),
                        format!("the mailbox '{}' is defined twice", m.name),
                    );
                }
                mailboxes.push(m);
            }
            self.unknown_keys(&s);
        }

        let security = match self.table(&mut top, "security", false) {
            Some(t) => {
                let mut s = Section::new(t, "security");
                let agent_auth = self
                    .string(
                        &mut s,
                        "agent_auth",
                        "\"dkim\", \"token\" or \"trusted_relay\"",
                    )
                    .unwrap_or_else(|| "token".into());
                let agent_auth = match agent_auth.as_str() {
                    "dkim" => AgentAuth::Dkim,
                    "token" => AgentAuth::Token,
                    "trusted_relay" => AgentAuth::TrustedRelay,
                    other => {
                        self.problem(s.key("agent_auth"), format!("expected \"dkim\", \"token\" or \"trusted_relay\", found \"{other}\""));
                        AgentAuth::Token
                    }
                };
                let secret_file = self
                    .string(&mut s, "secret_file", "a path")
                    .unwrap_or_else(|| "var/secret".into());
                let authserv_ids = match s.table.get("authserv_id") {
                    Some(Value::String(_)) => self
                        .string(&mut s, "authserv_id", "a host name")
                        .into_iter()
                        .collect(),
                    _ => self.string_list(&mut s, "authserv_id"),
                };
                if agent_auth == AgentAuth::Dkim && authserv_ids.is_empty() {
                    self.problem(
                        s.key("authserv_id"),
                        "agent_auth = \"dkim\" needs the authserv-id of the server that checks DKIM (its Authentication-Results headers are trusted), such as \"mx.example.test\"",
                    );
                }
                let block_remote_images = match self
                    .string(&mut s, "remote_images", "\"block\" or \"keep\"")
                    .as_deref()
                {
                    None | Some("block") => true,
                    Some("keep") => false,
                    Some(other) => {
                        self.problem(
                            s.key("remote_images"),
                            format!("expected \"block\" or \"keep\", found \"{other}\""),
                        );
                        true
                    }
                };
                self.unknown_keys(&s);
                SecurityConfig {
                    agent_auth,
                    secret_file: PathBuf::from(secret_file),
                    authserv_ids: authserv_ids.into_iter().map(|a| a.to_lowercase()).collect(),
                    block_remote_images,
                }
            }
            None => SecurityConfig {
                agent_auth: AgentAuth::Token,
                secret_file: PathBuf::from("var/secret"),
                authserv_ids: Vec::new(),
                block_remote_images: true,
            },
        };

        let threading = match self.table(&mut top, "threading", false) {
            Some(t) => {
                let mut s = Section::new(t, "threading");
                let d = ThreadingConfig::default();
                let reopen_window = self.duration(&mut s, "reopen_window", d.reopen_window);
                let extra_subject_tags = self.string_list(&mut s, "subject_tags");
                for tag in &extra_subject_tags {
                    if tag.is_empty() || tag.contains(['[', ']', '#', '\r', '\n']) {
                        self.problem(
                            s.key("subject_tags"),
                            format!("expected short words without [, ], # or line breaks, found \"{tag}\""),
                        );
                    }
                }
                let stranger_tag = match self
                    .string(&mut s, "tag_from_stranger", "\"new_ticket\" or \"join\"")
                    .as_deref()
                {
                    None | Some("new_ticket") => crate::ticket::thread::StrangerTag::NewTicket,
                    Some("join") => crate::ticket::thread::StrangerTag::Join,
                    Some(other) => {
                        self.problem(
                            s.key("tag_from_stranger"),
                            format!("expected \"new_ticket\" or \"join\", found \"{other}\""),
                        );
                        d.stranger_tag
                    }
                };
                self.unknown_keys(&s);
                ThreadingConfig {
                    reopen_window,
                    extra_subject_tags,
                    stranger_tag,
                }
            }
            None => ThreadingConfig::default(),
        };

        let (transport, retry) = match self.table(&mut top, "transport", false) {
            Some(t) => {
                let mut s = Section::new(t, "transport");
                let t = self.transport(&mut s);
                let d = RetryPolicy::default();
                let retry = RetryPolicy {
                    first: self.duration(&mut s, "retry_first", d.first),
                    max: self.duration(&mut s, "retry_max", d.max),
                    give_up_after: self.duration(&mut s, "give_up_after", d.give_up_after),
                };
                if retry.first.is_zero() || retry.max < retry.first {
                    self.problem(
                        s.key("retry_max"),
                        "expected retry_first above zero and retry_max at least retry_first",
                    );
                }
                self.unknown_keys(&s);
                (t, retry)
            }
            None => (
                Some(TransportConfig::File {
                    dir: PathBuf::from("var/outbox"),
                }),
                RetryPolicy::default(),
            ),
        };

        let mut agents = Vec::new();
        for (i, t) in self
            .array_of_tables(&mut top, "agents")
            .into_iter()
            .enumerate()
        {
            let mut s = Section::new(t, format!("agents[{i}]"));
            let address = self.required_string(&mut s, "address", "an email address");
            let name = self.string(&mut s, "name", "a display name");
            let role = self
                .string(&mut s, "role", "\"agent\" or \"manager\"")
                .unwrap_or_else(|| "agent".into());
            if role != "agent" && role != "manager" {
                self.problem(
                    s.key("role"),
                    format!("expected \"agent\" or \"manager\", found \"{role}\""),
                );
            }
            let timezone = self
                .string(
                    &mut s,
                    "timezone",
                    "an IANA timezone such as \"Europe/Berlin\"",
                )
                .unwrap_or_else(|| "UTC".into());
            if timezone.parse::<chrono_tz::Tz>().is_err() {
                self.problem(
                    s.key("timezone"),
                    format!(
                        "expected an IANA timezone such as \"Europe/Berlin\", found \"{timezone}\""
                    ),
                );
            }
            let agent_queues = self.string_list(&mut s, "queues");
            for q in &agent_queues {
                if !queue_names.contains(q) {
                    self.problem(
                        s.key("queues"),
                        format!("names the queue '{q}', which no [[queues]] entry defines"),
                    );
                }
            }
            self.unknown_keys(&s);
            if let Some(address) = address {
                let address = address.to_lowercase();
                agents.push(AgentConfig {
                    name: name.unwrap_or_else(|| address.clone()),
                    address,
                    role,
                    queues: agent_queues,
                    timezone,
                });
            }
        }

        let limits = match self.table(&mut top, "limits", false) {
            Some(t) => {
                let mut s = Section::new(t, "limits");
                let d = Limits::default();
                let l = Limits {
                    max_message_size: self.size(&mut s, "max_message_size", d.max_message_size),
                    max_attachment_size: self.size(
                        &mut s,
                        "max_attachment_size",
                        d.max_attachment_size,
                    ),
                    auto_replies_per_hour: self.count(
                        &mut s,
                        "auto_replies_per_hour",
                        d.auto_replies_per_hour,
                    ),
                    max_hops: self.count(&mut s, "max_hops", d.max_hops),
                    max_headers: self.count(&mut s, "max_headers", d.max_headers as u32) as usize,
                    max_header_length: self.size(&mut s, "max_header_length", d.max_header_length),
                    max_mime_parts: self.count(&mut s, "max_mime_parts", d.max_mime_parts as u32)
                        as usize,
                    max_mime_depth: self.count(&mut s, "max_mime_depth", d.max_mime_depth as u32)
                        as usize,
                    max_attachments: self.count(&mut s, "max_attachments", d.max_attachments as u32)
                        as usize,
                    max_html_size: self.size(&mut s, "max_html_size", d.max_html_size),
                    max_text_size: self.size(&mut s, "max_text_size", d.max_text_size),
                };
                self.unknown_keys(&s);
                l
            }
            None => Limits::default(),
        };

        let dkim = match self.table(&mut top, "dkim", false) {
            Some(t) => {
                let mut s = Section::new(t, "dkim");
                let domain = self.required_string(&mut s, "domain", "the signing domain (d=)");
                let selector = self.required_string(&mut s, "selector", "the DNS selector (s=)");
                let key_file = self
                    .required_string(
                        &mut s,
                        "key_file",
                        "a path to a PEM private key (RSA or Ed25519)",
                    )
                    .map(|f| credential_path(&f));
                self.unknown_keys(&s);
                match (domain, selector, key_file) {
                    (Some(d), Some(sel), Some(f)) => match read_secret(&f) {
                        Ok(pem) => match crate::mail::dkim::Signer::from_pem(&pem, &d, &sel) {
                            Ok(signer) => Some(std::sync::Arc::new(signer)),
                            Err(e) => {
                                self.problem(s.key("key_file"), format!("'{f}': {e}"));
                                None
                            }
                        },
                        Err(e) => {
                            self.problem(
                                s.key("key_file"),
                                format!("expected a readable file, but '{f}' cannot be read: {e}"),
                            );
                            None
                        }
                    },
                    _ => None,
                }
            }
            None => None,
        };

        let templates_dir = match self.table(&mut top, "templates", false) {
            Some(t) => {
                let mut s = Section::new(t, "templates");
                let dir = self.required_string(
                    &mut s,
                    "dir",
                    "a directory of NAME.txt.hbs / NAME.html.hbs files",
                );
                self.unknown_keys(&s);
                dir.and_then(|d| {
                    let p = PathBuf::from(&d);
                    if p.is_dir() {
                        Some(p)
                    } else {
                        self.problem(
                            s.key("dir"),
                            format!("expected a directory, but '{d}' is not one"),
                        );
                        None
                    }
                })
            }
            None => None,
        };
        let calendars = self.calendars(&mut top);
        let sla = self.sla(&mut top, &calendars, &agents);
        self.check_queue_policies(&queues, &sla);
        let rules = self.rules(&mut top, &queues, &agents, &sla, templates_dir.as_deref());
        let scheduler = self.scheduler(&mut top);

        let digests = self.digests(&mut top, &queues);
        let log = self.log(&mut top);
        let metrics_listen = self.metrics(&mut top);
        let cluster = self.cluster(&mut top);
        self.unknown_keys(&top);

        Some(Config {
            file: file.to_path_buf(),
            database: database?,
            identity: identity?,
            mailboxes,
            transport: transport?,
            retry,
            security,
            threading,
            agents,
            queues,
            limits,
            dkim,
            sla,
            rules,
            scheduler,
            templates_dir,
            digests,
            log,
            metrics_listen,
            cluster,
        })
    }

    fn mailbox(
        &mut self,
        s: &mut Section<'_>,
        queues: &HashSet<String>,
        default_queue: &str,
    ) -> Option<MailboxConfig> {
        let name = self.required_string(s, "name", "a mailbox name");
        let kind = self.required_string(s, "kind", "\"maildir\" or \"imap\"");
        let queue = self
            .string(s, "queue", "a queue name")
            .unwrap_or_else(|| default_queue.to_string());
        if !queues.is_empty() && !queues.contains(&queue) {
            self.problem(
                s.key("queue"),
                format!("expected the name of a [[queues]] entry, found \"{queue}\""),
            );
        }
        let accept_list_mail = self.bool(s, "accept_list_mail", false);
        let poll_interval = self.duration(
            s,
            "poll_interval",
            match kind.as_deref() {
                Some("imap") => Duration::from_secs(30),
                _ => Duration::from_secs(1),
            },
        );
        let source = match kind.as_deref() {
            Some("maildir") => {
                let path = self.required_string(s, "path", "the path of a Maildir folder");
                path.map(|p| MailboxSource::Maildir {
                    path: PathBuf::from(p),
                })
            }
            Some("imap") => {
                let host = self
                    .required_string(s, "host", "a host name")
                    .unwrap_or_default();
                let tls = self.tls(s, &host);
                let port = self.port(s, "port", if tls == Tls::Tls { 993 } else { 143 });
                let username = self.required_string(s, "username", "a user name");
                let password = self.secret(s);
                if password.is_none()
                    && !s.table.contains_key("password")
                    && !s.table.contains_key("password_file")
                    && !s.table.contains_key("password_env")
                {
                    self.problem(
                        s.key("password"),
                        "missing; expected one of password, password_file or password_env",
                    );
                }
                let folder = self
                    .string(s, "folder", "a folder name such as \"INBOX\"")
                    .unwrap_or_else(|| "INBOX".into());
                let idle = self.bool(s, "idle", true);
                let after = self
                    .string(s, "after", "\"seen\", \"move:FOLDER\" or \"delete\"")
                    .unwrap_or_else(|| "seen".into());
                if !(after == "seen"
                    || after == "delete"
                    || after.strip_prefix("move:").is_some_and(|f| !f.is_empty()))
                {
                    self.problem(
                        s.key("after"),
                        format!(
                            "expected \"seen\", \"move:FOLDER\" or \"delete\", found \"{after}\""
                        ),
                    );
                }
                let ca_file = self
                    .string(s, "ca_file", "a path to a PEM file of CA certificates")
                    .map(PathBuf::from);
                if let Some(f) = &ca_file {
                    if !f.is_file() {
                        self.problem(
                            s.key("ca_file"),
                            format!(
                                "expected a readable PEM file, but '{}' is not a file",
                                f.display()
                            ),
                        );
                    }
                }
                let auth = match self.string(s, "auth", "\"login\" or \"plain\"").as_deref() {
                    None | Some("login") => ImapAuth::Login,
                    Some("plain") => ImapAuth::Plain,
                    Some(other) => {
                        self.problem(
                            s.key("auth"),
                            format!("expected \"login\" or \"plain\", found \"{other}\""),
                        );
                        ImapAuth::Login
                    }
                };
                match (username, password) {
                    (Some(username), Some(password)) => Some(MailboxSource::Imap(ImapConfig {
                        host,
                        port,
                        tls,
                        username,
                        password,
                        folder,
                        idle,
                        after,
                        ca_file,
                        auth,
                    })),
                    _ => None,
                }
            }
            Some(other) => {
                self.problem(
                    s.key("kind"),
                    format!("expected \"maildir\" or \"imap\", found \"{other}\""),
                );
                None
            }
            None => None,
        };
        Some(MailboxConfig {
            name: name?,
            source: source?,
            queue,
            accept_list_mail,
            poll_interval,
        })
    }

    fn transport(&mut self, s: &mut Section<'_>) -> Option<TransportConfig> {
        match self.string(s, "kind", "\"file\" or \"smtp\"").as_deref() {
            None | Some("file") => {
                let dir = self
                    .string(s, "dir", "a directory path")
                    .unwrap_or_else(|| "var/outbox".into());
                Some(TransportConfig::File {
                    dir: PathBuf::from(dir),
                })
            }
            Some("smtp") => {
                let host = self.required_string(s, "host", "a host name")?;
                let tls = self.tls(s, &host);
                let port = self.port(
                    s,
                    "port",
                    match tls {
                        Tls::Tls => 465,
                        Tls::StartTls => 587,
                        Tls::None => 25,
                    },
                );
                let username = self.string(s, "username", "a user name");
                let password = self.secret(s);
                if username.is_some() != password.is_some() {
                    self.problem(s.key("username"), "give both username and a password (password, password_file or password_env), or neither");
                }
                let parallel = match self.get(s, "parallel") {
                    None => 4,
                    Some(Value::Integer(n)) if (1..=64).contains(n) => *n as usize,
                    Some(v) => {
                        self.problem(
                            s.key("parallel"),
                            format!(
                                "expected a number of connections from 1 to 64, found {}",
                                type_name(v)
                            ),
                        );
                        4
                    }
                };
                Some(TransportConfig::Smtp(SmtpConfig {
                    host,
                    port,
                    tls,
                    username,
                    password,
                    parallel,
                }))
            }
            Some(other) => {
                self.problem(
                    s.key("kind"),
                    format!("expected \"file\" or \"smtp\", found \"{other}\""),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
