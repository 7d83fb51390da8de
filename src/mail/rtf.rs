//! The RTF body Outlook puts in a winmail.dat (the PR_RTF_COMPRESSED property): decompression
//! (MS-OXRTFCP's LZFu, bounded as it is written: a decompression bomb stops at the limit) and
//! what the RTF says. Outlook wraps the original body in RTF (MS-OXRTFEX): `\fromhtml1` carries the original
//! HTML (tags in `{\*\htmltag …}` groups, RTF-only parts between `\htmlrtf` and `\htmlrtf0`),
//! `\fromtext` the original text; any other RTF (a "rich text" mail) is turned into plain text.
//! Pure and defensive: nothing here trusts a length or a nesting depth from the input.

use super::winbytes::u32_at;

/// What an RTF body turns into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// The HTML the sender wrote (`\fromhtml1`): still to be sanitised like any mail's HTML.
    Html(String),
    /// Plain text.
    Text(String),
}

const LZFU: u32 = 0x7546_5A4C;
const MELA: u32 = 0x414C_454D;

/// Decompresses a PR_RTF_COMPRESSED value (MS-OXRTFCP) into at most `max` bytes; `None` when it
/// is not one, is cut short, its checksum does not add up, or it would grow past `max` (a
/// 30 MB value can declare a small size and still expand to 240 MB: the output is bounded as
/// it is written, never after). Like other readers, the RTF ends at its first NUL byte.
pub fn decompress(data: &[u8], max: usize) -> Option<Vec<u8>> {
    let compressed_size = u32_at(data, 0)? as usize;
    let raw_size = u32_at(data, 4)? as usize;
    let kind = u32_at(data, 8)?;
    let crc = u32_at(data, 12)?;
    if raw_size > max {
        return None;
    }
    let mut out = match kind {
        MELA => data.get(16..16usize.checked_add(raw_size)?)?.to_vec(),
        LZFU => {
            if compressed_size.checked_add(4)? != data.len() || crc32(&data[16..]) != crc {
                return None;
            }
            // Bounded by `max` as it is written; then cut to the declared size.
            let mut out = lzfu(&data[16..], max)?;
            out.truncate(raw_size);
            out
        }
        _ => return None,
    };
    if let Some(nul) = out.iter().position(|&b| b == 0) {
        out.truncate(nul);
    }
    Some(out)
}

/// The dictionary every LZFu stream starts from (MS-OXRTFCP 3.1.4.1.1).
const PRESET: &[u8] = b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";

/// Decodes LZFu tokens into at most `limit` bytes: a control byte's bits, low first, say
/// whether each token is a literal byte or a 2-byte reference (12-bit dictionary offset, 4-bit
/// length + 2); a reference to the write position ends the stream. `None` past the limit.
fn lzfu(mut src: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut dict = [0u8; 4096];
    dict[..PRESET.len()].copy_from_slice(PRESET);
    let mut write = PRESET.len();
    let mut out = Vec::with_capacity(limit.min(src.len().saturating_mul(4)));
    while let Some((&control, rest)) = src.split_first() {
        src = rest;
        for bit in 0..8 {
            if control & (1 << bit) == 0 {
                let Some((&byte, rest)) = src.split_first() else {
                    return Some(out);
                };
                src = rest;
                if out.len() >= limit {
                    return None;
                }
                out.push(byte);
                dict[write] = byte;
                write = (write + 1) % dict.len();
            } else {
                let [hi, lo, ref rest @ ..] = *src else {
                    return Some(out);
                };
                src = rest;
                let token = u16::from_be_bytes([hi, lo]) as usize;
                let (mut at, len) = (token >> 4, (token & 0xF) + 2);
                if at == write {
                    return Some(out);
                }
                if out.len() + len > limit {
                    return None;
                }
                for _ in 0..len {
                    let byte = dict[at];
                    out.push(byte);
                    dict[write] = byte;
                    write = (write + 1) % dict.len();
                    at = (at + 1) % dict.len();
                }
            }
        }
    }
    Some(out)
}

/// The CRC of MS-OXRTFCP 3.1.3.2: CRC-32's table (reflected 0xEDB88320), starting from 0, with
/// no final inversion.
fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    data.iter().fold(0u32, |crc, &b| {
        TABLE[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8)
    })
}

/// The body an RTF document carries; `None` when it is not RTF.
pub fn body(rtf: &[u8]) -> Option<Body> {
    let start = rtf.iter().position(|b| !b.is_ascii_whitespace())?;
    if !rtf[start..].starts_with(b"{\\rtf") {
        return None;
    }
    let mut r = Reader {
        src: &rtf[start..],
        at: 0,
        out: String::new(),
        pending: Vec::new(),
        code_page: 1252,
        html: false,
        stack: Vec::new(),
        g: Group::default(),
        fallback: 0,
    };
    r.run();
    r.flush();
    Some(if r.html {
        Body::Html(r.out)
    } else {
        Body::Text(r.out)
    })
}

