//! Where outgoing mail goes: one `.eml` file per mail (the embedded default), or SMTP with
//! connections kept open and the message written in one piece.

use crate::config::{Tls, TransportConfig};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Errors at the transport boundary.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    /// True when the server refused for good (5xx); false when a retry may succeed.
    pub permanent: bool,
    pub message: String,
}

/// Where outgoing mail goes, and how it is signed on the way.
pub struct Transport {
    pub via: Via,
    /// `[dkim]`: every message is signed as it is handed over (not when it is queued, so a
    /// key change applies to mail still waiting).
    pub(crate) dkim: Option<std::sync::Arc<crate::mail::dkim::Signer>>,
}

/// The way out.
pub enum Via {
    /// One `.eml` file per mail, named after its Message-ID (so a repeat overwrites, never
    /// duplicates), written to a temporary name and renamed into place.
    File {
        dir: PathBuf,
    },
    Smtp(Box<SmtpSender>),
}

impl Transport {
    /// Builds the transport the config names.
    pub fn from_config(cfg: &crate::config::Config) -> Result<Transport, TransportError> {
        Ok(Transport {
            via: Via::from_config(&cfg.transport, &cfg.identity.message_id_domain)?,
            dkim: cfg.dkim.clone(),
        })
    }

    /// How many mails this transport may have in flight at once.
    pub fn parallelism(&self) -> usize {
        match &self.via {
            Via::File { .. } => 1,
            Via::Smtp(s) => s.parallel.max(1),
        }
    }

    /// Whether delivering the same row twice leaves one copy (true for files).
    pub fn idempotent(&self) -> bool {
        matches!(self.via, Via::File { .. })
    }

    /// Delivers one message, signed if `[dkim]` is configured.
    pub fn send(
        &self,
        from: &str,
        to: &[String],
        message_id: &str,
        raw: &[u8],
    ) -> Result<(), TransportError> {
        match &self.dkim {
            Some(signer) => {
                let signed = signer.sign(raw).map_err(|message| TransportError {
                    permanent: true,
                    message,
                })?;
                self.via.send(from, to, message_id, &signed)
            }
            None => self.via.send(from, to, message_id, raw),
        }
    }
}

