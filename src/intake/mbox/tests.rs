use super::*;
use proptest::prelude::*;

const SEP: &str = "From someone@example.com Sat Jan  1 00:00:00 2000\n";

/// Reads a byte at a time: the reader must not depend on how reads are cut.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.1.min(out.len()).min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fn split(mbox: &str) -> Vec<String> {
    let whole: Vec<String> = split_mbox(mbox.as_bytes())
        .into_iter()
        .map(|m| String::from_utf8(m).unwrap())
        .collect();
    for step in [1, 7] {
        let trickled: Vec<String> = MboxReader::new(Trickle(mbox.as_bytes(), step))
            .map(|m| String::from_utf8(m.unwrap()).unwrap())
            .collect();
        assert_eq!(trickled, whole, "read {step} bytes at a time");
    }
    whole
}

#[test]
fn each_variant_gives_back_the_mails_it_holds() {
    let cases: &[(&str, String, &[&str])] = &[
        (
            "mboxrd: one > less before From",
            format!("{SEP}Subject: one\n\nhello\n>From the start\n>>From quoted\n\n{SEP}Subject: two\n\nbye\n"),
            &["Subject: one\n\nhello\nFrom the start\n>From quoted\n", "Subject: two\n\nbye\n"],
        ),
        (
            "mboxo: the quoted From after a blank line",
            format!("{SEP}Subject: one\n\nhi\n\n>From Monday on it works\n\n{SEP}Subject: two\n\nx\n"),
            &["Subject: one\n\nhi\n\nFrom Monday on it works\n", "Subject: two\n\nx\n"],
        ),
        (
            "mboxcl2: an unquoted dated From line inside a measured body",
            format!("{SEP}Content-Length: {}\nSubject: one\n\nforwarded:\n\n{SEP}>From stays\n\n{SEP}Subject: two\n\nx\n", 24 + SEP.len()),
            &[&format!("Content-Length: {}\nSubject: one\n\nforwarded:\n\n{SEP}>From stays\n", 24 + SEP.len()), "Subject: two\n\nx\n"],
        ),
        (
            "mboxcl: a measured body with quoting only",
            format!("{SEP}Content-Length: 18\nSubject: one\n\nsee\n>From here on\n\n{SEP}Subject: two\n\nx\n"),
            &["Content-Length: 18\nSubject: one\n\nsee\nFrom here on\n", "Subject: two\n\nx\n"],
        ),
        (
            "a Content-Length too long falls back to the separators",
            format!("{SEP}Content-Length: 9999\nSubject: one\n\nbody\n\n{SEP}Subject: two\n\nx\n"),
            &["Content-Length: 9999\nSubject: one\n\nbody\n", "Subject: two\n\nx\n"],
        ),
        (
            "a Content-Length too short falls back to the separators",
            format!("{SEP}Content-Length: 3\nSubject: one\n\nbody text\n\n{SEP}Subject: two\n\nx\n"),
            &["Content-Length: 3\nSubject: one\n\nbody text\n", "Subject: two\n\nx\n"],
        ),
        (
            "a Content-Length ending inside a line that looks like a separator",
            format!("{SEP}Content-Length: 6\nSubject: one\n\nbody: {SEP}\n{SEP}Subject: two\n\nx\n"),
            &[&format!("Content-Length: 6\nSubject: one\n\nbody: {SEP}"), "Subject: two\n\nx\n"],
        ),
        (
            "a dated separator with no blank line before it still separates",
            format!("{SEP}Subject: one\n\nbody\n{SEP}Subject: two\n\nx\n"),
            &["Subject: one\n\nbody\n", "Subject: two\n\nx\n"],
        ),
        (
            "an unquoted From line without a date does not split a dated mbox",
            format!("{SEP}Subject: one\n\nhi\n\nFrom what I see, it works\n\n{SEP}Subject: two\n\nx\n"),
            &["Subject: one\n\nhi\n\nFrom what I see, it works\n", "Subject: two\n\nx\n"],
        ),
        (
            "a hand-made mbox without dates splits after blank lines only",
            "From a@b x\nSubject: one\n\nline\nFrom here on\n\nFrom c@d y\nSubject: two\n\nx\n".into(),
            &["Subject: one\n\nline\nFrom here on\n", "Subject: two\n\nx\n"],
        ),
        (
            "CR LF line ends",
            SEP.replace('\n', "\r\n") + "Subject: one\r\n\r\nhi\r\n\r\n" + &SEP.replace('\n', "\r\n") + "Subject: two\r\n\r\nx\r\n",
            &["Subject: one\r\n\r\nhi\r\n", "Subject: two\r\n\r\nx\r\n"],
        ),
        (
            "Thunderbird's and RFC 5322 separator dates",
            "From - Tue Dec 01 10:00:00 2020\nSubject: one\n\na\nFrom x@y Sat, 01 Jan 2000 00:00:00 +0000\nSubject: two\n\nb\n".into(),
            &["Subject: one\n\na\n", "Subject: two\n\nb\n"],
        ),
        (
            "two separators in a row hold no mail",
            format!("{SEP}{SEP}Subject: one\n\na\n"),
            &["Subject: one\n\na\n"],
        ),
        (
            "the last mail without a final line end",
            format!("{SEP}Subject: one\n\na"),
            &["Subject: one\n\na"],
        ),
    ];
    for (what, mbox, want) in cases {
        assert_eq!(split(mbox), *want, "{what}");
    }
}

