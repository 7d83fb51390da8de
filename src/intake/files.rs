//! Mail from paths given to `ingest`: single files, Maildir folders (`new/` and `cur/`),
//! directories of `.eml` files, mbox files, and `-` for stdin.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

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

/// True when the bytes start like an mbox file: a `From sender date` separator line, not a
/// `From :` header written with spaces before its colon (obsolete but legal syntax).
pub fn is_mbox(bytes: &[u8]) -> bool {
    let Some(rest) = bytes.strip_prefix(b"From ") else {
        return false;
    };
    let line = rest.split(|b| *b == b'\n').next().unwrap_or(rest);
    let first = line.iter().position(|b| !b.is_ascii_whitespace());
    matches!(first, Some(i) if line[i] != b':')
}

/// Splits an mbox (mboxrd or mboxo) into messages: each starts at a `From ` line at the start of
/// the file or after a blank line; the `From ` line itself is dropped and `>From ` unquoted.
pub fn split_mbox(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    let mut prev_blank = true;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        if prev_blank && line.starts_with(b"From ") {
            if let Some(m) = cur.take() {
                out.push(m);
            }
            cur = Some(Vec::new());
            prev_blank = false;
            continue;
        }
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        prev_blank = body.is_empty();
        let m = cur.get_or_insert_with(Vec::new);
        let gts = line.iter().take_while(|b| **b == b'>').count();
        if gts > 0 && line[gts..].starts_with(b"From ") {
            m.extend_from_slice(&line[1..]);
        } else {
            m.extend_from_slice(line);
        }
    }
    if let Some(mut m) = cur {
        // The blank line before the next `From ` belongs to the separator, not the mail.
        if m.ends_with(b"\n\n") {
            m.pop();
        }
        out.push(m);
    }
    for m in out.iter_mut() {
        if m.ends_with(b"\n\n") {
            m.pop();
        }
    }
    out
}

/// Reads one item into raw mails (an mbox gives several).
pub fn read_item(item: &Item) -> Result<Vec<RawMail>, SourceError> {
    let (bytes, pos) = match item {
        Item::Stdin => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| read_err(Path::new("stdin"), e))?;
            (buf, "stdin".to_string())
        }
        Item::File(p) => {
            let abs = fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            (
                fs::read(p).map_err(|e| read_err(p, e))?,
                abs.display().to_string(),
            )
        }
    };
    if is_mbox(&bytes) {
        let parts = split_mbox(&bytes);
        let single = parts.len() == 1;
        return Ok(parts
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                let source_pos = if single && pos == "stdin" {
                    pos.clone()
                } else {
                    format!("mbox:{pos}#{i}")
                };
                RawMail::new(source_pos, m, Ack::None)
            })
            .collect());
    }
    let source_pos = if pos == "stdin" {
        pos
    } else {
        format!("file:{pos}")
    };
    Ok(vec![RawMail::new(source_pos, bytes, Ack::None)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_split_and_unquote() {
        let mbox = b"From a@b Sat Jan  1 00:00:00 2000\nSubject: one\n\nhello\n>From the start\n\nFrom c@d Sat Jan  1 00:00:01 2000\nSubject: two\n\nbye\n";
        let parts = split_mbox(mbox);
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0],
            b"Subject: one\n\nhello\nFrom the start\n".to_vec()
        );
        assert_eq!(parts[1], b"Subject: two\n\nbye\n".to_vec());
    }

    #[test]
    fn from_inside_a_paragraph_does_not_split() {
        let mbox = b"From a@b x\nSubject: one\n\nline\nFrom here on\n";
        assert_eq!(split_mbox(mbox).len(), 1);
    }

    #[test]
    fn mbox_detection() {
        assert!(is_mbox(b"From a@b Sat Jan  1 00:00:00 2000\nSubject: x\n"));
        assert!(!is_mbox(b"From  : John Doe <jdoe@example>\nSubject: x\n"));
        assert!(!is_mbox(b"From: a@b\n"));
        assert!(!is_mbox(b"From \n"));
    }

    #[test]
    fn directory_entries() {
        assert!(looks_like_mail("00001.eml"));
        assert!(looks_like_mail("1700000000.M1P2.host,S=123:2,S"));
        assert!(looks_like_mail("42"));
        assert!(!looks_like_mail("manifest.jsonl"));
        assert!(!looks_like_mail(".hidden"));
    }
}
