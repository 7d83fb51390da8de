//! LMTP intake (RFC 2033, `kind = "lmtp"`): a listener that an MTA (Postfix's `lmtp`
//! transport) delivers to, on a loopback TCP address or a unix socket. Each mail is stored in
//! its own transaction, and every recipient gets its 250 only after that commit; when the
//! mail cannot be stored, every recipient gets a 451, so the MTA keeps the mail and tries
//! again (a repeat of a mail that was stored after all is a duplicate, recorded once). The
//! mails of all sessions that arrive while one transaction commits are stored together in the
//! next (group commit): each still hears its 250 only after the commit that holds it. An
//! address postdesk does not serve is refused (550) at RCPT. Commands may be pipelined
//! (RFC 2920); the size limit (`limits.max_message_size`) is announced, and a larger mail is
//! stored as `too_large` (headers only), never dropped.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{watch, Notify};

use super::{Ack, RawMail, StoreBatch};
use crate::config::{Config, Listen, MailboxSource};

/// How long a client may stay silent (RFC 5321 asks for minutes; Postfix waits 10).
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest command line accepted.
const MAX_LINE: usize = 4096;
/// The most mails stored in one transaction.
const GROUP: usize = 200;

/// A mail waiting to be stored, and who waits for the outcome.
struct Job {
    raw: RawMail,
    stored: tokio::sync::oneshot::Sender<bool>,
}

/// Stores the mails of every session: whatever arrived while the last transaction committed
/// goes into the next one, and each session learns whether its mail was stored.
async fn store_jobs(
    store: StoreBatch,
    mut jobs: tokio::sync::mpsc::Receiver<Job>,
    outbox_ready: Arc<Notify>,
    mailbox: String,
) {
    while let Some(first) = jobs.recv().await {
        let mut waiting = vec![first];
        while waiting.len() < GROUP {
            match jobs.try_recv() {
                Ok(j) => waiting.push(j),
                Err(_) => break,
            }
        }
        let (raws, told): (Vec<RawMail>, Vec<_>) =
            waiting.into_iter().map(|j| (j.raw, j.stored)).unzip();
        // Another writer holding SQLite for a moment is waited out here (for up to about five
        // seconds) rather than answered with a 451, which would make the MTA wait minutes.
        let mut tries = 0u64;
        let stored = loop {
            let (store, raws) = (store.clone(), raws.clone());
            match tokio::task::spawn_blocking(move || store(raws, None)).await {
                Ok(Err(e)) if e.is_temporary() && tries < 40 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(10 * tries.min(20))).await;
                }
                done => break done,
            }
        };
        let ok = match stored {
            Ok(Ok(queued)) => {
                if queued {
                    outbox_ready.notify_one();
                }
                true
            }
            Ok(Err(e)) => {
                tracing::warn!(mailbox = %mailbox, "LMTP mail not stored, the MTA keeps it: {e}");
                false
            }
            Err(e) => {
                tracing::error!(mailbox = %mailbox, "storing LMTP mail crashed: {e}");
                false
            }
        };
        for t in told {
            let _ = t.send(ok);
        }
    }
}

/// The listener of one `kind = "lmtp"` mailbox.
pub struct Listener {
    pub cfg: Arc<Config>,
    pub index: usize,
    pub store: StoreBatch,
    pub outbox_ready: Arc<Notify>,
}

enum Bound {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener),
}

async fn bind(listen: &Listen) -> std::io::Result<Bound> {
    match listen {
        Listen::Tcp(a) => Ok(Bound::Tcp(tokio::net::TcpListener::bind(a).await?)),
        Listen::Unix(p) => {
            // A socket left by a process that is gone is replaced; any other file is not.
            if let Ok(meta) = std::fs::symlink_metadata(p) {
                use std::os::unix::fs::FileTypeExt;
                if meta.file_type().is_socket() {
                    std::fs::remove_file(p)?;
                }
            }
            let l = tokio::net::UnixListener::bind(p)?;
            // The MTA's user reaches it through the group (put postfix in postdesk's group).
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o660))?;
            Ok(Bound::Unix(l))
        }
    }
}

