DROP INDEX tickets_queue_assignee;
ALTER TABLE tickets DROP COLUMN next_response_due;
ALTER TABLE tickets DROP COLUMN ticket_type;
DROP TABLE sla_clocks;
