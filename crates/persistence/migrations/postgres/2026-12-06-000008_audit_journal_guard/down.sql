DROP TRIGGER audit_journal_no_truncate ON audit_journal;
DROP TRIGGER audit_journal_guard ON audit_journal;
DROP FUNCTION audit_journal_guard();
