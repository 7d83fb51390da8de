//! Reply and signature stripping: the new text of a reply, without the quoted history its mail
//! client added below it, or the signature. Pure; the full original is always kept elsewhere
//! (the raw mail in `inbound`), so stripping only decides what is shown and forwarded.
//!
//! Recognised, in any order of appearance (the earliest wins):
//! - our own marker line ("reply above this line");
//! - attribution lines, possibly wrapped over two or three lines: "On … wrote:" (Gmail,
//!   Thunderbird, Apple Mail, Yahoo), "Am … schrieb …:", "Le … a écrit :", "El … escribió:",
//!   "Op … schreef …:", "Il … ha scritto:", "Em … escreveu:";
//! - separators: "-----Original Message-----" and its translations, Proton's and Yahoo's
//!   dashed variants, Outlook's underscore rule followed by a header block;
//! - Outlook's header block "From: … / Sent: …" (desktop and web, also `*From:*` and the
//!   German, French, Spanish and Dutch field names);
//! - a trailing block of `>` quoted lines;
//! - a `-- ` signature, and "Sent from my …" phone footers at the end.

/// The marker postdesk puts at the top of the mail it sends agents; everything from it down is
/// history.
pub const REPLY_MARKER: &str = "## Reply above this line ##";

const ATTRIBUTION_STARTS: &[&str] = &["on ", "am ", "le ", "el ", "op ", "il ", "em ", "den "];
/// The verb of an attribution; the line ends with ':' after it, or after the writer's name
/// (German and Dutch put the name last: "Am … schrieb Carol <c@x>:").
const ATTRIBUTION_VERBS: &[&str] = &[
    " wrote",
    " writes",
    " schrieb",
    " a écrit",
    " a ecrit",
    " escribió",
    " escribio",
    " schreef",
    " ha scritto",
    " escreveu",
    " skrev",
];
const ORIGINAL_WORDS: &[&str] = &[
    "original message",
    "ursprüngliche nachricht",
    "message d'origine",
    "mensaje original",
    "oorspronkelijk bericht",
    "messaggio originale",
    "mensagem original",
];
const FROM_FIELDS: &[&str] = &["from:", "von:", "de:", "van:", "da:"];
const SENT_FIELDS: &[&str] = &[
    "sent:",
    "date:",
    "gesendet:",
    "datum:",
    "envoyé :",
    "envoyé:",
    "date :",
    "enviado:",
    "enviado el:",
    "fecha:",
    "verzonden:",
    "inviato:",
    "data:",
];
const PHONE_FOOTERS: &[&str] = &[
    "sent from my ",
    "von meinem ",
    "envoyé de mon ",
    "enviado desde mi ",
    "verzonden vanaf mijn ",
    "get outlook for ",
    "sent from outlook",
    "sent from yahoo mail",
    "sent with proton mail",
];

/// Lower case, without the Markdown-ish `*`/`_` emphasis Gmail's text part puts around
/// Outlook's field names, and trimmed.
fn norm(line: &str) -> String {
    line.trim()
        .trim_start_matches(['*', '_'])
        .replace("*", "")
        .to_lowercase()
}

fn is_attribution(text: &str) -> bool {
    let t = text.trim().to_lowercase();
    t.len() < 400
        && ATTRIBUTION_STARTS.iter().any(|s| t.starts_with(s))
        && t.ends_with(':')
        && ATTRIBUTION_VERBS.iter().any(|v| t.contains(v))
}

fn is_separator(line: &str) -> bool {
    let t = norm(line);
    let dashed = t.starts_with("---") || t.starts_with("___") || t.starts_with("===");
    dashed && ORIGINAL_WORDS.iter().any(|w| t.contains(w))
}

fn starts_with_field(line: &str, fields: &[&str]) -> bool {
    let t = norm(line);
    fields.iter().any(|f| t.starts_with(f))
}

/// An Outlook header block starting at `i`: a From line with a Sent/Date line in the next few.
fn is_header_block(lines: &[&str], i: usize) -> bool {
    starts_with_field(lines[i], FROM_FIELDS)
        && lines[i + 1..]
            .iter()
            .take(4)
            .any(|l| starts_with_field(l, SENT_FIELDS))
}

