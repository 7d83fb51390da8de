//! Knowledge articles: answers written once and sent by `#reply NAME`. Files `NAME.md` in
//! `[knowledge] dir` (first line `# Title`, then the text; handlebars values such as
//! `{{customer.name}}` and `{{ticket.ref}}` allowed), read and tried at start like the
//! templates, and articles agents save by mail (`#kb save NAME`, kept in the database). A
//! saved article of the same name as a file is shown over it.

pub mod suggest;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use handlebars::Handlebars;
use serde::Serialize;

/// One article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Article {
    pub name: String,
    pub title: String,
    /// The text below the title (a handlebars template).
    pub body: String,
    /// `file` or `saved`.
    pub source: &'static str,
    /// The file it came from, or who saved it.
    pub origin: String,
    /// When it was saved (ms), for saved ones.
    pub updated_at: Option<i64>,
    /// The line of the file the body starts on (for messages about it).
    #[serde(skip)]
    pub first_line: usize,
}

/// Errors at the knowledge boundary: the file (or saved article), the line and what is wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{origin}: line {line}: {message}")]
pub struct KnowledgeError {
    pub origin: String,
    pub line: usize,
    pub message: String,
}

/// Whether `name` may name an article: lower-case letters, digits, `-`, `_` and `.`, not
/// starting with a dot.
pub fn is_article_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

/// Splits an article's text into its title (the first line, `# Title`) and its body; the
/// body's first line number.
pub fn parse(text: &str) -> Result<(String, String, usize), String> {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let title = first
        .strip_prefix("# ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            format!("the first line must be the title, as '# Title'; found '{first}'")
        })?;
    let mut start = 2;
    let mut rest: Vec<&str> = lines.collect();
    while rest.first().is_some_and(|l| l.trim().is_empty()) {
        rest.remove(0);
        start += 1;
    }
    while rest.last().is_some_and(|l| l.trim().is_empty()) {
        rest.pop();
    }
    Ok((title.to_string(), rest.join("\n"), start))
}

/// Renders an article's body with `ctx` in strict mode (an unknown value is an error naming
/// it and its line in the article). Values are not escaped: the result is plain text.
pub fn render(article: &Article, ctx: &impl Serialize) -> Result<String, KnowledgeError> {
    let err = |line: Option<usize>, message: String| KnowledgeError {
        origin: article.origin.clone(),
        line: article.first_line + line.unwrap_or(1) - 1,
        message,
    };
    let mut h = Handlebars::new();
    h.set_strict_mode(true);
    h.register_escape_fn(handlebars::no_escape);
    h.register_template_string("a", &article.body)
        .map_err(|e| err(e.pos().map(|(line, _)| line), e.reason().to_string()))?;
    h.render("a", ctx).map_err(|e| {
        let message = match e.reason() {
            handlebars::RenderErrorReason::MissingVariable(Some(v)) => {
                format!("unknown value '{v}' (known: customer, ticket, agent, identity)")
            }
            r => r.to_string(),
        };
        err(e.line_no, message)
    })
}

/// The articles of `[knowledge] dir`, each parsed and tried with a sample of what `#reply`
/// gives it: the first problem names the file, the line and the value.
#[derive(Debug, Default)]
pub struct Library {
    pub files: BTreeMap<String, Article>,
    /// `dir/LANG/NAME.md`: an article in another language, by language and name.
    pub translations: BTreeMap<String, BTreeMap<String, Article>>,
}

impl Library {
    pub fn load(dir: Option<&Path>) -> Result<Library, KnowledgeError> {
        let Some(dir) = dir else {
            return Ok(Library::default());
        };
        let mut lib = Library {
            files: Self::load_one(dir)?,
            translations: BTreeMap::new(),
        };
        for lang in &crate::ticket::language::LANGUAGES[1..] {
            let sub = dir.join(lang);
            if sub.is_dir() {
                lib.translations
                    .insert(lang.to_string(), Self::load_one(&sub)?);
            }
        }
        Ok(lib)
    }

    /// The files as a customer writing `lang` reads them: each in that language where it is
    /// translated, else as written.
    pub fn in_language(&self, lang: Option<&str>) -> BTreeMap<String, Article> {
        let mut out = self.files.clone();
        if let Some(t) = lang.and_then(|l| self.translations.get(l)) {
            for (name, a) in t {
                out.insert(name.clone(), a.clone());
            }
        }
        out
    }

