DROP INDEX tickets_resolved;
DROP INDEX tickets_created;
ALTER TABLE tickets DROP COLUMN resolved_at;
DROP TABLE digest_runs;
