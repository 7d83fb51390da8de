//! Approval chains by mail (issue #19, DESIGN.md §6): a change with a risk starts its chain,
//! approvers answer through their signed reply addresses, steps follow their quorum, one
//! rejection rejects, and nobody else's answer decides anything. Through `ingest` and the file
//! transport.

use crate::conversation::{
    agent_reply, ingest, reply_address, sent, ticket_with_notification, AGENTS,
};
use crate::util::body_text as text;
use crate::util::{header, Env};
use serde_json::Value;

const CHAIN: &str = r#"
[[approvals]]
name = "cab"
steps = [ { approvers = ["boss@example.test", "cto@example.test"], quorum = "any" },
          { approvers = ["ciso@example.test"], quorum = "all" } ]
remind_after = "8h"

[changes]
approval = { low = "", normal = "", high = "cab" }
"#;

fn env() -> Env {
    Env::with(&format!("{AGENTS}{CHAIN}"), None)
}

/// `from` answers the approval request `request` with `top`, to `to` (its Reply-To unless
/// given).
fn answer(request: &str, from: &str, to: Option<&str>, top: &str) -> String {
    let mid = header(request, "Message-ID").unwrap();
    let to = to
        .map(str::to_string)
        .unwrap_or_else(|| reply_address(request));
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Re: {}\r\nMessage-ID: <{:x}@example.test>\r\n\
         In-Reply-To: {mid}\r\nReferences: {mid}\r\nDate: Sat, 21 Nov 2026 12:00:00 +0000\r\n\r\n{top}\r\n\r\n> Your approval is asked\r\n",
        header(request, "Subject").unwrap(),
        fastrand::u64(..)
    )
}

fn approval(e: &Env, t: i64) -> Value {
    e.ticket(t)["approval"].clone()
}

