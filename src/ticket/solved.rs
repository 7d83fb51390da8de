//! A customer saying that an article offered in the acknowledgement solved their problem: the
//! word "solved" (or its German, French or Spanish word) alone on the first line.

/// The words that mean "solved", lower case.
const WORDS: &[&str] = &[
    "solved",
    "resolved",
    "gelöst",
    "geloest",
    "erledigt",
    "résolu",
    "resolu",
    "résolue",
    "resuelto",
    "solucionado",
];

/// Whether the first line that says anything is one of the words (with punctuation or
/// "thanks" after it: "Solved!", "gelöst, danke").
pub fn says_solved(text: &str) -> bool {
    let Some(first) = text.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return false;
    };
    let first = first.to_lowercase();
    let word: String = first.chars().take_while(|c| c.is_alphanumeric()).collect();
    if !WORDS.contains(&word.as_str()) {
        return false;
    }
    // Only a short line: "solved" in a sentence ("solved? no, still broken") is not an answer.
    let rest = first[word.len()..].trim_start_matches(|c: char| !c.is_alphanumeric());
    rest.is_empty()
        || ["thanks", "thank you", "danke", "merci", "gracias"]
            .iter()
            .any(|t| rest.starts_with(t) && rest.len() <= t.len() + 12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_alone_on_the_first_line_in_four_languages() {
        for yes in [
            "solved",
            "Solved!",
            "\n  SOLVED.\n\nthe article helped",
            "Gelöst, danke",
            "résolu",
            "Resuelto. Gracias",
            "solved, thanks",
        ] {
            assert!(says_solved(yes), "{yes:?}");
        }
        for no in [
            "",
            "not solved",
            "solved? no, it is still broken",
            "unsolved",
            "The article solved nothing",
            "solvedish",
        ] {
            assert!(!says_solved(no), "{no:?}");
        }
    }
}
