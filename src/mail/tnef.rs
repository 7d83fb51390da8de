//! Outlook's winmail.dat (application/ms-tnef, MS-OXTNEF): the attachments and the plain-text
//! body it carries. Pure and defensive: every length is checked against what is left, and a
//! blob that does not decode is reported as `None` so the caller keeps it as it is.

/// What a TNEF blob carries.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tnef {
    /// (file name, contents) of each attachment.
    pub attachments: Vec<(String, Vec<u8>)>,
    /// The message body (attBody), if there is one.
    pub body: Option<String>,
}

/// An attachment being read: its title, transport file name and data.
type Partial = (Option<String>, Option<String>, Option<Vec<u8>>);

const SIGNATURE: u32 = 0x223E_9F78;
const ATT_BODY: u32 = 0x0002_800C;
const ATT_OEM_CODEPAGE: u32 = 0x0006_9007;
const ATT_ATTACH_REND_DATA: u32 = 0x0006_9002;
const ATT_ATTACH_TITLE: u32 = 0x0001_8010;
const ATT_ATTACH_DATA: u32 = 0x0006_800F;
const ATT_ATTACH_TRANSPORT_FILENAME: u32 = 0x0006_9001;

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// Text in the blob's code page (windows-1252 unless it says otherwise), without its NUL.
fn text(data: &[u8], code_page: u32) -> String {
    let data = data.split(|b| *b == 0).next().unwrap_or(data);
    let enc = match code_page {
        65001 => encoding_rs::UTF_8,
        932 => encoding_rs::SHIFT_JIS,
        936 => encoding_rs::GBK,
        949 => encoding_rs::EUC_KR,
        950 => encoding_rs::BIG5,
        1250 => encoding_rs::WINDOWS_1250,
        1251 => encoding_rs::WINDOWS_1251,
        1253 => encoding_rs::WINDOWS_1253,
        1254 => encoding_rs::WINDOWS_1254,
        1255 => encoding_rs::WINDOWS_1255,
        1256 => encoding_rs::WINDOWS_1256,
        _ => encoding_rs::WINDOWS_1252,
    };
    enc.decode(data).0.into_owned()
}

/// Decodes a TNEF blob; `None` when it is not one or is broken (a checksum that does not add
/// up, a length past the end).
pub fn decode(blob: &[u8]) -> Option<Tnef> {
    if u32_at(blob, 0)? != SIGNATURE {
        return None;
    }
    let mut i = 6; // signature and legacy key
    let mut out = Tnef::default();
    let mut code_page = 1252;
    let mut current: Option<Partial> = None;
    let finish = |c: Option<Partial>, out: &mut Tnef| {
        if let Some((title, long, Some(data))) = c {
            let name = long.or(title).unwrap_or_else(|| "attachment".into());
            out.attachments.push((name, data));
        }
    };
    while i < blob.len() {
        let _level = *blob.get(i)?;
        let id = u32_at(blob, i + 1)?;
        let len = u32_at(blob, i + 5)? as usize;
        let start = i + 9;
        let data = blob.get(start..start.checked_add(len)?)?;
        let sum = u16_at(blob, start + len)?;
        let actual = data.iter().fold(0u16, |s, b| s.wrapping_add(u16::from(*b)));
        if sum != actual {
            return None;
        }
        match id {
            ATT_OEM_CODEPAGE => code_page = u32_at(data, 0).unwrap_or(1252),
            ATT_BODY => out.body = Some(text(data, code_page)),
            ATT_ATTACH_REND_DATA => {
                finish(current.take(), &mut out);
                current = Some((None, None, None));
            }
            ATT_ATTACH_TITLE => {
                if let Some(c) = current.as_mut() {
                    c.0 = Some(text(data, code_page));
                }
            }
            ATT_ATTACH_TRANSPORT_FILENAME => {
                if let Some(c) = current.as_mut() {
                    c.1 = Some(text(data, code_page)).filter(|s| !s.is_empty());
                }
            }
            ATT_ATTACH_DATA => {
                if let Some(c) = current.as_mut() {
                    c.2 = Some(data.to_vec());
                }
            }
            _ => {}
        }
        i = start + len + 2;
    }
    finish(current.take(), &mut out);
    Some(out)
}

/// Builds a TNEF blob (tests and fixtures): a body and (title, data) attachments.
pub fn encode(body: Option<&str>, attachments: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&SIGNATURE.to_le_bytes());
    b.extend_from_slice(&0x0001u16.to_le_bytes());
    let attr = |b: &mut Vec<u8>, level: u8, id: u32, data: &[u8]| {
        b.push(level);
        b.extend_from_slice(&id.to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
        let sum = data.iter().fold(0u16, |s, x| s.wrapping_add(u16::from(*x)));
        b.extend_from_slice(&sum.to_le_bytes());
    };
    attr(&mut b, 1, 0x0008_9006, &[0, 0, 1, 0]);
    attr(&mut b, 1, ATT_OEM_CODEPAGE, &[0xE4, 0x04, 0, 0, 0, 0, 0, 0]);
    attr(&mut b, 1, 0x0007_8008, b"IPM.Microsoft Mail.Note\0");
    if let Some(text) = body {
        let mut t = text.as_bytes().to_vec();
        t.push(0);
        attr(&mut b, 1, ATT_BODY, &t);
    }
    for (title, data) in attachments {
        attr(
            &mut b,
            2,
            ATT_ATTACH_REND_DATA,
            &[1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0],
        );
        let mut t = title.as_bytes().to_vec();
        t.push(0);
        attr(&mut b, 2, ATT_ATTACH_TITLE, &t);
        attr(&mut b, 2, ATT_ATTACH_DATA, data);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_and_body_come_out() {
        let blob = encode(
            Some("Please find the report attached."),
            &[("report.pdf", b"%PDF-1.4 ..."), ("notes.txt", b"hello")],
        );
        let t = decode(&blob).unwrap();
        assert_eq!(t.body.as_deref(), Some("Please find the report attached."));
        assert_eq!(
            t.attachments,
            vec![
                ("report.pdf".to_string(), b"%PDF-1.4 ...".to_vec()),
                ("notes.txt".to_string(), b"hello".to_vec())
            ]
        );
    }

    #[test]
    fn broken_blobs_are_none_never_a_panic() {
        let blob = encode(Some("x"), &[("a.txt", b"abc")]);
        assert_eq!(decode(b"not tnef"), None);
        assert_eq!(decode(&[]), None);
        for cut in 0..blob.len() {
            let _ = decode(&blob[..cut]); // truncated anywhere: no panic
        }
        let mut bad = blob.clone();
        let n = bad.len();
        bad[n - 3] ^= 0xFF; // the last attribute's data no longer matches its checksum
        assert_eq!(decode(&bad), None);
        let mut huge = blob.clone();
        huge[15..19].copy_from_slice(&u32::MAX.to_le_bytes()); // a length past the end
        assert_eq!(decode(&huge), None);
    }
}
