-- Conversations: Outlook Thread-Index of a ticket, links from a reopened-too-late ticket to
-- its predecessor, and an index for the per-address cap on automatic mail.
ALTER TABLE tickets ADD COLUMN thread_index TEXT;
ALTER TABLE tickets ADD COLUMN linked_to BIGINT;
CREATE INDEX tickets_thread_index ON tickets (thread_index);
CREATE INDEX outbox_rcpt ON outbox (rcpt, created_at);
CREATE INDEX participants_address ON participants (address);
