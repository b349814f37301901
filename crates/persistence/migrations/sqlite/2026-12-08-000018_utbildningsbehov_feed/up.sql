-- Tabell 2 as a change feed (GET /komvux/v1/utbildningsbehov/andringar): every version
-- of an utbildningsbehov (aktiv when Af creates it, avslutad when Af ends it, utgangen
-- when the gateway finds its giltig_tom passed) gets a position of its own feed, handed
-- out in commit order like the decision feed's (crates/persistence/src/feeds.rs).
--
-- SQLite cannot change a CHECK constraint in place, and messages_status_known gains
-- 'utgangen': the table is rebuilt as the documented procedure does it (new table, rows
-- copied, old one dropped, new one renamed, every index made again). Nothing refers to
-- messages; its own reference to identities is as before.
CREATE TABLE messages_v18 (
    id TEXT PRIMARY KEY,
    record_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    author TEXT NOT NULL,
    actor TEXT NOT NULL,
    kommunkod TEXT,
    person TEXT NOT NULL REFERENCES identities (pseudonym) ON DELETE CASCADE,
    status TEXT NOT NULL,
    ersatter TEXT,
    ersatt_av TEXT,
    aktuell BOOLEAN NOT NULL,
    transaktionsdatum BIGINT,
    mottaget BIGINT NOT NULL,
    giltig_tom TEXT,
    payload TEXT NOT NULL,
    handelse_pos BIGINT UNIQUE,
    beslut_pos BIGINT UNIQUE,
    behov_pos BIGINT,
    CONSTRAINT messages_kind_known CHECK (kind IN (
        'utbildningsbehov', 'ansokan', 'antagning', 'utbildningsbeslut',
        'avbrott', 'forandring', 'betyg', 'etableringsprogram')),
    -- The write rule (Tabell 1): who may write which kind.
    CONSTRAINT messages_write_rule CHECK (
        (author = 'kommun' AND kind IN ('ansokan', 'antagning', 'avbrott', 'forandring', 'betyg'))
        OR (author = 'arbetsformedlingen' AND kind IN ('utbildningsbehov', 'utbildningsbeslut', 'etableringsprogram'))),
    CONSTRAINT messages_status_known CHECK (
        (author = 'kommun' AND status IN ('registrering', 'andring', 'borttag'))
        OR (kind = 'utbildningsbehov' AND status IN ('aktiv', 'avslutad', 'utgangen'))
        OR (kind = 'utbildningsbeslut' AND status IN ('beslutad', 'andrad', 'upphord'))
        OR (kind = 'etableringsprogram' AND status IN ('deltar', 'deltar_inte'))),
    CONSTRAINT messages_kommun_has_kommunkod CHECK (author <> 'kommun' OR kommunkod IS NOT NULL),
    CONSTRAINT messages_ersatter_rule CHECK ((status IN ('andring', 'borttag')) = (ersatter IS NOT NULL) OR author <> 'kommun')
);
-- The versions stored before this feed get its first positions, oldest first.
INSERT INTO messages_v18
    SELECT m.id, m.record_id, m.kind, m.author, m.actor, m.kommunkod, m.person, m.status,
           m.ersatter, m.ersatt_av, m.aktuell, m.transaktionsdatum, m.mottaget,
           m.giltig_tom, m.payload, m.handelse_pos, m.beslut_pos,
           CASE WHEN m.kind = 'utbildningsbehov'
                THEN row_number() OVER (PARTITION BY m.kind = 'utbildningsbehov' ORDER BY m.mottaget, m.id)
           END
    FROM messages AS m;
INSERT INTO feed_counters (name, value)
    SELECT 'utbildningsbehov', count(*) FROM messages WHERE kind = 'utbildningsbehov';
DROP TABLE messages;
ALTER TABLE messages_v18 RENAME TO messages;
CREATE INDEX messages_person_kind ON messages (person, kind, aktuell);
CREATE INDEX messages_record ON messages (record_id);
CREATE INDEX messages_kommun_kind ON messages (kommunkod, kind, aktuell);
CREATE INDEX messages_unsequenced ON messages (mottaget, id) WHERE handelse_pos IS NULL AND author = 'kommun';
CREATE INDEX messages_beslut_feed ON messages (kommunkod, beslut_pos) WHERE beslut_pos IS NOT NULL;
CREATE INDEX messages_tabell2 ON messages (kommunkod, kind, aktuell, status, mottaget, id, giltig_tom)
    WHERE kind = 'utbildningsbehov' AND aktuell = TRUE AND status = 'aktiv';
CREATE INDEX messages_tabell2_valid ON messages (kommunkod, kind, aktuell, status, giltig_tom, mottaget)
    WHERE kind = 'utbildningsbehov' AND aktuell = TRUE AND status = 'aktiv';
CREATE INDEX messages_kommun_sent ON messages (kommunkod, mottaget, id, kind) WHERE author = 'kommun';
CREATE INDEX messages_ms_sent ON messages (kommunkod, actor, mottaget, id, kind) WHERE actor LIKE 'mina-sidor:%';
-- The feed of a kommun after a cursor, in position order. Only utbildningsbehov have a
-- behov_pos; `behov_pos > ?` implies the condition, also with the cursor bound.
CREATE INDEX messages_behov_feed ON messages (kommunkod, behov_pos) WHERE behov_pos IS NOT NULL;
-- The active utbildningsbehov by giltig_tom across kommuner: the expiry check reads
-- the first entry of this index every second; an expired one leaves it when its
-- utgangen version is written, so it holds the active set only.
CREATE INDEX messages_behov_due ON messages (giltig_tom)
    WHERE kind = 'utbildningsbehov' AND aktuell = TRUE AND status = 'aktiv';