impl Listener {
    /// Listens until `stop`; a failure to bind is retried with backoff. A session cut short by
    /// the stop never got its 250s: the MTA delivers again.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let cfg = self.cfg.clone();
        let m = &cfg.mailboxes[self.index];
        let MailboxSource::Lmtp { listen } = &m.source else {
            return;
        };
        let mut failures = 0;
        let bound = loop {
            match bind(listen).await {
                Ok(b) => break b,
                Err(e) => {
                    failures += 1;
                    tracing::warn!(mailbox = %m.name, listen = %listen, "cannot listen for LMTP: {e}");
                    tokio::select! {
                        _ = tokio::time::sleep(crate::time::backoff(failures)) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        };
        tracing::info!(mailbox = %m.name, listen = %listen, "listening for LMTP");
        let (jobs, queue) = tokio::sync::mpsc::channel(4 * GROUP);
        let storer = tokio::spawn(store_jobs(
            self.store.clone(),
            queue,
            self.outbox_ready.clone(),
            m.name.clone(),
        ));
        let this = Arc::new((self, jobs));
        let mut sessions = tokio::task::JoinSet::new();
        loop {
            let accepted = tokio::select! {
                a = accept(&bound) => a,
                _ = stop.changed() => break,
                Some(_) = sessions.join_next(), if !sessions.is_empty() => continue,
            };
            match accepted {
                Ok(Conn::Tcp(s)) => {
                    let _ = s.set_nodelay(true);
                    sessions.spawn(session(this.clone(), s));
                }
                Ok(Conn::Unix(s)) => {
                    sessions.spawn(session(this.clone(), s));
                }
                Err(e) => {
                    tracing::warn!("LMTP accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        // Sessions cut short never got their 250s; a transaction under way still commits.
        drop(sessions);
        drop(this);
        let _ = tokio::time::timeout(Duration::from_secs(30), storer).await;
        if let Listen::Unix(p) = listen {
            let _ = std::fs::remove_file(p);
        }
    }

    async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        jobs: &tokio::sync::mpsc::Sender<Job>,
        stream: S,
    ) -> std::io::Result<()> {
        let cfg = &self.cfg;
        let mailbox = &cfg.mailboxes[self.index];
        let (r, mut w) = tokio::io::split(stream);
        let mut r = BufReader::new(r);
        let host = cfg.identity.message_id_domain.clone();
        let mut s = Session::new(cfg.limits.max_message_size);
        w.write_all(format!("220 {host} LMTP postdesk ready\r\n").as_bytes())
            .await?;
        let mut line = Vec::new();
        loop {
            line.clear();
            if read_line(&mut r, &mut line, MAX_LINE).await? == 0 {
                return Ok(());
            }
            let text = String::from_utf8_lossy(&line);
            let step = s.command(text.trim_end_matches(['\r', '\n']), |a| serves(cfg, a));
            match step {
                Step::Reply(reply) => {
                    // Pipelined commands are answered together, once none is waiting.
                    w.write_all(reply.as_bytes()).await?;
                    if r.buffer().is_empty() {
                        w.flush().await?;
                    }
                }
                Step::Quit(reply) => {
                    w.write_all(reply.as_bytes()).await?;
                    w.flush().await?;
                    return Ok(());
                }
                Step::Data => {
                    w.write_all(b"354 2.0.0 send the mail, end with <CRLF>.<CRLF>\r\n")
                        .await?;
                    w.flush().await?;
                    let (bytes, size) = read_data(&mut r, s.max_size).await?;
                    let raw = s.mail(bytes, size, &mailbox.name);
                    let (stored, outcome) = tokio::sync::oneshot::channel();
                    let job = Job { raw, stored };
                    let ok = jobs.send(job).await.is_ok() && outcome.await.unwrap_or(false);
                    let reply = s.replies(ok);
                    w.write_all(reply.as_bytes()).await?;
                    w.flush().await?;
                    s.reset();
                }
            }
        }
    }
}

async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    this: Arc<(Listener, tokio::sync::mpsc::Sender<Job>)>,
    stream: S,
) {
    if let Err(e) = this.0.converse(&this.1, stream).await {
        tracing::debug!("LMTP session ended: {e}");
    }
}

enum Conn {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

async fn accept(b: &Bound) -> std::io::Result<Conn> {
    match b {
        Bound::Tcp(l) => l.accept().await.map(|(s, _)| Conn::Tcp(s)),
        Bound::Unix(l) => l.accept().await.map(|(s, _)| Conn::Unix(s)),
    }
}

/// Reads one line (through its LF) of at most `max` bytes; 0 at the end of the stream.
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    out: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<usize> {
    let read = tokio::time::timeout(IDLE_TIMEOUT, async {
        let mut limited = tokio::io::AsyncReadExt::take(&mut *r, max as u64 + 1);
        limited.read_until(b'\n', out).await
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "client silent too long"))??;
    if out.len() > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "line too long",
        ));
    }
    Ok(read)
}

/// The mail after DATA, dot-unstuffed, up to the line `.`: its bytes (the header only when it
/// is over `max`) and its whole size.
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    max: usize,
) -> std::io::Result<(Vec<u8>, usize)> {
    let mut body = Vec::new();
    let mut size = 0usize;
    let mut line = Vec::new();
    loop {
        line.clear();
        // Lines of a mail may be long (RFC 5322 allows 998 octets; some senders ignore it).
        if read_line(r, &mut line, 1 << 20).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed inside DATA",
            ));
        }
        if line == b".\r\n" || line == b".\n" {
            break;
        }
        let l: &[u8] = if line.starts_with(b".") {
            &line[1..]
        } else {
            &line
        };
        size += l.len();
        if size <= max {
            body.extend_from_slice(l);
        }
    }
    if size > max {
        // Over the limit: the header is kept (the mail is stored as too_large).
        let end = crate::mail::parse::header_block(&body).len();
        body.truncate(end);
    }
    Ok((body, size))
}

