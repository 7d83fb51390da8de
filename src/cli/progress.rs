//! What `ingest` shows while it reads: on a terminal a line with the files, mails and rate so
//! far (indicatif, redrawn a few times a second, nothing when stderr is not a terminal), and at
//! the end a summary line in any case.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::intake::files::{self, Item};
use crate::intake::{RawMail, SourceError};

/// Counts what an import has read.
#[derive(Clone)]
pub(super) struct Progress {
    bar: ProgressBar,
    counts: Arc<Counts>,
    files: u64,
    started: Instant,
}

#[derive(Default)]
struct Counts {
    mails: AtomicU64,
    bytes: AtomicU64,
}

impl Progress {
    /// A progress line for reading `files` items, drawn only on a terminal.
    pub(super) fn new(files: usize) -> Progress {
        let bar = ProgressBar::with_draw_target(
            Some(files as u64),
            ProgressDrawTarget::stderr_with_hz(4),
        );
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} file {pos}/{len}: {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(250));
        Progress {
            bar,
            counts: Arc::default(),
            files: files as u64,
            started: Instant::now(),
        }
    }

    /// The mails of `items`, read one item after the other, counted as they are read.
    pub(super) fn read(
        &self,
        items: Vec<Item>,
    ) -> impl Iterator<Item = Result<RawMail, SourceError>> + Send + use<> {
        let me = self.clone();
        items.into_iter().enumerate().flat_map(move |(i, item)| {
            let me = me.clone();
            me.bar.set_position(i as u64 + 1);
            files::read_item(&item).inspect(move |m| {
                if let Ok(m) = m {
                    me.counts.mails.fetch_add(1, Ordering::Relaxed);
                    me.counts
                        .bytes
                        .fetch_add(m.size() as u64, Ordering::Relaxed);
                    let (mails, secs) = (me.mails(), me.started.elapsed().as_secs_f64());
                    if mails % 64 == 1 {
                        me.bar.set_message(format!(
                            "{} mails, {:.1} MB, {:.0} mails/s",
                            mails,
                            me.counts.bytes.load(Ordering::Relaxed) as f64 / 1e6,
                            mails as f64 / secs.max(1e-3)
                        ));
                    }
                }
            })
        })
    }

    fn mails(&self) -> u64 {
        self.counts.mails.load(Ordering::Relaxed)
    }

    /// Clears the progress line; the summary of what was read, for the end of the run.
    pub(super) fn finish(&self) -> String {
        self.bar.finish_and_clear();
        let secs = self.started.elapsed().as_secs_f64();
        format!(
            "read {} file(s), {} mail(s), {:.1} MB in {:.1} s ({:.0} mails/s)",
            self.files,
            self.mails(),
            self.counts.bytes.load(Ordering::Relaxed) as f64 / 1e6,
            secs,
            self.mails() as f64 / secs.max(1e-3)
        )
    }
}