    fn load_one(dir: &Path) -> Result<BTreeMap<String, Article>, KnowledgeError> {
        let problem = |origin: &Path, line, message: String| KnowledgeError {
            origin: origin.display().to_string(),
            line,
            message,
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| problem(dir, 0, format!("cannot read the directory: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .collect();
        paths.sort();
        let mut files = BTreeMap::new();
        for path in paths {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            if !is_article_name(&name) {
                return Err(problem(
                    &path,
                    0,
                    "the file name is not an article name (lower-case letters, digits, - _ .)"
                        .into(),
                ));
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| problem(&path, 0, format!("cannot read it: {e}")))?;
            let (title, body, first_line) = parse(&text).map_err(|m| problem(&path, 1, m))?;
            let article = Article {
                name: name.clone(),
                title,
                body,
                source: "file",
                origin: path.display().to_string(),
                updated_at: None,
                first_line,
            };
            render(&article, &crate::templates::sample("article"))?;
            files.insert(name, article);
        }
        Ok(files)
    }
}

/// The names among `names` closest to `wanted` (by edit distance, at most three, only those
/// near enough to be a slip), for "did you mean".
pub fn closest<'a>(wanted: &str, names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut scored: Vec<(usize, &str)> = names
        .into_iter()
        .map(|n| (distance(wanted, n), n))
        .filter(|(d, n)| *d <= (n.len().max(wanted.len()) / 2).max(2) || n.contains(wanted))
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

/// Why `name` is not among `names` (those there are), with the closest ones.
pub fn missing<'a>(name: &str, names: impl IntoIterator<Item = &'a str> + Clone) -> String {
    let near = closest(name, names.clone());
    match near.as_slice() {
        [] if names.into_iter().next().is_none() => {
            format!("there is no article '{name}' (there are no articles yet)")
        }
        [] => format!("there is no article '{name}'"),
        near => format!(
            "there is no article '{name}'; the closest: {}",
            near.join(", ")
        ),
    }
}

/// The text an article is indexed by: its title, then its body.
pub fn index_text(title: &str, body: &str) -> String {
    format!("{title}\n{body}")
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_bodies() {
        let (t, b, first) =
            parse("# Reset your VPN\n\n\nHello {{customer.display}},\nstep 1\n\n").unwrap();
        assert_eq!(t, "Reset your VPN");
        assert_eq!(b, "Hello {{customer.display}},\nstep 1");
        assert_eq!(first, 4);
        for bad in ["Reset your VPN\nbody", "#Reset", "# \nbody", ""] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names() {
        for ok in ["vpn-reset", "printer_2", "faq.wifi"] {
            assert!(is_article_name(ok), "{ok}");
        }
        for bad in ["", ".hidden", "VPN", "a b", "../etc", "x/y"] {
            assert!(!is_article_name(bad), "{bad}");
        }
    }

    #[test]
    fn closest_names_for_a_slip() {
        let names = ["vpn-reset", "printer-jam", "password-reset", "wifi"];
        assert_eq!(closest("vpn-rest", names)[0], "vpn-reset");
        assert_eq!(closest("pasword-reset", names)[0], "password-reset");
        assert_eq!(closest("reset", names), vec!["vpn-reset", "password-reset"]);
        assert!(closest("quantum-physics", names).is_empty());
    }

    #[test]
    fn rendering_names_the_unknown_value_and_its_line() {
        let a = Article {
            name: "x".into(),
            title: "X".into(),
            body: "Hello {{customer.display}},\n\nyour {{ticket.nmbr}} & more".into(),
            source: "file",
            origin: "knowledge/x.md".into(),
            updated_at: None,
            first_line: 3,
        };
        let e = render(&a, &crate::templates::sample("article")).unwrap_err();
        assert_eq!(e.line, 5, "{e}");
        assert!(e.to_string().contains("ticket.nmbr"), "{e}");
        assert!(e.to_string().starts_with("knowledge/x.md: line 5"), "{e}");
        let ok = Article {
            body: "Hello {{customer.display}} & {{ticket.ref}}".into(),
            ..a
        };
        let text = render(&ok, &crate::templates::sample("article")).unwrap();
        assert!(text.contains("& [Support #42]"), "not escaped: {text}");
    }
}