#[test]
fn a_high_risk_change_goes_through_its_chain_and_is_rejected_by_the_second_step() {
    let e = env();
    let (t, note) = ticket_with_notification(&e);
    let row = ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &reply_address(&note),
            "#type change\r\n#set risk high\r\n#set window 2026-12-05T22:00:00+01:00/2026-12-05T23:00:00+01:00",
        ),
    );
    assert_eq!(row["outcome"], "command", "{row}");
    let a = approval(&e, t);
    assert_eq!(
        (a["state"].as_str(), a["chain"].as_str()),
        (Some("pending"), Some("cab")),
        "{a}"
    );
    assert_eq!(a["steps"][0]["quorum"], "any");
    assert_eq!(a["steps"][0]["decisions"].as_array().unwrap().len(), 2);
    let boss = sent(&e, "approval_request", "boss@example.test");
    let cto = sent(&e, "approval_request", "cto@example.test");
    assert_eq!((boss.len(), cto.len()), (1, 1));
    let req = text(&boss[0]);
    assert!(
        req.contains("risk: high") && req.contains("step 1 of 2"),
        "{req}"
    );
    assert!(
        reply_address(&boss[0]) != reply_address(&cto[0]),
        "an address per approver"
    );
    assert_eq!(
        header(&boss[0], "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert!(
        sent(&e, "approval_request", "ciso@example.test").is_empty(),
        "step 2 waits"
    );

    // Someone else writing to the boss's address decides nothing.
    let row = ingest(
        &e,
        &answer(&boss[0], "mallory@example.com", None, "#approve"),
    );
    assert_ne!(row["outcome"], "approval", "{row}");
    assert!(
        row["reason"]
            .as_str()
            .unwrap()
            .contains("not from that approver"),
        "{row}"
    );
    assert_eq!(
        approval(&e, t)["steps"][0]["decisions"][0]["decision"],
        "pending"
    );
    // The cto's token used by the boss: nothing either.
    let row = ingest(&e, &answer(&cto[0], "boss@example.test", None, "#approve"));
    assert_ne!(row["outcome"], "approval", "{row}");

    // The boss approves: step 1 is done (any), the ciso is asked, the boss gets a receipt.
    let row = ingest(
        &e,
        &answer(
            &boss[0],
            "Boss <boss@example.test>",
            None,
            "#approve go ahead",
        ),
    );
    assert_eq!(row["outcome"], "approval", "{row}");
    let a = approval(&e, t);
    assert_eq!(a["state"], "pending");
    let d = &a["steps"][0]["decisions"][0];
    assert_eq!(
        (
            d["approver"].as_str(),
            d["decision"].as_str(),
            d["comment"].as_str()
        ),
        (
            Some("boss@example.test"),
            Some("approved"),
            Some("go ahead")
        ),
        "{a}"
    );
    assert!(d["at"].is_string());
    assert!(text(&sent(&e, "approval_notice", "boss@example.test")[0])
        .contains("is recorded: approved"));
    let ciso = sent(&e, "approval_request", "ciso@example.test");
    assert_eq!(ciso.len(), 1);
    assert!(
        text(&ciso[0]).contains("boss@example.test approved: go ahead"),
        "{}",
        text(&ciso[0])
    );

    // The cto answers late: the step is decided; told so, nothing changes.
    let row = ingest(&e, &answer(&cto[0], "cto@example.test", None, "approved"));
    assert_eq!(row["outcome"], "approval");
    assert!(
        row["reason"].as_str().unwrap().contains("already decided"),
        "{row}"
    );
    assert_eq!(
        approval(&e, t)["steps"][0]["decisions"][1]["decision"],
        "pending"
    );
    assert!(text(&sent(&e, "approval_notice", "cto@example.test")[0]).contains("changes nothing"));

    // The ciso writes something else, then a reason-less #reject, then rejects.
    let row = ingest(
        &e,
        &answer(&ciso[0], "ciso@example.test", None, "Looks risky to me."),
    );
    assert_eq!(row["outcome"], "approval");
    ingest(&e, &answer(&ciso[0], "ciso@example.test", None, "#reject"));
    let help = sent(&e, "approval_notice", "ciso@example.test");
    assert_eq!(help.len(), 2);
    assert!(text(&help[0]).contains("#approve") && text(&help[1]).contains("needs a reason"));
    assert_eq!(approval(&e, t)["state"], "pending");
    ingest(
        &e,
        &answer(
            &ciso[0],
            "ciso@example.test",
            None,
            "abgelehnt: kein Rollback-Plan",
        ),
    );
    let a = approval(&e, t);
    assert_eq!(a["state"], "rejected", "{a}");
    assert_eq!(
        a["steps"][1]["decisions"][0]["comment"],
        "kein Rollback-Plan"
    );
    // The requester hears the outcome with the reason.
    let outcome = sent(&e, "approval_outcome", "carol@example.com");
    assert_eq!(outcome.len(), 1);
    let o = text(&outcome[0]);
    assert!(
        o.contains("is rejected (cab) by ciso@example.test")
            && o.contains("Reason: kein Rollback-Plan"),
        "{o}"
    );
    // A replay after the end changes nothing.
    let row = ingest(&e, &answer(&ciso[0], "ciso@example.test", None, "#approve"));
    assert!(
        row["reason"].as_str().unwrap().contains("already decided"),
        "{row}"
    );
    assert_eq!(approval(&e, t)["state"], "rejected");
}

#[test]
fn a_low_risk_change_needs_no_approval_and_one_approval_per_step_approves() {
    let e = Env::with(
        &format!("{AGENTS}\n[[approvals]]\nname = \"quick\"\nsteps = [ {{ approvers = [\"boss@example.test\"] }} ]\n\n[changes]\napproval = {{ low = \"\", normal = \"quick\" }}\n"),
        None,
    );
    let (t, note) = ticket_with_notification(&e);
    let to = reply_address(&note);
    ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &to,
            "#type change\r\n#set risk low",
        ),
    );
    assert_eq!(approval(&e, t)["state"], "none");
    ingest(
        &e,
        &agent_reply(&note, "alice@example.test", &to, "#set risk normal"),
    );
    assert_eq!(approval(&e, t)["state"], "pending");
    let boss = sent(&e, "approval_request", "boss@example.test");
    ingest(
        &e,
        &answer(&boss[0], "boss@example.test", None, "Approved."),
    );
    assert_eq!(approval(&e, t)["state"], "approved");
    assert_eq!(sent(&e, "approval_outcome", "carol@example.com").len(), 1);
    // Asked once: setting the risk again starts nothing new.
    ingest(
        &e,
        &agent_reply(&note, "alice@example.test", &to, "#set risk normal"),
    );
    assert_eq!(sent(&e, "approval_request", "boss@example.test").len(), 1);
}

