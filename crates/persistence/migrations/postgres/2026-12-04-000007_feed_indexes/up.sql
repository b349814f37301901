-- Lists and feeds served by an index that yields rows in page order (national scale:
-- a kommun with ~90,000 utbildningsbeslut and ~50,000 active utbildningsbehov).
--
-- The decision feed: WHERE kommunkod = ? AND beslut_pos > ? ORDER BY beslut_pos. Only
-- utbildningsbeslut have a beslut_pos, so the index holds nothing else; `beslut_pos > ?`
-- implies the index's condition, also with the cursor bound as a parameter.
CREATE INDEX messages_beslut_feed ON messages (kommunkod, beslut_pos) WHERE beslut_pos IS NOT NULL;
-- Tabell 2: the kommun's active utbildningsbehov, oldest first, counted and paged from
-- the index alone (giltig_tom in it). The query names the condition's values as
-- literals: a bound value cannot prove a partial index's condition.
CREATE INDEX messages_tabell2 ON messages (kommunkod, kind, aktuell, status, mottaget, id, giltig_tom)
    WHERE kind = 'utbildningsbehov' AND aktuell = TRUE AND status = 'aktiv';
