//! Tests of the parent module.

use super::*;

#[test]
fn table() {
    let cases: Vec<(&str, Vec<Command>, bool, usize, &str)> = vec![
        ("Hello, fixed.", vec![], false, 0, "Hello, fixed."),
        (
            "#status resolved\n#priority HIGH\n\nDone, see attached.",
            vec![
                Command::Status(Status::Resolved),
                Command::Priority(Priority::High),
            ],
            false,
            0,
            "Done, see attached.",
        ),
        (
            "#assign me\n#assign nobody\n#assign Bob Builder",
            vec![
                Command::Assign(Assignee::Me),
                Command::Assign(Assignee::Nobody),
                Command::Assign(Assignee::Named("Bob Builder".into())),
            ],
            false,
            0,
            "",
        ),
        (
            "#tag +printer -urgent vip\n#queue billing",
            vec![
                Command::Tags {
                    add: vec!["printer".into(), "vip".into()],
                    remove: vec!["urgent".into()],
                },
                Command::Queue("billing".into()),
            ],
            false,
            0,
            "",
        ),
        (
            "#note called the customer\nthey will send logs",
            vec![],
            true,
            0,
            "called the customer\nthey will send logs",
        ),
        (
            "#status open\n#note\ninternal only",
            vec![Command::Status(Status::Open)],
            true,
            0,
            "internal only",
        ),
        (
            "#stauts resolved\n#status new\n#priority\n#tag +a/b\nText",
            vec![],
            false,
            4,
            "Text",
        ),
        ("#1 is fixed now", vec![], false, 0, "#1 is fixed now"),
        (
            "Text first\n#status closed",
            vec![],
            false,
            0,
            "Text first\n#status closed",
        ),
    ];
    for (text, commands, note, errors, body) in cases {
        let got = parse(text);
        assert_eq!(got.commands, commands, "{text}");
        assert_eq!(got.note, note, "{text}");
        assert_eq!(got.errors.len(), errors, "{text}: {:?}", got.errors);
        assert_eq!(got.body, body, "{text}");
    }
}

#[test]
fn time_takes_a_duration_of_at_most_a_day() {
    for (text, want) in [
        ("#time 30m", Ok(Command::Time(1_800_000))),
        ("#time 1h 15m", Ok(Command::Time(4_500_000))),
        ("#time 24h", Ok(Command::Time(86_400_000))),
    ] {
        let got = parse(text);
        assert_eq!(got.commands.first().cloned().ok_or(()), want, "{text}");
    }
    for (text, why) in [
        ("#time", "#time needs a duration"),
        ("#time soon", "not a duration"),
        ("#time 0m", "adds nothing"),
        ("#time 25h", "more than a day"),
    ] {
        let got = parse(text);
        assert!(got.commands.is_empty(), "{text}");
        assert!(got.errors[0].1.contains(why), "{text}: {:?}", got.errors);
    }
}

#[test]
fn every_command_in_the_table_is_known_by_its_names() {
    for spec in TABLE {
        for name in std::iter::once(&spec.name).chain(spec.aliases) {
            let got = parse(&format!("#{name}"));
            assert!(
                got.errors.iter().all(|e| !e.1.contains("unknown command")),
                "#{name}: {:?}",
                got.errors
            );
        }
    }
    let got = parse("#frobnicate");
    assert!(got.errors[0].1.contains("#time"), "{:?}", got.errors);
}

