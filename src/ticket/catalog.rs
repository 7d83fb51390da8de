//! Service requests from the catalog, without I/O: which item a mail asks for, and which of its
//! fields a mail gives, lacks, or names that the item does not have.

use std::collections::BTreeMap;

use crate::config::CatalogItem;

/// The item a new mail asks for: the first whose address the mail was sent to, or whose
/// subject pattern matches.
pub fn match_item<'c, 'a>(
    items: &'c [CatalogItem],
    subject: &str,
    recipients: impl Iterator<Item = &'a str>,
) -> Option<&'c CatalogItem> {
    if items.is_empty() {
        return None;
    }
    let recipients: Vec<&str> = recipients.collect();
    items.iter().find(|i| {
        i.address
            .as_deref()
            .is_some_and(|a| recipients.iter().any(|r| r.eq_ignore_ascii_case(a)))
            || i.subject.as_ref().is_some_and(|re| re.is_match(subject))
    })
}

/// The `Name: value` lines of a mail split by the item: those it has (as `#set` takes them),
/// and the names of those it has not.
pub fn split_fields(
    item: &CatalogItem,
    lines: Vec<(String, String)>,
) -> (Vec<(String, String)>, Vec<String>) {
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for (name, value) in lines {
        if item.fields.iter().any(|(n, _)| *n == name) {
            known.push((name, value));
        } else {
            unknown.push(name);
        }
    }
    (known, unknown)
}

/// The required fields of `item` that `present` lacks.
pub fn missing(item: &CatalogItem, present: &BTreeMap<String, String>) -> Vec<String> {
    item.fields
        .iter()
        .filter(|(n, required)| *required && !present.contains_key(n))
        .map(|(n, _)| n.clone())
        .collect()
}

/// A field's name as a customer writes it back (`cost_center` → `Cost center`).
pub fn label(name: &str) -> String {
    let mut s = name.replace('_', " ");
    if let Some(f) = s.get_mut(0..1) {
        f.make_ascii_uppercase();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn laptop() -> CatalogItem {
        CatalogItem {
            name: "laptop".into(),
            title: "New laptop".into(),
            subject: Some(regex::Regex::new("(?i)new laptop").unwrap()),
            address: Some("laptop@example.test".into()),
            fields: vec![
                ("model".into(), true),
                ("cost_center".into(), true),
                ("colour".into(), false),
            ],
            approval: None,
            tasks: Vec::new(),
        }
    }

    #[test]
    fn items_fields_and_what_is_missing() {
        let items = vec![laptop()];
        assert!(match_item(&items, "Need a NEW LAPTOP", std::iter::empty()).is_some());
        assert!(match_item(&items, "Hi", ["Laptop@example.test"].into_iter()).is_some());
        assert!(match_item(&items, "Printer", ["support@example.test"].into_iter()).is_none());
        let (known, unknown) = split_fields(
            &laptop(),
            vec![("model".into(), "X1".into()), ("size".into(), "14".into())],
        );
        assert_eq!(known, vec![("model".to_string(), "X1".to_string())]);
        assert_eq!(unknown, vec!["size".to_string()]);
        let present: BTreeMap<String, String> = known.into_iter().collect();
        assert_eq!(
            missing(&laptop(), &present),
            vec!["cost_center".to_string()]
        );
        assert_eq!(label("cost_center"), "Cost center");
    }
}
