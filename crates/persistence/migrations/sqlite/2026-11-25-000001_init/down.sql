DROP TABLE audit_head;
DROP TABLE audit_log;
DROP TABLE idempotency;
DROP TABLE clients;
DROP TABLE feed_counters;
DROP TABLE messages;
DROP TABLE identities;
