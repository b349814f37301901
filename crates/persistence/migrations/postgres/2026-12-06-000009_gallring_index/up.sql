-- Gallring finds the persons inactive since before the cutoff, oldest first, and
-- deletes them in batches: through this index, not a scan of every identity.
CREATE INDEX identities_last_activity ON identities (last_activity_at);
