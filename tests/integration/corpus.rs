//! Every mail of the ruby-mail-gem robustness corpus (103 real broken or unusual mails) is stored
//! with an outcome; none is lost, none crashes the pipeline; the expected fields match.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::util::{fixture, Env};

fn corpus_files() -> Vec<PathBuf> {
    let root = fixture("corpus/ruby-mail-gem");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        if dir.is_dir() {
            for f in std::fs::read_dir(&dir).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|e| e == "eml") {
                    out.push(f);
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_corpus_mail_is_stored_with_an_outcome() {
    let files = corpus_files();
    assert_eq!(files.len(), 103);
    let env = Env::new();
    let args: Vec<String> = std::iter::once("ingest".to_string())
        .chain(files.iter().map(|f| f.display().to_string()))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.ok(&args);

    let inbound = env.inbound();
    // Byte-identical files are one mail; everything else has its own row.
    let distinct: std::collections::HashSet<Vec<u8>> =
        files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert_eq!(inbound.len(), distinct.len(), "a mail was lost");
    let known = [
        "new_ticket",
        "reply",
        "duplicate",
        "auto_reply",
        "bounce",
        "loop",
        "too_large",
        "failed",
    ];
    for row in &inbound {
        let outcome = row["outcome"].as_str().unwrap();
        assert!(known.contains(&outcome), "{row}");
        if outcome == "failed" {
            assert!(
                row["error"].as_str().is_some_and(|e| !e.is_empty()),
                "a failure without its error: {row}"
            );
        }
    }
    // The DSNs of the corpus are bounces and open no ticket.
    let by_source: HashMap<String, &serde_json::Value> = inbound
        .iter()
        .map(|r| (r["source"].as_str().unwrap().to_string(), r))
        .collect();
    // The row of a corpus file: its own, or that of the byte-identical file stored first.
    let row_for = |name: &str| -> &serde_json::Value {
        let path = files
            .iter()
            .find(|f| f.ends_with(name))
            .unwrap_or_else(|| panic!("no corpus file {name}"));
        let bytes = std::fs::read(path).unwrap();
        let twin = files
            .iter()
            .find(|f| std::fs::read(f).unwrap() == bytes)
            .unwrap();
        by_source
            .iter()
            .find(|(k, _)| {
                k.ends_with(&twin.display().to_string())
                    || k.ends_with(&format!("{}#0", twin.display()))
            })
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("{name} not stored"))
    };
    for name in [
        "multi_address_bounce1.eml",
        "multi_address_bounce2.eml",
        "report_422.eml",
        "report_530.eml",
    ] {
        let row = row_for(name);
        assert_eq!(row["outcome"], "bounce", "{name}: {row}");
        assert_eq!(row["ticket_id"], serde_json::Value::Null);
    }

    // Expected From, Subject and Message-ID from the gem's own specs.
    let exp: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(fixture("corpus/ruby-mail-gem/expectations.json")).unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for e in &exp {
        let file = e["file"].as_str().unwrap();
        let row = row_for(file);
        if let Some(from) = e["from"]
            .as_str()
            .filter(|f| !f.contains(' ') && !f.contains('<'))
        {
            assert_eq!(row["from"].as_str().unwrap(), from.to_lowercase(), "{file}");
            checked += 1;
        }
        if let Some(subject) = e["subject"].as_str() {
            // postdesk flattens a subject to one line, each run of white space to one space.
            let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(row["subject"].as_str().unwrap(), flat(subject), "{file}");
            checked += 1;
        }
        if let Some(mid) = e["message_id"].as_str() {
            assert_eq!(
                row["message_id"].as_str().unwrap(),
                format!("<{mid}>"),
                "{file}"
            );
            checked += 1;
        }
    }
    // Every From (bare address), Subject and Message-ID expectation in the file: 24.
    assert_eq!(checked, 24, "expectations checked");
}

/// Ticket grouping on real list mail with ground truth (mail-thread-perl: 43 mails, 11
/// conversations, with missing roots, header-less replies and broken In-Reply-To), ingested in
/// Date order with `accept_list_mail = true`: pairwise precision and recall must both be ≥ 0.99.
#[test]
fn list_mail_is_grouped_like_the_ground_truth() {
    let root = fixture("corpus/mail-thread-perl");
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("groundtruth.json")).unwrap()).unwrap();
    let thread_of: HashMap<String, usize> = truth["threads"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .flat_map(|(i, t)| {
            t.as_array()
                .unwrap()
                .iter()
                .map(move |id| (format!("<{}>", id.as_str().unwrap()), i))
        })
        .collect();
    let env = Env::with("", None);
    // The mailbox of the standard test config, with list mail accepted.
    let cfg = std::fs::read_to_string(&env.config).unwrap().replace(
        "queue = \"general\"\npoll",
        "queue = \"general\"\naccept_list_mail = true\npoll",
    );
    assert!(cfg.contains("accept_list_mail = true"));
    std::fs::write(&env.config, cfg).unwrap();
    let dir = root.join("by-date");
    env.ok(&["ingest", "--no-send", dir.to_str().unwrap()]);
    let ticket_of: HashMap<String, i64> = env
        .inbound()
        .iter()
        .map(|r| {
            (
                r["message_id"].as_str().unwrap().to_string(),
                r["ticket_id"]
                    .as_i64()
                    .expect("every list mail is in a ticket"),
            )
        })
        .collect();
    assert_eq!(ticket_of.len(), 43);
    let ids: Vec<&String> = thread_of.keys().collect();
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for (i, a) in ids.iter().enumerate() {
        for b in &ids[i + 1..] {
            let truth = thread_of[*a] == thread_of[*b];
            let ours = ticket_of[*a] == ticket_of[*b];
            match (truth, ours) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fn_ += 1,
                _ => {}
            }
        }
    }
    let precision = tp as f64 / (tp + fp) as f64;
    let recall = tp as f64 / (tp + fn_) as f64;
    assert!(
        precision >= 0.99 && recall >= 0.99,
        "precision {precision:.3}, recall {recall:.3} (tp {tp}, fp {fp}, fn {fn_})"
    );
}
