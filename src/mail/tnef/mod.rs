//! Outlook's winmail.dat (application/ms-tnef, MS-OXTNEF): the attachments and the plain-text
//! body it carries. Pure and defensive: every length is checked against what is left, and a
//! blob that does not decode is reported as `None` so the caller keeps it as it is.

use super::winbytes::{encoding, u32_at};

/// What a TNEF blob carries.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tnef {
    pub attachments: Vec<TnefAttachment>,
    /// The plain-text body: attBody, else PR_BODY, else the text of the RTF body.
    pub body: Option<String>,
    /// The HTML body: PR_HTML, else the HTML wrapped in the RTF body (`\fromhtml1`).
    /// Unsanitised, as it came.
    pub html: Option<String>,
    /// The RTF body (PR_RTF_COMPRESSED), decompressed, where there is one that decompresses.
    pub rtf: Option<Vec<u8>>,
}

/// One attachment inside a TNEF blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TnefAttachment {
    /// The long file name where there is one (PR_ATTACH_LONG_FILENAME), else the 8.3 one.
    pub name: String,
    /// PR_ATTACH_MIME_TAG, where Outlook gave one.
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// An attachment being read.
#[derive(Default)]
struct Partial {
    title: Option<String>,
    transport_name: Option<String>,
    long_name: Option<String>,
    short_name: Option<String>,
    display_name: Option<String>,
    content_type: Option<String>,
    /// attAttachData.
    data: Option<Vec<u8>>,
    /// PR_ATTACH_DATA, and whether it is an embedded message.
    prop_data: Option<(Vec<u8>, bool)>,
}

const SIGNATURE: u32 = 0x223E_9F78;
const ATT_BODY: u32 = 0x0002_800C;
const ATT_OEM_CODEPAGE: u32 = 0x0006_9007;
const ATT_MSG_PROPS: u32 = 0x0006_9003;
const ATT_ATTACHMENT: u32 = 0x0006_9005;
const ATT_ATTACH_REND_DATA: u32 = 0x0006_9002;
const ATT_ATTACH_TITLE: u32 = 0x0001_8010;
const ATT_ATTACH_DATA: u32 = 0x0006_800F;
const ATT_ATTACH_TRANSPORT_FILENAME: u32 = 0x0006_9001;

// MAPI property ids (MS-OXPROPS) and types (MS-OXCDATA).
const PR_BODY: u16 = 0x1000;
const PR_RTF_COMPRESSED: u16 = 0x1009;
const PR_HTML: u16 = 0x1013;
const PR_INTERNET_CPID: u16 = 0x3FDE;
const PR_DISPLAY_NAME: u16 = 0x3001;
const PR_ATTACH_DATA: u16 = 0x3701;
const PR_ATTACH_FILENAME: u16 = 0x3704;
const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;
const PR_ATTACH_MIME_TAG: u16 = 0x370E;
const PT_LONG: u16 = 0x0003;
const PT_OBJECT: u16 = 0x000D;
const PT_STRING8: u16 = 0x001E;
const PT_UNICODE: u16 = 0x001F;
const PT_BINARY: u16 = 0x0102;
const MV_FLAG: u16 = 0x1000;

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

/// Text in a code page (windows-1252 unless it says otherwise), up to its first NUL.
fn text(data: &[u8], code_page: u32) -> String {
    let data = data.split(|b| *b == 0).next().unwrap_or(data);
    encoding(code_page).decode(data).0.into_owned()
}

/// UTF-16LE text up to its first NUL.
fn utf16(data: &[u8]) -> String {
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|u| *u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// One MAPI property of an attMsgProps or attAttachment attribute (MS-OXTNEF 2.1.3.4): its
/// id, type (without the multi-value flag) and its value(s) as they are in the blob.
struct Prop<'a> {
    id: u16,
    ty: u16,
    values: Vec<&'a [u8]>,
}

