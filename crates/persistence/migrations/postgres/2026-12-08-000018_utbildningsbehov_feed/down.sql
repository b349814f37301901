-- Back to the table without behov_pos and 'utgangen' (utgangen versions are removed and
-- the versions they superseded are current again).
DELETE FROM messages WHERE kind = 'utbildningsbehov' AND status = 'utgangen';
UPDATE messages SET aktuell = TRUE, ersatt_av = NULL
    WHERE kind = 'utbildningsbehov' AND ersatt_av IS NOT NULL
      AND ersatt_av NOT IN (SELECT id FROM messages);
ALTER TABLE messages DROP CONSTRAINT messages_status_known;
ALTER TABLE messages ADD CONSTRAINT messages_status_known CHECK (
    (author = 'kommun' AND status IN ('registrering', 'andring', 'borttag'))
    OR (kind = 'utbildningsbehov' AND status IN ('aktiv', 'avslutad'))
    OR (kind = 'utbildningsbeslut' AND status IN ('beslutad', 'andrad', 'upphord'))
    OR (kind = 'etableringsprogram' AND status IN ('deltar', 'deltar_inte')));
DELETE FROM feed_counters WHERE name = 'utbildningsbehov';
DROP INDEX messages_behov_due;
DROP INDEX messages_behov_feed;
ALTER TABLE messages DROP COLUMN behov_pos;
