//! The built-in templates in other languages than English (`mail-templates/LANG/`): those a
//! customer reads. A template not here is sent in English.

/// (language, name, text half, HTML half).
const TRANSLATED: &[(&str, &str, &str, &str)] = &[
    (
        "de",
        "ack",
        include_str!("../../mail-templates/de/ack.txt.hbs"),
        include_str!("../../mail-templates/de/ack.html.hbs"),
    ),
    (
        "de",
        "status_changed",
        include_str!("../../mail-templates/de/status_changed.txt.hbs"),
        include_str!("../../mail-templates/de/status_changed.html.hbs"),
    ),
    (
        "de",
        "problem_update",
        include_str!("../../mail-templates/de/problem_update.txt.hbs"),
        include_str!("../../mail-templates/de/problem_update.html.hbs"),
    ),
    (
        "de",
        "csat_survey",
        include_str!("../../mail-templates/de/csat_survey.txt.hbs"),
        include_str!("../../mail-templates/de/csat_survey.html.hbs"),
    ),
    (
        "fr",
        "ack",
        include_str!("../../mail-templates/fr/ack.txt.hbs"),
        include_str!("../../mail-templates/fr/ack.html.hbs"),
    ),
    (
        "fr",
        "status_changed",
        include_str!("../../mail-templates/fr/status_changed.txt.hbs"),
        include_str!("../../mail-templates/fr/status_changed.html.hbs"),
    ),
    (
        "fr",
        "problem_update",
        include_str!("../../mail-templates/fr/problem_update.txt.hbs"),
        include_str!("../../mail-templates/fr/problem_update.html.hbs"),
    ),
    (
        "fr",
        "csat_survey",
        include_str!("../../mail-templates/fr/csat_survey.txt.hbs"),
        include_str!("../../mail-templates/fr/csat_survey.html.hbs"),
    ),
];

/// The built-in half of `name` in `lang`, if translated.
pub fn builtin(lang: &str, name: &str, html: bool) -> Option<&'static str> {
    TRANSLATED
        .iter()
        .find(|(l, n, _, _)| *l == lang && *n == name)
        .map(|(_, _, t, h)| if html { *h } else { *t })
}
