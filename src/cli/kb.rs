//! `kb list` and `kb show NAME`: the knowledge articles, files of `[knowledge] dir` and those
//! agents saved by mail (a saved one over a file of the same name).

use std::collections::BTreeMap;

use super::*;
use crate::knowledge::Article;

/// Every article by name.
fn all(cfg: &Config) -> Result<BTreeMap<String, Article>, Failure> {
    let templates = Templates::of_config(cfg, false).map_err(Failure::runtime)?;
    let mut out = templates
        .knowledge()
        .map_err(|e| Failure::runtime(format!("knowledge article {e}")))?
        .files
        .clone();
    let mut c = open_store(cfg)?;
    for a in models::articles(&mut c).map_err(Failure::runtime)? {
        out.insert(a.name.clone(), a.into_article());
    }
    Ok(out)
}

pub(super) fn kb_list(cfg: &Config, as_json: bool) -> Outcome {
    let articles = all(cfg)?;
    if as_json {
        let v: Vec<Value> = articles
            .values()
            .map(|a| {
                json!({"name": a.name, "title": a.title, "source": a.source, "origin": a.origin,
                       "updated_at": a.updated_at.map(rfc3339)})
            })
            .collect();
        print_json(&Value::Array(v));
    } else if articles.is_empty() {
        say!("no articles: put NAME.md files in [knowledge] dir, or save one by mail with #kb save NAME");
    } else {
        for a in articles.values() {
            say!("{:<24} {:<6} {}", a.name, a.source, a.title);
        }
    }
    Ok(())
}

pub(super) fn kb_show(cfg: &Config, name: &str) -> Outcome {
    let articles = all(cfg)?;
    match articles.get(name) {
        Some(a) => {
            say!("# {}\n\n{}", a.title, a.body);
            Ok(())
        }
        None => Err(Failure::runtime(crate::knowledge::missing(
            name,
            articles.keys().map(String::as_str),
        ))),
    }
}

/// `search QUERY [--json]`: tickets and articles, best first; `--reindex` builds the index
/// again from what is stored first.
pub(super) fn search_cmd(cfg: &Config, query: &[String], reindex: bool, as_json: bool) -> Outcome {
    let templates = Templates::of_config(cfg, false).map_err(Failure::runtime)?;
    let files = templates
        .knowledge()
        .map_err(|e| Failure::runtime(format!("knowledge article {e}")))?
        .files
        .clone();
    let mut c = open_store(cfg)?;
    let q = crate::search::Query::parse(&query.join(" "));
    let hits = c
        .transaction(|c| {
            // (it writes the files' articles as they are now, and an FTS5 table's writes begin
            // with reads of its own: the write lock first, so that a commit of `serve`
            // meanwhile is waited for, not a "database is locked")
            models::write_lock_first(c)?;
            if reindex {
                let n = models::reindex(c)?;
                if !as_json {
                    say!("indexed {n} subject(s), message(s) and saved article(s)");
                }
            }
            models::sync_file_articles(c, &files)?;
            models::find(c, &q, 20)
        })
        .map_err(Failure::runtime)?;
    if as_json {
        print_json(&serde_json::to_value(&hits).unwrap_or_default());
    } else if hits.is_empty() && !query.is_empty() {
        say!("nothing found");
    } else {
        for h in &hits {
            match h.kind {
                "ticket" => say!(
                    "ticket  #{:<6} {:<9} {} — {}",
                    h.id.unwrap_or_default(),
                    h.status.as_deref().unwrap_or_default(),
                    h.title,
                    h.snippet
                ),
                _ => say!(
                    "article {:<16} {} — {}",
                    h.name.as_deref().unwrap_or_default(),
                    h.title,
                    h.snippet
                ),
            }
        }
    }
    Ok(())
}
