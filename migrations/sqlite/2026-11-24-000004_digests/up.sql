-- Digests: every run of a [[digests]] entry, one row per digest and scheduled time (unique), so
-- a run is sent once however many instances reach it, and a missed run is found at start.
-- Tickets remember when they were last resolved (for "resolved in the period").
CREATE TABLE digest_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    scheduled_for BIGINT NOT NULL,
    sent_at BIGINT NOT NULL,
    outbox_id BIGINT
);
CREATE UNIQUE INDEX digest_runs_name_time ON digest_runs (name, scheduled_for);
ALTER TABLE tickets ADD COLUMN resolved_at BIGINT;
CREATE INDEX tickets_created ON tickets (created_at);
CREATE INDEX tickets_resolved ON tickets (resolved_at);
