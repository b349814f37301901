-- Signed receipts and their transparency log (issue #23); see the PostgreSQL migration
-- of the same name for what each table holds. Append-only, as there.
CREATE TABLE receipts (
    meddelande_id TEXT PRIMARY KEY,
    leaf_index BIGINT NOT NULL UNIQUE,
    leaf_hash TEXT NOT NULL,
    jws TEXT,
    issued_at BIGINT NOT NULL
);
CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE checkpoints (
    tree_size BIGINT PRIMARY KEY,
    root_hash TEXT NOT NULL,
    tid TEXT NOT NULL,
    signatur_jws TEXT NOT NULL,
    tidsstampel TEXT
);
INSERT INTO feed_counters (name, value) VALUES ('kvittenser', 0);

CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts
BEGIN
    SELECT RAISE(ABORT, 'receipts are append-only (only a receipt''s content may be erased)');
END;
CREATE TRIGGER receipts_only_erasure BEFORE UPDATE ON receipts
WHEN NOT (NEW.meddelande_id = OLD.meddelande_id AND NEW.leaf_index = OLD.leaf_index
          AND NEW.leaf_hash = OLD.leaf_hash AND NEW.issued_at = OLD.issued_at
          AND NEW.jws IS NULL)
BEGIN
    SELECT RAISE(ABORT, 'receipts are append-only (only a receipt''s content may be erased)');
END;
CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes
BEGIN
    SELECT RAISE(ABORT, 'the transparency log is append-only (merkle_nodes)');
END;
CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes
BEGIN
    SELECT RAISE(ABORT, 'the transparency log is append-only (merkle_nodes)');
END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'the transparency log is append-only (checkpoints)');
END;
CREATE TRIGGER checkpoints_only_timestamp BEFORE UPDATE ON checkpoints
WHEN NOT (NEW.tree_size = OLD.tree_size AND NEW.root_hash = OLD.root_hash
          AND NEW.tid = OLD.tid AND NEW.signatur_jws = OLD.signatur_jws
          AND OLD.tidsstampel IS NULL)
BEGIN
    SELECT RAISE(ABORT, 'the transparency log is append-only (checkpoints)');
END;
