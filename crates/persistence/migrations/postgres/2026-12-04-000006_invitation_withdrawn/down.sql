DROP INDEX ms_invitations_person;
ALTER TABLE ms_invitations DROP COLUMN withdrawn_at;
