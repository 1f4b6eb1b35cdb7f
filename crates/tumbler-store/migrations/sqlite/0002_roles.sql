ALTER TABLE users ADD COLUMN temp_password_expires_at BIGINT;

CREATE TABLE roles (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    permissions TEXT NOT NULL,
    require_mfa BIGINT NOT NULL DEFAULT 0,
    builtin BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
