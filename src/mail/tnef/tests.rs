//! Tests of the parent module.

use super::*;

#[test]
fn attachments_and_body_come_out() {
    let blob = encode(
        Some("Please find the report attached."),
        &[("report.pdf", b"%PDF-1.4 ..."), ("notes.txt", b"hello")],
    );
    let t = decode(&blob).unwrap();
    assert_eq!(t.body.as_deref(), Some("Please find the report attached."));
    let names: Vec<(&str, &[u8])> = t
        .attachments
        .iter()
        .map(|a| (a.name.as_str(), a.data.as_slice()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("report.pdf", &b"%PDF-1.4 ..."[..]),
            ("notes.txt", &b"hello"[..])
        ]
    );
    assert_eq!(t.html, None);
}

#[test]
fn broken_blobs_are_none_never_a_panic() {
    let blob = encode(Some("x"), &[("a.txt", b"abc")]);
    assert_eq!(decode(b"not tnef"), None);
    assert_eq!(decode(&[]), None);
    for cut in 0..blob.len() {
        let _ = decode(&blob[..cut]); // truncated anywhere: no panic
    }
    // The last attribute's data no longer matches its checksum: read all the same.
    let mut bad = blob.clone();
    let n = bad.len();
    bad[n - 3] ^= 0xFF;
    assert_eq!(
        decode(&bad).unwrap().attachments[0].data,
        b"ab\x9c".to_vec()
    );
    let mut huge = blob.clone();
    huge[11..15].copy_from_slice(&u32::MAX.to_le_bytes()); // a length past the end
    assert_eq!(decode(&huge), None);
}

const FROMHTML: &str = r#"{\rtf1\ansi\ansicpg1252\fromhtml1 \deff0{\fonttbl{\f0\fswiss Arial;}}
{\*\htmltag19 <html>}{\*\htmltag50 <body>}{\*\htmltag64 <p>}\htmlrtf {\htmlrtf0 Caf\'e9 is open\htmlrtf }\htmlrtf0
{\*\htmltag72 </p>}{\*\htmltag58 </body>}{\*\htmltag27 </html>}}"#;

#[test]
fn outlook_bodies_in_mapi_properties_come_out() {
    // Only compressed RTF, wrapping HTML, as real Outlook mail carries it.
    let rtf = compressed_rtf::compress_rtf(FROMHTML).unwrap();
    let blob = Builder::new()
        .message_props(&[
            (0x8005, PropValue::Long(7)), // a named property, skipped
            (0x0E07, PropValue::Long(0)),
            (PR_RTF_COMPRESSED, PropValue::Binary(&rtf)),
        ])
        .build();
    let t = decode(&blob).unwrap();
    assert_eq!(t.rtf.as_deref(), Some(FROMHTML.as_bytes()));
    assert_eq!(
        t.html.as_deref(),
        Some("<html><body><p>Café is open</p></body></html>")
    );
    assert_eq!(t.body, None);

    // Rich text (no HTML inside) gives text.
    let rich = r"{\rtf1\ansi{\fonttbl{\f0 Arial;}}\pard Line\par {\b bold}\par}";
    let rtf = compressed_rtf::compress_rtf(rich).unwrap();
    let blob = Builder::new()
        .message_props(&[(PR_RTF_COMPRESSED, PropValue::Binary(&rtf))])
        .build();
    assert_eq!(decode(&blob).unwrap().body.as_deref(), Some("Line\nbold\n"));

    // PR_BODY (8-bit and UTF-16) and PR_HTML in its internet code page; the RTF is then
    // not needed for the text.
    let blob = Builder::new()
        .message_props(&[
            (PR_BODY, PropValue::Unicode("Grüße aus Köln")),
            (PR_INTERNET_CPID, PropValue::Long(65001)),
            (PR_HTML, PropValue::Binary("<p>Grüße</p>".as_bytes())),
            (PR_RTF_COMPRESSED, PropValue::Binary(&rtf)),
        ])
        .build();
    let t = decode(&blob).unwrap();
    assert_eq!(t.body.as_deref(), Some("Grüße aus Köln"));
    assert_eq!(t.html.as_deref(), Some("<p>Grüße</p>"));
    let blob = Builder::new()
        .message_props(&[(PR_BODY, PropValue::String8("caf\u{e9}"))])
        .build();
    // String8 is in the blob's code page (1252): "é" written as UTF-8 reads as two chars.
    assert_eq!(decode(&blob).unwrap().body.as_deref(), Some("cafÃ©"));
    // attBody, where there is one, is the text.
    let blob = Builder::new()
        .body("from attBody")
        .message_props(&[(PR_BODY, PropValue::String8("from PR_BODY"))])
        .build();
    assert_eq!(decode(&blob).unwrap().body.as_deref(), Some("from attBody"));
}

