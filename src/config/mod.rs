//! Configuration: TOML (contract §5) read in two phases. The raw `toml::Table` is walked key by
//! key into a validated [`Config`]; every problem is collected, so one run reports them all, each
//! naming the file, the key and what was expected.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::{Table, Value};

mod approvals;
mod catalog;
mod identities;
mod oauth;
mod people;
mod policy;
mod read;
mod runtime;
mod secret;
mod sections;
mod web;

pub use approvals::{ApprovalChain, ApprovalStep, ChangesConfig};
pub use catalog::CatalogItem;
pub use oauth::OAuth;
pub use policy::{
    DigestConfig, EscalationStep, Notify, RecurringConfig, Scheduled, Scheduler, SlaPolicy, Targets,
};
use read::{Reader, Section};
pub use runtime::{ClusterConfig, LogConfig, LogFormat};
pub use secret::Secret;
pub use web::{CsatConfig, SuggestConfig, WebConfig};

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
    /// `[knowledge] dir`: articles (`NAME.md`) that `#reply NAME` sends.
    pub knowledge_dir: Option<PathBuf>,
    /// `[[digests]]`.
    pub digests: Vec<DigestConfig>,
    /// `[log]`.
    pub log: LogConfig,
    /// `[metrics] listen`: where /metrics and /healthz are served (off when absent).
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// `[cluster]`: mailbox leases between instances.
    pub cluster: ClusterConfig,
    /// `[problems]`: what a problem's fix does to its incidents.
    pub problems: ProblemsConfig,
    /// `[[recurring]]`: tickets opened on a schedule.
    pub recurring: Vec<RecurringConfig>,
    /// `[[identities]]`: more support addresses, by name; `identity` stays the default.
    pub identities: Vec<(String, Identity)>,
    /// `[web]`: the one-click pages (off when absent).
    pub web: Option<WebConfig>,
    /// `[csat]`: satisfaction surveys (off when absent).
    pub csat: Option<CsatConfig>,
    /// `[knowledge] suggest`, `suggest_threshold`: articles offered in the acknowledgement.
    pub suggest: SuggestConfig,
    /// `[[approvals]]`: approval chains.
    pub approvals: Vec<ApprovalChain>,
    /// `[changes]`.
    pub changes: ChangesConfig,
    /// `[[catalog]]`: service requests.
    pub catalog: Vec<CatalogItem>,
}

/// `[problems]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemsConfig {
    /// Resolving a problem resolves its open incidents and tells each requester once.
    pub resolve_linked: bool,
    /// A broadcast to more requesters than this first asks the agent to confirm.
    pub confirm_above: u32,
}

impl Default for ProblemsConfig {
    fn default() -> Self {
        ProblemsConfig {
            resolve_linked: true,
            confirm_above: 20,
        }
    }
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
    /// `[[identities]] templates_dir`: overrides of the templates for this identity's mail.
    pub templates_dir: Option<PathBuf>,
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
    Maildir {
        path: PathBuf,
    },
    Imap(ImapConfig),
    /// An LMTP listener an MTA (Postfix's `lmtp` transport) delivers to.
    Lmtp {
        listen: Listen,
    },
}

/// Where a listener listens: TCP on a loopback address, or a unix socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Tcp(std::net::SocketAddr),
    Unix(PathBuf),
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Tcp(a) => write!(f, "{a}"),
            Listen::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
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
    /// IDLE is ended and begun again this often, and the server must answer within
    /// [`crate::intake::imap::LIVENESS_TIMEOUT`]: a connection that died silently (a NAT
    /// timeout, a pulled cable) is noticed then at the latest.
    pub idle_refresh: std::time::Duration,
    /// What to do with a mail once it is stored: `seen`, `move:FOLDER` or `delete`.
    pub after: String,
    /// PEM file of extra CA certificates to trust (a private CA), besides the public roots.
    pub ca_file: Option<PathBuf>,
    /// How to log in: IMAP LOGIN, SASL AUTHENTICATE PLAIN (for servers that disable LOGIN),
    /// or a bearer token (XOAUTH2, OAUTHBEARER).
    pub auth: ImapAuth,
}

#[derive(Debug, Clone)]
pub enum ImapAuth {
    Login,
    Plain,
    OAuth(OAuth),
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
    /// `identity`: the `[[identities]]` entry its tickets are answered as.
    pub identity: Option<String>,
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
    /// `auth = "xoauth2" | "oauthbearer"`: a bearer token instead of the password.
    pub oauth: Option<OAuth>,
    /// How many connections deliver in parallel.
    pub parallel: usize,
    /// PEM file of extra CA certificates to trust (a private CA), besides the public roots.
    pub ca_file: Option<PathBuf>,
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
    /// `join_colleagues`: a sender from the requester's own domain whose mail threads into the
    /// ticket becomes a participant (receives the answers). Off by default: on a shared
    /// domain (a free-mail provider) it would let any of its users join.
    pub join_colleagues: bool,
    /// `acknowledge_forwarded`: a customer's mail forwarded by an agent is acknowledged to the
    /// customer, as if they had written.
    pub acknowledge_forwarded: bool,
}

