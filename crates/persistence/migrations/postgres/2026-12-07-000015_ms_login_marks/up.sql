-- Mina sidor's "nya utbildningsbeslut sedan din senaste inloggning" (issue #25): per
-- user, the decision feed's head (a position of the gap-free feed) at the latest login
-- and at the one before; the start page counts the kommun's decisions after the latter.
CREATE TABLE ms_login_marks (
    user_id TEXT PRIMARY KEY REFERENCES ms_users (id) ON DELETE CASCADE,
    previous_pos BIGINT,
    latest_pos BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
