//! The reader of the config's TOML: typed values with the expected form named in every
//! problem, unknown keys refused, each problem recorded with its file and key.

use super::*;

/// Walks a raw table, collecting problems.
pub(super) struct Reader {
    pub(super) problems: Vec<ConfigProblem>,
    /// The OAuth2 sign-ins read so far: a mailbox and the transport that name the same
    /// refresh_token_file share one (two would each use, and rotate, the one refresh token).
    pub(super) token_sources: Vec<std::sync::Arc<crate::oauth::TokenSource>>,
}

/// The keys of one table being read, to report unknown ones.
pub(super) struct Section<'a> {
    pub(super) table: &'a Table,
    pub(super) path: String,
    pub(super) known: Vec<&'static str>,
}

impl<'a> Section<'a> {
    pub(super) fn new(table: &'a Table, path: impl Into<String>) -> Self {
        Section {
            table,
            path: path.into(),
            known: Vec::new(),
        }
    }

    pub(super) fn key(&self, k: &str) -> String {
        if self.path.is_empty() {
            k.to_string()
        } else {
            format!("{}.{k}", self.path)
        }
    }
}

impl Reader {
    pub(super) fn problem(&mut self, key: String, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            key,
            message: message.into(),
        });
    }

    pub(super) fn get<'a>(&mut self, s: &mut Section<'a>, k: &'static str) -> Option<&'a Value> {
        s.known.push(k);
        s.table.get(k)
    }

    pub(super) fn string(
        &mut self,
        s: &mut Section<'_>,
        k: &'static str,
        expected: &str,
    ) -> Option<String> {
        match self.get(s, k) {
            None => None,
            Some(Value::String(v)) => Some(v.clone()),
            Some(v) => {
                self.problem(
                    s.key(k),
                    format!("expected {expected}, found {}", type_name(v)),
                );
                None
            }
        }
    }

    pub(super) fn required_string(
        &mut self,
        s: &mut Section<'_>,
        k: &'static str,
        expected: &str,
    ) -> Option<String> {
        let v = self.string(s, k, expected);
        match v {
            Some(v) if v.trim().is_empty() => {
                self.problem(
                    s.key(k),
                    format!("expected {expected}, found an empty string"),
                );
                None
            }
            None if !s.table.contains_key(k) => {
                self.problem(s.key(k), format!("missing; expected {expected}"));
                None
            }
            v => v,
        }
    }

    pub(super) fn bool(&mut self, s: &mut Section<'_>, k: &'static str, default: bool) -> bool {
        match self.get(s, k) {
            None => default,
            Some(Value::Boolean(b)) => *b,
            Some(v) => {
                self.problem(
                    s.key(k),
                    format!("expected true or false, found {}", type_name(v)),
                );
                default
            }
        }
    }

    pub(super) fn port(&mut self, s: &mut Section<'_>, k: &'static str, default: u16) -> u16 {
        match self.get(s, k) {
            None => default,
            Some(Value::Integer(i)) if (1..=65535).contains(i) => *i as u16,
            Some(v) => {
                self.problem(
                    s.key(k),
                    format!(
                        "expected a port number from 1 to 65535, found {}",
                        type_name(v)
                    ),
                );
                default
            }
        }
    }

    pub(super) fn duration(
        &mut self,
        s: &mut Section<'_>,
        k: &'static str,
        default: Duration,
    ) -> Duration {
        match self.string(s, k, "a duration such as \"30s\", \"4h\" or \"2d\"") {
            None => default,
            Some(text) => match parse_duration(&text) {
                Ok(d) => d,
                Err(e) => {
                    self.problem(
                        s.key(k),
                        format!("expected a duration such as \"30s\", \"4h\" or \"2d\": {e}"),
                    );
                    default
                }
            },
        }
    }

    pub(super) fn size(&mut self, s: &mut Section<'_>, k: &'static str, default: usize) -> usize {
        match self.get(s, k) {
            None => default,
            Some(Value::Integer(i)) if *i > 0 => *i as usize,
            Some(Value::String(text)) => match parse_size(text) {
                Ok(n) if n > 0 => n,
                Ok(_) => {
                    self.problem(s.key(k), "expected a size above zero");
                    default
                }
                Err(e) => {
                    self.problem(s.key(k), format!("expected a size such as \"25MB\": {e}"));
                    default
                }
            },
            Some(v) => {
                self.problem(
                    s.key(k),
                    format!(
                        "expected a size such as \"25MB\" or a number of bytes, found {}",
                        type_name(v)
                    ),
                );
                default
            }
        }
    }

    pub(super) fn count(&mut self, s: &mut Section<'_>, k: &'static str, default: u32) -> u32 {
        match self.get(s, k) {
            None => default,
            Some(Value::Integer(i)) if (1..=i64::from(u32::MAX)).contains(i) => *i as u32,
            Some(v) => {
                self.problem(
                    s.key(k),
                    format!("expected a whole number above zero, found {}", type_name(v)),
                );
                default
            }
        }
    }

    pub(super) fn string_list(&mut self, s: &mut Section<'_>, k: &'static str) -> Vec<String> {
        match self.get(s, k) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(v) => out.push(v.clone()),
                        v => self.problem(
                            format!("{}[{i}]", s.key(k)),
                            format!("expected a string, found {}", type_name(v)),
                        ),
                    }
                }
                out
            }
            Some(v) => {
                self.problem(
                    s.key(k),
                    format!("expected an array of strings, found {}", type_name(v)),
                );
                Vec::new()
            }
        }
    }

    pub(super) fn tls(&mut self, s: &mut Section<'_>, host: &str) -> Tls {
        let tls = match self
            .string(s, "tls", "\"tls\", \"starttls\" or \"none\"")
            .as_deref()
        {
            None | Some("tls") => Tls::Tls,
            Some("starttls") => Tls::StartTls,
            Some("none") => Tls::None,
            Some(other) => {
                self.problem(
                    s.key("tls"),
                    format!("expected \"tls\", \"starttls\" or \"none\", found \"{other}\""),
                );
                Tls::Tls
            }
        };
        if tls == Tls::None && !host.is_empty() && !is_loopback(host) {
            self.problem(
                s.key("tls"),
                format!("\"none\" sends passwords and mail in clear text; it is only allowed to loopback addresses, not to '{host}' (use \"tls\" or \"starttls\")"),
            );
        }
        tls
    }

    /// `password`, `password_file` or `password_env`: at most one of them.
    pub(super) fn secret(&mut self, s: &mut Section<'_>) -> Option<Secret> {
        let inline = self.string(s, "password", "a string");
        let file = self.string(s, "password_file", "a path to a file holding the password");
        let env = self.string(s, "password_env", "the name of an environment variable");
        let given = [inline.is_some(), file.is_some(), env.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if given > 1 {
            self.problem(
                s.key("password"),
                "give only one of password, password_file and password_env",
            );
            return None;
        }
        if let Some(p) = inline {
            return Some(Secret::new(p));
        }
        if let Some(f) = file.map(|f| credential_path(&f)) {
            return match read_secret(&f).and_then(|b| {
                String::from_utf8(b).map_err(|_| std::io::Error::other("not UTF-8 text"))
            }) {
                Ok(p) => Some(Secret::new(p.trim_end_matches(['\r', '\n']).to_string())),
                Err(e) => {
                    self.problem(
                        s.key("password_file"),
                        format!("expected a readable file, but '{f}' cannot be read: {e}"),
                    );
                    None
                }
            };
        }
        if let Some(var) = env {
            return match std::env::var(&var) {
                Ok(p) => Some(Secret::new(p)),
                Err(_) => {
                    self.problem(
                        s.key("password_env"),
                        format!("expected the environment variable {var} to be set"),
                    );
                    None
                }
            };
        }
        None
    }

    pub(super) fn table<'a>(
        &mut self,
        parent: &mut Section<'a>,
        k: &'static str,
        required: bool,
    ) -> Option<&'a Table> {
        match self.get(parent, k) {
            Some(Value::Table(t)) => Some(t),
            Some(v) => {
                self.problem(
                    parent.key(k),
                    format!("expected a table [{k}], found {}", type_name(v)),
                );
                None
            }
            None => {
                if required {
                    self.problem(parent.key(k), format!("missing; expected a [{k}] table"));
                }
                None
            }
        }
    }

    pub(super) fn array_of_tables<'a>(
        &mut self,
        parent: &mut Section<'a>,
        k: &'static str,
    ) -> Vec<&'a Table> {
        match self.get(parent, k) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::Table(t) => out.push(t),
                        v => self.problem(
                            format!("{}[{i}]", parent.key(k)),
                            format!("expected a table [[{k}]], found {}", type_name(v)),
                        ),
                    }
                }
                out
            }
            Some(v) => {
                self.problem(
                    parent.key(k),
                    format!(
                        "expected an array of tables [[{k}]], found {}",
                        type_name(v)
                    ),
                );
                Vec::new()
            }
        }
    }

    pub(super) fn unknown_keys(&mut self, s: &Section<'_>) {
        for k in s.table.keys() {
            if !s.known.contains(&k.as_str()) {
                let mut known = s.known.clone();
                known.sort_unstable();
                known.dedup();
                self.problem(
                    s.key(k),
                    format!("unknown key (expected one of: {})", known.join(", ")),
                );
            }
        }
    }
}