/// The state a group (`{…}`) starts with a copy of and gives back at its end.
#[derive(Debug, Clone, Copy)]
struct Group {
    /// A destination whose content is not shown (font table, picture, `\*` groups…).
    skip: bool,
    /// Between `\htmlrtf` and `\htmlrtf0`: RTF that was not in the original.
    htmlrtf: bool,
    /// A `\*\htmltag` group: a piece of the original HTML.
    htmltag: bool,
    /// The next control word decides whether this `\*` group is one we read.
    star: bool,
    /// How many fallback characters follow a `\u` (`\ucN`).
    uc: u32,
}

impl Default for Group {
    fn default() -> Self {
        Group {
            skip: false,
            htmlrtf: false,
            htmltag: false,
            star: false,
            uc: 1,
        }
    }
}

/// Destinations whose content is never body text.
const SKIPPED: &[&str] = &[
    "fonttbl",
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "object",
    "header",
    "headerl",
    "headerr",
    "headerf",
    "footer",
    "footerl",
    "footerr",
    "footerf",
    "footnote",
    "listtable",
    "listoverridetable",
    "revtbl",
    "rsidtbl",
    "xmlnstbl",
    "themedata",
    "colorschememapping",
    "datastore",
    "latentstyles",
    "fldinst",
    "filetbl",
    "pgdsctbl",
    "mhtmltag",
];

struct Reader<'a> {
    src: &'a [u8],
    at: usize,
    out: String,
    /// Bytes (`\'hh` or 8-bit text) waiting to be decoded together in the code page, so a
    /// double-byte character written as two escapes comes out whole.
    pending: Vec<u8>,
    code_page: u32,
    html: bool,
    stack: Vec<Group>,
    g: Group,
    /// Fallback characters after a `\u` still to be dropped.
    fallback: u32,
}

