//! Incoming mail → [`InboundMail`]: addresses, decoded subject, ids, text, sanitised HTML and
//! attachments. Liberal in what it accepts: a mail that mail-parser can read at all becomes an
//! `InboundMail`; only input with no header block is an error.

pub use super::ids::normalize_id;
use std::borrow::Cow;

use mail_parser::decoders::html::{html_to_text, text_to_html};
use mail_parser::{HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

/// Size limits applied while parsing.
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// Attachments larger than this are recorded (name, type, size) without their content;
    /// the raw mail still holds them.
    pub max_attachment_size: usize,
    /// Drop remote images (http, https, protocol-relative `src`) from stored HTML: a tracking
    /// pixel then never reports that the mail was read. The alt text stays.
    pub block_remote_images: bool,
    /// A mail with more MIME parts, or nested deeper, keeps only its headers (too_large).
    pub max_mime_parts: usize,
    pub max_mime_depth: usize,
    /// Attachments after this many are not stored separately (the raw mail keeps them).
    pub max_attachments: usize,
    /// HTML given to the sanitiser is cut to this many bytes.
    pub max_html_size: usize,
    /// The decoded text is cut to this many bytes.
    pub max_text_size: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_attachment_size: 25 * 1024 * 1024,
            block_remote_images: true,
            max_mime_parts: 500,
            max_mime_depth: 30,
            max_attachments: 200,
            max_html_size: 5 * 1024 * 1024,
            max_text_size: 2 * 1024 * 1024,
        }
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary; true when it cut.
fn cut_to(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut at = max;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    s.truncate(at);
    true
}

/// How deep the MIME tree of a parsed message nests (1 for a single part).
fn mime_depth(msg: &Message<'_>) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(0u32, 1usize)];
    let mut seen = 0;
    while let Some((id, depth)) = stack.pop() {
        seen += 1;
        if seen > msg.parts.len() {
            break; // a malformed tree that loops
        }
        deepest = deepest.max(depth);
        if let Some(PartType::Multipart(children)) = msg.parts.get(id as usize).map(|p| &p.body) {
            stack.extend(children.iter().map(|c| (*c, depth + 1)));
        }
    }
    deepest
}

/// The number of header fields of a raw mail and the length of its longest (unfolded) one,
/// read without parsing: a mail with 5 MB of headers is judged in one pass.
pub fn header_stats(raw: &[u8]) -> (usize, usize) {
    let (mut count, mut longest, mut current) = (0usize, 0usize, 0usize);
    for line in raw.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            current += line.len();
        } else {
            count += 1;
            current = line.len();
        }
        longest = longest.max(current);
    }
    (count, longest)
}

/// One address as written in a header: the lower-cased address and the display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAddr {
    pub name: Option<String>,
    pub address: String,
}

/// One attachment of an incoming mail.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub size: usize,
    /// `None` when the attachment is over the size limit.
    pub content: Option<Vec<u8>>,
}

