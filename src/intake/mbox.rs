//! mbox files, read as a stream: mboxo and mboxrd (`>From ` quoting), and mboxcl/mboxcl2 (a
//! `Content-Length:` header gives the body's length, so an unquoted `From ` line inside a body
//! does not split it). A message never holds two mails and a mail is never cut in two:
//!
//! - a separator is a `From ` line whose rest reads as a sender and a date (as mutt's `is_from`
//!   decides), wherever it stands; in a file whose first separator has no date (hand-made
//!   mboxes), any `From ` line after a blank line;
//! - a `Content-Length:` is taken only when the body it measures ends at the end of the file or
//!   at a separator (optionally after blank lines); otherwise the separators decide;
//! - `>From `, `>>From `, ... lose one `>` (mboxrd; mboxo quotes the same way), except in a body
//!   measured by its length that holds an unquoted `From ` line (mboxcl2 quotes nothing).
//!
//! Only the mail being read is in memory, however large the file.

use std::io::{self, Read};

/// How much is read from the file at a time.
const CHUNK: usize = 64 * 1024;

/// A `Content-Length` over this is not believed (the separators decide).
const MAX_CONTENT_LENGTH: usize = 1 << 30;

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

const MONTHS: [&[u8]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];

/// True when a `From ` line's rest reads as `sender date`: after the sender, a month name, a
/// time `h:mm` or `hh:mm:ss`, and a four-digit year, in the orders asctime (`Sat Jan  1
/// 00:00:00 2000`) and RFC 5322 dates (`Sat, 01 Jan 2000 00:00:00 +0000`) write them.
pub fn is_dated_separator(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"From ") else {
        return false;
    };
    let text = String::from_utf8_lossy(rest);
    let mut words = text.split_ascii_whitespace();
    if words.next().is_none_or(|sender| sender.starts_with(':')) {
        return false;
    }
    let (mut month, mut time, mut year) = (false, false, false);
    for w in words {
        let w = w.trim_end_matches(',').as_bytes();
        let lower = w.to_ascii_lowercase();
        month |= w.len() >= 3
            && MONTHS.contains(&&lower[..3])
            && lower.iter().all(u8::is_ascii_alphabetic);
        year |= w.len() == 4
            && w.iter().all(u8::is_ascii_digit)
            && (b"19".as_slice() == &w[..2] || b"20".as_slice() == &w[..2]);
        time |= {
            let parts: Vec<&[u8]> = w.split(|b| *b == b':').collect();
            (2..=3).contains(&parts.len())
                && parts[0].len() <= 2
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.iter().all(u8::is_ascii_digit))
                && parts[1..].iter().all(|p| p.len() == 2)
        };
    }
    month && time && year
}

fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `>From ` quoting removed from one line (mboxrd: one `>` less before `From `).
fn unquoted(line: &[u8]) -> &[u8] {
    let gts = line.iter().take_while(|b| **b == b'>').count();
    if gts > 0 && line[gts..].starts_with(b"From ") {
        &line[1..]
    } else {
        line
    }
}

