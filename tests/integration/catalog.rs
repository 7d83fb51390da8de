//! Service requests from the catalog (issue #19): a laptop request from the first mail to its
//! fulfilment, through `ingest` and the file transport.

use crate::conversation::{agent_reply, ingest, reply_address, sent, AGENTS};
use crate::util::body_text as text;
use crate::util::{header, Env};

const CATALOG: &str = r#"
[[queues]]
name = "procurement"

[[queues]]
name = "it"

[[approvals]]
name = "boss"
steps = [ { approvers = ["boss@example.test"] } ]

[[catalog]]
name = "laptop"
title = "New laptop"
match = { subject = "(?i)new laptop" }
fields = [ { name = "model", required = true }, { name = "cost_center", required = true } ]
approval = "boss"
tasks = [ { queue = "procurement", subject = "Order laptop" }, { queue = "it", subject = "Set up laptop" } ]
"#;

fn customer(id: &str, subject: &str, irt: Option<&str>, body: &str) -> String {
    let threading = irt
        .map(|m| format!("In-Reply-To: {m}\r\n"))
        .unwrap_or_default();
    format!(
        "From: Carol Customer <carol@example.com>\r\nTo: support@example.test\r\nSubject: {subject}\r\n\
         Message-ID: <{id}@example.com>\r\n{threading}\r\n{body}\r\n"
    )
}

#[test]
fn a_laptop_request_from_the_first_mail_to_its_fulfilment() {
    let agents = AGENTS.replace(
        "queues = [\"general\"]",
        "queues = [\"general\", \"procurement\", \"it\"]",
    );
    let e = Env::with(&format!("{agents}{CATALOG}"), None);
    // The first mail gives one field and one the item does not have.
    let row = ingest(
        &e,
        &customer(
            "l1",
            "I need a new laptop",
            None,
            "Model: ThinkPad X1\r\nColour: black\r\n\r\nMine broke.",
        ),
    );
    let t = row["ticket_id"].as_i64().unwrap();
    let ticket = e.ticket(t);
    assert_eq!(ticket["type"], "request");
    assert_eq!(ticket["fields"]["catalog"], "laptop");
    assert_eq!(ticket["fields"]["model"], "ThinkPad X1");
    let asked = sent(&e, "request_update", "carol@example.com");
    assert_eq!(asked.len(), 1);
    let a = text(&asked[0]);
    assert!(
        a.contains("Cost center: ...") && !a.contains("Model: ..."),
        "exactly the missing ones: {a}"
    );
    assert!(
        a.contains("Not taken (this request has no such field): Colour."),
        "{a}"
    );
    assert_eq!(ticket["approval"]["state"], "none");

    // The customer answers with the missing line: the approval is asked.
    ingest(
        &e,
        &customer(
            "l2",
            "Re: I need a new laptop",
            Some(&header(&asked[0], "Message-ID").unwrap()),
            "Cost center: 4711\r\n\r\n> To go on",
        ),
    );
    let ticket = e.ticket(t);
    assert_eq!(ticket["fields"]["cost_center"], "4711", "{ticket}");
    assert_eq!(ticket["approval"]["state"], "pending");
    let req = sent(&e, "approval_request", "boss@example.test");
    assert_eq!(req.len(), 1);
    assert!(text(
        sent(&e, "request_update", "carol@example.com")
            .last()
            .unwrap()
    )
    .contains("now awaits approval"));

    // Approved: the two tasks open in their queues, linked as children.
    let answer = format!(
        "From: boss@example.test\r\nTo: {}\r\nSubject: Re: x\r\nMessage-ID: <b1@example.test>\r\nIn-Reply-To: {}\r\n\r\n#approve\r\n",
        reply_address(&req[0]),
        header(&req[0], "Message-ID").unwrap()
    );
    ingest(&e, &answer);
    let ticket = e.ticket(t);
    assert_eq!(ticket["approval"]["state"], "approved");
    let children: Vec<i64> = ticket["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == "child")
        .map(|l| l["ticket"].as_i64().unwrap())
        .collect();
    assert_eq!(children.len(), 2, "{ticket}");
    let queues: Vec<String> = children
        .iter()
        .map(|c| e.ticket(*c)["queue"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(queues, vec!["procurement", "it"]);
    assert!(text(
        sent(&e, "request_update", "carol@example.com")
            .last()
            .unwrap()
    )
    .contains("being fulfilled"));

    // The agents resolve the tasks: after the last one the request is resolved and Carol told.
    for (i, child) in children.iter().enumerate() {
        let note = sent(&e, "agent_notice", "alice@example.test")
            .into_iter()
            .find(|m| {
                header(m, "Subject")
                    .unwrap()
                    .contains(&format!("#{child}]"))
            })
            .expect("the task's notice");
        ingest(
            &e,
            &agent_reply(
                &note,
                "alice@example.test",
                &reply_address(&note),
                "#status resolved",
            ),
        );
        let status = e.ticket(t)["status"].as_str().unwrap().to_string();
        if i == 0 {
            assert_ne!(status, "resolved", "one task left");
        } else {
            assert_eq!(status, "resolved");
        }
    }
    let done = text(
        sent(&e, "request_update", "carol@example.com")
            .last()
            .unwrap(),
    );
    assert!(
        done.contains("Your request for New laptop is done."),
        "{done}"
    );
}
