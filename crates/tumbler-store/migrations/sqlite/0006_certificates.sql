CREATE TABLE user_certificates (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    not_after BIGINT NOT NULL,
    pem TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX user_certificates_user ON user_certificates(user_id);
