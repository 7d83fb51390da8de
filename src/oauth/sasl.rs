//! SASL with a bearer token: XOAUTH2 (Google's and Microsoft's) and OAUTHBEARER (RFC 7628).
//! Pure: the client's messages, for IMAP AUTHENTICATE and SMTP AUTH alike.

/// `auth = "xoauth2" | "oauthbearer"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    XOAuth2,
    OAuthBearer,
}

impl Mechanism {
    /// The name in AUTHENTICATE / AUTH.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// The initial client response for `user` on `host:port` (before base64).
    pub fn initial_response(self, user: &str, host: &str, port: u16, token: &str) -> String {
        match self {
            Mechanism::XOAuth2 => format!("user={user}\x01auth=Bearer {token}\x01\x01"),
            // RFC 7628 §3.1: a GS2 header naming the user (`,` and `=` escaped as in
            // RFC 5801), then key=value pairs each ended by ^A, and a final ^A.
            Mechanism::OAuthBearer => format!(
                "n,a={},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01",
                user.replace('=', "=3D").replace(',', "=2C")
            ),
        }
    }

    /// The answer to the server's error challenge (a JSON status after a refused token), after
    /// which the server sends its final refusal: empty for XOAUTH2, a lone ^A for OAUTHBEARER
    /// (RFC 7628 §3.2.3).
    pub fn abort(self) -> &'static str {
        match self {
            Mechanism::XOAuth2 => "",
            Mechanism::OAuthBearer => "\x01",
        }
    }
}

/// The client side of one exchange: the initial response first, then [`Mechanism::abort`] to
/// whatever the server sends next.
pub struct Exchange {
    mechanism: Mechanism,
    initial: Option<String>,
    /// The server's error challenge, when it sent one (its JSON, for the message).
    pub challenge: Option<String>,
}

impl Exchange {
    pub fn new(mechanism: Mechanism, user: &str, host: &str, port: u16, token: &str) -> Exchange {
        Exchange {
            mechanism,
            initial: Some(mechanism.initial_response(user, host, port, token)),
            challenge: None,
        }
    }

    /// The next client message for the server's (decoded) challenge.
    pub fn step(&mut self, challenge: &[u8]) -> Vec<u8> {
        match self.initial.take() {
            Some(first) => first.into_bytes(),
            None => {
                self.challenge = Some(String::from_utf8_lossy(challenge).into_owned());
                self.mechanism.abort().as_bytes().to_vec()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_responses() {
        let cases = [
            (
                Mechanism::XOAuth2,
                "someuser@example.com",
                "user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01",
            ),
            // RFC 7628 §4.1, with the user escaped as §3.1 asks
            (
                Mechanism::OAuthBearer,
                "user@example.com",
                "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01",
            ),
            (
                Mechanism::OAuthBearer,
                "a,b=c",
                "n,a=a=2Cb=3Dc,\x01host=server.example.com\x01port=143\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01",
            ),
        ];
        for (m, user, want) in cases {
            assert_eq!(
                m.initial_response(
                    user,
                    "server.example.com",
                    143,
                    "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
                ),
                want
            );
        }
    }

    #[test]
    fn an_error_challenge_is_answered_by_the_abort_and_kept() {
        for (m, abort) in [
            (Mechanism::XOAuth2, &b""[..]),
            (Mechanism::OAuthBearer, &b"\x01"[..]),
        ] {
            let mut x = Exchange::new(m, "u", "h", 1, "t");
            assert_eq!(
                x.step(b""),
                m.initial_response("u", "h", 1, "t").into_bytes()
            );
            assert!(x.challenge.is_none());
            let json = br#"{"status":"401","schemes":"bearer","scope":"mail"}"#;
            assert_eq!(x.step(json), abort);
            assert_eq!(
                x.challenge.as_deref(),
                Some(std::str::from_utf8(json).unwrap())
            );
        }
    }
}
