DROP TABLE ticket_fields;
