//! `oauth login NAME`: the device-code sign-in (RFC 8628) of a mailbox or the transport.

use super::*;
use crate::config::{ImapAuth, TransportConfig};
use crate::oauth::OAuthConfig;

/// The OAuth2 settings of the mailbox `name`, or of the transport when `name` is "transport".
fn oauth_of<'c>(cfg: &'c Config, name: &str) -> Result<&'c OAuthConfig, Failure> {
    let mailbox = cfg.mailbox(name).map(|m| match &m.source {
        MailboxSource::Imap(i) => match &i.auth {
            ImapAuth::OAuth(o) => Ok(o.tokens.config()),
            _ => Err(format!("mailbox '{name}' signs in with a password, not OAuth2 (auth = \"xoauth2\" or \"oauthbearer\" with oauth = {{ ... }})")),
        },
        _ => Err(format!("mailbox '{name}' is not an IMAP mailbox")),
    });
    let found = match (mailbox, &cfg.transport) {
        (Some(found), _) => found,
        (None, TransportConfig::Smtp(s)) if name == "transport" => match &s.oauth {
            Some(o) => Ok(o.tokens.config()),
            None => Err("the transport signs in with a password or not at all, not OAuth2".into()),
        },
        (None, _) => {
            let mut names: Vec<&str> = cfg.mailboxes.iter().map(|m| m.name.as_str()).collect();
            names.push("transport");
            Err(format!(
                "no mailbox named '{name}' in {} (configured: {})",
                cfg.file.display(),
                names.join(", ")
            ))
        }
    };
    found.map_err(Failure::usage)
}

pub(super) fn oauth_login(cfg: &Config, name: &str, browser: bool) -> Outcome {
    let o = oauth_of(cfg, name)?;
    if browser || o.device_url.is_none() {
        return browser_login(o, name);
    }
    let code = crate::oauth::device_start(o).map_err(Failure::runtime)?;
    say!(
        "To sign in '{name}', open {} and enter the code {}",
        code.verification_uri,
        code.user_code
    );
    if let Some(complete) = &code.verification_uri_complete {
        say!("(or open {complete})");
    }
    say!("waiting for the sign-in…");
    let until = crate::oauth::device_finish(o, &code).map_err(Failure::runtime)?;
    signed_in(o, until);
    Ok(())
}

/// The browser sign-in: a URL to open, then the browser comes back to a loopback port.
fn browser_login(o: &OAuthConfig, name: &str) -> Outcome {
    let b = crate::oauth::loopback::start(o).map_err(Failure::runtime)?;
    say!("To sign in '{name}', open this page in a browser on this machine (or through `ssh -L PORT:127.0.0.1:PORT` for the port in it):");
    say!("{}", b.url);
    say!("waiting for the browser to come back…");
    let until = crate::oauth::loopback::finish(o, b, std::time::Duration::from_secs(600))
        .map_err(Failure::runtime)?;
    signed_in(o, until);
    Ok(())
}

fn signed_in(o: &OAuthConfig, until: std::time::SystemTime) {
    say!(
        "signed in: the refresh token is in {} (readable by its owner only); the first access token is good until {}",
        o.refresh_token_file.display(),
        chrono::DateTime::<chrono::Utc>::from(until)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
}