#[test]
fn cc_adds_and_removes_plain_addresses_only() {
    let got = parse("#cc +Dave@Customer.example <erin@customer.example>, -old@customer.example");
    assert_eq!(
        got.commands,
        vec![Command::Cc {
            add: vec![
                "dave@customer.example".into(),
                "erin@customer.example".into()
            ],
            remove: vec!["old@customer.example".into()],
        }],
        "{:?}",
        got.errors
    );
    for bad in [
        "#cc",
        "#cc +nobody",
        "#cc +a@b",
        "#cc +a@b.example,c@d.example",
        "#cc +\"x\"@b.example",
        "#cc +a@@b.example",
        "#cc +a@b.example.",
    ] {
        let got = parse(bad);
        assert!(
            got.commands.is_empty() && got.errors.len() == 1,
            "{bad}: {got:?}"
        );
    }

    let cfg = crate::config::Config::parse(
        include_str!("../../../config/postdesk.toml"),
        std::path::Path::new("postdesk.toml"),
    )
    .expect("the shipped config");
    let agent = &cfg.agents[0];
    let others = HashMap::new();
    let articles = Default::default();
    let ctx = Ctx {
        cfg: &cfg,
        agent,
        now: 0,
        others: &others,
        body: "",
        pending_broadcast: false,
        articles: &articles,
    };
    let mut t = state(7, "open", None, "carol@customer.example");
    let cc = |add: &[&str], remove: &[&str]| Command::Cc {
        add: add.iter().map(|s| s.to_string()).collect(),
        remove: remove.iter().map(|s| s.to_string()).collect(),
    };
    let e = cc(&["dave@customer.example"], &["old@customer.example"])
        .effect(&ctx, &mut t)
        .unwrap();
    assert_eq!(
        e.actions,
        vec![
            Action::AddParticipant {
                address: "dave@customer.example".into(),
                name: None,
                role: "cc"
            },
            Action::RemoveParticipant {
                address: "old@customer.example".into()
            }
        ]
    );
    assert_eq!(e.done, "cc +dave@customer.example -old@customer.example");
    let err = cc(&[], &["carol@customer.example"]).effect(&ctx, &mut t);
    assert!(err.unwrap_err().contains("asked for the ticket"));
    let err = cc(&[&agent.address], &[]).effect(&ctx, &mut t);
    assert!(err.unwrap_err().contains("agent"));
    let err = cc(&[&cfg.identity.address], &[]).effect(&ctx, &mut t);
    assert!(err.is_err());
}

#[test]
fn errors_say_why() {
    let got = parse("#stauts resolved");
    assert_eq!(got.errors[0].0, "#stauts resolved");
    assert!(got.errors[0].1.contains("unknown command #stauts"));
    let got = parse("#priority extreme");
    assert!(got.errors[0].1.contains("'extreme' is not a priority"));
}

fn state(id: i64, status: &str, ty: Option<&str>, requester: &str) -> TicketState {
    TicketState {
        id,
        status: status.into(),
        priority: "normal".into(),
        queue: "general".into(),
        tags: "[]".into(),
        requester: requester.into(),
        ticket_type: ty.map(str::to_string),
        ..TicketState::default()
    }
}

fn link(kind: LinkKind, t: &TicketState) -> crate::ticket::model::Link {
    crate::ticket::model::Link {
        kind: kind.as_str().into(),
        ticket: t.id,
        status: t.status.clone(),
        requester: t.requester.clone(),
    }
}

fn shipped() -> Config {
    Config::parse(
        include_str!("../../../config/postdesk.toml"),
        std::path::Path::new("postdesk.toml"),
    )
    .expect("the shipped config")
}

/// Runs one command line against `t` with `others` stored.
fn run(
    cfg: &Config,
    line: &str,
    t: &mut TicketState,
    others: &[TicketState],
    body: &str,
) -> Result<Effect, String> {
    let others: HashMap<i64, TicketState> = others.iter().map(|o| (o.id, o.clone())).collect();
    let articles = ["vpn-reset", "printer-jam", "password-reset"]
        .map(String::from)
        .into_iter()
        .collect();
    let ctx = Ctx {
        cfg,
        agent: &cfg.agents[0],
        now: 5,
        others: &others,
        body,
        pending_broadcast: false,
        articles: &articles,
    };
    let parsed = parse(line);
    assert!(parsed.errors.is_empty(), "{line}: {:?}", parsed.errors);
    parsed.commands[0].effect(&ctx, t)
}

