//! Byte-level helpers of the Windows formats (TNEF, compressed RTF): little-endian numbers
//! and Windows code pages.

/// The little-endian u32 at `i`, if the bytes are there.
pub(crate) fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// The encoding of a Windows code page number (windows-1252 for one we do not know).
pub(crate) fn encoding(code_page: u32) -> &'static encoding_rs::Encoding {
    use encoding_rs::*;
    match code_page {
        65001 => UTF_8,
        1200 => UTF_16LE,
        1201 => UTF_16BE,
        932 => SHIFT_JIS,
        936 => GBK,
        54936 => GB18030,
        949 => EUC_KR,
        950 => BIG5,
        874 => WINDOWS_874,
        866 => IBM866,
        1250 => WINDOWS_1250,
        1251 => WINDOWS_1251,
        1253 => WINDOWS_1253,
        1254 => WINDOWS_1254,
        1255 => WINDOWS_1255,
        1256 => WINDOWS_1256,
        1257 => WINDOWS_1257,
        1258 => WINDOWS_1258,
        20866 => KOI8_R,
        21866 => KOI8_U,
        28592 => ISO_8859_2,
        28595 => ISO_8859_5,
        28597 => ISO_8859_7,
        28605 => ISO_8859_15,
        50220..=50222 => ISO_2022_JP,
        51932 => EUC_JP,
        _ => WINDOWS_1252,
    }
}
