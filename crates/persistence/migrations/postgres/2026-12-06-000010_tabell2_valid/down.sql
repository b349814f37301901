DROP INDEX messages_tabell2_valid;
