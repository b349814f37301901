DROP TABLE checkpoints;
DROP TABLE merkle_nodes;
DROP TABLE receipts;
DROP FUNCTION transparency_log_guard();
DROP FUNCTION receipts_guard();
DELETE FROM feed_counters WHERE name = 'kvittenser';
