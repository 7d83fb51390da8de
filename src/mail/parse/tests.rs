//! Tests of the parent module.

use super::*;

fn p(raw: &str) -> InboundMail {
    parse(
        raw.as_bytes(),
        &content_hash(raw.as_bytes()),
        &ParseLimits::default(),
    )
    .unwrap()
}

#[test]
fn plain_mail() {
    let m = p("From: \"Carol C\" <Carol@Example.COM>\r\nTo: support@example.test\r\nSubject: =?UTF-8?Q?Caf=C3=A9?= down\r\nMessage-ID: <a1@example.com>\r\nIn-Reply-To: <x@y>\r\nReferences: <w@y> <x@y>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0100\r\n\r\nHello\r\n");
    assert_eq!(m.message_id, "<a1@example.com>");
    assert_eq!(m.from.as_ref().unwrap().address, "carol@example.com");
    assert_eq!(m.from.as_ref().unwrap().name.as_deref(), Some("Carol C"));
    assert_eq!(m.subject, "Café down");
    assert_eq!(m.in_reply_to, vec!["<x@y>"]);
    assert_eq!(m.references, vec!["<w@y>", "<x@y>"]);
    assert_eq!(
        m.date,
        Some(crate::time::parse_rfc3339("2026-11-21T09:00:00Z").unwrap())
    );
    assert_eq!(m.text.trim(), "Hello");
    assert!(m.html.is_none());
}

#[test]
fn missing_id_is_synthesised_stably() {
    let raw = "From: a@b.c\r\nSubject: x\r\n\r\nbody\r\n";
    let a = p(raw);
    let b = p(raw);
    assert!(a.message_id_synthesized);
    assert_eq!(a.message_id, b.message_id);
    assert!(a.message_id.ends_with("@synthesized.postdesk.invalid>"));
}

#[test]
fn html_only_is_sanitised_and_gives_text() {
    let m = p("From: a@b.c\r\nContent-Type: text/html\r\n\r\n<p onclick=\"x()\">Hi <b>there</b><script>alert(1)</script></p>\r\n");
    let html = m.html.unwrap();
    assert!(
        !html.contains("script") && !html.contains("onclick"),
        "{html}"
    );
    assert!(html.contains("<b>there</b>"));
    assert!(
        m.text.contains("Hi") && m.text.contains("there"),
        "{}",
        m.text
    );
}

/// An XSS cheat-sheet style corpus: nothing executable survives, the visible text does.
#[test]
fn nothing_executable_survives_sanitising() {
    let corpus = [
        "<script>alert(1)</script>visible",
        "<img src=x onerror=alert(1)>visible",
        "<body onload=alert(1)>visible</body>",
        "<a href=\"javascript:alert(1)\">visible</a>",
        "<a href=\" jAvAsCrIpT:alert(1)\">visible</a>",
        "<a href=\"&#106;avascript:alert(1)\">visible</a>",
        "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">visible</a>",
        "<a href=\"vbscript:msgbox(1)\">visible</a>",
        "<div style=\"width: expression(alert(1))\">visible</div>",
        "<div style=\"background:url(javascript:alert(1))\">visible</div>",
        "<style>body{background:url(javascript:alert(1))}</style>visible",
        "<svg><script>alert(1)</script></svg>visible",
        "<svg onload=alert(1)>visible</svg>",
        // mutation XSS: what follows <style> is style text, so the visible text goes first
        "visible<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">visible",
        "<base href=\"javascript:alert(1)//\">visible",
        "<form action=\"https://evil.example/\"><input name=p><button>visible</button></form>",
        "<iframe src=\"https://evil.example/\"></iframe>visible",
        "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>visible",
        "<object data=\"x.swf\"></object><embed src=\"x.swf\">visible",
        "<link rel=stylesheet href=\"https://evil.example/x.css\">visible",
        "<img src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\">visible",
        "<details open ontoggle=alert(1)>visible</details>",
        "<p title=\"</p><script>alert(1)</script>\">visible</p>",
        "<<script>script>alert(1)<</script>/script>visible",
    ];
    let bad = [
        "<script",
        "onerror",
        "onload",
        "ontoggle",
        "javascript:",
        "vbscript:",
        "data:",
        "expression(",
        "<svg",
        "<meta",
        "<base",
        "<form",
        "<input",
        "<iframe",
        "srcdoc",
        "<object",
        "<embed",
        "<link",
        "<style",
        "<math",
    ];
    for html in corpus {
        let out = sanitize_html(html, true).to_lowercase();
        for b in bad {
            assert!(!out.contains(b), "{b} survived in {out:?} (from {html:?})");
        }
        assert!(
            out.contains("visible"),
            "the text is gone: {out:?} (from {html:?})"
        );
    }
}

