//! Message-IDs as the threading compares them (RFC 5322 §3.6.4).

/// Normalises a Message-ID to `<id>` form, or `None` if nothing is left. White space inside is
/// dropped: the obsolete syntax of RFC 5322 §4.5.4 allows it between the parts of an id.
pub fn normalize_id(id: &str) -> Option<String> {
    let inner: String = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    if inner.is_empty() {
        None
    } else {
        Some(format!("<{inner}>"))
    }
}