/// Whether postdesk serves `address`: a support address (of any identity), its plus
/// addresses (ticket and agent reply addresses), the notes address.
pub fn serves(cfg: &Config, address: &str) -> bool {
    let a = address.to_lowercase();
    cfg.identity.notes_address.as_deref() == Some(a.as_str())
        || cfg
            .all_identities()
            .any(|i| i.serves(&a) && (i.plus_addressing || a == i.address))
}

/// What the session does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Reply(String),
    /// 354, then the mail.
    Data,
    Quit(String),
}

/// One LMTP session's state, without I/O.
#[derive(Debug)]
pub struct Session {
    greeted: bool,
    from: Option<String>,
    rcpts: Vec<String>,
    max_size: usize,
}

impl Session {
    pub fn new(max_size: usize) -> Session {
        Session {
            greeted: false,
            from: None,
            rcpts: Vec::new(),
            max_size,
        }
    }

    fn reset(&mut self) {
        self.from = None;
        self.rcpts.clear();
    }

    /// The answer to one command line; `serves` says which recipients are ours.
    pub fn command(&mut self, line: &str, serves: impl Fn(&str) -> bool) -> Step {
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let reply = |s: &str| Step::Reply(format!("{s}\r\n"));
        match verb.to_ascii_uppercase().as_str() {
            "LHLO" if rest.trim().is_empty() => reply("501 5.5.4 LHLO needs a host name"),
            "LHLO" => {
                self.greeted = true;
                self.reset();
                Step::Reply(format!(
                    "250-postdesk\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SIZE {}\r\n",
                    self.max_size
                ))
            }
            "HELO" | "EHLO" => reply("500 5.5.1 this is LMTP: say LHLO"),
            "MAIL" if !self.greeted => reply("503 5.5.1 LHLO first"),
            "MAIL" if self.from.is_some() => reply("503 5.5.1 a mail transaction is open"),
            "MAIL" => match path(rest, "FROM:") {
                None => reply("501 5.5.4 expected MAIL FROM:<address>"),
                Some((from, params)) => {
                    let size = params.split_whitespace().find_map(|p| {
                        let (k, v) = p.split_once('=')?;
                        k.eq_ignore_ascii_case("SIZE")
                            .then(|| v.parse::<usize>().ok())?
                    });
                    if size.is_some_and(|n| n > self.max_size) {
                        return reply("552 5.3.4 the mail is larger than this desk accepts");
                    }
                    self.from = Some(from);
                    reply("250 2.1.0 sender ok")
                }
            },
            "RCPT" if self.from.is_none() => reply("503 5.5.1 MAIL first"),
            "RCPT" => match path(rest, "TO:") {
                Some((to, _)) if serves(&to) => {
                    self.rcpts.push(to);
                    reply("250 2.1.5 recipient ok")
                }
                Some((to, _)) => Step::Reply(format!(
                    "550 5.1.1 <{to}>: not an address this desk serves\r\n"
                )),
                None => reply("501 5.5.4 expected RCPT TO:<address>"),
            },
            "DATA" if self.rcpts.is_empty() => reply("503 5.5.1 no valid recipients"),
            "DATA" => Step::Data,
            "RSET" => {
                self.reset();
                reply("250 2.0.0 reset")
            }
            "NOOP" => reply("250 2.0.0 ok"),
            "VRFY" => reply("252 2.5.0 cannot verify, but will take the mail"),
            "QUIT" => Step::Quit("221 2.0.0 bye\r\n".into()),
            _ => reply("500 5.5.2 unknown command"),
        }
    }

