//! The two requests to the provider: a token request (RFC 6749 §4-6, RFC 8628 §3.4) and a
//! device authorization request (RFC 8628 §3.1), form-encoded POSTs answered in JSON.

use std::time::Duration;

use super::{DeviceCode, OAuthConfig, OAuthError};
use crate::config::Secret;

/// An answer of the token endpoint.
pub(super) enum TokenReply {
    Granted(Granted),
    /// An error answer (RFC 6749 §5.2): `invalid_grant`, `authorization_pending`, …
    Refused {
        error: String,
        description: String,
    },
}

pub(super) struct Granted {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub lifetime: Duration,
}

/// How long one request may take in all.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Tokens without `expires_in` are taken to live an hour (what Microsoft and Google issue).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// POSTs `form` (with the client's id, and its secret in the body as `client_secret_post`
/// asks) to `url`; the status and the JSON body.
fn post(
    cfg: &OAuthConfig,
    url: &str,
    form: &[(&str, &str)],
) -> Result<(u16, serde_json::Value), OAuthError> {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    fields.push(("client_id", &cfg.client_id));
    if let Some(secret) = &cfg.client_secret {
        fields.push(("client_secret", secret.expose()));
    }
    let unreachable = |e: String| OAuthError::Unreachable(url.to_string(), e);
    let mut reply = agent()
        .post(url)
        .header("Accept", "application/json")
        .send_form(fields)
        .map_err(|e| unreachable(e.to_string()))?;
    let status = reply.status().as_u16();
    let body = reply
        .body_mut()
        .read_to_string()
        .map_err(|e| unreachable(e.to_string()))?;
    match serde_json::from_str(&body) {
        Ok(v) => Ok((status, v)),
        // (glewlwyd refuses a bad refresh token or client secret with an empty 400)
        Err(_) if (400..500).contains(&status) => Ok((status, serde_json::Value::Null)),
        Err(_) => Err(unreachable(format!(
            "HTTP {status}, and the answer is not JSON ({} bytes)",
            body.len()
        ))),
    }
}

fn text(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key).and_then(|s| s.as_str()).map(str::to_string)
}

fn seconds(v: &serde_json::Value, key: &str) -> Option<Duration> {
    let n = v.get(key)?;
    // (some providers send the number as a string)
    n.as_u64()
        .or_else(|| n.as_str().and_then(|s| s.parse().ok()))
        .map(Duration::from_secs)
}

/// A token request at the token endpoint.
pub(super) fn token_request(
    cfg: &OAuthConfig,
    form: &[(&str, &str)],
) -> Result<TokenReply, OAuthError> {
    let (status, v) = post(cfg, &cfg.token_url, form)?;
    parse_token_reply(status, &v).map_err(|e| OAuthError::Unreachable(cfg.token_url.clone(), e))
}

/// Reads a token endpoint's answer.
pub(super) fn parse_token_reply(status: u16, v: &serde_json::Value) -> Result<TokenReply, String> {
    if let Some(error) = text(v, "error") {
        return Ok(TokenReply::Refused {
            error,
            description: text(v, "error_description").unwrap_or_default(),
        });
    }
    match (status, text(v, "access_token")) {
        (200..=299, Some(access)) => Ok(TokenReply::Granted(Granted {
            access_token: Secret::new(access),
            refresh_token: text(v, "refresh_token").map(Secret::new),
            lifetime: seconds(v, "expires_in").unwrap_or(DEFAULT_LIFETIME),
        })),
        (200..=299, None) => Err("the answer has no access_token".into()),
        // A refusal without the error code RFC 6749 §5.2 asks for: asking again will not help.
        (400..=499, _) => Ok(TokenReply::Refused {
            error: format!("HTTP {status}"),
            description: "the provider gave no reason".into(),
        }),
        (status, _) => Err(format!("HTTP {status} without an OAuth2 error code")),
    }
}

/// Starts a device-code sign-in at `url`.
pub(super) fn device_authorization(cfg: &OAuthConfig, url: &str) -> Result<DeviceCode, OAuthError> {
    let (status, v) = post(cfg, url, &[("scope", &cfg.scope)])?;
    if let Some(error) = text(&v, "error") {
        let description = text(&v, "error_description").unwrap_or_default();
        return Err(match error.as_str() {
            "invalid_client" | "unauthorized_client" => {
                OAuthError::Client(cfg.client_id.clone(), format!("{error} {description}"))
            }
            _ => OAuthError::Local(format!(
                "the provider refused to start the sign-in: {error} {description}"
            )),
        });
    }
    let missing = |k: &str| {
        OAuthError::Unreachable(
            url.to_string(),
            format!("HTTP {status}: the answer has no {k}"),
        )
    };
    Ok(DeviceCode {
        // (Microsoft's v1 endpoints say verification_url)
        verification_uri: text(&v, "verification_uri")
            .or_else(|| text(&v, "verification_url"))
            .ok_or_else(|| missing("verification_uri"))?,
        verification_uri_complete: text(&v, "verification_uri_complete"),
        user_code: text(&v, "user_code").ok_or_else(|| missing("user_code"))?,
        device_code: Secret::new(text(&v, "device_code").ok_or_else(|| missing("device_code"))?),
        interval: seconds(&v, "interval").unwrap_or(Duration::from_secs(5)),
        expires_in: seconds(&v, "expires_in").unwrap_or(Duration::from_secs(900)),
    })
}
