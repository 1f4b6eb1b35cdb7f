//! Retries: retrying any failed record (unreachable, host key not verified, privileged login
//! failed included) starts a run of its own, trigger `retry`, of that one account, linked to
//! the record it retries. The retry re-uses the new secret staged for the account when that
//! record's stage is still pending and the account is as it was, else it makes a fresh one;
//! a stage nobody owns any more is settled by login first. When a retry ends, the run its
//! chain began in is recomputed (a run whose failures were all fixed by retries succeeds).
//!
//! A retry runs only where the run's task and domain still cover the account (an asset moved
//! to another domain is refused `asset_moved`), holds a permit of the node as a run's asset
//! does, and is alone on its account (a second is refused `retry_in_progress` while one is
//! queued or running). "Retry all failed" stops an asset's queue at the first failure of the
//! way to root (`become_refused`, `privileged_login_failed`): the rest are "not tried", so one
//! click types a wrong sudo password once, not once per account.

use super::engine::{login_account, user_holds, AssetPlan, TemplateGrant};
use super::tasks::TaskSpec;
use super::{require, ChangeSecretError, ChangeSecretService};
use crate::{event, Principal, RequestOrigin};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tumbler_domain::audit::Outcome;
use tumbler_domain::change_secret::{
    secure_mode_skip, ExecutionStatus, RecordStatus, SecretStrategy, Trigger,
};
use tumbler_domain::ids::{AccountId, AssetId, ExecutionId, RecordId};
use tumbler_domain::permission::Permission;
use tumbler_store::{
    AccountFilter, AccountRow, ExecutionRow, RecordFilter, RecordRow, RetryLink, StoreError,
};

/// The most accounts one asset contributes (as a run reads them).
const MAX_ACCOUNTS_PER_ASSET: i64 = 10_000;

/// One retry started by "Retry all failed".
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StartedRetry {
    /// The record retried.
    pub record_id: RecordId,
    /// The retry's own execution.
    pub execution_id: ExecutionId,
}

/// A failed record "Retry all failed" left alone, and why.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkippedRetry {
    /// The record.
    pub record_id: RecordId,
    /// A stable code.
    pub code: String,
    /// Why, for people.
    pub reason: String,
}

/// What "Retry all failed" did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetryFailedOutcome {
    /// The retries started (each a run of its own, going on in the background).
    pub started: Vec<StartedRetry>,
    /// The failed records not retried.
    pub skipped: Vec<SkippedRetry>,
}

/// A retry waiting for its turn on its asset: (privileged, root) orders it (those others are
/// changed through go last), then its execution and the hold on its account.
type Queued = ((bool, bool), ExecutionId, RetryHold);

/// The failures of the way to root, which fail every account of the host alike: a retry
/// queue stops at the first (each further try would be one more refused password there).
const HOST_WIDE: [&str; 2] = ["become_refused", "privileged_login_failed"];

/// This node's retries: the accounts one is queued or running for, and the queued retries a
/// host-wide failure stopped (with the code and reason their record ends with).
#[derive(Default)]
pub(super) struct RetryGate {
    accounts: Mutex<HashSet<AccountId>>,
    halted: Mutex<HashMap<ExecutionId, (String, String)>>,
}

/// An account held by a retry, let go when dropped (its run ended, or it never started).
pub(super) struct RetryHold {
    gate: Arc<RetryGate>,
    account: AccountId,
}

