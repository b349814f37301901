-- On SQLite events are chained in the transaction that records them and the journal
-- stays empty; a row in it is not in the hash chain. Nothing may change one, and one
-- may leave only once its event is in audit_log (the chainer deletes in the transaction
-- that chained it, which is what an older version's leftovers go through).
CREATE TRIGGER audit_journal_no_update BEFORE UPDATE ON audit_journal
BEGIN
    SELECT RAISE(ABORT, 'audit_journal rows leave only by chaining');
END;
CREATE TRIGGER audit_journal_no_delete BEFORE DELETE ON audit_journal
WHEN NOT EXISTS (
    SELECT 1 FROM audit_log l
    WHERE l.at = OLD.at AND l.actor_kind = OLD.actor_kind AND l.actor = OLD.actor
      AND l.action = OLD.action AND l.outcome = OLD.outcome
      AND l.kommunkod IS OLD.kommunkod AND l.person IS OLD.person
      AND l.target IS OLD.target
)
BEGIN
    SELECT RAISE(ABORT, 'audit_journal rows leave only by chaining');
END;
