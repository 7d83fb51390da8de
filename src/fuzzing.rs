//! The bodies of the fuzz targets (`fuzz/`, run with `cargo +nightly fuzz run NAME`), here so
//! the saved crash corpus (`fuzz/regressions/NAME/`) is replayed by the ordinary tests through
//! exactly the code the fuzzer ran. Each checks what must hold for any input, and panics when
//! it does not.

use crate::mail::{classify, parse, quote};
use crate::ticket::{commands, thread};

/// One mail's pure path: header limits → parse → classify → thread → strip quotes → sanitise.
pub fn mail_pipeline(raw: &[u8]) {
    let _ = parse::header_stats(raw);
    let hash = parse::content_hash(raw);
    let limits = parse::ParseLimits::default();
    let _ = parse::parse_headers_only(raw, &hash);
    let Ok(mail) = parse::parse(raw, &hash, &limits) else {
        return;
    };
    let own = ["support@example.test".to_string()];
    let class = classify::classify(&mail, &own, "example.test");
    let _ = (class.may_answer(), class.reason());

    // Threading: every candidate id but the first is "known" or "shared" (alternately), so
    // `decide` walks them all.
    let candidates = thread::candidate_ids(&mail.in_reply_to, &mail.references);
    let mut lookups = thread::Lookups::default();
    for (i, id) in candidates.iter().enumerate().skip(1) {
        let map = match i % 2 {
            0 => &mut lookups.known,
            _ => &mut lookups.shared,
        };
        map.insert(id.to_string(), i as i64);
    }
    lookups.tagged = thread::parse_subject_tag(&mail.subject, &["Support", "RT"]);
    let _ = thread::decide(
        &candidates,
        &lookups,
        thread::StrangerTag::NewTicket,
        thread::Sender::default(),
    );
    let _ = thread::subject_key(&mail.subject);
    if let Some(ti) = &mail.thread_index {
        let _ = parse::thread_index_root(ti);
    }

    let _ = quote::strip_reply(&mail.text);
    if let Some(html) = &mail.html {
        let again = parse::sanitize_html(html, true);
        assert!(
            !again.to_ascii_lowercase().contains("<script"),
            "script survived sanitising"
        );
    }
    // The whole mail as HTML too: the sanitiser sees whatever a mail carries.
    let clean = parse::sanitize_html(&String::from_utf8_lossy(raw), true);
    assert!(
        !clean.to_ascii_lowercase().contains("<script"),
        "script survived sanitising"
    );
    for a in &mail.attachments {
        assert!(
            !a.name.contains(['/', '\\', '\0']),
            "unsafe attachment name {:?}",
            a.name
        );
    }
    assert!(
        !mail.subject.contains(['\r', '\n']),
        "line break in the subject"
    );
}

/// An agent's mail text through the command parser, as written and after quote stripping.
pub fn agent_commands(raw: &[u8]) {
    let Ok(text) = std::str::from_utf8(raw) else {
        return;
    };
    let _ = commands::parse(text);
    let _ = commands::parse(&quote::strip_reply(text));
}

/// The config loader on any text: a config or an error that names the file.
pub fn config(raw: &[u8]) {
    let Ok(text) = std::str::from_utf8(raw) else {
        return;
    };
    if let Err(e) = crate::config::Config::parse(text, std::path::Path::new("fuzz.toml")) {
        let msg = e.to_string();
        assert!(
            msg.starts_with("fuzz.toml: "),
            "error without the file: {msg}"
        );
    }
}

/// Outlook's winmail.dat reader on any bytes, and the RTF reader on them as compressed and as
/// plain RTF: a result or `None`, and nothing decoded larger than the input could hold.
pub fn winmail(raw: &[u8]) {
    use crate::mail::{rtf, tnef};
    if let Some(t) = tnef::decode(raw) {
        let data: usize = t.attachments.iter().map(|a| a.data.len()).sum();
        // Embedded messages are lifted out, never copied: the files fit in the blob, apart from
        // an embedded message's body turned into a file (text bounded by its RTF, at most 8x).
        assert!(
            data <= raw.len().saturating_mul(16),
            "{data} bytes of files out of {}",
            raw.len()
        );
    }
    if let Some(r) = rtf::decompress(raw, 1 << 20) {
        assert!(r.len() <= 1 << 20, "LZFu bounded");
        let _ = rtf::body(&r);
    }
    let _ = rtf::body(raw);
}

/// An mbox read whole and read `raw[0]` bytes at a time gives the same mails, and the mails
/// together are never longer than the file (no byte is read twice: nothing merged or doubled).
pub fn mbox(raw: &[u8]) {
    use crate::intake::mbox::{split_mbox, MboxReader};
    let Some((&step, content)) = raw.split_first() else {
        return;
    };
    struct Trickle<'a>(&'a [u8], usize);
    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(out.len()).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let whole = split_mbox(content);
    let total: usize = whole.iter().map(Vec::len).sum();
    assert!(
        total <= content.len(),
        "{total} bytes of mail out of {}",
        content.len()
    );
    let trickled: Vec<Vec<u8>> = MboxReader::new(Trickle(content, usize::from(step.max(1))))
        .map(|m| m.expect("reading from memory"))
        .collect();
    assert!(
        trickled == whole,
        "the mails depend on how the file is read"
    );
}

/// Raw 8-bit header text turned into UTF-8 (charset detection), and any header value read as
/// addresses: valid UTF-8 that a second parse reads, no address that is empty.
pub fn header_charset(raw: &[u8]) {
    use mail_parser::MessageParser;
    if let Some(msg) = MessageParser::default().parse(raw) {
        if let Some(out) = crate::mail::charset::headers_in_utf8(raw, &msg) {
            // Each byte becomes at most one character of at most 3 bytes (U+FFFD included).
            assert!(
                out.len() <= raw.len() * 3,
                "{} bytes from {}",
                out.len(),
                raw.len()
            );
            let _ = MessageParser::default().parse(&out);
        }
    }
    for m in crate::mail::address::mailboxes(&String::from_utf8_lossy(raw)) {
        assert!(m.address.as_deref() != Some(""), "an empty address");
    }
}

/// Replays every saved input of `fuzz/regressions/` through its target.
#[cfg(test)]
mod tests {
    #[test]
    fn the_saved_crash_corpus_replays_without_a_panic() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
        type Target = fn(&[u8]);
        let targets: [(&str, Target); 6] = [
            ("mbox", super::mbox),
            ("header_charset", super::header_charset),
            ("mail_pipeline", super::mail_pipeline),
            ("winmail", super::winmail),
            ("agent_commands", super::agent_commands),
            ("config", super::config),
        ];
        let mut replayed = 0;
        for (name, target) in targets {
            let dir = root.join(name);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten().filter(|e| e.path().extension().is_none()) {
                let bytes = std::fs::read(e.path()).unwrap();
                let r = std::panic::catch_unwind(|| target(&bytes));
                assert!(r.is_ok(), "{} panics again", e.path().display());
                replayed += 1;
            }
        }
        assert!(replayed > 0, "no saved inputs under {}", root.display());
    }
}
