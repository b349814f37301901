DROP TRIGGER audit_journal_no_delete;
DROP TRIGGER audit_journal_no_update;
