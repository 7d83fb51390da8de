//! Full-text search, the pure half: words are cut out of text (Unicode letters and digits),
//! lower-cased and stemmed with the Snowball stemmers of English and German, both, so that a
//! German word finds its German forms and an English one its English forms without knowing the
//! language. The index holds the stems ([`stems`]); a query becomes, for each of its words, "one
//! of its stems" and all its words together ([`Query`]), written for FTS5 or for `to_tsquery`
//! from stems alone: whatever the query holds (quotes, operators, another script), nothing of it
//! reaches the database's query syntax but letters and digits. [`snippet`] picks the piece of a
//! text around the first word that matched.

use rust_stemmers::{Algorithm, Stemmer};

/// The longest word indexed (longer runs are not words: ids, base64).
const MAX_WORD: usize = 40;

/// The words of `text`: runs of letters and digits, lower-cased, 2 to 40 characters.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| {
            let n = w.chars().count();
            (2..=MAX_WORD).contains(&n)
        })
        .map(str::to_lowercase)
}

struct Stemmers {
    en: Stemmer,
    de: Stemmer,
}

fn stemmers() -> &'static Stemmers {
    static S: std::sync::OnceLock<Stemmers> = std::sync::OnceLock::new();
    S.get_or_init(|| Stemmers {
        en: Stemmer::create(Algorithm::English),
        de: Stemmer::create(Algorithm::German),
    })
}

/// A word's stems: English and German (one when they agree).
pub fn word_stems(word: &str) -> Vec<String> {
    let s = stemmers();
    let en = s.en.stem(word).into_owned();
    let de = s.de.stem(word).into_owned();
    let mut v = vec![en];
    if de != v[0] {
        v.push(de);
    }
    // (a stemmer may leave a character that is not a letter or digit: never in the index)
    v.retain(|s| !s.is_empty() && s.chars().all(char::is_alphanumeric));
    v
}

/// How many words' stems a thread keeps (mail repeats its words: most are stemmed once).
const CACHED_WORDS: usize = 100_000;

/// FNV-1a: the cache's keys are short words, for which it is several times faster than the
/// standard library's SipHash (no key here comes from a party that could choose collisions to
/// any effect but a slower cache).
#[derive(Default, Clone, Copy)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf29ce484222325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x100000001b3);
        }
        self.0 = h;
    }
}

type FnvMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// A thread's stems of the words it met: each word's stems as numbers of a table of stems, so
/// that a text's stems are told apart from those it already gave by a mark, not a set of
/// strings.
#[derive(Default)]
struct StemCache {
    words: FnvMap<String, Vec<u32>>,
    ids: FnvMap<String, u32>,
    stems: Vec<String>,
    /// For each stem, the text that gave it last (the value of `text` then).
    mark: Vec<u32>,
    text: u32,
}

impl StemCache {
    /// Stems `word` unless it was met before.
    fn learn(&mut self, word: &str) {
        if !self.words.contains_key(word) {
            let mut v = Vec::with_capacity(2);
            for s in word_stems(word) {
                let next = self.stems.len() as u32;
                let id = *self.ids.entry(s.clone()).or_insert(next);
                if id == next {
                    self.stems.push(s);
                    self.mark.push(0);
                }
                v.push(id);
            }
            self.words.insert(word.to_string(), v);
        }
    }
}

thread_local! {
    static STEMS: std::cell::RefCell<StemCache> = Default::default();
}

/// What the index holds for `text`: the stems of its words, space-separated, each once.
pub fn stems(text: &str) -> String {
    STEMS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.words.len() >= CACHED_WORDS || cache.text == u32::MAX {
            *cache = StemCache::default();
        }
        cache.text += 1;
        let text_no = cache.text;
        let mut out = String::with_capacity(text.len() / 2);
        let mut lower = String::new();
        for w in text.split(|c: char| !c.is_alphanumeric()) {
            if w.len() < 2 || !(2..=MAX_WORD).contains(&w.chars().count()) {
                continue;
            }
            let word = if w.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
                lower.clear();
                lower.push_str(&w.to_lowercase());
                lower.as_str()
            } else {
                w
            };
            cache.learn(word);
            let c = &mut *cache;
            for &id in &c.words[word] {
                let i = id as usize;
                if c.mark[i] != text_no {
                    c.mark[i] = text_no;
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push_str(&c.stems[i]);
                }
            }
        }
        out
    })
}

/// A query: for each word, its stems (a document matches when it has one of each word's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub terms: Vec<Vec<String>>,
}

