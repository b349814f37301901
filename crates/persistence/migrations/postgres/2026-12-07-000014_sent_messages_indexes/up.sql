-- Mina sidor's Skickade meddelanden (issue #25): a kommun's own messages, newest first,
-- narrowed by kind and time. Partial on the author, so Af's messages are not in it; the
-- kind is a column of the index, so a filter on it is checked on the index entry.
CREATE INDEX messages_kommun_sent ON messages (kommunkod, mottaget, id, kind) WHERE author = 'kommun';
-- The same list narrowed to one handläggare: only what Mina sidor users wrote (a small
-- part of all messages; systems write the rest), by user, newest first.
CREATE INDEX messages_ms_sent ON messages (kommunkod, actor, mottaget, id, kind) WHERE actor LIKE 'mina-sidor:%';