#[test]
fn separator_lines() {
    for (line, dated) in [
        ("From MAILER-DAEMON Fri Jul  8 12:08:34 2011", true),
        ("From a@b Sat Jan  1 00:00:00 2000 +0000", true),
        ("From - Tue Dec 01 10:00:00 2020", true),
        ("From a@b Sat, 01 Jan 2000 00:00 +0000", true),
        ("From what I see, it works", false),
        ("From 9:00 to 17:00 on Monday", false),
        ("From a@b x", false),
        ("From : John <j@example.com> Jan 1 10:00 2000", false),
        ("From a@b Sat Jan  1 00:00:00 1600", false),
    ] {
        assert_eq!(is_dated_separator(line.as_bytes()), dated, "{line}");
    }
    assert!(is_mbox(b"From a@b Sat Jan  1 00:00:00 2000\nSubject: x\n"));
    assert!(!is_mbox(b"From  : John Doe <jdoe@example>\nSubject: x\n"));
    assert!(!is_mbox(b"From: a@b\n"));
    assert!(!is_mbox(b"From \n"));
}

/// A mail as the property test writes it: a header, then body lines drawn from the ones that
/// trouble mbox readers. It ends in a line end and not in a blank line (the blank line before
/// a separator is the mbox's own in mboxo and mboxrd).
fn mail() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just(String::new()),
        "[a-z ]{1,20}",
        Just("From here on".to_string()),
        Just(">From quoted".to_string()),
        Just(">>From twice".to_string()),
        Just(SEP.trim_end().to_string()),
        Just("Content-Length: 3".to_string()),
    ];
    (any::<u16>(), proptest::collection::vec(line, 0..12)).prop_map(|(n, lines)| {
        let mut m = format!("Subject: mail {n}\n\n");
        for l in lines {
            m.push_str(&l);
            m.push('\n');
        }
        m.push_str("end\n");
        m
    })
}

fn quote_rd(mail: &str) -> String {
    let mut out = String::new();
    for l in mail.split_inclusive('\n') {
        if l.trim_start_matches('>').starts_with("From ") {
            out.push('>');
        }
        out.push_str(l);
    }
    out
}

proptest! {
    #[test]
    fn no_mail_is_merged_or_split(mails in proptest::collection::vec(mail(), 1..6)) {
        // mboxrd: quoted, separated by a blank line.
        let rd: String = mails.iter().map(|m| format!("{SEP}{}\n", quote_rd(m))).collect();
        prop_assert_eq!(&split(&rd), &mails);
        // mboxcl2: measured, nothing quoted.
        let cl2: String = mails
            .iter()
            .map(|m| {
                let (head, body) = m.split_once("\n\n").unwrap();
                format!("{SEP}{head}\nContent-Length: {}\n\n{body}\n", body.len())
            })
            .collect();
        // A measured body with no unquoted From line reads as mboxcl (quoted).
        let want: Vec<String> = mails
            .iter()
            .map(|m| {
                let (head, body) = m.split_once("\n\n").unwrap();
                let body = if body.lines().any(|l| l.starts_with("From ")) {
                    body.to_string()
                } else {
                    body.split_inclusive('\n').map(|l| String::from_utf8(unquoted(l.as_bytes()).to_vec()).unwrap()).collect()
                };
                format!("{head}\nContent-Length: {}\n\n{body}", m.split_once("\n\n").unwrap().1.len())
            })
            .collect();
        prop_assert_eq!(split(&cl2), want);
    }
}
