DROP TABLE mailbox_leases;
DROP TABLE instances;