/// Where the quoted history starts, as a line index.
fn history_start(lines: &[&str]) -> Option<usize> {
    for i in 0..lines.len() {
        let line = lines[i];
        let t = line.trim();
        if t.to_lowercase().contains("reply above this line") {
            // Gmail and others put the attribution right above the quoted marker.
            return Some(attribution_above(lines, i));
        }
        if is_separator(line) {
            return Some(i);
        }
        if t.len() >= 10 && t.chars().all(|c| c == '_') {
            if lines[i + 1..]
                .iter()
                .take(3)
                .any(|l| starts_with_field(l, FROM_FIELDS))
            {
                return Some(i);
            }
            continue;
        }
        if is_header_block(lines, i) {
            return Some(i);
        }
        // An attribution over up to three wrapped lines (Gmail wraps at 78 columns).
        let mut joined = String::new();
        for l in lines[i..].iter().take(3) {
            if !joined.is_empty() {
                joined.push(' ');
            }
            joined.push_str(l.trim());
            if is_attribution(&joined) {
                return Some(i);
            }
            if l.trim().is_empty() {
                break;
            }
        }
    }
    trailing_quote(lines)
}

/// The first line of the attribution right above line `i`, or `i`.
fn attribution_above(lines: &[&str], i: usize) -> usize {
    let mut j = i;
    while j > 0 && (lines[j - 1].trim().is_empty() || lines[j - 1].trim() == ">") {
        j -= 1;
    }
    for k in (j.saturating_sub(3)..j).rev() {
        let joined = lines[k..j]
            .iter()
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join(" ");
        if is_attribution(&joined) {
            return k;
        }
    }
    i
}

/// The start of a block of `>` lines (and blank lines) that runs to the end of the text.
fn trailing_quote(lines: &[&str]) -> Option<usize> {
    let mut start = None;
    for (i, l) in lines.iter().enumerate().rev() {
        let t = l.trim_start();
        if t.starts_with('>') {
            start = Some(i);
        } else if !t.is_empty() {
            break;
        }
    }
    start
}

