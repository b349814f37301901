-- Tabell 2's count and where its valid entries begin. messages_tabell2 walks a kommun's
-- active utbildningsbehov in mottaget order and skips those whose giltig_tom has passed;
-- expired anvisningar keep status 'aktiv' and are the oldest, so the walk grew with the
-- kommun's history. This index holds the same entries by giltig_tom: the valid ones are
-- one range of it (the condition's columns lead, as in messages_tabell2, so that SQLite
-- reads it alone), counted from it, and its smallest mottaget is where the page's walk
-- in messages_tabell2 starts (docs/performance.md).
CREATE INDEX messages_tabell2_valid ON messages (kommunkod, kind, aktuell, status, giltig_tom, mottaget)
    WHERE kind = 'utbildningsbehov' AND aktuell = TRUE AND status = 'aktiv';