impl Prop<'_> {
    fn string(&self, code_page: u32) -> Option<String> {
        let v = self.values.first()?;
        let s = match self.ty {
            PT_UNICODE => utf16(v),
            PT_STRING8 => text(v, code_page),
            _ => return None,
        };
        Some(s).filter(|s| !s.is_empty())
    }

    fn binary(&self) -> Option<&[u8]> {
        self.object().map(|(v, _)| v)
    }

    /// A binary or object value, and whether it is an embedded message (an object read
    /// through IMessage). An object begins with the interface id, which is not part of it.
    fn object(&self) -> Option<(&[u8], bool)> {
        let v = *self.values.first()?;
        match self.ty {
            PT_BINARY => Some((v, false)),
            PT_OBJECT => Some((v.get(16..)?, v.starts_with(&IID_IMESSAGE))),
            _ => None,
        }
    }

    fn long(&self) -> Option<u32> {
        (self.ty == PT_LONG).then(|| u32_at(self.values.first()?, 0))?
    }
}

/// Rounds up to a multiple of 4 (values are padded so).
fn padded(n: usize) -> Option<usize> {
    n.checked_add(3).map(|n| n & !3)
}

/// The MAPI properties in an attribute's data: as many as decode (a property of a type we do
/// not know, or one cut short, ends the list; those before it are kept).
fn props(data: &[u8]) -> Vec<Prop<'_>> {
    let mut out = Vec::new();
    let Some(count) = u32_at(data, 0) else {
        return out;
    };
    let mut i = 4;
    for _ in 0..count {
        match prop(data, i) {
            Some((p, next)) => {
                out.push(p);
                i = next;
            }
            None => break,
        }
    }
    out
}

fn prop(data: &[u8], mut i: usize) -> Option<(Prop<'_>, usize)> {
    let ty_raw = u16_at(data, i)?;
    let id = u16_at(data, i + 2)?;
    i += 4;
    if id >= 0x8000 {
        // A named property: the property set's GUID, then a number or a UTF-16 name.
        let kind = u32_at(data, i + 16)?;
        i += 20;
        if kind == 0 {
            i += 4;
        } else {
            let len = u32_at(data, i)? as usize;
            i = i.checked_add(4)?.checked_add(padded(len)?)?;
        }
    }
    let multi = ty_raw & MV_FLAG != 0;
    let ty = ty_raw & !MV_FLAG;
    let fixed = match ty {
        0x0002 | 0x000B => Some(2),
        0x0003 | 0x0004 | 0x000A => Some(4),
        0x0005 | 0x0006 | 0x0007 | 0x0014 | 0x0040 => Some(8),
        0x0048 => Some(16),
        PT_STRING8 | PT_UNICODE | PT_BINARY | PT_OBJECT | 0x0000 => None,
        _ => return None,
    };
    // Variable-length values always have a count, fixed ones only when multi-valued.
    let count = if multi || fixed.is_none() {
        let n = u32_at(data, i)? as usize;
        i += 4;
        n
    } else {
        1
    };
    // Each value takes at least 4 bytes: a count larger than what is left is a lie.
    if count > data.len().saturating_sub(i) / 2 + 1 {
        return None;
    }
    let mut values = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        match fixed {
            Some(size) => {
                values.push(data.get(i..i + size)?);
                i += size;
            }
            None => {
                let len = u32_at(data, i)? as usize;
                i += 4;
                values.push(data.get(i..i.checked_add(len)?)?);
                i = i.checked_add(padded(len)?)?;
            }
        }
    }
    if fixed == Some(2) && count % 2 == 1 {
        i += 2; // 16-bit values are padded to 4 bytes
    }
    (i <= data.len()).then_some((Prop { id, ty, values }, i))
}

/// How deep a TNEF blob may hold TNEF blobs (embedded messages) that are read.
const MAX_NESTING: usize = 4;

