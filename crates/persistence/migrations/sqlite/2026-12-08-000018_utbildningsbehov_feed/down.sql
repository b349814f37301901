-- Back to the table without behov_pos and 'utgangen' (utgangen versions are removed and
-- the versions they superseded are current again).
DELETE FROM messages WHERE kind = 'utbildningsbehov' AND status = 'utgangen';
UPDATE messages SET aktuell = TRUE, ersatt_av = NULL
    WHERE kind = 'utbildningsbehov' AND ersatt_av IS NOT NULL
      AND ersatt_av NOT IN (SELECT id FROM messages);
DELETE FROM feed_counters WHERE name = 'utbildningsbehov';
DROP INDEX messages_behov_due;
DROP INDEX messages_behov_feed;
ALTER TABLE messages DROP COLUMN behov_pos;
