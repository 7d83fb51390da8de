DROP TABLE outbox;
DROP TABLE mailbox_cursors;
DROP TABLE events;
DROP TABLE participants;
DROP TABLE attachments;
DROP TABLE messages;
DROP TABLE inbound;
DROP TABLE tickets;