impl Default for ThreadingConfig {
    fn default() -> Self {
        ThreadingConfig {
            reopen_window: Duration::from_secs(30 * 86400),
            extra_subject_tags: Vec::new(),
            stranger_tag: crate::ticket::thread::StrangerTag::NewTicket,
            join_colleagues: false,
            acknowledge_forwarded: true,
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
    /// The language the agent's mail is written in (`language`, default `en`).
    pub language: String,
}

#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub name: String,
    pub sla: Option<String>,
    /// `identity`: the `[[identities]]` entry its tickets are answered as.
    pub identity: Option<String>,
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
    /// Cc addresses taken from one mail as participants; the rest are recorded, not mailed.
    pub max_participants: usize,
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
            max_participants: 50,
        }
    }
}

impl Config {
    /// The mailbox named `name`.
    pub fn mailbox(&self, name: &str) -> Option<&MailboxConfig> {
        self.mailboxes.iter().find(|m| m.name == name)
    }

    /// Addresses postdesk sends from or receives at: mail from them coming back in is a loop.
    /// The SLA policy of a ticket of `ty` in `queue`: `explicit` (a rule's) when given, else
    /// the queue's when it applies to the type, else the first `[[sla]]` whose `types` name
    /// the type. A policy with `types` never applies to a ticket of another (or no) type.
    pub fn sla_for(
        &self,
        queue: &str,
        ty: Option<crate::ticket::model::TicketType>,
        explicit: Option<&str>,
    ) -> Option<String> {
        if let Some(p) = explicit {
            return Some(p.to_string());
        }
        let applies =
            |p: &SlaPolicy| p.types.is_empty() || ty.is_some_and(|t| p.types.contains(&t));
        let of_queue = self
            .queues
            .iter()
            .find(|q| q.name == queue)
            .and_then(|q| q.sla.as_deref())
            .and_then(|name| self.sla.iter().find(|p| p.name == name));
        match of_queue {
            Some(p) if applies(p) => Some(p.name.clone()),
            _ => ty.and_then(|t| {
                self.sla
                    .iter()
                    .find(|p| p.types.contains(&t))
                    .map(|p| p.name.clone())
            }),
        }
    }

    /// Whether `a` is a customer's address: not empty, not ours, not an agent's. Only such
    /// addresses are mailed answers and updates meant for customers.
    pub fn is_outsider(&self, a: &str) -> bool {
        !a.is_empty()
            && self.all_identities().all(|i| i.address != a)
            && self.identity.notes_address.as_deref() != Some(a)
            && self.agent(a).is_none()
    }

    pub fn own_addresses(&self) -> Vec<String> {
        let mut v = vec![self.identity.address.clone()];
        v.extend(self.identity.notes_address.clone());
        v.extend(self.identities.iter().map(|(_, i)| i.address.clone()));
        v
    }

    /// Every subject tag recognised: the identity's first.
    pub fn subject_tags(&self) -> Vec<&str> {
        std::iter::once(self.identity.subject_tag.as_str())
            .chain(self.identities.iter().map(|(_, i)| i.subject_tag.as_str()))
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
            token_sources: Vec::new(),
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

impl Reader {
    fn config(&mut self, root: &Table, file: &Path) -> Option<Config> {
        let mut top = Section::new(root, "");

        let database = self.database(&mut top);

        let identity = self.identity(&mut top);

        let queues = self.queues(&mut top);
        let queue_names: HashSet<String> = queues.iter().map(|q| q.name.clone()).collect();
        let default_queue = queues
            .first()
            .map(|q| q.name.clone())
            .unwrap_or_else(|| "general".into());

        let mailboxes = self.mailboxes(&mut top, &queue_names, &default_queue);

        let security = self.security(&mut top);

        let threading = self.threading(&mut top);

        let (transport, retry) = self.transport_and_retry(&mut top);

        let agents = self.agents(&mut top, &queue_names);

        let limits = self.limits(&mut top);

        let dkim = self.dkim(&mut top);

        let templates_dir = self.section_dir(
            &mut top,
            "templates",
            "a directory of NAME.txt.hbs / NAME.html.hbs files",
            |_, _| {},
        );
        let mut suggest = SuggestConfig::default();
        let knowledge_dir = self.section_dir(
            &mut top,
            "knowledge",
            "a directory of NAME.md articles (first line '# Title')",
            |r, s| suggest = r.suggest(s),
        );
        let calendars = self.calendars(&mut top);
        let sla = self.sla(&mut top, &calendars, &agents);
        self.check_queue_policies(&queues, &sla);
        let rules = self.rules(&mut top, &queues, &agents, &sla, templates_dir.as_deref());
        let scheduler = self.scheduler(&mut top);

        let digests = self.digests(&mut top, &queues);
        let log = self.log(&mut top);
        let metrics_listen = self.metrics(&mut top);
        let cluster = self.cluster(&mut top);
        let problems = self.problems(&mut top);
        let recurring = self.recurring(&mut top, &queues);
        let identities = self.identities(&mut top, identity.as_ref(), &mailboxes, &queues);
        let web = self.web(&mut top);
        let csat = self.csat(&mut top, &queues);
        let approvals = self.approvals(&mut top);
        let changes = self.changes(&mut top, &approvals, &calendars);
        let catalog = self.catalog(&mut top, &queues, &approvals);
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
            knowledge_dir,
            digests,
            log,
            metrics_listen,
            cluster,
            problems,
            recurring,
            identities,
            web,
            csat,
            suggest,
            approvals,
            changes,
            catalog,
        })
    }
}

#[cfg(test)]
mod tests;
