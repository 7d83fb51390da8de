//! The language a customer is written to in, without I/O: a rule's `language`, else the first
//! mail's `Content-Language`, else the language its text is written in (whatlang, among the
//! languages templates exist for), else none (the default, English).

/// The languages templates and articles are shipped in; the first is the default.
pub const LANGUAGES: [&str; 3] = ["en", "de", "fr"];

/// Whether `lang` is one of [`LANGUAGES`].
pub fn supported(lang: &str) -> bool {
    LANGUAGES.contains(&lang)
}

/// The supported language a `Content-Language` value names first (`de-CH, en` is German).
pub fn from_header(value: &str) -> Option<&'static str> {
    value.split(',').find_map(|tag| {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        LANGUAGES.iter().copied().find(|l| *l == primary)
    })
}

/// The `Content-Language` header of a raw mail (the top-level one), if it has one.
pub fn content_language(raw: &[u8]) -> Option<String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..end]);
    head.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-language")
            .then(|| v.trim().to_string())
    })
}

/// The language `text` is written in, when whatlang is sure enough and it is supported. Short
/// texts say too little: under 40 letters, nothing.
pub fn detect(text: &str) -> Option<&'static str> {
    // The first 600 characters say which language a mail is in as well as all of it, at a
    // fraction of the cost (detection is on the path of every new ticket).
    let text = match text.char_indices().nth(600) {
        Some((i, _)) => &text[..i],
        None => text,
    };
    if text.chars().filter(|c| c.is_alphabetic()).count() < 40 {
        return None;
    }
    let detector = whatlang::Detector::with_allowlist(vec![
        whatlang::Lang::Eng,
        whatlang::Lang::Deu,
        whatlang::Lang::Fra,
    ]);
    let info = detector.detect(text)?;
    if info.confidence() < 0.5 {
        return None;
    }
    Some(match info.lang() {
        whatlang::Lang::Deu => "de",
        whatlang::Lang::Fra => "fr",
        _ => "en",
    })
}

/// The language for a new ticket's requester and where it came from (`rule`, `header`,
/// `detected`); `None`: nothing says (the default applies).
pub fn choose(
    rule: Option<&str>,
    content_language: Option<&str>,
    text: &str,
) -> Option<(&'static str, &'static str)> {
    if let Some(l) = rule.and_then(|r| LANGUAGES.iter().copied().find(|l| *l == r)) {
        return Some((l, "rule"));
    }
    if let Some(l) = content_language.and_then(from_header) {
        return Some((l, "header"));
    }
    detect(text).map(|l| (l, "detected"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_read_from_the_top_of_the_mail_only() {
        let raw = b"From: a@b\r\nContent-Language: fr-CA\r\n\r\nContent-Language: de\r\n";
        assert_eq!(content_language(raw).as_deref(), Some("fr-CA"));
        assert_eq!(
            content_language(b"From: a@b\r\n\r\nContent-Language: de\r\n"),
            None
        );
    }

    #[test]
    fn a_rule_wins_then_the_header_then_the_text() {
        let de = "Guten Tag, mein Drucker im zweiten Stock druckt seit heute Morgen nicht mehr. Können Sie bitte jemanden vorbeischicken?";
        let fr = "Bonjour, mon imprimante au deuxième étage ne fonctionne plus depuis ce matin. Pouvez-vous envoyer quelqu'un, s'il vous plaît ?";
        let en = "Hello, the printer on the second floor has not worked since this morning. Could you please send someone to look at it?";
        assert_eq!(choose(Some("fr"), Some("de"), en), Some(("fr", "rule")));
        assert_eq!(choose(None, Some("de-CH, en"), en), Some(("de", "header")));
        assert_eq!(choose(None, Some("es"), de), Some(("de", "detected")));
        assert_eq!(choose(None, None, fr), Some(("fr", "detected")));
        assert_eq!(choose(None, None, en), Some(("en", "detected")));
        assert_eq!(
            choose(None, None, "Drucker kaputt"),
            None,
            "too short to tell"
        );
        assert_eq!(choose(Some("xx"), None, "ok"), None);
    }
}
