//! The browser sign-in of `oauth login --browser` (RFC 6749 §4.1 with PKCE, RFC 7636, and a
//! loopback redirect, RFC 8252 §7.3): for providers that do not allow the device flow for mail
//! (Google allows it only for a short list of scopes, and not for Gmail's).

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use sha2::Digest as _;

use super::{http, store_grant, OAuthConfig, OAuthError};
use crate::config::Secret;

/// A sign-in waiting for the browser to come back.
pub struct Browser {
    /// The page to open.
    pub url: String,
    listener: TcpListener,
    redirect_uri: String,
    state: String,
    verifier: Secret,
}

fn random_b64(bytes: usize) -> Result<String, OAuthError> {
    let mut b = vec![0u8; bytes];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .map_err(|_| OAuthError::Local("no randomness from the system".into()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// Listens on loopback and builds the authorization URL.
pub fn start(cfg: &OAuthConfig) -> Result<Browser, OAuthError> {
    let auth_url = cfg.auth_url.as_deref().ok_or_else(|| {
        OAuthError::Local(
            "oauth.auth_url is not set: the provider's authorization endpoint is needed to sign in in a browser"
                .into(),
        )
    })?;
    let listener = TcpListener::bind(("127.0.0.1", cfg.redirect_port)).map_err(|e| {
        OAuthError::Local(format!(
            "cannot listen on 127.0.0.1:{} for the browser's return: {e}",
            cfg.redirect_port
        ))
    })?;
    let port = listener
        .local_addr()
        .map_err(|e| OAuthError::Local(e.to_string()))?
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}/");
    let state = random_b64(16)?;
    let verifier = random_b64(32)?;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let url = url::Url::parse_with_params(
        auth_url,
        [
            ("response_type", "code"),
            ("client_id", cfg.client_id.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("scope", cfg.scope.as_str()),
            ("state", state.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            // (Google gives a refresh token only with these two)
            ("access_type", "offline"),
            ("prompt", "consent"),
        ],
    )
    .map_err(|e| OAuthError::Local(format!("oauth.auth_url: {e}")))?;
    Ok(Browser {
        url: url.to_string(),
        listener,
        redirect_uri,
        state,
        verifier: Secret::new(verifier),
    })
}

/// What the browser brought back to the redirect URI.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Return {
    Code(String),
    /// The provider's error (`access_denied`, …).
    Error(String),
    /// Another request (a favicon): not the sign-in's.
    Other,
}

/// Reads the request line `GET /?code=...&state=... HTTP/1.1` of a redirect; a code only
/// with the `state` we sent.
pub(super) fn parse_return(request_line: &str, state: &str) -> Return {
    let mut parts = request_line.split_whitespace();
    let (Some("GET"), Some(target)) = (parts.next(), parts.next()) else {
        return Return::Other;
    };
    let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{target}")) else {
        return Return::Other;
    };
    if url.path() != "/" {
        return Return::Other;
    }
    let get = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    if get("state").as_deref() != Some(state) {
        return Return::Other;
    }
    match (get("code"), get("error")) {
        (Some(code), None) => Return::Code(code),
        (_, Some(e)) => Return::Error(e),
        (None, None) => Return::Other,
    }
}

fn answer(stream: &mut TcpStream, status: &str, text: &str) {
    let body = format!("<!doctype html><meta charset=utf-8><title>postdesk</title><p>{text}</p>\n");
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Waits (up to `limit`) for the browser to return with a code, exchanges it for tokens and
/// stores the refresh token.
pub fn finish(cfg: &OAuthConfig, b: Browser, limit: Duration) -> Result<SystemTime, OAuthError> {
    let deadline = Instant::now() + limit;
    b.listener
        .set_nonblocking(true)
        .map_err(|e| OAuthError::Local(e.to_string()))?;
    let code = loop {
        if Instant::now() > deadline {
            return Err(OAuthError::Local(
                "the browser did not come back in time; run `oauth login` again".into(),
            ));
        }
        let mut stream = match b.listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            Err(e) => return Err(OAuthError::Local(e.to_string())),
        };
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let text = String::from_utf8_lossy(&head);
        match parse_return(text.lines().next().unwrap_or_default(), &b.state) {
            Return::Code(code) => {
                answer(
                    &mut stream,
                    "200 OK",
                    "Signed in: postdesk has what it needs. You may close this page.",
                );
                break code;
            }
            Return::Error(e) => {
                answer(&mut stream, "200 OK", "The sign-in was not completed.");
                return Err(OAuthError::Local(format!("the provider says: {e}")));
            }
            Return::Other => answer(&mut stream, "404 Not Found", "Not here."),
        }
    };
    let reply = http::token_request(
        cfg,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &b.redirect_uri),
            ("code_verifier", b.verifier.expose()),
        ],
    )?;
    match reply {
        http::TokenReply::Granted(g) => store_grant(cfg, g),
        http::TokenReply::Refused { error, description } => Err(OAuthError::Local(format!(
            "the provider refused the code: {error} {description}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redirect_is_read_only_with_our_state() {
        let cases = [
            (
                "GET /?code=abc&state=s1 HTTP/1.1",
                Return::Code("abc".into()),
            ),
            (
                "GET /?state=s1&code=a%2Bb HTTP/1.1",
                Return::Code("a+b".into()),
            ),
            ("GET /?code=abc&state=other HTTP/1.1", Return::Other),
            ("GET /?code=abc HTTP/1.1", Return::Other),
            ("GET /favicon.ico HTTP/1.1", Return::Other),
            ("POST /?code=abc&state=s1 HTTP/1.1", Return::Other),
            (
                "GET /?error=access_denied&state=s1 HTTP/1.1",
                Return::Error("access_denied".into()),
            ),
            ("", Return::Other),
        ];
        for (line, want) in cases {
            assert_eq!(parse_return(line, "s1"), want, "{line}");
        }
    }
}