impl Via {
    fn from_config(cfg: &TransportConfig, hello: &str) -> Result<Via, TransportError> {
        let err = |m: String| TransportError {
            permanent: true,
            message: m,
        };
        match cfg {
            TransportConfig::File { dir } => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    err(format!(
                        "cannot create the outbox directory {}: {e}",
                        dir.display()
                    ))
                })?;
                Ok(Via::File { dir: dir.clone() })
            }
            TransportConfig::Smtp(s) => {
                let tls = match s.tls {
                    Tls::None => None,
                    Tls::StartTls | Tls::Tls => Some(
                        tls_parameters(&s.host, s.ca_file.as_deref())
                            .map_err(|e| err(format!("smtp {}: {e}", s.host)))?,
                    ),
                };
                Ok(Via::Smtp(Box::new(SmtpSender {
                    host: s.host.clone(),
                    port: s.port,
                    implicit_tls: s.tls == Tls::Tls,
                    tls,
                    credentials: match (&s.username, &s.password) {
                        (Some(u), Some(p)) => {
                            Some(Credentials::new(u.clone(), p.expose().to_string()))
                        }
                        _ => None,
                    },
                    login: s.username.clone().zip(s.password.clone()),
                    oauth: s.oauth.clone().zip(s.username.clone()),
                    hello: ClientId::Domain(hello.to_string()),
                    idle: Mutex::new(Vec::new()),
                    parallel: s.parallel,
                })))
            }
        }
    }

    fn send(
        &self,
        from: &str,
        to: &[String],
        message_id: &str,
        raw: &[u8],
    ) -> Result<(), TransportError> {
        match self {
            Via::File { dir } => write_file(dir, message_id, raw).map_err(|e| TransportError {
                permanent: false,
                message: format!("cannot write to {}: {e}", dir.display()),
            }),
            Via::Smtp(smtp) => {
                let bad = |m: String| TransportError {
                    permanent: true,
                    message: m,
                };
                let from = from
                    .parse()
                    .map_err(|_| bad(format!("invalid sender address '{from}'")))?;
                let to = to
                    .iter()
                    .map(|t| {
                        t.parse()
                            .map_err(|_| bad(format!("invalid recipient address '{t}'")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let envelope = Envelope::new(Some(from), to).map_err(|e| bad(e.to_string()))?;
                smtp.send(&envelope, raw)
            }
        }
    }
}

/// An SMTP client on lettre's `SmtpConnection`, keeping one connection open between mails.
///
/// The message and its terminating `.` go out in one write: lettre's own `send` writes them
/// separately, and Nagle's algorithm then holds the terminator until the server's delayed ACK,
/// about 40 ms a mail (25 mails a second per connection).
pub struct SmtpSender {
    host: String,
    port: u16,
    implicit_tls: bool,
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    /// The user and password, to hide the password in a server's reply that echoes it.
    login: Option<(String, crate::config::Secret)>,
    /// `auth = "xoauth2" | "oauthbearer"`: the tokens and the user they sign in.
    oauth: Option<(crate::config::OAuth, String)>,
    /// Our name in EHLO.
    hello: ClientId,
    /// Open connections not in use; one is taken out per mail and dropped when it breaks.
    /// Open connections between mails, with when each was last used.
    idle: Mutex<Vec<(SmtpConnection, std::time::Instant)>>,
    /// How many mails may be in flight at once, each on its own connection.
    parallel: usize,
}

/// The DATA payload: the message with its lines dot-stuffed (RFC 5321 §4.5.2), CRLF line ends,
/// and the terminating `.` line.
pub(crate) fn data_payload(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len() + 64);
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        if lines.peek().is_none() && line.is_empty() {
            break;
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out
}

/// Displays a string as it is (for `SmtpConnection::command`, which writes what it displays).
pub(crate) struct Verbatim(String);

impl std::fmt::Display for Verbatim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl SmtpSender {
    /// An open, secured and signed-in connection. Whatever fails here concerns our account or
    /// the server, not a message: never a permanent failure of the mail being sent.
    fn connect(&self) -> Result<SmtpConnection, TransportError> {
        let implicit = if self.implicit_tls {
            self.tls.as_ref()
        } else {
            None
        };
        let failed = |e: lettre::transport::smtp::Error| TransportError {
            permanent: false,
            message: self.describe(&e),
        };
        let mut c = SmtpConnection::connect(
            (self.host.as_str(), self.port),
            Some(Duration::from_secs(60)),
            &self.hello,
            implicit,
            None,
        )
        .map_err(failed)?;
        if let (false, Some(params)) = (self.implicit_tls, &self.tls) {
            c.starttls(params, &self.hello).map_err(failed)?;
        }
        if let Some((o, user)) = &self.oauth {
            self.bearer(&mut c, o, user)?;
        } else if let Some(creds) = &self.credentials {
            c.auth(&[Mechanism::Plain, Mechanism::Login], creds)
                .map_err(failed)?;
        }
        Ok(c)
    }

    /// AUTH with a bearer token (lettre knows XOAUTH2 only, and not the server's error
    /// challenge); a refused token is forgotten and a fresh one tried once.
    fn bearer(
        &self,
        c: &mut SmtpConnection,
        o: &crate::config::OAuth,
        user: &str,
    ) -> Result<(), TransportError> {
        use base64::Engine as _;
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        let mut tried_fresh = false;
        loop {
            let token = o.tokens.access_token().map_err(|e| TransportError {
                permanent: false,
                message: format!("smtp {}: oauth: {e}", self.host),
            })?;
            let mut x = crate::oauth::sasl::Exchange::new(
                o.mechanism,
                user,
                &self.host,
                self.port,
                token.secret.expose(),
            );
            let first = b64(&x.step(b""));
            let mut reply = c.command(Verbatim(format!("AUTH {} {first}\r\n", o.mechanism.name())));
            if let Ok(r) = &reply {
                if r.has_code(334) {
                    // The error challenge (RFC 7628 §3.2.2): answered, then refused for good.
                    let challenge = r.first_line().unwrap_or_default();
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(challenge.trim())
                        .unwrap_or_default();
                    let abort = b64(&x.step(&decoded));
                    reply = c.command(Verbatim(format!("{abort}\r\n")));
                }
            }
            match reply {
                Ok(r) if r.has_code(235) => return Ok(()),
                outcome => {
                    o.tokens.refused(&token);
                    let said = match outcome {
                        Ok(r) => r.message().collect::<Vec<_>>().join(" "),
                        Err(e) => e.to_string(),
                    };
                    if token.fresh || tried_fresh || c.has_broken() {
                        let why = x
                            .challenge
                            .map(|c| format!(" (the server said {c})"))
                            .unwrap_or_default();
                        return Err(TransportError {
                            permanent: false,
                            message: format!(
                                "{}:{}: {} for {user}: the token was refused{why}: {said}",
                                self.host,
                                self.port,
                                o.mechanism.name()
                            ),
                        });
                    }
                    tracing::info!(
                        user,
                        "smtp: the server refused the token; asking for a new one"
                    );
                    tried_fresh = true;
                }
            }
        }
    }

    /// Checks that the server answers and accepts us (for `check`).
    pub fn probe(&self) -> Result<(), TransportError> {
        let mut c = self.connect()?;
        let _ = c.quit();
        Ok(())
    }

    /// An error as the outbox records it: a server's reply as it came (our password hidden,
    /// whatever form it was echoed in); anything else (a connection or a certificate that
    /// failed) with the server it happened with.
    fn describe(&self, e: &lettre::transport::smtp::Error) -> String {
        let text = self.redact(&e.to_string());
        if e.status().is_some() {
            text
        } else {
            format!("{}:{}: {text}", self.host, self.port)
        }
    }

    /// A server's message with our password hidden, whatever form it was echoed in.
    fn redact(&self, message: &str) -> String {
        match &self.login {
            Some((user, password)) => password.redact_in(message, user),
            None => message.to_string(),
        }
    }

    /// Sends one message on an idle open connection, or a new one.
    pub fn send(&self, envelope: &Envelope, raw: &[u8]) -> Result<(), TransportError> {
        let open = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        // A connection left unused for a while may have died silently (a NAT that forgot it):
        // closed without a word (a QUIT could wait for an answer that never comes), not reused.
        let mut c = match open {
            Some((c, used)) if !c.has_broken() && used.elapsed() < IDLE_REUSE => c,
            _ => self.connect()?,
        };
        let ascii = |a: &lettre::Address| AsRef::<str>::as_ref(a).is_ascii();
        let ascii_envelope = envelope.from().is_none_or(ascii) && envelope.to().iter().all(ascii);
        let result = if raw.is_ascii() && ascii_envelope {
            (|| {
                c.command(Mail::new(envelope.from().cloned(), vec![]))?;
                for to in envelope.to() {
                    c.command(Rcpt::new(to.clone(), vec![]))?;
                }
                c.command(Data)?;
                c.command(Verbatim(data_payload(raw)))
            })()
        } else {
            // 8BITMIME or SMTPUTF8 needed: lettre's own send negotiates them.
            c.send(envelope, raw)
        };
        let keep = match &result {
            // The server answered: the connection is fine for the next mail once reset.
            Err(e) if e.status().is_some() => c.command(Rset).is_ok(),
            Err(_) => false, // a broken connection is dropped
            Ok(_) => true,
        };
        if keep {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((c, std::time::Instant::now()));
        }
        result.map(|_| ()).map_err(|e| TransportError {
            permanent: e.is_permanent(),
            message: self.describe(&e),
        })
    }
}

/// TLS with `host`'s certificate checked against the public roots and, when given, the CA
/// certificates of `ca_file`.
fn tls_parameters(host: &str, ca_file: Option<&std::path::Path>) -> Result<TlsParameters, String> {
    let mut b = TlsParameters::builder(host.to_string());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read ca_file {}: {e}", path.display()))?;
        let cert = lettre::transport::smtp::client::Certificate::from_pem(&pem)
            .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
        b = b.add_root_certificate(cert);
    }
    b.build_rustls().map_err(|e| e.to_string())
}

/// How long an open SMTP connection may sit unused and still be reused for the next mail.
const IDLE_REUSE: Duration = Duration::from_secs(30);

/// The file name for a Message-ID: its characters outside `[A-Za-z0-9._@+-]` become `_`.
pub fn file_name(message_id: &str) -> String {
    let inner = message_id.trim_start_matches('<').trim_end_matches('>');
    let mut name: String = inner
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._@+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with('.') {
        name.insert(0, '_');
    }
    name.truncate(200);
    name.push_str(".eml");
    name
}

pub(crate) fn write_file(dir: &Path, message_id: &str, raw: &[u8]) -> std::io::Result<()> {
    let name = file_name(message_id);
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(raw)?;
    drop(f);
    std::fs::rename(&tmp, dir.join(name))
}
