DROP INDEX checkpoints_unstamped;
