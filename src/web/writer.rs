//! The pages' answers written by one thread in group commits: each answer is a job; the thread
//! takes every job waiting (up to [`BATCH`]) and runs them in one transaction, each in a
//! savepoint of its own (one failing rolls back only itself), so 50 people answering at once
//! cost one durable commit rather than 50.

use std::any::Any;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use diesel::Connection;

use crate::app::App;
use crate::store::{models, AnyConnection};

/// The most answers one commit takes.
const BATCH: usize = 64;

type Output = Box<dyn Any + Send>;
type Job = Box<dyn FnOnce(&App<'_>, &mut AnyConnection) -> diesel::QueryResult<Output> + Send>;
type Reply = tokio::sync::oneshot::Sender<Option<Output>>;

/// The queue of jobs to the writing thread.
pub struct Writer {
    tx: Mutex<mpsc::Sender<(Job, Reply)>>,
}

impl Writer {
    /// Starts the writing thread on `conn` with the desk's parts of `web`.
    pub fn start(web: &super::Web, conn: Arc<Mutex<AnyConnection>>) -> Writer {
        let (tx, rx) = mpsc::channel::<(Job, Reply)>();
        let (cfg, templates, keys) = (web.cfg.clone(), web.templates.clone(), web.keys.clone());
        std::thread::Builder::new()
            .name("web-writer".into())
            .spawn(move || {
                let app = App {
                    cfg: &cfg,
                    templates: &templates,
                    keys: &keys,
                };
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < BATCH {
                        match rx.try_recv() {
                            Ok(j) => batch.push(j),
                            Err(_) => break,
                        }
                    }
                    let Ok(mut c) = conn.lock() else {
                        return;
                    };
                    let (jobs, replies): (Vec<Job>, Vec<Reply>) = batch.into_iter().unzip();
                    let outputs = c.transaction(|c| {
                        models::write_lock_first(c)?;
                        let mut out = Vec::with_capacity(jobs.len());
                        for job in jobs {
                            // (a job that fails, or panics, rolls back its own savepoint
                            // only, and the thread goes on with the next)
                            let run = |c: &mut AnyConnection| {
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                    job(&app, c)
                                }))
                                .unwrap_or(Err(diesel::result::Error::RollbackTransaction))
                            };
                            out.push(match c.transaction(run) {
                                Ok(v) => Some(v),
                                Err(e) => {
                                    tracing::warn!("[web]: database: {e}");
                                    None
                                }
                            });
                        }
                        Ok::<_, diesel::result::Error>(out)
                    });
                    match outputs {
                        Ok(outs) => {
                            for (reply, out) in replies.into_iter().zip(outs) {
                                let _ = reply.send(out);
                            }
                        }
                        Err(e) => {
                            tracing::warn!("[web]: database: the answers' commit failed: {e}");
                            for reply in replies {
                                let _ = reply.send(None);
                            }
                        }
                    }
                }
            })
            .expect("a thread for the pages' writer");
        Writer { tx: Mutex::new(tx) }
    }

    /// Runs `f` in the next group commit; `None` when it (or the commit) failed.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&App<'_>, &mut AnyConnection) -> diesel::QueryResult<T> + Send + 'static,
    ) -> Option<T> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |app, c| f(app, c).map(|v| Box::new(v) as Output));
        self.tx.lock().ok()?.send((job, reply)).ok()?;
        let out = answer.await.ok()??;
        out.downcast::<T>().ok().map(|b| *b)
    }
}
