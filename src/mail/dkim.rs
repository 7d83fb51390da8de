//! DKIM signing of outgoing mail (RFC 6376) with the mail-auth crate: rsa-sha256 or
//! ed25519-sha256, relaxed/relaxed canonicalisation. Pure: the key is read once by the config
//! loader, and signing a message is a computation on its bytes.

use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner, Done};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;

/// The headers a signature covers. A name that a mail does not carry is signed as absent, so
/// nobody can add it on the way (a second From, a Reply-To pointing elsewhere).
const SIGNED: [&str; 14] = [
    "From",
    "Reply-To",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Auto-Submitted",
    "List-Id",
];

enum Key {
    Rsa(DkimSigner<RsaKey<Sha256>, Done>),
    Ed25519(DkimSigner<Ed25519Key, Done>),
}

/// Signs mail for one domain and selector.
pub struct Signer {
    key: Key,
    pub domain: String,
    pub selector: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Signer({}, {}, {})",
            self.algorithm(),
            self.domain,
            self.selector
        )
    }
}

impl Signer {
    /// A signer from a PEM private key: RSA (PKCS#1 `BEGIN RSA PRIVATE KEY` or PKCS#8
    /// `BEGIN PRIVATE KEY`) or Ed25519 (PKCS#8). The error says what the file holds instead.
    pub fn from_pem(pem: &[u8], domain: &str, selector: &str) -> Result<Signer, String> {
        let der = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|e| format!("expected a PEM private key (RSA or Ed25519): {e}"))?;
        let key = match &der {
            PrivateKeyDer::Pkcs8(p) => match Ed25519Key::from_pkcs8_der(p.secret_pkcs8_der()) {
                Ok(k) => Key::Ed25519(build(DkimSigner::from_key(k), domain, selector)),
                Err(_) => Key::Rsa(build(
                    DkimSigner::from_key(rsa(der.clone_key())?),
                    domain,
                    selector,
                )),
            },
            _ => Key::Rsa(build(
                DkimSigner::from_key(rsa(der.clone_key())?),
                domain,
                selector,
            )),
        };
        Ok(Signer {
            key,
            domain: domain.to_string(),
            selector: selector.to_string(),
        })
    }

    pub fn algorithm(&self) -> &'static str {
        match self.key {
            Key::Rsa(_) => "rsa-sha256",
            Key::Ed25519(_) => "ed25519-sha256",
        }
    }

    /// The message with a `DKIM-Signature` header in front.
    pub fn sign(&self, raw: &[u8]) -> Result<Vec<u8>, String> {
        let signature = match &self.key {
            Key::Rsa(s) => s.sign(raw).map(|s| s.to_header()),
            Key::Ed25519(s) => s.sign(raw).map(|s| s.to_header()),
        }
        .map_err(|e| format!("DKIM signing failed: {e}"))?;
        let mut out = Vec::with_capacity(signature.len() + raw.len());
        out.extend_from_slice(signature.as_bytes());
        out.extend_from_slice(raw);
        Ok(out)
    }
}

fn rsa(der: PrivateKeyDer<'static>) -> Result<RsaKey<Sha256>, String> {
    RsaKey::<Sha256>::from_key_der(der)
        .map_err(|e| format!("expected an RSA or Ed25519 private key: {e}"))
}

fn build<T: mail_auth::common::crypto::SigningKey>(
    s: DkimSigner<T>,
    domain: &str,
    selector: &str,
) -> DkimSigner<T, Done> {
    s.domain(domain)
        .selector(selector)
        .headers(SIGNED)
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_KEY: &[u8] = include_bytes!("../../tests/fixtures/dkim/rsa.key");
    const ED_KEY: &[u8] = include_bytes!("../../tests/fixtures/dkim/ed25519.key");
    const MAIL: &[u8] = b"From: Support <support@example.test>\r\nTo: c@example.org\r\nSubject: Hi\r\nMessage-ID: <a@example.test>\r\n\r\nHello\r\n";

    fn tag<'a>(header: &'a str, name: &str) -> &'a str {
        let unfolded = header.split(';').map(str::trim);
        unfolded
            .filter_map(|t| t.split_once('='))
            .find(|(k, _)| k.trim() == name)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no {name}= in {header}"))
    }

    #[test]
    fn signs_with_rsa_and_ed25519_keys() {
        for (pem, algo) in [(RSA_KEY, "rsa-sha256"), (ED_KEY, "ed25519-sha256")] {
            let s = Signer::from_pem(pem, "example.test", "pd1").unwrap();
            assert_eq!(s.algorithm(), algo);
            let signed = String::from_utf8(s.sign(MAIL).unwrap()).unwrap();
            assert!(signed.starts_with("DKIM-Signature: "), "{signed}");
            assert!(signed.ends_with(std::str::from_utf8(MAIL).unwrap()));
            let header = &signed[..signed.len() - MAIL.len()];
            assert_eq!(tag(header, "a"), algo);
            assert_eq!(tag(header, "d"), "example.test");
            assert_eq!(tag(header, "s"), "pd1");
            assert_eq!(tag(header, "c"), "relaxed/relaxed");
            let h = tag(header, "h")
                .to_lowercase()
                .replace([' ', '\t', '\r', '\n'], "");
            for name in ["from", "to", "subject", "message-id"] {
                assert!(h.split(':').any(|x| x == name), "{name} not in h={h}");
            }
        }
    }

    #[test]
    fn other_files_are_refused_with_a_reason() {
        let e = Signer::from_pem(b"not a key", "example.test", "s").unwrap_err();
        assert!(e.contains("PEM private key"), "{e}");
        let cert = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(Signer::from_pem(cert, "example.test", "s").is_err());
    }
}
