CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    parent_id TEXT REFERENCES nodes(id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX nodes_parent_name ON nodes(COALESCE(parent_id, ''), name);

CREATE TABLE assets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    port BIGINT NOT NULL,
    platform TEXT NOT NULL,
    domain_id TEXT NOT NULL REFERENCES domains(id),
    comment TEXT NOT NULL,
    connectivity TEXT NOT NULL,
    connectivity_error TEXT NOT NULL,
    connectivity_at BIGINT,
    host_key_fingerprint TEXT,
    presented_fingerprint TEXT,
    host_key_status TEXT NOT NULL,
    auth_status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX assets_domain_name ON assets(domain_id, name);
CREATE INDEX assets_name ON assets(name);

CREATE TABLE asset_nodes (
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    node_id TEXT NOT NULL REFERENCES nodes(id),
    PRIMARY KEY (asset_id, node_id)
);
CREATE INDEX asset_nodes_node ON asset_nodes(node_id);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    secret_type TEXT NOT NULL,
    privileged BIGINT NOT NULL,
    options TEXT NOT NULL,
    current_version BIGINT NOT NULL,
    previous_version BIGINT,
    pending_version BIGINT,
    next_version BIGINT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT NOT NULL,
    last_verified_at BIGINT,
    last_changed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX accounts_asset_username ON accounts(asset_id, username);
CREATE INDEX accounts_username ON accounts(username);
CREATE INDEX accounts_status ON accounts(status);