/// Everything the pipeline needs from one incoming mail.
#[derive(Debug, Clone, Default)]
pub struct InboundMail {
    /// `<id@domain>`, with angle brackets; synthesised from the content hash when missing.
    pub message_id: String,
    /// True when the mail had no usable Message-ID and [`Self::message_id`] was made up.
    pub message_id_synthesized: bool,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// The sender: the first From mailbox with an address, else Sender, Reply-To or
    /// Return-Path (see `sender_header`); `None` when no header names one.
    pub from: Option<MailAddr>,
    /// The header `from` came from: `from`, `sender`, `reply-to` or `return-path`.
    pub sender_header: Option<&'static str>,
    pub reply_to: Option<MailAddr>,
    pub to: Vec<MailAddr>,
    pub cc: Vec<MailAddr>,
    /// Decoded subject, control characters replaced by spaces.
    pub subject: String,
    /// The Date header in ms since the epoch, when present and valid.
    pub date: Option<i64>,
    /// The text body (derived from the HTML when the mail has no text part).
    pub text: String,
    /// The HTML body, sanitised with ammonia; `None` when the mail has no HTML part.
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
    /// Headers that tell automatic mail apart (see `classify`), lower-cased names.
    pub auto: AutoHeaders,
    /// What the mail reports when it is a delivery status notification (a bounce).
    pub dsn: Option<super::dsn::Dsn>,
    /// Envelope recipients the delivering server recorded (Delivered-To, X-Original-To,
    /// Envelope-To), lower case: where a plus address shows when To: does not name it.
    pub envelope_to: Vec<String>,
    /// The conversation part (first 22 bytes, base64) of an Outlook Thread-Index header.
    pub thread_index: Option<String>,
    /// Every Authentication-Results header, unfolded.
    pub auth_results: Vec<String>,
    /// How many helpdesk hops this mail has made (our X-Postdesk-Hops header; 0 if absent).
    pub hops: u32,
    /// Hash over what makes this mail the same mail whichever way it arrived: Message-ID,
    /// Date, From, Subject and the body bytes (not the Received trail).
    pub dedupe_key: String,
    /// Limits this mail reached while parsing (what was cut), for the inbound record.
    pub limits_hit: Vec<String>,
}

impl InboundMail {
    /// The sender's address (From), or "" when the mail has none.
    pub fn sender(&self) -> String {
        self.from
            .as_ref()
            .map(|f| f.address.clone())
            .unwrap_or_default()
    }
}

/// The headers that mark automatic, bulk or looping mail.
#[derive(Debug, Clone, Default)]
pub struct AutoHeaders {
    pub auto_submitted: Option<String>,
    pub precedence: Option<String>,
    pub list_id: bool,
    pub list_unsubscribe: bool,
    pub x_autoreply: bool,
    /// `Return-Path: <>`: the null sender of bounces and auto-replies.
    pub return_path_empty: bool,
    /// `multipart/report; report-type=delivery-status` (RFC 3464 DSN).
    pub delivery_status_report: bool,
    /// Our own loop-detection header, when present.
    pub loop_header: Option<String>,
}

/// The header postdesk puts on everything it sends, to recognise its own mail coming back.
pub const LOOP_HEADER: &str = "X-Postdesk-Loop";

/// The hop counter on everything postdesk sends in answer to a mail: the incoming count + 1.
pub const HOPS_HEADER: &str = "X-Postdesk-Hops";

/// The conversation part of an Outlook Thread-Index (base64 of a 22-byte header, then 5 bytes
/// per reply): the first 22 bytes, base64 again, or `None` when it is not a Thread-Index.
pub fn thread_index_root(value: &str) -> Option<String> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = b64.decode(compact.as_bytes()).ok()?;
    if bytes.len() < 22 || (bytes.len() - 22) % 5 != 0 {
        return None;
    }
    Some(b64.encode(&bytes[..22]))
}

/// The conversation-level fields every parse reads the same way.
struct Extra {
    envelope_to: Vec<String>,
    thread_index: Option<String>,
    auth_results: Vec<String>,
    hops: u32,
}

fn extra(msg: &Message<'_>) -> Extra {
    let mut e = Extra {
        envelope_to: Vec::new(),
        thread_index: None,
        auth_results: Vec::new(),
        hops: 0,
    };
    for (name, value) in msg.headers_raw() {
        if name.eq_ignore_ascii_case("Delivered-To")
            || name.eq_ignore_ascii_case("X-Original-To")
            || name.eq_ignore_ascii_case("Envelope-To")
        {
            let a = one_line(value)
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_lowercase();
            if a.contains('@') && !e.envelope_to.contains(&a) {
                e.envelope_to.push(a);
            }
        } else if name.eq_ignore_ascii_case("Thread-Index") && e.thread_index.is_none() {
            e.thread_index = thread_index_root(value);
        } else if name.eq_ignore_ascii_case("Authentication-Results") {
            e.auth_results.push(one_line(value));
        } else if name.eq_ignore_ascii_case(HOPS_HEADER) {
            e.hops = e.hops.max(value.trim().parse().unwrap_or(0));
        }
    }
    e
}

