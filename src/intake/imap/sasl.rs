//! How an IMAP session signs in with SASL: PLAIN, and a bearer token (XOAUTH2, OAUTHBEARER)
//! with one fresh try after a refused one.

use super::{within, ImapError, ImapIo, Session};
use crate::config::ImapConfig;

/// How the session signed in.
#[derive(Debug, Clone, Copy)]
pub enum Signed {
    Password,
    /// With a token that expires then (less a margin): the session is ended and opened again
    /// before, as Microsoft 365 ends the sessions of expired tokens.
    Token(std::time::SystemTime),
}

/// Signs in with a bearer token; a token the server refuses is forgotten and a fresh one tried
/// once, on the same connection.
pub(super) async fn bearer_login(
    cfg: &ImapConfig,
    o: &crate::config::OAuth,
    mut client: async_imap::Client<Box<dyn ImapIo>>,
) -> Result<(Session, Signed), ImapError> {
    let mut tried_fresh = false;
    loop {
        let tokens = o.tokens.clone();
        let token = tokio::task::spawn_blocking(move || tokens.access_token())
            .await
            .map_err(|e| ImapError::Local(e.to_string()))??;
        let mut x = crate::oauth::sasl::Exchange::new(
            o.mechanism,
            &cfg.username,
            &cfg.host,
            cfg.port,
            token.secret.expose(),
        );
        match within(async {
            Ok::<_, ImapError>(client.authenticate(o.mechanism.name(), &mut x).await)
        })
        .await?
        {
            Ok(session) => return Ok((session, Signed::Token(token.expires_at))),
            Err((e, c)) => {
                o.tokens.refused(&token);
                if token.fresh || tried_fresh {
                    let why = x
                        .challenge
                        .map(|c| format!(" (the server said {c})"))
                        .unwrap_or_default();
                    return Err(ImapError::Login(
                        cfg.username.clone(),
                        format!("{}: the token was refused{why}: {e}", o.mechanism.name()),
                    ));
                }
                tracing::info!(user = %cfg.username, "imap: the server refused the token; asking for a new one");
                tried_fresh = true;
                client = c;
            }
        }
    }
}

impl async_imap::Authenticator for &mut crate::oauth::sasl::Exchange {
    type Response = Vec<u8>;
    fn process(&mut self, challenge: &[u8]) -> Vec<u8> {
        self.step(challenge)
    }
}

/// SASL PLAIN (RFC 4616): the authorisation identity left empty, then user and password.
pub(super) struct SaslPlain {
    pub(super) user: String,
    pub(super) password: String,
}

impl async_imap::Authenticator for SaslPlain {
    type Response = Vec<u8>;
    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        let mut r = Vec::with_capacity(self.user.len() + self.password.len() + 2);
        r.push(0);
        r.extend_from_slice(self.user.as_bytes());
        r.push(0);
        r.extend_from_slice(self.password.as_bytes());
        r
    }
}
