//! Where mail comes from: files, Maildir folders, mbox files and stdin ([`files`]), and the
//! mailboxes `serve` reads: Maildir ([`maildir`]), IMAP ([`imap`]), LMTP ([`lmtp`]). A source yields [`RawMail`] and is told
//! to acknowledge a mail only after the transaction that stored it has committed.

pub mod files;
pub mod imap;
pub mod lmtp;
pub mod maildir;
pub mod mbox;

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

impl Ack {
    /// Acknowledges a stored mail to its source (only after the commit that stored it).
    pub fn acknowledge(&self) -> Result<(), SourceError> {
        match self {
            Ack::None => Ok(()),
            Ack::MaildirMove { from, to } => match std::fs::rename(from, to) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(SourceError::Read {
                    path: from.display().to_string(),
                    message: e.to_string(),
                }),
            },
        }
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

/// A mailbox's position at its IMAP server: everything up to `last_uid` in the folder with
/// this UIDVALIDITY is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub uid_validity: i64,
    pub last_uid: i64,
    /// The instance whose mailbox lease the batch needs ([`crate::cluster`]): the cursor is
    /// saved only while that lease holds, so an instance that lost its mailbox (it stalled
    /// past the lease and another took over) rolls its batch back instead of storing it twice.
    pub fence: Option<std::sync::Arc<str>>,
}

/// Stores a batch of a mailbox's mail in one transaction, with the position an IMAP mailbox
/// reaches (the daemon wires it to the pipeline); true when the batch queued outgoing mail.
pub type StoreBatch = std::sync::Arc<
    dyn Fn(Vec<RawMail>, Option<&Cursor>) -> Result<bool, crate::store::StoreError> + Send + Sync,
>;

/// Errors at the source boundary.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
}
