//! The config's sections, each read and checked by one method of the reader: a problem is
//! recorded with its file and key and the reading goes on, so every problem is reported at once.

use super::*;

impl Reader {
    pub(super) fn database(&mut self, top: &mut Section<'_>) -> Option<DatabaseConfig> {
        match self.table(top, "database", true) {
            Some(t) => {
                let mut s = Section::new(t, "database");
                let url = self.required_string(
                    &mut s,
                    "url",
                    "a string such as \"sqlite://var/postdesk.db\" or \"postgres://user@host/db\"",
                );
                if let Some(u) = &url {
                    let pg = u.starts_with("postgres://") || u.starts_with("postgresql://");
                    if !(u.starts_with("sqlite://") || pg) {
                        self.problem(s.key("url"), format!("expected a URL starting with sqlite:// or postgres://, found \"{}\"", crate::store::redact_url(u)));
                    } else if pg && !plain_userinfo(u) {
                        // PostgreSQL's own reading ends the password at its first '@' or '/'
                        // and then echoes the rest as a host name in its messages.
                        self.problem(s.key("url"), "the user name or password holds '@', '/' or '#': write them percent-encoded (%40, %2F, %23); the URL is not shown as it holds a password");
                    }
                }
                self.unknown_keys(&s);
                url.map(|url| DatabaseConfig { url })
            }
            None => None,
        }
    }

    pub(super) fn identity(&mut self, top: &mut Section<'_>) -> Option<Identity> {
        match self.table(top, "identity", true) {
            Some(t) => {
                let mut s = Section::new(t, "identity");
                let name = self
                    .string(&mut s, "name", "a display name")
                    .unwrap_or_else(|| "Support".into());
                let address = self.required_string(
                    &mut s,
                    "address",
                    "an email address such as \"support@example.test\"",
                );
                if let Some(a) = &address {
                    if !a.contains('@') || a.contains(char::is_whitespace) {
                        self.problem(
                            s.key("address"),
                            format!("expected an email address, found \"{a}\""),
                        );
                    }
                }
                let subject_tag = self
                    .string(&mut s, "subject_tag", "a short word such as \"Support\"")
                    .unwrap_or_else(|| "Support".into());
                if subject_tag.is_empty() || subject_tag.contains(['[', ']', '#', '\r', '\n']) {
                    self.problem(
                        s.key("subject_tag"),
                        "expected a short word without [, ], # or line breaks",
                    );
                }
                let domain = self.string(&mut s, "message_id_domain", "a domain name");
                let notes_address = self.string(&mut s, "notes_address", "an email address");
                if let Some(a) = &notes_address {
                    if !a.contains('@') || a.contains(char::is_whitespace) {
                        self.problem(
                            s.key("notes_address"),
                            format!("expected an email address, found \"{a}\""),
                        );
                    }
                }
                let plus_addressing = self.bool(&mut s, "plus_addressing", true);
                let plus_delimiter = self
                    .string(&mut s, "plus_delimiter", "one character such as \"+\"")
                    .unwrap_or_else(|| "+".into());
                if plus_delimiter.chars().count() != 1
                    || plus_delimiter
                        .contains(|c: char| c.is_alphanumeric() || c == '@' || c.is_whitespace())
                {
                    self.problem(
                        s.key("plus_delimiter"),
                        format!("expected one character such as \"+\" or \"-\", found \"{plus_delimiter}\""),
                    );
                }
                self.unknown_keys(&s);
                address.map(|address| {
                    let address = address.to_lowercase();
                    let domain = domain.unwrap_or_else(|| {
                        address
                            .rsplit('@')
                            .next()
                            .unwrap_or("localhost")
                            .to_string()
                    });
                    Identity {
                        name: crate::mail::parse::one_line(&name),
                        address,
                        subject_tag,
                        message_id_domain: domain,
                        notes_address: notes_address.map(|a| a.to_lowercase()),
                        plus_addressing,
                        plus_delimiter,
                        templates_dir: None,
                    }
                })
            }
            None => None,
        }
    }

