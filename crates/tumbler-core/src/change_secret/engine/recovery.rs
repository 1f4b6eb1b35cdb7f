//! Recovery: executions whose worker died (a crash, a kill, a lost node) are ended
//! `interrupted`, and every account they left staged is settled by logging in with the
//! pending, then the current, then the previous secret; the store keeps the one that works.
//! Where the method keeps the old secret beside the new one until it proves itself (Redis,
//! SSH keys), a committed recovery then removes the old one, as the run would have.

use super::outcome::ChangeOutcome;
use super::target::{close, Failure, Login};
use super::ChangeEngine;
use crate::change_secret::tasks::TaskSpec;
use crate::change_secret::ChangeSecretError;
use crate::{event, RequestOrigin};
use chrono::Duration;
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus, Trigger};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::inventory::AccountStatus;
use tumbler_domain::platform;
use tumbler_store::{AccountFilter, AccountRow, AssetRow, ExecutionRow, RecordFilter, StoreError};

/// What one pass of recovery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoveryCounts {
    /// Runs nobody ran any more, ended `interrupted`.
    pub interrupted_runs: usize,
    /// Staged accounts settled by login (of those runs, and stages no live run owned).
    pub settled_accounts: usize,
}

impl ChangeEngine {
    /// Ends and settles executions nobody runs any more: at start (`at_start`), every
    /// unfinished execution of this node (its worker died with the previous process) and,
    /// always, those of any node whose heartbeat is older than the stale limit. Returns how
    /// many executions were recovered.
    pub async fn recover(&self, at_start: bool) -> Result<usize, ChangeSecretError> {
        Ok(self.recover_runs(at_start).await?.interrupted_runs)
    }

    /// Everything recovery does, one pass at a time on this node: ends the runs nobody runs
    /// any more (see [`Self::recover`]) and settles every account left staged (`changing`)
    /// whose owning run has ended or has no live heartbeat, whatever staged it (a run, a
    /// retry, a person's verify, ignore or adopt cut off by a crash). Returns the counts.
    pub async fn recover_all(&self, at_start: bool) -> Result<RecoveryCounts, ChangeSecretError> {
        let _one_pass = self.recovery_lock.lock().await;
        let mut counts = self.recover_runs(at_start).await?;
        counts.settled_accounts += self.settle_orphaned_stages().await?;
        Ok(counts)
    }

    /// Starts the recovery a fresh process owes (see [`Self::recover_all`]) in the
    /// background; until it is done, [`Self::recovering_at_start`] says so (readiness waits
    /// for it) and then it logs how many runs it ended and accounts it settled.
    pub fn spawn_start_recovery(&self) -> tokio::task::JoinHandle<()> {
        self.start_recovery_pending
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let me = self.clone();
        tokio::spawn(async move {
            // Ready again even if the pass panics: the sweep goes on settling every 15 s.
            struct Done(std::sync::Arc<std::sync::atomic::AtomicBool>);
            impl Drop for Done {
                fn drop(&mut self) {
                    self.0.store(false, std::sync::atomic::Ordering::SeqCst);
                }
            }
            let _done = Done(me.start_recovery_pending.clone());
            match me.recover_all(true).await {
                Ok(c) => tracing::info!(
                    interrupted_runs = c.interrupted_runs,
                    settled_accounts = c.settled_accounts,
                    "recovery at start: {} interrupted run(s) ended, {} staged account(s) settled",
                    c.interrupted_runs,
                    c.settled_accounts
                ),
                Err(e) => {
                    tracing::error!(error = %e, "recovery at start failed; the sweep tries again")
                }
            }
        })
    }

