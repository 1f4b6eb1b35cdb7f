//! The API bodies of `tumbler-api-types` made from the views of core and the store's rows
//! (free functions: the orphan rule forbids a `From` impl here, both types being foreign).

use tumbler_api_types::change_secret::{ExecutionView, RecordRow, TaskSpec, TaskView};
use tumbler_api_types::overview::{AttentionAccount, Overview};
use tumbler_api_types::reconcile::{ReconcileOutcome, SkippedReconcile, StartedReconcile};
use tumbler_api_types::retries::{RetryFailedOutcome, SkippedRetry, StartedRetry};
use tumbler_core::change_secret as core;

/// The API view of a task.
pub fn task(v: core::TaskView) -> TaskView {
    let s = v.spec;
    TaskView {
        id: v.id,
        name: v.name,
        domain_id: v.domain_id,
        spec: TaskSpec {
            usernames: s.usernames,
            asset_ids: s.asset_ids,
            nodes: s.nodes,
            secret_strategy: s.secret_strategy,
            secret_type: s.secret_type,
            password_rules: s.password_rules,
            ssh_key: s.ssh_key,
            custom_ssh: s.custom_ssh,
            params: s.params,
            schedule: s.schedule,
            recipients: s.recipients,
        },
        has_secret: v.has_secret,
        enabled: v.enabled,
        next_run_at: v.next_run_at,
        next_run_at_local: v.next_run_at_local,
        time_zone: v.time_zone,
        created_by: v.created_by,
        created_at: v.created_at,
        updated_at: v.updated_at,
    }
}

/// The API view of an execution.
pub fn execution(v: core::ExecutionView) -> ExecutionView {
    ExecutionView {
        id: v.id,
        task_id: v.task_id,
        task_name: v.task_name,
        trigger: v.trigger,
        status: v.status,
        created_by: v.created_by,
        created_at: v.created_at,
        started_at: v.started_at,
        finished_at: v.finished_at,
        counts: v.counts,
        reason: v.reason,
        retry_of_record_id: v.retry_of_record_id,
        retry_of_execution_id: v.retry_of_execution_id,
        retried: v.retried,
        completed_by_retries: v.completed_by_retries,
        counts_after_retries: v.counts_after_retries,
    }
}

/// The API view of a change record.
pub fn record(r: tumbler_store::RecordRow) -> RecordRow {
    RecordRow {
        id: r.id,
        execution_id: r.execution_id,
        account_id: r.account_id,
        asset_id: r.asset_id,
        asset_name: r.asset_name,
        domain_id: r.domain_id,
        username: r.username,
        status: r.status,
        reason_code: r.reason_code,
        reason: r.reason,
        old_version: r.old_version,
        new_version: r.new_version,
        attempts: r.attempts,
        new_secret_verified_at: r.new_secret_verified_at,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// The API view of the change-secret overview.
pub fn overview(o: core::Overview) -> Overview {
    Overview {
        tasks: o.tasks,
        scheduled_tasks: o.scheduled_tasks,
        accounts: o.accounts,
        recent_executions: o.recent_executions.into_iter().map(execution).collect(),
        failed_accounts: o.failed_accounts.into_iter().map(attention).collect(),
    }
}

/// The API view of an account the overview lists.
fn attention(a: core::AttentionAccount) -> AttentionAccount {
    AttentionAccount {
        account_id: a.account_id,
        username: a.username,
        asset_id: a.asset_id,
        asset_name: a.asset_name,
        domain_id: a.domain_id,
        kind: a.kind,
        account_status: a.account_status,
        reason_code: a.reason_code,
        reason: a.reason,
        record_id: a.record_id,
        execution_id: a.execution_id,
        next_action: a.next_action,
        updated_at: a.updated_at,
    }
}

/// The API view of what "Retry all failed" did.
pub fn retry_failed(o: core::RetryFailedOutcome) -> RetryFailedOutcome {
    RetryFailedOutcome {
        started: o
            .started
            .into_iter()
            .map(|s| StartedRetry {
                record_id: s.record_id,
                execution_id: s.execution_id,
            })
            .collect(),
        skipped: o
            .skipped
            .into_iter()
            .map(|s| SkippedRetry {
                record_id: s.record_id,
                code: s.code,
                reason: s.reason,
            })
            .collect(),
    }
}

/// The API view of what a bulk reconcile did.
pub fn reconcile(o: core::ReconcileOutcome) -> ReconcileOutcome {
    ReconcileOutcome {
        started: o
            .started
            .into_iter()
            .map(|s| StartedReconcile {
                account_id: s.account_id,
                execution_id: s.execution_id,
                record_id: s.record_id,
                status: s.status,
                reason_code: s.reason_code,
            })
            .collect(),
        skipped: o
            .skipped
            .into_iter()
            .map(|s| SkippedReconcile {
                account_id: s.account_id,
                code: s.code,
                reason: s.reason,
            })
            .collect(),
    }
}
