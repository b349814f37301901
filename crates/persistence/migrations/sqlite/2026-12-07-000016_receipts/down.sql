DROP TABLE checkpoints;
DROP TABLE merkle_nodes;
DROP TABLE receipts;
DELETE FROM feed_counters WHERE name = 'kvittenser';