#[test]
fn remote_images_are_kept_or_blocked_as_configured() {
    let html = "<p>Hi<img src=\"https://track.example/p.gif?u=1\" alt=\"logo\"><img src=\"//cdn.example/x.png\"><img src=\"cid:part1@x\" alt=\"inline\"></p>";
    let blocked = sanitize_html(html, true);
    assert!(
        !blocked.contains("track.example") && !blocked.contains("cdn.example"),
        "{blocked}"
    );
    assert!(
        blocked.contains("alt=\"logo\"") && blocked.contains("cid:part1@x"),
        "{blocked}"
    );
    let kept = sanitize_html(html, false);
    assert!(
        kept.contains("https://track.example/p.gif?u=1") && kept.contains("cid:part1@x"),
        "{kept}"
    );
}

#[test]
fn header_stats_count_fields_and_unfold_long_ones() {
    assert_eq!(
        header_stats(b"A: 1\r\nB: 22\r\n  33\r\n\r\nbody: x\r\n"),
        (2, 9)
    );
    assert_eq!(header_stats(b"A: 1\nB: 2\n\nC: 3\n"), (2, 4));
    assert_eq!(header_stats(b""), (0, 0));
}

#[test]
fn winmail_dat_gives_its_attachments_and_body() {
    use base64::Engine;
    let blob = super::super::tnef::encode(
        Some("The body Outlook put in winmail.dat"),
        &[("../report.pdf", b"%PDF-1.4 data")],
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(&blob);
    let m = p(&format!(
        "From: a@b.c\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\n\
         Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"winmail.dat\"\r\n\r\n\
         {b64}\r\n--b--\r\n"
    ));
    assert_eq!(m.attachments.len(), 1, "{:?}", m.attachments);
    assert_eq!(m.attachments[0].name, "report.pdf");
    assert_eq!(
        m.attachments[0].content.as_deref(),
        Some(&b"%PDF-1.4 data"[..])
    );
    assert_eq!(m.text.trim(), "The body Outlook put in winmail.dat");
    // a broken blob is kept as it is
    let m = p("From: a@b.c\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
         --b\r\nContent-Type: application/ms-tnef\r\nContent-Disposition: attachment; filename=\"winmail.dat\"\r\n\r\n\
         garbage\r\n--b--\r\n");
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].name, "winmail.dat");
    assert_eq!(m.text.trim(), "hi");
    // So is a valid blob that carries nothing the reader turns into text or files.
    assert!(super::super::tnef::decode(&super::super::tnef::encode(None, &[])).is_some());
    let empty =
        base64::engine::general_purpose::STANDARD.encode(super::super::tnef::encode(None, &[]));
    let m = p(&format!(
        "From: a@b.c\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
         --b\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{empty}\r\n--b--\r\n"
    ));
    assert_eq!(m.attachments.len(), 1, "{:?}", m.attachments);
    assert_eq!(m.attachments[0].name, "winmail.dat");
    assert!(m.attachments[0].size > 0);
}