impl Reader<'_> {
    fn shown(&self) -> bool {
        !self.g.skip && (self.g.htmltag || !self.g.htmlrtf)
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let enc = super::winbytes::encoding(self.code_page);
            self.out.push_str(&enc.decode(&self.pending).0);
            self.pending.clear();
        }
    }

    fn put(&mut self, s: &str) {
        if self.shown() {
            self.flush();
            self.out.push_str(s);
        }
    }

    fn byte(&mut self, b: u8) {
        if self.fallback > 0 {
            self.fallback -= 1;
            return;
        }
        if self.shown() {
            if b.is_ascii() {
                self.flush();
                self.out.push(b as char);
            } else {
                self.pending.push(b);
            }
        }
    }

    fn run(&mut self) {
        while let Some(&b) = self.src.get(self.at) {
            self.at += 1;
            match b {
                b'{' => {
                    self.fallback = 0;
                    self.stack.push(self.g);
                    self.g.star = false;
                    self.g.htmltag = false;
                }
                b'}' => {
                    self.fallback = 0;
                    match self.stack.pop() {
                        Some(g) => self.g = g,
                        None => return, // the end of the document
                    }
                }
                b'\\' => self.control(),
                b'\r' | b'\n' => {}
                _ => self.byte(b),
            }
        }
    }

    /// After a backslash: a control word, symbol or escape.
    fn control(&mut self) {
        let Some(&c) = self.src.get(self.at) else {
            return;
        };
        self.at += 1;
        if !c.is_ascii_alphabetic() {
            let star = std::mem::take(&mut self.g.star);
            match c {
                b'\'' => {
                    let hex = self
                        .src
                        .get(self.at..self.at + 2)
                        .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
                    if let Some(v) = hex {
                        self.at += 2;
                        self.byte(v);
                    }
                }
                b'*' => self.g.star = true,
                b'\\' | b'{' | b'}' => self.byte(c),
                b'~' => self.symbol("\u{a0}"),
                b'_' => self.symbol("\u{2011}"),
                b'\r' | b'\n' => self.symbol(if self.html { "\r\n" } else { "\n" }),
                b'\t' => self.symbol("\t"),
                _ => {}
            }
            if star && c != b'*' {
                self.g.skip = true;
            }
            return;
        }
        let name_start = self.at - 1;
        while self
            .src
            .get(self.at)
            .is_some_and(|b| b.is_ascii_alphabetic())
            && self.at - name_start < 32
        {
            self.at += 1;
        }
        let name = std::str::from_utf8(&self.src[name_start..self.at]).unwrap_or("");
        let num_start = self.at;
        if self.src.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        while self.src.get(self.at).is_some_and(u8::is_ascii_digit) && self.at - num_start < 11 {
            self.at += 1;
        }
        let param: Option<i64> = std::str::from_utf8(&self.src[num_start..self.at])
            .ok()
            .and_then(|s| s.parse().ok());
        if self.src.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
        self.word(name, param);
    }

    /// A control symbol that stands for text.
    fn symbol(&mut self, s: &str) {
        if self.fallback > 0 {
            self.fallback -= 1;
            return;
        }
        self.put(s);
    }

    fn word(&mut self, name: &str, param: Option<i64>) {
        if std::mem::take(&mut self.g.star) {
            if name == "htmltag" {
                self.g.htmltag = true;
            } else {
                self.g.skip = true;
            }
            return;
        }
        if name == "bin" {
            // Binary data: skipped whole, whatever it holds.
            let n = param.unwrap_or(0).max(0) as usize;
            self.at = self.at.saturating_add(n).min(self.src.len());
            return;
        }
        if self.fallback > 0 {
            self.fallback -= 1;
            return;
        }
        let nl = if self.html { "\r\n" } else { "\n" };
        match name {
            "fromhtml" => self.html = param != Some(0),
            "ansicpg" => {
                self.flush();
                self.code_page = param.unwrap_or(1252).clamp(0, 65535) as u32;
            }
            "htmlrtf" => self.g.htmlrtf = param != Some(0),
            "uc" => self.g.uc = param.unwrap_or(1).clamp(0, 10) as u32,
            "u" => {
                if let Some(n) = param {
                    // Signed 16-bit in RTF: negative values are the upper half.
                    let n = if n < 0 { n + 65536 } else { n };
                    let ch = u32::try_from(n)
                        .ok()
                        .and_then(char::from_u32)
                        .unwrap_or('\u{fffd}');
                    self.put(ch.encode_utf8(&mut [0; 4]));
                    self.fallback = self.g.uc;
                }
            }
            "par" | "line" | "sect" | "page" | "row" => self.put(nl),
            "tab" | "cell" => self.put("\t"),
            "emdash" => self.put("\u{2014}"),
            "endash" => self.put("\u{2013}"),
            "lquote" => self.put("\u{2018}"),
            "rquote" => self.put("\u{2019}"),
            "ldblquote" => self.put("\u{201c}"),
            "rdblquote" => self.put("\u{201d}"),
            "bullet" => self.put("\u{2022}"),
            n if SKIPPED.contains(&n) => self.g.skip = true,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MS-OXRTFCP section 4.1, "Example 1: Simple Compressed RTF".
    const SIMPLE: &[u8] = &[
        0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5, 0xc7,
        0xa7, 0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0a,
        0xf3, 0x20, 0x68, 0x65, 0x6c, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xb0, 0x6c, 0x64, 0x7d,
        0x0a, 0x80, 0x0f, 0xa0,
    ];

    fn text(rtf: &str) -> String {
        match body(rtf.as_bytes()) {
            Some(Body::Text(t)) => t,
            other => panic!("not text: {other:?}"),
        }
    }

    #[test]
    fn a_decompression_bomb_is_refused_as_it_grows() {
        // 100 control bytes, each followed by 8 references of 17 bytes: 1.7 KB that expands
        // to 13.6 KB while declaring 100 bytes; each reference reads just past the write
        // position (never at it, which would end the stream).
        let mut body = Vec::new();
        let mut write = PRESET.len();
        for _ in 0..100 {
            body.extend_from_slice(&[0xFF]); // a control byte: 8 references
            for _ in 0..8 {
                let at = (write + 1) % 4096;
                body.extend_from_slice(&(((at << 4) | 15) as u16).to_be_bytes());
                write = (write + 17) % 4096;
            }
        }
        let mut v = Vec::new();
        v.extend_from_slice(&(body.len() as u32 + 12).to_le_bytes());
        v.extend_from_slice(&100u32.to_le_bytes());
        v.extend_from_slice(&LZFU.to_le_bytes());
        v.extend_from_slice(&crc32(&body).to_le_bytes());
        v.extend_from_slice(&body);
        assert_eq!(lzfu(&body, 10_000), None, "stopped at the bound, not after");
        assert_eq!(lzfu(&body, 1 << 20).map(|o| o.len()), Some(13_600));
        assert_eq!(decompress(&v, 10_000), None);
        assert!(decompress(&v, 1 << 20).unwrap().len() <= 100);
    }

    #[test]
    fn the_specification_example_decompresses() {
        let rtf = decompress(SIMPLE, 1 << 24).unwrap();
        assert_eq!(
            rtf,
            b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n".to_vec()
        );
        assert_eq!(text(std::str::from_utf8(&rtf).unwrap()), "hello world");
    }

    #[test]
    fn uncompressed_and_broken_values() {
        let raw = b"{\\rtf1 plain}";
        let mut v = Vec::new();
        v.extend_from_slice(&(raw.len() as u32 + 12).to_le_bytes());
        v.extend_from_slice(&(raw.len() as u32).to_le_bytes());
        v.extend_from_slice(&MELA.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(raw);
        assert_eq!(decompress(&v, 1 << 24).unwrap(), raw.to_vec());
        // A declared size past the end, a changed byte (checksum), a cut anywhere: None.
        let mut big = v.clone();
        big[4..8].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(decompress(&big, 1 << 24), None);
        let mut bad = SIMPLE.to_vec();
        bad[30] ^= 1;
        assert_eq!(decompress(&bad, 1 << 24), None);
        for cut in 0..SIMPLE.len() {
            assert_eq!(decompress(&SIMPLE[..cut], 1 << 24), None, "cut at {cut}");
        }
        // A size of 4 GiB declared in a 16-byte value is refused before anything is reserved.
        let mut huge = SIMPLE[..16].to_vec();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decompress(&huge, 1 << 24), None);
    }

    #[test]
    fn html_comes_out_of_fromhtml_encapsulation() {
        // As Outlook writes it (MS-OXRTFEX section 3.1.1, shortened).
        let rtf = r#"{\rtf1\ansi\ansicpg1252\fromhtml1 \fbidis \deff0{\fonttbl
{\f0\fswiss Arial;}{\f1\fmodern Courier New;}}
{\colortbl\red0\green0\blue0;\red0\green0\blue255;}
\uc1\pard\plain\deftab360 \f0\fs24
{\*\htmltag19 <html>}
{\*\htmltag34 <head>}
{\*\htmltag161 <title>}
\htmlrtf {\htmlrtf0 Hi\htmlrtf }\htmlrtf0
{\*\htmltag169 </title>}
{\*\htmltag50 <body>}
{\*\htmltag64 <p class=MsoNormal>}\htmlrtf {\htmlrtf0 Gr\'fc\'dfe, caf\u233?\htmlrtf }\htmlrtf0
{\*\htmltag84 &nbsp;}\htmlrtf \par
\htmlrtf0 {\*\htmltag72 </p>}
{\*\mhtmltag1 <img src="cid:x">}{\*\htmltag84 <img src="image001.png">}
{\*\htmltag58 </body>}
{\*\htmltag27 </html>}}"#;
        let Some(Body::Html(h)) = body(rtf.as_bytes()) else {
            panic!("not HTML");
        };
        assert_eq!(
            h,
            "<html><head><title>Hi</title><body><p class=MsoNormal>Grüße, café&nbsp;</p>\
             <img src=\"image001.png\"></body></html>"
        );
    }

    #[test]
    fn rich_text_becomes_plain_text() {
        let rtf = r"{\rtf1\ansi\ansicpg1251\deff0{\fonttbl{\f0\fswiss Arial;}}{\*\generator Msftedit;}
{\info{\author Somebody}}\viewkind4\uc1\pard\f0\fs20 \'cf\'f0\'e8\'e2\'e5\'f2, {\b world}\par
Tab\tab end \emdash  \ldblquote q\rdblquote\par
{\pict\wmetafile8 0123456789abcdef}\u8364?5 \u-3913?x\par
{\field{\*\fldinst HYPERLINK http://e.example}{\fldrslt link}}\par
}";
        assert_eq!(
            text(rtf),
            "Привет, world\nTab\tend \u{2014} \u{201c}q\u{201d}\n€5 \u{f0b7}x\nlink\n"
        );
    }

    #[test]
    fn fromtext_keeps_the_original_text() {
        let rtf = r"{\rtf1\ansi\ansicpg1252\fromtext \deff0{\fonttbl{\f0\fmodern Courier New;}}
\uc1\pard\plain\f0\fs20 Line one\par
{\*\htmltag64}\htmlrtf {\htmlrtf0 Line two}\htmlrtf0\par
}";
        assert_eq!(text(rtf), "Line one\nLine two\n");
    }

    #[test]
    fn hostile_rtf_is_never_a_panic() {
        for rtf in [
            &b"{\\rtf1 \\'"[..],
            b"{\\rtf1 \\'zz\\u\\u-99999999999999\\uc99999999999 x}",
            b"{\\rtf1 \\bin999999999 }",
            b"{\\rtf1 }}}}}}",
            b"{\\rtf1 \\*",
            b"{\\rtf1 \\",
            b"{\\rtf1 \\aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-123456789012345678",
        ] {
            let _ = body(rtf);
        }
        let deep = format!("{{\\rtf1 {}x{}", "{".repeat(100_000), "}".repeat(100_000));
        assert_eq!(body(deep.as_bytes()), Some(Body::Text("x".into())));
        assert_eq!(body(b"not rtf"), None);
    }
}
