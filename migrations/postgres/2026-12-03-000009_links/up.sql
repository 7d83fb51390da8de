-- How tickets relate (DESIGN.md §6.2 `links`): one row per direction, `kind` saying what
-- `other_id` is to `ticket_id` (an incident's row names its `problem`, the problem's row names
-- the `incident`; `merged_into`/`merged_from`; `parent`/`child`; `related`).
CREATE TABLE links (
    ticket_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    other_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, kind, other_id)
);
CREATE INDEX links_other ON links (other_id);
-- A broadcast on a problem: the text, and whether it was sent or waits for the agent's
-- confirmation (more requesters than [problems] confirm_above).
CREATE TABLE broadcasts (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL,
    agent TEXT NOT NULL,
    text TEXT NOT NULL,
    state TEXT NOT NULL,
    resolve BOOLEAN NOT NULL,
    recipients BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX broadcasts_ticket ON broadcasts (ticket_id);
