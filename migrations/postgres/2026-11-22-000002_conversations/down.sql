DROP INDEX participants_address;
DROP INDEX outbox_rcpt;
DROP INDEX tickets_thread_index;
ALTER TABLE tickets DROP COLUMN linked_to;
ALTER TABLE tickets DROP COLUMN thread_index;
