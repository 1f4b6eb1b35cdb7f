//! The work of a retry execution: settle a stage nobody owns, pick the new secret, apply the
//! rules a run applies, then change the account as a run does.

use super::start::asset_moved;
use crate::change_secret::engine::one_account::StageCheck;
use crate::change_secret::engine::{login_account, user_holds, AssetPlan, TemplateGrant};
use crate::change_secret::tasks::TaskSpec;
use crate::change_secret::{ChangeEngine, ChangeSecretError};
use tumbler_domain::change_secret::{secure_mode_skip, RecordStatus, SecretStrategy};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::permission::Permission;
use tumbler_store::{ExecutionRow, StoreError};

impl ChangeEngine {
    /// The work of a retry execution (called by the run): settle a stage nobody owns, pick
    /// the new secret, apply the rules a run applies, then change the account as a run does.
    pub(in crate::change_secret) async fn run_retry_plan(
        &self,
        exec: &ExecutionRow,
    ) -> Result<(), ChangeSecretError> {
        let link = self
            .store
            .retry_link(&exec.id)
            .await?
            .ok_or(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Retry,
            ))?;
        let Some(mut record) = self.pending_one_record(exec).await? else {
            return Ok(());
        };
        if let Some((code, reason)) = self.retry_gate.take_halt(&exec.id) {
            // An earlier retry of this asset's queue failed on the way to root.
            self.end_one_record(exec, &mut record, RecordStatus::Failed, Some(code), &reason)
                .await?;
            return Ok(());
        }
        let who = format!("{}@{}", record.username, record.asset_name);
        let task = self.store.change_task(&exec.task_id).await?;
        let account = self.store.account(&record.account_id).await?;
        let asset = self.store.asset(&record.asset_id).await?;
        let (Some(task), Some(account), Some(asset)) = (task, account, asset) else {
            self.end_one_record(
                exec,
                &mut record,
                RecordStatus::Failed,
                Some(FailureCode::NotFound),
                "the task, the account or its asset no longer exists; nothing was sent",
            )
            .await?;
            return Ok(());
        };
        if asset.domain_id != exec.domain_id {
            // Moved since the retry was asked for: the run's task and domain no longer cover it.
            let reason = asset_moved().to_string();
            self.end_one_record(
                exec,
                &mut record,
                RecordStatus::Failed,
                Some(FailureCode::AssetMoved),
                &reason,
            )
            .await?;
            return Ok(());
        }
        if !task.enabled {
            self.end_one_record(
                exec,
                &mut record,
                RecordStatus::Failed,
                Some(FailureCode::TaskDisabled),
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
        let trust_unverified_host_key = self.trust_unverified_host_key().await;
        // Whether the retried record's new secret is what the account has staged.
        let was_staged = retried
            .as_ref()
            .and_then(|r| r.new_version)
            .is_some_and(|v| account.pending_version == Some(v));
        let mut account = account;
        match self
            .settle_left_stage(
                exec,
                &mut record,
                &who,
                &asset,
                &account,
                trust_unverified_host_key,
                FailureCode::Retry,
            )
            .await?
        {
            StageCheck::Clear => {}
            StageCheck::Owned => return Ok(()),
            StageCheck::Settled {
                pending,
                account: settled,
                ..
            } => {
                account = *settled;
                if account.pending_version.is_some() {
                    self.end_one_record(
                        exec,
                        &mut record,
                        RecordStatus::Failed,
                        Some(FailureCode::VerifyFailed),
                        "the staged secret could be proved neither way; verify or retry when the target answers",
                    )
                    .await?;
                    return Ok(());
                }
                if account.current_version == pending {
                    // The target had taken the staged secret: the change is done.
                    record.old_version = account.previous_version;
                    record.new_version = Some(pending);
                    self.end_one_record(exec, &mut record, RecordStatus::Success, None, "")
                        .await?;
                    self.log_line(
                        &exec.id,
                        &format!("{who}: the staged secret works on the target; committed as version {pending}"),
                    )
                    .await;
                    return Ok(());
                }
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
                self.end_one_record(
                    exec,
                    &mut record,
                    RecordStatus::Failed,
                    Some(FailureCode::NoSpecifiedSecret),
                    "the task has no specified secret; nothing was sent",
                )
                .await?;
                return Ok(());
            }
            (None, SecretStrategy::Random, _) => None,
        };
        record.old_version = Some(account.current_version);
        record.new_version = reuse;
        let all_accounts = self.asset_accounts(&asset).await?;
        let login = login_account(&all_accounts).map(|a| a.id.clone());
        if self.settings.secure_mode {
            if let Some(skip) = secure_mode_skip(
                &account.username,
                account.privileged,
                login.as_ref() == Some(&account.id),
            ) {
                self.end_one_record(
                    exec,
                    &mut record,
                    RecordStatus::Ignored,
                    Some(skip.code()),
                    &skip.to_string(),
                )
                .await?;
                return Ok(());
            }
        }
        if account.secret_type != spec.secret_type {
            self.end_one_record(
                exec,
                &mut record,
                RecordStatus::Ignored,
                Some(FailureCode::SecretTypeMismatch),
                "the account's secret type is not the one the task changes",
            )
            .await?;
            return Ok(());
        }
        self.save_one_record(&record).await?;
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
        self.run_asset(
            exec,
            &spec,
            plan,
            specified.as_ref(),
            trust_unverified_host_key,
            template,
        )
        .await;
        Ok(())
    }
}
