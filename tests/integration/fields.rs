//! `#set NAME VALUE` (DESIGN.md §6.1) and `fields` in `ticket --json` (§6.2).

use crate::conversation::{
    agent_reply, env, ingest, reply_address, sent, text_part, ticket_with_notification,
};

#[test]
fn an_agent_sets_a_changes_fields_and_a_bad_window_is_refused_with_the_form_expected() {
    let e = env();
    let (t, note) = ticket_with_notification(&e);
    let to = reply_address(&note);
    let row = ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &to,
            "#type change\r\n#set risk HIGH\r\n#set window 2026-12-05T22:00:00+01:00/2026-12-05T23:00:00+01:00\r\n\
             #set rollback restore the VM snapshot\r\n#set service printing",
        ),
    );
    assert_eq!(row["outcome"], "command", "{row}");
    let ticket = e.ticket(t);
    assert_eq!(ticket["type"], "change");
    assert_eq!(ticket["fields"]["risk"], "high", "{ticket}");
    assert_eq!(
        ticket["fields"]["window"],
        "2026-12-05T22:00:00+01:00/2026-12-05T23:00:00+01:00"
    );
    assert_eq!(ticket["fields"]["rollback"], "restore the VM snapshot");
    assert_eq!(e.tickets()[0]["fields"]["service"], "printing");

    // A window that does not parse, and a field removed.
    ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &to,
            "#set window tomorrow night\r\n#set service",
        ),
    );
    let errors = sent(&e, "command_error", "alice@example.test");
    let text = text_part(errors.last().unwrap());
    assert!(text.contains("#set window tomorrow night"), "{text}");
    assert!(text.contains("a window is START/END"), "{text}");
    let ticket = e.ticket(t);
    assert_eq!(
        ticket["fields"]["window"], "2026-12-05T22:00:00+01:00/2026-12-05T23:00:00+01:00",
        "unchanged"
    );
    assert!(ticket["fields"].get("service").is_none(), "{ticket}");
}

#[test]
fn a_window_in_the_freeze_or_outside_the_change_calendar_is_refused_with_why() {
    let e = crate::util::Env::with(
        &format!(
            "{}\n[[calendars]]\nname = \"nights\"\ntimezone = \"Europe/Berlin\"\n\
             hours = {{ mon = \"20:00-24:00\", tue = \"20:00-24:00\", wed = \"20:00-24:00\", thu = \"20:00-24:00\", fri = \"20:00-24:00\", sat = \"20:00-24:00\" }}\n\
             \n[changes]\ncalendar = \"nights\"\nfreeze = [\"2026-12-20/2027-01-04\"]\n",
            crate::conversation::AGENTS
        ),
        None,
    );
    let (t, note) = ticket_with_notification(&e);
    let to = reply_address(&note);
    for (window, why) in [
        (
            "2026-12-21T21:00:00+01:00/2026-12-21T22:00:00+01:00",
            "falls in the change freeze 2026-12-20/2027-01-04",
        ),
        (
            "2026-12-08T10:00:00+01:00/2026-12-08T11:00:00+01:00",
            "outside the hours of the change calendar 'nights'",
        ),
    ] {
        ingest(
            &e,
            &agent_reply(
                &note,
                "alice@example.test",
                &to,
                &format!("#set window {window}"),
            ),
        );
        let text = text_part(
            sent(&e, "command_error", "alice@example.test")
                .last()
                .unwrap(),
        );
        assert!(text.contains(why), "{why}\n{text}");
    }
    assert!(e.ticket(t)["fields"].get("window").is_none());
    ingest(
        &e,
        &agent_reply(
            &note,
            "alice@example.test",
            &to,
            "#set window 2026-12-08T21:00:00+01:00/2026-12-08T22:30:00+01:00",
        ),
    );
    assert_eq!(
        e.ticket(t)["fields"]["window"],
        "2026-12-08T21:00:00+01:00/2026-12-08T22:30:00+01:00"
    );
}
