//! `auth = "xoauth2" | "oauthbearer"` with `oauth = { ... }` on an IMAP mailbox or the SMTP
//! transport: reading them into a shared [`TokenSource`].

use super::*;
use crate::oauth::{Mechanism, OAuthConfig, TokenSource};
use std::sync::Arc;

/// How a mailbox or the transport signs in with OAuth2.
#[derive(Debug, Clone)]
pub struct OAuth {
    pub mechanism: Mechanism,
    /// The tokens, shared by every connection of this mailbox (or the transport).
    pub tokens: Arc<TokenSource>,
}

impl Reader {
    /// The `oauth` table when `auth` names an OAuth2 mechanism; a problem when one is given
    /// without the other.
    pub(super) fn oauth(
        &mut self,
        s: &mut Section<'_>,
        mechanism: Option<Mechanism>,
        name: &str,
    ) -> Option<OAuth> {
        let table = self.get(s, "oauth");
        let (mechanism, table) = match (mechanism, table) {
            (None, None) => return None,
            (None, Some(_)) => {
                self.problem(
                    s.key("oauth"),
                    "given, but auth is not \"xoauth2\" or \"oauthbearer\": set auth to use it",
                );
                return None;
            }
            (Some(_), None) => {
                self.problem(
                    s.key("oauth"),
                    "missing; expected oauth = { token_url = \"...\", client_id = \"...\", scope = \"...\", refresh_token_file = \"...\" } for an OAuth2 sign-in",
                );
                return None;
            }
            (Some(m), Some(Value::Table(t))) => (m, t),
            (Some(_), Some(v)) => {
                self.problem(
                    s.key("oauth"),
                    format!(
                        "expected a table {{ token_url = ..., client_id = ... }}, found {}",
                        type_name(v)
                    ),
                );
                return None;
            }
        };
        let mut o = Section::new(table, s.key("oauth"));
        let url = |r: &mut Reader, o: &mut Section<'_>, k: &'static str, required: bool| {
            let v = if required {
                r.required_string(o, k, "an https:// URL")
            } else {
                r.string(o, k, "an https:// URL")
            }?;
            match url::Url::parse(&v) {
                Ok(u) if u.scheme() == "https" => Some(v),
                // Plain http only to this machine (a local provider, the tests').
                Ok(u)
                    if u.scheme() == "http"
                        && u.host_str().is_some_and(|h| {
                            h == "localhost"
                                || h.trim_matches(['[', ']'])
                                    .parse::<std::net::IpAddr>()
                                    .is_ok_and(|ip| ip.is_loopback())
                        }) =>
                {
                    Some(v)
                }
                _ => {
                    r.problem(
                        o.key(k),
                        format!("expected an https:// URL (http only on loopback), found \"{v}\""),
                    );
                    None
                }
            }
        };
        let token_url = url(self, &mut o, "token_url", true);
        let device_url = url(self, &mut o, "device_url", false);
        let auth_url = url(self, &mut o, "auth_url", false);
        let redirect_port = match self.get(&mut o, "redirect_port") {
            None => 0,
            Some(Value::Integer(p)) if (1..=65535).contains(p) => *p as u16,
            Some(v) => {
                self.problem(
                    o.key("redirect_port"),
                    format!(
                        "expected a port number from 1 to 65535, found {}",
                        type_name(v)
                    ),
                );
                0
            }
        };
        let client_id = self.required_string(&mut o, "client_id", "the application (client) id");
        let scope = self.required_string(
            &mut o,
            "scope",
            "the scopes, space-separated (Microsoft 365: \"https://outlook.office.com/IMAP.AccessAsUser.All offline_access\")",
        );
        let refresh_token_file = self.required_string(
            &mut o,
            "refresh_token_file",
            "a path where `oauth login` keeps the refresh token, such as \"var/oauth/support.token\"",
        );
        let secret_file = self.string(
            &mut o,
            "client_secret_file",
            "a path to a file holding the client secret",
        );
        let secret_env = self.string(
            &mut o,
            "client_secret_env",
            "the name of an environment variable holding the client secret",
        );
        let client_secret = match (secret_file, secret_env) {
            (Some(_), Some(_)) => {
                self.problem(
                    o.key("client_secret_file"),
                    "give only one of client_secret_file and client_secret_env",
                );
                None
            }
            (Some(f), None) => {
                let f = credential_path(&f);
                match read_secret(&f).map(|b| String::from_utf8_lossy(&b).trim().to_string()) {
                    Ok(s) if !s.is_empty() => Some(Secret::new(s)),
                    Ok(_) => {
                        self.problem(o.key("client_secret_file"), format!("'{f}' is empty"));
                        None
                    }
                    Err(e) => {
                        self.problem(
                            o.key("client_secret_file"),
                            format!("expected a readable file, but '{f}' cannot be read: {e}"),
                        );
                        None
                    }
                }
            }
            (None, Some(var)) => match std::env::var(&var) {
                Ok(v) => Some(Secret::new(v)),
                Err(_) => {
                    self.problem(
                        o.key("client_secret_env"),
                        format!("expected the environment variable {var} to be set"),
                    );
                    None
                }
            },
            (None, None) => None,
        };
        self.unknown_keys(&o);
        let cfg = OAuthConfig {
            token_url: token_url?,
            device_url,
            auth_url,
            redirect_port,
            client_id: client_id?,
            client_secret,
            scope: scope?,
            refresh_token_file: PathBuf::from(refresh_token_file?),
        };
        let shared = self
            .token_sources
            .iter()
            .find(|t| t.config().refresh_token_file == cfg.refresh_token_file)
            .cloned();
        let tokens = match shared {
            Some(t) if t.config() == &cfg => t,
            Some(t) => {
                self.problem(
                    o.key("refresh_token_file"),
                    format!(
                        "'{}' is also the refresh_token_file of '{}' with other oauth settings: give each sign-in its own file, or the same settings",
                        cfg.refresh_token_file.display(),
                        t.name()
                    ),
                );
                return None;
            }
            None => {
                let t = Arc::new(TokenSource::new(name, cfg));
                self.token_sources.push(t.clone());
                t
            }
        };
        Some(OAuth { mechanism, tokens })
    }

    /// `auth` of an IMAP mailbox or the transport: the password mechanisms `passwords` allows,
    /// or an OAuth2 one.
    pub(super) fn auth_mechanism<P: Clone>(
        &mut self,
        s: &mut Section<'_>,
        passwords: &[(&str, P)],
        default: P,
    ) -> (P, Option<Mechanism>) {
        let mut expected: Vec<String> = passwords.iter().map(|(n, _)| format!("\"{n}\"")).collect();
        expected.extend(["\"xoauth2\"".into(), "\"oauthbearer\"".into()]);
        let expected = expected.join(", ");
        match self.string(s, "auth", &expected).as_deref() {
            None => (default, None),
            Some("xoauth2") => (default, Some(Mechanism::XOAuth2)),
            Some("oauthbearer") => (default, Some(Mechanism::OAuthBearer)),
            Some(other) => match passwords.iter().find(|(n, _)| *n == other) {
                Some((_, p)) => (p.clone(), None),
                None => {
                    self.problem(
                        s.key("auth"),
                        format!("expected {expected}, found \"{other}\""),
                    );
                    (default, None)
                }
            },
        }
    }
}
