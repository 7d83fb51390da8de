//! Mail from paths given to `ingest`: single files, Maildir folders (`new/` and `cur/`),
//! directories of `.eml` files, mbox files, and `-` for stdin.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::mbox::{is_mbox, MboxReader};
use super::{Ack, RawMail, SourceError};

/// One thing to read, expanded from a path argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A single mail file (or an mbox, detected by its first line).
    File(PathBuf),
    Stdin,
}

fn read_err(path: &Path, e: impl std::fmt::Display) -> SourceError {
    SourceError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// True for names taken from a plain directory: `*.eml`, `*.msg`, `*.mbox`, `*.mail` and
/// Maildir/MH style names with no extension; hidden files and other data are skipped.
fn looks_like_mail(name: &str) -> bool {
    if name.starts_with('.') {
        return false;
    }
    match name.rsplit_once('.') {
        None => true,
        Some((_, ext)) => {
            let ext = ext.to_ascii_lowercase();
            // Maildir names such as `1700000000.M1P2.host,S=123:2,S` contain dots and colons.
            ["eml", "msg", "mbox", "mail"].contains(&ext.as_str())
                || name.contains(":2,")
                || ext.contains(",s=")
        }
    }
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| read_err(dir, e))? {
        let entry = entry.map_err(|e| read_err(dir, e))?;
        if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Expands the path arguments into the items to read, checking each exists first, so an
/// unreadable path is reported before anything is stored.
pub fn expand(paths: &[String]) -> Result<Vec<Item>, SourceError> {
    let mut items = Vec::new();
    for p in paths {
        if p == "-" {
            items.push(Item::Stdin);
            continue;
        }
        let path = PathBuf::from(p);
        let meta = fs::metadata(&path).map_err(|e| read_err(&path, e))?;
        if meta.is_file() {
            items.push(Item::File(path));
        } else if meta.is_dir() {
            let maildir = path.join("new").is_dir() || path.join("cur").is_dir();
            if maildir {
                for sub in ["cur", "new"] {
                    let d = path.join(sub);
                    if d.is_dir() {
                        items.extend(
                            sorted_entries(&d)?
                                .into_iter()
                                .filter(|f| {
                                    !f.file_name()
                                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                                })
                                .map(Item::File),
                        );
                    }
                }
            } else {
                items.extend(
                    sorted_entries(&path)?
                        .into_iter()
                        .filter(|f| {
                            f.file_name()
                                .is_some_and(|n| looks_like_mail(&n.to_string_lossy()))
                        })
                        .map(Item::File),
                );
            }
        } else {
            return Err(read_err(&path, "not a file or a directory"));
        }
    }
    Ok(items)
}

/// The mails of one item, read as they are asked for: a file or stdin is one mail, unless it
/// starts like an mbox; an mbox is streamed ([`super::mbox`]), one mail in memory at a time.
pub type Mails = Box<dyn Iterator<Item = Result<RawMail, SourceError>> + Send>;

/// Reads one item into raw mails (an mbox gives several). An item that cannot be read gives
/// one error and nothing else.
pub fn read_item(item: &Item) -> Mails {
    let (src, pos): (Box<dyn Read + Send>, String) = match item {
        Item::Stdin => (Box::new(std::io::stdin()), "stdin".to_string()),
        Item::File(p) => match fs::File::open(p) {
            Ok(f) => {
                let abs = fs::canonicalize(p).unwrap_or_else(|_| p.clone());
                (Box::new(f), abs.display().to_string())
            }
            Err(e) => return Box::new(std::iter::once(Err(read_err(p, e)))),
        },
    };
    let err_path = PathBuf::from(&pos);
    let fail = move |e: std::io::Error| read_err(&err_path, e);
    // Enough of the start to tell an mbox from a mail: its first line.
    let mut head = Vec::new();
    let mut src = src;
    if let Err(e) = read_first_line(&mut src, &mut head) {
        return Box::new(std::iter::once(Err(fail(e))));
    }
    let src = std::io::Cursor::new(head.clone()).chain(src);
    if !is_mbox(&head) {
        let mut bytes = Vec::new();
        let mut src = src;
        if let Err(e) = src.read_to_end(&mut bytes) {
            return Box::new(std::iter::once(Err(fail(e))));
        }
        let source_pos = if pos == "stdin" {
            pos
        } else {
            format!("file:{pos}")
        };
        return Box::new(std::iter::once(Ok(RawMail::new(
            source_pos,
            bytes,
            Ack::None,
        ))));
    }
    let mut mails = MboxReader::new(src).peekable();
    let mut i = 0;
    Box::new(std::iter::from_fn(move || {
        let m = mails.next()?;
        // A single mail on stdin (an MTA's pipe with its From_ line) is just `stdin`.
        let source_pos = if pos == "stdin" && i == 0 && mails.peek().is_none() {
            pos.clone()
        } else {
            format!("mbox:{pos}#{i}")
        };
        i += 1;
        Some(match m {
            Ok(bytes) => Ok(RawMail::new(source_pos, bytes, Ack::None)),
            Err(e) => {
                while mails.next().is_some() {} // nothing more is read after an error
                Err(fail(e))
            }
        })
    }))
}

/// Reads up to the end of the first line (at most 4 KB) into `head`.
fn read_first_line(src: &mut impl Read, head: &mut Vec<u8>) -> std::io::Result<()> {
    let mut byte = [0u8; 512];
    while head.len() < 4096 && !head.contains(&b'\n') {
        let n = match src.read(&mut byte) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => r?,
        };
        if n == 0 {
            break;
        }
        head.extend_from_slice(&byte[..n]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_entries() {
        assert!(looks_like_mail("00001.eml"));
        assert!(looks_like_mail("1700000000.M1P2.host,S=123:2,S"));
        assert!(looks_like_mail("42"));
        assert!(!looks_like_mail("manifest.jsonl"));
        assert!(!looks_like_mail(".hidden"));
    }
}
