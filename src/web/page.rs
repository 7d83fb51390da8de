//! The one-click pages as HTML, without I/O: plain pages (no scripts, no outside resources),
//! every value escaped.

/// Escapes text for HTML content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: `title` (escaped here) and `body` (HTML, escaped by the caller).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n<title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n\
         <body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(title)
    )
}

const STYLE: &str = "body{margin:0;background:#f4f5f7;font-family:Arial,Helvetica,sans-serif;color:#222;line-height:1.5}\n\
main{max-width:34em;margin:3em auto;background:#fff;padding:1.5em 2em;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.15)}\n\
h1{font-size:1.3em;margin:0 0 .8em}\n.ticket{color:#555;margin:0 0 1.2em}\n\
fieldset{border:0;padding:0;margin:0 0 1em}\nlabel.score{display:block;padding:.35em .5em;border-radius:4px;cursor:pointer}\n\
label.score:hover{background:#eef2fb}\ntextarea{width:100%;box-sizing:border-box;min-height:6em;font:inherit}\n\
button{margin-top:1em;padding:.6em 1.4em;font:inherit;font-weight:bold;color:#fff;background:#3366cc;border:0;border-radius:4px;cursor:pointer}\n\
.done{color:#1d7a35}\n.error{color:#b00020}\n";

/// The labels of the scores, 5 down to 1.
const SCORES: [(u8, &str); 5] = [
    (5, "Very satisfied"),
    (4, "Satisfied"),
    (3, "Neutral"),
    (2, "Dissatisfied"),
    (1, "Very dissatisfied"),
];

/// The survey's form: `chosen` ticked (from the link clicked); the button POSTs to the same
/// token. Nothing is recorded until it is pressed.
pub fn survey_form(token: &str, reference: &str, subject: &str, chosen: Option<u8>) -> String {
    let mut body = format!(
        "<h1>How satisfied are you with how we handled your request?</h1>\n\
         <p class=\"ticket\">{} &ldquo;{}&rdquo;</p>\n\
         <form method=\"post\" action=\"{}\">\n<fieldset>\n<legend>Your rating</legend>\n",
        escape(reference),
        escape(subject),
        escape(token)
    );
    for (score, label) in SCORES {
        let checked = if chosen == Some(score) {
            " checked"
        } else {
            ""
        };
        body.push_str(&format!(
            "<label class=\"score\"><input type=\"radio\" name=\"score\" value=\"{score}\" required{checked}> {score} &middot; {label}</label>\n"
        ));
    }
    body.push_str(
        "</fieldset>\n<label for=\"comment\">Anything you would like to tell us (optional)</label>\n\
         <textarea id=\"comment\" name=\"comment\" maxlength=\"4000\"></textarea>\n\
         <button type=\"submit\">Send my rating</button>\n</form>\n",
    );
    page(&format!("{reference}: your rating"), &body)
}

/// After a rating is recorded, or when it was before.
pub fn survey_done(reference: &str, score: u8, already: bool) -> String {
    let label = SCORES
        .iter()
        .find(|(s, _)| *s == score)
        .map_or("", |(_, l)| l);
    let lead = if already {
        "Your rating was recorded before; it stays as it is."
    } else {
        "Thank you: your rating is recorded."
    };
    page(
        &format!("{reference}: thank you"),
        &format!(
            "<h1 class=\"done\">{lead}</h1>\n<p class=\"ticket\">{}: {score} &middot; {label}</p>\n",
            escape(reference)
        ),
    )
}

