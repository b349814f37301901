-- A journal row is not yet in the hash chain, so nothing may change or remove it but
-- the chainer, which deletes the rows it has just chained in the same transaction and
-- says so with a transaction-local setting. Like audit_log's guard, this stops every
-- other UPDATE, DELETE and TRUNCATE; it does not stop the table's owner from dropping
-- the trigger (the hash chain and its external copies are the protection against that).
CREATE FUNCTION audit_journal_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('komvux.audit_chainer', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_journal rows leave only by chaining';
END;
$$;
CREATE TRIGGER audit_journal_guard BEFORE UPDATE OR DELETE ON audit_journal
    FOR EACH ROW EXECUTE FUNCTION audit_journal_guard();
CREATE TRIGGER audit_journal_no_truncate BEFORE TRUNCATE ON audit_journal
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
