//! The API bodies of `tumbler-api-types` made from the views of core where the two differ
//! (free functions: the orphan rule forbids a `From` impl here, both types being foreign).
//! Tasks, executions and records need none: they are one type, defined in `tumbler-domain`.

use tumbler_api_types::overview::{AttentionAccount, Overview};
use tumbler_api_types::reconcile::{ReconcileOutcome, SkippedReconcile, StartedReconcile};
use tumbler_api_types::retries::{RetryFailedOutcome, SkippedRetry, StartedRetry};
use tumbler_core::change_secret as core;

/// The API view of the change-secret overview.
pub fn overview(o: core::Overview) -> Overview {
    Overview {
        tasks: o.tasks,
        scheduled_tasks: o.scheduled_tasks,
        accounts: o.accounts,
        recent_executions: o.recent_executions,
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
