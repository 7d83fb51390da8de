use super::http::{parse_token_reply, TokenReply};
use super::*;
use serde_json::json;

#[test]
fn token_replies() {
    match parse_token_reply(
        200,
        &json!({"access_token": "at", "refresh_token": "rt", "expires_in": 3599, "token_type": "Bearer"}),
    ) {
        Ok(TokenReply::Granted(g)) => {
            assert_eq!(g.access_token.expose(), "at");
            assert_eq!(g.refresh_token.as_ref().map(Secret::expose), Some("rt"));
            assert_eq!(g.lifetime, Duration::from_secs(3599));
        }
        _ => panic!("a grant"),
    }
    // Microsoft's v1 endpoint sends expires_in as a string; no refresh token: none rotated
    match parse_token_reply(200, &json!({"access_token": "at", "expires_in": "60"})) {
        Ok(TokenReply::Granted(g)) => {
            assert!(g.refresh_token.is_none());
            assert_eq!(g.lifetime, Duration::from_secs(60));
        }
        _ => panic!("a grant"),
    }
    match parse_token_reply(
        400,
        &json!({"error": "invalid_grant", "error_description": "AADSTS700082: expired"}),
    ) {
        Ok(TokenReply::Refused { error, description }) => {
            assert_eq!(error, "invalid_grant");
            assert_eq!(description, "AADSTS700082: expired");
        }
        _ => panic!("a refusal"),
    }
    assert!(parse_token_reply(500, &json!({})).is_err());
    // glewlwyd: an empty 400 for a revoked refresh token or a wrong client secret
    assert!(matches!(
        parse_token_reply(400, &serde_json::Value::Null),
        Ok(TokenReply::Refused { error, .. }) if error == "HTTP 400"
    ));
    assert!(parse_token_reply(200, &json!({"token_type": "Bearer"})).is_err());
}

#[test]
fn short_lived_tokens_are_renewed_halfway() {
    assert_eq!(margin(Duration::from_secs(3600)), Duration::from_secs(60));
    assert_eq!(margin(Duration::from_secs(10)), Duration::from_secs(5));
}

#[test]
fn what_needs_a_person() {
    let grant = OAuthError::Grant("invalid_grant".into(), String::new(), "support".into());
    assert!(grant.needs_person());
    assert!(grant
        .to_string()
        .contains("sign in again with `postdesk oauth login support`"));
    assert!(OAuthError::NotSignedIn("x".into(), "support".into()).needs_person());
    assert!(!OAuthError::Unreachable("u".into(), "timeout".into()).needs_person());
}

#[test]
fn the_token_file_is_replaced_whole_and_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oauth/support.token");
    write_token_file(&path, &Secret::new("one".into())).unwrap();
    write_token_file(&path, &Secret::new("two".into())).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "two\n");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        read_token_file(&path).unwrap().as_ref().map(Secret::expose),
        Some("two")
    );
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        1
    );
    assert!(read_token_file(&dir.path().join("none")).unwrap().is_none());
}

#[test]
fn a_source_without_a_refresh_token_says_how_to_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let src = TokenSource::new(
        "support",
        OAuthConfig {
            token_url: "http://127.0.0.1:9/token".into(),
            device_url: None,
            auth_url: None,
            redirect_port: 0,
            client_id: "c".into(),
            client_secret: None,
            scope: "mail".into(),
            refresh_token_file: dir.path().join("missing.token"),
        },
    );
    let e = src.access_token().unwrap_err();
    assert!(matches!(e, OAuthError::NotSignedIn(..)), "{e}");
    assert!(e.to_string().contains("postdesk oauth login support"));
}
