-- Mina sidor's person page (issue #25): a search answers with a redirect to an opaque,
-- short-lived id bound to the browser's session, so that no personnummer is in an
-- address and Back never asks to send a form again. The personnummer is kept encrypted
-- with the identity key (bound to the id); the row goes with its session.
CREATE TABLE ms_person_refs (
    id TEXT PRIMARY KEY,
    session_hash TEXT NOT NULL REFERENCES ms_sessions (token_hash) ON DELETE CASCADE,
    ciphertext BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ms_person_refs_session ON ms_person_refs (session_hash);
CREATE INDEX ms_person_refs_created ON ms_person_refs (created_at);
