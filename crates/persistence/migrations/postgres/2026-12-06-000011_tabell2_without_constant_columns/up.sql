-- Tabell 2's two indexes without the columns their condition fixes (PostgreSQL only).
-- PostgreSQL drops a query's equalities on kind, aktuell and status from the index
-- conditions, as the partial index's own condition already implies them; with those
-- columns second to fourth, kommunkod was the only bound of the scan, and the count, the
-- frontier and the page's walk each read all of a kommun's active utbildningsbehov,
-- expired ones included (15 ms each for Stockholm at 2M messages, growing with the
-- years). Without them, giltig_tom and mottaget bound the ranges: 1 ms and 0.1 ms.
-- SQLite does use those equalities in its ranges, and keeps its indexes as they are.
DROP INDEX messages_tabell2;
DROP INDEX messages_tabell2_valid;
CREATE INDEX messages_tabell2 ON messages (kommunkod, mottaget, id, giltig_tom)
    WHERE kind = 'utbildningsbehov' AND aktuell = TRUE AND status = 'aktiv';
CREATE INDEX messages_tabell2_valid ON messages (kommunkod, giltig_tom, mottaget)
    WHERE kind = 'utbildningsbehov' AND aktuell = TRUE AND status = 'aktiv';
