-- Kommun messages are stored without a feed position; the sequencer gives committed
-- ones their handelser positions in batches (see docs/persistence.md). This index finds
-- the ones still waiting.
CREATE INDEX messages_unsequenced ON messages (mottaget, id) WHERE handelse_pos IS NULL AND author = 'kommun';
