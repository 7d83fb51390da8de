//! The Public Suffix List (publicsuffix.org; the copy Debian's `publicsuffix` package ships,
//! MPL 2.0, in `public_suffix_list.dat` beside this file): which part of a domain is a public
//! suffix (`test`, `co.uk`, `github.io`), so that DKIM alignment compares organisational
//! domains (`example.co.uk`), never a suffix that anyone can register under. Pure; the list is
//! read once, on first use.

use std::collections::HashSet;
use std::sync::OnceLock;

const LIST: &str = include_str!("public_suffix_list.dat");

#[derive(Default)]
struct Rules {
    /// `co.uk`.
    exact: HashSet<String>,
    /// `*.ck` as `ck`: every label under it is a suffix.
    wildcard: HashSet<String>,
    /// `!www.ck`: not a suffix, though a wildcard says so.
    exception: HashSet<String>,
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut r = Rules::default();
        for line in LIST.lines() {
            let rule = line.split_whitespace().next().unwrap_or("");
            if rule.is_empty() || rule.starts_with("//") {
                continue;
            }
            // Rules in Unicode are matched as the A-labels that mail headers carry.
            let ascii = |s: &str| idna::domain_to_ascii(s).unwrap_or_else(|_| s.to_lowercase());
            if let Some(e) = rule.strip_prefix('!') {
                r.exception.insert(ascii(e));
            } else if let Some(w) = rule.strip_prefix("*.") {
                r.wildcard.insert(ascii(w));
            } else {
                r.exact.insert(ascii(rule));
            }
        }
        r
    })
}

/// The organisational domain of `domain` (its public suffix and one label more), lower case;
/// `None` for a public suffix itself or an empty name.
pub fn org_domain(domain: &str) -> Option<String> {
    let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    if d.is_empty() || d.split('.').any(str::is_empty) {
        return None;
    }
    let labels: Vec<&str> = d.split('.').collect();
    let r = rules();
    // The number of labels of the public suffix: the longest matching rule, an exception
    // taking one label off; no rule at all means the last label (the implicit `*`).
    let mut suffix = 1;
    for i in 0..labels.len() {
        let candidate = labels[i..].join(".");
        if r.exception.contains(&candidate) {
            suffix = labels.len() - i - 1;
            break;
        }
        let parent = labels[i + 1..].join(".");
        if r.exact.contains(&candidate) || (i + 1 < labels.len() && r.wildcard.contains(&parent)) {
            suffix = labels.len() - i;
            break;
        }
    }
    (labels.len() > suffix).then(|| labels[labels.len() - suffix - 1..].join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisational_domains() {
        for (domain, want) in [
            ("example.test", Some("example.test")),
            ("mail.example.test", Some("example.test")),
            ("test", None),
            ("co.uk", None),
            ("example.co.uk", Some("example.co.uk")),
            ("a.b.example.co.uk", Some("example.co.uk")),
            ("MAIL.Example.COM.", Some("example.com")),
            ("com", None),
            ("user.github.io", Some("user.github.io")),
            ("github.io", None),
            // A wildcard rule (*.ck) and its exception (!www.ck).
            ("anything.ck", None),
            ("x.anything.ck", Some("x.anything.ck")),
            ("www.ck", Some("www.ck")),
            // An internationalised suffix, as its A-label.
            ("example.xn--p1ai", Some("example.xn--p1ai")),
            ("xn--p1ai", None),
            ("", None),
            ("a..b", None),
        ] {
            assert_eq!(org_domain(domain).as_deref(), want, "{domain}");
        }
    }
}
