//! OAuth2 for mailboxes and the SMTP transport (Microsoft 365, Google): access tokens from the
//! refresh-token grant (RFC 6749 §6), kept until shortly before they expire and refreshed once
//! after a server refused one; the newest refresh token on disk (mode 0600), since providers
//! rotate them; the sign-ins of `postdesk oauth login` (device code, RFC 8628, or a browser
//! coming back to a loopback address, [`loopback`]); and the SASL
//! XOAUTH2 and OAUTHBEARER (RFC 7628) initial responses.
//!
//! Tokens are [`Secret`]s: never in a log line or an error message.

mod http;
pub mod loopback;
pub mod sasl;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::config::Secret;

pub use sasl::Mechanism;

/// `oauth = { ... }` of an IMAP mailbox or the SMTP transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    /// The provider's token endpoint (refresh and device-code grants).
    pub token_url: String,
    /// The device authorization endpoint, for `oauth login` (RFC 8628).
    pub device_url: Option<String>,
    /// The authorization endpoint, for `oauth login --browser` (Google: its device flow does
    /// not allow Gmail's scope).
    pub auth_url: Option<String>,
    /// The loopback port the browser returns to (0: any free one, as RFC 8252 allows; a
    /// provider that matches redirect URIs exactly needs a fixed one).
    pub redirect_port: u16,
    pub client_id: String,
    /// Confidential clients (Google's "TV and limited input" clients have one; Microsoft's
    /// public clients have none).
    pub client_secret: Option<Secret>,
    /// Scopes asked for, space-separated (`offline_access` for a refresh token at Microsoft).
    pub scope: String,
    /// Where the refresh token is kept: written by `oauth login`, replaced when the provider
    /// rotates it.
    pub refresh_token_file: PathBuf,
}

/// Errors at the OAuth2 boundary.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// No refresh token yet: nobody signed in.
    #[error("no refresh token in {0}: sign in with `postdesk oauth login {1}`")]
    NotSignedIn(PathBuf, String),
    /// The provider refused the grant for good (revoked, expired, password changed).
    #[error(
        "the provider refused the sign-in ({0}{1}): sign in again with `postdesk oauth login {2}`"
    )]
    Grant(String, String, String),
    /// The provider refused our client (wrong id or secret, client disabled).
    #[error("the provider refused the client '{0}': {1}")]
    Client(String, String),
    /// The provider could not be reached or answered oddly; trying later may work.
    #[error("token endpoint {0}: {1}")]
    Unreachable(String, String),
    #[error("{0}")]
    Local(String),
}

impl OAuthError {
    /// Whether only a person can fix it (sign in again, fix the client): trying again alone
    /// will not help.
    pub fn needs_person(&self) -> bool {
        matches!(
            self,
            OAuthError::NotSignedIn(..) | OAuthError::Grant(..) | OAuthError::Client(..)
        )
    }
}

/// An access token and when it stops working.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub secret: Secret,
    /// When it expires, less a margin: it is not handed out after.
    pub expires_at: SystemTime,
    /// Just issued by the provider (not from the cache): a refusal of it is not cured by
    /// asking again.
    pub fresh: bool,
}

/// The tokens of one mailbox or transport, shared by all its connections.
pub struct TokenSource {
    cfg: OAuthConfig,
    /// The mailbox's (or "transport") name, for messages that tell what to sign in.
    name: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The current access token.
    access: Option<AccessToken>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("name", &self.name)
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// How long before its expiry a token is no longer handed out: a minute, or half the lifetime
/// of a short-lived one.
fn margin(lifetime: Duration) -> Duration {
    (lifetime / 2).min(Duration::from_secs(60))
}

impl TokenSource {
    pub fn new(name: &str, cfg: OAuthConfig) -> TokenSource {
        TokenSource {
            cfg,
            name: name.to_string(),
            state: Mutex::new(State::default()),
        }
    }

    pub fn config(&self) -> &OAuthConfig {
        &self.cfg
    }

    /// The mailbox (or "transport") it was first configured for.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A token good for a while yet: the current one, or a fresh one from the refresh grant.
    /// Blocking (an HTTP request when a refresh is due).
    pub fn access_token(&self) -> Result<AccessToken, OAuthError> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = &st.access {
            if let Ok(left) = t.expires_at.duration_since(SystemTime::now()) {
                if left > Duration::from_secs(1) {
                    return Ok(AccessToken {
                        fresh: false,
                        ..t.clone()
                    });
                }
            }
        }
        self.refresh(&mut st)
    }

