-- Satisfaction surveys ([csat]): one row per resolution of a ticket, scheduled when it is
-- resolved, sent by the scheduler after [csat] delay (once across instances: the row moves
-- from 'scheduled' to 'sent' in the transaction that queues the mail), cancelled when the
-- ticket reopens first. 'skipped' rows record why no survey went out (sampling, a bounced
-- address). The queue and assignee are those at resolution, for the figures by queue and agent.
CREATE TABLE csat_surveys (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL,
    resolved_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    address TEXT NOT NULL,
    queue TEXT NOT NULL,
    assignee TEXT,
    state TEXT NOT NULL,
    reason TEXT,
    asked_at BIGINT,
    score INTEGER,
    comment TEXT,
    answered_at BIGINT,
    answered_via TEXT,
    UNIQUE (ticket_id, resolved_at)
);
CREATE INDEX csat_surveys_due ON csat_surveys (state, due_at);
