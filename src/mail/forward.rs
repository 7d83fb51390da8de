//! A customer's mail forwarded by an agent (issue #17): found inline, as Gmail, Outlook,
//! Apple Mail and Thunderbird write a forward into the text, or as an attached
//! `message/rfc822` (its sender, subject and text read by the caller's parse). Pure.

use super::parse::MailAddr;

/// What a forward carries: who wrote the original, its subject and text, and what the agent
/// wrote above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    pub from: MailAddr,
    pub subject: Option<String>,
    /// The original mail's text.
    pub text: String,
    /// The agent's own text, above the forwarded part.
    pub note: String,
}

/// The lines that begin a forwarded part, as the common clients write them.
const MARKERS: &[&str] = &[
    "---------- Forwarded message ---------",
    "-------- Forwarded Message --------",
    "Begin forwarded message:",
    "-----Original Message-----",
    "________________________________",
];

/// The forward in an agent's text, when there is one whose sender has an address.
pub fn inline(text: &str) -> Option<Forwarded> {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let unquote = |l: &str| l.trim().trim_start_matches('>').trim().to_string();
    let start = lines.iter().position(|l| {
        let t = unquote(l);
        MARKERS.iter().any(|m| t.starts_with(m))
    })?;
    let (mut from, mut subject) = (None, None);
    let mut i = start + 1;
    // Apple Mail and Gmail may leave a blank line after the marker.
    while i < lines.len() && lines[i].trim().is_empty() {
        i += 1;
    }
    let mut seen = 0;
    while i < lines.len() {
        let l = unquote(lines[i]);
        if l.is_empty() {
            break;
        }
        let Some((key, value)) = l.split_once(':') else {
            break;
        };
        // Gmail writes names bold: `From: *Carol* <carol@…>`.
        let value = value.trim().replace('*', "");
        match key.trim().to_ascii_lowercase().as_str() {
            "from" | "von" | "de" => from = sender(&value),
            "subject" | "betreff" | "objet" | "asunto" => subject = Some(value),
            "date" | "sent" | "to" | "cc" | "datum" | "gesendet" | "an" | "reply-to" => {}
            // A marker line followed by no header at all is not a forward (an Outlook
            // signature rule, say).
            _ if seen == 0 => return None,
            _ => break,
        }
        seen += 1;
        i += 1;
    }
    let from = from?;
    let note = lines[..start].join("\n").trim().to_string();
    let text = lines[i.min(lines.len())..]
        .iter()
        .map(|l| {
            l.strip_prefix("> ")
                .or_else(|| l.strip_prefix('>'))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string();
    Some(Forwarded {
        from,
        subject,
        text,
        note,
    })
}

/// `Name <addr>`, `Name [mailto:addr]`, `Name <mailto:addr>` or a bare address.
fn sender(value: &str) -> Option<MailAddr> {
    let v = value
        .replace("[mailto:", "<")
        .replace("<mailto:", "<")
        .replace(']', ">");
    let (name, addr) = match (v.find('<'), v.rfind('>')) {
        (Some(a), Some(b)) if a < b => (v[..a].trim().trim_matches('"').trim(), v[a + 1..b].trim()),
        _ => ("", v.trim()),
    };
    let plain = addr.contains('@')
        && !addr.starts_with('@')
        && !addr.ends_with('@')
        && !addr
            .chars()
            .any(|c| c.is_whitespace() || "<>,;\"".contains(c));
    plain.then(|| MailAddr {
        name: (!name.is_empty()).then(|| name.to_string()),
        address: addr.to_lowercase(),
    })
}

/// The subject without the forward prefixes clients add (`Fwd:`, `FW:`, `WG:`, `TR:`).
pub fn strip_prefix(subject: &str) -> &str {
    let mut s = subject.trim();
    loop {
        let lower = s.to_ascii_lowercase();
        match ["fwd:", "fw:", "wg:", "tr:", "fwd :", "fw :"]
            .iter()
            .find(|p| lower.starts_with(*p))
        {
            Some(p) => s = s[p.len()..].trim_start(),
            None => return s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_clients_forwards_are_read() {
        let cases = [
            // Gmail
            "Please look at this.\n\n---------- Forwarded message ---------\nFrom: *Carol Customer* <carol@example.com>\nDate: Sat, Nov 21, 2026 at 10:00 AM\nSubject: Printer on fire\nTo: <alice@example.test>\n\n\nOur printer is on fire.\n",
            // Outlook desktop
            "Please look at this.\n\n________________________________\nFrom: Carol Customer <carol@example.com>\nSent: Saturday, November 21, 2026 10:00 AM\nTo: Alice Agent <alice@example.test>\nSubject: Printer on fire\n\nOur printer is on fire.\n",
            // Outlook, older
            "Please look at this.\n\n-----Original Message-----\nFrom: Carol Customer [mailto:carol@example.com]\nSent: Saturday, November 21, 2026 10:00 AM\nTo: Alice Agent\nSubject: Printer on fire\n\nOur printer is on fire.\n",
            // Apple Mail
            "Please look at this.\n\nBegin forwarded message:\n\n> From: Carol Customer <carol@example.com>\n> Subject: Printer on fire\n> Date: 21 November 2026 at 10:00:00 CET\n> To: alice@example.test\n> \n> Our printer is on fire.\n",
            // Thunderbird
            "Please look at this.\n\n-------- Forwarded Message --------\nSubject: \tPrinter on fire\nDate: \tSat, 21 Nov 2026 10:00:00 +0000\nFrom: \tCarol Customer <carol@example.com>\nTo: \talice@example.test\n\nOur printer is on fire.\n",
        ];
        for text in cases {
            let f = inline(text).unwrap_or_else(|| panic!("no forward in {text}"));
            assert_eq!(f.from.address, "carol@example.com", "{text}");
            assert_eq!(f.from.name.as_deref(), Some("Carol Customer"), "{text}");
            assert_eq!(f.subject.as_deref(), Some("Printer on fire"), "{text}");
            assert_eq!(f.text, "Our printer is on fire.", "{text}");
            assert_eq!(f.note, "Please look at this.", "{text}");
        }
    }

    #[test]
    fn what_is_not_a_forward_is_not_taken_for_one() {
        for text in [
            "Hello,\n\nno forward here.\n",
            "Thanks\n________________________________\nAlice Agent | Example Support\n",
            "---------- Forwarded message ---------\nFrom: nobody\n\ntext\n",
        ] {
            assert_eq!(inline(text), None, "{text}");
        }
        assert_eq!(strip_prefix("Fwd: FW: Printer"), "Printer");
        assert_eq!(strip_prefix("WG: Drucker"), "Drucker");
        assert_eq!(strip_prefix("Forward planning"), "Forward planning");
    }
}