#[test]
fn approval_config_problems_name_the_key() {
    let e = Env::with(
        "\n[[approvals]]\nname = \"cab\"\nsteps = [ { approvers = [\"not an address\"], quorum = 3 } ]\n\n[changes]\napproval = { high = \"nope\", extreme = \"cab\" }\n",
        None,
    );
    let out = e.run(&["check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "approvals[0].steps[0].approvers[0]: expected a mail address or \"managers\"",
        "approvals[0].steps[0].quorum: expected \"any\", \"all\" or a number from 1 to the number of approvers (1), found 3",
        "changes.approval.high: names the chain 'nope'",
        "changes.approval.extreme: expected a risk",
    ] {
        assert!(err.contains(want), "{want}\n{err}");
    }
}

/// The approver's one-click pages in Chromium: link scanners' GETs decide nothing; the
/// approve page's button, with a comment typed in, approves; the chain's outcome follows; a
/// token for approving does not open the reject page; a replay changes nothing.
#[test]
#[ignore = "needs the servers and tools tests/run.sh starts and installs (it runs these with --include-ignored)"]
fn an_approver_decides_on_the_one_click_page_in_chromium() {
    let port = crate::util::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let e = Env::with(
        &format!(
            "{AGENTS}\n[[approvals]]\nname = \"quick\"\nsteps = [ {{ approvers = [\"boss@example.test\"] }} ]\n\n\
             [changes]\napproval = {{ high = \"quick\" }}\n\n[web]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"{base}\"\n"
        ),
        None,
    );
    let (t, note) = ticket_with_notification(&e);
    ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &reply_address(&note),
            "#type change\r\n#set risk high\r\n#set rollback restore the snapshot",
        ),
    );
    let req = text(&sent(&e, "approval_request", "boss@example.test")[0]);
    let link = |word: &str| {
        req.split_whitespace()
            .find(|w| w.starts_with(&format!("{base}/{word}/")))
            .unwrap_or_else(|| panic!("a {word} link: {req}"))
            .to_string()
    };
    let (approve, reject) = (link("approve"), link("reject"));
    let daemon = e.serve();
    let http = crate::browser::http();
    crate::browser::wait_for_pages(&http, &base);
    for url in [&approve, &reject] {
        assert_eq!(http.get(url).call().unwrap().status(), 200);
    }
    assert_eq!(
        approval(&e, t)["steps"][0]["decisions"][0]["decision"],
        "pending",
        "GETs decide nothing"
    );
    // The approve token does not open the reject page.
    let token = &approve[approve.rfind('/').unwrap() + 1..];
    assert_eq!(
        http.get(&format!("{base}/reject/{token}"))
            .call()
            .unwrap()
            .status(),
        404
    );
    // A rejection without a reason is refused.
    let mut r = http
        .post(&reject)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send("comment=".to_string())
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.body_mut().read_to_string().unwrap().contains("reason"));

    let b = crate::browser::Browser::start();
    b.goto(&approve);
    let page = b.source();
    assert!(
        page.contains("restore the snapshot") && page.contains("Approve"),
        "{page}"
    );
    b.type_into("#comment", "Fine, keep the snapshot for a week.");
    b.screenshot("approval-form");
    assert_eq!(approval(&e, t)["state"], "pending");
    b.click("button[type=submit]");
    let done = b.source_with("The approval is now approved");
    assert!(done.contains("The approval is now approved"), "{done}");
    b.screenshot("approval-done");
    let a = approval(&e, t);
    assert_eq!(a["state"], "approved", "{a}");
    assert_eq!(
        a["steps"][0]["decisions"][0]["comment"],
        "Fine, keep the snapshot for a week."
    );
    crate::util::wait_for(20, "the outcome to the requester", || {
        e.outbox()
            .iter()
            .any(|r| r["kind"] == "approval_outcome" && r["status"] == "sent")
            .then_some(())
    });
    // The reject link afterwards: decided already, nothing changes.
    let mut r = http
        .post(&reject)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send("comment=too+late".to_string())
        .unwrap();
    assert!(r
        .body_mut()
        .read_to_string()
        .unwrap()
        .contains("decided already"));
    assert_eq!(approval(&e, t)["state"], "approved");
    e.terminate(daemon);
}

