CREATE TABLE password_history (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    replaced_at BIGINT NOT NULL
);
CREATE INDEX password_history_user ON password_history(user_id, replaced_at);