impl Query {
    /// The query `text` (at most 16 words; a query of no words matches nothing).
    pub fn parse(text: &str) -> Query {
        let mut terms: Vec<Vec<String>> = Vec::new();
        for w in words(text).take(16) {
            let s = word_stems(&w);
            if !s.is_empty() && !terms.contains(&s) {
                terms.push(s);
            }
        }
        Query { terms }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// An FTS5 MATCH expression: `("a" OR "b") AND ("c")`, every stem a quoted string.
    pub fn fts5(&self) -> String {
        self.terms
            .iter()
            .map(|alts| {
                let alts: Vec<String> = alts.iter().map(|s| format!("\"{s}\"")).collect();
                format!("({})", alts.join(" OR "))
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// A `to_tsquery('simple', ...)` expression: `(a | b) & (c)`.
    pub fn tsquery(&self) -> String {
        self.terms
            .iter()
            .map(|alts| format!("({})", alts.join(" | ")))
            .collect::<Vec<_>>()
            .join(" & ")
    }

    /// Whether `word` (as [`words`] gives it) is one the query asks for.
    fn hits(&self, word: &str) -> bool {
        let stems = word_stems(word);
        self.terms
            .iter()
            .any(|alts| alts.iter().any(|a| stems.contains(a)))
    }
}

/// About `width` words of `text` around the first word the query asks for (the beginning when
/// none does), on one line, with "…" where it was cut.
pub fn snippet(text: &str, q: &Query, width: usize) -> String {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let at = tokens
        .iter()
        .position(|t| words(t).any(|w| q.hits(&w)))
        .unwrap_or(0);
    let start = at.saturating_sub(width / 3);
    let end = (start + width).min(tokens.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.push_str(&tokens[start..end].join(" "));
    if end < tokens.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_and_german_forms_meet_in_their_stems() {
        let index = stems("The printers were printing; die Drucker druckten nicht.");
        for q in ["printer", "printed", "Drucker", "drucken"] {
            let query = Query::parse(q);
            assert!(
                query.terms[0]
                    .iter()
                    .any(|s| index.split(' ').any(|i| i == s)),
                "{q}: {query:?} not in {index}"
            );
        }
        assert!(!Query::parse("scanner").terms[0]
            .iter()
            .any(|s| index.split(' ').any(|i| i == s)));
    }

    #[test]
    fn stems_are_the_stems_of_each_word_once_in_order() {
        let text = "Printers PRINTING printed; Die Drucker drückten NICHT. ΟΔΟΣ οδός x a1 \
                    Printers again, and a word far too long to be one: abcdefghijabcdefghijabcdefghijabcdefghijabc";
        let mut want: Vec<String> = Vec::new();
        for w in words(text) {
            for s in word_stems(&w) {
                if !want.contains(&s) {
                    want.push(s);
                }
            }
        }
        // (twice: the second time from the thread's cache)
        for _ in 0..2 {
            assert_eq!(stems(text), want.join(" "));
        }
        assert!(!stems(text).contains("abcdefghij"));
    }

    #[test]
    fn query_syntax_never_reaches_the_database() {
        for q in [
            "\"printer\" OR *",
            "NEAR(a b) -c ^d",
            "a:b & c | !d <-> e",
            "'; DROP TABLE tickets; --",
            "принтер не работает",
            "打印机",
            "C++ (x",
        ] {
            let parsed = Query::parse(q);
            for stem in parsed.terms.iter().flatten() {
                assert!(stem.chars().all(char::is_alphanumeric), "{q}: {stem}");
            }
            let f = parsed.fts5();
            assert!(
                !f.contains('*') && !f.contains(':') && !f.contains('^'),
                "{f}"
            );
            let t = parsed.tsquery();
            assert!(
                !t.contains('!') && !t.contains(':') && !t.contains('\''),
                "{t}"
            );
        }
        assert_eq!(
            Query::parse("принтер").terms.len(),
            1,
            "another script is words too"
        );
        assert!(Query::parse("* - ( )").is_empty());
    }

    #[test]
    fn expressions() {
        let q = Query::parse("printer jammed");
        assert_eq!(
            q.fts5(),
            "(\"printer\" OR \"print\") AND (\"jam\" OR \"jammed\")"
        );
        assert_eq!(q.tsquery(), "(printer | print) & (jam | jammed)");
    }

    #[test]
    fn snippets_show_the_first_hit() {
        let text = "Hello, we had a long week. On Monday the printer on floor 2 jammed again and nobody could print anything at all.";
        let s = snippet(text, &Query::parse("jammed"), 8);
        assert!(s.contains("jammed"), "{s}");
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert_eq!(
            snippet("short text", &Query::parse("none"), 8),
            "short text"
        );
    }
}
