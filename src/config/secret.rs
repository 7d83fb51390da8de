//! Secrets of the config (passwords, client secrets, tokens): never printed, and hidden in a
//! server's reply that echoes one.

use std::fmt;

/// A secret read from the config, a file or the environment. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` (a server's reply to a login, which may echo the command) with this password
    /// replaced by `***` in every form a login sends it: as written, quoted as IMAP quotes it,
    /// and base64-encoded alone (SASL LOGIN) or as the SASL PLAIN response for `user`.
    pub fn redact_in(&self, text: &str, user: &str) -> String {
        use base64::Engine as _;
        if self.0.is_empty() {
            return text.to_string();
        }
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let quoted = self.0.replace('\\', "\\\\").replace('"', "\\\"");
        let mut forms = [
            b64(&format!("\0{user}\0{}", self.0)),
            b64(&format!("{user}\0{user}\0{}", self.0)),
            b64(&self.0),
            quoted,
            self.0.clone(),
        ];
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        forms
            .iter()
            .fold(text.to_string(), |t, f| t.replace(f.as_str(), "***"))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
