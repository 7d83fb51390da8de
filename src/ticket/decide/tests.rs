//! Tests of the parent module.

use super::*;
use crate::mail::parse::MailAddr;

const CONFIG: &str = r#"
[database]
url = "sqlite://var/postdesk.db"

[identity]
name = "Example Support"
address = "support@example.test"
subject_tag = "Support"
message_id_domain = "example.test"

[security]
agent_auth = "trusted_relay"

[[mailboxes]]
name = "support"
kind = "maildir"
path = "var/mail/support"
queue = "general"

[transport]
kind = "file"
dir = "var/outbox"

[[agents]]
address = "alice@example.test"
name = "Alice Agent"
queues = ["general"]

[[agents]]
address = "bob@example.test"
name = "Bob Builder"

[[queues]]
name = "general"

[[queues]]
name = "billing"
"#;

fn config() -> Config {
    Config::parse(CONFIG, std::path::Path::new("t.toml")).expect("the test config")
}

fn mail(from: &str, subject: &str, text: &str) -> InboundMail {
    InboundMail {
        from: Some(MailAddr {
            name: None,
            address: from.into(),
        }),
        to: vec![MailAddr {
            name: None,
            address: "support@example.test".into(),
        }],
        subject: subject.into(),
        text: text.into(),
        message_id: "<m1@customer.example>".into(),
        ..InboundMail::default()
    }
}

fn ticket(id: i64, status: &str) -> TicketState {
    TicketState {
        id,
        status: status.into(),
        priority: "normal".into(),
        queue: "general".into(),
        assignee: None,
        tags: "[\"vip\"]".into(),
        sla_policy: None,
        first_response_at: None,
        updated_at: 1_000,
        time_spent_ms: 0,
        requester: "carol@customer.example".into(),
        ..TicketState::default()
    }
}

/// Decides `m` with the subject tag naming `on` (a stored ticket) when given; a sender who is
/// not an agent takes part in it.
fn decide_with<'a>(
    cfg: &'a Config,
    m: &'a InboundMail,
    class: &'a MailClass,
    on: Option<TicketState>,
) -> Decision<'a> {
    let mut lookups = Lookups::default();
    let mut tickets = HashMap::new();
    if let Some(t) = on {
        lookups.tagged = Some(t.id);
        if cfg.agent(&m.sender()).is_none() {
            lookups.member_of.insert(t.id);
        }
        tickets.insert(t.id, t);
    }
    let f = Facts {
        cfg,
        mailbox: &cfg.mailboxes[0],
        mail: m,
        class,
        raw: b"",
        now: 2_000,
        earlier_copy: None,
        candidates: Vec::new(),
        lookups,
        agent_token: None,
        bounce: None,
        tickets,
        pending_broadcast: Default::default(),
        articles: ["vpn-reset".to_string()].into_iter().collect(),
        approver: None,
        approver_forged: false,
    };
    decide(&f)
}

fn kinds(d: &Decision<'_>) -> Vec<String> {
    d.actions
        .iter()
        .map(|a| match a {
            Action::Event { kind, .. } => format!("event:{kind}"),
            Action::Set(c) => format!("set:{c:?}"),
            other => format!("{other:?}")
                .split([' ', '(', '{'])
                .next()
                .unwrap()
                .to_string(),
        })
        .collect()
}

#[test]
fn a_customers_new_mail_opens_a_ticket_acknowledged_and_notified() {
    let cfg = config();
    let m = mail("carol@customer.example", "Printer down", "It is down.");
    let d = decide_with(&cfg, &m, &MailClass::Person, None);
    assert_eq!(d.outcome, Outcome::NewTicket);
    assert_eq!(
        kinds(&d),
        [
            "OpenTicket",
            "SyncSla",
            "Record",
            "AddMessage",
            "event:created",
            "Acknowledge",
            "NotifyAgents"
        ]
    );
    let Action::OpenTicket(t) = &d.actions[0] else {
        panic!("{:?}", d.actions[0])
    };
    assert_eq!(
        (t.queue.as_str(), t.priority),
        ("general", Priority::Normal)
    );
    assert_eq!(t.people[0].0, "carol@customer.example");
}

