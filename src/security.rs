//! The HMAC key behind every token postdesk hands out, and the tokens themselves: Message-IDs
//! and self-references that name their ticket (`<pd.42.RANDOM.MAC@domain>`,
//! `<ticket-42.MAC@domain>`), and reply addresses (`support+42.MAC@domain`) whose MAC says
//! whether the address was given to the ticket's customers or to one agent about that ticket.
//!
//! Making and checking tokens is pure; only [`Keys::load_or_create`] touches the disk.

use std::io::Write;
use std::path::Path;

use ring::hmac;

/// Bytes of HMAC-SHA256 kept in a token (48 bits: forging one takes ~2^47 tries per ticket).
const MAC_BYTES: usize = 6;
/// A one-click token's MAC: 128 bits.
const CLICK_MAC_BYTES: usize = 16;

/// Why a one-click token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClickError {
    /// Not one of ours, or for something else.
    Invalid,
    Expired,
}

/// The HMAC key (from `[security] secret_file`).
#[derive(Clone)]
pub struct Keys {
    key: hmac::Key,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(***)")
    }
}

/// What a reply address was handed out for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressToken {
    /// The ticket's customers (Reply-To of the mail they get).
    Ticket(i64),
    /// The agent with this address, about this ticket (Reply-To of their notifications).
    Agent { ticket: i64, agent: String },
    /// The approver with this address, for this decision of an approval chain (Reply-To of
    /// their approval request).
    Approver { decision: i64, approver: String },
}

