//! Where mail comes from: files, Maildir folders, mbox files and stdin ([`files`]), and the
//! Maildir mailboxes that `serve` watches ([`maildir`]). A source yields [`RawMail`] and is told
//! to acknowledge a mail only after the transaction that stored it has committed.

pub mod files;
pub mod imap;
pub mod maildir;

use std::path::PathBuf;

/// One mail as read from a source, before parsing.
#[derive(Debug, Clone)]
pub struct RawMail {
    /// Where it was read: `file:PATH`, `mbox:PATH#N`, `maildir:NAME`, `imap:UIDVALIDITY:UID`,
    /// `stdin`.
    pub source_pos: String,
    pub bytes: Vec<u8>,
    /// `Some(size)` when `bytes` are only the header of a mail of `size` bytes, which the source
    /// declined to download because it is over `limits.max_message_size`.
    pub oversized: Option<usize>,
    /// What to do once the mail is stored.
    pub ack: Ack,
}

impl RawMail {
    /// A whole mail read from `source_pos`.
    pub fn new(source_pos: String, bytes: Vec<u8>, ack: Ack) -> RawMail {
        RawMail {
            source_pos,
            bytes,
            oversized: None,
            ack,
        }
    }

    /// The size of the mail at its source.
    pub fn size(&self) -> usize {
        self.oversized.unwrap_or(self.bytes.len())
    }
}

/// What acknowledging a mail to its source means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack {
    /// Nothing: the source is left as it is (files given to `ingest`).
    None,
    /// Move a Maildir file from `new/` to `cur/`, flagged seen.
    MaildirMove { from: PathBuf, to: PathBuf },
}

/// Errors at the source boundary.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
}
