-- Personnummer live only here: looked up by keyed HMAC, kept encrypted (AES-256-GCM).
CREATE TABLE identities (
    pseudonym TEXT PRIMARY KEY,
    lookup_hash TEXT NOT NULL UNIQUE,
    ciphertext BYTEA NOT NULL,
    skyddade_personuppgifter BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    last_activity_at BIGINT NOT NULL
);

-- Every version of every message of the eight kinds. Personnummer never appear here.
CREATE TABLE messages (
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
    CONSTRAINT messages_kind_known CHECK (kind IN (
        'utbildningsbehov', 'ansokan', 'antagning', 'utbildningsbeslut',
        'avbrott', 'forandring', 'betyg', 'etableringsprogram')),
    -- The write rule (Tabell 1): who may write which kind.
    CONSTRAINT messages_write_rule CHECK (
        (author = 'kommun' AND kind IN ('ansokan', 'antagning', 'avbrott', 'forandring', 'betyg'))
        OR (author = 'arbetsformedlingen' AND kind IN ('utbildningsbehov', 'utbildningsbeslut', 'etableringsprogram'))),
    CONSTRAINT messages_status_known CHECK (
        (author = 'kommun' AND status IN ('registrering', 'andring', 'borttag'))
        OR (kind = 'utbildningsbehov' AND status IN ('aktiv', 'avslutad'))
        OR (kind = 'utbildningsbeslut' AND status IN ('beslutad', 'andrad', 'upphord'))
        OR (kind = 'etableringsprogram' AND status IN ('deltar', 'deltar_inte'))),
    CONSTRAINT messages_kommun_has_kommunkod CHECK (author <> 'kommun' OR kommunkod IS NOT NULL),
    CONSTRAINT messages_ersatter_rule CHECK ((status IN ('andring', 'borttag')) = (ersatter IS NOT NULL) OR author <> 'kommun')
);
CREATE INDEX messages_person_kind ON messages (person, kind, aktuell);
CREATE INDEX messages_record ON messages (record_id);
CREATE INDEX messages_kommun_kind ON messages (kommunkod, kind, aktuell);

-- Positions of the change feeds, allocated under a row lock right before commit so
-- that positions follow commit order.
CREATE TABLE feed_counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO feed_counters (name, value) VALUES ('handelser', 0), ('utbildningsbeslut', 0);

CREATE TABLE clients (
    client_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    organisationsnummer TEXT NOT NULL,
    kommuner TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    secret_hash TEXT NOT NULL,
    previous_secret_hash TEXT,
    previous_secret_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE idempotency (
    client_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, idempotency_key)
);
CREATE INDEX idempotency_created ON idempotency (created_at);

-- Append-only, hash-chained audit log. The head row is locked by every appender.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    kommunkod TEXT,
    person TEXT,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_person ON audit_log (person);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
