//! The whole conversation through the real servers, with a real mail client: a customer writes
//! (through Postfix into the desk's Dovecot mailbox), `serve` opens a ticket and notifies the
//! agent; the agent answers the notification with mutt (batch mode, over IMAP and SMTP), with a
//! command above her text; the customer receives only her text, from the support identity,
//! threaded to their own mail.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::util::{header, in_maildir, mail_servers, servers_shared, wait_for, Env};

pub(crate) fn smtp_send(smtp: &str, from: &str, to: &str, data: &str) {
    use std::io::{BufRead, BufReader, Write};
    let s = std::net::TcpStream::connect(smtp).unwrap();
    // A server that accepts and never answers fails the test instead of stalling the run.
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    s.set_write_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    let mut line = String::new();
    let mut expect = |r: &mut BufReader<std::net::TcpStream>, code: &str| loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        assert!(line.starts_with(code), "SMTP: expected {code}, got {line}");
        if line.as_bytes().get(3) == Some(&b' ') {
            break;
        }
    };
    expect(&mut r, "220");
    for (cmd, code) in [
        ("EHLO customer.test".to_string(), "250"),
        (format!("MAIL FROM:<{from}>"), "250"),
        (format!("RCPT TO:<{to}>"), "250"),
        ("DATA".to_string(), "354"),
    ] {
        write!(w, "{cmd}\r\n").unwrap();
        expect(&mut r, code);
    }
    write!(w, "{data}\r\n.\r\n").unwrap();
    expect(&mut r, "250");
    write!(w, "QUIT\r\n").unwrap();
}

/// A customer's first mail to the desk through Postfix (its Message-ID is `<ADDRESS>`).
fn customer_writes(smtp: &str, customer: &str, subject: &str, body: &str) {
    smtp_send(
        smtp,
        customer,
        "helpdesk@example.test",
        &format!(
            "From: {customer}\r\nTo: helpdesk@example.test\r\nSubject: {subject}\r\n\
             Message-ID: <{customer}>\r\nDate: Sat, 21 Nov 2026 09:00:00 +0100\r\n\r\n{body}\r\n"
        ),
    );
}

/// `from` (`Name <address>` or an address) answers `mail` through Postfix: to its Reply-To,
/// threaded to it, with `top` as the text.
fn answer_through_smtp(smtp: &str, from: &str, mail: &str, message_id: &str, top: &str) {
    let to = header(mail, "Reply-To").unwrap();
    let to = to[to.find('<').unwrap() + 1..to.find('>').unwrap()].to_string();
    let sender = from
        .rsplit_once('<')
        .map_or(from, |(_, a)| a.trim_end_matches('>'));
    smtp_send(
        smtp,
        sender,
        &to,
        &format!(
            "From: {from}\r\nTo: {to}\r\nSubject: Re: {}\r\nMessage-ID: {message_id}\r\n\
             In-Reply-To: {}\r\n\r\n{top}\r\n",
            header(mail, "Subject").unwrap(),
            header(mail, "Message-ID").unwrap()
        ),
    );
}

/// The desk's mailbox is shared by the tests here: one at a time.
static DESK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A desk whose address (helpdesk@example.test) has a Dovecot account of its own, read over
/// IMAP (mail deleted once stored, so the passes on both backends start empty), sending through
/// Postfix; agent@example.test is its agent. `extra` is appended to the config.
fn desk_env(imap: &str, smtp: &str, extra: &str) -> Env {
    let (ihost, iport) = imap.rsplit_once(':').unwrap();
    let (shost, sport) = smtp.rsplit_once(':').unwrap();
    // The desk's address has a Dovecot account of its own (helpdesk@); the agent is agent@.
    let env = Env::with(
        &format!(
            "\n[[agents]]\naddress = \"agent@example.test\"\nname = \"Alice Agent\"\nqueues = [\"general\"]\n\
             \n[[mailboxes]]\nname = \"desk\"\nkind = \"imap\"\nhost = \"{ihost}\"\nport = {iport}\ntls = \"none\"\n\
             username = \"helpdesk@example.test\"\npassword = \"secret\"\nfolder = \"INBOX\"\nafter = \"delete\"\n\
             poll_interval = \"500ms\"\nqueue = \"general\"\n{extra}"
        ),
        Some(&format!(
            "kind = \"smtp\"\nhost = \"{shost}\"\nport = {sport}\ntls = \"none\"\nretry_first = \"1s\""
        )),
    );
    let text = std::fs::read_to_string(&env.config).unwrap();
    let start = text.find("[[mailboxes]]\nname = \"support\"").unwrap();
    let end = start
        + text[start..].find("poll_interval = \"200ms\"\n").unwrap()
        + "poll_interval = \"200ms\"\n".len();
    let text = format!("{}{}", &text[..start], &text[end..]).replace(
        "address = \"support@example.test\"",
        "address = \"helpdesk@example.test\"",
    );
    std::fs::write(&env.config, text).unwrap();
    env
}

