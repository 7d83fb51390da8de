//! A Maildir mailbox watched by `serve`: mail in `new/` is read, and moved to `cur/` with the
//! seen flag only after it is stored. A crash in between leaves it in `new/`; reading it again
//! finds it already stored (same content hash) and just moves it.

use std::fs;
use std::path::{Path, PathBuf};

use super::{Ack, RawMail, SourceError};

/// Creates `new/`, `cur/` and `tmp/` under `root` if missing.
pub fn ensure(root: &Path) -> Result<(), SourceError> {
    for sub in ["new", "cur", "tmp"] {
        let d = root.join(sub);
        fs::create_dir_all(&d).map_err(|e| SourceError::Read {
            path: d.display().to_string(),
            message: e.to_string(),
        })?;
    }
    Ok(())
}

/// Reads up to `limit` mails from `new/`, oldest name first.
pub fn scan_new(root: &Path, limit: usize) -> Result<Vec<RawMail>, SourceError> {
    let new = root.join("new");
    let err = |p: &Path, e: std::io::Error| SourceError::Read {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    let mut names: Vec<PathBuf> = Vec::new();
    for entry in fs::read_dir(&new).map_err(|e| err(&new, e))? {
        let entry = entry.map_err(|e| err(&new, e))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.')
            || !entry.file_type().map(|t| t.is_file()).unwrap_or(false)
        {
            continue;
        }
        names.push(entry.path());
    }
    names.sort();
    names.truncate(limit);
    let mut out = Vec::with_capacity(names.len());
    for path in names {
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            // Taken by another reader between the listing and now.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(err(&path, e)),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let base = name.split(':').next().unwrap_or(&name).to_string();
        let to = root.join("cur").join(format!("{base}:2,S"));
        out.push(RawMail::new(
            format!("maildir:{base}"),
            bytes,
            Ack::MaildirMove { from: path, to },
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_and_ack_moves_to_cur() {
        let dir = tempfile::tempdir().unwrap();
        ensure(dir.path()).unwrap();
        fs::write(dir.path().join("new/1.host"), b"Subject: x\n\nbody\n").unwrap();
        fs::write(dir.path().join("new/.hidden"), b"x").unwrap();
        let mails = scan_new(dir.path(), 10).unwrap();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].source_pos, "maildir:1.host");
        Ack::acknowledge(&mails[0].ack).unwrap();
        assert!(dir.path().join("cur/1.host:2,S").exists());
        assert!(!dir.path().join("new/1.host").exists());
        // A second ack (after a crash and rescan) is harmless.
        Ack::acknowledge(&mails[0].ack).unwrap();
    }
}
