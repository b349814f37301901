DROP INDEX identities_last_activity;
