-- Several `serve` instances on one database: each instance's heartbeat, and which instance
-- holds each mailbox until when. A mailbox is read only by the holder of an unexpired lease.
CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    seen_at BIGINT NOT NULL
);
CREATE TABLE mailbox_leases (
    mailbox TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX mailbox_leases_holder ON mailbox_leases (holder);