#[test]
fn the_itsm_commands_read_their_arguments() {
    for (line, want) in [
        ("#type Problem", Command::Type(TicketType::Problem)),
        ("#problem", Command::Problem(None)),
        (
            "#problem VPN drops every hour",
            Command::Problem(Some("VPN drops every hour".into())),
        ),
        ("#link 42", Command::Link(42)),
        ("#link #42", Command::Link(42)),
        ("#unlink [Support #42]", Command::Unlink(42)),
        ("#merge 9", Command::Merge(9)),
        ("#broadcast", Command::Broadcast { confirm: false }),
        ("#broadcast CONFIRM", Command::Broadcast { confirm: true }),
        (
            "#task it Set up the laptop",
            Command::Task {
                queue: "it".into(),
                subject: "Set up the laptop".into(),
            },
        ),
    ] {
        let got = parse(line);
        assert_eq!(got.commands, vec![want], "{line}: {:?}", got.errors);
    }
    for (line, why) in [
        ("#type bug", "not a type"),
        ("#link", "needs a ticket number"),
        ("#link 0", "not a ticket number"),
        ("#link abc", "not a ticket number"),
        ("#merge 1 2", "takes one value"),
        ("#broadcast now", "takes nothing"),
        ("#task it", "needs a queue and a subject"),
    ] {
        let got = parse(line);
        assert!(got.commands.is_empty(), "{line}");
        assert!(got.errors[0].1.contains(why), "{line}: {:?}", got.errors);
    }
}

#[test]
fn link_says_which_way_and_refuses_what_cannot_be() {
    let cfg = shipped();
    let problem = state(9, "open", Some("problem"), "");
    let mut incident = state(5, "open", None, "carol@customer.example");
    let e = run(
        &cfg,
        "#link 9",
        &mut incident,
        std::slice::from_ref(&problem),
        "",
    )
    .unwrap();
    assert_eq!(
        e.actions,
        vec![
            Action::Link {
                other: 9,
                kind: LinkKind::Problem,
                back: LinkKind::Incident
            },
            Action::Set(Change::Type(TicketType::Incident)),
        ]
    );
    assert_eq!(incident.ticket_type.as_deref(), Some("incident"));
    // the other way round, from the problem
    let mut p = problem.clone();
    let e = run(
        &cfg,
        "#link 5",
        &mut p,
        &[state(5, "open", None, "c@x.example")],
        "",
    )
    .unwrap();
    assert_eq!(
        e.actions[0],
        Action::Link {
            other: 5,
            kind: LinkKind::Incident,
            back: LinkKind::Problem
        }
    );
    // two incidents are only related
    let mut a = state(5, "open", None, "");
    let e = run(&cfg, "#link 6", &mut a, &[state(6, "open", None, "")], "").unwrap();
    assert!(matches!(
        e.actions[0],
        Action::Link {
            kind: LinkKind::Related,
            ..
        }
    ));

    for (line, t, others, why) in [
        (
            "#link 5",
            state(5, "open", None, ""),
            vec![],
            "this ticket itself",
        ),
        (
            "#link 77",
            state(5, "open", None, ""),
            vec![],
            "there is no ticket #77",
        ),
        (
            "#unlink 9",
            state(5, "open", None, ""),
            vec![problem.clone()],
            "not linked to #9",
        ),
        (
            "#merge 5",
            state(5, "open", None, ""),
            vec![],
            "this ticket itself",
        ),
        (
            "#merge 77",
            state(5, "open", None, ""),
            vec![],
            "there is no ticket #77",
        ),
        (
            "#merge 8",
            state(5, "open", None, ""),
            vec![state(8, "closed", None, "")],
            "is closed",
        ),
        (
            "#broadcast",
            state(5, "open", Some("incident"), ""),
            vec![],
            "is for problems",
        ),
        (
            "#task nowhere Do it",
            state(5, "open", None, ""),
            vec![],
            "no queue 'nowhere'",
        ),
    ] {
        let mut t = t;
        let before = t.clone();
        let err = run(&cfg, line, &mut t, &others, "text").unwrap_err();
        assert!(err.contains(why), "{line}: {err}");
        assert_eq!(t, before, "{line}: nothing changes");
    }
    // already linked
    let mut linked = state(5, "open", Some("incident"), "");
    linked.links.push(link(LinkKind::Problem, &problem));
    let err = run(
        &cfg,
        "#link 9",
        &mut linked,
        std::slice::from_ref(&problem),
        "",
    )
    .unwrap_err();
    assert!(err.contains("already"), "{err}");
    let e = run(&cfg, "#unlink 9", &mut linked, &[problem], "").unwrap();
    assert_eq!(e.actions, vec![Action::Unlink { other: 9 }]);
    assert!(linked.links.is_empty());
}

