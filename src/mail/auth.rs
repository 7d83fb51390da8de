//! Reading Authentication-Results (RFC 8601) to decide whether a mail's From domain is
//! vouched for by DKIM, per the receiving server we trust. Pure.
//!
//! Only the topmost header from a trusted authserv-id counts: the trusted server adds its own
//! above anything that came with the mail (and should remove look-alikes), so a sender cannot
//! smuggle in a header of its own that wins.

/// The domain part of an address, lower case.
fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

/// Relaxed alignment (DMARC, RFC 7489 §3.1.1): the same organisational domain by the Public
/// Suffix List, so `mail.example.test` aligns with `example.test`, and a signature by a public
/// suffix (`test`, `co.uk`) aligns with nothing.
fn aligned(a: &str, b: &str) -> bool {
    match (super::psl::org_domain(a), super::psl::org_domain(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// True when the topmost Authentication-Results header of a `trusted` authserv-id reports
/// `dkim=pass` for a signing domain aligned with `from`'s domain.
pub fn dkim_aligned(headers: &[String], trusted: &[String], from: &str) -> bool {
    let from_domain = domain_of(from);
    let Some(header) = headers.iter().find(|h| {
        let id = h
            .split(';')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .next()
            .unwrap_or("");
        trusted.iter().any(|t| t.eq_ignore_ascii_case(id))
    }) else {
        return false;
    };
    header.split(';').skip(1).any(|method| {
        let mut words = method.split_whitespace();
        let pass = words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("dkim=pass"));
        pass && method.split_whitespace().any(|w| {
            let w = w.to_ascii_lowercase();
            let d = w
                .strip_prefix("header.d=")
                .or_else(|| w.strip_prefix("header.i=").map(domain_of));
            d.is_some_and(|d| aligned(d.trim_matches('"'), from_domain))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let trusted = vec!["mx.example.test".to_string()];
        let h = |s: &str| vec![s.to_string()];
        let cases: Vec<(Vec<String>, &str, bool)> = vec![
            (
                h("mx.example.test; dkim=pass header.d=example.test header.s=sel"),
                "alice@example.test",
                true,
            ),
            (
                h("mx.example.test 1; spf=pass; dkim=pass (good) header.i=@mail.example.test"),
                "alice@example.test",
                true,
            ),
            (
                h("mx.example.test; dkim=pass header.d=other.test"),
                "alice@example.test",
                false,
            ),
            (
                h("mx.example.test; dkim=fail header.d=example.test"),
                "alice@example.test",
                false,
            ),
            (h("mx.example.test; dkim=none"), "alice@example.test", false),
            (
                h("evil.example; dkim=pass header.d=example.test"),
                "alice@example.test",
                false,
            ),
            (
                h("mx.example.test; dkim=pass header.d=notexample.test"),
                "alice@example.test",
                false,
            ),
            // The trusted server's own header is on top; a forged one below does not count.
            (
                vec![
                    "mx.example.test; dkim=fail header.d=example.test".into(),
                    "mx.example.test; dkim=pass header.d=example.test".into(),
                ],
                "alice@example.test",
                false,
            ),
            (vec![], "alice@example.test", false),
            // A signature by a public suffix vouches for no one under it.
            (
                h("mx.example.test; dkim=pass header.d=test"),
                "alice@example.test",
                false,
            ),
            (
                h("mx.example.test; dkim=pass header.d=co.uk"),
                "alice@example.co.uk",
                false,
            ),
            (
                h("mx.example.test; dkim=pass header.d=other.co.uk"),
                "alice@example.co.uk",
                false,
            ),
            (
                h("mx.example.test; dkim=pass header.d=mail.example.co.uk"),
                "alice@example.co.uk",
                true,
            ),
        ];
        for (headers, from, want) in cases {
            assert_eq!(dkim_aligned(&headers, &trusted, from), want, "{headers:?}");
        }
    }
}
