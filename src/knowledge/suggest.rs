//! Articles offered in the acknowledgement (`[knowledge] suggest`), without I/O: each article
//! and the new mail become TF-IDF vectors over the stems of their words (the same English and
//! German stems the search index uses, common words left out), and an article is offered when
//! the cosine of the two passes the threshold. The same on both backends, and the figures of
//! the labelled set in tests/fixtures/suggest are measured by a test here.

use std::collections::HashMap;

use super::Article;

/// The threshold the labelled set was measured at (`[knowledge] suggest_threshold`).
pub const DEFAULT_THRESHOLD: f64 = 0.25;

/// Words too common to say what a mail is about (English, German, French), and the words of
/// the article template itself.
const STOP: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "anymore", "are",
    "as", "at", "be", "because", "been", "before", "but", "by", "can", "cannot", "could", "did",
    "do", "does", "doesn", "don", "for", "from", "get", "got", "had", "has", "have", "he", "hello",
    "help", "her", "hi", "how", "i", "if", "in", "into", "is", "it", "its", "just", "me", "my",
    "no", "not", "now", "of", "on", "or", "our", "please", "pls", "she", "should", "since", "so",
    "some", "than", "thanks", "that", "the", "their", "them", "then", "there", "they", "this",
    "to", "too", "up", "us", "was", "we", "were", "what", "when", "where", "which", "while", "who",
    "why", "will", "with", "won", "would", "you", "your", "customer", "display", "aber", "als",
    "am", "an", "auch", "auf", "aus", "bei", "bin", "bitte", "das", "dass", "dem", "den", "der",
    "des", "die", "ein", "eine", "einen", "er", "es", "für", "hallo", "hat", "ich", "ihr", "im",
    "ist", "kann", "mein", "meine", "mit", "nicht", "noch", "sie", "und", "uns", "von", "wie",
    "wir", "zu", "au", "avec", "ce", "dans", "de", "des", "du", "elle", "en", "est", "et", "je",
    "la", "le", "les", "mais", "mon", "ne", "nous", "pas", "pour", "que", "qui", "sur", "un",
    "une", "vous",
];

fn is_stop(w: &str) -> bool {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    SET.get_or_init(|| STOP.iter().copied().collect())
        .contains(w)
}

/// The stems of `text`'s words that say something, with their counts.
fn terms(text: &str, weight: f64, into: &mut HashMap<String, f64>) {
    for w in crate::search::words(text) {
        if is_stop(&w) || w.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        for s in crate::search::word_stems(&w) {
            *into.entry(s).or_default() += weight;
        }
    }
}

/// A term vector, weighted and scaled to length 1.
type Vector = HashMap<String, f64>;

fn normalise(mut v: Vector) -> Vector {
    let norm = v.values().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        v.values_mut().for_each(|x| *x /= norm);
    }
    v
}

/// The articles as vectors, ready to be compared with mails.
#[derive(Debug, Default)]
pub struct Index {
    docs: Vec<(String, Vector)>,
    idf: HashMap<String, f64>,
    /// The weight of a term no article has.
    unseen: f64,
}

/// An article offered, with how near it is (0 to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub name: String,
    pub score: f64,
}