#[test]
fn outcomes_by_class_and_thread() {
    let cfg = config();
    let cases: Vec<(MailClass, Option<&str>, Outcome)> = vec![
        (MailClass::Person, None, Outcome::NewTicket),
        (MailClass::Person, Some("open"), Outcome::Reply),
        (
            MailClass::Auto("auto-submitted".into()),
            None,
            Outcome::AutoReply,
        ),
        (
            MailClass::Auto("auto-submitted".into()),
            Some("open"),
            Outcome::AutoReply,
        ),
        (MailClass::List("list-id".into()), None, Outcome::AutoReply),
        (
            MailClass::List("list-id".into()),
            Some("open"),
            Outcome::Reply,
        ),
        (MailClass::Loop("ours".into()), Some("open"), Outcome::Loop),
    ];
    for (class, on, want) in cases {
        let m = mail("carol@customer.example", "Re: Printer", "More.");
        let d = decide_with(&cfg, &m, &class, on.map(|s| ticket(7, s)));
        assert_eq!(d.outcome, want, "{class:?} on {on:?}");
        let acks = d
            .actions
            .iter()
            .any(|a| matches!(a, Action::Acknowledge { .. }));
        assert_eq!(
            acks,
            want == Outcome::NewTicket,
            "{class:?}: only a person's new ticket is acknowledged"
        );
    }
}

#[test]
fn a_reply_to_a_resolved_ticket_reopens_it_and_one_to_a_long_closed_one_opens_a_new_linked_one() {
    let cfg = config();
    let m = mail(
        "carol@customer.example",
        "Re: [Support #7] Printer",
        "Still down.",
    );
    let d = decide_with(&cfg, &m, &MailClass::Person, Some(ticket(7, "resolved")));
    assert_eq!((d.outcome, d.ticket), (Outcome::Reply, Some(7)));
    assert!(
        kinds(&d).contains(&"event:reopened".to_string()),
        "{:?}",
        kinds(&d)
    );
    assert!(d
        .actions
        .contains(&Action::Set(Change::Status(Status::Open))));

    let mut old = ticket(7, "closed");
    old.updated_at = 2_000 - crate::time::millis(cfg.threading.reopen_window) - 1;
    let d = decide_with(&cfg, &m, &MailClass::Person, Some(old));
    assert_eq!((d.outcome, d.ticket), (Outcome::NewTicket, None));
    let Action::OpenTicket(t) = &d.actions[0] else {
        panic!("{:?}", d.actions)
    };
    assert_eq!(t.linked_to, Some(7));
    assert!(d
        .reason
        .unwrap()
        .contains("closed longer than threading.reopen_window"));
}

#[test]
fn a_mail_that_names_no_sender_opens_a_ticket_with_no_requester_and_no_acknowledgement() {
    let cfg = config();
    let mut m = mail("x@y.example", "s", "t");
    m.from = None;
    m.cc = vec![MailAddr {
        name: None,
        address: "dave@customer.example".into(),
    }];
    let d = decide_with(&cfg, &m, &MailClass::Person, None);
    assert_eq!(d.outcome, Outcome::NewTicket);
    let k = kinds(&d);
    assert!(!k.contains(&"Acknowledge".to_string()), "{k:?}");
    assert!(k.contains(&"NotifyAgents".to_string()), "{k:?}");
    let Action::OpenTicket(t) = &d.actions[0] else {
        panic!("{:?}", d.actions)
    };
    assert_eq!(
        t.people,
        vec![("dave@customer.example".to_string(), None, "cc")]
    );
}

#[test]
fn an_agents_commands_become_actions_and_errors_go_back_to_the_agent() {
    let cfg = config();
    let m = mail(
        "alice@example.test",
        "Re: [Support #7] Printer",
        "#priority high\n#assign bob\n#time 1h30m\n#queue nowhere\n#tag +printer\n",
    );
    let d = decide_with(&cfg, &m, &MailClass::Person, Some(ticket(7, "open")));
    assert_eq!(d.outcome, Outcome::Command);
    assert_eq!(
        d.agent.map(|a| a.address.as_str()),
        Some("alice@example.test")
    );
    let a = &d.actions;
    assert!(a.contains(&Action::Set(Change::Priority(Priority::High))));
    assert!(a.contains(&Action::Set(Change::Assignee(Some(
        "bob@example.test".into()
    )))));
    assert!(a.contains(&Action::AddTimeSpent(5_400_000)));
    assert!(a.contains(&Action::Set(Change::Tags(vec![
        "vip".into(),
        "printer".into()
    ]))));
    let Some(Action::CommandError { errors, done }) = a.last() else {
        panic!("{a:?}")
    };
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, "#queue nowhere");
    assert!(errors[0].1.contains("there is no queue 'nowhere'"));
    assert!(done.contains(&"time +1 h 30 min".to_string()), "{done:?}");
    assert!(
        !a.iter().any(|x| matches!(x, Action::CommandReceipt { .. })),
        "a receipt only when every command was obeyed"
    );
}

