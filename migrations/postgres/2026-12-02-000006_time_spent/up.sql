-- Time agents spent on a ticket (#time), in milliseconds.
ALTER TABLE tickets ADD COLUMN time_spent_ms BIGINT NOT NULL DEFAULT 0;
