DROP INDEX outbox_held_by;
ALTER TABLE outbox DROP COLUMN held_by;
ALTER TABLE instances DROP COLUMN process;
