//! The HTTP endpoint of `[metrics] listen`: `/metrics` (Prometheus text) and `/healthz`.

use crate::observe::metrics;
use crate::store::AnyConnection;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What `/healthz` and `/metrics` need from the database, asked on a connection of their own.
#[derive(Clone)]
pub struct Probe {
    pub conn: Arc<Mutex<AnyConnection>>,
    /// How long a mailbox may hang in a login or past its retry time and still count healthy.
    pub stuck: Duration,
}

impl Probe {
    /// The number of outgoing mails waiting, or `None` when the database did not answer
    /// within 2 s.
    async fn outbox_depth(&self) -> Option<i64> {
        let conn = self.conn.clone();
        let ask = tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().ok()?;
            crate::store::models::outbox_depth(&mut c).ok()
        });
        tokio::time::timeout(Duration::from_secs(2), ask)
            .await
            .ok()?
            .ok()?
    }

    async fn metrics(&self) -> (u16, String) {
        let depth = self.outbox_depth().await;
        (200, metrics::get().render(depth, depth.is_some()))
    }

    /// 200 while the database answers and every mailbox is connected, waiting for its lease, or
    /// within its backoff; 503 otherwise. The body says which part failed.
    async fn health(&self) -> (u16, String) {
        let database = self.outbox_depth().await.is_some();
        let now = crate::time::now_ms();
        let mut ok = database;
        let mut body = format!(
            "{{\"database\":{},\"mailboxes\":{{",
            if database { "\"ok\"" } else { "\"down\"" }
        );
        let errors = metrics::get().mailbox_errors();
        for (i, (name, state)) in metrics::get().mailboxes().iter().enumerate() {
            let error = errors.get(name);
            // A mailbox that only a person can mend (a revoked sign-in) is not healthy even
            // while it waits for its next try.
            let healthy = state.healthy(now, self.stuck) && !error.is_some_and(|(_, p)| *p);
            ok &= healthy;
            let label = serde_json::to_string(name).unwrap_or_default();
            let error = match (state, error) {
                (metrics::MailboxState::Backoff { .. }, Some((e, _))) => {
                    format!(
                        ",\"error\":{}",
                        serde_json::to_string(e).unwrap_or_default()
                    )
                }
                _ => String::new(),
            };
            body.push_str(&format!(
                "{}{label}:{{\"state\":\"{}\",\"healthy\":{healthy}{error}}}",
                if i > 0 { "," } else { "" },
                state.label()
            ));
        }
        body.push_str(&format!("}},\"healthy\":{ok}}}\n"));
        (if ok { 200 } else { 503 }, body)
    }
}

/// Binds the listener (at start, so a taken port is a start-up error).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("metrics.listen = \"{addr}\": cannot listen there: {e}"))
}

/// Serves `/metrics` and `/healthz` until `stop`.
pub async fn http(listener: TcpListener, probe: Probe, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let probe = probe.clone();
                    tokio::spawn(async move {
                        let _ = tokio::time::timeout(Duration::from_secs(10), answer(stream, &probe)).await;
                    });
                }
                Err(e) => {
                    tracing::warn!("metrics listener: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = stop.changed() => return,
        }
    }
}

/// Reads one request (its head, at most 8 KiB) and answers it; the connection is then closed.
async fn answer(mut stream: TcpStream, probe: &Probe) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() + n > 8192 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let mut words = line.lines().next().unwrap_or_default().split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => {
            let (s, b) = probe.metrics().await;
            (s, "text/plain; version=0.0.4; charset=utf-8", b)
        }
        ("GET" | "HEAD", "/healthz") => {
            let (s, b) = probe.health().await;
            (s, "application/json", b)
        }
        ("GET" | "HEAD", _) => (
            404,
            "text/plain",
            "not found: try /metrics or /healthz\n".into(),
        ),
        _ => (405, "text/plain", "only GET and HEAD\n".into()),
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if method != "HEAD" {
        out.extend_from_slice(body.as_bytes());
    }
    stream.write_all(&out).await?;
    stream.shutdown().await
}