#[test]
fn winmail_dat_with_only_compressed_rtf_gives_sanitised_html_and_text() {
    use super::super::tnef::{Builder, PropValue};
    use base64::Engine;
    // As real Outlook sends it: no attBody, the HTML wrapped in compressed RTF; here with
    // a script and an event handler that must not survive, and a long attachment name.
    let rtf = r#"{\rtf1\ansi\ansicpg1252\fromhtml1 \deff0{\fonttbl{\f0\fswiss Arial;}}
{\*\htmltag19 <html>}{\*\htmltag50 <body>}{\*\htmltag64 <p onclick="steal()">}\htmlrtf {\htmlrtf0 Hello from Outlook, na\'efve caf\'e9\htmlrtf }\htmlrtf0
{\*\htmltag72 </p>}{\*\htmltag0 <script>alert(1)</script>}{\*\htmltag58 </body>}{\*\htmltag27 </html>}}"#;
    let blob = Builder::new()
        .message_props(&[(
            0x1009,
            PropValue::Binary(&compressed_rtf::compress_rtf(rtf).unwrap()),
        )])
        .attachment(
            "ANNUAL~1.PDF",
            Some(b"%PDF-1.7"),
            &[(0x3707, PropValue::Unicode("Annual report 2026.pdf"))],
        )
        .build();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&blob);
    let m = p(&format!(
        "From: a@b.c\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
    ));
    assert_eq!(m.text.trim(), "Hello from Outlook, naïve café");
    let html = m.html.as_deref().unwrap();
    assert!(html.contains("Hello from Outlook, naïve café"), "{html}");
    assert!(
        !html.contains("script") && !html.contains("onclick"),
        "{html}"
    );
    assert_eq!(m.attachments.len(), 1, "{:?}", m.attachments);
    assert_eq!(m.attachments[0].name, "Annual report 2026.pdf");
}

#[test]
fn attachment_names_are_neutralised() {
    let long = format!("{}.pdf", "a".repeat(300));
    let cases: Vec<(&str, String)> = vec![
        ("report.pdf", "report.pdf".into()),
        ("../../etc/passwd", "passwd".into()),
        ("..\\..\\Windows\\system32\\evil.dll", "evil.dll".into()),
        ("C:\\boot.ini", "boot.ini".into()),
        ("nul\u{0}byte.txt", "nulbyte.txt".into()),
        ("invoice\u{202E}fdp.exe", "invoicefdp.exe".into()),
        ("zero\u{200B}width.doc", "zerowidth.doc".into()),
        ("line\r\nbreak.txt", "linebreak.txt".into()),
        ("CON", "_CON".into()),
        ("com1.txt", "_com1.txt".into()),
        ("lpt9", "_lpt9".into()),
        ("console.txt", "console.txt".into()),
        ("...hidden", "hidden".into()),
        ("trailing. . ", "trailing".into()),
        ("a:b*c?.txt", "a_b_c_.txt".into()),
        ("../", "attachment".into()),
        ("", "attachment".into()),
        (long.as_str(), format!("{}.pdf", "a".repeat(196))),
    ];
    for (raw, want) in cases {
        assert_eq!(safe_file_name(raw), want, "{raw:?}");
    }
    // multi-byte names are cut on a character boundary
    let cut = safe_file_name(&format!("{}.txt", "ä".repeat(150)));
    assert!(cut.len() <= 200 && cut.ends_with(".txt"), "{cut}");
}

