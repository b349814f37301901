DROP INDEX messages_ms_sent;
DROP INDEX messages_kommun_sent;