#[test]
fn a_merge_into_a_ticket_merged_into_this_one_is_a_cycle() {
    let cfg = shipped();
    let mut a = state(5, "open", None, "");
    let mut b = state(8, "open", None, "");
    b.links.push(link(LinkKind::MergedInto, &a));
    let err = run(&cfg, "#merge 8", &mut a, &[b], "").unwrap_err();
    assert!(err.contains("cycle"), "{err}");
    let e = run(&cfg, "#merge 6", &mut a, &[state(6, "open", None, "")], "").unwrap();
    assert_eq!(e.actions[0], Action::Merge { into: 6 });
    assert!(e
        .actions
        .contains(&Action::Set(Change::Status(Status::Closed))));
}

#[test]
fn a_parent_is_not_resolved_while_a_child_is_open_and_the_last_child_tells_it() {
    let cfg = shipped();
    let mut parent = state(5, "open", None, "");
    parent
        .links
        .push(link(LinkKind::Child, &state(6, "open", None, "")));
    parent
        .links
        .push(link(LinkKind::Child, &state(7, "resolved", None, "")));
    let err = run(&cfg, "#status resolved", &mut parent, &[], "").unwrap_err();
    assert!(err.contains("#6") && !err.contains("#7"), "{err}");
    assert_eq!(parent.status, "open");
    // pending is allowed
    run(&cfg, "#status pending", &mut parent, &[], "").unwrap();

    let mut child = state(6, "open", None, "");
    child.links.push(link(LinkKind::Parent, &parent));
    let e = run(&cfg, "#status resolved", &mut child, &[], "").unwrap();
    assert!(
        e.actions.contains(&Action::ChildDone { parent: 5 }),
        "{e:?}"
    );
    // a task opened in the same mail is open too
    let mut p = state(5, "open", None, "");
    run(&cfg, "#task general Order cables", &mut p, &[], "").unwrap();
    let err = run(&cfg, "#status closed", &mut p, &[], "").unwrap_err();
    assert!(err.contains("the one this mail opens"), "{err}");
}

#[test]
fn a_broadcast_reaches_each_requester_once_and_asks_first_above_the_threshold() {
    let mut cfg = shipped();
    cfg.problems.confirm_above = 2;
    let mut p = state(9, "open", Some("problem"), "");
    let agent = cfg.agents[0].address.clone();
    for (id, who) in [
        (1, "a@x.example"),
        (2, "a@x.example"),
        (3, "b@x.example"),
        (4, agent.as_str()),
        (5, ""),
    ] {
        p.links.push(link(
            LinkKind::Incident,
            &state(id, "open", Some("incident"), who),
        ));
    }
    let e = run(&cfg, "#broadcast", &mut p, &[], "Fixed.").unwrap();
    assert_eq!(
        e.actions,
        vec![Action::Broadcast {
            text: Some("Fixed.".into()),
            resolve: false,
            hold: false,
            confirm: false
        }]
    );
    assert_eq!(e.done, "broadcast to 2 requesters");
    let err = run(&cfg, "#broadcast", &mut p, &[], "").unwrap_err();
    assert!(err.contains("needs the text"), "{err}");
    let err = run(&cfg, "#broadcast confirm", &mut p, &[], "").unwrap_err();
    assert!(err.contains("no broadcast"), "{err}");

    p.links.push(link(
        LinkKind::Incident,
        &state(6, "open", Some("incident"), "c@x.example"),
    ));
    let e = run(&cfg, "#broadcast", &mut p, &[], "Fixed.").unwrap();
    assert!(
        matches!(e.actions[0], Action::Broadcast { hold: true, .. }),
        "{e:?}"
    );

    // resolving the problem resolves its open incidents, held above the threshold too
    let e = run(&cfg, "#status resolved", &mut p, &[], "").unwrap();
    assert!(
        e.actions.contains(&Action::Broadcast {
            text: None,
            resolve: true,
            hold: true,
            confirm: false
        }),
        "{e:?}"
    );
    cfg.problems.resolve_linked = false;
    let mut q = p.clone();
    q.status = "open".into();
    let e = run(&cfg, "#status resolved", &mut q, &[], "").unwrap();
    assert!(!e
        .actions
        .iter()
        .any(|a| matches!(a, Action::Broadcast { .. })));
}

