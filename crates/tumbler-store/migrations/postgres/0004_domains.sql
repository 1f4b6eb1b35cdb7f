CREATE TABLE domains (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE user_domains (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    domain_id TEXT NOT NULL REFERENCES domains(id),
    PRIMARY KEY (user_id, domain_id)
);

ALTER TABLE users ADD COLUMN all_domains BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN active_domain_id TEXT;