/// A change opened by mail to the change address (a rule sets its type): the `Name: value`
/// lines at the top are its fields, a window in the freeze is refused with why, and its risk
/// starts the chain at once.
#[test]
fn a_change_mailed_to_the_change_address_takes_its_fields_from_the_top_lines() {
    let e = Env::with(
        &format!(
            "{AGENTS}{CHAIN}freeze = [\"2026-12-20/2027-01-04\"]\n\n[[rules]]\nname = \"changes\"\n\
             conditions = [{{ field = \"to\", op = \"equals\", value = \"change@example.test\" }}]\nactions = {{ type = \"change\" }}\n"
        ),
        None,
    );
    let row = ingest(
        &e,
        "From: Dora Dev <dora@example.com>\r\nTo: change@example.test\r\nSubject: Firewall upgrade\r\n\
         Message-ID: <fw@example.com>\r\n\r\nRisk: high\r\nRollback: restore the config backup\r\n\
         Window: 2026-12-21T22:00:00+01:00/2026-12-21T23:00:00+01:00\r\n\r\nPlease upgrade the firewall firmware.\r\n",
    );
    let t = row["ticket_id"].as_i64().unwrap();
    let ticket = e.ticket(t);
    assert_eq!(ticket["type"], "change", "{ticket}");
    assert_eq!(ticket["fields"]["risk"], "high");
    assert_eq!(ticket["fields"]["rollback"], "restore the config backup");
    assert!(
        ticket["fields"].get("window").is_none(),
        "in the freeze: {ticket}"
    );
    let refused = ticket["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|ev| ev["kind"] == "field_refused")
        .cloned()
        .unwrap();
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("change freeze"),
        "{refused}"
    );
    assert_eq!(ticket["approval"]["state"], "pending");
    assert_eq!(sent(&e, "approval_request", "boss@example.test").len(), 1);
    // The requester is told which line was not taken, and why, in their thread.
    let told = sent(&e, "request_update", "dora@example.com");
    assert_eq!(told.len(), 1);
    assert_eq!(
        header(&told[0], "In-Reply-To").as_deref(),
        Some("<fw@example.com>")
    );
    let t2 = text(&told[0]);
    assert!(
        t2.contains("Window: the window falls in the change freeze"),
        "{t2}"
    );
}