/// Why a mail could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty message")]
    Empty,
    #[error("not an RFC 5322 message: no header fields found")]
    NoHeaders,
    /// Over a structural limit: the mail keeps only its headers.
    #[error("{0}")]
    OverLimit(String),
}

/// Lower-case hex SHA-256 of the raw bytes: the exact-duplicate key.
pub fn content_hash(raw: &[u8]) -> String {
    hex::encode(Sha256::digest(raw))
}

/// An attachment's name made harmless wherever it is stored, shown or written: no directories
/// (`../`, `C:\`), no NUL, control, bidi-override or zero-width characters, no leading dots
/// or trailing dots and spaces, no reserved Windows device name (CON, NUL, COM1 …), and at most
/// 200 bytes with the extension kept. What is left of nothing is "attachment".
pub fn safe_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let mut name: String = base
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
        })
        .map(|c| if matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|') { '_' } else { c })
        .collect();
    name = name
        .trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' '])
        .to_string();
    let stem = name
        .split('.')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_uppercase();
    let reserved = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        name.insert(0, '_');
    }
    const MAX: usize = 200;
    if name.len() > MAX {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e)
            .filter(|e| !e.is_empty() && e.len() <= 16)
            .map(|e| format!(".{e}"))
            .unwrap_or_default();
        let mut cut = MAX - ext.len();
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name = format!("{}{ext}", &name[..cut]);
    }
    if name.is_empty() {
        "attachment".into()
    } else {
        name
    }
}

/// Replaces CR, LF, NUL and other control characters with spaces and trims: for any value from
/// a mail that may end up in a header or a one-line field.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_control() || c.is_whitespace() {
            if !space && !out.is_empty() {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Removes NUL characters, which PostgreSQL cannot store in text.
fn no_nul(s: Cow<'_, str>) -> String {
    if s.contains('\0') {
        s.replace('\0', "")
    } else {
        s.into_owned()
    }
}

fn id_list(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => normalize_id(t).into_iter().collect(),
        HeaderValue::TextList(list) => list.iter().filter_map(|t| normalize_id(t)).collect(),
        _ => Vec::new(),
    }
}

fn header_text(msg: &Message<'_>, name: &str) -> Option<String> {
    msg.header_raw(name).map(|v| one_line(v).to_lowercase())
}

fn auto_headers(msg: &Message<'_>) -> AutoHeaders {
    let return_path_empty = match msg.header_raw(HeaderName::ReturnPath) {
        Some(raw) => raw
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim()
            .is_empty(),
        None => false,
    };
    let delivery_status_report = msg.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    AutoHeaders {
        auto_submitted: header_text(msg, "Auto-Submitted"),
        precedence: header_text(msg, "Precedence"),
        list_id: msg.header_raw(HeaderName::ListId).is_some()
            || msg.header_raw(HeaderName::ListPost).is_some()
            || msg.header_raw("Mailing-List").is_some(),
        list_unsubscribe: msg.header_raw(HeaderName::ListUnsubscribe).is_some(),
        x_autoreply: msg.header_raw("X-Autoreply").is_some()
            || msg.header_raw("X-Autorespond").is_some(),
        return_path_empty,
        delivery_status_report,
        loop_header: msg.header_raw(LOOP_HEADER).map(one_line),
    }
}

/// Sanitises HTML from a mail for display ([`super::html::sanitize`]).
pub fn sanitize_html(html: &str, block_remote_images: bool) -> String {
    super::html::sanitize(html, block_remote_images).0
}

/// The body of a raw mail: what follows the first blank line (`\n\n` or `\n\r\n`, whichever
/// line endings the mail uses), or nothing.
fn body_bytes(raw: &[u8]) -> &[u8] {
    for (i, _) in raw.iter().enumerate().filter(|(_, &c)| c == b'\n') {
        match &raw[i + 1..] {
            [b'\n', body @ ..] | [b'\r', b'\n', body @ ..] => return body,
            _ => {}
        }
    }
    &[]
}

