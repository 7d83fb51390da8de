-- Approval chains ([[approvals]]; DESIGN.md §6.2 `approval`): one chain per ticket, at its
-- current step; each approver of a step that started has a decision row, answered by mail
-- (its id is in the approver's signed reply address) or on the one-click page.
CREATE TABLE approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT NOT NULL UNIQUE,
    chain TEXT NOT NULL,
    state TEXT NOT NULL,
    step INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    decided_at BIGINT
);
CREATE TABLE approval_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    approval_id BIGINT NOT NULL,
    step INTEGER NOT NULL,
    quorum TEXT NOT NULL,
    approver TEXT NOT NULL,
    decision TEXT NOT NULL,
    asked_at BIGINT NOT NULL,
    at BIGINT,
    comment TEXT,
    -- a reminder after [[approvals]] remind_after, then the queue's managers told, each once
    reminded_at BIGINT,
    escalated_at BIGINT,
    UNIQUE (approval_id, step, approver)
);
