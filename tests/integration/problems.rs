//! Incident and problem management from the agents' mail clients (issue #18): types, problems
//! and their incidents linked both ways, a problem's broadcast to every requester in their own
//! thread, the resolution of a problem resolving its incidents, merges, child tasks, and the
//! command errors for what cannot be.

use serde_json::Value;

use crate::conversation::{agent_reply, env, ingest, reply_address, sent, text_part};
use crate::util::{header, server_env, smtp_transport, wait_for, Env};

/// A customer's first mail from `from`; returns (ticket, the notification Alice got for it).
fn incident(e: &Env, from: &str, subject: &str) -> (i64, String) {
    let mid = format!(
        "{:x}@{}",
        fastrand::u64(..),
        from.split('@').nth(1).unwrap()
    );
    let mail = format!(
        "From: {from}\r\nTo: support@example.test\r\nSubject: {subject}\r\nMessage-ID: <{mid}>\r\n\
         Date: Sat, 21 Nov 2026 10:00:00 +0000\r\n\r\nIt does not work.\r\n"
    );
    let row = ingest(e, &mail);
    let ticket = row["ticket_id"].as_i64().unwrap();
    let note = sent(e, "notify_agent", "alice@example.test")
        .into_iter()
        .find(|m| {
            header(m, "Subject")
                .unwrap()
                .contains(&format!("#{ticket}]"))
        })
        .expect("Alice's notification");
    (ticket, note)
}

/// Alice writes `top` on the ticket `note` notified her of; the inbound row.
fn alice(e: &Env, note: &str, top: &str) -> Value {
    answer(e, "alice@example.test", note, top)
}

/// An agent answers a mail the desk sent them (a notice, a notification) with `top`.
fn answer(e: &Env, agent: &str, mail: &str, top: &str) -> Value {
    ingest(e, &agent_reply(mail, agent, &reply_address(mail), top))
}