/// The "this solved my problem" question: the button POSTs to the same token.
pub fn solved_form(
    token: &str,
    reference: &str,
    subject: &str,
    title: Option<&str>,
    article: Option<&str>,
) -> String {
    let what = match title {
        Some(t) => format!("the article &ldquo;{}&rdquo;", escape(t)),
        None => "the article we sent".to_string(),
    };
    let hidden = article
        .map(|a| {
            format!(
                "<input type=\"hidden\" name=\"article\" value=\"{}\">\n",
                escape(a)
            )
        })
        .unwrap_or_default();
    page(
        &format!("{reference}: solved?"),
        &format!(
            "<h1>Did {what} solve your problem?</h1>\n\
             <p class=\"ticket\">{} &ldquo;{}&rdquo;</p>\n\
             <p>If it did, we close your request. You can always write again by answering our mail.</p>\n\
             <form method=\"post\" action=\"{}\">\n{hidden}\
             <button type=\"submit\">Yes, this solved my problem</button>\n</form>\n",
            escape(reference),
            escape(subject),
            escape(token)
        ),
    )
}

/// After "solved" is recorded, or when the request was closed before.
pub fn solved_done(reference: &str, before: bool) -> String {
    let lead = if before {
        "This request is closed already."
    } else {
        "Thank you: we have closed your request."
    };
    page(
        &format!("{reference}: closed"),
        &format!(
            "<h1 class=\"done\">{lead}</h1>\n<p class=\"ticket\">{}</p>\n\
             <p>If the problem comes back, simply answer our mail and it opens again.</p>\n",
            escape(reference)
        ),
    )
}

/// The approver's page: what is decided, and one button (a reason is required to reject).
pub fn approval_form(
    token: &str,
    reference: &str,
    subject: &str,
    fields: &[(String, String)],
    (approve, chain, step): (bool, &str, i32),
) -> String {
    let mut rows = String::new();
    for (k, v) in fields {
        rows.push_str(&format!(
            "<tr><td style=\"padding:2px 12px 2px 0;color:#555\">{}</td><td>{}</td></tr>\n",
            escape(k),
            escape(v)
        ));
    }
    let (verb, label, required) = if approve {
        ("Approve", "A comment (optional)", "")
    } else {
        ("Reject", "The reason (required)", " required")
    };
    page(
        &format!("{reference}: {verb}"),
        &format!(
            "<h1>{verb} {}?</h1>\n<p class=\"ticket\">&ldquo;{}&rdquo; &middot; approval {} step {step}</p>\n\
             <table>\n{rows}</table>\n\
             <form method=\"post\" action=\"{}\">\n\
             <label for=\"comment\">{label}</label>\n\
             <textarea id=\"comment\" name=\"comment\" maxlength=\"4000\"{required}></textarea>\n\
             <button type=\"submit\">{verb}</button>\n</form>\n",
            escape(reference),
            escape(subject),
            escape(chain),
            escape(token)
        ),
    )
}

/// After a decision, or when it could not be taken: `text` says which.
pub fn approval_done(reference: &str, text: &str, ok: bool) -> String {
    page(
        &format!("{reference}: approval"),
        &format!(
            "<h1 class=\"{}\">{}</h1>\n<p class=\"ticket\">{}</p>\n",
            if ok { "done" } else { "error" },
            escape(text),
            escape(reference)
        ),
    )
}

/// A page that says what is wrong (an unknown or expired link, a bad form).
pub fn problem(title: &str, text: &str) -> String {
    page(
        title,
        &format!(
            "<h1 class=\"error\">{}</h1>\n<p>{}</p>\n",
            escape(title),
            escape(text)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_escaped_and_the_form_only_posts() {
        let html = survey_form(
            "1.2.abc\"><script>",
            "[Support #4]",
            "<img src=x onerror=alert(1)> & co",
            Some(4),
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt; &amp; co"),
            "{html}"
        );
        assert!(html.contains("method=\"post\""));
        assert!(html.contains("value=\"4\" required checked"));
        assert_eq!(html.matches(" checked").count(), 1);
        assert!(!html.contains("<script"), "no scripts at all");
    }

    #[test]
    fn the_done_page_names_the_score_and_whether_it_was_there_before() {
        assert!(survey_done("[Support #4]", 2, false).contains("2 &middot; Dissatisfied"));
        assert!(survey_done("[Support #4]", 5, true).contains("recorded before"));
    }
}