impl Drop for RetryHold {
    fn drop(&mut self) {
        locked(&self.gate.accounts).remove(&self.account);
    }
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RetryGate {
    /// Holds `account` for a retry: none when a retry of it is already queued or running.
    fn hold(self: &Arc<Self>, account: &AccountId) -> Option<RetryHold> {
        locked(&self.accounts)
            .insert(account.clone())
            .then(|| RetryHold {
                gate: self.clone(),
                account: account.clone(),
            })
    }

    fn halt(&self, id: &ExecutionId, code: String, reason: String) {
        locked(&self.halted).insert(id.clone(), (code, reason));
    }

    fn take_halt(&self, id: &ExecutionId) -> Option<(String, String)> {
        locked(&self.halted).remove(id)
    }
}

/// Whether a record was set aside by a rule (secure mode, secret type), not by a failure.
fn skipped_by_rule(record: &RecordRow) -> bool {
    record.status == RecordStatus::Ignored
        && (record.reason_code.starts_with("secure_mode")
            || record.reason_code == "secret_type_mismatch")
}

impl ChangeSecretService {
    /// Retries one failed (or unverified, or ignored) record as a run of its own and waits
    /// for it, at most `account_timeout x (max_attempts + 2)`; returns the retry's record
    /// (as it stands then: the run goes on if it is not done).
    pub async fn retry_record(
        &self,
        principal: &Principal,
        id: &RecordId,
        origin: &RequestOrigin,
    ) -> Result<RecordRow, ChangeSecretError> {
        require(principal, Permission::ChangesRun)?;
        let record = self.visible_record(principal, id).await?;
        let (exec_id, record_id, hold) = self.start_retry(principal, &record, origin).await?;
        let me = self.clone();
        let run_id = exec_id.clone();
        let run = tokio::spawn(async move {
            me.run_retry(&run_id).await;
            drop(hold);
        });
        let limit = self.settings.account_timeout * (self.settings.max_attempts.max(1) + 2);
        if tokio::time::timeout(limit, run).await.is_err() {
            tracing::warn!(execution = %exec_id, "a retry is still going after its answer's time limit");
        }
        self.store
            .record(&record_id)
            .await?
            .ok_or(ChangeSecretError::NotFound("record"))
    }

    /// "Retry all failed": each failed or unverified record of the ended run `id` that no
    /// retry completed and none is retrying is retried as its own run, without waiting
    /// (accounts of one asset one after the other, those others are changed through last).
    pub async fn retry_failed(
        &self,
        principal: &Principal,
        id: &ExecutionId,
        origin: &RequestOrigin,
    ) -> Result<RetryFailedOutcome, ChangeSecretError> {
        require(principal, Permission::ChangesRun)?;
        let exec = self.execution(principal, id).await?;
        if !exec.status.is_final() {
            return Err(ChangeSecretError::RecordState(
                "the run is still going; retry its failures when it has ended".to_owned(),
            ));
        }
        let (records, _) = self
            .store
            .records(&RecordFilter {
                domains: principal.visible_domains(),
                execution_id: Some(id.clone()),
                limit: i64::MAX,
                ..RecordFilter::default()
            })
            .await?;
        let row = self
            .store
            .execution(id)
            .await?
            .ok_or(ChangeSecretError::NotFound("execution"))?;
        let root = self.root_of(&row).await?;
        let retries = self.store.retries_of_run(&root).await?;
        let mut started = Vec::new();
        let mut skipped = Vec::new();
        let mut queues: BTreeMap<AssetId, Vec<Queued>> = BTreeMap::new();
        for record in records
            .into_iter()
            .filter(|r| matches!(r.status, RecordStatus::Failed | RecordStatus::Unverified))
        {
            // The asset's domain now, not when the run was planned: an asset moved out of the
            // caller's domains is not theirs to change any more.
            let record = match self.visible_record(principal, &record.id).await {
                Ok(r) => r,
                Err(ChangeSecretError::NotFound(_)) => {
                    skipped.push(SkippedRetry {
                        record_id: record.id.clone(),
                        code: "asset_moved".to_owned(),
                        reason: "the account's asset moved out of your domains; nothing was sent"
                            .to_owned(),
                    });
                    continue;
                }
                Err(e) => return Err(e),
            };
            let chain: Vec<_> = retries
                .iter()
                .filter(|r| {
                    r.link.retry_of_record_id == record.id || r.link.root_record_id == record.id
                })
                .collect();
            let skip = |code: &str, reason: String| SkippedRetry {
                record_id: record.id.clone(),
                code: code.to_owned(),
                reason,
            };
            if chain.iter().any(|r| !r.execution_status.is_final()) {
                skipped.push(skip(
                    "retry_running",
                    "a retry of it is under way".to_owned(),
                ));
                continue;
            }
            if chain
                .last()
                .is_some_and(|r| r.record_status == Some(RecordStatus::Success))
            {
                skipped.push(skip(
                    "completed_by_retry",
                    "a retry already changed it".to_owned(),
                ));
                continue;
            }
            match self.start_retry(principal, &record, origin).await {
                Ok((exec_id, _, hold)) => {
                    let account = self.store.account(&record.account_id).await?;
                    let order = account
                        .map(|a| (a.privileged, a.username == "root"))
                        .unwrap_or_default();
                    queues.entry(record.asset_id.clone()).or_default().push((
                        order,
                        exec_id.clone(),
                        hold,
                    ));
                    started.push(StartedRetry {
                        record_id: record.id.clone(),
                        execution_id: exec_id,
                    });
                }
                Err(e) => skipped.push(skip(e.code(), e.to_string())),
            }
        }
        for (_, mut queue) in queues {
            queue.sort_by_key(|(order, _, _)| *order);
            let me = self.clone();
            tokio::spawn(async move {
                let mut stopped: Option<(String, String)> = None;
                for (_, exec_id, hold) in queue {
                    if let Some((code, reason)) = &stopped {
                        me.retry_gate.halt(&exec_id, code.clone(), reason.clone());
                    }
                    me.run_retry(&exec_id).await;
                    drop(hold);
                    if stopped.is_none() {
                        stopped = me.host_wide_failure(&exec_id).await;
                    }
                }
            });
        }
        Ok(RetryFailedOutcome { started, skipped })
    }

