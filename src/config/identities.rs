//! Several support addresses (`[[identities]]`): reading them, which one a ticket is
//! answered as, and which addresses each serves.

use super::*;

impl Identity {
    /// Whether mail to `address` (lower case) is mail to this identity: its address, or a plus
    /// address of it (a ticket's or an agent's reply address).
    pub fn serves(&self, address: &str) -> bool {
        address == self.address
            || match (address.rsplit_once('@'), self.address.rsplit_once('@')) {
                (Some((local, domain)), Some((own, own_domain))) => {
                    domain == own_domain
                        && local
                            .strip_prefix(own)
                            .is_some_and(|rest| rest.starts_with(self.plus_delimiter.as_str()))
                }
                _ => false,
            }
    }
}

impl Config {
    /// The `[[identities]]` entry a new ticket is answered as: the one whose address (or a plus
    /// address of it) the mail was sent to, else the mailbox's, else the queue's; `None` for the
    /// default identity.
    pub fn identity_for<'r>(
        &self,
        recipients: impl IntoIterator<Item = &'r str>,
        mailbox: &MailboxConfig,
        queue: &str,
    ) -> Option<String> {
        let recipients: Vec<&str> = recipients.into_iter().collect();
        self.identities
            .iter()
            .find(|(_, i)| recipients.iter().any(|r| i.serves(r)))
            .map(|(n, _)| n.clone())
            .or_else(|| mailbox.identity.clone())
            .or_else(|| {
                self.queues
                    .iter()
                    .find(|q| q.name == queue)
                    .and_then(|q| q.identity.clone())
            })
    }

    /// Every support address the desk answers as: the default identity first.
    pub fn all_identities(&self) -> impl Iterator<Item = &Identity> {
        std::iter::once(&self.identity).chain(self.identities.iter().map(|(_, i)| i))
    }

    /// The identity named `name` (`None`, or a name not configured: the default).
    pub fn identity_named(&self, name: Option<&str>) -> &Identity {
        name.and_then(|n| self.identities.iter().find(|(k, _)| k == n))
            .map_or(&self.identity, |(_, i)| i)
    }
}

impl Reader {
    /// `[[identities]]`: more support addresses, each a copy of `[identity]` with its own
    /// address, name and subject tag; the mailboxes' and queues' `identity` must name one.
    pub(super) fn identities(
        &mut self,
        top: &mut Section<'_>,
        default: Option<&Identity>,
        mailboxes: &[MailboxConfig],
        queues: &[QueueConfig],
    ) -> Vec<(String, Identity)> {
        let mut out: Vec<(String, Identity)> = Vec::new();
        for (i, t) in self
            .array_of_tables(top, "identities")
            .into_iter()
            .enumerate()
        {
            let mut s = Section::new(t, format!("identities[{i}]"));
            let name = self.required_string(&mut s, "name", "a name for the identity");
            let address = self
                .required_string(
                    &mut s,
                    "address",
                    "an email address such as \"billing@example.test\"",
                )
                .map(|a| a.to_lowercase());
            if let Some(a) = &address {
                if !a.contains('@') || a.contains(char::is_whitespace) {
                    self.problem(
                        s.key("address"),
                        format!("expected an email address, found \"{a}\""),
                    );
                }
            }
            let display = self.string(&mut s, "display_name", "a display name");
            let tag = self.string(&mut s, "subject_tag", "a short word such as \"Billing\"");
            let templates_dir = self
                .string(
                    &mut s,
                    "templates_dir",
                    "a directory of NAME.txt.hbs / NAME.html.hbs overrides",
                )
                .map(PathBuf::from);
            if let Some(d) = templates_dir.as_ref().filter(|d| !d.is_dir()) {
                self.problem(
                    s.key("templates_dir"),
                    format!("{} is not a directory", d.display()),
                );
            }
            if tag
                .as_deref()
                .is_some_and(|t| t.is_empty() || t.contains(['[', ']', '#', '\r', '\n']))
            {
                self.problem(
                    s.key("subject_tag"),
                    "expected a short word without [, ], # or line breaks",
                );
            }
            self.unknown_keys(&s);
            if let (Some(name), Some(address), Some(d)) = (name, address, default) {
                if out.iter().any(|(n, _)| *n == name) {
                    self.problem(
                        s.key("name"),
                        format!("the identity '{name}' is defined twice"),
                    );
                }
                let identity = Identity {
                    name: crate::mail::parse::one_line(display.as_deref().unwrap_or(&name)),
                    subject_tag: tag.unwrap_or_else(|| d.subject_tag.clone()),
                    address,
                    templates_dir,
                    ..d.clone()
                };
                out.push((name, identity));
            }
        }
        let named = |n: &str| out.iter().any(|(k, _)| k == n);
        let mut unknown = Vec::new();
        for (i, m) in mailboxes.iter().enumerate() {
            if let Some(n) = m.identity.as_deref().filter(|n| !named(n)) {
                unknown.push((format!("mailboxes[{i}].identity"), n.to_string()));
            }
        }
        for (i, q) in queues.iter().enumerate() {
            if let Some(n) = q.identity.as_deref().filter(|n| !named(n)) {
                unknown.push((format!("queues[{i}].identity"), n.to_string()));
            }
        }
        for (key, n) in unknown {
            self.problem(
                key,
                format!("names the identity '{n}', which no [[identities]] entry defines"),
            );
        }
        out
    }
}
