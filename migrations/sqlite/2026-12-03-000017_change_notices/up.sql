-- What was told about a change's window, once across instances: the reminder before it opens
-- (`kind` reminder) and the request for a post-implementation note after it closes (`review`).
-- A moved window is told again.
CREATE TABLE change_notices (
    ticket_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    window_text TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, kind, window_text)
);