    pub(super) fn queues(&mut self, top: &mut Section<'_>) -> Vec<QueueConfig> {
        let mut queues = Vec::new();
        for (i, t) in self.array_of_tables(top, "queues").into_iter().enumerate() {
            let mut s = Section::new(t, format!("queues[{i}]"));
            let name = self.required_string(&mut s, "name", "a queue name");
            let sla = self.string(&mut s, "sla", "the name of an [[sla]] policy");
            let identity = self.string(&mut s, "identity", "the name of an [[identities]] entry");
            self.unknown_keys(&s);
            if let Some(name) = name {
                if queues.iter().any(|q: &QueueConfig| q.name == name) {
                    self.problem(
                        s.key("name"),
                        format!("the queue '{name}' is defined twice"),
                    );
                }
                queues.push(QueueConfig {
                    name,
                    sla,
                    identity,
                });
            }
        }
        queues
    }

    pub(super) fn mailboxes(
        &mut self,
        top: &mut Section<'_>,
        queue_names: &HashSet<String>,
        default_queue: &str,
    ) -> Vec<MailboxConfig> {
        let mut mailboxes = Vec::new();
        for (i, t) in self
            .array_of_tables(top, "mailboxes")
            .into_iter()
            .enumerate()
        {
            let mut s = Section::new(t, format!("mailboxes[{i}]"));
            if let Some(m) = self.mailbox(&mut s, queue_names, default_queue) {
                if mailboxes.iter().any(|o: &MailboxConfig| o.name == m.name) {
                    self.problem(
                        s.key("name"),
                        format!("the mailbox '{}' is defined twice", m.name),
                    );
                }
                mailboxes.push(m);
            }
            self.unknown_keys(&s);
        }
        mailboxes
    }

    pub(super) fn security(&mut self, top: &mut Section<'_>) -> SecurityConfig {
        match self.table(top, "security", false) {
            Some(t) => {
                let mut s = Section::new(t, "security");
                let agent_auth = self
                    .string(
                        &mut s,
                        "agent_auth",
                        "\"dkim\", \"token\" or \"trusted_relay\"",
                    )
                    .unwrap_or_else(|| "token".into());
                let agent_auth = match agent_auth.as_str() {
                    "dkim" => AgentAuth::Dkim,
                    "token" => AgentAuth::Token,
                    "trusted_relay" => AgentAuth::TrustedRelay,
                    other => {
                        self.problem(s.key("agent_auth"), format!("expected \"dkim\", \"token\" or \"trusted_relay\", found \"{other}\""));
                        AgentAuth::Token
                    }
                };
                let secret_file = self
                    .string(&mut s, "secret_file", "a path")
                    .unwrap_or_else(|| "var/secret".into());
                let authserv_ids = match s.table.get("authserv_id") {
                    Some(Value::String(_)) => self
                        .string(&mut s, "authserv_id", "a host name")
                        .into_iter()
                        .collect(),
                    _ => self.string_list(&mut s, "authserv_id"),
                };
                if agent_auth == AgentAuth::Dkim && authserv_ids.is_empty() {
                    self.problem(
                        s.key("authserv_id"),
                        "agent_auth = \"dkim\" needs the authserv-id of the server that checks DKIM (its Authentication-Results headers are trusted), such as \"mx.example.test\"",
                    );
                }
                let block_remote_images = match self
                    .string(&mut s, "remote_images", "\"block\" or \"keep\"")
                    .as_deref()
                {
                    None | Some("block") => true,
                    Some("keep") => false,
                    Some(other) => {
                        self.problem(
                            s.key("remote_images"),
                            format!("expected \"block\" or \"keep\", found \"{other}\""),
                        );
                        true
                    }
                };
                self.unknown_keys(&s);
                SecurityConfig {
                    agent_auth,
                    secret_file: PathBuf::from(secret_file),
                    authserv_ids: authserv_ids.into_iter().map(|a| a.to_lowercase()).collect(),
                    block_remote_images,
                }
            }
            None => SecurityConfig {
                agent_auth: AgentAuth::Token,
                secret_file: PathBuf::from("var/secret"),
                authserv_ids: Vec::new(),
                block_remote_images: true,
            },
        }
    }

