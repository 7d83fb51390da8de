//! The one-click pages of `[web]` on hyper: a survey's score and an offered article's "this
//! solved it". A link shows a page with a button (GET records nothing, so a mail scanner that
//! follows every link decides nothing); only the button's POST, carrying the signed token,
//! records the answer, once. Plain HTML, no scripts; security
//! headers on every answer.

mod approval;
pub mod page;
mod solved;
mod writer;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use diesel::Connection;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use crate::app::App;
use crate::config::Config;
use crate::schedule::csat::Answered;
use crate::security::{ClickError, Keys};
use crate::store::{models, AnyConnection};
use crate::templates::Templates;

/// The largest form accepted.
const MAX_BODY: usize = 16 * 1024;
/// The longest comment kept.
const MAX_COMMENT: usize = 4000;

/// What the pages need: the desk's parts and database connections of their own: the first
/// writes (answers), the others read (pages shown), so a page is not kept waiting behind the
/// commit of an answer.
#[derive(Clone)]
pub struct Web {
    pub cfg: Arc<Config>,
    pub templates: Arc<Templates>,
    pub keys: Arc<Keys>,
    pub conns: Vec<Arc<Mutex<AnyConnection>>>,
    /// Woken when an answer queued mail (a low score's notices).
    pub outbox_ready: Arc<Notify>,
    /// The answers' writer on the first connection, started by [`serve`].
    pub writer: Option<Arc<writer::Writer>>,
}

/// Binds `[web] listen`.
pub async fn bind(addr: std::net::SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("[web] listen {addr}: {e}"))
}

/// Serves the pages until `stop`; each connection is bounded in time.
pub async fn serve(listener: TcpListener, mut web: Web, mut stop: watch::Receiver<bool>) {
    web.writer = Some(Arc::new(writer::Writer::start(&web, web.conns[0].clone())));
    let web = Arc::new(web);
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!("[web]: accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let web = web.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let web = web.clone();
                async move { Ok::<_, Infallible>(answer(&web, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(Duration::from_secs(120), conn).await;
        });
    }
}

pub(crate) type Page = Response<Full<Bytes>>;

/// An HTML answer with the security headers: nothing loads from elsewhere, no script runs,
/// the page is not framed, not cached, and sends no Referer (the token is in its address).
pub(crate) fn html(status: StatusCode, body: String) -> Page {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(crate) fn not_found() -> Page {
    html(
        StatusCode::NOT_FOUND,
        page::problem(
            "This link is not valid",
            "The address is incomplete or not one of ours. Please use the link from the mail, or answer the mail itself.",
        ),
    )
}

/// What a path names: the page and its token. Behind a proxy the pages may sit under a
/// prefix: the route is the path's tail.
fn route(path: &str) -> Option<(&'static str, String)> {
    for page in ["csat", "solved", "approve", "reject"] {
        let marker = format!("/{page}/");
        if let Some(i) = path.rfind(&marker) {
            let token = &path[i + marker.len()..];
            if !token.is_empty() && !token.contains('/') {
                return Some((page, token.to_string()));
            }
        }
    }
    None
}

/// The value of `key` in a query or form.
fn field(form: &[u8], key: &str) -> Option<String> {
    url::form_urlencoded::parse(form)
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

async fn answer(web: &Arc<Web>, req: Request<Incoming>) -> Page {
    let Some((kind, token)) = route(req.uri().path()) else {
        return not_found();
    };
    let now = crate::time::now_ms();
    let id = match web.keys.verify_click(kind, &token, now / 1000) {
        Ok(id) => id,
        Err(ClickError::Invalid) => return not_found(),
        Err(ClickError::Expired) => {
            return html(
                StatusCode::GONE,
                page::problem(
                    "This link has expired",
                    "You can still answer the mail itself: the mail says how.",
                ),
            )
        }
    };
    let query = req.uri().query().unwrap_or_default().as_bytes().to_vec();
    match *req.method() {
        Method::GET | Method::HEAD => match kind {
            "csat" => {
                let chosen = field(&query, "score")
                    .and_then(|v| v.parse::<u8>().ok())
                    .filter(|s| (1..=5).contains(s));
                show(web, id, &token, chosen).await
            }
            "approve" | "reject" => approval::show(web, id, &token, kind == "approve").await,
            _ => solved::show(web, id, &token, field(&query, "article")).await,
        },
        Method::POST => {
            let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => {
                    return html(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        page::problem("Too long", "The form was too long to be taken."),
                    )
                }
            };
            if kind == "solved" {
                return solved::record(web, id, field(&body, "article")).await;
            }
            if kind == "approve" || kind == "reject" {
                let comment: String = field(&body, "comment")
                    .unwrap_or_default()
                    .chars()
                    .take(MAX_COMMENT)
                    .collect();
                return approval::record(web, id, kind == "approve", comment.trim().to_string())
                    .await;
            }
            let score = field(&body, "score")
                .and_then(|v| v.parse::<u8>().ok())
                .filter(|s| (1..=5).contains(s));
            let comment: String = field(&body, "comment")
                .unwrap_or_default()
                .chars()
                .take(MAX_COMMENT)
                .collect();
            let Some(score) = score else {
                return html(
                    StatusCode::BAD_REQUEST,
                    page::problem(
                        "Please choose a rating",
                        "Go back and choose a rating from 1 to 5, then press the button again.",
                    ),
                );
            };
            record(web, id, score, comment.trim().to_string()).await
        }
        _ => {
            let mut r = html(
                StatusCode::METHOD_NOT_ALLOWED,
                page::problem("Not allowed", "Only the page and its form are served here."),
            );
            r.headers_mut()
                .insert("allow", HeaderValue::from_static("GET, HEAD, POST"));
            r
        }
    }
}

/// Runs `f` in the writer's next group commit (`write`), else on the blocking pool with a free
/// reading connection.
pub(crate) async fn with_db<T: Send + 'static>(
    web: &Arc<Web>,
    write: bool,
    f: impl FnOnce(&App<'_>, &mut AnyConnection) -> diesel::QueryResult<T> + Send + 'static,
) -> Option<T> {
    if let (true, Some(w)) = (write, &web.writer) {
        return w.run(f).await;
    }
    let web = web.clone();
    let job = tokio::task::spawn_blocking(move || {
        let app = App {
            cfg: &web.cfg,
            templates: &web.templates,
            keys: &web.keys,
        };
        let readers = if write || web.conns.len() < 2 {
            &web.conns[..1]
        } else {
            &web.conns[1..]
        };
        let mut c = match readers.iter().find_map(|c| c.try_lock().ok()) {
            Some(c) => c,
            None => readers[fastrand::usize(..readers.len())].lock().ok()?,
        };
        match f(&app, &mut c) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!("[web]: database: {e}");
                None
            }
        }
    });
    job.await.ok().flatten()
}