#[test]
fn attachment_properties_give_long_names_types_and_embedded_messages() {
    let inner = Builder::new()
        .body("The forwarded mail's text")
        .attachment("INNER~1.PDF", Some(b"%PDF inner"), &[])
        .build();
    let object = [&IID_IMESSAGE[..], &inner].concat();
    let blob = Builder::new()
        .attachment(
            "QUARTE~1.XLS",
            Some(b"xls bytes"),
            &[
                (
                    PR_ATTACH_LONG_FILENAME,
                    PropValue::Unicode("Quarterly report – Q3.xlsx"),
                ),
                (
                    PR_ATTACH_MIME_TAG,
                    PropValue::String8("application/vnd.ms-excel"),
                ),
            ],
        )
        .attachment(
            "Forwarded",
            Some(b"This attachment is a MAPI 1.0 embedded message"),
            &[(PR_DISPLAY_NAME, PropValue::String8("Re: order"))],
        )
        .build();
    // The object property is written by hand: the builder writes binaries.
    let mut blob = blob;
    let mut props = 1u32.to_le_bytes().to_vec();
    props.extend_from_slice(&PT_OBJECT.to_le_bytes());
    props.extend_from_slice(&PR_ATTACH_DATA.to_le_bytes());
    props.extend_from_slice(&1u32.to_le_bytes());
    props.extend_from_slice(&(object.len() as u32).to_le_bytes());
    props.extend_from_slice(&object);
    props.resize(props.len().div_ceil(4) * 4, 0);
    blob.push(2);
    blob.extend_from_slice(&ATT_ATTACHMENT.to_le_bytes());
    blob.extend_from_slice(&(props.len() as u32).to_le_bytes());
    blob.extend_from_slice(&props);
    blob.extend_from_slice(&[0, 0]);
    let t = decode(&blob).unwrap();
    let got: Vec<(&str, Option<&str>, &[u8])> = t
        .attachments
        .iter()
        .map(|a| {
            (
                a.name.as_str(),
                a.content_type.as_deref(),
                a.data.as_slice(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "Quarterly report – Q3.xlsx",
                Some("application/vnd.ms-excel"),
                &b"xls bytes"[..]
            ),
            (
                "Forwarded.txt",
                Some("text/plain"),
                &b"The forwarded mail's text"[..]
            ),
            ("INNER~1.PDF", None, &b"%PDF inner"[..]),
        ]
    );
}

#[test]
fn lying_property_lists_keep_what_came_before() {
    let good = Builder::new()
        .message_props(&[(PR_BODY, PropValue::String8("kept"))])
        .build();
    // The property count says 1,000,000; only one is there.
    let mut lie = good.clone();
    let at = lie.len() - 2 - (4 + 4 + 4 + 4 + 8);
    lie[at..at + 4].copy_from_slice(&1_000_000u32.to_le_bytes());
    assert_eq!(decode(&lie).unwrap().body.as_deref(), Some("kept"));
    // A value length past the end: the property is not read, nothing panics.
    let mut past = good.clone();
    let at = past.len() - 2 - 8 - 4;
    past[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(decode(&past).unwrap().body, None);
    // A checksum cut off the end: the attribute is still read.
    let cut = &good[..good.len() - 2];
    assert_eq!(decode(cut).unwrap().body.as_deref(), Some("kept"));
    for n in 0..good.len() {
        let _ = decode(&good[..n]);
    }
}