    /// Whether the recovery at start is still under way (the server is not ready yet).
    pub fn recovering_at_start(&self) -> bool {
        self.start_recovery_pending
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn recover_runs(&self, at_start: bool) -> Result<RecoveryCounts, ChangeSecretError> {
        let mut counts = RecoveryCounts::default();
        let now = self.clock.now();
        let stale = Duration::from_std(self.settings.stale_after).unwrap_or(Duration::minutes(2));
        for exec in self.store.unfinished_executions().await? {
            // This process's own runs are alive; only those a previous process of this node
            // left behind are dead at start.
            let own_dead = at_start
                && exec.owner_node == self.settings.node_name
                && exec.created_at < self.booted_at;
            if !own_dead && exec.heartbeat_at + stale > now {
                continue;
            }
            // Take the run over; if another node took it first, leave it to that node.
            let mut tx = self.store.begin().await?;
            let claimed = tx
                .claim_execution(
                    &exec.id,
                    &exec.owner_node,
                    exec.heartbeat_at,
                    &self.settings.node_name,
                    now,
                )
                .await?;
            tx.commit().await?;
            if !claimed {
                continue;
            }
            match self.recover_execution(&exec).await {
                Ok(settled) => {
                    counts.interrupted_runs += 1;
                    counts.settled_accounts += settled;
                }
                Err(e) => {
                    tracing::error!(execution = %exec.id, error = %e, "recovering an execution failed; it will be tried again");
                }
            }
        }
        Ok(counts)
    }

    /// Ends an execution nobody runs; returns how many staged accounts it settled.
    async fn recover_execution(&self, exec: &ExecutionRow) -> Result<usize, ChangeSecretError> {
        let replay = exec.trigger == Trigger::Restore;
        self.log_line(
            &exec.id,
            if replay {
                "settling every account the journal replay staged by login"
            } else {
                "interrupted: the worker stopped; settling every staged account by login"
            },
        )
        .await;
        let settled = self
            .settle_pending_records(
                exec,
                if replay {
                    FailureCode::Restored
                } else {
                    FailureCode::Interrupted
                },
            )
            .await?;
        let status = if replay {
            self.replay_status(exec).await?
        } else {
            ExecutionStatus::Interrupted
        };
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.set_execution_status(&exec.id, status, None, Some(now))
            .await?;
        tx.append_audit(
            &event(
                "engine",
                AuditAction::ChangeExecutionRecover,
                ("change_execution", exec.id.as_str()),
                Outcome::Failure,
                &RequestOrigin {
                    source: self.settings.node_name.clone(),
                },
                format!("task {}: interrupted", exec.task_name),
            ),
            now,
        )
        .await?;
        tx.append_log_line(&exec.id, now, &format!("finished: {status}"))
            .await?;
        tx.commit().await?;
        if exec.trigger == Trigger::Retry {
            self.after_retry(&exec.id).await;
        }
        if replay && self.settings.reconcile_after_restore {
            self.reconcile_unsettled_after_restore(exec).await;
        }
        Ok(settled)
    }

    /// Starts a reconcile (in the background: readiness does not wait for it) of every
    /// account of the replay's run that recovery left without a working secret.
    async fn reconcile_unsettled_after_restore(&self, exec: &ExecutionRow) {
        let records = self
            .store
            .records(&RecordFilter {
                domains: vec![exec.domain_id.clone()],
                execution_id: Some(exec.id.clone()),
                limit: i64::MAX,
                ..RecordFilter::default()
            })
            .await;
        let ids: Vec<_> = match records {
            Ok((records, _)) => records
                .into_iter()
                .filter(|r| r.status != RecordStatus::Success)
                .map(|r| r.account_id)
                .collect(),
            Err(e) => {
                tracing::error!(error = %e, "could not list a journal replay's records to reconcile");
                return;
            }
        };
        if ids.is_empty() {
            return;
        }
        self.log_line(
            &exec.id,
            &format!(
                "reconcile after restore: {} account(s) no stored secret opens",
                ids.len()
            ),
        )
        .await;
        let me = self.clone();
        let origin = RequestOrigin {
            source: self.settings.node_name.clone(),
        };
        tokio::spawn(async move {
            if let Err(e) = me.reconcile_accounts(&ids, &origin).await {
                tracing::error!(error = %e, "reconcile after restore failed");
            }
        });
    }

    /// How a journal replay's run ended once recovery settled its accounts: succeeded when
    /// every staged secret logged in, partial when some did, failed when none did.
    async fn replay_status(
        &self,
        exec: &ExecutionRow,
    ) -> Result<ExecutionStatus, ChangeSecretError> {
        let counts = self.store.execution_counts(&exec.id).await?;
        let n = |s: RecordStatus| counts.get(&s).copied().unwrap_or(0);
        let total: i64 = counts.values().sum();
        Ok(match n(RecordStatus::Success) {
            0 => ExecutionStatus::Failed,
            ok if ok == total => ExecutionStatus::Succeeded,
            _ => ExecutionStatus::Partial,
        })
    }

    /// Settles every account left `changing` whose stage no live run owns: its record's run
    /// has ended (a retry, verify, ignore or adopt cut off mid-way, or a worker dropped by a
    /// time limit). Accounts kept staged on purpose (an unverified change waiting for a
    /// person) are `needs_attention`, not `changing`, and stay. Returns how many it settled.
    async fn settle_orphaned_stages(&self) -> Result<usize, ChangeSecretError> {
        let trust_unverified_host_key = self.trust_unverified_host_key().await;
        let mut settled = 0;
        for id in self.store.staged_account_ids().await? {
            let Some(account) = self.store.account(&id).await? else {
                continue;
            };
            let Some(pending) = account.pending_version else {
                continue;
            };
            if account.status != AccountStatus::Changing {
                continue;
            }
            let mut tx = self.store.begin().await?;
            let record = tx.record_of_pending_change(&account.id, pending).await?;
            tx.commit().await?;
            let Some(record) = record else {
                tracing::error!(account = %account.id, "a staged account has no record of its change; a person must verify it");
                continue;
            };
            let Some(exec) = self.store.execution(&record.execution_id).await? else {
                continue;
            };
            // A run still going owns its stages; one whose node died is ended by
            // `recover_runs` (which settles its stages) on this or a later pass.
            if !exec.status.is_final() {
                continue;
            }
            let Some(asset) = self.store.asset(&account.asset_id).await? else {
                continue;
            };
            self.log_line(
                &exec.id,
                &format!(
                    "{}@{}: left staged after the run ended; settling by login",
                    account.username, asset.name
                ),
            )
            .await;
            match self
                .settle_by_login(
                    &exec,
                    &asset,
                    &account,
                    pending,
                    trust_unverified_host_key,
                    FailureCode::Interrupted,
                )
                .await
            {
                Ok(()) => {
                    let after = self.store.account(&account.id).await?;
                    if after.is_some_and(|a| a.status != AccountStatus::Changing) {
                        settled += 1;
                    }
                    if exec.trigger == Trigger::Retry {
                        self.after_retry(&exec.id).await;
                    }
                }
                Err(e) => {
                    tracing::error!(account = %account.id, error = %e, "could not settle a staged account; the next sweep tries again")
                }
            }
        }
        Ok(settled)
    }

    /// Settles every record of the execution still `pending`: a staged account by login, one
    /// never staged as failed (nothing was sent). An account that cannot be settled now stays
    /// staged for a person (its record says why) and the others go on.
    pub(in crate::change_secret) async fn settle_pending_records(
        &self,
        exec: &ExecutionRow,
        why: FailureCode,
    ) -> Result<usize, ChangeSecretError> {
        let trust_unverified_host_key = self.trust_unverified_host_key().await;
        let mut count = 0;
        let (records, _) = self
            .store
            .records(&RecordFilter {
                domains: vec![exec.domain_id.clone()],
                execution_id: Some(exec.id.clone()),
                status: Some(RecordStatus::Pending),
                limit: i64::MAX,
                ..RecordFilter::default()
            })
            .await?;
        for mut record in records {
            let mut was_staged = false;
            let account = self.store.account(&record.account_id).await?;
            let asset = self.store.asset(&record.asset_id).await?;
            let settled = match (account, asset, record.new_version) {
                (Some(account), Some(asset), Some(v)) if account.pending_version == Some(v) => {
                    was_staged = true;
                    self.settle_by_login(exec, &asset, &account, v, trust_unverified_host_key, why)
                        .await
                }
                _ => {
                    // Never staged: nothing was sent to the target.
                    record.status = RecordStatus::Failed;
                    record.reason_code = Some(why);
                    record.reason = "the run stopped before this account was changed".to_owned();
                    record.updated_at = self.clock.now();
                    let mut tx = self.store.begin().await?;
                    tx.update_record(&record).await?;
                    tx.commit().await.map_err(Into::into)
                }
            };
            match settled {
                Err(e) => {
                    tracing::error!(record = %record.id, error = %e, "could not settle a staged account; it stays staged for a person");
                }
                Ok(()) if was_staged => count += 1,
                Ok(()) => {}
            }
        }
        Ok(count)
    }

    /// Settles a staged account by logging in with pending, then current, then previous.
    pub(in crate::change_secret) async fn settle_by_login(
        &self,
        exec: &ExecutionRow,
        asset: &AssetRow,
        account: &AccountRow,
        pending: i64,
        trust_unverified_host_key: bool,
        why: FailureCode,
    ) -> Result<(), ChangeSecretError> {
        let mut tx = self.store.begin().await?;
        let record = tx.record_of_pending_change(&account.id, pending).await?;
        tx.commit().await?;
        let Some(mut record) = record else {
            return Ok(());
        };
        let Some(platform) = platform::find(&asset.platform) else {
            // No login can settle it: the stage is kept for a person (`needs_attention`, with
            // the reason), so the sweep does not come back to it on every pass.
            let f = Failure::new(
                FailureCode::UnsupportedPlatform,
                format!(
                    "the asset's platform {} is unknown here; no login can settle the staged secret",
                    asset.platform
                ),
            );
            self.log_line(
                &exec.id,
                &format!("{}@{}: {}", account.username, asset.name, f.reason()),
            )
            .await;
            return self
                .apply_outcome(
                    exec,
                    &mut record,
                    account,
                    pending,
                    ChangeOutcome::Unknown(f),
                )
                .await;
        };
        let mut inconclusive: Option<Failure> = None;
        let mut tried = Vec::new();
        let candidates = [
            ("pending", Some(pending)),
            ("current", Some(account.current_version)),
            ("previous", account.previous_version),
        ];
        let mut found = None;
        for (name, version) in candidates {
            let Some(version) = version else { continue };
            let secret = match self.open_account_secret(account.id.as_str(), version).await {
                Ok(s) => s,
                Err(e) => {
                    tried.push(format!("{name} unreadable"));
                    tracing::error!(account = %account.id, version, error = %e, "a stored secret cannot be opened");
                    continue;
                }
            };
            match self
                .login_with(asset, platform, account, &secret, trust_unverified_host_key)
                .await
            {
                Login::Works => {
                    found = Some(name);
                    break;
                }
                Login::Refused => tried.push(format!("{name} refused")),
                Login::Inconclusive(f) => {
                    tried.push(format!("{name} inconclusive ({})", f.code));
                    // A host that cannot be reached answers no other secret either: one try
                    // per account, so a dead host holds recovery (and readiness) once, not
                    // three times per account.
                    let unreachable = f.code == FailureCode::Unreachable;
                    inconclusive = Some(f);
                    if unreachable {
                        break;
                    }
                }
            }
        }
        let outcome = match found {
            Some("pending") => ChangeOutcome::Committed,
            Some("current") => ChangeOutcome::NotChanged(Failure::new(
                why,
                "the change did not reach the target; the current secret still works",
            )),
            Some(_) => ChangeOutcome::Previous(Failure::new(
                why,
                "only the previous secret logs in; it is current again",
            )),
            None => match inconclusive {
                Some(f) => ChangeOutcome::Unverified(f),
                None => ChangeOutcome::Unknown(Failure::new(
                    FailureCode::VerifyFailed,
                    format!("no stored secret logs in ({})", tried.join(", ")),
                )),
            },
        };
        self.log_line(
            &exec.id,
            &format!(
                "{}@{}: recovery found {}",
                account.username,
                asset.name,
                found.unwrap_or("no working secret")
            ),
        )
        .await;
        self.apply_outcome(exec, &mut record, account, pending, outcome)
            .await?;
        if found == Some("pending") {
            self.remove_old_after_settling(
                exec,
                asset,
                account,
                pending,
                trust_unverified_host_key,
            )
            .await;
        }
        Ok(())
    }

    /// After recovery (or an adopt) committed a change whose method keeps the old secret
    /// beside the new one (Redis, SSH keys), removes the old one as the run would have. A
    /// failure is logged in the run's log: the new secret works either way.
    pub(in crate::change_secret) async fn remove_old_after_settling(
        &self,
        exec: &ExecutionRow,
        asset: &AssetRow,
        account: &AccountRow,
        pending: i64,
        trust_unverified_host_key: bool,
    ) {
        // Reconcile never uses a method that keeps the old secret (and has no task).
        if exec.trigger == tumbler_domain::change_secret::Trigger::Reconcile {
            return;
        }
        let who = format!("{}@{}", account.username, asset.name);
        let prepared =
            async {
                let task = self.store.change_task(&exec.task_id).await?.ok_or(
                    ChangeSecretError::NotFound(tumbler_domain::object::ObjectKind::Task),
                )?;
                let spec: TaskSpec = serde_json::from_str(&task.spec)
                    .map_err(|_| StoreError::Corrupt("task definition".to_owned()))?;
                let (accounts, _) = self
                    .store
                    .accounts(&AccountFilter {
                        domains: vec![asset.domain_id.clone()],
                        asset_id: Some(asset.id.clone()),
                        limit: 10_000,
                        ..AccountFilter::default()
                    })
                    .await?;
                let changer = self
                    .changer_for(asset, &accounts, &spec, trust_unverified_host_key, None)
                    .await?;
                let old = self
                    .open_account_secret(account.id.as_str(), account.current_version)
                    .await?;
                let new = self
                    .open_account_secret(account.id.as_str(), pending)
                    .await?;
                Ok::<_, ChangeSecretError>((changer, old, new))
            };
        let (changer, old, new) = match prepared.await {
            Ok(found) if found.0.keeps_old_secret() => found,
            Ok(_) => return,
            Err(e) => {
                tracing::error!(account = %account.id, error = %e, "could not prepare removing the old secret after recovery");
                return;
            }
        };
        let line = match self.open_change_session(&changer, None).await {
            Err(f) => format!(
                "{who}: the old secret could not be removed after the change was settled ({}); it still works there",
                f.reason()
            ),
            Ok(mut session) => {
                let removed = self
                    .finish_on_target(&changer, &mut session, &account.username, &old, Some(&new))
                    .await;
                close(session).await;
                match removed {
                    Ok(_) => format!("{who}: old secret removed after the change was settled"),
                    Err(f) => format!(
                        "{who}: the old secret could not be removed after the change was settled ({}); it still works there",
                        f.reason()
                    ),
                }
            }
        };
        self.log_line(&exec.id, &line).await;
    }
}
