-- Signed receipts and their transparency log (issue #23). A receipt is the compact JWS
-- handed out with a kommun write's 201, kept so that a replay returns the very same
-- bytes; it is the log's leaf number leaf_index (gap-free, in commit order, taken under
-- the 'kvittenser' counter's lock like the feeds' positions), leaf_hash = hex
-- SHA-256(0x00 || JWS) (RFC 9162 §2.1). merkle_nodes holds every complete subtree above
-- the leaves (level >= 1; node (level, idx) covers leaves idx*2^level ..), written when
-- its last leaf is kept, so a proof reads a few nodes. checkpoints are the signed tree
-- heads. All three are append-only: a receipt changes only by the erasure of its content
-- (jws set to NULL) when gallring erases its message, a checkpoint only by getting its
-- timestamp once; nothing is removed. No personnummer and no body field is in any.
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

CREATE FUNCTION receipts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.meddelande_id = OLD.meddelande_id
        AND NEW.leaf_index = OLD.leaf_index AND NEW.leaf_hash = OLD.leaf_hash
        AND NEW.issued_at = OLD.issued_at AND NEW.jws IS NULL THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'receipts are append-only (only a receipt''s content may be erased)';
END;
$$;
CREATE TRIGGER receipts_guard BEFORE UPDATE OR DELETE ON receipts
    FOR EACH ROW EXECUTE FUNCTION receipts_guard();
CREATE TRIGGER receipts_no_truncate BEFORE TRUNCATE ON receipts
    FOR EACH STATEMENT EXECUTE FUNCTION receipts_guard();

CREATE FUNCTION transparency_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'checkpoints'
        AND NEW.tree_size = OLD.tree_size AND NEW.root_hash = OLD.root_hash
        AND NEW.tid = OLD.tid AND NEW.signatur_jws = OLD.signatur_jws
        AND OLD.tidsstampel IS NULL THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the transparency log is append-only (%)', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER merkle_nodes_guard BEFORE UPDATE OR DELETE ON merkle_nodes
    FOR EACH ROW EXECUTE FUNCTION transparency_log_guard();
CREATE TRIGGER merkle_nodes_no_truncate BEFORE TRUNCATE ON merkle_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION transparency_log_guard();
CREATE TRIGGER checkpoints_guard BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION transparency_log_guard();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION transparency_log_guard();
