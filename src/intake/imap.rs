//! IMAP mailboxes (async-imap on tokio): one supervised task per mailbox.
//!
//! The stored cursor (UIDVALIDITY, last UID), not the server's flags, says what is stored: it is
//! saved in the same transaction as the mails it covers. New mail is listed by UID with its
//! RFC822.SIZE first, so a mail over `limits.max_message_size` is fetched as headers only, and is
//! then downloaded in batches with BODY.PEEK[]. The mailbox's `after` action (seen, move, delete)
//! runs after the commit, and again at the next login for anything a crash left behind. A
//! changed UIDVALIDITY rescans the folder; the content-hash dedupe makes that harmless. Between
//! checks the task IDLEs (re-issued every `idle_refresh`, 2 minutes by default) when the server
//! offers it, else polls; TCP keepalive and a short wait for the answer to the end of each IDLE (or
//! a NOOP between polls) notice a connection that died silently.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_imap::types::Fetch;
use futures_util::TryStreamExt;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{watch, Notify};
use tokio_rustls::TlsConnector;

mod sasl;
pub use sasl::Signed;
use sasl::{bearer_login, SaslPlain};

use super::Cursor;
use super::{Ack, RawMail};
use crate::config::{Config, ImapAuth, ImapConfig, MailboxSource, Tls};
use crate::observe::metrics::MailboxState;
use crate::store::{models, AnyConnection};

/// Any stream an IMAP session can run over (plain TCP or TLS).
pub trait ImapIo: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> ImapIo for T {}

type Session = async_imap::Session<Box<dyn ImapIo>>;

/// A listed new mail: its UID and RFC822.SIZE.
type Listed = (u32, usize);

/// How many mails are downloaded and stored per transaction.
const FETCH_BATCH: usize = 250;

/// The listed new mail `(uid, size)` in chunks of at most `count` mails and, but for a single
/// mail, `bytes` bytes (a mail over `limit` counts as its header only: that is all that is
/// fetched of it), so that a folder of large mails is never held in memory at once.
fn chunks(new: &[(u32, usize)], count: usize, bytes: usize, limit: usize) -> Vec<&[(u32, usize)]> {
    let mut out = Vec::new();
    let (mut start, mut held) = (0, 0);
    for (i, (_, size)) in new.iter().enumerate() {
        let size = if *size > limit { 0 } else { *size };
        if i > start && (i - start == count || held + size > bytes) {
            out.push(&new[start..i]);
            (start, held) = (i, 0);
        }
        held += size;
    }
    if start < new.len() {
        out.push(&new[start..]);
    }
    out
}
/// How long one IMAP command may take before the connection is given up as dead.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the server may take to answer the end of an IDLE, or a NOOP between polls, before
/// the connection is taken for dead (it died silently: no FIN, no RST).
pub const LIVENESS_TIMEOUT: Duration = Duration::from_secs(15);

/// TCP keepalive on the connection: probes after 15 s of silence, every 5 s, 3 unanswered
/// ones end it. A NAT that forgot the connection, or a pulled cable, shows within ~30 s, and the
/// probes keep a NAT's mapping alive meanwhile.
fn keep_alive(tcp: &TcpStream) {
    let ka = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(15))
        .with_interval(Duration::from_secs(5))
        .with_retries(3);
    if let Err(e) = socket2::SockRef::from(tcp).set_tcp_keepalive(&ka) {
        tracing::warn!(error = %e, "cannot turn TCP keepalive on");
    }
}

