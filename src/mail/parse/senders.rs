//! Who sent a mail and to whom: the mailboxes of From, Sender, Reply-To, To and Cc as
//! mail-parser reads them, with the addresses it misreads (obsolete forms) taken from
//! [`crate::mail::address`], and the sender chosen from them.

use mail_parser::{Address, HeaderName, HeaderValue, Message};

use super::{one_line, MailAddr};

fn addr(a: &mail_parser::Addr<'_>) -> Option<MailAddr> {
    let address = one_line(a.address.as_deref()?).to_lowercase();
    if address.is_empty() {
        return None;
    }
    let name = a.name.as_deref().map(one_line).filter(|n| !n.is_empty());
    Some(MailAddr { name, address })
}

/// An address mail-parser could not read as written: missing, a quoted local part it lost
/// (`@domain`), a route (`:`), white space or brackets inside.
fn misread(address: Option<&str>) -> bool {
    address.is_none_or(|a| {
        a.is_empty()
            || a.starts_with('@')
            || a.contains([':', '<', '>'])
            || a.contains(char::is_whitespace)
    })
}

/// The mailboxes of one address header, in order: mail-parser's (names decoded), with each
/// address it misread taken from [`crate::mail::address`]'s reading of the raw value (obsolete forms:
/// quoted local parts, bang paths, routes, white space around `@`). Lower case, for comparing.
fn addr_list(a: Option<&Address<'_>>, raw: Option<&str>) -> Vec<MailAddr> {
    let theirs: Vec<&mail_parser::Addr<'_>> = match a {
        Some(Address::List(list)) => list.iter().collect(),
        Some(Address::Group(groups)) => groups.iter().flat_map(|g| g.addresses.iter()).collect(),
        None => Vec::new(),
    };
    // The usual case, every address read: nothing to read again.
    if !theirs.is_empty() && !theirs.iter().any(|a| misread(a.address.as_deref())) {
        return theirs.iter().filter_map(|a| addr(a)).collect();
    }
    let ours = raw.map(crate::mail::address::mailboxes).unwrap_or_default();
    let fixed = |a: &mail_parser::Addr<'_>, mine: &crate::mail::address::Mailbox| {
        match mine.address.as_deref() {
            Some(written) if misread(a.address.as_deref()) => Some(MailAddr {
                // mail-parser takes a quoted local part for a name: not one.
                name: a
                    .name
                    .as_deref()
                    .map(one_line)
                    .filter(|n| !n.is_empty() && !written.contains(n.as_str()))
                    .or_else(|| mine.comment.as_deref().map(one_line))
                    .filter(|n| !n.is_empty()),
                address: one_line(written).to_lowercase(),
            }),
            _ => addr(a),
        }
    };
    if theirs.len() == ours.len() {
        theirs
            .iter()
            .zip(&ours)
            .filter_map(|(a, m)| fixed(a, m))
            .collect()
    } else if theirs.iter().all(|a| misread(a.address.as_deref())) {
        // mail-parser found no address at all (a bang path alone): ours, names from comments.
        ours.iter()
            .filter_map(|m| {
                Some(MailAddr {
                    name: m.comment.as_deref().map(one_line).filter(|n| !n.is_empty()),
                    address: one_line(m.address.as_deref()?).to_lowercase(),
                })
            })
            .collect()
    } else {
        theirs.iter().filter_map(|a| addr(a)).collect()
    }
}

/// Each header `name` of the top part, with its raw value, in order.
fn with_raw<'m>(
    msg: &'m Message<'_>,
    name: HeaderName<'static>,
) -> Vec<(&'m HeaderValue<'m>, Option<&'m str>)> {
    msg.parts[0]
        .headers
        .iter()
        .filter(|h| h.name == name)
        .map(|h| {
            let raw = msg
                .raw_message
                .get(h.offset_start as usize..h.offset_end as usize)
                .and_then(|b| std::str::from_utf8(b).ok());
            (&h.value, raw)
        })
        .collect()
}

/// The mailboxes of the last header `name` (the one mail-parser's own accessors give).
pub(super) fn last_list(msg: &Message<'_>, name: HeaderName<'static>) -> Vec<MailAddr> {
    with_raw(msg, name)
        .pop()
        .map(|(v, raw)| addr_list(v.as_address(), raw))
        .unwrap_or_default()
}

/// Who sent a mail, and by which header: the first From header (a second one is a forger's
/// trick; mail-parser itself would give the last) and in it the first mailbox with an address;
/// else Sender, Reply-To, Return-Path. Also how many From headers followed the first.
pub(super) fn sender_of(msg: &Message<'_>) -> (Option<MailAddr>, Option<&'static str>, usize) {
    let froms = with_raw(msg, HeaderName::From);
    let from = froms
        .first()
        .and_then(|(v, raw)| addr_list(v.as_address(), *raw).into_iter().next());
    let more = froms.len().saturating_sub(1);
    let return_path = || {
        let v = msg.header_raw(HeaderName::ReturnPath)?;
        let a = v
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim();
        (a.contains('@') && !a.contains(char::is_whitespace)).then(|| MailAddr {
            name: None,
            address: one_line(a).to_lowercase(),
        })
    };
    let found = from
        .map(|a| (a, "from"))
        .or_else(|| {
            last_list(msg, HeaderName::Sender)
                .into_iter()
                .next()
                .map(|a| (a, "sender"))
        })
        .or_else(|| {
            last_list(msg, HeaderName::ReplyTo)
                .into_iter()
                .next()
                .map(|a| (a, "reply-to"))
        })
        .or_else(|| return_path().map(|a| (a, "return-path")));
    match found {
        Some((a, h)) => (Some(a), Some(h), more),
        None => (None, None, more),
    }
}
