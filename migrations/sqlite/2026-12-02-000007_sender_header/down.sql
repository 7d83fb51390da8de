ALTER TABLE inbound DROP COLUMN sender_header;