    /// The code and "not tried" reason for the rest of an asset's retry queue when the retry
    /// `id` failed on the way to root (a failure every account of the host would meet).
    async fn host_wide_failure(&self, id: &ExecutionId) -> Option<(String, String)> {
        let found = async {
            let Some(exec) = self.store.execution(id).await? else {
                return Ok(None);
            };
            let (records, _) = self
                .store
                .records(&RecordFilter {
                    domains: vec![exec.domain_id.clone()],
                    execution_id: Some(id.clone()),
                    limit: 1,
                    ..RecordFilter::default()
                })
                .await?;
            Ok::<_, ChangeSecretError>(records.into_iter().next())
        };
        let record = match found.await {
            Ok(r) => r?,
            Err(e) => {
                tracing::error!(execution = %id, error = %e, "could not read a retry's outcome");
                return None;
            }
        };
        (record.status == RecordStatus::Failed && HOST_WIDE.contains(&record.reason_code.as_str()))
            .then(|| {
                (
                    record.reason_code.clone(),
                    format!(
                        "not tried: {} (for another account of this host)",
                        record.reason
                    ),
                )
            })
    }

    /// The first run of the chain `exec` is in (itself unless it is a retry).
    async fn root_of(&self, exec: &ExecutionRow) -> Result<ExecutionId, ChangeSecretError> {
        if exec.trigger != Trigger::Retry {
            return Ok(exec.id.clone());
        }
        Ok(self
            .store
            .retry_link(&exec.id)
            .await?
            .map(|l| l.root_execution_id)
            .unwrap_or_else(|| exec.id.clone()))
    }