/// Approved changes around their windows, from `serve`: the assignee side is reminded before
/// the window opens and asked for a post-implementation note after it closed, each once; the
/// digest lists the change of the coming period and the one awaiting approval.
#[test]
fn approved_changes_are_reminded_and_reviewed_and_digests_list_changes() {
    use crate::util::rfc3339_ago;
    let e = Env::with(
        &format!(
            "{AGENTS}\n[[approvals]]\nname = \"quick\"\nsteps = [ {{ approvers = [\"boss@example.test\"] }} ]\n\n\
             [changes]\napproval = {{ normal = \"quick\" }}\nremind_before = \"1h\"\n\n[scheduler]\nsla_sweep = \"* * * * * *\"\n\n\
             [[digests]]\nname = \"daily\"\ncron = \"0 0 8 * * *\"\ntimezone = \"UTC\"\nto = [\"boss@example.test\"]\nperiod = \"1d\"\n"
        ),
        None,
    );
    let change = |id: &str, subject: &str, window: &str| -> i64 {
        let row = ingest(
            &e,
            &format!(
                "From: carol@example.com\r\nTo: support@example.test\r\nSubject: {subject}\r\nMessage-ID: <{id}@example.com>\r\n\r\nPlease.\r\n"
            ),
        );
        let t = row["ticket_id"].as_i64().unwrap();
        let note = sent(&e, "notify_agent", "alice@example.test")
            .into_iter()
            .find(|m| header(m, "Subject").unwrap().contains(subject))
            .unwrap();
        ingest(
            &e,
            &agent_reply(
                &note,
                "alice@example.test",
                &reply_address(&note),
                &format!("#assign me\r\n#type change\r\n#set window {window}\r\n#set risk normal"),
            ),
        );
        t
    };
    let soon = change(
        "soon",
        "Switch upgrade",
        &format!("{}/{}", rfc3339_ago(-1800), rfc3339_ago(-3600)),
    );
    let past = change(
        "past",
        "Printer firmware",
        &format!("{}/{}", rfc3339_ago(7200), rfc3339_ago(3600)),
    );
    let waiting = change(
        "wait",
        "New VPN gateway",
        &format!(
            "{}/{}",
            rfc3339_ago(-86400 * 3),
            rfc3339_ago(-86400 * 3 - 600)
        ),
    );
    for t in [soon, past] {
        let req = sent(&e, "approval_request", "boss@example.test")
            .into_iter()
            .find(|m| header(m, "Subject").unwrap().contains(&format!("#{t}]")))
            .unwrap();
        ingest(&e, &answer(&req, "boss@example.test", None, "#approve"));
        assert_eq!(approval(&e, t)["state"], "approved");
    }
    assert_eq!(approval(&e, waiting)["state"], "pending");
    let daemon = e.serve();
    crate::util::wait_for(20, "the reminder and the review request", || {
        let n = sent(&e, "agent_notice", "alice@example.test").len();
        (n >= 2).then_some(())
    });
    std::thread::sleep(std::time::Duration::from_millis(2500));
    e.terminate(daemon);
    let notices: Vec<String> = sent(&e, "agent_notice", "alice@example.test")
        .iter()
        .map(|m| text(m))
        .collect();
    assert_eq!(notices.len(), 2, "each once: {notices:#?}");
    assert!(
        notices
            .iter()
            .any(|n| n.contains("Switch upgrade") && n.contains("It opens in")),
        "{notices:#?}"
    );
    assert!(
        notices
            .iter()
            .any(|n| n.contains("Printer firmware") && n.contains("#note")),
        "{notices:#?}"
    );
    for (t, kind) in [(soon, "change_reminded"), (past, "change_review_asked")] {
        assert!(
            e.ticket(t)["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|ev| ev["kind"] == kind),
            "{t} {kind}"
        );
    }
    let digest = e.ok(&["digest", "daily", "--dry-run"]);
    let body = text(&digest);
    let next =
        &body[body.find("CHANGES IN THE NEXT").unwrap()..body.find("CHANGES AWAITING").unwrap()];
    assert!(
        next.contains("Switch upgrade") && !next.contains("Printer firmware"),
        "{next}"
    );
    let awaiting = &body[body.find("CHANGES AWAITING").unwrap()..];
    assert!(
        awaiting.contains("New VPN gateway - quick step 1"),
        "{awaiting}"
    );
}

/// With `agent_auth = "dkim"`, an approver's answer counts by an aligned DKIM pass too, sent
/// to the plain support address in reply to the request; without the pass it decides nothing.
#[test]
fn with_dkim_an_approvers_signed_answer_to_the_plain_address_counts() {
    let e = Env::with(
        &format!(
            "{AGENTS}\n[security]\nagent_auth = \"dkim\"\nauthserv_id = \"mx.example.test\"\n\
             \n[[approvals]]\nname = \"quick\"\nsteps = [ {{ approvers = [\"boss@example.test\"] }} ]\n\n[changes]\napproval = {{ high = \"quick\" }}\n"
        ),
        None,
    );
    // Alice's command mail counts by its DKIM pass too.
    let (t, note) = ticket_with_notification(&e);
    let cmd = agent_reply(
        &note,
        "alice@example.test",
        "support@example.test",
        "#type change\r\n#set risk high",
    );
    ingest(&e, &format!("Authentication-Results: mx.example.test; dkim=pass header.d=example.test header.s=s1\r\n{cmd}"));
    assert_eq!(approval(&e, t)["state"], "pending");
    let req = &sent(&e, "approval_request", "boss@example.test")[0];
    let plain = answer(
        req,
        "boss@example.test",
        Some("support@example.test"),
        "#approve",
    );
    let row = ingest(&e, &plain.replace("Message-ID: <", "Message-ID: <x"));
    assert_ne!(row["outcome"], "approval", "no DKIM pass: {row}");
    assert_eq!(approval(&e, t)["state"], "pending");
    let row = ingest(
        &e,
        &format!("Authentication-Results: mx.example.test; dkim=pass header.d=example.test header.s=s1\r\n{plain}"),
    );
    assert_eq!(row["outcome"], "approval", "{row}");
    assert_eq!(approval(&e, t)["state"], "approved");
}

/// A step of the queue's managers where the queue has none: nobody can be asked, and the
/// agents are told why the change waits.
#[test]
fn a_step_without_approvers_is_told_to_the_agents() {
    let e = Env::with(
        &format!(
            "{AGENTS}\n[[approvals]]\nname = \"mgmt\"\nsteps = [ {{ approvers = [\"managers\"] }} ]\n\n[changes]\napproval = {{ high = \"mgmt\" }}\n"
        ),
        None,
    );
    let (t, note) = ticket_with_notification(&e);
    ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &reply_address(&note),
            "#type change\r\n#set risk high",
        ),
    );
    let ticket = e.ticket(t);
    assert_eq!(ticket["approval"]["state"], "pending");
    assert!(
        ticket["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|ev| ev["kind"] == "approval_stuck"),
        "{ticket}"
    );
    let told = sent(&e, "agent_notice", "alice@example.test");
    assert!(told.iter().any(|m| text(m).contains("nobody was asked")));
}