impl Index {
    /// Indexes `articles` (the title counts twice).
    pub fn new<'a>(articles: impl IntoIterator<Item = &'a Article>) -> Index {
        let mut raw: Vec<(String, HashMap<String, f64>)> = Vec::new();
        for a in articles {
            let mut t = HashMap::new();
            terms(&a.title, 2.0, &mut t);
            terms(&a.body, 1.0, &mut t);
            raw.push((a.name.clone(), t));
        }
        let n = raw.len() as f64;
        let mut df: HashMap<String, f64> = HashMap::new();
        for (_, t) in &raw {
            for k in t.keys() {
                *df.entry(k.clone()).or_default() += 1.0;
            }
        }
        let idf: HashMap<String, f64> = df
            .into_iter()
            .map(|(k, d)| (k, (1.0 + n / d).ln()))
            .collect();
        let docs = raw
            .into_iter()
            .map(|(name, t)| {
                let v = t
                    .into_iter()
                    .map(|(k, c)| {
                        let w = (1.0 + c.ln()) * idf[&k];
                        (k, w)
                    })
                    .collect();
                (name, normalise(v))
            })
            .collect();
        Index {
            docs,
            idf,
            unseen: (1.0 + 2.0 * n.max(1.0)).ln(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Up to `n` articles for a mail with `subject` and `text` (the subject counts twice),
    /// nearest first, each at least `threshold` near.
    pub fn suggest(&self, subject: &str, text: &str, n: usize, threshold: f64) -> Vec<Suggestion> {
        if n == 0 || self.docs.is_empty() {
            return Vec::new();
        }
        let mut t = HashMap::new();
        terms(subject, 2.0, &mut t);
        terms(text, 1.0, &mut t);
        let q = normalise(
            t.into_iter()
                .map(|(k, c)| {
                    let idf = self.idf.get(&k).copied().unwrap_or(self.unseen);
                    (k, (1.0 + c.ln()) * idf)
                })
                .collect(),
        );
        let mut scored: Vec<Suggestion> = self
            .docs
            .iter()
            .map(|(name, d)| Suggestion {
                name: name.clone(),
                score: q.iter().filter_map(|(k, w)| d.get(k).map(|x| x * w)).sum(),
            })
            .filter(|s| s.score >= threshold)
            .collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.name.cmp(&b.name)));
        scored.truncate(n);
        scored
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn common_words_of_three_languages_are_left_out() {
        assert!(is_stop("the") && is_stop("und") && is_stop("vous") && is_stop("für"));
        assert!(!is_stop("printer") && !is_stop("drucker"));
    }

    fn set() -> (Index, Vec<(String, String, String)>) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/suggest");
        let lib = crate::knowledge::Library::load(Some(&dir.join("articles"))).unwrap();
        let questions = std::fs::read_to_string(dir.join("questions.tsv")).unwrap();
        let rows = questions
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let mut f = l.splitn(3, '\t');
                let (a, s, t) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
                (a.to_string(), s.to_string(), t.to_string())
            })
            .collect();
        (Index::new(lib.files.values()), rows)
    }

    /// (precision, recall) of the first suggestion at `threshold`.
    fn measure(index: &Index, rows: &[(String, String, String)], threshold: f64) -> (f64, f64) {
        let (mut offered, mut right, mut answerable) = (0.0f64, 0.0f64, 0.0f64);
        for (want, subject, text) in rows {
            if want != "none" {
                answerable += 1.0;
            }
            if let Some(first) = index.suggest(subject, text, 1, threshold).first() {
                offered += 1.0;
                if &first.name == want {
                    right += 1.0;
                }
            }
        }
        (right / offered.max(1.0), right / answerable)
    }

    /// Issue #20: precision of the first suggestion at least 0.8 on the labelled set of 214
    /// mails (164 with a right article, 50 with none); the figures are printed for the note.
    #[test]
    fn the_first_suggestion_is_right_in_at_least_eight_of_ten_on_the_labelled_set() {
        let (index, rows) = set();
        assert!(rows.len() >= 200, "{} pairs", rows.len());
        for t in [0.1, 0.2, DEFAULT_THRESHOLD, 0.3, 0.4, 0.5] {
            let (p, r) = measure(&index, &rows, t);
            println!("threshold {t:.2}: precision {p:.3}, recall {r:.3}");
        }
        let (precision, recall) = measure(&index, &rows, DEFAULT_THRESHOLD);
        assert!(precision >= 0.8, "precision {precision:.3}");
        assert!(recall >= 0.5, "recall {recall:.3}");
    }

    #[test]
    fn nothing_is_offered_for_an_empty_mail_or_without_articles() {
        let (index, _) = set();
        assert!(index.suggest("", "", 3, DEFAULT_THRESHOLD).is_empty());
        assert!(index
            .suggest("Hello", "please help, thanks", 3, DEFAULT_THRESHOLD)
            .is_empty());
        assert!(Index::default()
            .suggest("VPN", "vpn down", 3, 0.0)
            .is_empty());
        let got = index.suggest(
            "Paper jam",
            "The printer has a paper jam.",
            3,
            DEFAULT_THRESHOLD,
        );
        assert_eq!(got[0].name, "printer-jam", "{got:?}");
        assert!(got.windows(2).all(|w| w[0].score >= w[1].score));
    }
}