    /// Checks that `record` may be retried and writes the retry's execution, its link and its
    /// (pending) record, audited; returns the retry's execution and record ids, and the hold
    /// on the account to keep until the retry's run has ended.
    async fn start_retry(
        &self,
        principal: &Principal,
        record: &RecordRow,
        origin: &RequestOrigin,
    ) -> Result<(ExecutionId, RecordId, RetryHold), ChangeSecretError> {
        let state = |why: &str| ChangeSecretError::RecordState(why.to_owned());
        if matches!(record.status, RecordStatus::Success | RecordStatus::Pending) {
            return Err(state(
                "only a failed, unverified or ignored record is retried",
            ));
        }
        if skipped_by_rule(record) {
            return Err(state(
                "the record was skipped by a rule (secure mode or secret type); change the rule or the task",
            ));
        }
        let exec = self
            .store
            .execution(&record.execution_id)
            .await?
            .ok_or(ChangeSecretError::NotFound("execution"))?;
        // A reconcile belongs to no task: retrying one reconciles the account again.
        if exec.trigger == Trigger::Reconcile {
            let account = self
                .store
                .account(&record.account_id)
                .await?
                .ok_or(ChangeSecretError::NotFound("account"))?;
            let hold = self
                .retry_gate
                .hold(&account.id)
                .ok_or_else(retry_in_progress)?;
            let (exec_id, record_id) = self
                .start_reconcile(&principal.user.username, &account, origin)
                .await?;
            return Ok((exec_id, record_id, hold));
        }
        let Some(task) = self.store.change_task(&exec.task_id).await? else {
            return Err(state("the task of this record no longer exists"));
        };
        if !task.enabled {
            return Err(ChangeSecretError::TaskDisabled);
        }
        let account = self
            .store
            .account(&record.account_id)
            .await?
            .ok_or(ChangeSecretError::NotFound("account"))?;
        let asset = self
            .store
            .asset(&record.asset_id)
            .await?
            .ok_or(ChangeSecretError::NotFound("asset"))?;
        if asset.domain_id != exec.domain_id {
            return Err(asset_moved());
        }
        // Checked and taken at once: of two retries of the account asked together, one runs.
        let hold = self
            .retry_gate
            .hold(&account.id)
            .ok_or_else(retry_in_progress)?;
        // A retry another node has queued or is running.
        for id in self.store.open_retries_of_account(&account.id).await? {
            if let Some(other) = self.store.execution(&id).await? {
                if self.execution_alive(&other) {
                    return Err(retry_in_progress());
                }
            }
        }
        if self.stage_owner_alive(&account).await? {
            return Err(state("another change of this account is under way"));
        }
        let (root_record, root_exec) = match self.store.retry_link(&exec.id).await? {
            Some(l) if exec.trigger == Trigger::Retry => (l.root_record_id, l.root_execution_id),
            _ => (record.id.clone(), exec.id.clone()),
        };
        let now = self.clock.now();
        let row = ExecutionRow {
            id: ExecutionId::generate(),
            task_id: exec.task_id.clone(),
            task_name: exec.task_name.clone(),
            domain_id: exec.domain_id.clone(),
            trigger: Trigger::Retry,
            status: ExecutionStatus::Pending,
            owner_node: self.settings.node_name.clone(),
            heartbeat_at: now,
            created_by: principal.user.username.clone(),
            created_at: now,
            started_at: None,
            finished_at: None,
        };
        let retry = RecordRow {
            id: RecordId::generate(),
            execution_id: row.id.clone(),
            status: RecordStatus::Pending,
            reason_code: String::new(),
            reason: String::new(),
            old_version: Some(account.current_version),
            new_version: None,
            attempts: 0,
            new_secret_verified_at: None,
            created_at: now,
            updated_at: now,
            ..record.clone()
        };
        let link = RetryLink {
            execution_id: row.id.clone(),
            retry_of_record_id: record.id.clone(),
            retry_of_execution_id: exec.id.clone(),
            root_record_id: root_record,
            root_execution_id: root_exec,
            account_id: account.id.clone(),
            created_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_execution(&row).await?;
        tx.insert_retry_link(&link).await?;
        tx.insert_record(&retry).await?;
        self.audit_action(&mut tx, principal, record, "retry", origin)
            .await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                "change_task.execute",
                ("change_execution", row.id.as_str()),
                Outcome::Success,
                origin,
                format!(
                    "task {} (retry of record {} of execution {})",
                    exec.task_name, record.id, exec.id
                ),
            ),
            now,
        )
        .await?;
        tx.append_log_line(
            &row.id,
            now,
            &format!(
                "retry of {}@{} (record {} of run {})",
                record.username, record.asset_name, record.id, exec.id
            ),
        )
        .await?;
        tx.commit().await?;
        Ok((row.id, retry.id, hold))
    }

    /// Runs a retry execution to its end, then recomputes the run its chain began in.
    async fn run_retry(&self, id: &ExecutionId) {
        if let Err(e) = self.run_execution(id).await {
            tracing::error!(execution = %id, error = %e, "a retry failed");
        }
        self.after_retry(id).await;
    }

    /// Whether a run that is still alive owns the account's stage (a staged account whose
    /// record's run has ended, or whose node stopped saying it is alive, has no owner).
    pub(super) async fn stage_owner_alive(
        &self,
        account: &AccountRow,
    ) -> Result<bool, ChangeSecretError> {
        let Some(pending) = account.pending_version else {
            return Ok(false);
        };
        let mut tx = self.store.begin().await?;
        let record = tx.record_of_pending_change(&account.id, pending).await?;
        tx.commit().await?;
        let Some(record) = record else {
            return Ok(false);
        };
        let Some(exec) = self.store.execution(&record.execution_id).await? else {
            return Ok(false);
        };
        Ok(self.execution_alive(&exec))
    }

    /// Whether an execution is going and its node says it is alive.
    pub(super) fn execution_alive(&self, exec: &ExecutionRow) -> bool {
        let stale = chrono::Duration::from_std(self.settings.stale_after)
            .unwrap_or(chrono::Duration::minutes(2));
        !exec.status.is_final() && exec.heartbeat_at + stale > self.clock.now()
    }