    pub(super) fn threading(&mut self, top: &mut Section<'_>) -> ThreadingConfig {
        match self.table(top, "threading", false) {
            Some(t) => {
                let mut s = Section::new(t, "threading");
                let d = ThreadingConfig::default();
                let reopen_window = self.duration(&mut s, "reopen_window", d.reopen_window);
                let extra_subject_tags = self.string_list(&mut s, "subject_tags");
                for tag in &extra_subject_tags {
                    if tag.is_empty() || tag.contains(['[', ']', '#', '\r', '\n']) {
                        self.problem(
                            s.key("subject_tags"),
                            format!("expected short words without [, ], # or line breaks, found \"{tag}\""),
                        );
                    }
                }
                let stranger_tag = match self
                    .string(&mut s, "tag_from_stranger", "\"new_ticket\" or \"join\"")
                    .as_deref()
                {
                    None | Some("new_ticket") => crate::ticket::thread::StrangerTag::NewTicket,
                    Some("join") => crate::ticket::thread::StrangerTag::Join,
                    Some(other) => {
                        self.problem(
                            s.key("tag_from_stranger"),
                            format!("expected \"new_ticket\" or \"join\", found \"{other}\""),
                        );
                        d.stranger_tag
                    }
                };
                let join_colleagues = self.bool(&mut s, "join_colleagues", d.join_colleagues);
                let acknowledge_forwarded =
                    self.bool(&mut s, "acknowledge_forwarded", d.acknowledge_forwarded);
                self.unknown_keys(&s);
                ThreadingConfig {
                    reopen_window,
                    extra_subject_tags,
                    stranger_tag,
                    join_colleagues,
                    acknowledge_forwarded,
                }
            }
            None => ThreadingConfig::default(),
        }
    }

    pub(super) fn transport_and_retry(
        &mut self,
        top: &mut Section<'_>,
    ) -> (Option<TransportConfig>, RetryPolicy) {
        match self.table(top, "transport", false) {
            Some(t) => {
                let mut s = Section::new(t, "transport");
                let t = self.transport(&mut s);
                let d = RetryPolicy::default();
                let retry = RetryPolicy {
                    first: self.duration(&mut s, "retry_first", d.first),
                    max: self.duration(&mut s, "retry_max", d.max),
                    give_up_after: self.duration(&mut s, "give_up_after", d.give_up_after),
                };
                if retry.first.is_zero() || retry.max < retry.first {
                    self.problem(
                        s.key("retry_max"),
                        "expected retry_first above zero and retry_max at least retry_first",
                    );
                }
                self.unknown_keys(&s);
                (t, retry)
            }
            None => (
                Some(TransportConfig::File {
                    dir: PathBuf::from("var/outbox"),
                }),
                RetryPolicy::default(),
            ),
        }
    }

    pub(super) fn agents(
        &mut self,
        top: &mut Section<'_>,
        queue_names: &HashSet<String>,
    ) -> Vec<AgentConfig> {
        let mut agents = Vec::new();
        for (i, t) in self.array_of_tables(top, "agents").into_iter().enumerate() {
            let mut s = Section::new(t, format!("agents[{i}]"));
            let address = self.required_string(&mut s, "address", "an email address");
            let name = self.string(&mut s, "name", "a display name");
            let role = self
                .string(&mut s, "role", "\"agent\" or \"manager\"")
                .unwrap_or_else(|| "agent".into());
            if role != "agent" && role != "manager" {
                self.problem(
                    s.key("role"),
                    format!("expected \"agent\" or \"manager\", found \"{role}\""),
                );
            }
            let timezone = self
                .string(
                    &mut s,
                    "timezone",
                    "an IANA timezone such as \"Europe/Berlin\"",
                )
                .unwrap_or_else(|| "UTC".into());
            if timezone.parse::<chrono_tz::Tz>().is_err() {
                self.problem(
                    s.key("timezone"),
                    format!(
                        "expected an IANA timezone such as \"Europe/Berlin\", found \"{timezone}\""
                    ),
                );
            }
            let language = self
                .string(&mut s, "language", "a language: \"en\", \"de\" or \"fr\"")
                .unwrap_or_else(|| "en".into());
            if !crate::ticket::language::supported(&language) {
                self.problem(
                    s.key("language"),
                    format!("expected a language templates are shipped in: \"en\", \"de\" or \"fr\", found \"{language}\""),
                );
            }
            let agent_queues = self.string_list(&mut s, "queues");
            for q in &agent_queues {
                if !queue_names.contains(q) {
                    self.problem(
                        s.key("queues"),
                        format!("names the queue '{q}', which no [[queues]] entry defines"),
                    );
                }
            }
            self.unknown_keys(&s);
            if let Some(address) = address {
                let address = address.to_lowercase();
                agents.push(AgentConfig {
                    name: name.unwrap_or_else(|| address.clone()),
                    address,
                    role,
                    queues: agent_queues,
                    timezone,
                    language,
                });
            }
        }
        agents
    }