/// The new text of a reply: quoted history and signature removed, trailing blank lines trimmed.
/// Returns the whole text (trimmed) when nothing is recognised.
pub fn strip_reply(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let mut end = history_start(&lines).unwrap_or(lines.len());
    // The signature: the last "-- " line before the history.
    if let Some(sig) = lines[..end].iter().rposition(|l| *l == "-- " || *l == "--") {
        end = sig;
    }
    // Phone footers at the very end.
    while let Some(last) = lines[..end].iter().rposition(|l| !l.trim().is_empty()) {
        let t = lines[last].trim().to_lowercase();
        if PHONE_FOOTERS.iter().any(|f| t.starts_with(f)) && t.len() < 80 {
            end = last;
        } else {
            break;
        }
    }
    let kept = &lines[..end];
    let first = kept
        .iter()
        .position(|l| !l.trim().is_empty())
        .unwrap_or(kept.len());
    let last = kept
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map(|i| i + 1)
        .unwrap_or(first);
    kept[first..last.max(first)]
        .iter()
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: &str = "Thanks, the printer works again.";

    /// (client, reply as its text part looks) — each must strip to `NEW`.
    fn cases() -> Vec<(&'static str, String)> {
        let q = "> Our printer is on fire.\n> Please help.";
        vec![
            ("gmail", format!("{NEW}\n\nOn Sat, Nov 21, 2026 at 10:00 AM Carol Customer <carol@example.com> wrote:\n\n{q}\n")),
            ("gmail wrapped", format!("{NEW}\n\nOn Sat, Nov 21, 2026 at 10:00 AM Carol Customer with a long name <\ncarol.customer@example.com> wrote:\n\n{q}\n")),
            ("thunderbird", format!("{NEW}\n\nOn 11/21/26 10:00, Carol Customer wrote:\n{q}\n")),
            ("apple mail", format!("{NEW}\n\n> On 21 Nov 2026, at 10:00, Carol Customer <carol@example.com> wrote:\n> \n{q}\n")),
            ("apple mail plain", format!("{NEW}\n\nOn 21 Nov 2026, at 10:00, Carol Customer <carol@example.com> wrote:\n\n{q}\n")),
            ("yahoo", format!("{NEW}\n\n\n    On Saturday, November 21, 2026 at 10:00:00 AM GMT+1, Carol Customer <carol@example.com> wrote:\n\n Our printer is on fire.\n")),
            ("yahoo classic", format!("{NEW}\n\n----- Original Message -----\nFrom: Carol <carol@example.com>\nTo: support@example.test\nSent: Saturday, November 21, 2026 10:00 AM\nSubject: Printer\n\nOur printer is on fire.\n")),
            ("proton", format!("{NEW}\n\nSent with Proton Mail secure email.\n\n------- Original Message -------\nOn Saturday, November 21st, 2026 at 10:00, Carol <carol@example.com> wrote:\n\n{q}\n")),
            ("outlook desktop", format!("{NEW}\n\nFrom: Carol Customer <carol@example.com>\nSent: Saturday, November 21, 2026 10:00 AM\nTo: Support <support@example.test>\nSubject: Printer\n\nOur printer is on fire.\n")),
            ("outlook original message", format!("{NEW}\n\n-----Original Message-----\nFrom: Carol Customer [mailto:carol@example.com]\nSent: Saturday, November 21, 2026 10:00 AM\n\nOur printer is on fire.\n")),
            ("outlook web (divRplyFwdMsg)", format!("{NEW}\n\n________________________________\nFrom: Carol Customer <carol@example.com>\nSent: Saturday, November 21, 2026 10:00\nTo: Support\nSubject: Printer\n\nOur printer is on fire.\n")),
            ("outlook via gmail text", format!("{NEW}\n\n*From:* Carol Customer <carol@example.com>\n*Sent:* Saturday, November 21, 2026 10:00 AM\n*To:* Support\n\nOur printer is on fire.\n")),
            ("outlook german", format!("{NEW}\n\nVon: Carol Customer <carol@example.com>\nGesendet: Samstag, 21. November 2026 10:00\nAn: Support\nBetreff: Drucker\n\nUnser Drucker brennt.\n")),
            ("outlook german separator", format!("{NEW}\n\n-----Ursprüngliche Nachricht-----\nVon: Carol\nGesendet: Samstag\n\nUnser Drucker brennt.\n")),
            ("german", format!("{NEW}\n\nAm 21.11.2026 um 10:00 schrieb Carol Customer <carol@example.com>:\n{q}\n")),
            ("french", format!("{NEW}\n\nLe sam. 21 nov. 2026 à 10:00, Carol Customer <carol@example.com> a écrit :\n{q}\n")),
            ("spanish", format!("{NEW}\n\nEl sáb, 21 nov 2026 a las 10:00, Carol Customer (<carol@example.com>) escribió:\n{q}\n")),
            ("dutch", format!("{NEW}\n\nOp 21 nov. 2026 om 10:00 schreef Carol Customer <carol@example.com>:\n{q}\n")),
            ("our marker", format!("{NEW}\n\n{REPLY_MARKER}\nTicket [Support #4] was updated.\n")),
            ("our marker quoted by gmail", format!("{NEW}\n\nOn Sat, Nov 21, 2026 at 10:00 AM Example Support <support@example.test> wrote:\n\n> {REPLY_MARKER}\n> New ticket\n")),
            ("signature", format!("{NEW}\n\n-- \nAlice Agent\nExample Ltd.\n")),
            ("signature then quote", format!("{NEW}\n-- \nAlice\n\nOn Sat, Nov 21, 2026 Carol wrote:\n{q}\n")),
            ("bare quote", format!("{NEW}\n\n{q}\n\n")),
            ("iphone", format!("{NEW}\n\nSent from my iPhone\n\n> On 21 Nov 2026, at 10:00, Carol <carol@example.com> wrote:\n{q}\n")),
            ("crlf", format!("{NEW}\r\n\r\nOn Sat, Nov 21, 2026 at 10:00 AM Carol <carol@example.com> wrote:\r\n{q}\r\n")),
        ]
    }

    #[test]
    fn every_client_strips_to_the_new_text() {
        for (client, text) in cases() {
            assert_eq!(strip_reply(&text), NEW, "{client}:\n{text}");
        }
    }

    #[test]
    fn text_that_only_looks_like_history_is_kept() {
        for text in [
            "On Monday we will replace the toner.\nRegards",
            "From: the printer log\nit says error 42",
            "Line one\n> quoted in the middle\nmy answer below it",
            "-- not a signature marker, just dashes\nmore text",
        ] {
            assert_eq!(strip_reply(text), text, "{text}");
        }
        assert_eq!(strip_reply("\n\n  \n"), "");
        assert_eq!(strip_reply("> only a quote"), "");
    }
}