#[test]
fn an_agents_answer_sets_open_and_first_response_only_once_sent() {
    let cfg = config();
    let m = mail(
        "alice@example.test",
        "Re: [Support #7] Printer",
        "Fixed it.",
    );
    let d = decide_with(&cfg, &m, &MailClass::Person, Some(ticket(7, "new")));
    assert_eq!(d.outcome, Outcome::AgentReply);
    let Some(Action::AnswerCustomer { text, if_sent, .. }) = d
        .actions
        .iter()
        .find(|a| matches!(a, Action::AnswerCustomer { .. }))
    else {
        panic!("{:?}", d.actions)
    };
    assert_eq!(text, "Fixed it.");
    assert!(if_sent.contains(&Action::Set(Change::FirstResponseAt(2_000))));
    assert!(if_sent.contains(&Action::Set(Change::Status(Status::Open))));
}

#[test]
fn resolving_by_command_alone_tells_the_customer_once() {
    let cfg = config();
    let m = mail(
        "alice@example.test",
        "Re: [Support #7] Printer",
        "#status resolved",
    );
    let d = decide_with(&cfg, &m, &MailClass::Person, Some(ticket(7, "open")));
    let k = kinds(&d);
    assert!(k.contains(&"CommandReceipt".to_string()), "{k:?}");
    assert_eq!(
        k.iter().filter(|x| *x == "StatusChanged").count(),
        1,
        "{k:?}"
    );
    let d = decide_with(&cfg, &m, &MailClass::Person, Some(ticket(7, "resolved")));
    assert!(
        !kinds(&d).contains(&"StatusChanged".to_string()),
        "already resolved"
    );
}

#[test]
fn unreadable_stored_tags_are_left_alone() {
    let cfg = config();
    let m = mail("alice@example.test", "Re: [Support #7] x", "#tag +printer");
    let mut t = ticket(7, "open");
    t.tags = "[\"vip\"".into();
    let d = decide_with(&cfg, &m, &MailClass::Person, Some(t));
    assert!(!d
        .actions
        .iter()
        .any(|a| matches!(a, Action::Set(Change::Tags(_)))));
    let Some(Action::CommandError { errors, .. }) = d.actions.last() else {
        panic!("{:?}", d.actions)
    };
    assert!(
        errors[0].1.contains("stored tags do not read"),
        "{errors:?}"
    );
}

#[test]
fn an_unverified_agent_address_is_a_strangers_mail() {
    let mut cfg = config();
    cfg.security.agent_auth = AgentAuth::Token;
    // A forged agent From with the ticket's tag neither commands nor reopens the ticket: it
    // is a stranger's mail, which a subject tag does not join.
    for status in ["open", "closed"] {
        let m = mail("alice@example.test", "Re: [Support #7] x", "#status closed");
        let d = decide_with(&cfg, &m, &MailClass::Person, Some(ticket(7, status)));
        assert_eq!(
            (d.outcome, d.ticket),
            (Outcome::NewTicket, None),
            "{status}"
        );
        assert!(d.agent.is_none());
        let reason = d.reason.unwrap();
        assert!(reason.contains("not verified"), "{reason}");
        assert!(reason.contains("takes no part"), "{reason}");
        assert!(!d.actions.iter().any(|a| matches!(a, Action::Set(_))));
    }
}

/// Decides a reply from `from` that names ticket 7's own mail in In-Reply-To.
fn reply_by_reference<'a>(cfg: &'a Config, m: &'a InboundMail, member: bool) -> Decision<'a> {
    let mut lookups = Lookups {
        known: HashMap::from([("<ack-7@example.test>".to_string(), 7)]),
        ..Lookups::default()
    };
    if member {
        lookups.member_of.insert(7);
    }
    let f = Facts {
        cfg,
        mailbox: &cfg.mailboxes[0],
        mail: m,
        class: &MailClass::Person,
        raw: b"",
        now: 2_000,
        earlier_copy: None,
        candidates: vec!["<ack-7@example.test>"],
        lookups,
        agent_token: None,
        bounce: None,
        tickets: HashMap::from([(7, ticket(7, "open"))]),
        pending_broadcast: Default::default(),
        articles: Default::default(),
        approver: None,
        approver_forged: false,
    };
    decide(&f)
}

