-- postdesk schema, SQLite flavour. Times are milliseconds since the Unix epoch (UTC).
CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    queue TEXT NOT NULL,
    requester TEXT NOT NULL,
    assignee TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    sla_policy TEXT,
    first_response_due BIGINT,
    resolution_due BIGINT,
    sla_breached BOOLEAN NOT NULL DEFAULT 0,
    first_response_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tickets_status ON tickets (status, queue);

CREATE TABLE inbound (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox TEXT NOT NULL,
    source_pos TEXT NOT NULL,
    message_id TEXT NOT NULL,
    content_hash TEXT NOT NULL UNIQUE,
    dedupe_key TEXT NOT NULL,
    from_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    size BIGINT NOT NULL,
    raw BLOB NOT NULL,
    received_at BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    matched_by TEXT,
    ticket_id BIGINT REFERENCES tickets (id),
    reason TEXT,
    error TEXT
);
CREATE INDEX inbound_message_id ON inbound (message_id);
CREATE INDEX inbound_outcome ON inbound (outcome);
CREATE INDEX inbound_dedupe_key ON inbound (dedupe_key);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    inbound_id BIGINT REFERENCES inbound (id),
    message_id TEXT NOT NULL,
    in_reply_to TEXT,
    refs TEXT NOT NULL,
    direction TEXT NOT NULL,
    kind TEXT NOT NULL,
    from_addr TEXT NOT NULL,
    from_name TEXT,
    to_addrs TEXT NOT NULL,
    cc_addrs TEXT NOT NULL,
    subject TEXT NOT NULL,
    date BIGINT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_ticket ON messages (ticket_id);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_row_id BIGINT NOT NULL REFERENCES messages (id),
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    content BLOB
);
CREATE INDEX attachments_message ON attachments (message_row_id);

CREATE TABLE participants (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    address TEXT NOT NULL,
    name TEXT,
    role TEXT NOT NULL,
    PRIMARY KEY (ticket_id, address)
);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX events_ticket ON events (ticket_id);

CREATE TABLE mailbox_cursors (
    mailbox TEXT PRIMARY KEY NOT NULL,
    uid_validity BIGINT NOT NULL,
    last_uid BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT REFERENCES tickets (id),
    kind TEXT NOT NULL,
    env_from TEXT NOT NULL,
    rcpt TEXT NOT NULL,
    subject TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    raw BLOB NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
