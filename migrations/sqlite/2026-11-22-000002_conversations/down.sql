DROP INDEX participants_address;
DROP INDEX outbox_rcpt;
DROP TABLE thread_refs;
DROP INDEX tickets_subject_key;
DROP INDEX tickets_thread_index;
ALTER TABLE tickets DROP COLUMN linked_to;
ALTER TABLE tickets DROP COLUMN subject_key;
ALTER TABLE tickets DROP COLUMN thread_index;
