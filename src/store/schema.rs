//! The diesel schema shared by the SQLite and PostgreSQL migrations. Written by hand because
//! one schema must serve both backends; keep it in step with migrations/sqlite and
//! migrations/postgres (the store tests run every query on both).

diesel::table! {
    tickets (id) {
        id -> BigInt,
        subject -> Text,
        status -> Text,
        priority -> Text,
        queue -> Text,
        requester -> Text,
        assignee -> Nullable<Text>,
        tags -> Text,
        sla_policy -> Nullable<Text>,
        first_response_due -> Nullable<BigInt>,
        resolution_due -> Nullable<BigInt>,
        sla_breached -> Bool,
        first_response_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        thread_index -> Nullable<Text>,
        subject_key -> Nullable<Text>,
        linked_to -> Nullable<BigInt>,
        ticket_type -> Nullable<Text>,
        next_response_due -> Nullable<BigInt>,
        resolved_at -> Nullable<BigInt>,
        time_spent_ms -> BigInt,
        identity -> Nullable<Text>,
    }
}

diesel::table! {
    digest_runs (id) {
        id -> BigInt,
        name -> Text,
        scheduled_for -> BigInt,
        sent_at -> BigInt,
        outbox_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    sla_clocks (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        target -> Text,
        target_ms -> BigInt,
        started_at -> BigInt,
        warn_at -> Nullable<BigInt>,
        due_at -> Nullable<BigInt>,
        warn_left -> Nullable<BigInt>,
        due_left -> Nullable<BigInt>,
        stage -> Integer,
        breached -> Bool,
        stopped_at -> Nullable<BigInt>,
        next_check -> Nullable<BigInt>,
    }
}

diesel::table! {
    inbound (id) {
        id -> BigInt,
        mailbox -> Text,
        source_pos -> Text,
        message_id -> Text,
        content_hash -> Text,
        dedupe_key -> Text,
        from_addr -> Text,
        subject -> Text,
        size -> BigInt,
        raw -> Binary,
        received_at -> BigInt,
        outcome -> Text,
        matched_by -> Nullable<Text>,
        ticket_id -> Nullable<BigInt>,
        reason -> Nullable<Text>,
        error -> Nullable<Text>,
        sender_header -> Nullable<Text>,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        inbound_id -> Nullable<BigInt>,
        message_id -> Text,
        in_reply_to -> Nullable<Text>,
        refs -> Text,
        direction -> Text,
        kind -> Text,
        from_addr -> Text,
        from_name -> Nullable<Text>,
        to_addrs -> Text,
        cc_addrs -> Text,
        subject -> Text,
        date -> BigInt,
        text_body -> Text,
        html_body -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    attachments (id) {
        id -> BigInt,
        message_row_id -> BigInt,
        name -> Text,
        content_type -> Text,
        size -> BigInt,
        content -> Nullable<Binary>,
    }
}

diesel::table! {
    participants (ticket_id, address) {
        ticket_id -> BigInt,
        address -> Text,
        name -> Nullable<Text>,
        role -> Text,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        at -> BigInt,
        actor -> Text,
        kind -> Text,
        detail -> Text,
    }
}

diesel::table! {
    thread_refs (id) {
        id -> BigInt,
        ref_id -> Text,
        ticket_id -> BigInt,
    }
}

diesel::table! {
    mailbox_cursors (mailbox) {
        mailbox -> Text,
        uid_validity -> BigInt,
        last_uid -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        ticket_id -> Nullable<BigInt>,
        kind -> Text,
        env_from -> Text,
        rcpt -> Text,
        subject -> Text,
        message_id -> Text,
        raw -> Binary,
        status -> Text,
        attempts -> BigInt,
        last_error -> Nullable<Text>,
        next_attempt_at -> BigInt,
        created_at -> BigInt,
        sent_at -> Nullable<BigInt>,
        held_by -> Nullable<Text>,
    }
}

diesel::table! {
    instances (id) {
        id -> Text,
        started_at -> BigInt,
        seen_at -> BigInt,
        process -> Nullable<Text>,
    }
}

diesel::table! {
    mailbox_leases (mailbox) {
        mailbox -> Text,
        holder -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    links (ticket_id, kind, other_id) {
        ticket_id -> BigInt,
        kind -> Text,
        other_id -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    broadcasts (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        agent -> Text,
        text -> Text,
        state -> Text,
        resolve -> Bool,
        recipients -> BigInt,
        created_at -> BigInt,
        sent_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    articles (name) {
        name -> Text,
        title -> Text,
        body -> Text,
        saved_by -> Text,
        saved_at -> BigInt,
    }
}

diesel::table! {
    csat_surveys (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        resolved_at -> BigInt,
        due_at -> BigInt,
        address -> Text,
        queue -> Text,
        assignee -> Nullable<Text>,
        state -> Text,
        reason -> Nullable<Text>,
        asked_at -> Nullable<BigInt>,
        score -> Nullable<Integer>,
        comment -> Nullable<Text>,
        answered_at -> Nullable<BigInt>,
        answered_via -> Nullable<Text>,
    }
}

diesel::table! {
    contacts (address) {
        address -> Text,
        language -> Text,
        source -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    ticket_fields (ticket_id, name) {
        ticket_id -> BigInt,
        name -> Text,
        value -> Text,
        set_by -> Text,
        set_at -> BigInt,
    }
}

diesel::table! {
    approvals (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        chain -> Text,
        state -> Text,
        step -> Integer,
        created_at -> BigInt,
        decided_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    approval_decisions (id) {
        id -> BigInt,
        approval_id -> BigInt,
        step -> Integer,
        quorum -> Text,
        approver -> Text,
        decision -> Text,
        asked_at -> BigInt,
        at -> Nullable<BigInt>,
        comment -> Nullable<Text>,
        reminded_at -> Nullable<BigInt>,
        escalated_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    change_notices (ticket_id, kind, window_text) {
        ticket_id -> BigInt,
        kind -> Text,
        window_text -> Text,
        sent_at -> BigInt,
    }
}

diesel::joinable!(messages -> tickets (ticket_id));
diesel::joinable!(attachments -> messages (message_row_id));
diesel::joinable!(events -> tickets (ticket_id));
diesel::joinable!(participants -> tickets (ticket_id));
diesel::joinable!(sla_clocks -> tickets (ticket_id));

diesel::allow_tables_to_appear_in_same_query!(
    tickets,
    inbound,
    messages,
    attachments,
    participants,
    events,
    mailbox_cursors,
    outbox,
    thread_refs,
    sla_clocks,
    digest_runs,
    instances,
    mailbox_leases,
    links,
    broadcasts,
    articles,
    csat_surveys,
    contacts,
    ticket_fields,
    approvals,
    approval_decisions,
    change_notices,
);
