ALTER TABLE assets ADD COLUMN auth_username TEXT NOT NULL DEFAULT '';
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL,
    node TEXT NOT NULL,
    total BIGINT NOT NULL,
    done BIGINT NOT NULL,
    payload TEXT NOT NULL,
    outcomes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_kind_status ON jobs (kind, status);
