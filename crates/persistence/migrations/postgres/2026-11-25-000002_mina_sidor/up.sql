-- Mina sidor för kommuner: users, single-use invitations, browser sessions and
-- BankID logins in progress. Personnummer are kept only as keyed HMAC lookup hashes.
CREATE TABLE ms_users (
    id TEXT PRIMARY KEY,
    kommunkod TEXT NOT NULL,
    person_hash TEXT NOT NULL,
    namn TEXT NOT NULL,
    epost TEXT NOT NULL,
    roll TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT ms_users_roll_known CHECK (roll IN ('huvudansvarig', 'handlaggare')),
    CONSTRAINT ms_users_one_per_kommun UNIQUE (kommunkod, person_hash)
);
CREATE INDEX ms_users_person ON ms_users (person_hash);

CREATE TABLE ms_invitations (
    token_hash TEXT PRIMARY KEY,
    kommunkod TEXT NOT NULL,
    person_hash TEXT NOT NULL,
    epost TEXT NOT NULL,
    roll TEXT NOT NULL,
    invited_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    CONSTRAINT ms_invitations_roll_known CHECK (roll IN ('huvudansvarig', 'handlaggare'))
);

CREATE TABLE ms_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES ms_users (id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);

CREATE TABLE ms_logins (
    token_hash TEXT PRIMARY KEY,
    order_ref TEXT NOT NULL,
    auto_start_token TEXT NOT NULL,
    qr_start_token TEXT NOT NULL,
    qr_start_secret TEXT NOT NULL,
    invitation_hash TEXT,
    started_at BIGINT NOT NULL
);
