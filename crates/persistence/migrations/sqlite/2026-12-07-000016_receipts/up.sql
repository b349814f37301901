-- Signed receipts (issue #23): the compact JWS handed out with a kommun write's 201,
-- kept so that a replay returns the very same bytes, and the leaf of the transparency
-- log (leaf_hash = hex SHA-256(0x00 || JWS), RFC 9162 §2.1). Append-only: a row is
-- never removed and changes only by the erasure of its content (jws set to NULL) when
-- gallring erases its message; the leaf hash stays. No personnummer and no body field
-- is in a receipt. No reference to messages: the receipt outlives its message.
CREATE TABLE receipts (
    meddelande_id TEXT PRIMARY KEY,
    leaf_hash TEXT NOT NULL,
    jws TEXT,
    issued_at BIGINT NOT NULL
);
CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts
BEGIN
    SELECT RAISE(ABORT, 'receipts are append-only (only a receipt''s content may be erased)');
END;
CREATE TRIGGER receipts_only_erasure BEFORE UPDATE ON receipts
WHEN NOT (NEW.meddelande_id = OLD.meddelande_id AND NEW.leaf_hash = OLD.leaf_hash
          AND NEW.issued_at = OLD.issued_at AND NEW.jws IS NULL)
BEGIN
    SELECT RAISE(ABORT, 'receipts are append-only (only a receipt''s content may be erased)');
END;
