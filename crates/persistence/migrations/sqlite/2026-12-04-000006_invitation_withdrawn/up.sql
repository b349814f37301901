-- An invitation can be withdrawn (by the huvudansvarig, when it is sent again, or when
-- the person's account in the kommun is deactivated): a withdrawn link never works.
ALTER TABLE ms_invitations ADD COLUMN withdrawn_at BIGINT;
-- The open invitations of a person in a kommun, found at invite time and deactivation.
CREATE INDEX ms_invitations_person ON ms_invitations (kommunkod, person_hash);
