//! OAuth2 against a real identity provider (glewlwyd, tests/idp.sh) and the real Dovecot and
//! Postfix, which accept only the tokens it issued (by introspection). Access tokens live 10 s
//! there, so a running `serve` renews them several times in a test; refresh tokens rotate at
//! every use.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use crate::imap::{mail, without_maildir};
use crate::service::get;
use crate::smtp::delivered;
use crate::util::{free_port, server_env, servers_shared, wait_for, Env};

/// The provider's OIDC plugin base, `http://127.0.0.1:10480/api/oidc`.
fn idp() -> String {
    server_env("POSTDESK_TEST_OAUTH")
}

fn web() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .new_agent()
}

/// Tokens for `user` straight from the provider (the password grant; the device flow is tested
/// on its own): (access token, refresh token).
fn tokens(user: &str) -> (String, String) {
    let mut r = web()
        .post(format!("{}/token", idp()))
        .send_form([
            ("grant_type", "password"),
            ("username", user),
            ("password", "secret"),
            ("scope", "mail"),
            ("client_id", "postdesk"),
            ("client_secret", "postdesk-secret"),
        ])
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    (
        v["access_token"].as_str().unwrap().to_string(),
        v["refresh_token"].as_str().unwrap().to_string(),
    )
}

/// An IMAP session of `user` (who signs in with tokens only), over AUTHENTICATE XOAUTH2 with a
/// token of the test's own.
async fn token_session(user: &str) -> async_imap::Session<tokio::net::TcpStream> {
    struct Xoauth2(String);
    impl async_imap::Authenticator for Xoauth2 {
        type Response = String;
        fn process(&mut self, _: &[u8]) -> String {
            std::mem::take(&mut self.0)
        }
    }
    let (access, _) = tokens(user);
    let tcp = tokio::net::TcpStream::connect(server_env("POSTDESK_TEST_IMAP"))
        .await
        .unwrap();
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.unwrap().unwrap();
    client
        .authenticate(
            "XOAUTH2",
            Xoauth2(format!("user={user}\x01auth=Bearer {access}\x01\x01")),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("the test's own XOAUTH2 login")
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A folder of its own in `user`'s account, made and filled over XOAUTH2.
struct TokenFolder {
    user: String,
    name: String,
}

impl TokenFolder {
    fn new(user: &str) -> TokenFolder {
        let name = format!("t{:x}", fastrand::u64(..));
        block_on(async {
            let mut s = token_session(user).await;
            s.create(&name).await.unwrap();
            let _ = s.logout().await;
        });
        TokenFolder {
            user: user.to_string(),
            name,
        }
    }

    fn append(&self, mails: Vec<Vec<u8>>) {
        block_on(async {
            let mut s = token_session(&self.user).await;
            for m in mails {
                s.append(&self.name, None, None, &m).await.unwrap();
            }
            let _ = s.logout().await;
        });
    }

    /// The `[[mailboxes]]` entry reading this folder with `auth`, its refresh token in `file`.
    fn mailbox_toml(&self, mailbox: &str, auth: &str, file: &str) -> String {
        let (host, port) = server_env("POSTDESK_TEST_IMAP")
            .rsplit_once(':')
            .map(|(h, p)| (h.to_string(), p.to_string()))
            .unwrap();
        format!(
            "\n[[mailboxes]]\nname = \"{mailbox}\"\nkind = \"imap\"\nhost = \"{host}\"\nport = {port}\n\
             tls = \"none\"\nusername = \"{}\"\nfolder = \"{}\"\nafter = \"delete\"\npoll_interval = \"500ms\"\n\
             queue = \"general\"\nauth = \"{auth}\"\n{}\n",
            self.user,
            self.name,
            oauth_toml(file)
        )
    }
}

impl Drop for TokenFolder {
    fn drop(&mut self) {
        let (user, name) = (self.user.clone(), self.name.clone());
        // (on a thread of its own: a panicking test's drop must not panic again)
        let _ = std::thread::spawn(move || {
            block_on(async {
                let mut s = token_session(&user).await;
                let _ = s.delete(&name).await;
                let _ = s.logout().await;
            })
        })
        .join();
    }
}

/// The `oauth = { ... }` line for the test provider, the refresh token kept in `file`.
fn oauth_toml(file: &str) -> String {
    let idp = idp();
    format!(
        "oauth = {{ token_url = \"{idp}/token\", device_url = \"{idp}/device_authorization\", \
         client_id = \"postdesk\", client_secret_file = \"client.secret\", \
         scope = \"mail\", refresh_token_file = \"{file}\" }}"
    )
}

/// Postfix's submission port with STARTTLS, signing in as `user` with `auth`.
fn transport_toml(user: &str, auth: &str, file: &str) -> String {
    let (host, port) = server_env("POSTDESK_TEST_SUBMISSION")
        .rsplit_once(':')
        .map(|(h, p)| (h.to_string(), p.to_string()))
        .unwrap();
    format!(
        "kind = \"smtp\"\nhost = \"{host}\"\nport = {port}\ntls = \"starttls\"\nca_file = \"{}\"\n\
         username = \"{user}\"\nauth = \"{auth}\"\n{}\n",
        server_env("POSTDESK_TEST_CA"),
        oauth_toml(file)
    )
}

fn env_with(mailboxes: &str, transport: Option<&str>) -> Env {
    let env = Env::with(mailboxes, transport);
    without_maildir(&env);
    // (the client secret in a file of its own, as a deployment keeps it out of the config)
    std::fs::write(env.path("client.secret"), "postdesk-secret\n").unwrap();
    env
}

/// Plays the person at the browser: signs in to the provider as `user` and grants postdesk the
/// "mail" scope (the provider's own endpoints, as its login page calls them). The agent and
/// the session cookie.
fn browser_session(user: &str) -> (ureq::Agent, String) {
    let base = idp().trim_end_matches("/oidc").to_string();
    let agent = web();
    let r = agent
        .post(format!("{base}/auth/"))
        .header("Content-Type", "application/json")
        .send(format!(r#"{{"username":"{user}","password":"secret"}}"#))
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "the provider's login");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_string))
        .collect::<Vec<_>>()
        .join("; ");
    assert!(!cookie.is_empty(), "a session cookie");
    let r = agent
        .put(format!("{base}/auth/grant/postdesk"))
        .header("Cookie", &cookie)
        .header("Content-Type", "application/json")
        .send(r#"{"scope":"mail"}"#)
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "the consent");
    (agent, cookie)
}

/// `GET url` in the signed-in browser; where it redirects to.
fn follow(agent: &ureq::Agent, cookie: &str, url: &str) -> String {
    let r = agent.get(url).header("Cookie", cookie).call().unwrap();
    let location = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(r.status().as_u16(), 302, "{url}: {location}");
    location
}

/// Enters `code` at the device verification page as `user`.
fn approve_device_code(user: &str, code: &str) {
    let (agent, cookie) = browser_session(user);
    let location = follow(
        &agent,
        &cookie,
        &format!("{}/device?code={code}&g_continue", idp()),
    );
    assert!(
        location.contains("prompt=deviceComplete"),
        "the device page did not complete: {location}"
    );
}

/// Runs `oauth login NAME [--browser]` until it prints `lines` lines; the child and them.
fn start_login(env: &Env, args: &[&str], lines: usize) -> (std::process::Child, Vec<String>) {
    let mut login = env
        .cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(login.stdout.take().unwrap());
    let mut got = Vec::new();
    for _ in 0..lines {
        let mut l = String::new();
        out.read_line(&mut l).unwrap();
        got.push(l.trim_end().to_string());
    }
    // (the rest of its output is read after it exits)
    login.stdout = Some(out.into_inner());
    (login, got)
}

fn finish_login(mut login: std::process::Child) -> String {
    let mut rest = String::new();
    std::io::Read::read_to_string(login.stdout.as_mut().unwrap(), &mut rest).unwrap();
    let status = login.wait().unwrap();
    assert!(status.success(), "oauth login: {rest}");
    assert!(rest.contains("signed in"), "{rest}");
    rest
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn device_sign_in_then_mail_in_and_out_on_tokens_renewed_while_serve_runs() {
    let _servers = servers_shared();
    let root = server_env("POSTDESK_TEST_MAILROOT");
    let folder = TokenFolder::new("oauth@example.test");
    // One sign-in for both: the mailbox and the transport name the same refresh token file.
    let file = "var/oauth/desk.token";
    let env = env_with(
        &folder.mailbox_toml("desk", "xoauth2", file),
        Some(&transport_toml("oauth@example.test", "oauthbearer", file)),
    );

    // Not signed in yet: check says how to.
    let out = env.run(&["check"]);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        report.lines().any(|l| l.starts_with("FAIL")
            && l.contains("mailbox 'desk'")
            && l.contains("postdesk oauth login desk")),
        "{report}"
    );

    // The device flow: postdesk prints the URL and the code, the person enters it, postdesk
    // stores the refresh token (mode 0600).
    let (login, first) = start_login(&env, &["oauth", "login", "desk"], 1);
    let first = first[0].clone();
    assert!(
        first.contains(&format!("{}/device", idp())),
        "the verification URL: {first}"
    );
    let code = first.rsplit(' ').next().unwrap_or_default().to_string();
    approve_device_code("oauth@example.test", &code);
    let rest = finish_login(login);
    let token_file = env.path(file);
    let signed_in = std::fs::read_to_string(&token_file).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(
        !format!("{first}{rest}").contains(signed_in.trim()),
        "the refresh token was printed"
    );

    // check: both sign in, and say until when their token is good.
    let out = env.run(&["check"]);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{report}");
    for what in ["mailbox 'desk'", "transport: smtp server answers"] {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with("ok") && l.contains(what) && l.contains("token good until")),
            "{what}: {report}"
        );
    }

    // serve for three token lifetimes, a mail arriving every 2.5 s: every one is stored once and
    // acknowledged through the submission port, on tokens renewed as they run out.
    let tag = format!("{:x}", fastrand::u64(..));
    let d = env.serve();
    let n = 12;
    for i in 0..n {
        folder.append(vec![mail(i, &tag)]);
        std::thread::sleep(Duration::from_millis(2500));
    }
    wait_for(30, "a ticket for every mail", || {
        (env.tickets().len() == n).then_some(())
    });
    let sent = wait_for(30, "every acknowledgement sent", || {
        let o = env.outbox();
        (o.len() == n && o.iter().all(|m| m["status"] == "sent")).then_some(o)
    });
    for m in &sent {
        let mid = m["message_id"].as_str().unwrap().to_string();
        wait_for(20, "the acknowledgement in the customer's mailbox", || {
            (delivered(&root, &mid).len() == 1).then_some(())
        });
    }
    env.terminate(d);
    let log = env.serve_log();
    let refreshes = log.matches("access token refreshed").count();
    assert!(
        refreshes >= 3,
        "{refreshes} refreshes in 30 s of 10 s tokens:\n{log}"
    );
    assert!(
        log.contains("signing in again before the token expires"),
        "{log}"
    );
    // The provider rotated the refresh token at every refresh; the newest is kept.
    let now = std::fs::read_to_string(&token_file).unwrap();
    assert_ne!(now, signed_in, "the rotated refresh token was not kept");
    assert!(!log.contains(now.trim()) && !log.contains(signed_in.trim()));
    assert_eq!(env.count("SELECT COUNT(*) AS n FROM tickets"), n as i64);
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn browser_sign_in_with_pkce_comes_back_to_a_loopback_port() {
    let _servers = servers_shared();
    let folder = TokenFolder::new("oauth2@example.test");
    let file = "var/oauth/browser.token";
    // No device_url (Google's case for Gmail): `oauth login` signs in in the browser. The
    // provider matches redirect URIs exactly, so the port is fixed (10481, tests/idp.sh).
    let oauth = oauth_toml(file).replace(
        &format!("device_url = \"{}/device_authorization\"", idp()),
        &format!("auth_url = \"{}/auth\", redirect_port = 10481", idp()),
    );
    let mailbox = folder
        .mailbox_toml("desk", "xoauth2", file)
        .replace(&oauth_toml(file), &oauth);
    assert!(mailbox.contains("auth_url"), "{mailbox}");
    let env = env_with(&mailbox, None);

    let (login, lines) = start_login(&env, &["oauth", "login", "desk"], 2);
    let page = lines[1].clone();
    assert!(page.starts_with(&format!("{}/auth?", idp())), "{lines:?}");
    assert!(page.contains("code_challenge_method=S256"), "{page}");
    // The browser: signs in, is sent back to postdesk's loopback port with the code.
    let (agent, cookie) = browser_session("oauth2@example.test");
    let back = follow(&agent, &cookie, &format!("{page}&g_continue"));
    assert!(back.starts_with("http://127.0.0.1:10481/?"), "{back}");
    // A scanner or a stale tab without our state is turned away; the real return signs in.
    let stray = web()
        .get("http://127.0.0.1:10481/?code=forged&state=forged")
        .call()
        .unwrap();
    assert_eq!(stray.status().as_u16(), 404);
    let mut home = web().get(&back).call().unwrap();
    assert_eq!(home.status().as_u16(), 200);
    assert!(home
        .body_mut()
        .read_to_string()
        .unwrap()
        .contains("Signed in"));
    finish_login(login);

    let out = env.run(&["check"]);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        report.lines().any(|l| l.starts_with("ok")
            && l.contains("mailbox 'desk'")
            && l.contains("token good until")),
        "{report}"
    );
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn a_revoked_grant_stops_its_mailbox_only_and_healthz_says_which() {
    let _servers = servers_shared();
    let good = TokenFolder::new("oauth@example.test");
    let revoked = TokenFolder::new("oauth2@example.test");
    let port = free_port();
    let env = env_with(
        &format!(
            "{}{}\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n",
            good.mailbox_toml("good", "oauthbearer", "var/oauth/good.token"),
            revoked.mailbox_toml("revoked", "xoauth2", "var/oauth/revoked.token"),
        ),
        None,
    );
    // Both signed in; then the second grant is revoked at the provider (RFC 7009), as an
    // administrator or the user does.
    for (user, file) in [
        ("oauth@example.test", "good.token"),
        ("oauth2@example.test", "revoked.token"),
    ] {
        let (_, refresh) = tokens(user);
        std::fs::create_dir_all(env.path("var/oauth")).unwrap();
        std::fs::write(env.path(&format!("var/oauth/{file}")), &refresh).unwrap();
        if file == "revoked.token" {
            let r = web()
                .post(format!("{}/revoke", idp()))
                .send_form([
                    ("token", refresh.as_str()),
                    ("token_type_hint", "refresh_token"),
                    ("client_id", "postdesk"),
                    ("client_secret", "postdesk-secret"),
                ])
                .unwrap();
            assert_eq!(r.status().as_u16(), 200, "the revocation");
        }
    }

    let d = env.serve();
    let tag = format!("{:x}", fastrand::u64(..));
    good.append(vec![mail(1, &tag)]);
    wait_for(20, "the good mailbox's ticket", || {
        (env.tickets().len() == 1).then_some(())
    });
    let (code, body) = wait_for(20, "/healthz naming the revoked mailbox", || {
        get(port, "/healthz").filter(|(_, b)| b.contains("\"error\""))
    });
    env.terminate(d);
    assert_eq!(code, 503, "{body}");
    let h: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(h["mailboxes"]["good"]["healthy"], true, "{body}");
    assert_eq!(h["mailboxes"]["revoked"]["healthy"], false, "{body}");
    assert_eq!(h["mailboxes"]["revoked"]["state"], "backoff", "{body}");
    let error = h["mailboxes"]["revoked"]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(error.contains("postdesk oauth login revoked"), "{error}");
    let log = env.serve_log();
    assert!(log.contains("mailbox=revoked"), "{log}");
}

/// config/production.toml (IMAP and SMTP on one OAuth2 sign-in, PostgreSQL) is a config `check`
/// accepts; its servers are not reachable from a test, so only the config and the templates
/// can pass here.
#[test]
fn the_production_example_config_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/production.toml");
    let mut cmd = std::process::Command::new(crate::util::BIN);
    cmd.arg("--config")
        .arg(&config)
        .arg("check")
        .current_dir(dir.path());
    let out = crate::util::output_within(cmd, None, Duration::from_secs(120));
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(
        out.status.code(),
        Some(2),
        "the config was refused: {stderr}"
    );
    let lines: Vec<&str> = report.lines().filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("ok   config"), "{report}");
    assert!(lines[1].starts_with("ok   templates"), "{report}");
    for l in &lines[2..] {
        assert!(
            l.starts_with("ok") || l.contains("db.example.test") || l.contains("office365.com"),
            "a failure that is not about reaching the servers: {l}\n{report}"
        );
    }
}