#[test]
fn a_stranger_who_threads_by_reference_is_kept_but_receives_no_answers() {
    let mut cfg = config();
    let m = mail("mallory@evil.example", "Re: Printer", "Me too.");
    let d = reply_by_reference(&cfg, &m, false);
    assert_eq!((d.outcome, d.ticket), (Outcome::Reply, Some(7)));
    let k = kinds(&d);
    assert!(k.contains(&"AddMessage".to_string()), "{k:?}");
    assert!(k.contains(&"event:not_participant".to_string()), "{k:?}");
    assert!(!k.contains(&"AddParticipant".to_string()), "{k:?}");

    // The requester's colleague joins only where the desk allows it.
    let m = mail("dave@customer.example", "Re: Printer", "Same here.");
    let d = reply_by_reference(&cfg, &m, false);
    assert!(!kinds(&d).contains(&"AddParticipant".to_string()));
    cfg.threading.join_colleagues = true;
    let d = reply_by_reference(&cfg, &m, false);
    assert!(kinds(&d).contains(&"AddParticipant".to_string()));
    let m = mail("mallory@evil.example", "Re: Printer", "Me too.");
    let d = reply_by_reference(&cfg, &m, false);
    assert!(!kinds(&d).contains(&"AddParticipant".to_string()));

    // A participant's reply changes nothing about who takes part.
    let m = mail("carol@customer.example", "Re: Printer", "More.");
    let k = kinds(&reply_by_reference(&cfg, &m, true));
    assert!(!k.contains(&"AddParticipant".to_string()), "{k:?}");
    assert!(!k.contains(&"event:not_participant".to_string()), "{k:?}");
}

#[test]
fn a_mail_to_thousands_takes_at_most_max_participants() {
    let cfg = config();
    let mut m = mail("carol@customer.example", "Party", "All invited.");
    m.cc = (0..10_000)
        .map(|i| MailAddr {
            name: None,
            address: format!("guest{}@customer.example", i % 9_000),
        })
        .chain([MailAddr {
            name: None,
            address: "alice@example.test".into(),
        }])
        .collect();
    let d = decide_with(&cfg, &m, &MailClass::Person, None);
    let Action::OpenTicket(t) = &d.actions[0] else {
        panic!("{:?}", d.actions[0])
    };
    assert_eq!(t.people.len(), 1 + cfg.limits.max_participants);
    assert_eq!(t.people[0].2, "requester");
    assert!(t.people.iter().all(|p| p.0 != "alice@example.test"));
    let capped = d.actions.iter().find_map(|a| match a {
        Action::Event {
            kind: "participants_capped",
            detail: Detail::Text(t),
            ..
        } => Some(t.clone()),
        _ => None,
    });
    // 9,000 distinct guests (the rest repeat), 50 taken.
    assert!(
        capped
            .as_deref()
            .is_some_and(|t| t.starts_with("8950 more")),
        "{capped:?}"
    );
}

#[test]
fn reply_with_an_article_answers_the_customer_and_kb_save_answers_nobody() {
    let cfg = config();
    let m = mail(
        "alice@example.test",
        "Re: [Support #7] VPN",
        "#reply vpn-reset\n",
    );
    let d = decide_with(&cfg, &m, &MailClass::Person, Some(ticket(7, "open")));
    assert_eq!(
        d.outcome,
        Outcome::AgentReply,
        "an article alone is an answer"
    );
    assert!(
        d.actions.iter().any(|a| matches!(
            a,
            Action::AnswerCustomer { text, articles, .. }
                if text.is_empty() && articles == &["vpn-reset".to_string()]
        )),
        "{:?}",
        d.actions
    );

    let m = mail(
        "alice@example.test",
        "Re: [Support #7] VPN",
        "#kb save wifi\nRestart the router, then wait a minute.",
    );
    let d = decide_with(&cfg, &m, &MailClass::Person, Some(ticket(7, "open")));
    assert_eq!(
        d.outcome,
        Outcome::Note,
        "an article's text goes to no customer"
    );
    assert!(!d
        .actions
        .iter()
        .any(|a| matches!(a, Action::AnswerCustomer { .. })));
    assert!(d.actions.iter().any(|a| matches!(
        a,
        Action::SaveArticle { name, body, .. }
            if name == "wifi" && body.starts_with("Restart the router")
    )));

    // Both in one mail: the text is saved, the #reply refused (nothing goes out).
    let m = mail(
        "alice@example.test",
        "Re: [Support #7] VPN",
        "#kb save wifi\n#reply vpn-reset\nRestart the router.",
    );
    let d = decide_with(&cfg, &m, &MailClass::Person, Some(ticket(7, "open")));
    assert_eq!(d.outcome, Outcome::Note);
    assert!(!d
        .actions
        .iter()
        .any(|a| matches!(a, Action::AnswerCustomer { .. })));
    let Some(Action::CommandError { errors, .. }) = d.actions.last() else {
        panic!("{:?}", d.actions)
    };
    assert_eq!(errors[0].0, "#reply vpn-reset");
    assert!(errors[0].1.contains("a mail of its own"), "{errors:?}");
}
