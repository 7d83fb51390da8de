ALTER TABLE tickets DROP COLUMN identity;