    /// The work of a retry execution (called by the run): settle a stage nobody owns, pick
    /// the new secret, apply the rules a run applies, then change the account as a run does.
    pub(super) async fn run_retry_plan(
        &self,
        exec: &ExecutionRow,
    ) -> Result<(), ChangeSecretError> {
        let link = self
            .store
            .retry_link(&exec.id)
            .await?
            .ok_or(ChangeSecretError::NotFound("retry"))?;
        let (records, _) = self
            .store
            .records(&RecordFilter {
                domains: vec![exec.domain_id.clone()],
                execution_id: Some(exec.id.clone()),
                status: Some(RecordStatus::Pending),
                limit: 1,
                ..RecordFilter::default()
            })
            .await?;
        let Some(mut record) = records.into_iter().next() else {
            return Ok(());
        };
        if let Some((code, reason)) = self.retry_gate.take_halt(&exec.id) {
            // An earlier retry of this asset's queue failed on the way to root.
            self.end_retry_record(exec, &mut record, RecordStatus::Failed, &code, &reason)
                .await?;
            return Ok(());
        }
        let who = format!("{}@{}", record.username, record.asset_name);
        let task = self.store.change_task(&exec.task_id).await?;
        let account = self.store.account(&record.account_id).await?;
        let asset = self.store.asset(&record.asset_id).await?;
        let (Some(task), Some(account), Some(asset)) = (task, account, asset) else {
            self.end_retry_record(
                exec,
                &mut record,
                RecordStatus::Failed,
                "not_found",
                "the task, the account or its asset no longer exists; nothing was sent",
            )
            .await?;
            return Ok(());
        };
        if asset.domain_id != exec.domain_id {
            // Moved since the retry was asked for: the run's task and domain no longer cover it.
            let reason = asset_moved().to_string();
            self.end_retry_record(
                exec,
                &mut record,
                RecordStatus::Failed,
                "asset_moved",
                &reason,
            )
            .await?;
            return Ok(());
        }
        if !task.enabled {
            self.end_retry_record(
                exec,
                &mut record,
                RecordStatus::Failed,
                "task_disabled",
                "the task was disabled; nothing was sent",
            )
            .await?;
            return Ok(());
        }
        // A node's permit, as a run's asset holds one, for all this retry does on the target.
        let _node_permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                self.log_line(
                    &exec.id,
                    "waiting for one of the node's change slots (max_parallel_assets)",
                )
                .await;
                let Ok(p) = self.permits.clone().acquire_owned().await else {
                    return Ok(());
                };
                p
            }
        };
        let spec: TaskSpec = serde_json::from_str(&task.spec)
            .map_err(|_| StoreError::Corrupt("task definition".to_owned()))?;
        let retried = self.store.record(&link.retry_of_record_id).await?;
        let tofu = self.tofu().await;
        // Whether the retried record's new secret is what the account has staged.
        let was_staged = retried
            .as_ref()
            .and_then(|r| r.new_version)
            .is_some_and(|v| account.pending_version == Some(v));
        let mut account = account;
        if let Some(pending) = account.pending_version {
            if self.stage_owner_alive(&account).await? {
                self.end_retry_record(
                    exec,
                    &mut record,
                    RecordStatus::Failed,
                    "change_in_progress",
                    "another change of this account is under way; nothing was sent",
                )
                .await?;
                return Ok(());
            }
            // A stage nobody owns: which secret works decides, as recovery does.
            self.log_line(
                &exec.id,
                &format!("{who}: a staged secret is left; checking which secret works"),
            )
            .await;
            let mut tx = self.store.begin().await?;
            let owner = tx.record_of_pending_change(&account.id, pending).await?;
            tx.commit().await?;
            if let Some(owner) = owner {
                if let Some(owner_exec) = self.store.execution(&owner.execution_id).await? {
                    self.settle_by_login(&owner_exec, &asset, &account, pending, tofu, "retry")
                        .await?;
                }
            }
            account = self
                .store
                .account(&account.id)
                .await?
                .ok_or(ChangeSecretError::NotFound("account"))?;
            if account.pending_version.is_some() {
                self.end_retry_record(
                    exec,
                    &mut record,
                    RecordStatus::Failed,
                    "verify_failed",
                    "the staged secret could be proved neither way; verify or retry when the target answers",
                )
                .await?;
                return Ok(());
            }
            if account.current_version == pending {
                // The target had taken the staged secret: the change is done.
                record.old_version = account.previous_version;
                record.new_version = Some(pending);
                self.end_retry_record(exec, &mut record, RecordStatus::Success, "", "")
                    .await?;
                self.log_line(
                    &exec.id,
                    &format!("{who}: the staged secret works on the target; committed as version {pending}"),
                )
                .await;
                return Ok(());
            }
        }
        // The same new secret when it was staged and the account is as it was; else a fresh
        // one (an old record's secret never becomes a new version of a changed account).
        let reuse = retried
            .as_ref()
            .filter(|r| was_staged && r.old_version == Some(account.current_version))
            .and_then(|r| r.new_version);
        let specified = match (reuse, spec.secret_strategy, task.specified_secret_version) {
            (Some(v), _, _) => Some(self.open_account_secret(account.id.as_str(), v).await?),
            (None, SecretStrategy::Specified, Some(v)) => {
                Some(self.open_task_secret(&task.id, v).await?)
            }
            (None, SecretStrategy::Specified, None) => {
                self.end_retry_record(
                    exec,
                    &mut record,
                    RecordStatus::Failed,
                    "no_specified_secret",
                    "the task has no specified secret; nothing was sent",
                )
                .await?;
                return Ok(());
            }
            (None, SecretStrategy::Random, _) => None,
        };
        record.old_version = Some(account.current_version);
        record.new_version = reuse;
        let (all_accounts, _) = self
            .store
            .accounts(&AccountFilter {
                domains: vec![asset.domain_id.clone()],
                asset_id: Some(asset.id.clone()),
                limit: MAX_ACCOUNTS_PER_ASSET,
                ..AccountFilter::default()
            })
            .await?;
        let login = login_account(&all_accounts).map(|a| a.id.clone());
        if self.settings.secure_mode {
            if let Some(skip) = secure_mode_skip(
                &account.username,
                account.privileged,
                login.as_ref() == Some(&account.id),
            ) {
                self.end_retry_record(
                    exec,
                    &mut record,
                    RecordStatus::Ignored,
                    skip.code(),
                    &skip.to_string(),
                )
                .await?;
                return Ok(());
            }
        }
        if account.secret_type != spec.secret_type {
            self.end_retry_record(
                exec,
                &mut record,
                RecordStatus::Ignored,
                "secret_type_mismatch",
                "the account's secret type is not the one the task changes",
            )
            .await?;
            return Ok(());
        }
        self.save_retry_record(&record).await?;
        self.log_line(
            &exec.id,
            &format!(
                "started: 1 asset(s), 1 account(s) to change ({} new secret)",
                if reuse.is_some() {
                    "the staged"
                } else {
                    "a fresh"
                }
            ),
        )
        .await;
        let owner_may_template = spec.custom_ssh.is_none()
            || user_holds(
                &self.store,
                &task.created_by,
                Permission::SecretTemplatesManage,
            )
            .await?;
        let plan = AssetPlan {
            asset,
            all_accounts,
            work: vec![(record, account)],
            via: None,
        };
        let template = TemplateGrant {
            owner: &task.created_by,
            allowed: owner_may_template,
        };
        self.run_asset(exec, &spec, plan, specified.as_ref(), tofu, template)
            .await;
        Ok(())
    }

    async fn save_retry_record(&self, record: &RecordRow) -> Result<(), ChangeSecretError> {
        let mut tx = self.store.begin().await?;
        tx.update_record(record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a retry's record without a change (or with one found done), with its reason.
    pub(super) async fn end_retry_record(
        &self,
        exec: &ExecutionRow,
        record: &mut RecordRow,
        status: RecordStatus,
        code: &str,
        reason: &str,
    ) -> Result<(), ChangeSecretError> {
        record.status = status;
        record.reason_code = code.to_owned();
        record.reason = reason.to_owned();
        record.updated_at = self.clock.now();
        self.save_retry_record(record).await?;
        if status != RecordStatus::Success {
            self.log_line(
                &exec.id,
                &format!(
                    "{}@{}: {status}, {code}: {reason}",
                    record.username, record.asset_name
                ),
            )
            .await;
        }
        Ok(())
    }
}

fn asset_moved() -> ChangeSecretError {
    ChangeSecretError::Conflict(
        "asset_moved",
        "the asset moved to another domain since this run; nothing was sent (change it with a task of its domain)"
            .to_owned(),
    )
}

fn retry_in_progress() -> ChangeSecretError {
    ChangeSecretError::Conflict(
        "retry_in_progress",
        "a retry of this account is queued or under way; nothing was sent".to_owned(),
    )
}
