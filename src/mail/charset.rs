//! Header text written as raw 8-bit bytes in no declared charset (RFC 2047 says encode it; many
//! East Asian and Russian mailers do not): GBK, Shift_JIS, EUC-KR, Big5, windows-1251/1252 in a
//! Subject, a display name or an attachment's file name. mail-parser reads such bytes as UTF-8
//! and gets U+FFFD; here the charset is detected (the body's declared charset first, when the
//! bytes are valid in it, else chardetng, Firefox's detector) and the values are rewritten as
//! UTF-8 so that a second parse reads them (RFC 6532). Valid UTF-8 stays as it is; raw
//! ISO-2022-JP (7-bit, with escape sequences) is decoded as ISO-2022-JP.

use encoding_rs::{Encoding, ISO_2022_JP, UTF_8};
use mail_parser::{Message, MimeHeaders};

/// The escape sequences that switch ISO-2022-JP into JIS X 0208 or JIS X 0201 Roman.
const ISO_2022_JP_ESCAPES: [&[u8]; 3] = [b"\x1b$B", b"\x1b$@", b"\x1b(J"];

fn is_iso_2022_jp(value: &[u8]) -> bool {
    value.contains(&0x1b)
        && ISO_2022_JP_ESCAPES
            .iter()
            .any(|esc| value.windows(esc.len()).any(|w| w == *esc))
}

/// What a header value's bytes need: nothing, the detected 8-bit charset, or ISO-2022-JP.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Detected,
    Iso2022Jp,
}

fn need(value: &[u8]) -> Option<Need> {
    if value.is_ascii() {
        return is_iso_2022_jp(value).then_some(Need::Iso2022Jp);
    }
    std::str::from_utf8(value)
        .is_err()
        .then_some(Need::Detected)
}