#[test]
fn charsets_decode_to_utf8() {
    // (charset, encoded body bytes, expected text)
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "iso-2022-jp",
            b"\x1b$B$3$s$K$A$O\x1b(B".to_vec(),
            "こんにちは",
        ),
        ("gb18030", vec![0xc4, 0xe3, 0xba, 0xc3], "你好"),
        ("big5", vec![0xa7, 0x41, 0xa6, 0x6e], "你好"),
        ("koi8-r", vec![0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4], "Привет"),
        // windows-1252 quotes and euro sign in mail labelled ISO-8859-1
        (
            "iso-8859-1",
            vec![0x93, b'H', b'i', 0x94, b' ', 0x80, b'5'],
            "\u{201c}Hi\u{201d} \u{20ac}5",
        ),
        ("utf-7", b"Hi +AOQ-".to_vec(), "Hi ä"),
    ];
    for (cs, body, want) in cases {
        let mut raw =
            format!("From: a@b.c\r\nSubject: x\r\nContent-Type: text/plain; charset={cs}\r\n\r\n")
                .into_bytes();
        raw.extend_from_slice(&body);
        raw.extend_from_slice(b"\r\n");
        let m = parse(&raw, &content_hash(&raw), &ParseLimits::default()).unwrap();
        assert_eq!(m.text.trim(), want, "{cs}");
    }
    // encoded words in those charsets, and broken ones kept as they are
    let m = p("From: =?koi8-r?b?8NLJ18XU?= <a@b.c>\r\nSubject: =?iso-2022-jp?b?GyRCJDMkcyRLJEEkTxsoQg==?= =?utf-8?q?broken\r\n\r\nx\r\n");
    assert_eq!(m.from.unwrap().name.as_deref(), Some("Привет"));
    assert!(m.subject.starts_with("こんにちは"), "{}", m.subject);
    assert!(m.subject.contains("broken"), "{}", m.subject);
}

#[test]
fn one_line_strips_injection() {
    assert_eq!(one_line("Hi\r\nBcc: evil@x\0"), "Hi Bcc: evil@x");
    assert_eq!(normalize_id(" <a@b> "), Some("<a@b>".into()));
    assert_eq!(normalize_id("<>"), None);
    assert_eq!(
        normalize_id("<1234   @   local(blah)  .machine .example>"),
        Some("<1234@local(blah).machine.example>".into())
    );
}

#[test]
fn garbage_is_an_error() {
    assert_eq!(
        parse(b"  \r\n", "00", &ParseLimits::default()).unwrap_err(),
        ParseError::Empty
    );
}

#[test]
fn dedupe_key_ignores_received_trail() {
    let a = p("Received: from a\r\nFrom: a@b.c\r\nMessage-ID: <1@b.c>\r\n\r\nbody\r\n");
    let b = p("Received: from b\r\nReceived: from c\r\nFrom: a@b.c\r\nMessage-ID: <1@b.c>\r\n\r\nbody\r\n");
    let c = p("Received: from b\r\nFrom: a@b.c\r\nMessage-ID: <1@b.c>\r\n\r\nother body\r\n");
    assert_eq!(a.dedupe_key, b.dedupe_key);
    assert_ne!(a.dedupe_key, c.dedupe_key);
}

#[test]
fn dedupe_keys_compare_the_whole_normalised_body() {
    let head = "From: a@example.com\nSubject: s\nMessage-ID: <d@example.com>\nDate: Sat, 21 Nov 2026 10:00:00 +0000\n\n";
    // LF-only mails that differ before a CR LF pair in the body are two mails.
    let one = p(&format!("{head}first\r\n\r\nsame tail\n"));
    let two = p(&format!("{head}second\r\n\r\nsame tail\n"));
    assert_ne!(one.dedupe_key, two.dedupe_key);
    // The same mail with CR LF (IMAP) and LF (Maildir) line endings is one mail.
    let lf = format!("{head}line one\nline two\n");
    let crlf = lf.replace('\n', "\r\n");
    assert_eq!(p(&lf).dedupe_key, p(&crlf).dedupe_key);
    assert_ne!(
        p(&lf).dedupe_key,
        p(&format!("{head}line one\nline 2\n")).dedupe_key
    );
    for (raw, body) in [
        ("a: b\n\nx", "x"),
        ("a: b\r\n\r\nx\r\n\r\ny", "x\r\n\r\ny"),
        ("a: b\n\r\nx", "x"),
        ("a: b\nc: d", ""),
    ] {
        assert_eq!(body_bytes(raw.as_bytes()), body.as_bytes(), "{raw:?}");
    }
}