    pub(super) fn limits(&mut self, top: &mut Section<'_>) -> Limits {
        match self.table(top, "limits", false) {
            Some(t) => {
                let mut s = Section::new(t, "limits");
                let d = Limits::default();
                let l = Limits {
                    max_message_size: self.size(&mut s, "max_message_size", d.max_message_size),
                    max_attachment_size: self.size(
                        &mut s,
                        "max_attachment_size",
                        d.max_attachment_size,
                    ),
                    auto_replies_per_hour: self.count(
                        &mut s,
                        "auto_replies_per_hour",
                        d.auto_replies_per_hour,
                    ),
                    max_hops: self.count(&mut s, "max_hops", d.max_hops),
                    max_headers: self.count(&mut s, "max_headers", d.max_headers as u32) as usize,
                    max_header_length: self.size(&mut s, "max_header_length", d.max_header_length),
                    max_mime_parts: self.count(&mut s, "max_mime_parts", d.max_mime_parts as u32)
                        as usize,
                    max_mime_depth: self.count(&mut s, "max_mime_depth", d.max_mime_depth as u32)
                        as usize,
                    max_attachments: self.count(&mut s, "max_attachments", d.max_attachments as u32)
                        as usize,
                    max_html_size: self.size(&mut s, "max_html_size", d.max_html_size),
                    max_text_size: self.size(&mut s, "max_text_size", d.max_text_size),
                    max_participants: self.count(
                        &mut s,
                        "max_participants",
                        d.max_participants as u32,
                    ) as usize,
                };
                self.unknown_keys(&s);
                l
            }
            None => Limits::default(),
        }
    }

    pub(super) fn problems(&mut self, top: &mut Section<'_>) -> ProblemsConfig {
        let d = ProblemsConfig::default();
        match self.table(top, "problems", false) {
            Some(t) => {
                let mut s = Section::new(t, "problems");
                let p = ProblemsConfig {
                    resolve_linked: self.bool(&mut s, "resolve_linked", d.resolve_linked),
                    confirm_above: self.count(&mut s, "confirm_above", d.confirm_above),
                };
                self.unknown_keys(&s);
                p
            }
            None => d,
        }
    }

    pub(super) fn dkim(
        &mut self,
        top: &mut Section<'_>,
    ) -> Option<std::sync::Arc<crate::mail::dkim::Signer>> {
        match self.table(top, "dkim", false) {
            Some(t) => {
                let mut s = Section::new(t, "dkim");
                let domain = self.required_string(&mut s, "domain", "the signing domain (d=)");
                let selector = self.required_string(&mut s, "selector", "the DNS selector (s=)");
                let key_file = self
                    .required_string(
                        &mut s,
                        "key_file",
                        "a path to a PEM private key (RSA or Ed25519)",
                    )
                    .map(|f| credential_path(&f));
                self.unknown_keys(&s);
                match (domain, selector, key_file) {
                    (Some(d), Some(sel), Some(f)) => match read_secret(&f) {
                        Ok(pem) => match crate::mail::dkim::Signer::from_pem(&pem, &d, &sel) {
                            Ok(signer) => Some(std::sync::Arc::new(signer)),
                            Err(e) => {
                                self.problem(s.key("key_file"), format!("'{f}': {e}"));
                                None
                            }
                        },
                        Err(e) => {
                            self.problem(
                                s.key("key_file"),
                                format!("expected a readable file, but '{f}' cannot be read: {e}"),
                            );
                            None
                        }
                    },
                    _ => None,
                }
            }
            None => None,
        }
    }