/// Decodes a TNEF blob; `None` when it is not one or is broken (a length past the end).
/// A checksum that does not add up is let pass, as other readers do: Outlook has written such
/// blobs and their content is still whole.
pub fn decode(blob: &[u8]) -> Option<Tnef> {
    decode_limited(blob, DEFAULT_MAX_RTF)
}

/// The most a compressed RTF body may expand to when no limit is given.
pub const DEFAULT_MAX_RTF: usize = 16 * 1024 * 1024;

/// [`decode`], with compressed RTF bodies expanding to at most `max_rtf` bytes (a larger one
/// is left undecoded: the blob stays an attachment if nothing else in it can be shown).
pub fn decode_limited(blob: &[u8], max_rtf: usize) -> Option<Tnef> {
    decode_nested(blob, 0, max_rtf)
}

fn decode_nested(blob: &[u8], depth: usize, max_rtf: usize) -> Option<Tnef> {
    if u32_at(blob, 0)? != SIGNATURE {
        return None;
    }
    let mut i = 6; // signature and legacy key
    let mut out = Tnef::default();
    let mut code_page = 1252;
    let mut current: Option<Partial> = None;
    let mut rtf: Option<Vec<u8>> = None;
    let mut html_raw: Option<(Vec<u8>, u16)> = None;
    let mut html_cpid: Option<u32> = None;
    let mut prop_body: Option<String> = None;
    while i < blob.len() {
        // Bytes after the last attribute too few to hold one (seen as padding) are ignored.
        if blob.len() - i < 11 && i > 6 {
            break;
        }
        let level = *blob.get(i)?;
        let id = u32_at(blob, i + 1)?;
        let len = u32_at(blob, i + 5)? as usize;
        let start = i + 9;
        let data = blob.get(start..start.checked_add(len)?)?;
        // The checksum is not checked (see above); a last attribute whose data is whole but
        // whose checksum was cut off is read too.
        if u16_at(blob, start + len).is_none() && blob.len() > start + len {
            return None;
        }
        match id {
            ATT_OEM_CODEPAGE => code_page = u32_at(data, 0).unwrap_or(1252),
            ATT_BODY => out.body = Some(text(data, code_page)),
            ATT_MSG_PROPS if level == 1 => {
                for p in props(data) {
                    match p.id {
                        PR_BODY => prop_body = p.string(code_page),
                        PR_RTF_COMPRESSED => rtf = p.binary().map(<[u8]>::to_vec),
                        PR_HTML => {
                            html_raw = p.values.first().map(|v| (v.to_vec(), p.ty));
                        }
                        PR_INTERNET_CPID => html_cpid = p.long(),
                        _ => {}
                    }
                }
            }
            ATT_ATTACH_REND_DATA => {
                finish(current.take(), &mut out, depth, max_rtf);
                current = Some(Partial::default());
            }
            ATT_ATTACH_TITLE => {
                if let Some(c) = current.as_mut() {
                    c.title = Some(text(data, code_page)).filter(|s| !s.is_empty());
                }
            }
            ATT_ATTACH_TRANSPORT_FILENAME => {
                if let Some(c) = current.as_mut() {
                    c.transport_name = Some(text(data, code_page)).filter(|s| !s.is_empty());
                }
            }
            ATT_ATTACH_DATA => {
                if let Some(c) = current.as_mut() {
                    c.data = Some(data.to_vec());
                }
            }
            ATT_ATTACHMENT => {
                if let Some(c) = current.as_mut() {
                    for p in props(data) {
                        match p.id {
                            PR_ATTACH_LONG_FILENAME => c.long_name = p.string(code_page),
                            PR_ATTACH_FILENAME => c.short_name = p.string(code_page),
                            PR_DISPLAY_NAME => c.display_name = p.string(code_page),
                            PR_ATTACH_MIME_TAG => c.content_type = p.string(code_page),
                            PR_ATTACH_DATA => {
                                c.prop_data = p.object().map(|(v, m)| (v.to_vec(), m));
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
        i = start + len + 2;
    }
    finish(current.take(), &mut out, depth, max_rtf);
    if out.body.as_deref().is_none_or(|b| b.trim().is_empty()) {
        out.body = prop_body.or(out.body);
    }
    out.html = html_raw.map(|(v, ty)| match ty {
        PT_UNICODE => utf16(&v),
        _ => encoding(html_cpid.unwrap_or(code_page))
            .decode(v.split(|b| *b == 0).next().unwrap_or(&v))
            .0
            .into_owned(),
    });
    out.rtf = rtf.and_then(|r| super::rtf::decompress(&r, max_rtf));
    // The RTF body, where nothing else gives one: the HTML or text wrapped in it.
    let no_text = out.body.as_deref().is_none_or(|b| b.trim().is_empty());
    if out.html.is_none() && no_text {
        match out.rtf.as_deref().and_then(super::rtf::body) {
            Some(super::rtf::Body::Html(h)) => out.html = Some(h),
            Some(super::rtf::Body::Text(t)) => out.body = Some(t),
            None => {}
        }
    }
    Some(out)
}

/// The IID an embedded message (an attachment that is itself a mail) is stored with.
const IID_IMESSAGE: [u8; 16] = [
    0x07, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46,
];

fn finish(c: Option<Partial>, out: &mut Tnef, depth: usize, max_rtf: usize) {
    let Some(c) = c else { return };
    let name = c
        .long_name
        .or(c.transport_name)
        .or(c.title)
        .or(c.short_name)
        .or(c.display_name)
        .unwrap_or_else(|| "attachment".into());
    // PR_ATTACH_DATA where there is one: attAttachData of an embedded message is only a note
    // that it cannot be shown; of a file, the same bytes.
    let (data, embedded) = match (c.prop_data, c.data) {
        (Some((d, m)), _) => (d, m),
        (None, Some(d)) => (d, false),
        (None, None) => return,
    };
    // An embedded message (a mail attached as a mail) is TNEF itself: its attachments are
    // lifted out beside this one's and its body becomes a text (or HTML) file of its name.
    if embedded {
        if let Some(inner) = (depth < MAX_NESTING)
            .then(|| decode_nested(&data, depth + 1, max_rtf))
            .flatten()
        {
            let body = inner.body.filter(|b| !b.trim().is_empty());
            let file = match (body, inner.html) {
                (Some(text), _) => Some((format!("{name}.txt"), "text/plain", text)),
                (None, Some(html)) => Some((format!("{name}.html"), "text/html", html)),
                (None, None) => None,
            };
            // One that shows nothing (a distribution list, say) stays as it is.
            if file.is_some() || !inner.attachments.is_empty() {
                if let Some((name, ct, content)) = file {
                    out.attachments.push(TnefAttachment {
                        name,
                        content_type: Some(ct.into()),
                        data: content.into_bytes(),
                    });
                }
                out.attachments.extend(inner.attachments);
                return;
            }
        }
    }
    out.attachments.push(TnefAttachment {
        name,
        content_type: c.content_type,
        data,
    });
}

/// A MAPI property value, for [`Builder`].
#[derive(Debug, Clone, Copy)]
pub enum PropValue<'a> {
    Long(u32),
    String8(&'a str),
    Unicode(&'a str),
    Binary(&'a [u8]),
}

/// Builds TNEF blobs the way Outlook lays them out (tests and fixtures): attributes with their
/// checksums, MAPI properties (an id of 0x8000 or more is written as a named property).
pub struct Builder {
    b: Vec<u8>,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// Signature, version, windows-1252 code page and a note's message class.
    pub fn new() -> Self {
        let mut b = Builder { b: Vec::new() };
        b.b.extend_from_slice(&SIGNATURE.to_le_bytes());
        b.b.extend_from_slice(&0x0001u16.to_le_bytes());
        b.attr(1, 0x0008_9006, &[0, 0, 1, 0]);
        b.attr(1, ATT_OEM_CODEPAGE, &[0xE4, 0x04, 0, 0, 0, 0, 0, 0]);
        b.attr(1, 0x0007_8008, b"IPM.Microsoft Mail.Note\0");
        b
    }

    fn attr(&mut self, level: u8, id: u32, data: &[u8]) {
        self.b.push(level);
        self.b.extend_from_slice(&id.to_le_bytes());
        self.b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        self.b.extend_from_slice(data);
        let sum = data.iter().fold(0u16, |s, x| s.wrapping_add(u16::from(*x)));
        self.b.extend_from_slice(&sum.to_le_bytes());
    }

    fn props(props: &[(u16, PropValue<'_>)]) -> Vec<u8> {
        let mut d = (props.len() as u32).to_le_bytes().to_vec();
        let pad = |d: &mut Vec<u8>| d.resize(d.len().div_ceil(4) * 4, 0);
        for (id, v) in props {
            let ty = match v {
                PropValue::Long(_) => PT_LONG,
                PropValue::String8(_) => PT_STRING8,
                PropValue::Unicode(_) => PT_UNICODE,
                PropValue::Binary(_) => PT_BINARY,
            };
            d.extend_from_slice(&ty.to_le_bytes());
            d.extend_from_slice(&id.to_le_bytes());
            if *id >= 0x8000 {
                d.extend_from_slice(&[0x29; 16]); // the property set's GUID
                d.extend_from_slice(&1u32.to_le_bytes()); // named by a string
                let name: Vec<u8> = "postdesk-test\0"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes)
                    .collect();
                d.extend_from_slice(&(name.len() as u32).to_le_bytes());
                d.extend_from_slice(&name);
                pad(&mut d);
            }
            let bytes: Vec<u8> = match v {
                PropValue::Long(n) => {
                    d.extend_from_slice(&n.to_le_bytes());
                    continue;
                }
                PropValue::String8(s) => [s.as_bytes(), b"\0"].concat(),
                PropValue::Unicode(s) => s
                    .encode_utf16()
                    .chain([0])
                    .flat_map(u16::to_le_bytes)
                    .collect(),
                PropValue::Binary(b) => b.to_vec(),
            };
            d.extend_from_slice(&1u32.to_le_bytes());
            d.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            d.extend_from_slice(&bytes);
            pad(&mut d);
        }
        d
    }

    /// attBody.
    pub fn body(mut self, text: &str) -> Self {
        self.attr(1, ATT_BODY, &[text.as_bytes(), b"\0"].concat());
        self
    }

    /// attMsgProps.
    pub fn message_props(mut self, props: &[(u16, PropValue<'_>)]) -> Self {
        self.attr(1, ATT_MSG_PROPS, &Self::props(props));
        self
    }

    /// An attachment: attAttachRendData, attAttachTitle, attAttachData where given, then its
    /// MAPI properties (attAttachment) where given.
    pub fn attachment(
        mut self,
        title: &str,
        data: Option<&[u8]>,
        props: &[(u16, PropValue<'_>)],
    ) -> Self {
        self.attr(
            2,
            ATT_ATTACH_REND_DATA,
            &[1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0],
        );
        self.attr(2, ATT_ATTACH_TITLE, &[title.as_bytes(), b"\0"].concat());
        if let Some(data) = data {
            self.attr(2, ATT_ATTACH_DATA, data);
        }
        if !props.is_empty() {
            self.attr(2, ATT_ATTACHMENT, &Self::props(props));
        }
        self
    }

    pub fn build(self) -> Vec<u8> {
        self.b
    }
}

/// Builds a TNEF blob with a body and (title, data) attachments (tests and fixtures).
pub fn encode(body: Option<&str>, attachments: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = Builder::new();
    if let Some(text) = body {
        b = b.body(text);
    }
    for (title, data) in attachments {
        b = b.attachment(title, Some(data), &[]);
    }
    b.build()
}

#[cfg(test)]
mod tests;
