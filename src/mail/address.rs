//! The address part of each mailbox in an address header, read by RFC 5322 including its
//! obsolete forms (§4.4), where mail-parser loses or mangles them: a quoted local part
//! (`"john doe"@example.com`), a UUCP bang path with no `@` (`relay!host!user`), a route
//! (`<@a,@b:user@host>`: the route is dropped, as §4.4 says), `user@host@relay`, white space
//! and comments around `@` and `.` (`joe @ example . com (Joe)`). Each address is kept as written
//! apart from the white space and comments; the caller lower-cases it for comparing (the domain
//! is case-insensitive; postdesk treats the local part the same way, as mail providers do).

/// One mailbox as read: the address as written (`None` for a display name alone) and the text
/// of its comments (a name, in the old `addr (Name)` form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub address: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    /// An atom or a dot-atom run, or one of the specials `@ . ! %`.
    Word(String),
    /// A quoted string, with its quotes and escapes as written.
    Quoted(String),
    Comment(String),
    Angle(String),
    Comma,
    Colon,
    Semicolon,
    Space,
}

fn tokens(raw: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut q = String::from('"');
                while let Some(c) = chars.next() {
                    q.push(c);
                    match c {
                        '\\' => q.extend(chars.next()),
                        '"' => break,
                        _ => {}
                    }
                }
                out.push(Token::Quoted(q));
            }
            '(' => {
                let (mut depth, mut text) = (1, String::new());
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => text.extend(chars.next()),
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => text.push(c),
                    }
                }
                out.push(Token::Comment(text.trim().to_string()));
            }
            '<' => {
                let mut inner = String::new();
                for c in chars.by_ref() {
                    if c == '>' {
                        break;
                    }
                    inner.push(c);
                }
                out.push(Token::Angle(inner));
            }
            ',' => out.push(Token::Comma),
            ':' => out.push(Token::Colon),
            ';' => out.push(Token::Semicolon),
            c if c.is_whitespace() => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                out.push(Token::Space);
            }
            c => {
                let mut w = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || "\"(<>,:;".contains(n) {
                        break;
                    }
                    w.push(n);
                    chars.next();
                }
                out.push(Token::Word(w));
            }
        }
    }
    out
}

/// An addr-spec from its tokens: words and quoted strings joined, white space and comments
/// dropped; `None` when it cannot be an address (no `@` and no `!`, or white space between two
/// words that no `@` or `.` joins: a display name).
fn addr_spec(tokens: &[&Token]) -> Option<String> {
    let mut out = String::new();
    let mut pending_space = false;
    for t in tokens {
        match t {
            Token::Word(w) | Token::Quoted(w) => {
                let joins = out.ends_with(['@', '.']) || w.starts_with(['@', '.']);
                if pending_space && !out.is_empty() && !joins {
                    return None;
                }
                out.push_str(w);
                pending_space = false;
            }
            Token::Space | Token::Comment(_) => pending_space = true,
            _ => return None,
        }
    }
    let local_end = out.rfind('@').unwrap_or(out.len());
    let useful = out.contains('@') && local_end > 0 && local_end + 1 < out.len()
        || !out.contains('@') && out.contains('!') && !out.starts_with('!') && !out.ends_with('!');
    useful.then_some(out)
}

/// The inside of `<...>`: the addr-spec without its obsolete route, white space and comments.
fn angle_addr(inner: &str) -> Option<String> {
    let inner = inner.trim();
    let spec = match inner.strip_prefix('@') {
        Some(_) => inner.rsplit_once(':').map_or(inner, |(_, s)| s),
        None => inner,
    };
    let toks = tokens(spec);
    addr_spec(&toks.iter().collect::<Vec<_>>())
}

/// The mailboxes of an address header's raw value, in order (groups opened up).
pub fn mailboxes(raw: &str) -> Vec<Mailbox> {
    let toks = tokens(raw);
    let mut out = Vec::new();
    let mut current: Vec<&Token> = Vec::new();
    let flush = |current: &mut Vec<&Token>, out: &mut Vec<Mailbox>| {
        if current.iter().all(|t| matches!(t, Token::Space)) {
            current.clear();
            return;
        }
        let comment: Vec<&str> = current
            .iter()
            .filter_map(|t| match t {
                Token::Comment(c) if !c.is_empty() => Some(c.as_str()),
                _ => None,
            })
            .collect();
        let address = match current.iter().find_map(|t| match t {
            Token::Angle(a) => Some(a),
            _ => None,
        }) {
            Some(inner) => angle_addr(inner),
            None => addr_spec(current),
        };
        out.push(Mailbox {
            address,
            comment: (!comment.is_empty()).then(|| comment.join(" ")),
        });
        current.clear();
    };
    for t in &toks {
        match t {
            Token::Comma | Token::Semicolon => flush(&mut current, &mut out),
            // A group's name ends at its colon (a route's colon is inside the angle brackets).
            Token::Colon => current.clear(),
            t => current.push(t),
        }
    }
    flush(&mut current, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obsolete_and_unusual_forms_keep_their_address() {
        let cases: &[(&str, &[Option<&str>])] = &[
            (
                "user@host@relay.example",
                &[Some("user@host@relay.example")],
            ),
            ("relay!host!User", &[Some("relay!host!User")]),
            ("Joe <relay!host!joe>", &[Some("relay!host!joe")]),
            (
                "<@a.example,@b.example:User@Host.Example>",
                &[Some("User@Host.Example")],
            ),
            (
                "Joe <@a.example:joe@host.example>",
                &[Some("joe@host.example")],
            ),
            (
                "\"john doe\"@Example.COM",
                &[Some("\"john doe\"@Example.COM")],
            ),
            ("\"a\\\"b\"@example.com", &[Some("\"a\\\"b\"@example.com")]),
            (
                "\"John Doe\" <\"john doe\"@example.com>",
                &[Some("\"john doe\"@example.com")],
            ),
            (
                "John.Smith@Example.COM (John Smith)",
                &[Some("John.Smith@Example.COM")],
            ),
            ("joe @ example . com", &[Some("joe@example.com")]),
            ("joe(home) @ (x) example.com", &[Some("joe@example.com")]),
            ("Mary Smith <mary@[192.0.2.1]>", &[Some("mary@[192.0.2.1]")]),
            ("Only A Name", &[None]),
            ("\"Name\" <>", &[None]),
            (
                "a@b.example, \"x, y\" <c@d.example>",
                &[Some("a@b.example"), Some("c@d.example")],
            ),
            (
                "team: a@b.example, c@d.example;, e@f.example",
                &[
                    Some("a@b.example"),
                    Some("c@d.example"),
                    Some("e@f.example"),
                ],
            ),
            ("", &[]),
            ("user@", &[None]),
            ("@host", &[None]),
        ];
        for (raw, want) in cases {
            let got: Vec<Option<String>> = mailboxes(raw).into_iter().map(|m| m.address).collect();
            let want: Vec<Option<String>> = want.iter().map(|w| w.map(String::from)).collect();
            assert_eq!(got, want, "{raw}");
        }
    }

    #[test]
    fn comments_are_the_old_form_of_a_name() {
        assert_eq!(
            mailboxes("jane@example.com (Jane Roe)")[0]
                .comment
                .as_deref(),
            Some("Jane Roe")
        );
        assert_eq!(mailboxes("Jane <jane@example.com>")[0].comment, None);
    }

    #[test]
    fn anything_is_read_without_panicking() {
        for raw in [
            "<", "\"", "(", "((a)", "\\", "<@:>", ":::;;;", "a@b@", "!", "\"\\",
        ] {
            let _ = mailboxes(raw);
        }
    }
}
