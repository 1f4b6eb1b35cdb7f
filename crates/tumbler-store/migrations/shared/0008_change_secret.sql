CREATE TABLE change_tasks (
    id TEXT PRIMARY KEY,
    domain_id TEXT NOT NULL REFERENCES domains(id),
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    specified_secret_version BIGINT,
    enabled BIGINT NOT NULL,
    next_run_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX change_tasks_domain_name ON change_tasks(domain_id, name);
CREATE INDEX change_tasks_next_run ON change_tasks(next_run_at);

CREATE TABLE change_executions (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    task_name TEXT NOT NULL,
    domain_id TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    status TEXT NOT NULL,
    owner_node TEXT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);
CREATE INDEX change_executions_task ON change_executions(task_id, created_at);
CREATE INDEX change_executions_status ON change_executions(status);

CREATE TABLE change_log_lines (
    execution_id TEXT NOT NULL REFERENCES change_executions(id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (execution_id, seq)
);

CREATE TABLE change_records (
    id TEXT PRIMARY KEY,
    execution_id TEXT NOT NULL REFERENCES change_executions(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    asset_name TEXT NOT NULL,
    domain_id TEXT NOT NULL,
    username TEXT NOT NULL,
    status TEXT NOT NULL,
    reason_code TEXT NOT NULL,
    reason TEXT NOT NULL,
    old_version BIGINT,
    new_version BIGINT,
    attempts BIGINT NOT NULL,
    new_secret_verified_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX change_records_execution ON change_records(execution_id);
CREATE INDEX change_records_account ON change_records(account_id);
CREATE INDEX change_records_status ON change_records(status);