/// The value of a `Content-Length:` header line, when it is one with a number.
fn content_length(line: &[u8]) -> Option<usize> {
    let (name, value) = line.split_at(line.iter().position(|b| *b == b':')?);
    if !name.trim_ascii().eq_ignore_ascii_case(b"content-length") {
        return None;
    }
    let value = value[1..].trim_ascii();
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// The mails of one mbox, read from `src` a chunk at a time.
pub struct MboxReader<R> {
    src: R,
    buf: Vec<u8>,
    /// Where the unread part of `buf` starts.
    pos: usize,
    eof: bool,
    /// Whether separators need a date (the file's first one had one).
    dated: Option<bool>,
}

impl<R: Read> MboxReader<R> {
    pub fn new(src: R) -> Self {
        MboxReader {
            src,
            buf: Vec::new(),
            pos: 0,
            eof: false,
            dated: None,
        }
    }

    /// Reads until `buf` holds `need` bytes from `pos` on, or the file ends.
    fn fill(&mut self, need: usize) -> io::Result<()> {
        while !self.eof && self.buf.len() - self.pos < need {
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            let want = CHUNK.max(need - self.buf.len());
            let n = (&mut self.src)
                .take(want as u64)
                .read_to_end(&mut self.buf)?;
            self.eof = n < want;
        }
        Ok(())
    }

    /// The end (after its `\n`) of the line that starts `at` bytes after `pos`, relative to
    /// `pos`; the end of the file for a last line without one. `None` at the end of the file.
    fn line_end(&mut self, at: usize) -> io::Result<Option<usize>> {
        let mut scanned = at;
        loop {
            let unread = &self.buf[self.pos..];
            let len = unread.len();
            if let Some(i) = unread[scanned.min(len)..].iter().position(|b| *b == b'\n') {
                return Ok(Some(scanned.min(len) + i + 1));
            }
            scanned = len.max(at);
            if self.eof {
                return Ok((len > at).then_some(len));
            }
            self.fill(len + CHUNK)?;
        }
    }

    fn line(&self, from: usize, to: usize) -> &[u8] {
        &self.buf[self.pos + from..self.pos + to]
    }

    fn is_separator(&self, line: &[u8], after_blank: bool) -> bool {
        if !line.starts_with(b"From ") {
            return false;
        }
        is_dated_separator(strip_eol(line)) || (after_blank && self.dated == Some(false))
    }

    /// True when what follows `at` (relative to `pos`) is the end of the file, or blank lines
    /// and then a separator: where a body measured by its Content-Length must end.
    fn separator_follows(&mut self, mut at: usize) -> io::Result<bool> {
        loop {
            let Some(end) = self.line_end(at)? else {
                return Ok(true);
            };
            let line = self.line(at, end);
            if strip_eol(line).is_empty() {
                at = end;
                continue;
            }
            // A length that ends inside a line is wrong, whatever that line's rest says.
            let line_start = at == 0 || self.buf[self.pos + at - 1] == b'\n';
            return Ok(line_start && self.is_separator(line, true));
        }
    }

    /// The `n` bytes of body that a `Content-Length: n` measures, added to `mail`, when they
    /// end where a mail ends; false (nothing read) when they do not.
    fn measured_body(&mut self, n: usize, mail: &mut Vec<u8>) -> io::Result<bool> {
        self.fill(n + 1)?;
        if self.buf.len() - self.pos < n || !self.separator_follows(n)? {
            return Ok(false);
        }
        let body = self.line(0, n);
        if body.split(|b| *b == b'\n').any(|l| l.starts_with(b"From ")) {
            mail.extend_from_slice(body); // mboxcl2: nothing is quoted
        } else {
            for l in body.split_inclusive(|b| *b == b'\n') {
                mail.extend_from_slice(unquoted(l));
            }
        }
        self.pos += n;
        // The blank lines before the next separator are the mbox's.
        while let Some(end) = self.line_end(0)? {
            if !strip_eol(self.line(0, end)).is_empty() {
                break;
            }
            self.pos += end;
        }
        Ok(true)
    }

    /// The next mail, without its separator line (empty when two separators follow each
    /// other); `None` at the end of the file.
    pub fn next_mail(&mut self) -> io::Result<Option<Vec<u8>>> {
        // The separator line (or, in a file that does not start with one, the first line).
        let Some(end) = self.line_end(0)? else {
            return Ok(None);
        };
        let first = self.line(0, end);
        if first.starts_with(b"From ") {
            if self.dated.is_none() {
                self.dated = Some(is_dated_separator(strip_eol(first)));
            }
            self.pos += end;
        } else {
            self.dated.get_or_insert(false);
        }
        let mut mail = Vec::new();
        let (mut length, mut in_header, mut after_blank) = (None, true, false);
        while let Some(end) = self.line_end(0)? {
            let line = self.line(0, end);
            if self.is_separator(line, after_blank) {
                break;
            }
            let blank = strip_eol(line).is_empty();
            after_blank = blank;
            if !in_header {
                mail.extend_from_slice(unquoted(line));
                self.pos += end;
                continue;
            }
            length = length.or_else(|| content_length(strip_eol(line)));
            mail.extend_from_slice(line);
            self.pos += end;
            if blank {
                in_header = false;
                if let Some(n) = length.filter(|n| *n <= MAX_CONTENT_LENGTH) {
                    if self.measured_body(n, &mut mail)? {
                        return Ok(Some(mail));
                    }
                }
            }
        }
        // The blank line before the next separator belongs to the separator, not the mail.
        if mail.ends_with(b"\r\n\r\n") {
            mail.truncate(mail.len() - 2);
        } else if mail.ends_with(b"\n\n") {
            mail.pop();
        }
        Ok(Some(mail))
    }
}

impl<R: Read> Iterator for MboxReader<R> {
    type Item = io::Result<Vec<u8>>;

    /// The next mail; two separators in a row (an empty mail) hold nothing to keep.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_mail() {
                Ok(Some(m)) if m.iter().all(u8::is_ascii_whitespace) => continue,
                r => return r.transpose(),
            }
        }
    }
}

/// Splits an mbox held in memory (see [`MboxReader`]).
pub fn split_mbox(bytes: &[u8]) -> Vec<Vec<u8>> {
    MboxReader::new(bytes)
        .map(|m| m.expect("reading from memory does not fail"))
        .collect()
}

#[cfg(test)]
mod tests;
