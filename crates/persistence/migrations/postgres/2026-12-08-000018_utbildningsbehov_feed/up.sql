-- Tabell 2 as a change feed (GET /komvux/v1/utbildningsbehov/andringar): every version
-- of an utbildningsbehov (aktiv when Af creates it, avslutad when Af ends it, utgangen
-- when the gateway finds its giltig_tom passed) gets a position of its own feed, handed
-- out in commit order like the decision feed's (crates/persistence/src/feeds.rs).
ALTER TABLE messages ADD COLUMN behov_pos BIGINT;
-- An utbildningsbehov may now also be utgangen.
ALTER TABLE messages DROP CONSTRAINT messages_status_known;
ALTER TABLE messages ADD CONSTRAINT messages_status_known CHECK (
    (author = 'kommun' AND status IN ('registrering', 'andring', 'borttag'))
    OR (kind = 'utbildningsbehov' AND status IN ('aktiv', 'avslutad', 'utgangen'))
    OR (kind = 'utbildningsbeslut' AND status IN ('beslutad', 'andrad', 'upphord'))
    OR (kind = 'etableringsprogram' AND status IN ('deltar', 'deltar_inte')));
-- The feed of a kommun after a cursor, in position order. Only utbildningsbehov have a
-- behov_pos; `behov_pos > ?` implies the condition, also with the cursor bound.
CREATE INDEX messages_behov_feed ON messages (kommunkod, behov_pos) WHERE behov_pos IS NOT NULL;
-- The active utbildningsbehov by giltig_tom across kommuner: the expiry check reads
-- the first entry of this index every second; an expired one leaves it when its
-- utgangen version is written, so it holds the active set only.
CREATE INDEX messages_behov_due ON messages (giltig_tom)
    WHERE kind = 'utbildningsbehov' AND aktuell = TRUE AND status = 'aktiv';
-- The versions stored before this feed get its first positions, oldest first.
UPDATE messages SET behov_pos = numbered.n
FROM (SELECT id, row_number() OVER (ORDER BY mottaget, id) AS n
      FROM messages WHERE kind = 'utbildningsbehov') AS numbered
WHERE messages.id = numbered.id;
INSERT INTO feed_counters (name, value)
    SELECT 'utbildningsbehov', count(*) FROM messages WHERE kind = 'utbildningsbehov';
