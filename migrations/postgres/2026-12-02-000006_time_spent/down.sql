ALTER TABLE tickets DROP COLUMN time_spent_ms;