#[test]
fn the_first_from_header_counts_and_a_second_is_flagged() {
    let m = p("From: carol@example.com\r\nFrom: ceo@example.test\r\nTo: support@example.test\r\nSubject: s\r\n\r\nx\r\n");
    assert_eq!(m.sender(), "carol@example.com");
    assert!(
        m.limits_hit
            .iter()
            .any(|l| l.contains("2 From header fields")),
        "{:?}",
        m.limits_hit
    );
    // In one From, the first mailbox with an address.
    let m = p("From: \"Nobody\" <>, Carol <carol@example.com>\r\nSubject: s\r\n\r\nx\r\n");
    assert_eq!(m.sender(), "carol@example.com");
    assert!(m.limits_hit.is_empty());
}

#[test]
fn a_mail_with_cr_only_line_endings_is_read_field_by_field() {
    let m = p("From: carol@example.com\rTo: support@example.test\rReply-To: other@example.net\rSubject: Old Mac\rMessage-ID: <cr@example.com>\r\rBody line\rsecond\r");
    assert_eq!(m.sender(), "carol@example.com");
    assert_eq!(m.subject, "Old Mac");
    assert_eq!(m.message_id, "<cr@example.com>");
    assert!(m.text.contains("Body line"), "{:?}", m.text);
}

#[test]
fn every_inline_text_part_reaches_the_text_and_the_html_in_order() {
    // Apple Mail: text, an inline image, more text, in multipart/mixed.
    let apple = "From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nBefore the picture.\r\n--m\r\nContent-Type: image/png; name=\"shot.png\"\r\nContent-Disposition: inline; filename=\"shot.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--m\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nAfter the picture.\r\n--m--\r\n";
    let m = p(apple);
    let first = m.text.find("Before the picture.");
    let second = m.text.find("After the picture.");
    assert!(first.is_some() && second > first, "{:?}", m.text);
    assert_eq!(m.attachments.len(), 1, "the image is still an attachment");
    // HTML then text, as some clients write a signature after an inline image.
    let mixed = "From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<p>First <b>part</b>.</p>\r\n--m\r\nContent-Type: image/png; name=\"x.png\"\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--m\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<p>Second part.</p>\r\n--m--\r\n";
    let m = p(mixed);
    let html = m.html.unwrap();
    let (a, b) = (html.find("First"), html.find("Second part."));
    assert!(a.is_some() && b > a, "{html}");
    let (a, b) = (m.text.find("First"), m.text.find("Second part."));
    assert!(a.is_some() && b > a, "{:?}", m.text);
    // An ordinary alternative mail is not doubled.
    let alt = "From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\nContent-Type: text/plain\r\n\r\nHello once.\r\n--a\r\nContent-Type: text/html\r\n\r\n<p>Hello once.</p>\r\n--a--\r\n";
    let m = p(alt);
    assert_eq!(m.text.matches("Hello once.").count(), 1, "{:?}", m.text);
    assert_eq!(m.html.unwrap().matches("Hello once.").count(), 1);
}

