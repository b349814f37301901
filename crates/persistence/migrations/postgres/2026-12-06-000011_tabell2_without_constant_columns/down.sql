DROP INDEX messages_tabell2;
DROP INDEX messages_tabell2_valid;
CREATE INDEX messages_tabell2 ON messages (kommunkod, kind, aktuell, status, mottaget, id, giltig_tom)
    WHERE kind = 'utbildningsbehov' AND aktuell = TRUE AND status = 'aktiv';
CREATE INDEX messages_tabell2_valid ON messages (kommunkod, kind, aktuell, status, giltig_tom, mottaget)
    WHERE kind = 'utbildningsbehov' AND aktuell = TRUE AND status = 'aktiv';