/// The agent answers the notification `note_mid` with mutt (batch mode, over IMAP and SMTP),
/// writing `top` (printf text) above the quoted notification.
fn mutt_answer(env: &Env, imap: &str, smtp: &str, note_mid: &str, top: &str) {
    let dir = env.path(&format!("mutt-{:x}", fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    let editor = dir.join("editor.sh");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/sh\n{{ printf '{top}'; cat \"$1\"; }} > \"$1.new\" && mv \"$1.new\" \"$1\"\n"
        ),
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&editor)
        .status()
        .unwrap();
    let rc = dir.join("muttrc");
    std::fs::write(
        &rc,
        format!(
            "set folder=\"imap://agent%40example.test@{imap}/\"\nset spoolfile=\"+INBOX\"\nset imap_pass=\"secret\"\n\
             set smtp_url=\"smtp://{smtp}/\"\nset from=\"agent@example.test\"\nset realname=\"Alice Agent\"\n\
             set hostname=\"example.test\"\nset editor=\"{}\"\nset fast_reply=yes\nset include=yes\nset reply_to=yes\n\
             set abort_unmodified=no\nset copy=no\nset record=\"\"\nset quit=yes\nset wait_key=no\nset header_cache=\"\"\n\
             set ssl_starttls=no\nset ssl_force_tls=no\nset mail_check=60\nset sleep_time=0\nset confirmappend=no\n",
            editor.display()
        ),
    )
    .unwrap();
    let mutt = format!(
        "mutt -n -F {} -e 'push \"<limit>~i {}<enter><reply><send-message><quit>\"'",
        rc.display(),
        note_mid.trim_matches(['<', '>'])
    );
    // mutt stops at a prompt when anything goes wrong (a refused login, a failed send): bounded
    // by `timeout`, with its screen kept to show what it asked.
    let screen = dir.join("screen");
    let status = Command::new("timeout")
        .args(["-k", "5", "120", "script", "-qec", &mutt])
        .arg(&screen)
        .env("HOME", &dir)
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("mutt runs (tests/run.sh installs it)");
    assert!(
        status.success(),
        "mutt failed or hung ({status}); its screen:\n{}\nserve.log:\n{}",
        String::from_utf8_lossy(&std::fs::read(&screen).unwrap_or_default()),
        env.serve_log()
    );
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn an_agent_answers_a_notification_with_mutt_and_the_customer_gets_the_answer_threaded() {
    let (imap, smtp, root) = mail_servers();
    let _servers = servers_shared();
    let _desk = DESK.lock().unwrap_or_else(|e| e.into_inner());
    let env = desk_env(&imap, &smtp, "");
    let daemon = env.serve();

    let customer = format!("c{:x}@customer.test", fastrand::u64(..));
    let customer_mid = format!("<{customer}>");
    smtp_send(
        &smtp,
        &customer,
        "helpdesk@example.test",
        &format!(
            "From: Carol Customer <{customer}>\r\nTo: helpdesk@example.test\r\nSubject: Printer on fire\r\n\
             Message-ID: {customer_mid}\r\nDate: Sat, 21 Nov 2026 09:00:00 +0100\r\n\r\nOur printer is on fire. Please help.\r\n"
        ),
    );

    // The notification reaches the agent's mailbox.
    let agent_dir = PathBuf::from(&root).join("example.test/agent/Maildir");
    let note = wait_for(60, "the notification in the agent's mailbox", || {
        in_maildir(&agent_dir, &customer)
            .into_iter()
            .find(|m| header(m, "Subject").is_some_and(|s| s.contains("Printer on fire")))
    });
    let note_mid = header(&note, "Message-ID").unwrap();
    assert!(
        header(&note, "Reply-To").unwrap().contains("helpdesk+1."),
        "{note}"
    );

    // mutt answers it: a command and a line of text above the quoted notification.
    mutt_answer(
        &env,
        &imap,
        &smtp,
        &note_mid,
        "#priority high\\n\\nWe put the fire out and replaced the fuser.\\n\\n",
    );

    // The customer gets the answer: from the desk, threaded to their mail, only the new text.
    let catchall = PathBuf::from(&root).join("catchall/Maildir");
    let answer = wait_for(60, "the agent's answer in the customer's mailbox", || {
        in_maildir(&catchall, &customer).into_iter().find(|m| {
            header(m, "From").is_some_and(|f| f.contains("Alice Agent via Example Support"))
        })
    });
    assert_eq!(
        header(&answer, "In-Reply-To").as_deref(),
        Some(customer_mid.as_str())
    );
    assert!(header(&answer, "From")
        .unwrap()
        .contains("<helpdesk@example.test>"));
    assert!(header(&answer, "Delivered-To").unwrap().contains(&customer));
    let body = answer.replace("=\r\n", "");
    assert!(
        body.contains("We put the fire out and replaced the fuser."),
        "{answer}"
    );
    for gone in [
        "#priority",
        "Reply above this line",
        "Our printer is on fire",
    ] {
        assert!(
            !body.contains(gone),
            "'{gone}' reached the customer:\n{answer}"
        );
    }
    let t = env.ticket(1);
    assert_eq!(t["priority"], "high", "the command was obeyed");
    assert_eq!(t["status"], "open");
    let inbound = env.inbound();
    assert!(
        inbound
            .iter()
            .any(|r| r["outcome"] == "agent_reply" && r["matched_by"] == "plus_address"),
        "{inbound:?}"
    );
    env.terminate(daemon);
}

/// Issue #18 from a real mail client: two customers report one outage; the agent merges the
/// second ticket into the first with mutt; the second customer's answer to their own
/// acknowledgement lands in the first ticket.
#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn an_agent_merges_a_duplicate_with_mutt_and_the_customers_next_mail_lands_in_the_first() {
    let (imap, smtp, root) = mail_servers();
    let _servers = servers_shared();
    let _desk = DESK.lock().unwrap_or_else(|e| e.into_inner());
    let env = desk_env(&imap, &smtp, "");
    let daemon = env.serve();
    let tag = format!("{:x}", fastrand::u64(..));
    let customers = [
        format!("a{tag}@customer.test"),
        format!("b{tag}@customer.test"),
    ];
    for c in &customers {
        smtp_send(
            &smtp,
            c,
            "helpdesk@example.test",
            &format!(
                "From: {c}\r\nTo: helpdesk@example.test\r\nSubject: VPN down {tag}\r\n\
                 Message-ID: <{c}>\r\nDate: Sat, 21 Nov 2026 09:00:00 +0100\r\n\r\nThe VPN is down.\r\n"
            ),
        );
        // One after the other, so the tickets are #1 and #2 in this order.
        wait_for(60, "the ticket", || {
            env.inbound()
                .iter()
                .any(|r| r["from"] == c.as_str() && r["ticket_id"].is_i64())
                .then_some(())
        });
    }
    let agent_dir = PathBuf::from(&root).join("example.test/agent/Maildir");
    let note = wait_for(60, "the notification of ticket 2", || {
        in_maildir(&agent_dir, &customers[1])
            .into_iter()
            .find(|m| header(m, "Subject").is_some_and(|s| s.contains("[Support #2]")))
    });
    mutt_answer(
        &env,
        &imap,
        &smtp,
        &header(&note, "Message-ID").unwrap(),
        "#merge 1\\n\\n",
    );
    wait_for(60, "ticket 2 merged into 1", || {
        (env.ticket(2)["status"] == "closed").then_some(())
    });
    assert_eq!(env.ticket(2)["links"][0]["kind"], "merged_into");
    assert_eq!(env.ticket(1)["links"][0]["kind"], "merged_from");

    // The second customer answers their acknowledgement of ticket 2.
    let catchall = PathBuf::from(&root).join("catchall/Maildir");
    let ack = wait_for(60, "the acknowledgement of ticket 2", || {
        in_maildir(&catchall, &customers[1])
            .into_iter()
            .find(|m| header(m, "Subject").is_some_and(|s| s.contains("[Support #2]")))
    });
    let ack_mid = header(&ack, "Message-ID").unwrap();
    let c = &customers[1];
    smtp_send(
        &smtp,
        c,
        "helpdesk@example.test",
        &format!(
            "From: {c}\r\nTo: helpdesk@example.test\r\nSubject: Re: [Support #2] VPN down {tag}\r\n\
             Message-ID: <r-{c}>\r\nIn-Reply-To: {ack_mid}\r\nReferences: {ack_mid}\r\n\
             Date: Sat, 21 Nov 2026 10:00:00 +0100\r\n\r\nStill down here.\r\n"
        ),
    );
    let row = wait_for(60, "the reply stored", || {
        env.inbound()
            .into_iter()
            .find(|r| r["message_id"] == format!("<r-{c}>").as_str())
    });
    assert_eq!(row["ticket_id"], 1, "{row}");
    assert_eq!(row["outcome"], "reply", "{row}");
    env.terminate(daemon);
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn through_the_servers_a_forged_command_is_refused_and_an_auto_responder_is_capped() {
    let (imap, smtp, root) = mail_servers();
    let _servers = servers_shared();
    let _desk = DESK.lock().unwrap_or_else(|e| e.into_inner());
    let env = desk_env(&imap, &smtp, "\n[limits]\nauto_replies_per_hour = 3\n");
    let daemon = env.serve();
    let catchall = PathBuf::from(&root).join("catchall/Maildir");

    // A naive auto-responder: it answers every mail it gets with a new one (no threading
    // headers, no Auto-Submitted), so each answer would open a ticket and get acknowledged.
    let bot = format!("bot{:x}@customer.test", fastrand::u64(..));
    let mail = |n: usize| {
        format!(
            "From: {bot}\r\nTo: helpdesk@example.test\r\nSubject: Automatic answer {n}\r\n\
             Message-ID: <{n}.{bot}>\r\n\r\nI received your mail and will read it later.\r\n"
        )
    };
    let acks = |want: usize| {
        wait_for(60, &format!("{want} acknowledgements to the bot"), || {
            let n = in_maildir(&catchall, &bot).len();
            (n >= want).then_some(n)
        })
    };
    smtp_send(&smtp, &bot, "helpdesk@example.test", &mail(0));
    for round in 1..=3 {
        acks(round);
        smtp_send(&smtp, &bot, "helpdesk@example.test", &mail(round));
    }
    // The fourth mail is stored as a ticket, and not answered.
    wait_for(60, "the bot's fourth mail stored", || {
        (env.inbound()
            .iter()
            .filter(|r| r["from"] == bot.as_str())
            .count()
            == 4)
            .then_some(())
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(in_maildir(&catchall, &bot).len(), 3, "capped at 3 an hour");
    let t = env.ticket(4);
    assert!(
        t["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "auto_reply_suppressed"),
        "{t}"
    );

    // A forged command: From the agent, threaded, but not to her signed reply address.
    let agent_dir = PathBuf::from(&root).join("example.test/agent/Maildir");
    let note = wait_for(60, "a notification about the bot's ticket", || {
        in_maildir(&agent_dir, &bot).into_iter().next()
    });
    let note_mid = header(&note, "Message-ID").unwrap();
    let ticket: i64 = {
        let s = header(&note, "Subject").unwrap();
        s[s.find('#').unwrap() + 1..s.find(']').unwrap()]
            .parse()
            .unwrap()
    };
    smtp_send(
        &smtp,
        "agent@example.test",
        "helpdesk@example.test",
        &format!(
            "From: Alice Agent <agent@example.test>\r\nTo: helpdesk@example.test\r\nSubject: Re: [Support #{ticket}]\r\n\
             Message-ID: <forged.{bot}>\r\nIn-Reply-To: {note_mid}\r\n\r\n#status closed\r\n#assign me\r\n"
        ),
    );
    let row = wait_for(60, "the forged mail stored", || {
        env.inbound()
            .into_iter()
            .find(|r| r["message_id"] == format!("<forged.{bot}>").as_str())
    });
    assert_eq!(row["outcome"], "reply", "{row}");
    assert!(
        row["reason"].as_str().unwrap().contains("not verified"),
        "{row}"
    );
    let t = env.ticket(ticket);
    assert_eq!(t["status"], "new");
    assert!(t["assignee"].is_null());
    env.terminate(daemon);
}

/// Issue #20 from a real mail client: the agent searches by mail with mutt, gets the tickets
/// and the article back in her mailbox, and answers the customer with the article.
#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn an_agent_searches_and_answers_with_an_article_from_mutt() {
    let (imap, smtp, root) = mail_servers();
    let _servers = servers_shared();
    let _desk = DESK.lock().unwrap_or_else(|e| e.into_inner());
    let env = desk_env(&imap, &smtp, "\n[knowledge]\ndir = \"knowledge\"\n");
    std::fs::create_dir_all(env.path("knowledge")).unwrap();
    std::fs::write(
        env.path("knowledge/vpn-reset.md"),
        "# Resetting your VPN\n\nHello {{customer.display}}, open the VPN client and press Reset.\n",
    )
    .unwrap();
    let daemon = env.serve();

    let tag = format!("{:x}", fastrand::u64(..));
    let customer = format!("c{tag}@customer.test");
    smtp_send(
        &smtp,
        &customer,
        "helpdesk@example.test",
        &format!(
            "From: Carol Customer <{customer}>\r\nTo: helpdesk@example.test\r\nSubject: VPN down {tag}\r\n\
             Message-ID: <{customer}>\r\nDate: Sat, 21 Nov 2026 09:00:00 +0100\r\n\r\nThe VPN does not connect.\r\n"
        ),
    );
    let agent_dir = PathBuf::from(&root).join("example.test/agent/Maildir");
    let subject = |m: &String, s: &str| header(m, "Subject").is_some_and(|h| h.contains(s));
    let note = wait_for(60, "the notification in the agent's mailbox", || {
        in_maildir(&agent_dir, &tag)
            .into_iter()
            .find(|m| subject(m, &format!("VPN down {tag}")) && !subject(m, "Search"))
    });
    let note_mid = header(&note, "Message-ID").unwrap();

    mutt_answer(&env, &imap, &smtp, &note_mid, "#search vpn\\n\\n");
    let found = wait_for(60, "the search result in the agent's mailbox", || {
        in_maildir(&agent_dir, &tag)
            .into_iter()
            .find(|m| subject(m, "Search: vpn"))
    });
    let body = found.replace("=\r\n", "");
    assert!(
        body.contains("Article vpn-reset (Resetting your VPN)"),
        "{found}"
    );
    assert!(body.contains(&format!("VPN down {tag}")), "{found}");
    assert!(env.inbound().iter().any(|r| r["outcome"] == "search"));

    mutt_answer(
        &env,
        &imap,
        &smtp,
        &note_mid,
        "#reply vpn-reset\\n\\nThis should do it:\\n\\n",
    );
    let catchall = PathBuf::from(&root).join("catchall/Maildir");
    let answer = wait_for(60, "the article in the customer's mailbox", || {
        in_maildir(&catchall, &customer).into_iter().find(|m| {
            header(m, "From").is_some_and(|f| f.contains("Alice Agent via Example Support"))
        })
    });
    let body = answer.replace("=\r\n", "");
    assert!(body.contains("This should do it:"), "{answer}");
    assert!(
        body.contains("Hello Carol Customer, open the VPN client and press Reset."),
        "{answer}"
    );
    assert!(!body.contains("#reply"), "{answer}");
    env.terminate(daemon);
}

/// Issue #20 through the real servers: the agent resolves by mail, the survey reaches the
/// customer's mailbox through Postfix and Dovecot in their thread, and the customer's digit
/// answer comes back the same way, scores the ticket without reopening it, and a low score
/// reaches the agent's mailbox.
#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn a_customer_answers_the_satisfaction_survey_through_the_servers() {
    let (imap, smtp, root) = mail_servers();
    let _servers = servers_shared();
    let _desk = DESK.lock().unwrap_or_else(|e| e.into_inner());
    let env = desk_env(
        &imap,
        &smtp,
        "\n[csat]\ndelay = \"1s\"\n\n[scheduler]\nsla_sweep = \"* * * * * *\"\n",
    );
    let daemon = env.serve();
    let tag = format!("{:x}", fastrand::u64(..));
    let customer = format!("c{tag}@customer.test");
    customer_writes(
        &smtp,
        &customer,
        &format!("Toner empty {tag}"),
        "The printer has no toner.",
    );
    let agent_dir = PathBuf::from(&root).join("example.test/agent/Maildir");
    let note = wait_for(60, "the notification", || {
        in_maildir(&agent_dir, &customer).into_iter().next()
    });
    answer_through_smtp(
        &smtp,
        "Alice Agent <agent@example.test>",
        &note,
        &format!("<r{tag}@example.test>"),
        "#status resolved\r\n\r\nNew toner is in.",
    );
    let catchall = PathBuf::from(&root).join("catchall/Maildir");
    let survey = wait_for(60, "the survey in the customer's mailbox", || {
        in_maildir(&catchall, &customer)
            .into_iter()
            .find(|m| header(m, "Auto-Submitted").as_deref() == Some("auto-generated"))
    });
    assert_eq!(
        header(&survey, "In-Reply-To"),
        Some(format!("<{customer}>"))
    );
    assert_eq!(
        header(&survey, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    let survey_mid = header(&survey, "Message-ID").unwrap();
    smtp_send(
        &smtp,
        &customer,
        "helpdesk@example.test",
        &format!(
            "From: Carol Customer <{customer}>\r\nTo: helpdesk@example.test\r\nSubject: Re: {}\r\n\
             Message-ID: <a{tag}@customer.test>\r\nIn-Reply-To: {survey_mid}\r\nReferences: {survey_mid}\r\n\r\n\
             2\r\nIt took three days.\r\n\r\n> How satisfied are you?\r\n",
            header(&survey, "Subject").unwrap()
        ),
    );
    let row = wait_for(60, "the answer stored", || {
        env.inbound()
            .into_iter()
            .find(|r| r["message_id"] == format!("<a{tag}@customer.test>").as_str())
    });
    assert_eq!(row["outcome"], "csat", "{row}");
    let t = env.ticket(row["ticket_id"].as_i64().unwrap());
    assert_eq!(t["status"], "resolved", "{t}");
    assert_eq!(t["csat"]["score"], 2, "{t}");
    assert_eq!(t["csat"]["comment"], "It took three days.", "{t}");
    let low = wait_for(60, "the low-score notice in the agent's mailbox", || {
        in_maildir(&agent_dir, "2 of 5")
            .into_iter()
            .find(|m| m.contains(&tag))
    });
    assert!(low.contains("It took three days."), "{low}");
    env.terminate(daemon);
}

/// Issue #19 through the real servers: a change needs the approval of an approver outside the
/// desk; the request reaches their mailbox through Postfix and Dovecot, they are reminded, the
/// queue's manager is told when they still wait, and their answer through their signed reply
/// address approves it; the customer hears the outcome.
/// A desk for the approval tests through the servers: the shared servers and the desk's
/// mailbox held, a tag that makes this run's addresses and subjects its own, and an approver,
/// `boss-TAG@approvers.test`, outside the desk.
struct ApprovalDesk {
    env: Env,
    smtp: String,
    root: String,
    tag: String,
    boss: String,
    _servers: std::sync::RwLockReadGuard<'static, ()>,
    _desk: std::sync::MutexGuard<'static, ()>,
}

impl ApprovalDesk {
    /// `config(tag, boss)` is appended to the desk's config.
    fn new(config: impl Fn(&str, &str) -> String) -> ApprovalDesk {
        let (imap, smtp, root) = mail_servers();
        let servers = servers_shared();
        let desk = DESK.lock().unwrap_or_else(|e| e.into_inner());
        let tag = format!("{:x}", fastrand::u64(..));
        let boss = format!("boss-{tag}@approvers.test");
        let env = desk_env(&imap, &smtp, &config(&tag, &boss));
        ApprovalDesk {
            env,
            smtp,
            root,
            tag,
            boss,
            _servers: servers,
            _desk: desk,
        }
    }

    /// The mailbox of every address outside the desk's domain.
    fn catchall(&self) -> PathBuf {
        PathBuf::from(&self.root).join("catchall/Maildir")
    }

    fn agent_dir(&self) -> PathBuf {
        PathBuf::from(&self.root).join("example.test/agent/Maildir")
    }

    /// Waits for the approval request in the approver's mailbox.
    fn approval_request(&self) -> String {
        wait_for(60, "the approval request in the approver's mailbox", || {
            in_maildir(&self.catchall(), &self.boss)
                .into_iter()
                .find(|m| header(m, "Subject").is_some_and(|s| s.contains("Approval asked")))
        })
    }
}

#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn an_approver_is_reminded_and_approves_by_mail_through_the_servers() {
    let desk = ApprovalDesk::new(|tag, boss| {
        format!(
            "\n[[agents]]\naddress = \"mgr-{tag}@example.test\"\nname = \"Mia Manager\"\nrole = \"manager\"\n\
             \n[[approvals]]\nname = \"cab\"\nsteps = [ {{ approvers = [\"{boss}\"] }} ]\nremind_after = \"2s\"\n\
             \n[changes]\napproval = {{ high = \"cab\" }}\n\n[scheduler]\nsla_sweep = \"* * * * * *\"\n"
        )
    });
    let (env, smtp, tag, boss) = (
        &desk.env,
        desk.smtp.as_str(),
        desk.tag.as_str(),
        desk.boss.as_str(),
    );
    let daemon = env.serve();
    let customer = format!("c{tag}@customer.test");
    customer_writes(
        smtp,
        &customer,
        &format!("Move the file server {tag}"),
        "Please move the file server to the new rack.",
    );
    let agent_dir = desk.agent_dir();
    let note = wait_for(60, "the notification", || {
        in_maildir(&agent_dir, &customer).into_iter().next()
    });
    answer_through_smtp(
        smtp,
        "Alice Agent <agent@example.test>",
        &note,
        &format!("<r{tag}@example.test>"),
        "#type change\r\n#set risk high",
    );
    let catchall = desk.catchall();
    let request = desk.approval_request();
    wait_for(60, "the reminder", || {
        in_maildir(&catchall, boss)
            .into_iter()
            .find(|m| m.replace("=\n", "").contains("Reminder: your decision"))
    });
    let t: i64 = env
        .tickets()
        .iter()
        .find(|t| t["subject"].as_str().unwrap().contains(tag))
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    wait_for(60, "the escalation to the manager", || {
        env.ticket(t)["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "approval_escalated")
            .then_some(())
    });
    answer_through_smtp(
        smtp,
        boss,
        &request,
        &format!("<b{tag}@approvers.test>"),
        "#approve go ahead",
    );
    wait_for(60, "the chain approved", || {
        (env.ticket(t)["approval"]["state"] == "approved").then_some(())
    });
    let outcome = wait_for(60, "the outcome in the customer's mailbox", || {
        in_maildir(&catchall, &customer)
            .into_iter()
            .find(|m| header(m, "Subject").is_some_and(|s| s.contains("Approved")))
    });
    assert!(
        outcome.replace("=\n", "").contains("is approved (cab)"),
        "{outcome}"
    );
    env.terminate(daemon);
}

/// Issue #19 through the real servers: a laptop request from the customer's first mail to its
/// fulfilment, every mail through Postfix and Dovecot: the missing field asked and answered,
/// the approval by the approver's signed address, the tasks resolved by the agent, and the
/// customer told it is done.
#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn a_laptop_request_is_fulfilled_through_the_servers() {
    let desk = ApprovalDesk::new(|_tag, boss| {
        format!(
            "\n[[approvals]]\nname = \"boss\"\nsteps = [ {{ approvers = [\"{boss}\"] }} ]\n\
             \n[[catalog]]\nname = \"laptop\"\ntitle = \"New laptop\"\nmatch = {{ subject = \"(?i)new laptop\" }}\n\
             fields = [ {{ name = \"model\", required = true }}, {{ name = \"cost_center\", required = true }} ]\n\
             approval = \"boss\"\ntasks = [ {{ queue = \"general\", subject = \"Order laptop\" }} ]\n"
        )
    });
    let (env, smtp, tag, boss) = (
        &desk.env,
        desk.smtp.as_str(),
        desk.tag.as_str(),
        desk.boss.as_str(),
    );
    let daemon = env.serve();
    let customer = format!("c{tag}@customer.test");
    customer_writes(
        smtp,
        &customer,
        &format!("New laptop please {tag}"),
        "Model: ThinkPad X1\r\n\r\nMy old one broke.",
    );
    let catchall = desk.catchall();
    let containing = |who: &str, words: &str| {
        in_maildir(&catchall, who)
            .into_iter()
            .find(|m| m.replace("=\n", "").contains(words))
    };
    let asked = wait_for(60, "the question for the missing field", || {
        containing(&customer, "Cost center: ...")
    });
    answer_through_smtp(
        smtp,
        &customer,
        &asked,
        &format!("<f{tag}@customer.test>"),
        "Cost center: 4711",
    );
    let request = desk.approval_request();
    answer_through_smtp(
        smtp,
        boss,
        &request,
        &format!("<b{tag}@approvers.test>"),
        "approved",
    );
    let agent_dir = desk.agent_dir();
    let task = wait_for(60, "the task's notice to the agent", || {
        in_maildir(&agent_dir, tag)
            .into_iter()
            .find(|m| header(m, "Subject").is_some_and(|s| s.contains("Order laptop")))
    });
    answer_through_smtp(
        smtp,
        "Alice Agent <agent@example.test>",
        &task,
        &format!("<t{tag}@example.test>"),
        "#status resolved",
    );
    let done = wait_for(60, "the customer told it is done", || {
        containing(&customer, "Your request is fulfilled")
    });
    assert!(
        done.replace("=\n", "")
            .contains("Your request for New laptop is done."),
        "{done}"
    );
    // Threaded to the customer's own mail, never to the approver's.
    assert!(
        !done.contains("approvers.test>"),
        "the approver's Message-ID reaches the customer: {done}"
    );
    let t = env
        .tickets()
        .into_iter()
        .find(|t| {
            t["subject"].as_str().unwrap().contains(tag)
                && t["type"] == "request"
                && t["fields"]["catalog"] == "laptop"
        })
        .unwrap();
    assert_eq!(t["status"], "resolved", "{t}");
    assert_eq!(t["fields"]["cost_center"], "4711");
    env.terminate(daemon);
}

/// Issue #19's changes through the real servers: an agent makes a customer's mail a change
/// with a window that opens in a few seconds, the approver approves it by mail, and the agent
/// gets, in her own Dovecot mailbox, the reminder before the window opens and then the request
/// for a post-implementation note after it closed.
#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn an_approved_change_is_reminded_and_reviewed_through_the_servers() {
    use crate::util::rfc3339_ago;
    let desk = ApprovalDesk::new(|_tag, boss| {
        format!(
            "\n[[approvals]]\nname = \"quick\"\nsteps = [ {{ approvers = [\"{boss}\"] }} ]\n\
             \n[changes]\napproval = {{ normal = \"quick\" }}\nremind_before = \"1h\"\n\
             \n[scheduler]\nsla_sweep = \"* * * * * *\"\n"
        )
    });
    let (env, smtp, tag, boss) = (
        &desk.env,
        desk.smtp.as_str(),
        desk.tag.as_str(),
        desk.boss.as_str(),
    );
    let daemon = env.serve();
    let customer = format!("c{tag}@customer.test");
    customer_writes(
        smtp,
        &customer,
        &format!("Switch upgrade {tag}"),
        "The core switch needs its firmware upgraded.",
    );
    let agent_dir = desk.agent_dir();
    let note = wait_for(60, "the notification", || {
        in_maildir(&agent_dir, &customer).into_iter().next()
    });
    // The window opens 25 s from now and closes 5 s later.
    let window = format!("{}/{}", rfc3339_ago(-25), rfc3339_ago(-30));
    answer_through_smtp(
        smtp,
        "Alice Agent <agent@example.test>",
        &note,
        &format!("<r{tag}@example.test>"),
        &format!("#assign me\r\n#type change\r\n#set risk normal\r\n#set window {window}"),
    );
    let request = desk.approval_request();
    answer_through_smtp(
        smtp,
        boss,
        &request,
        &format!("<b{tag}@approvers.test>"),
        "#approve",
    );
    let to_agent = |words: &'static str| {
        let agent_dir = agent_dir.clone();
        move || {
            in_maildir(&agent_dir, tag)
                .into_iter()
                .find(|m| m.replace("=\n", "").contains(words))
        }
    };
    let reminder = wait_for(
        60,
        "the reminder before the window",
        to_agent("It opens in"),
    );
    assert!(
        header(&reminder, "Auto-Submitted").is_some_and(|v| v.starts_with("auto-")),
        "{reminder}"
    );
    let review = wait_for(
        90,
        "the request for a post-implementation note",
        to_agent("what was done"),
    );
    assert!(
        review.contains(&format!("Switch upgrade {tag}")),
        "{review}"
    );
    let t = env
        .tickets()
        .into_iter()
        .find(|t| t["subject"].as_str().unwrap().contains(tag))
        .unwrap();
    let events = env.ticket(t["id"].as_i64().unwrap())["events"].clone();
    for kind in ["change_reminded", "change_review_asked"] {
        assert_eq!(
            events
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == kind)
                .count(),
            1,
            "{kind} once: {events}"
        );
    }
    env.terminate(daemon);
}
