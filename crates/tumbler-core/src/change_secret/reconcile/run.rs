//! Running reconciles on behalf of the system (after a restore, after drift), and the runs
//! of several reconciles (one asset's one after the other).

use super::{dedup, ReconcileOutcome, SkippedReconcile, StartedReconcile};
use crate::change_secret::{ChangeEngine, ChangeSecretError};
use crate::RequestOrigin;
use std::collections::BTreeMap;
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::ids::{AccountId, AssetId, ExecutionId};
use tumbler_store::AccountRow;

impl ChangeEngine {
    /// Reconciles `ids` (any status but `changing`, whatever their domain) on behalf of the
    /// system, for example after a restore, and waits until every reconcile has ended; the
    /// answer carries each one's final record status. Audited with `origin` as the source.
    pub async fn reconcile_accounts(
        &self,
        ids: &[AccountId],
        origin: &RequestOrigin,
    ) -> Result<ReconcileOutcome, ChangeSecretError> {
        let mut skipped = Vec::new();
        let mut accounts = Vec::new();
        for id in dedup(ids) {
            match self.store.account(&id).await? {
                Some(a) => accounts.push(a),
                None => skipped.push(SkippedReconcile {
                    account_id: id,
                    code: "not_found".to_owned(),
                    reason: "no such account".to_owned(),
                }),
            }
        }
        let (mut started, more) = self
            .start_reconciles("engine", accounts, origin, true)
            .await?;
        skipped.extend(more);
        for s in &mut started {
            if let Some(r) = self.store.record(&s.record_id).await? {
                s.status = r.status;
                s.reason_code = r.reason_code;
            }
        }
        Ok(ReconcileOutcome { started, skipped })
    }

    /// Starts a reconcile of each account; runs them (one asset's one after the other),
    /// waiting for the end when `wait`.
    pub(super) async fn start_reconciles(
        &self,
        actor: &str,
        accounts: Vec<AccountRow>,
        origin: &RequestOrigin,
        wait: bool,
    ) -> Result<(Vec<StartedReconcile>, Vec<SkippedReconcile>), ChangeSecretError> {
        let mut started = Vec::new();
        let mut skipped = Vec::new();
        let mut queues: BTreeMap<AssetId, Vec<ExecutionId>> = BTreeMap::new();
        for account in accounts {
            match self.start_reconcile(actor, &account, origin).await {
                Ok((exec_id, record_id)) => {
                    queues
                        .entry(account.asset_id.clone())
                        .or_default()
                        .push(exec_id.clone());
                    started.push(StartedReconcile {
                        account_id: account.id.clone(),
                        execution_id: exec_id,
                        record_id,
                        status: RecordStatus::Pending,
                        reason_code: None,
                    });
                }
                Err(ChangeSecretError::Reconcile { code, message }) => {
                    skipped.push(SkippedReconcile {
                        account_id: account.id.clone(),
                        code: code.to_owned(),
                        reason: message,
                    })
                }
                Err(e) => return Err(e),
            }
        }
        let mut runs = tokio::task::JoinSet::new();
        for (_, queue) in queues {
            let me = self.clone();
            runs.spawn(async move {
                for exec_id in queue {
                    me.run_reconcile(&exec_id).await;
                }
            });
        }
        if wait {
            while runs.join_next().await.is_some() {}
        } else {
            runs.detach_all();
        }
        Ok((started, skipped))
    }
}