/// The charset a part declares for its text, when it is one that could have written 8-bit
/// header bytes (not US-ASCII, not UTF-8, not UTF-16).
fn declared_hint(msg: &Message<'_>) -> Option<&'static Encoding> {
    msg.parts.iter().find_map(|p| {
        let label = p.content_type()?.attribute("charset")?.trim();
        if ["us-ascii", "ascii", "ansi_x3.4-1968"]
            .iter()
            .any(|a| label.eq_ignore_ascii_case(a))
        {
            return None;
        }
        Encoding::for_label(label.as_bytes()).filter(|e| *e != UTF_8 && e.is_ascii_compatible())
    })
}

/// The top-level domain of the sender's address, as chardetng takes it (lower-case ASCII).
fn sender_tld(msg: &Message<'_>) -> Option<Vec<u8>> {
    let address = msg.from()?.first()?.address()?;
    let tld = address.rsplit(['@', '.']).next()?.to_ascii_lowercase();
    (!tld.is_empty() && tld.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .then(|| tld.into_bytes())
}

/// The charset of the 8-bit header bytes `sample`: the declared hint when the bytes are valid in
/// it, unless the hint is a single-byte charset (in which any bytes are valid) and the
/// detector finds a multi-byte one they are valid in; else the detector's guess.
fn detect(sample: &[u8], hint: Option<&'static Encoding>, tld: Option<&[u8]>) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(sample, true);
    let guess = detector.guess(tld, chardetng::Utf8Detection::Deny);
    let valid = |e: &'static Encoding| {
        e.decode_without_bom_handling_and_without_replacement(sample)
            .is_some()
    };
    match hint.filter(|h| valid(h)) {
        Some(h) if h.is_single_byte() && !guess.is_single_byte() && valid(guess) => guess,
        Some(h) => h,
        None => guess,
    }
}

/// `raw` with every header value of every MIME part (of `msg`, parsed from `raw`) that is not
/// valid UTF-8 rewritten in UTF-8 from its detected charset; `None` when every value already
/// is (the usual case: nothing is copied).
pub(crate) fn headers_in_utf8(raw: &[u8], msg: &Message<'_>) -> Option<Vec<u8>> {
    let mut spans = Vec::new();
    for part in &msg.parts {
        let (start, end) = (part.offset_header as usize, part.offset_body as usize);
        let Some(block) = raw.get(start..end.max(start)) else {
            continue;
        };
        if std::str::from_utf8(block).is_ok() && !is_iso_2022_jp(block) {
            continue;
        }
        for h in &part.headers {
            let (s, e) = (h.offset_start as usize, h.offset_end as usize);
            if let Some(need) = raw.get(s..e).and_then(need) {
                spans.push((s, e, need));
            }
        }
    }
    if spans.is_empty() {
        return None;
    }
    spans.sort_unstable_by_key(|s| s.0);
    spans.dedup_by_key(|s| s.0);
    let sample: Vec<u8> = spans
        .iter()
        .filter(|s| s.2 == Need::Detected)
        .flat_map(|s| raw[s.0..s.1].iter().copied().chain([b' ']))
        .collect();
    let detected = detect(&sample, declared_hint(msg), sender_tld(msg).as_deref());
    let mut out = Vec::with_capacity(raw.len() + sample.len());
    let mut at = 0;
    for (s, e, need) in spans {
        if s < at {
            continue; // overlapping spans of a malformed part: the first one wins
        }
        let encoding = match need {
            Need::Detected => detected,
            Need::Iso2022Jp => ISO_2022_JP,
        };
        out.extend_from_slice(&raw[at..s]);
        out.extend_from_slice(
            encoding
                .decode_without_bom_handling(&raw[s..e])
                .0
                .as_bytes(),
        );
        at = e;
    }
    out.extend_from_slice(&raw[at..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    fn recoded(raw: &[u8]) -> Option<String> {
        let msg = MessageParser::default().parse(raw).unwrap();
        headers_in_utf8(raw, &msg).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn utf8_and_ascii_headers_are_not_copied() {
        assert_eq!(
            recoded(b"From: a@b.c\r\nSubject: plain\r\n\r\nbody\xff\r\n"),
            None
        );
        assert_eq!(recoded("Subject: Grüße\r\n\r\nx\r\n".as_bytes()), None);
    }

    #[test]
    fn only_the_header_values_change_and_the_body_stays_as_it_was() {
        let (subject, _, _) = encoding_rs::WINDOWS_1251.encode("Принтер сломался, почините");
        let mut raw = b"Subject: ".to_vec();
        raw.extend_from_slice(&subject);
        raw.extend_from_slice(b"\r\nContent-Type: text/plain; charset=windows-1251\r\n\r\n");
        raw.extend_from_slice(&subject);
        let out = MessageParser::default().parse(&raw).unwrap();
        let out = headers_in_utf8(&raw, &out).unwrap();
        assert!(out.starts_with("Subject: Принтер сломался, почините\r\n".as_bytes()));
        assert!(
            out.ends_with(&subject),
            "the body's bytes are the body's business"
        );
    }

    #[test]
    fn raw_iso_2022_jp_is_decoded() {
        let (subject, _, _) = ISO_2022_JP.encode("会議の件");
        let mut raw = b"Subject: ".to_vec();
        raw.extend_from_slice(&subject);
        raw.extend_from_slice(b"\r\n\r\nx\r\n");
        assert!(recoded(&raw).unwrap().starts_with("Subject: 会議の件\r\n"));
    }

    #[test]
    fn a_declared_charset_the_bytes_are_not_valid_in_is_not_taken() {
        // Shift_JIS bytes in a mail whose body says EUC-KR: the detector decides.
        let (subject, _, _) =
            encoding_rs::SHIFT_JIS.encode("プリンターが壊れました。至急修理をお願いします");
        let mut raw = b"Subject: ".to_vec();
        raw.extend_from_slice(&subject);
        raw.extend_from_slice(b"\r\nContent-Type: text/plain; charset=euc-kr\r\n\r\nx\r\n");
        let out = recoded(&raw).unwrap();
        assert!(out.contains("プリンターが壊れました"), "{out}");
    }
}