/// `f` within [`LIVENESS_TIMEOUT`]: a small command whose answer shows the connection lives.
async fn alive<T, E: Into<ImapError>>(
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ImapError> {
    bounded(LIVENESS_TIMEOUT, f).await
}

/// Errors at the IMAP boundary.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot connect to {0}: {1}")]
    Connect(String, String),
    #[error("TLS with {0}: {1}")]
    Tls(String, String),
    #[error("the server refused the login of '{0}': {1}")]
    Login(String, String),
    #[error("folder '{0}': {1}")]
    Folder(String, String),
    #[error("the server did not answer within {0:?}")]
    Timeout(Duration),
    #[error("IMAP: {0}")]
    Protocol(#[from] async_imap::error::Error),
    #[error("{0}")]
    Local(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("oauth: {0}")]
    OAuth(#[from] crate::oauth::OAuthError),
}

async fn within<T, E: Into<ImapError>>(
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ImapError> {
    bounded(COMMAND_TIMEOUT, f).await
}

/// `f`'s result, or [`ImapError::Timeout`] when it takes longer than `limit`.
async fn bounded<T, E: Into<ImapError>>(
    limit: Duration,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(limit, f).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(ImapError::Timeout(limit)),
    }
}

fn tls_connector(ca_file: Option<&Path>) -> Result<TlsConnector, String> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(f) = ca_file {
        let certs = CertificateDer::pem_file_iter(f)
            .map_err(|e| format!("ca_file {}: {e}", f.display()))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("ca_file {}: {e}", f.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("ca_file {}: {e}", f.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

async fn start_tls(cfg: &ImapConfig, tcp: TcpStream) -> Result<Box<dyn ImapIo>, ImapError> {
    let tls_err = |e: String| ImapError::Tls(cfg.host.clone(), e);
    let connector = tls_connector(cfg.ca_file.as_deref()).map_err(tls_err)?;
    let name = ServerName::try_from(cfg.host.clone()).map_err(|e| tls_err(e.to_string()))?;
    let stream = within(async {
        connector
            .connect(name, tcp)
            .await
            .map_err(|e| tls_err(e.to_string()))
    })
    .await?;
    Ok(Box::new(stream))
}

async fn greeting<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug>(
    client: &mut async_imap::Client<T>,
    host: &str,
) -> Result<(), ImapError> {
    match within(async {
        client
            .read_response()
            .await
            .map_err(|e| ImapError::Connect(host.into(), e.to_string()))
    })
    .await?
    {
        Some(_) => Ok(()),
        None => Err(ImapError::Connect(
            host.into(),
            "the server closed the connection before its greeting".into(),
        )),
    }
}

/// Connects, secures and logs in. With OAuth2, also when the session should end so the
/// token can be renewed (see [`Signed`]).
pub async fn login(cfg: &ImapConfig) -> Result<(Session, Signed), ImapError> {
    let addr = format!("{}:{}", cfg.host, cfg.port);
    let tcp = within(async {
        TcpStream::connect(&addr)
            .await
            .map_err(|e| ImapError::Connect(addr.clone(), e.to_string()))
    })
    .await?;
    let _ = tcp.set_nodelay(true);
    keep_alive(&tcp);
    let client: async_imap::Client<Box<dyn ImapIo>> = match cfg.tls {
        Tls::Tls => {
            let mut c = async_imap::Client::new(start_tls(cfg, tcp).await?);
            greeting(&mut c, &addr).await?;
            c
        }
        Tls::StartTls => {
            let mut plain = async_imap::Client::new(tcp);
            greeting(&mut plain, &addr).await?;
            within(plain.run_command_and_check_ok("STARTTLS", None))
                .await
                .map_err(|e| ImapError::Tls(cfg.host.clone(), format!("STARTTLS refused: {e}")))?;
            async_imap::Client::new(start_tls(cfg, plain.into_inner()).await?)
        }
        Tls::None => {
            let mut c = async_imap::Client::new(Box::new(tcp) as Box<dyn ImapIo>);
            greeting(&mut c, &addr).await?;
            c
        }
    };
    // The password is passed to the server and never into an error message or a log line,
    // not even when the server's refusal echoes the command.
    let refused = |(e, _): (async_imap::error::Error, _)| {
        ImapError::Login(
            cfg.username.clone(),
            cfg.password.redact_in(&e.to_string(), &cfg.username),
        )
    };
    let session = match &cfg.auth {
        ImapAuth::Login => {
            within(async {
                client
                    .login(&cfg.username, cfg.password.expose())
                    .await
                    .map_err(refused)
            })
            .await?
        }
        ImapAuth::Plain => {
            let plain = SaslPlain {
                user: cfg.username.clone(),
                password: cfg.password.expose().to_string(),
            };
            within(async { client.authenticate("PLAIN", plain).await.map_err(refused) }).await?
        }
        ImapAuth::OAuth(o) => return bearer_login(cfg, o, client).await,
    };
    Ok((session, Signed::Password))
}

/// What `check` reports for an IMAP mailbox: it logs in and opens the folder.
pub async fn probe(cfg: &ImapConfig) -> Result<String, ImapError> {
    let (mut s, signed) = login(cfg).await?;
    let mb = within(s.select(&cfg.folder))
        .await
        .map_err(|e| ImapError::Folder(cfg.folder.clone(), e.to_string()))?;
    let idle = within(s.capabilities()).await?.has_str("IDLE");
    let _ = within(s.logout()).await;
    let token = match signed {
        Signed::Password => String::new(),
        Signed::Token(until) => format!(
            ", signed in with a token good until {}",
            chrono::DateTime::<chrono::Utc>::from(until)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
    };
    Ok(format!(
        "{} message(s) in {}, UIDVALIDITY {}, {}{token}",
        mb.exists,
        cfg.folder,
        mb.uid_validity.unwrap_or(0),
        if idle { "IDLE" } else { "no IDLE: polling" }
    ))
}

/// `UID FETCH` of `uids` with the data items `query`, collected.
async fn uid_fetch_all(
    s: &mut Session,
    uids: &[u32],
    query: &str,
) -> Result<Vec<Fetch>, ImapError> {
    within(async { s.uid_fetch(uid_set(uids), query).await?.try_collect().await }).await
}

/// Compresses sorted UIDs into an IMAP sequence set (`1:4,7,9:10`).
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// Why a session ended without an error.
enum Ended {
    /// `stop` turned true.
    Stopped,
    /// Its token is due for renewal: sign in again.
    Renew,
}

/// Everything a mailbox task needs.
pub struct Worker {
    pub cfg: Arc<Config>,
    /// Stores a batch with the cursor it reaches (the pipeline, wired by the daemon).
    pub store: super::StoreBatch,
    /// Index of the mailbox in `cfg.mailboxes`.
    pub index: usize,
    /// This mailbox's own database connection.
    pub conn: Arc<Mutex<AnyConnection>>,
    /// Woken when stored mail queued outgoing mail.
    pub outbox_ready: Arc<Notify>,
    /// This instance's id when batches must be fenced by the mailbox lease.
    pub fence: Option<Arc<str>>,
}

impl Worker {
    fn imap(&self) -> &ImapConfig {
        match &self.cfg.mailboxes[self.index].source {
            MailboxSource::Imap(i) => i,
            MailboxSource::Maildir { .. } | MailboxSource::Lmtp { .. } => {
                unreachable!("an IMAP worker is only made for an IMAP mailbox")
            }
        }
    }

    fn name(&self) -> &str {
        &self.cfg.mailboxes[self.index].name
    }

    /// Runs the mailbox until `stop` turns true: sessions are retried with capped exponential
    /// backoff and jitter, and a failing mailbox never holds up the others. A session ended to
    /// renew its token is opened again at once.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut failures = 0u32;
        while !*stop.borrow() {
            match self.session(&mut stop, &mut failures).await {
                Ok(Ended::Stopped) => return,
                Ok(Ended::Renew) => {
                    tracing::info!(mailbox = %self.name(), "imap: signing in again before the token expires");
                }
                Err(e) => {
                    failures += 1;
                    let wait = crate::time::backoff(failures);
                    let needs_person = matches!(&e, ImapError::OAuth(o) if o.needs_person());
                    let m = crate::observe::metrics::get();
                    m.set_mailbox(
                        self.name(),
                        MailboxState::Backoff {
                            retry_at_ms: crate::time::now_ms() + crate::time::millis(wait),
                        },
                    );
                    m.set_mailbox_error(self.name(), Some((e.to_string(), needs_person)));
                    tracing::error!(mailbox = %self.name(), error = %e, retry_in = ?wait, "mailbox failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => {}
                    }
                }
            }
        }
    }

    async fn session(
        &self,
        stop: &mut watch::Receiver<bool>,
        failures: &mut u32,
    ) -> Result<Ended, ImapError> {
        let cfg = self.imap();
        crate::observe::metrics::get().set_mailbox(
            self.name(),
            MailboxState::Connecting {
                since_ms: crate::time::now_ms(),
            },
        );
        let (mut s, signed) = login(cfg).await?;
        let mb = within(s.select(&cfg.folder))
            .await
            .map_err(|e| ImapError::Folder(cfg.folder.clone(), e.to_string()))?;
        let uid_validity = i64::from(mb.uid_validity.unwrap_or(0));
        let caps = within(s.capabilities()).await?;
        let (idle, can_move, uidplus) = (
            caps.has_str("IDLE"),
            caps.has_str("MOVE"),
            caps.has_str("UIDPLUS"),
        );
        tracing::info!(mailbox = %self.name(), folder = %cfg.folder, uid_validity, idle, "mailbox connected");
        let m = crate::observe::metrics::get();
        m.set_mailbox(self.name(), MailboxState::Connected);
        m.set_mailbox_error(self.name(), None);
        *failures = 0;

        let mut cursor = self.load_cursor(uid_validity).await?;
        self.catch_up_after_action(&mut s, cursor.last_uid, can_move, uidplus)
            .await?;
        loop {
            while self.drain(&mut s, &mut cursor, can_move, uidplus).await? {}
            let until_renewal = match signed {
                Signed::Password => None,
                Signed::Token(at) => Some(
                    at.duration_since(std::time::SystemTime::now())
                        .unwrap_or_default(),
                ),
            };
            if *stop.borrow() || until_renewal == Some(Duration::ZERO) {
                let _ = tokio::time::timeout(Duration::from_secs(5), s.logout()).await;
                return Ok(if *stop.borrow() {
                    Ended::Stopped
                } else {
                    Ended::Renew
                });
            }
            let poll = self.cfg.mailboxes[self.index].poll_interval;
            if idle && cfg.idle {
                let limit = until_renewal.map_or(cfg.idle_refresh, |u| u.min(cfg.idle_refresh));
                s = self.idle(s, stop, limit).await?;
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(until_renewal.map_or(poll, |u| u.min(poll))) => {}
                    _ = stop.changed() => {}
                }
                if !*stop.borrow() {
                    alive(s.noop()).await?;
                }
            }
        }
    }

    /// The stored cursor, or a fresh one when there is none or the folder's UIDVALIDITY changed
    /// (then the folder is read again from the start; what is stored already is recognised).
    async fn load_cursor(&self, uid_validity: i64) -> Result<Cursor, ImapError> {
        let conn = self.conn.clone();
        let name = self.name().to_string();
        let stored = tokio::task::spawn_blocking(move || {
            let mut c = conn
                .lock()
                .map_err(|_| "database connection poisoned".to_string())?;
            models::cursor(&mut c, &name).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| ImapError::Local(e.to_string()))?
        .map_err(ImapError::Local)?;
        Ok(match stored {
            Some((v, last)) if v == uid_validity => Cursor {
                uid_validity,
                last_uid: last,
                fence: self.fence.clone(),
            },
            Some((v, _)) => {
                tracing::warn!(mailbox = %self.name(), old = v, new = uid_validity, "UIDVALIDITY changed: reading the folder again");
                Cursor {
                    uid_validity,
                    last_uid: 0,
                    fence: self.fence.clone(),
                }
            }
            None => Cursor {
                uid_validity,
                last_uid: 0,
                fence: self.fence.clone(),
            },
        })
    }

    /// Lists the new mail once and stores it chunk by chunk. Returns whether there was any
    /// (more may have come in the meantime).
    async fn drain(
        &self,
        s: &mut Session,
        cursor: &mut Cursor,
        can_move: bool,
        uidplus: bool,
    ) -> Result<bool, ImapError> {
        let from = cursor.last_uid + 1;
        let listed: Vec<Fetch> = within(async {
            s.uid_fetch(format!("{from}:*"), "(UID RFC822.SIZE)")
                .await?
                .try_collect()
                .await
        })
        .await?;
        let mut new: Vec<(u32, usize)> = listed
            .iter()
            .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0) as usize)))
            .filter(|(uid, _)| i64::from(*uid) >= from)
            .collect();
        if new.is_empty() {
            return Ok(false);
        }
        new.sort_unstable();
        let limit = self.cfg.limits.max_message_size;
        for chunk in chunks(&new, FETCH_BATCH, crate::pipeline::BATCH_BYTES, limit) {
            self.store_chunk(s, cursor, chunk, can_move, uidplus)
                .await?;
        }
        Ok(true)
    }

    /// Downloads, stores and acts on one chunk of the listed new mail `(uid, size)`.
    async fn store_chunk(
        &self,
        s: &mut Session,
        cursor: &mut Cursor,
        new: &[(u32, usize)],
        can_move: bool,
        uidplus: bool,
    ) -> Result<(), ImapError> {
        let limit = self.cfg.limits.max_message_size;
        let (whole, big): (Vec<Listed>, Vec<Listed>) =
            new.iter().copied().partition(|(_, size)| *size <= limit);
        let mut mails: Vec<(u32, RawMail)> = Vec::with_capacity(new.len());
        for (part, query, headers_only) in [
            (whole, "(UID BODY.PEEK[])", false),
            (big, "(UID BODY.PEEK[HEADER])", true),
        ] {
            if part.is_empty() {
                continue;
            }
            let uids: Vec<u32> = part.iter().map(|(u, _)| *u).collect();
            for f in uid_fetch_all(s, &uids, query).await? {
                let bytes = if headers_only { f.header() } else { f.body() };
                let (Some(uid), Some(bytes)) = (f.uid, bytes) else {
                    continue;
                };
                let mut m = RawMail::new(
                    format!("imap:{}:{uid}", cursor.uid_validity),
                    bytes.to_vec(),
                    Ack::None,
                );
                if headers_only {
                    m.oversized = part.iter().find(|(u, _)| *u == uid).map(|(_, size)| *size);
                }
                mails.push((uid, m));
            }
        }
        // A UID the server listed but did not return (expunged in between) is passed over.
        mails.sort_by_key(|(uid, _)| *uid);
        let next = Cursor {
            uid_validity: cursor.uid_validity,
            last_uid: i64::from(new.last().map(|(u, _)| *u).unwrap_or(0)),
            fence: self.fence.clone(),
        };
        let uids: Vec<u32> = new.iter().map(|(u, _)| *u).collect();

        let raw: Vec<RawMail> = mails.into_iter().map(|(_, m)| m).collect();
        let (store, saved) = (self.store.clone(), next.clone());
        let queued = tokio::task::spawn_blocking(move || store(raw, Some(&saved)))
            .await
            .map_err(|e| ImapError::Local(e.to_string()))??;
        *cursor = next;
        if queued {
            self.outbox_ready.notify_one();
        }
        self.after_action(s, &uids, can_move, uidplus).await?;
        Ok(())
    }

    /// Applies the mailbox's `after` action to stored mail.
    async fn after_action(
        &self,
        s: &mut Session,
        uids: &[u32],
        can_move: bool,
        uidplus: bool,
    ) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        let after = self.imap().after.as_str();
        if after == "seen" {
            within(async {
                s.uid_store(&set, "+FLAGS.SILENT (\\Seen)")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?;
        } else if let Some(folder) = after.strip_prefix("move:") {
            if can_move {
                within(s.uid_mv(&set, folder)).await?;
            } else {
                within(s.uid_copy(&set, folder)).await?;
                self.delete(s, &set, uidplus).await?;
            }
        } else if after == "delete" {
            self.delete(s, &set, uidplus).await?;
        }
        Ok(())
    }

    async fn delete(&self, s: &mut Session, set: &str, uidplus: bool) -> Result<(), ImapError> {
        within(async {
            s.uid_store(set, "+FLAGS.SILENT (\\Deleted)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        if uidplus {
            within(async { s.uid_expunge(set).await?.try_collect::<Vec<_>>().await }).await?;
        } else {
            within(async { s.expunge().await?.try_collect::<Vec<_>>().await }).await?;
        }
        Ok(())
    }

    /// After a crash between a commit and its `after` action, the stored mail still waits in
    /// the folder: apply the action to it now.
    async fn catch_up_after_action(
        &self,
        s: &mut Session,
        last_uid: i64,
        can_move: bool,
        uidplus: bool,
    ) -> Result<(), ImapError> {
        if last_uid <= 0 {
            return Ok(());
        }
        let query = if self.imap().after == "seen" {
            format!("UID 1:{last_uid} UNSEEN")
        } else {
            format!("UID 1:{last_uid}")
        };
        let mut uids: Vec<u32> = within(s.uid_search(query)).await?.into_iter().collect();
        uids.sort_unstable();
        self.after_action(s, &uids, can_move, uidplus).await
    }

    /// IDLEs until the server reports a change, `limit` (`idle_refresh`, or less when the token
    /// is due for renewal) passes, or `stop` turns true; the server must then answer the end of
    /// the IDLE within [`LIVENESS_TIMEOUT`].
    async fn idle(
        &self,
        s: Session,
        stop: &mut watch::Receiver<bool>,
        limit: Duration,
    ) -> Result<Session, ImapError> {
        let mut handle = s.idle();
        alive(handle.init()).await?;
        {
            let (wait, interrupt) = handle.wait_with_timeout(limit.max(Duration::from_millis(100)));
            tokio::pin!(wait);
            let mut interrupt = Some(interrupt);
            loop {
                tokio::select! {
                    r = &mut wait => {
                        if let async_imap::extensions::idle::IdleResponse::NewData(_) = r? {
                            tracing::debug!(mailbox = %self.name(), "idle: the server reported new mail");
                        }
                        break;
                    }
                    _ = stop.changed(), if interrupt.is_some() => { interrupt.take(); }
                }
            }
        }
        alive(handle.done()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_has_tcp_keepalive() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let tcp = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
            keep_alive(&tcp);
            let s = socket2::SockRef::from(&tcp);
            assert!(s.keepalive().unwrap());
            assert_eq!(s.tcp_keepalive_time().unwrap(), Duration::from_secs(15));
            assert_eq!(s.tcp_keepalive_interval().unwrap(), Duration::from_secs(5));
            assert_eq!(s.tcp_keepalive_retries().unwrap(), 3);
        });
    }

    #[test]
    fn uid_sets() {
        assert_eq!(uid_set(&[1, 2, 3, 4, 7, 9, 10]), "1:4,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[]), "");
    }

    #[test]
    fn chunks_are_bounded_by_count_and_bytes() {
        let mb = 1 << 20;
        let sizes = |c: &[&[(u32, usize)]]| c.iter().map(|c| c.len()).collect::<Vec<_>>();
        // 12 mails of 33 MB: one a chunk (each alone is over 16 MB); small mails by count.
        let big: Vec<(u32, usize)> = (1..=12).map(|u| (u, 33 * mb)).collect();
        assert_eq!(sizes(&chunks(&big, 250, 16 * mb, 50 * mb)), vec![1; 12]);
        let small: Vec<(u32, usize)> = (1..=600).map(|u| (u, 2_000)).collect();
        assert_eq!(
            sizes(&chunks(&small, 250, 16 * mb, 50 * mb)),
            [250, 250, 100]
        );
        let mixed = [
            (1, 10 * mb),
            (2, 5 * mb),
            (3, 2 * mb),
            (4, 60 * mb),
            (5, mb),
        ];
        // 10 + 5 fit, 2 more would not; the 60 MB mail is fetched as its header only.
        assert_eq!(sizes(&chunks(&mixed, 250, 16 * mb, 50 * mb)), [2, 3]);
        assert!(chunks(&[], 250, 16 * mb, 50 * mb).is_empty());
    }
}
