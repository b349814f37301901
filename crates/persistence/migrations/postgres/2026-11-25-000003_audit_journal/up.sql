-- Audit events are first written to this journal inside the transaction that caused
-- them (one insert, no lock), and a chainer moves them into the hash-chained audit_log
-- in batches (one lock of audit_head per batch). See docs/persistence.md.
CREATE TABLE audit_journal (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    kommunkod TEXT,
    person TEXT,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL
);
