ALTER TABLE users ADD COLUMN totp_state TEXT NOT NULL DEFAULT 'none';
ALTER TABLE users ADD COLUMN totp_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