#[test]
fn reply_and_kb_save_are_read_and_checked() {
    let cases: &[(&str, Result<Command, &str>)] = &[
        ("#reply VPN-Reset", Ok(Command::Reply("vpn-reset".into()))),
        ("#reply", Err("#reply needs")),
        ("#reply a b", Err("")),
        ("#reply ../etc", Err("is not an article name")),
        ("#kb save wifi.faq", Ok(Command::KbSave("wifi.faq".into()))),
        ("#kb list", Err("#kb save NAME")),
    ];
    for (line, want) in cases {
        let parsed = parse(line);
        match want {
            Ok(c) => assert_eq!(parsed.commands, vec![c.clone()], "{line}"),
            Err(why) => {
                assert!(parsed.commands.is_empty(), "{line}");
                assert!(
                    parsed.errors[0].1.contains(why),
                    "{line}: {:?}",
                    parsed.errors
                );
            }
        }
    }
}

#[test]
fn reply_names_a_known_article_or_the_closest_ones() {
    let cfg = shipped();
    let mut t = state(7, "open", None, "carol@customer.example");
    let e = run(&cfg, "#reply vpn-reset", &mut t, &[], "").unwrap();
    assert!(e.actions.is_empty(), "decide sends it with the answer");
    assert_eq!(e.done, "answered with the article vpn-reset");
    let why = run(&cfg, "#reply vpn-rest", &mut t, &[], "").unwrap_err();
    assert_eq!(
        why,
        "there is no article 'vpn-rest'; the closest: vpn-reset"
    );
    let why = run(&cfg, "#reply quantum", &mut t, &[], "").unwrap_err();
    assert_eq!(why, "there is no article 'quantum'");
}

#[test]
fn kb_save_keeps_the_title_line_and_refuses_unknown_values() {
    let cfg = shipped();
    let mut t = state(7, "open", None, "carol@customer.example");
    let e = run(
        &cfg,
        "#kb save vpn-reset",
        &mut t,
        &[],
        "# Resetting the VPN\n\nHello {{customer.display}},\nopen the VPN app.",
    )
    .unwrap();
    assert_eq!(
        e.actions,
        vec![Action::SaveArticle {
            name: "vpn-reset".into(),
            title: Some("Resetting the VPN".into()),
            body: "Hello {{customer.display}},\nopen the VPN app.".into(),
        }]
    );
    let e = run(&cfg, "#kb save wifi", &mut t, &[], "Restart the router.").unwrap();
    assert!(matches!(
        &e.actions[0],
        Action::SaveArticle { title: None, .. }
    ));
    assert!(run(&cfg, "#kb save wifi", &mut t, &[], "  ").is_err());
    let why = run(&cfg, "#kb save wifi", &mut t, &[], "Dear {{customer.nme}},").unwrap_err();
    assert!(why.contains("customer.nme"), "{why}");
}
