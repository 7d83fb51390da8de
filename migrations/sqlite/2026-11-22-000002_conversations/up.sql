-- Conversations: Outlook Thread-Index of a ticket, its subject without reply prefixes and list
-- tags (for list mail that lost its threading headers), links from a reopened-too-late ticket
-- to its predecessor, Message-IDs a ticket's mails referenced that we never saw (so mails
-- sharing a missing ancestor meet), and indexes for the per-address cap on automatic mail and
-- participant checks.
ALTER TABLE tickets ADD COLUMN thread_index TEXT;
ALTER TABLE tickets ADD COLUMN subject_key TEXT;
ALTER TABLE tickets ADD COLUMN linked_to BIGINT;
CREATE INDEX tickets_thread_index ON tickets (thread_index);
CREATE INDEX tickets_subject_key ON tickets (subject_key, updated_at);
CREATE TABLE thread_refs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ref_id TEXT NOT NULL,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id)
);
CREATE INDEX thread_refs_ref ON thread_refs (ref_id);
CREATE INDEX outbox_rcpt ON outbox (rcpt, created_at);
CREATE INDEX participants_address ON participants (address);
