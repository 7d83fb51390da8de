-- SLA clocks and triage: one row per ticket and target (first_response, next_response,
-- resolution) in business time. next_check is when the sweep must next look at a clock (its
-- next warning, breach or escalation step), NULL while paused, stopped or done, so a sweep is
-- a range scan of a partial index however many tickets are open. stage counts the
-- checkpoints already fired: updated only from the stage read, so each fires once even with
-- several sweepers. Tickets get the type rules set, and their next-response due time.
CREATE TABLE sla_clocks (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    target TEXT NOT NULL,
    target_ms BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    warn_at BIGINT,
    due_at BIGINT,
    warn_left BIGINT,
    due_left BIGINT,
    stage INTEGER NOT NULL DEFAULT 0,
    breached BOOLEAN NOT NULL DEFAULT FALSE,
    stopped_at BIGINT,
    next_check BIGINT
);
CREATE UNIQUE INDEX sla_clocks_ticket_target ON sla_clocks (ticket_id, target);
CREATE INDEX sla_clocks_next_check ON sla_clocks (next_check) WHERE next_check IS NOT NULL;
ALTER TABLE tickets ADD COLUMN ticket_type TEXT;
ALTER TABLE tickets ADD COLUMN next_response_due BIGINT;
CREATE INDEX tickets_queue_assignee ON tickets (queue, assignee, status);