    /// `[templates] dir` or `[knowledge] dir`: a directory that must exist.
    pub(super) fn section_dir(
        &mut self,
        top: &mut Section<'_>,
        table: &'static str,
        expected: &str,
        more: impl FnOnce(&mut Self, &mut Section<'_>),
    ) -> Option<PathBuf> {
        match self.table(top, table, false) {
            Some(t) => {
                let mut s = Section::new(t, table);
                let dir = self.required_string(&mut s, "dir", expected);
                more(self, &mut s);
                self.unknown_keys(&s);
                dir.and_then(|d| {
                    let p = PathBuf::from(&d);
                    if p.is_dir() {
                        Some(p)
                    } else {
                        self.problem(
                            s.key("dir"),
                            format!("expected a directory, but '{d}' is not one"),
                        );
                        None
                    }
                })
            }
            None => None,
        }
    }
    pub(super) fn mailbox(
        &mut self,
        s: &mut Section<'_>,
        queues: &HashSet<String>,
        default_queue: &str,
    ) -> Option<MailboxConfig> {
        let name = self.required_string(s, "name", "a mailbox name");
        let kind = self.required_string(s, "kind", "\"maildir\", \"imap\" or \"lmtp\"");
        let queue = self
            .string(s, "queue", "a queue name")
            .unwrap_or_else(|| default_queue.to_string());
        if !queues.is_empty() && !queues.contains(&queue) {
            self.problem(
                s.key("queue"),
                format!("expected the name of a [[queues]] entry, found \"{queue}\""),
            );
        }
        let accept_list_mail = self.bool(s, "accept_list_mail", false);
        let identity = self.string(s, "identity", "the name of an [[identities]] entry");
        let poll_interval = self.duration(
            s,
            "poll_interval",
            match kind.as_deref() {
                Some("imap") => Duration::from_secs(30),
                _ => Duration::from_secs(1),
            },
        );
        let source = match kind.as_deref() {
            Some("maildir") => {
                let path = self.required_string(s, "path", "the path of a Maildir folder");
                path.map(|p| MailboxSource::Maildir {
                    path: PathBuf::from(p),
                })
            }
            Some("imap") => {
                let host = self
                    .required_string(s, "host", "a host name")
                    .unwrap_or_default();
                let tls = self.tls(s, &host);
                let port = self.port(s, "port", if tls == Tls::Tls { 993 } else { 143 });
                let username = self.required_string(s, "username", "a user name");
                let (password_auth, mechanism) = self.auth_mechanism(
                    s,
                    &[("login", ImapAuth::Login), ("plain", ImapAuth::Plain)],
                    ImapAuth::Login,
                );
                let oauth = self.oauth(s, mechanism, name.as_deref().unwrap_or_default());
                let password = match mechanism {
                    // (signing in with a token: no password; one given is a mistake)
                    Some(_) => {
                        if let Some(k) = ["password", "password_file", "password_env"]
                            .into_iter()
                            .find(|k| s.table.contains_key(*k))
                        {
                            self.problem(s.key(k), "not used with an OAuth2 sign-in (auth = \"xoauth2\" or \"oauthbearer\"): remove it");
                        }
                        Some(Secret::new(String::new()))
                    }
                    None => self.secret(s),
                };
                if password.is_none()
                    && !s.table.contains_key("password")
                    && !s.table.contains_key("password_file")
                    && !s.table.contains_key("password_env")
                {
                    self.problem(
                        s.key("password"),
                        "missing; expected one of password, password_file or password_env (or auth = \"xoauth2\" with oauth = { ... })",
                    );
                }
                let folder = self
                    .string(s, "folder", "a folder name such as \"INBOX\"")
                    .unwrap_or_else(|| "INBOX".into());
                let idle = self.bool(s, "idle", true);
                let idle_refresh = self.duration(s, "idle_refresh", Duration::from_secs(2 * 60));
                if !(Duration::from_secs(1)..=Duration::from_secs(29 * 60)).contains(&idle_refresh)
                {
                    self.problem(
                        s.key("idle_refresh"),
                        "expected a duration from 1s to 29m (RFC 9051 asks for IDLE again within 29 minutes)",
                    );
                }
                let after = self
                    .string(s, "after", "\"seen\", \"move:FOLDER\" or \"delete\"")
                    .unwrap_or_else(|| "seen".into());
                if !(after == "seen"
                    || after == "delete"
                    || after.strip_prefix("move:").is_some_and(|f| !f.is_empty()))
                {
                    self.problem(
                        s.key("after"),
                        format!(
                            "expected \"seen\", \"move:FOLDER\" or \"delete\", found \"{after}\""
                        ),
                    );
                }
                let ca_file = self.ca_file(s);
                let auth = match (mechanism, oauth) {
                    (None, _) => password_auth,
                    (Some(_), Some(o)) => ImapAuth::OAuth(o),
                    (Some(_), None) => return None,
                };
                match (username, password) {
                    (Some(username), Some(password)) => Some(MailboxSource::Imap(ImapConfig {
                        host,
                        port,
                        tls,
                        username,
                        password,
                        folder,
                        idle,
                        idle_refresh,
                        after,
                        ca_file,
                        auth,
                    })),
                    _ => None,
                }
            }
            Some("lmtp") => {
                let expected = "\"127.0.0.1:10024\" (TCP on a loopback address) or \"unix:/run/postdesk/lmtp.sock\"";
                self.required_string(s, "listen", expected)
                    .and_then(|l| match l.strip_prefix("unix:") {
                        Some(p) if !p.is_empty() => Some(MailboxSource::Lmtp {
                            listen: Listen::Unix(PathBuf::from(p)),
                        }),
                        Some(_) => {
                            self.problem(s.key("listen"), format!("expected {expected}, found \"{l}\""));
                            None
                        }
                        None => match l.parse::<std::net::SocketAddr>() {
                            // LMTP has no authentication: whoever reaches it can deliver.
                            Ok(a) if a.ip().is_loopback() => Some(MailboxSource::Lmtp {
                                listen: Listen::Tcp(a),
                            }),
                            Ok(a) => {
                                self.problem(s.key("listen"), format!("{a} is not a loopback address: LMTP has no authentication, so it listens on loopback or a unix socket only"));
                                None
                            }
                            Err(_) => {
                                self.problem(s.key("listen"), format!("expected {expected}, found \"{l}\""));
                                None
                            }
                        },
                    })
            }
            Some(other) => {
                self.problem(
                    s.key("kind"),
                    format!("expected \"maildir\", \"imap\" or \"lmtp\", found \"{other}\""),
                );
                None
            }
            None => None,
        };
        Some(MailboxConfig {
            name: name?,
            source: source?,
            queue,
            accept_list_mail,
            poll_interval,
            identity,
        })
    }

    /// `ca_file`: a PEM file of extra CA certificates to trust (a private CA).
    fn ca_file(&mut self, s: &mut Section<'_>) -> Option<PathBuf> {
        let ca_file = self
            .string(s, "ca_file", "a path to a PEM file of CA certificates")
            .map(PathBuf::from);
        if let Some(f) = &ca_file {
            if !f.is_file() {
                self.problem(
                    s.key("ca_file"),
                    format!(
                        "expected a readable PEM file, but '{}' is not a file",
                        f.display()
                    ),
                );
            }
        }
        ca_file
    }

    pub(super) fn transport(&mut self, s: &mut Section<'_>) -> Option<TransportConfig> {
        match self.string(s, "kind", "\"file\" or \"smtp\"").as_deref() {
            None | Some("file") => {
                let dir = self
                    .string(s, "dir", "a directory path")
                    .unwrap_or_else(|| "var/outbox".into());
                Some(TransportConfig::File {
                    dir: PathBuf::from(dir),
                })
            }
            Some("smtp") => {
                let host = self.required_string(s, "host", "a host name")?;
                let tls = self.tls(s, &host);
                let port = self.port(
                    s,
                    "port",
                    match tls {
                        Tls::Tls => 465,
                        Tls::StartTls => 587,
                        Tls::None => 25,
                    },
                );
                let username = self.string(s, "username", "a user name");
                let (_, mechanism) = self.auth_mechanism(s, &[("password", ())], ());
                let oauth = self.oauth(s, mechanism, "transport");
                let password = match mechanism {
                    Some(_) => None,
                    None => self.secret(s),
                };
                if mechanism.is_some() && username.is_none() {
                    self.problem(
                        s.key("username"),
                        "missing; an OAuth2 sign-in names the mailbox it sends as",
                    );
                } else if mechanism.is_none() && username.is_some() != password.is_some() {
                    self.problem(s.key("username"), "give both username and a password (password, password_file or password_env), or neither");
                }
                let parallel = match self.get(s, "parallel") {
                    None => 4,
                    Some(Value::Integer(n)) if (1..=64).contains(n) => *n as usize,
                    Some(v) => {
                        self.problem(
                            s.key("parallel"),
                            format!(
                                "expected a number of connections from 1 to 64, found {}",
                                type_name(v)
                            ),
                        );
                        4
                    }
                };
                let ca_file = self.ca_file(s);
                Some(TransportConfig::Smtp(SmtpConfig {
                    host,
                    port,
                    tls,
                    username,
                    password,
                    oauth,
                    parallel,
                    ca_file,
                }))
            }
            Some(other) => {
                self.problem(
                    s.key("kind"),
                    format!("expected \"file\" or \"smtp\", found \"{other}\""),
                );
                None
            }
        }
    }
}

/// Whether a database URL's user name and password (before the host) hold no `@`, `/` or `#`,
/// which a URL must percent-encode there.
fn plain_userinfo(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let before_query = rest.split('?').next().unwrap_or(rest);
    match before_query.rfind('@') {
        Some(at) => !before_query[..at].contains(['@', '/', '#']),
        None => true,
    }
}
