DROP INDEX messages_tabell2;
DROP INDEX messages_beslut_feed;