fn links(e: &Env, t: i64) -> Vec<(String, i64)> {
    e.ticket(t)["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap().to_string(),
                l["ticket"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// The agent notice to `to` about ticket `t`, newest first.
fn notice(e: &Env, to: &str, t: i64) -> String {
    sent(e, "agent_notice", to)
        .into_iter()
        .rev()
        .find(|m| header(m, "Subject").unwrap().contains(&format!("#{t}]")))
        .expect("an agent notice")
}

fn command_error(e: &Env) -> String {
    let errs = sent(e, "command_error", "alice@example.test");
    text_part(errs.last().expect("a command error"))
}

/// Opens a problem from an incident of Carol's and links two more customers' incidents (one
/// of them twice); returns (problem, incidents).
fn problem_with_incidents(e: &Env) -> (i64, Vec<i64>) {
    let (carol, note) = incident(e, "carol@example.com", "Cannot print");
    let row = alice(e, &note, "#problem Printers on floor 2 fail");
    assert_eq!(row["outcome"], "command", "{row}");
    let problem = e
        .tickets()
        .iter()
        .find(|t| t["type"] == "problem")
        .expect("a problem ticket")["id"]
        .as_i64()
        .unwrap();
    let mut incidents = vec![carol];
    for (who, subject) in [
        ("dave@customer.example", "Printer offline"),
        ("erin@other.example", "Print job stuck"),
        ("dave@customer.example", "Still no printing"),
    ] {
        let (t, note) = incident(e, who, subject);
        let row = alice(e, &note, &format!("#link {problem}"));
        assert_eq!(row["outcome"], "command", "{row}");
        incidents.push(t);
    }
    (problem, incidents)
}

#[test]
fn a_problem_links_its_incidents_both_ways_and_names_them_to_agents() {
    let e = env();
    let (problem, incidents) = problem_with_incidents(&e);
    let p = e.ticket(problem);
    assert_eq!(p["type"], "problem");
    assert_eq!(p["subject"], "Printers on floor 2 fail");
    assert_eq!(
        links(&e, problem),
        incidents
            .iter()
            .map(|i| ("incident".to_string(), *i))
            .collect::<Vec<_>>()
    );
    for i in &incidents {
        assert_eq!(links(&e, *i), vec![("problem".to_string(), problem)]);
        assert_eq!(e.ticket(*i)["type"], "incident", "#{i}");
    }
    // Bob (the queue's other agent) was told of the new problem, with his own reply address.
    let told = notice(&e, "bob@example.test", problem);
    assert!(
        text_part(&told).contains("opened it from [Support #"),
        "{told}"
    );

    // A customer's reply on an incident: the agents' notification names its problem.
    let before = sent(&e, "notify_agent", "alice@example.test").len();
    let carol = e.ticket(incidents[0]);
    let ack = sent(&e, "ack", "carol@example.com");
    let ack_id = header(&ack[0], "Message-ID").unwrap();
    ingest(
        &e,
        &format!(
            "From: carol@example.com\r\nTo: support@example.test\r\nSubject: Re: {}\r\nMessage-ID: <r1@example.com>\r\n\
             In-Reply-To: {ack_id}\r\nReferences: {ack_id}\r\nDate: Sat, 21 Nov 2026 12:00:00 +0000\r\n\r\nAny news?\r\n",
            carol["subject"].as_str().unwrap()
        ),
    );
    let notes = sent(&e, "notify_agent", "alice@example.test");
    assert_eq!(notes.len(), before + 1);
    let text = text_part(notes.last().unwrap());
    assert!(
        text.contains(&format!(
            "Problem:   [Support #{problem}] Printers on floor 2 fail (new)"
        )),
        "{text}"
    );
    assert!(text.contains("Type: incident"), "{text}");

    // #unlink takes one incident out, both ways; and the errors say why nothing changed.
    let (_, note) = incident(&e, "frank@customer.example", "Other thing");
    let row = alice(&e, &note, &format!("#unlink {problem}"));
    assert_eq!(row["outcome"], "command");
    assert!(command_error(&e).contains(&format!("not linked to #{problem}")));
    for (line, why) in [
        (
            "#link 9999".to_string(),
            "there is no ticket #9999".to_string(),
        ),
        (
            format!("#link {}", row["ticket_id"]),
            "this ticket itself".to_string(),
        ),
        (
            "#broadcast".to_string(),
            "#broadcast is for problems".to_string(),
        ),
    ] {
        alice(&e, &note, &line);
        assert!(
            command_error(&e).contains(&why),
            "{line}: {}",
            command_error(&e)
        );
    }
    let dave2 = incidents[3];
    let dave2_note = sent(&e, "notify_agent", "alice@example.test")
        .into_iter()
        .find(|m| {
            header(m, "Subject")
                .unwrap()
                .contains(&format!("#{dave2}]"))
        })
        .unwrap();
    alice(&e, &dave2_note, &format!("#unlink {problem}"));
    assert!(links(&e, dave2).is_empty());
    assert!(!links(&e, problem).contains(&("incident".to_string(), dave2)));
}

#[test]
fn a_broadcast_goes_once_to_each_requester_threaded_in_their_own_ticket() {
    let e = env();
    let (problem, incidents) = problem_with_incidents(&e);
    let bob_note = notice(&e, "bob@example.test", problem);
    let bob = |top: &str| answer(&e, "bob@example.test", &bob_note, top);
    // Erin's address bounced last week: she is left out, and it is recorded on her ticket.
    let week_ago = chrono_ms() - 7 * 86_400_000;
    e.sql(&format!(
        "INSERT INTO outbox (ticket_id, kind, env_from, rcpt, subject, message_id, raw, status, attempts, last_error, next_attempt_at, created_at) \
         VALUES (NULL, 'ack', 'support@example.test', '[\"erin@other.example\"]', 's', '<x@y>', X'00', 'failed', 1, 'bounced: erin@other.example 5.1.1', {week_ago}, {week_ago})"
    ).replace("X'00'", if crate::util::backend() == "postgres" { "'\\x00'::bytea" } else { "X'00'" }));
    let row = bob("#broadcast\r\n\r\nThe print server was restarted; printing works again.");
    assert_eq!(row["outcome"], "agent_reply", "{row}");

    let updates = |to: &str| sent(&e, "problem_update", to);
    assert!(updates("erin@other.example").is_empty(), "bounced lately");
    assert_eq!(updates("carol@example.com").len(), 1);
    let dave = updates("dave@customer.example");
    assert_eq!(dave.len(), 1, "Dave has two incidents and hears once");
    // Dave's update is threaded into his newest ticket, to his own mail, from the agent.
    let newest = incidents[3];
    let m = &dave[0];
    assert!(
        header(m, "Subject")
            .unwrap()
            .starts_with(&format!("[Support #{newest}] Re: Still no printing")),
        "{m}"
    );
    let his = e.ticket(newest)["messages"][0]["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(header(m, "In-Reply-To").as_deref(), Some(his.as_str()));
    assert_eq!(
        header(m, "From").unwrap(),
        "\"Bob Builder via Example Support\" <support@example.test>"
    );
    assert!(header(m, "Date").is_some() && header(m, "Auto-Submitted").is_none());
    let text = text_part(m);
    assert!(
        text.contains("News about the problem behind your ticket")
            && text.contains("printing works again"),
        "{text}"
    );
    let events = |t: i64| -> Vec<String> {
        e.ticket(t)["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["kind"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(events(newest).contains(&"problem_update".to_string()));
    assert!(events(incidents[2]).contains(&"problem_update_skipped".to_string()));
    // Nothing to the agents as customers, and the problem's own answer went nowhere else.
    assert!(updates("alice@example.test").is_empty() && updates("bob@example.test").is_empty());

    // Resolving the problem resolves the open incidents and tells each requester once.
    let row = bob("#status resolved");
    assert_eq!(row["outcome"], "command", "{row}");
    for i in &incidents {
        assert_eq!(e.ticket(*i)["status"], "resolved", "#{i}");
    }
    assert_eq!(updates("carol@example.com").len(), 2);
    assert_eq!(updates("dave@customer.example").len(), 2);
    let last = updates("carol@example.com").pop().unwrap();
    assert!(text_part(&last).contains("has been fixed, and your ticket is now resolved"));
    assert!(
        sent(&e, "status_changed", "carol@example.com").is_empty(),
        "told once, not twice"
    );
}

#[test]
fn a_broadcast_to_more_than_confirm_above_waits_for_the_agents_confirmation() {
    let e = Env::with(
        &format!(
            "{}\n[problems]\nconfirm_above = 1\n",
            crate::conversation::AGENTS
        ),
        None,
    );
    let (problem, _) = problem_with_incidents(&e);
    let bob_note = notice(&e, "bob@example.test", problem);
    let bob = |top: &str| answer(&e, "bob@example.test", &bob_note, top);
    bob("#broadcast\r\n\r\nWe are on it.");
    assert!(
        sent(&e, "problem_update", "carol@example.com").is_empty(),
        "held"
    );
    let ask = notice(&e, "bob@example.test", problem);
    let text = text_part(&ask);
    assert!(
        text.contains("would go to 3 requesters") && text.contains("#broadcast confirm"),
        "{text}"
    );
    // The confirmation: a reply to the notice (its Reply-To is Bob's own signed address).
    answer(&e, "bob@example.test", &ask, "#broadcast confirm");
    let got = sent(&e, "problem_update", "carol@example.com");
    assert_eq!(got.len(), 1);
    assert!(text_part(&got[0]).contains("We are on it."));
    // A second confirmation finds nothing waiting: nothing is sent twice.
    answer(&e, "bob@example.test", &ask, "#broadcast confirm");
    assert_eq!(sent(&e, "problem_update", "carol@example.com").len(), 1);
    let errs = sent(&e, "command_error", "bob@example.test");
    assert!(text_part(errs.last().unwrap()).contains("no broadcast of this problem waits"));
}

#[test]
fn a_new_incident_linked_to_a_major_problem_hears_its_current_update_at_once() {
    let e = env();
    let (problem, _) = problem_with_incidents(&e);
    let bob_note = notice(&e, "bob@example.test", problem);
    answer(
        &e,
        "bob@example.test",
        &bob_note,
        "#priority urgent\r\n#broadcast\r\n\r\nThe vendor is sending a part.",
    );
    let (t, note) = incident(&e, "gina@customer.example", "Printing broken");
    alice(&e, &note, &format!("#link {problem}"));
    let got = sent(&e, "problem_update", "gina@customer.example");
    assert_eq!(got.len(), 1, "told at once");
    let text = text_part(&got[0]);
    assert!(
        text.contains("is known to us") && text.contains("The vendor is sending a part."),
        "{text}"
    );
    assert!(header(&got[0], "Subject")
        .unwrap()
        .contains(&format!("#{t}]")));
}

#[test]
fn a_merge_moves_the_conversation_and_later_mail_to_either_lands_in_one() {
    let e = env();
    let (a, _) = incident(&e, "carol@example.com", "VPN down");
    let (b, note_b) = incident(&e, "dave@customer.example", "VPN not working");
    let b_mid = e.ticket(b)["messages"][0]["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = e.outbox().len();
    let row = alice(&e, &note_b, &format!("#merge {a}"));
    assert_eq!(row["outcome"], "command", "{row}");
    let tb = e.ticket(b);
    assert_eq!(tb["status"], "closed");
    assert_eq!(links(&e, b), vec![("merged_into".to_string(), a)]);
    assert_eq!(links(&e, a), vec![("merged_from".to_string(), b)]);
    let ta = e.ticket(a);
    assert!(
        ta["message_ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == &b_mid),
        "{ta}"
    );
    assert!(ta["participants"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["address"] == "dave@customer.example"));
    // No customer is mailed about the merge.
    let new: Vec<Value> = e.outbox().into_iter().skip(before).collect();
    assert!(
        new.iter().all(|r| r["kind"] == "command_receipt"),
        "{new:?}"
    );

    // Dave replies to his acknowledgement of ticket b: it lands in a.
    let ack = sent(&e, "ack", "dave@customer.example");
    let ack_id = header(&ack[0], "Message-ID").unwrap();
    let row = ingest(
        &e,
        &format!(
            "From: dave@customer.example\r\nTo: support@example.test\r\nSubject: Re: [Support #{b}] VPN not working\r\n\
             Message-ID: <d2@customer.example>\r\nIn-Reply-To: {ack_id}\r\nReferences: {ack_id}\r\nDate: Sat, 21 Nov 2026 12:00:00 +0000\r\n\r\nStill down.\r\n"
        ),
    );
    assert_eq!(row["ticket_id"], a, "{row}");
    assert_eq!(row["outcome"], "reply");
    // A subject tag alone names b too.
    let row = ingest(
        &e,
        &format!(
            "From: dave@customer.example\r\nTo: support@example.test\r\nSubject: [Support #{b}] again\r\n\
             Message-ID: <d3@customer.example>\r\nDate: Sat, 21 Nov 2026 12:30:00 +0000\r\n\r\nHello?\r\n"
        ),
    );
    assert_eq!(row["ticket_id"], a, "{row}");

    // What cannot be merged: a closed ticket, itself, one that does not exist.
    let (c, note_c) = incident(&e, "erin@other.example", "Other");
    for (line, why) in [
        (format!("#merge {b}"), "is closed".to_string()),
        (format!("#merge {c}"), "this ticket itself".to_string()),
        (
            "#merge 4242".to_string(),
            "there is no ticket #4242".to_string(),
        ),
    ] {
        alice(&e, &note_c, &line);
        assert!(
            command_error(&e).contains(&why),
            "{line}: {}",
            command_error(&e)
        );
        assert_eq!(e.ticket(c)["status"], "new", "{line}: nothing changed");
    }
}

#[test]
fn a_parent_waits_for_its_child_tasks_and_its_assignee_hears_when_the_last_is_done() {
    let e = env();
    let (parent, note) = incident(&e, "carol@example.com", "New starter needs a laptop");
    let row = alice(
        &e,
        &note,
        "#assign me\r\n#task general Order the laptop\r\n#task general Set up the accounts",
    );
    assert_eq!(row["outcome"], "command", "{row}");
    let children: Vec<i64> = links(&e, parent)
        .into_iter()
        .filter(|(k, _)| k == "child")
        .map(|(_, t)| t)
        .collect();
    assert_eq!(children.len(), 2);
    for c in &children {
        assert_eq!(links(&e, *c), vec![("parent".to_string(), parent)]);
        assert_eq!(e.ticket(*c)["requester"], "");
    }
    let row = alice(&e, &note, "#status resolved");
    assert_eq!(row["outcome"], "command");
    let err = command_error(&e);
    assert!(
        err.contains(&format!("#{}", children[0])) && err.contains("still open"),
        "{err}"
    );
    assert_eq!(e.ticket(parent)["status"], "new");

    // Bob does the tasks, from the notices he got of them.
    for (i, c) in children.iter().enumerate() {
        let n = notice(&e, "bob@example.test", *c);
        answer(&e, "bob@example.test", &n, "#status resolved");
        let told = sent(&e, "agent_notice", "alice@example.test")
            .into_iter()
            .filter(|m| {
                header(m, "Subject")
                    .unwrap()
                    .starts_with(&format!("[Support #{parent}] Child tasks done"))
            })
            .count();
        assert_eq!(told, i, "told only after the last one");
    }
    alice(&e, &note, "#status resolved");
    assert_eq!(e.ticket(parent)["status"], "resolved");
}

/// A type set by command changes the SLA policy where a policy applies to some types only.
#[test]
fn the_type_chooses_the_sla_policy() {
    let e = Env::with(
        &format!(
            "{}\n[[sla]]\nname = \"support\"\ntypes = [\"incident\"]\nfirst_response = {{ normal = \"4h\" }}\n\
             \n[[sla]]\nname = \"rca\"\ntypes = [\"problem\"]\nresolution = {{ normal = \"40h\" }}\n",
            crate::conversation::AGENTS
        ),
        None,
    );
    let (t, note) = incident(&e, "carol@example.com", "Slow");
    assert_eq!(
        e.ticket(t)["sla"]["policy"],
        Value::Null,
        "no type yet: no policy applies"
    );
    alice(&e, &note, "#type incident");
    assert_eq!(e.ticket(t)["sla"]["policy"], "support");
    alice(&e, &note, "#problem");
    let tj = e.ticket(t);
    assert_eq!(
        (tj["type"].as_str(), tj["sla"]["policy"].as_str()),
        (Some("problem"), Some("rca"))
    );
    assert!(tj["sla"]["resolution_due"].is_string(), "{tj}");
}

/// An agent's mail naming the ticket by its subject tag alone (agents verified by the relay).
fn by_tag(e: &Env, from: &str, t: i64, top: &str) -> Value {
    ingest(
        e,
        &format!(
            "From: {from}\r\nTo: support@example.test\r\nSubject: Re: [Support #{t}] x\r\n\
             Message-ID: <{:x}@example.test>\r\nDate: Sat, 21 Nov 2026 11:00:00 +0000\r\n\r\n{top}\r\n",
            fastrand::u64(..)
        ),
    )
}

/// The broadcast through the real Postfix into each customer's mailbox at Dovecot.
#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn a_broadcast_reaches_each_customer_through_postfix() {
    let (smtp, root) = (
        server_env("POSTDESK_TEST_SMTP"),
        server_env("POSTDESK_TEST_MAILROOT"),
    );
    let _servers = crate::util::servers_shared();
    let e = Env::with(
        &format!(
            "{}\n[security]\nagent_auth = \"trusted_relay\"\n",
            crate::conversation::AGENTS
        ),
        Some(&smtp_transport(&smtp)),
    );
    let tag = format!("{:x}", fastrand::u64(..));
    let mut tickets = Vec::new();
    for i in 0..3 {
        let mail = format!(
            "From: c{i}-{tag}@customer.example\r\nTo: support@example.test\r\nSubject: Printer {tag}\r\n\
             Message-ID: <{i}-{tag}@customer.example>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n\r\nBroken.\r\n"
        );
        tickets.push(ingest(&e, &mail)["ticket_id"].as_i64().unwrap());
    }
    let row = by_tag(&e, "alice@example.test", tickets[0], "#problem Printers");
    assert_eq!(row["outcome"], "command", "{row}");
    let problem = e.tickets().iter().find(|t| t["type"] == "problem").unwrap()["id"]
        .as_i64()
        .unwrap();
    for t in &tickets[1..] {
        by_tag(&e, "alice@example.test", *t, &format!("#link {problem}"));
    }
    by_tag(
        &e,
        "bob@example.test",
        problem,
        &format!("#broadcast\r\n\r\nFixed {tag}."),
    );
    let updates: Vec<Value> = e
        .outbox()
        .into_iter()
        .filter(|r| r["kind"] == "problem_update")
        .collect();
    assert_eq!(updates.len(), 3, "{updates:?}");
    assert!(updates.iter().all(|r| r["status"] == "sent"), "{updates:?}");
    for i in 0..3 {
        let to = format!("c{i}-{tag}@customer.example");
        let got = wait_for(30, "the update in the customer's mailbox", || {
            let v: Vec<String> = crate::smtp::delivered(&root, &format!("Fixed {tag}."))
                .into_iter()
                .filter(|m| m.contains(&format!("Delivered-To: {to}")))
                .collect();
            (!v.is_empty()).then_some(v)
        });
        assert_eq!(got.len(), 1, "{to}: once");
        let m = got[0].replace('\n', "\r\n").replace("\r\r\n", "\r\n");
        assert_eq!(
            header(&m, "In-Reply-To"),
            Some(format!("<{i}-{tag}@customer.example>"))
        );
    }
}

fn chrono_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `[[recurring]]`: a missed run is opened once at start by two instances, and every scheduled
/// time after that opens one ticket, in its queue, with its type, told to the queue's agents.
#[test]
fn a_recurring_ticket_opens_once_per_scheduled_time_across_two_instances() {
    let e = Env::with(
        &format!(
            "{}\n[[recurring]]\nname = \"backup-check\"\ncron = \"0 0 * * * *\"\ntimezone = \"Europe/Berlin\"\n\
             subject = \"Weekly backup restore test\"\nqueue = \"general\"\ntype = \"request\"\ntext = \"Restore one file from last night's backup.\"\n",
            crate::conversation::AGENTS
        ),
        None,
    );
    // The last run was three hours ago: the service was down for the two hours since.
    let three_hours_ago = chrono_ms() / 3_600_000 * 3_600_000 - 3 * 3_600_000;
    e.ok(&["migrate"]);
    e.sql(&format!(
        "INSERT INTO digest_runs (name, scheduled_for, sent_at) VALUES ('recurring:backup-check', {three_hours_ago}, {three_hours_ago})"
    ));
    let (a, b) = (e.serve(), e.serve());
    wait_for(20, "the caught-up recurring ticket", || {
        (!e.tickets().is_empty()).then_some(())
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    e.terminate(a);
    e.terminate(b);
    let tickets = e.tickets();
    let boundary = chrono_ms() / 3_600_000 * 3_600_000 > three_hours_ago + 3 * 3_600_000;
    assert_eq!(
        tickets.len(),
        if boundary { 2 } else { 1 },
        "{}",
        e.serve_log()
    );
    let t = &tickets[0];
    assert_eq!(
        (
            t["subject"].as_str(),
            t["type"].as_str(),
            t["queue"].as_str(),
            t["status"].as_str()
        ),
        (
            Some("Weekly backup restore test"),
            Some("request"),
            Some("general"),
            Some("new")
        )
    );
    let id = t["id"].as_i64().unwrap();
    let full = e.ticket(id);
    assert_eq!(
        full["messages"][0]["text"],
        "Restore one file from last night's backup."
    );
    for agent in ["alice@example.test", "bob@example.test"] {
        assert_eq!(
            sent(&e, "agent_notice", agent)
                .iter()
                .filter(|m| header(m, "Subject")
                    .unwrap()
                    .contains("New recurring ticket"))
                .count(),
            tickets.len(),
            "{agent}"
        );
    }
}

/// Every second: each scheduled time opens exactly one ticket while two instances run.
#[test]
fn a_recurring_ticket_every_second_is_opened_once_per_second_by_two_instances() {
    let e = Env::with(
        "\n[[recurring]]\nname = \"tick\"\ncron = \"* * * * * *\"\nsubject = \"Tick\"\ncatch_up = false\n",
        None,
    );
    e.ok(&["migrate"]);
    let (a, b) = (e.serve(), e.serve());
    wait_for(30, "three recurring tickets", || {
        (e.tickets().len() >= 3).then_some(())
    });
    e.terminate(a);
    e.terminate(b);
    let runs = e.count("SELECT COUNT(*) AS n FROM digest_runs WHERE name = 'recurring:tick'");
    let distinct = e.count(
        "SELECT COUNT(DISTINCT scheduled_for) AS n FROM digest_runs WHERE name = 'recurring:tick'",
    );
    assert_eq!(runs, distinct, "one run per scheduled time");
    assert_eq!(e.tickets().len() as i64, runs, "one ticket per run");
}

/// The digest lists the open problems with their incidents, the links and merges of the
/// period, and the recurring tickets due.
#[test]
fn the_digest_shows_problems_links_merges_and_recurring_tickets() {
    let e = Env::with(
        &format!(
            "{}\n[[agents]]\naddress = \"boss@example.test\"\nname = \"Mia Manager\"\nrole = \"manager\"\n\
             \n[[digests]]\nname = \"daily\"\ncron = \"0 0 8 * * *\"\nto = [\"boss@example.test\"]\nperiod = \"1d\"\n\
             \n[[recurring]]\nname = \"backup-check\"\ncron = \"0 0 * * * *\"\nsubject = \"Backup restore test\"\n",
            crate::conversation::AGENTS
        ),
        None,
    );
    let (problem, _) = problem_with_incidents(&e);
    let (a, _) = incident(&e, "gina@customer.example", "VPN down");
    let (_, note_b) = incident(&e, "hal@customer.example", "VPN down too");
    alice(&e, &note_b, &format!("#merge {a}"));
    let m = e.ok(&["digest", "daily", "--dry-run"]);
    let t = text_part(&m);
    assert!(
        t.contains("OPEN PROBLEMS (1); in the period 4 incidents linked, 1 merges"),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "[Support #{problem}] Printers on floor 2 fail - 4 incidents (4 open)"
        )),
        "{t}"
    );
    assert!(t.contains("Backup restore test (general)"), "{t}");
}

/// A customer's own ticket made a problem: its notifications list the incidents, and its
/// customer, who also has a linked incident, hears the broadcast once (as the answer).
#[test]
fn a_customers_ticket_made_a_problem_lists_its_incidents_and_its_customer_hears_once() {
    let e = env();
    let (problem, note_p) = incident(&e, "carol@example.com", "Nobody can print");
    alice(&e, &note_p, "#problem");
    assert_eq!(e.ticket(problem)["type"], "problem");
    for (who, subject) in [
        ("carol@example.com", "My printer too"),
        ("dave@customer.example", "Printer offline"),
    ] {
        let (_, note) = incident(&e, who, subject);
        alice(&e, &note, &format!("#link {problem}"));
    }
    // Carol writes again on the problem ticket: the agents see its incidents.
    let ack = sent(&e, "ack", "carol@example.com");
    let ack_id = header(&ack[0], "Message-ID").unwrap();
    ingest(
        &e,
        &format!(
            "From: carol@example.com\r\nTo: support@example.test\r\nSubject: Re: [Support #{problem}] Nobody can print\r\n\
             Message-ID: <again@example.com>\r\nIn-Reply-To: {ack_id}\r\nReferences: {ack_id}\r\nDate: Sat, 21 Nov 2026 12:00:00 +0000\r\n\r\nStill nothing.\r\n"
        ),
    );
    let note = sent(&e, "notify_agent", "alice@example.test")
        .into_iter()
        .rev()
        .find(|m| {
            header(m, "Subject")
                .unwrap()
                .contains(&format!("#{problem}]"))
        })
        .unwrap();
    let text = text_part(&note);
    assert!(
        text.contains("Incidents: 2 linked, 2 open; oldest [Support #"),
        "{text}"
    );
    assert!(
        text.contains("from customer.example, example.com")
            || text.contains("from example.com, customer.example"),
        "{text}"
    );

    alice(&e, &note, "#broadcast\r\n\r\nThe print server is back.");
    assert_eq!(
        sent(&e, "agent_reply", "carol@example.com").len(),
        1,
        "the answer on the problem"
    );
    assert!(
        sent(&e, "problem_update", "carol@example.com").is_empty(),
        "not twice"
    );
    assert_eq!(sent(&e, "problem_update", "dave@customer.example").len(), 1);
}

/// With agents verified by the relay, a confirmation written to the plain support address
/// (the ticket named by its tag) sends the held broadcast too.
#[test]
fn a_held_broadcast_is_confirmed_by_tag_where_the_relay_verifies_agents() {
    let e = Env::with(
        &format!(
            "{}\n[problems]\nconfirm_above = 1\n\n[security]\nagent_auth = \"trusted_relay\"\n",
            crate::conversation::AGENTS
        ),
        None,
    );
    let (problem, _) = problem_with_incidents(&e);
    by_tag(
        &e,
        "bob@example.test",
        problem,
        "#broadcast\r\n\r\nWe are on it.",
    );
    assert!(
        sent(&e, "problem_update", "carol@example.com").is_empty(),
        "held"
    );
    let row = by_tag(&e, "bob@example.test", problem, "#broadcast confirm");
    assert_eq!(row["outcome"], "command", "{row}");
    assert_eq!(sent(&e, "problem_update", "carol@example.com").len(), 1);
}