#[test]
fn raw_8bit_headers_are_decoded_by_their_detected_charset() {
    // (the header text, its encoding, the body's declared charset as a hint)
    let cases: [(&str, &'static encoding_rs::Encoding, &str); 6] = [
        ("打印机坏了，请尽快修理", encoding_rs::GBK, "gbk"),
        (
            "プリンターが壊れました。至急修理をお願いします",
            encoding_rs::SHIFT_JIS,
            "shift_jis",
        ),
        (
            "프린터가 고장났습니다 빨리 고쳐 주세요",
            encoding_rs::EUC_KR,
            "euc-kr",
        ),
        ("印表機壞了，請盡快修理", encoding_rs::BIG5, "big5"),
        (
            "Принтер сломался, почините пожалуйста",
            encoding_rs::WINDOWS_1251,
            "windows-1251",
        ),
        (
            "Drucker kaputt, bitte schnell reparieren: Grüße",
            encoding_rs::WINDOWS_1252,
            "windows-1252",
        ),
    ];
    for (text, enc, hint) in cases {
        for declared in [hint, "us-ascii"] {
            let (subject, _, _) = enc.encode(text);
            let (name, _, _) = enc.encode("张伟 Müller");
            let file_name = format!("{}.pdf", &text[..text.char_indices().nth(4).unwrap().0]);
            let (file, _, _) = enc.encode(&file_name);
            let mut raw = b"From: ".to_vec();
            raw.extend_from_slice(&name);
            raw.extend_from_slice(b" <zw@example.com>\r\nSubject: ");
            raw.extend_from_slice(&subject);
            raw.extend_from_slice(format!("\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset={declared}\r\n\r\nbody\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"").as_bytes());
            raw.extend_from_slice(&file);
            raw.extend_from_slice(
                b"\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n",
            );
            let m = parse(&raw, &content_hash(&raw), &ParseLimits::default()).unwrap();
            if declared == hint || enc != encoding_rs::WINDOWS_1252 {
                assert_eq!(m.subject, text, "{} declared {declared}", enc.name());
            }
            assert!(
                !m.subject.contains('\u{FFFD}'),
                "{}: {}",
                enc.name(),
                m.subject
            );
            let name = m.from.as_ref().unwrap().name.clone().unwrap_or_default();
            assert!(!name.contains('\u{FFFD}'), "{}: {name}", enc.name());
            let file = m.attachments[0].name.clone();
            assert!(
                !file.contains('\u{FFFD}') && file.ends_with(".pdf"),
                "{}: {file}",
                enc.name()
            );
        }
    }
    // Valid UTF-8 stays as it is.
    let m = p("From: Zoë <z@example.com>\r\nSubject: Grüße aus Köln\r\n\r\nx\r\n");
    assert_eq!(m.subject, "Grüße aus Köln");
    assert_eq!(m.from.unwrap().name.as_deref(), Some("Zoë"));
}

#[test]
fn obsolete_address_forms_are_kept_as_written_in_lower_case() {
    // (From as written, the sender's address, the sender's name)
    let cases = [
        ("user@host@Relay.Example", "user@host@relay.example", None),
        ("relay!host!user", "relay!host!user", None),
        (
            "relay!host!user (Old Unix)",
            "relay!host!user",
            Some("Old Unix"),
        ),
        (
            "<@a.example,@b.example:User@Host.Example>",
            "user@host.example",
            None,
        ),
        (
            "Joe <@a.example,@b.example:joe@Host.Example>",
            "joe@host.example",
            Some("Joe"),
        ),
        ("\"john doe\"@Example.COM", "\"john doe\"@example.com", None),
        (
            "\"John Doe\" <\"john doe\"@example.com>",
            "\"john doe\"@example.com",
            Some("John Doe"),
        ),
        (
            "John.Smith@Example.COM (John Smith)",
            "john.smith@example.com",
            Some("John Smith"),
        ),
        (
            "Mary Smith <mary@[192.0.2.1]>",
            "mary@[192.0.2.1]",
            Some("Mary Smith"),
        ),
        ("joe @ example . com", "joe@example.com", None),
        (
            "=?utf-8?q?Zo=C3=AB?= <zoe@example.com>",
            "zoe@example.com",
            Some("Zoë"),
        ),
    ];
    for (written, address, name) in cases {
        let m = p(&format!(
            "From: {written}\r\nTo: a@b.example, relay!x!y\r\nSubject: x\r\n\r\nb\r\n"
        ));
        let from = m.from.unwrap_or_else(|| panic!("{written}: no sender"));
        assert_eq!(from.address, address, "{written}");
        assert_eq!(from.name.as_deref(), name, "{written}");
        assert_eq!(m.sender_header, Some("from"), "{written}");
        assert_eq!(m.to.len(), 2, "{written}: {:?}", m.to);
    }
}