    /// After a server refused `token`: forgets it, so the next [`Self::access_token`] asks the
    /// provider for a new one (a token revoked before its time).
    pub fn refused(&self, token: &AccessToken) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.access.as_ref().map(|a| &a.secret) == Some(&token.secret) {
            st.access = None;
        }
    }

    /// When the current token should be replaced: a connection authenticated with it is ended
    /// and opened again by then, as providers end sessions whose token expired.
    pub fn renew_at(&self) -> Option<SystemTime> {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.access.as_ref().map(|a| a.expires_at)
    }

    fn refresh(&self, st: &mut State) -> Result<AccessToken, OAuthError> {
        // One refresh at a time across processes (`serve`, `check`, a second instance): a
        // refresh token used twice is, at providers that rotate them, a replay that revokes
        // the whole grant. And the file is read anew under the lock: another process may have
        // rotated the token since.
        let _lock = lock_file(&self.cfg.refresh_token_file)?;
        let refresh = match read_token_file(&self.cfg.refresh_token_file)? {
            Some(t) => t,
            None => {
                return Err(OAuthError::NotSignedIn(
                    self.cfg.refresh_token_file.clone(),
                    self.name.clone(),
                ))
            }
        };
        let reply = http::token_request(
            &self.cfg,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.expose()),
                ("scope", &self.cfg.scope),
            ],
        )?;
        let granted = match reply {
            http::TokenReply::Granted(g) => g,
            http::TokenReply::Refused { error, description } => {
                return Err(self.refused_grant(&error, &description))
            }
        };
        if let Some(rotated) = &granted.refresh_token {
            if rotated != &refresh {
                write_token_file(&self.cfg.refresh_token_file, rotated).map_err(|e| {
                    OAuthError::Local(format!(
                        "the provider rotated the refresh token, and it could not be saved: {e}"
                    ))
                })?;
            }
        }
        let token = AccessToken {
            secret: granted.access_token,
            expires_at: SystemTime::now() + granted.lifetime - margin(granted.lifetime),
            fresh: true,
        };
        st.access = Some(token.clone());
        tracing::info!(name = %self.name, expires_in = ?granted.lifetime, "oauth: access token refreshed");
        Ok(token)
    }

    fn refused_grant(&self, error: &str, description: &str) -> OAuthError {
        let detail = if description.is_empty() {
            String::new()
        } else {
            format!(": {description}")
        };
        match error {
            "invalid_client" | "unauthorized_client" => {
                OAuthError::Client(self.cfg.client_id.clone(), format!("{error}{detail}"))
            }
            _ => OAuthError::Grant(error.to_string(), detail, self.name.clone()),
        }
    }
}

/// An exclusive lock on `PATH.lock` (made if missing), held until the file is dropped.
fn lock_file(path: &Path) -> Result<std::fs::File, OAuthError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock = PathBuf::from(name);
    let local =
        |e: std::io::Error| OAuthError::Local(format!("cannot lock {}: {e}", lock.display()));
    if let Some(dir) = lock.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(local)?;
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(local)?;
    f.lock().map_err(local)?;
    Ok(f)
}

/// The refresh token in `path`: `None` when the file does not exist or is empty.
fn read_token_file(path: &Path) -> Result<Option<Secret>, OAuthError> {
    match std::fs::read_to_string(path) {
        Ok(s) if s.trim().is_empty() => Ok(None),
        Ok(s) => Ok(Some(Secret::new(s.trim().to_string()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(OAuthError::Local(format!(
            "cannot read the refresh token file {}: {e}",
            path.display()
        ))),
    }
}

/// Replaces the refresh token in `path` at once (a temporary file renamed over it), readable
/// by its owner only.
pub fn write_token_file(path: &Path, token: &Secret) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(token.expose().as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// What `oauth login` shows the person signing in.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub user_code: String,
    device_code: Secret,
    interval: Duration,
    expires_in: Duration,
}

/// Starts the device-code sign-in (RFC 8628 §3.1).
pub fn device_start(cfg: &OAuthConfig) -> Result<DeviceCode, OAuthError> {
    let url = cfg.device_url.as_deref().ok_or_else(|| {
        OAuthError::Local("oauth.device_url is not set: the provider's device authorization endpoint is needed to sign in".into())
    })?;
    http::device_authorization(cfg, url)
}

/// Waits for the person to finish signing in (RFC 8628 §3.4), then stores the refresh token.
/// Returns when the access token given with it expires.
pub fn device_finish(cfg: &OAuthConfig, code: &DeviceCode) -> Result<SystemTime, OAuthError> {
    let deadline = std::time::Instant::now() + code.expires_in;
    let mut interval = code.interval.max(Duration::from_secs(1));
    loop {
        std::thread::sleep(interval);
        if std::time::Instant::now() > deadline {
            return Err(OAuthError::Local(
                "the code expired before the sign-in was finished; run `oauth login` again".into(),
            ));
        }
        let reply = http::token_request(
            cfg,
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", code.device_code.expose()),
            ],
        )?;
        match reply {
            http::TokenReply::Granted(g) => return store_grant(cfg, g),
            http::TokenReply::Refused { error, description } => {
                match error.as_str() {
                    "authorization_pending" => {}
                    "slow_down" => interval += Duration::from_secs(5),
                    "access_denied" => {
                        return Err(OAuthError::Local("the sign-in was declined".into()))
                    }
                    "expired_token" => return Err(OAuthError::Local(
                        "the code expired before the sign-in was finished; run `oauth login` again"
                            .into(),
                    )),
                    _ => {
                        return Err(OAuthError::Local(format!(
                            "the provider refused the sign-in: {error} {description}"
                        )))
                    }
                }
            }
        }
    }
}

/// Keeps the refresh token of a sign-in; when its access token expires.
fn store_grant(cfg: &OAuthConfig, g: http::Granted) -> Result<SystemTime, OAuthError> {
    let refresh = g.refresh_token.ok_or_else(|| {
        OAuthError::Local(format!(
            "the provider gave no refresh token: ask for it in oauth.scope (Microsoft: \"offline_access\"), scope now \"{}\"",
            cfg.scope
        ))
    })?;
    write_token_file(&cfg.refresh_token_file, &refresh).map_err(|e| {
        OAuthError::Local(format!(
            "cannot write the refresh token to {}: {e}",
            cfg.refresh_token_file.display()
        ))
    })?;
    Ok(SystemTime::now() + g.lifetime)
}

#[cfg(test)]
mod tests;
