-- The checkpoints waiting for their RFC 3161 timestamp, found without reading the
-- stamped ones (a year of checkpoints every 60 s is 525,600 rows).
CREATE INDEX checkpoints_unstamped ON checkpoints (tree_size) WHERE tidsstampel IS NULL;