impl Keys {
    /// A key from secret bytes.
    pub fn new(secret: &[u8]) -> Keys {
        Keys {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// Reads the secret file, or creates it (32 random bytes, hex, mode 0600) when missing.
    pub fn load_or_create(path: &Path) -> Result<Keys, String> {
        match std::fs::read_to_string(path) {
            Ok(s) if s.trim().len() >= 16 => return Ok(Keys::new(s.trim().as_bytes())),
            Ok(_) => {
                return Err(format!(
                    "{}: the secret is too short (expected at least 16 characters)",
                    path.display()
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: cannot read the secret: {e}", path.display())),
        }
        let mut bytes = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
            .map_err(|_| "no system randomness to make a secret".to_string())?;
        let text = hex::encode(bytes);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("{}: cannot create the directory: {e}", dir.display()))?;
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        match opts.open(path) {
            Ok(mut f) => {
                f.write_all(text.as_bytes())
                    .and_then(|_| f.sync_all())
                    .map_err(|e| format!("{}: cannot write the secret: {e}", path.display()))?;
                Ok(Keys::new(text.as_bytes()))
            }
            // Another process made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::thread::sleep(std::time::Duration::from_millis(50));
                Keys::load_or_create(path)
            }
            Err(e) => Err(format!("{}: cannot create the secret: {e}", path.display())),
        }
    }

    fn mac(&self, what: &str) -> String {
        let tag = hmac::sign(&self.key, what.as_bytes());
        hex::encode(&tag.as_ref()[..MAC_BYTES])
    }

    fn verify(&self, what: &str, mac: &str) -> bool {
        let Ok(given) = hex::decode(mac) else {
            return false;
        };
        if given.len() != MAC_BYTES {
            return false;
        }
        let tag = hmac::sign(&self.key, what.as_bytes());
        // Constant time: a difference anywhere costs the same.
        tag.as_ref()[..MAC_BYTES]
            .iter()
            .zip(&given)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// A one-click token: the capability a page's POST carries (`ID.EXPIRES.MAC`, the MAC over
    /// `purpose`, which binds it to what it decides, e.g. `csat`, and 128 bits long: a link
    /// is guessable online, a reply address is not).
    pub fn click_token(&self, purpose: &str, id: i64, expires_s: i64) -> String {
        let tag = hmac::sign(
            &self.key,
            format!("click:{purpose}:{id}:{expires_s}").as_bytes(),
        );
        format!(
            "{id}.{expires_s}.{}",
            hex::encode(&tag.as_ref()[..CLICK_MAC_BYTES])
        )
    }

    /// The id a one-click token for `purpose` names, if it is ours and not expired at `now_s`.
    pub fn verify_click(&self, purpose: &str, token: &str, now_s: i64) -> Result<i64, ClickError> {
        let mut parts = token.splitn(3, '.');
        let (Some(id), Some(expires), Some(mac)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(ClickError::Invalid);
        };
        let (Ok(id), Ok(expires), Ok(given)) =
            (id.parse::<i64>(), expires.parse::<i64>(), hex::decode(mac))
        else {
            return Err(ClickError::Invalid);
        };
        if given.len() != CLICK_MAC_BYTES {
            return Err(ClickError::Invalid);
        }
        let tag = hmac::sign(
            &self.key,
            format!("click:{purpose}:{id}:{expires}").as_bytes(),
        );
        let same = tag.as_ref()[..CLICK_MAC_BYTES]
            .iter()
            .zip(&given)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        match (same, expires >= now_s) {
            (false, _) => Err(ClickError::Invalid),
            (true, false) => Err(ClickError::Expired),
            (true, true) => Ok(id),
        }
    }

    fn ticket_mac(&self, ticket: i64) -> String {
        self.mac(&format!("ticket:{ticket}"))
    }

    fn agent_mac(&self, ticket: i64, agent: &str) -> String {
        self.mac(&format!("agent:{ticket}:{}", agent.to_lowercase()))
    }

    /// A fresh Message-ID for a mail about `ticket`: `<pd.TICKET.RANDOM.MAC@domain>`.
    pub fn message_id(&self, ticket: Option<i64>, domain: &str) -> String {
        let random = fastrand::u64(..);
        match ticket {
            Some(t) => format!("<pd.{t}.{random:016x}.{}@{domain}>", self.ticket_mac(t)),
            None => format!("<pd.0.{random:016x}@{domain}>"),
        }
    }

    /// The self-reference every mail about `ticket` carries in References.
    pub fn self_reference(&self, ticket: i64, domain: &str) -> String {
        format!("<ticket-{ticket}.{}@{domain}>", self.ticket_mac(ticket))
    }

    /// The ticket one of our Message-IDs or self-references names, if its MAC is ours. The
    /// domain is not checked: a relay may rewrite it along with the rest.
    pub fn ticket_of_id(&self, id: &str) -> Option<i64> {
        let inner = id.strip_prefix('<')?.strip_suffix('>')?;
        let (local, _domain) = inner.split_once('@')?;
        let (ticket, mac) = if let Some(rest) = local.strip_prefix("ticket-") {
            rest.split_once('.')?
        } else {
            let rest = local.strip_prefix("pd.")?;
            let mut parts = rest.split('.');
            let (t, _random, mac) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() {
                return None;
            }
            (t, mac)
        };
        let ticket: i64 = ticket.parse().ok().filter(|t| *t > 0)?;
        self.verify(&format!("ticket:{ticket}"), mac)
            .then_some(ticket)
    }

    /// `local+TICKET.MAC@domain` for the ticket's customers.
    pub fn ticket_address(&self, base: &str, delimiter: &str, ticket: i64) -> String {
        plus(
            base,
            delimiter,
            &format!("{ticket}.{}", self.ticket_mac(ticket)),
        )
    }

    /// `local+TICKET.MAC@domain` for one agent about the ticket.
    pub fn agent_address(&self, base: &str, delimiter: &str, ticket: i64, agent: &str) -> String {
        plus(
            base,
            delimiter,
            &format!("{ticket}.{}", self.agent_mac(ticket, agent)),
        )
    }

    /// The signed address that brings `approver`'s answer back to decision `decision`.
    pub fn approver_address(
        &self,
        base: &str,
        delimiter: &str,
        decision: i64,
        approver: &str,
    ) -> String {
        let mac = self.mac(&format!("approver:{decision}:{}", approver.to_lowercase()));
        plus(base, delimiter, &format!("a{decision}.{mac}"))
    }

    /// What a plus address of `base` was handed out for, if it is one of ours. `sender` is the
    /// mail's From address: an agent token only counts for the agent it was made for.
    pub fn address_token(
        &self,
        address: &str,
        base: &str,
        delimiter: &str,
        sender: &str,
    ) -> Option<AddressToken> {
        // Most mail goes to the plain address: turn it away before allocating anything.
        if !address.contains(delimiter) {
            return None;
        }
        let (base, address) = (base.to_lowercase(), address.to_lowercase());
        let (base_local, base_domain) = base.rsplit_once('@')?;
        let (local, domain) = address.rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(base_domain) {
            return None;
        }
        let detail = local
            .strip_prefix(base_local)?
            .strip_prefix(delimiter)?
            .to_ascii_lowercase();
        let (ticket, mac) = detail.split_once('.')?;
        if let Some(decision) = ticket.strip_prefix('a') {
            let decision: i64 = decision.parse().ok().filter(|d| *d > 0)?;
            let approver = sender.to_lowercase();
            return self
                .verify(&format!("approver:{decision}:{approver}"), mac)
                .then_some(AddressToken::Approver { decision, approver });
        }
        let ticket: i64 = ticket.parse().ok().filter(|t| *t > 0)?;
        if self.verify(&format!("ticket:{ticket}"), mac) {
            Some(AddressToken::Ticket(ticket))
        } else if self.verify(&format!("agent:{ticket}:{}", sender.to_lowercase()), mac) {
            Some(AddressToken::Agent {
                ticket,
                agent: sender.to_lowercase(),
            })
        } else {
            None
        }
    }
}

fn plus(base: &str, delimiter: &str, detail: &str) -> String {
    match base.rsplit_once('@') {
        Some((local, domain)) => format!("{local}{delimiter}{detail}@{domain}"),
        None => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_approver_address_counts_only_from_its_approver() {
        let k = Keys::new(b"0123456789abcdef0123");
        let a = k.approver_address("support@example.test", "+", 7, "Boss@Example.test");
        assert!(a.starts_with("support+a7."), "{a}");
        assert_eq!(
            k.address_token(&a, "support@example.test", "+", "boss@example.test"),
            Some(AddressToken::Approver {
                decision: 7,
                approver: "boss@example.test".into()
            })
        );
        assert_eq!(
            k.address_token(&a, "support@example.test", "+", "mallory@example.test"),
            None
        );
        let other = a.replace("+a7.", "+a8.");
        assert_eq!(
            k.address_token(&other, "support@example.test", "+", "boss@example.test"),
            None
        );
    }

    #[test]
    fn a_click_token_names_its_id_only_for_its_purpose_key_and_time() {
        let k = Keys::new(b"0123456789abcdef0123");
        let t = k.click_token("csat", 7, 1_000);
        assert_eq!(k.verify_click("csat", &t, 999), Ok(7));
        assert_eq!(k.verify_click("csat", &t, 1_001), Err(ClickError::Expired));
        assert_eq!(
            k.verify_click("approval", &t, 999),
            Err(ClickError::Invalid)
        );
        let other = Keys::new(b"another secret, not ours");
        assert_eq!(
            other.verify_click("csat", &t, 999),
            Err(ClickError::Invalid)
        );
        // Another id or a later expiry under the same MAC, a short MAC, junk: refused.
        let mac = t.rsplit('.').next().unwrap();
        for forged in [
            format!("8.1000.{mac}"),
            format!("7.9999.{mac}"),
            format!("7.1000.{}", &mac[..12]),
            "7.1000".to_string(),
            "".to_string(),
            "x.y.z".to_string(),
        ] {
            assert_eq!(
                k.verify_click("csat", &forged, 999),
                Err(ClickError::Invalid),
                "{forged}"
            );
        }
    }

    #[test]
    fn message_ids_name_their_ticket_only_with_our_key() {
        let k = Keys::new(b"0123456789abcdef0123");
        let id = k.message_id(Some(42), "example.test");
        assert_eq!(k.ticket_of_id(&id), Some(42));
        let self_ref = k.self_reference(42, "example.test");
        assert!(self_ref.starts_with("<ticket-42."), "{self_ref}");
        assert_eq!(k.ticket_of_id(&self_ref), Some(42));
        // A relay that rewrote the domain still threads.
        let moved = self_ref.replace("example.test", "eu-west-1.amazonses.com");
        assert_eq!(k.ticket_of_id(&moved), Some(42));
        // Another key, another ticket number, or a mangled MAC: nothing.
        let other = Keys::new(b"another secret, not ours");
        assert_eq!(other.ticket_of_id(&self_ref), None);
        assert_eq!(k.ticket_of_id(&self_ref.replace("-42.", "-43.")), None);
        for bad in [
            "<ticket-42.zz@example.test>",
            "<pd.0.1234@example.test>",
            "<yes>",
            "<ticket-42@x>",
            "",
        ] {
            assert_eq!(k.ticket_of_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn reply_addresses() {
        let k = Keys::new(b"0123456789abcdef0123");
        let base = "support@example.test";
        let customer = k.ticket_address(base, "+", 7);
        assert!(customer.starts_with("support+7."), "{customer}");
        assert_eq!(
            k.address_token(&customer, base, "+", "anyone@example.com"),
            Some(AddressToken::Ticket(7))
        );
        let agent = k.agent_address(base, "+", 7, "Alice@Example.test");
        assert_eq!(
            k.address_token(&agent.to_uppercase(), base, "+", "alice@example.test"),
            Some(AddressToken::Agent {
                ticket: 7,
                agent: "alice@example.test".into()
            })
        );
        // Someone else using Alice's address token is not Alice.
        assert_eq!(
            k.address_token(&agent, base, "+", "mallory@example.com"),
            None
        );
        assert_eq!(
            k.address_token("support@example.test", base, "+", "x@y"),
            None
        );
        assert_eq!(
            k.address_token(
                &customer.replace("example.test", "other.test"),
                base,
                "+",
                "x@y"
            ),
            None
        );
    }

    #[test]
    fn secret_file_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("var/secret");
        let a = Keys::load_or_create(&path).unwrap();
        let b = Keys::load_or_create(&path).unwrap();
        assert_eq!(
            a.self_reference(1, "d"),
            b.self_reference(1, "d"),
            "the second load must read the same secret"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "short").unwrap();
        assert!(Keys::load_or_create(&path)
            .unwrap_err()
            .contains("too short"));
    }
}
