DROP TABLE receipts;
DROP FUNCTION receipts_guard();
