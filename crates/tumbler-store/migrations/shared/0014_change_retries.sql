-- A retry of a failed record is a run of its own (trigger `retry`) of that one account; this
-- links it to the record it retries and to the first run of the chain (a retry of a retry
-- counts for the run the failure came from).
CREATE TABLE change_retries (
    execution_id TEXT PRIMARY KEY REFERENCES change_executions(id) ON DELETE CASCADE,
    retry_of_record_id TEXT NOT NULL,
    retry_of_execution_id TEXT NOT NULL,
    root_record_id TEXT NOT NULL,
    root_execution_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX change_retries_of_execution ON change_retries(retry_of_execution_id);
CREATE INDEX change_retries_root_execution ON change_retries(root_execution_id);
CREATE INDEX change_retries_root_record ON change_retries(root_record_id);