/// Feeds `body` to `h` with every CR LF as LF, after its length so normalised: the same mail
/// stored from a Maildir (LF) and read over IMAP (CR LF) has one dedupe key, and two mails
/// that differ anywhere in the body have two.
fn hash_normalised_body(h: &mut Sha256, body: &[u8]) {
    let crlf = body.windows(2).filter(|w| w == b"\r\n").count();
    h.update(((body.len() - crlf) as u64).to_le_bytes());
    let mut rest = body;
    while let Some(p) = rest.windows(2).position(|w| w == b"\r\n") {
        h.update(&rest[..p]);
        rest = &rest[p + 1..];
    }
    h.update(rest);
}

/// A mail whose lines end in CR alone (old Mac mailers, some gateways) with CR LF instead, so
/// that the parser sees its header fields apart; `None` for any other mail.
fn cr_only_fixed(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.contains(&b'\n') || !raw.contains(&b'\r') {
        return None;
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    for &c in raw {
        out.push(c);
        if c == b'\r' {
            out.push(b'\n');
        }
    }
    Some(out)
}

/// Parses one raw mail. `hash` is its [`content_hash`] (used to synthesise a missing id).
pub fn parse(raw: &[u8], hash: &str, limits: &ParseLimits) -> Result<InboundMail, ParseError> {
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ParseError::Empty);
    }
    let fixed = cr_only_fixed(raw);
    let raw = fixed.as_deref().unwrap_or(raw);
    let first = MessageParser::default()
        .parse(raw)
        .ok_or(ParseError::NoHeaders)?;
    // Raw 8-bit header text in no declared charset: decoded, then read again.
    let recoded = super::charset::headers_in_utf8(raw, &first);
    let msg = match &recoded {
        Some(utf8) => MessageParser::default()
            .parse(utf8.as_slice())
            .ok_or(ParseError::NoHeaders)?,
        None => first,
    };
    // Not one header field a mail has (bytes that only look like `name: value`): not mail.
    if !msg
        .headers()
        .iter()
        .any(|h| !matches!(h.name, HeaderName::Other(_)))
    {
        return Err(ParseError::NoHeaders);
    }

    let (message_id, message_id_synthesized) = match msg
        .message_id()
        .and_then(normalize_id)
        .filter(|id| id.contains('@'))
    {
        Some(id) => (id, false),
        None => (
            format!(
                "<{}@synthesized.postdesk.invalid>",
                hash.get(..32).unwrap_or(hash)
            ),
            true,
        ),
    };
    let subject = msg.subject().map(one_line).unwrap_or_default();
    let date = msg
        .date()
        .filter(|d| d.is_valid())
        .map(|d| d.to_timestamp() * 1000);
    let (from, sender_header, more_from) = sender_of(&msg);

    if msg.parts.len() > limits.max_mime_parts {
        return Err(ParseError::OverLimit(format!(
            "{} MIME parts is over limits.max_mime_parts ({}); headers kept",
            msg.parts.len(),
            limits.max_mime_parts
        )));
    }
    let depth = mime_depth(&msg);
    if depth > limits.max_mime_depth {
        return Err(ParseError::OverLimit(format!(
            "MIME nesting {depth} deep is over limits.max_mime_depth ({}); headers kept",
            limits.max_mime_depth
        )));
    }
    let mut limits_hit = Vec::new();
    match sender_header {
        Some("from") => {}
        Some(h) => limits_hit.push(format!("From names no address: the sender is taken from {h}")),
        None => limits_hit.push(
            "no sender address (From, Sender, Reply-To and Return-Path name none): the ticket has no requester and nothing is sent"
                .into(),
        ),
    }
    if more_from > 0 {
        limits_hit.push(format!(
            "{} From header fields: the first is taken",
            more_from + 1
        ));
    }
    // Every part of the HTML body in order (a text part among them as HTML), when one of them
    // is HTML: text, an inline image and more text is one body, not its first part.
    let html_parts: Vec<&PartType<'_>> = msg.html_bodies().map(|p| &p.body).collect();
    let mut html = html_parts
        .iter()
        .any(|b| matches!(b, PartType::Html(_)))
        .then(|| {
            html_parts
                .iter()
                .filter_map(|b| match b {
                    PartType::Html(h) => Some(Cow::Borrowed(h.as_ref())),
                    PartType::Text(t) => Some(Cow::Owned(text_to_html(t))),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .map(|mut h| {
            if cut_to(&mut h, limits.max_html_size) {
                limits_hit.push(format!(
                    "HTML cut to limits.max_html_size ({} bytes)",
                    limits.max_html_size
                ));
            }
            let (clean, flattened) = super::html::sanitize(&h, limits.block_remote_images);
            if flattened {
                limits_hit.push(format!(
                    "HTML nested deeper than {} elements: flattened beyond that",
                    super::html::MAX_DEPTH
                ));
            }
            clean
        });
    let mut text = msg
        .text_bodies()
        .filter_map(|p| match &p.body {
            PartType::Text(t) => Some(no_nul(Cow::Borrowed(t.as_ref()))),
            PartType::Html(h) => Some(no_nul(Cow::Owned(html_to_text(h)))),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n");
    if cut_to(&mut text, limits.max_text_size) {
        limits_hit.push(format!(
            "text cut to limits.max_text_size ({} bytes)",
            limits.max_text_size
        ));
    }

    let mut attachments = Vec::new();
    let total = msg.attachments().count();
    if total > limits.max_attachments {
        limits_hit.push(format!(
            "{total} attachments: only the first limits.max_attachments ({}) stored separately",
            limits.max_attachments
        ));
    }
    for part in msg.attachments().take(limits.max_attachments) {
        let (content_type, bytes): (String, Cow<'_, [u8]>) = match &part.body {
            PartType::Message(m) => ("message/rfc822".into(), Cow::Borrowed(m.raw_message())),
            body => {
                let ct = part
                    .content_type()
                    .map(|ct| match ct.subtype() {
                        Some(sub) => format!("{}/{}", ct.ctype(), sub),
                        None => ct.ctype().to_string(),
                    })
                    .unwrap_or_else(|| "application/octet-stream".into())
                    .to_lowercase();
                let bytes = match body {
                    PartType::Text(t) | PartType::Html(t) => Cow::Borrowed(t.as_bytes()),
                    PartType::Binary(b) | PartType::InlineBinary(b) => Cow::Borrowed(b.as_ref()),
                    _ => Cow::Borrowed(&[][..]),
                };
                (one_line(&ct), bytes)
            }
        };
        let name = part
            .attachment_name()
            .map(safe_file_name)
            .filter(|n| !n.is_empty());
        // Outlook's winmail.dat: its real attachments (and its body, when the mail has no
        // text) instead of the blob; a blob that does not decode is kept as it is.
        let is_tnef = content_type == "application/ms-tnef"
            || name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case("winmail.dat"));
        // A blob that decodes to nothing we can show (real Outlook often carries the body only
        // as compressed RTF in MAPI properties) stays an attachment, so nobody loses sight of it.
        let decoded = is_tnef
            .then(|| {
                // The RTF wrapping of an HTML body is larger than the HTML: twice the larger
                // of the two body limits, never the 240 MB a decompression bomb asks for.
                let max_rtf = 2 * limits.max_html_size.max(limits.max_text_size);
                super::tnef::decode_limited(&bytes, max_rtf)
            })
            .flatten()
            .filter(|t| {
                !t.attachments.is_empty()
                    || t.body.as_deref().is_some_and(|b| !b.trim().is_empty())
                    || t.html.is_some()
            });
        if let Some(t) = decoded {
            // Its HTML (PR_HTML, or wrapped in its compressed RTF) is sanitised like any.
            let tnef_html = t.html.map(|mut h| {
                cut_to(&mut h, limits.max_html_size);
                sanitize_html(&h, limits.block_remote_images)
            });
            if text.trim().is_empty() {
                let body = t
                    .body
                    .filter(|b| !b.trim().is_empty())
                    .or_else(|| tnef_html.as_deref().map(html_to_text));
                if let Some(body) = body {
                    text = no_nul(body.into());
                    cut_to(&mut text, limits.max_text_size);
                }
            }
            if html.is_none() {
                html = tnef_html;
            }
            for a in t.attachments {
                let size = a.data.len();
                let content_type = a
                    .content_type
                    .map(|c| one_line(&c).to_lowercase())
                    .filter(|c| c.contains('/') && !c.contains(char::is_whitespace))
                    .unwrap_or_else(|| "application/octet-stream".into());
                attachments.push(Attachment {
                    name: safe_file_name(&a.name),
                    content_type,
                    size,
                    content: (size <= limits.max_attachment_size).then_some(a.data),
                });
            }
            continue;
        }
        let size = bytes.len();
        attachments.push(Attachment {
            name: name.unwrap_or_else(|| "attachment".into()),
            content_type,
            size,
            content: (size <= limits.max_attachment_size).then(|| bytes.into_owned()),
        });
    }

    let mut h = Sha256::new();
    for part in [
        message_id.as_bytes(),
        msg.header_raw(HeaderName::Date)
            .unwrap_or("")
            .trim()
            .as_bytes(),
        msg.header_raw(HeaderName::From)
            .unwrap_or("")
            .trim()
            .as_bytes(),
        msg.header_raw(HeaderName::Subject)
            .unwrap_or("")
            .trim()
            .as_bytes(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    hash_normalised_body(&mut h, body_bytes(raw));

    let x = extra(&msg);
    Ok(InboundMail {
        envelope_to: x.envelope_to,
        thread_index: x.thread_index,
        auth_results: x.auth_results,
        hops: x.hops,
        message_id,
        message_id_synthesized,
        in_reply_to: id_list(msg.in_reply_to()),
        references: id_list(msg.references()),
        reply_to: last_list(&msg, HeaderName::ReplyTo).into_iter().next(),
        to: last_list(&msg, HeaderName::To),
        cc: last_list(&msg, HeaderName::Cc),
        from,
        sender_header,
        subject,
        date,
        text,
        html,
        attachments,
        auto: auto_headers(&msg),
        dsn: super::dsn::read(&msg),
        dedupe_key: hex::encode(h.finalize()),
        limits_hit,
    })
}

/// Reads just enough of an oversized mail to record it: ids, From and Subject.
pub fn parse_headers_only(raw: &[u8], hash: &str) -> InboundMail {
    let limit = raw.len().min(256 * 1024);
    let head = &raw[..limit];
    let head = &head[..head.len() - body_bytes(head).len()];
    let recoded = MessageParser::default()
        .parse_headers(head)
        .and_then(|msg| super::charset::headers_in_utf8(head, &msg));
    let head = recoded.as_deref().unwrap_or(head);
    let mut mail = match MessageParser::default().parse_headers(head) {
        Some(msg) => InboundMail {
            message_id: msg.message_id().and_then(normalize_id).unwrap_or_default(),
            from: sender_of(&msg).0,
            sender_header: sender_of(&msg).1,
            subject: msg.subject().map(one_line).unwrap_or_default(),
            in_reply_to: id_list(msg.in_reply_to()),
            references: id_list(msg.references()),
            auto: auto_headers(&msg),
            hops: extra(&msg).hops,
            ..InboundMail::default()
        },
        None => InboundMail::default(),
    };
    if mail.message_id.is_empty() {
        mail.message_id = format!("<{}@synthesized.postdesk.invalid>", &hash[..32]);
        mail.message_id_synthesized = true;
    }
    mail.dedupe_key = hash.to_string();
    mail
}

/// The header block of a raw mail (for storing an oversized mail without its body).
pub fn header_block(raw: &[u8]) -> &[u8] {
    &raw[..raw.len() - body_bytes(raw).len()]
}

mod senders;
use senders::{last_list, sender_of};

#[cfg(test)]
mod tests;
