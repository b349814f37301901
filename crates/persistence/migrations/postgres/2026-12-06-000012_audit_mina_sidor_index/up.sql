-- The huvudansvariga's activity log (Mina sidor, issue #25): a kommun's changes to its
-- users and invitations, newest first. Partial, so that the audit log's millions of
-- reads and writes of personal data are not in it and cost it nothing but the check of
-- the condition; the query names the condition as a literal.
CREATE INDEX audit_log_mina_sidor ON audit_log (kommunkod, seq) WHERE action LIKE 'mina-sidor:%';