pub(crate) fn unavailable() -> Page {
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        page::problem(
            "Please try again in a moment",
            "Your answer could not be taken just now; nothing was recorded.",
        ),
    )
}

/// The survey's page: its form, or what was answered.
async fn show(web: &Arc<Web>, id: i64, token: &str, chosen: Option<u8>) -> Page {
    let found = with_db(web, false, move |app, c| {
        let Some(s) = models::survey(c, id)? else {
            return Ok(None);
        };
        let t = models::get_ticket(c, s.ticket_id)?;
        let reference = t.as_ref().map(|t| app.notify().ticket_ctx(t).reference);
        Ok(Some((s, reference, t.map(|t| t.subject))))
    })
    .await;
    match found {
        None => unavailable(),
        Some(None) => not_found(),
        Some(Some((s, reference, subject))) => {
            let reference = reference.unwrap_or_default();
            match (s.state.as_str(), s.score) {
                ("answered", Some(score)) => html(
                    StatusCode::OK,
                    page::survey_done(&reference, score as u8, true),
                ),
                ("sent", _) => html(
                    StatusCode::OK,
                    page::survey_form(token, &reference, &subject.unwrap_or_default(), chosen),
                ),
                _ => not_found(),
            }
        }
    }
}

/// Records the rating (once) and says so.
async fn record(web: &Arc<Web>, id: i64, score: u8, comment: String) -> Page {
    let done = with_db(web, true, move |app, c| {
        c.transaction(|c| {
            models::write_lock_first(c)?;
            let now = crate::time::now_ms();
            let answered =
                crate::schedule::csat::record_answer(app, c, id, (score, &comment), "web", now)?;
            let s = models::survey(c, id)?;
            let reference = match s.as_ref() {
                Some(s) => models::get_ticket(c, s.ticket_id)?
                    .map(|t| app.notify().ticket_ctx(&t).reference),
                None => None,
            };
            Ok((answered, s.and_then(|s| s.score), reference))
        })
    })
    .await;
    match done {
        None => unavailable(),
        Some((Answered::Unknown, _, _)) => not_found(),
        Some((Answered::Already, stored, reference)) => html(
            StatusCode::OK,
            page::survey_done(
                &reference.unwrap_or_default(),
                stored.map_or(score, |s| s as u8),
                true,
            ),
        ),
        Some((Answered::Recorded(ids), _, reference)) => {
            if !ids.is_empty() {
                web.outbox_ready.notify_one();
            }
            html(
                StatusCode::OK,
                page::survey_done(&reference.unwrap_or_default(), score, false),
            )
        }
    }
}