    /// The mail as received, with the envelope an MDA records (`Return-Path`, one
    /// `Delivered-To` per recipient) above it.
    fn mail(&self, body: Vec<u8>, size: usize, mailbox: &str) -> RawMail {
        let mut head = format!("Return-Path: <{}>\r\n", self.from.as_deref().unwrap_or(""));
        for r in &self.rcpts {
            head.push_str(&format!("Delivered-To: {r}\r\n"));
        }
        let mut bytes = head.into_bytes();
        let oversized = (size > self.max_size).then_some(size + bytes.len());
        bytes.extend_from_slice(&body);
        RawMail {
            source_pos: format!("lmtp:{mailbox}"),
            bytes,
            oversized,
            ack: Ack::None,
        }
    }

    /// One reply per recipient: after the commit, or a temporary failure.
    fn replies(&self, stored: bool) -> String {
        self.rcpts
            .iter()
            .map(|r| match stored {
                true => format!("250 2.0.0 <{r}> stored\r\n"),
                false => format!("451 4.3.0 <{r}> not stored, try again later\r\n"),
            })
            .collect()
    }
}

/// `FROM:<address> params` (or `TO:`): the address (lower case; empty for the null sender)
/// and the parameters. An address with a line break or space inside is refused.
fn path(rest: &str, prefix: &str) -> Option<(String, String)> {
    let rest = rest.trim_start();
    if rest.len() < prefix.len() || !rest[..prefix.len()].eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = rest[prefix.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    let address = &inner[..end];
    if address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    // A source route (`@a,@b:user@c`) is ignored, as RFC 5321 allows.
    let address = address.rsplit_once(':').map_or(address, |(_, a)| a);
    Some((address.to_lowercase(), inner[end + 1..].trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &mut Session, line: &str) -> String {
        match s.command(line, |a| a.starts_with("support")) {
            Step::Reply(r) | Step::Quit(r) => r,
            Step::Data => "DATA".into(),
        }
    }

    #[test]
    fn a_session_takes_a_mail_for_the_addresses_it_serves() {
        let mut s = Session::new(1000);
        assert!(run(&mut s, "MAIL FROM:<a@b.example>").starts_with("503"));
        assert!(run(&mut s, "EHLO x").starts_with("500"));
        assert!(run(&mut s, "LHLO").starts_with("501"));
        let hello = run(&mut s, "LHLO mail.example.test");
        assert!(
            hello.contains("250-PIPELINING") && hello.ends_with("250 SIZE 1000\r\n"),
            "{hello}"
        );
        assert!(run(&mut s, "RCPT TO:<support@example.test>").starts_with("503"));
        assert!(run(&mut s, "MAIL FROM:<a@b.example> SIZE=2000").starts_with("552"));
        assert!(run(&mut s, "mail from:<A@B.example> SIZE=20 BODY=8BITMIME").starts_with("250"));
        assert!(run(&mut s, "MAIL FROM:<a@b.example>").starts_with("503"));
        assert!(run(&mut s, "RCPT TO:<other@example.test>")
            .starts_with("550 5.1.1 <other@example.test>"));
        assert!(run(&mut s, "DATA").starts_with("503"));
        assert!(run(&mut s, "RCPT TO:<support+7.abc@example.test>").starts_with("250"));
        assert!(run(&mut s, "RCPT TO:<@relay.example:support@example.test>").starts_with("250"));
        assert!(run(&mut s, "RCPT TO:<support@exa mple.test>").starts_with("501"));
        assert_eq!(run(&mut s, "DATA"), "DATA");
        assert_eq!(
            s.rcpts,
            vec!["support+7.abc@example.test", "support@example.test"]
        );
        assert_eq!(s.from.as_deref(), Some("a@b.example"));
        let raw = s.mail(b"Subject: x\r\n\r\nhi\r\n".to_vec(), 19, "lmtp");
        let text = String::from_utf8(raw.bytes).unwrap();
        assert!(text.starts_with("Return-Path: <a@b.example>\r\nDelivered-To: support+7.abc@example.test\r\nDelivered-To: support@example.test\r\nSubject: x"), "{text}");
        assert_eq!(raw.oversized, None);
        assert_eq!(s.replies(true).matches("250 2.0.0").count(), 2);
        assert_eq!(s.replies(false).matches("451 4.3.0").count(), 2);
        assert!(matches!(s.command("QUIT", |_| true), Step::Quit(_)));
        assert!(run(&mut s, "FROB").starts_with("500"));
    }

    #[tokio::test]
    async fn data_is_unstuffed_and_a_mail_over_the_limit_keeps_its_header() {
        let input = b"Subject: x\r\n\r\n..leading dot\r\nplain\r\n.\r\nNEXT\r\n".to_vec();
        let mut r = BufReader::new(&input[..]);
        let (body, size) = read_data(&mut r, 1000).await.unwrap();
        assert_eq!(body, b"Subject: x\r\n\r\n.leading dot\r\nplain\r\n");
        assert_eq!(size, body.len());
        let mut rest = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut r, &mut rest)
            .await
            .unwrap();
        assert_eq!(rest, "NEXT\r\n", "the next command is left for the session");

        let big = [
            b"Subject: big\r\n\r\n".to_vec(),
            vec![b'a'; 50],
            b"\r\n.\r\n".to_vec(),
        ]
        .concat();
        let (body, size) = read_data(&mut BufReader::new(&big[..]), 20).await.unwrap();
        assert_eq!(body, b"Subject: big\r\n\r\n");
        assert_eq!(size, 16 + 52);
        let cut = [b"Subject: x\r\n".to_vec()].concat();
        assert!(
            read_data(&mut BufReader::new(&cut[..]), 20).await.is_err(),
            "no final dot"
        );
    }
}
