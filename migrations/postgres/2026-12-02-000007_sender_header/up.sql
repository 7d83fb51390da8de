-- Which header the sender was taken from (from, sender, reply-to, return-path), or NULL
-- when the mail named no sender at all (or was recorded before it was read).
ALTER TABLE inbound ADD COLUMN sender_header TEXT;
