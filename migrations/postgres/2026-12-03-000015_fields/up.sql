-- Fields of a ticket (`#set NAME VALUE`; DESIGN.md §6.2 `fields`): a change's window, risk,
-- rollback and service, a service request's answers. One row per field.
CREATE TABLE ticket_fields (
    ticket_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, name)
);
