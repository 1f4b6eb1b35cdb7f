//! The work of a reconcile execution: settle a stage nobody owns, check the reconcile account
//! again, then change the account through the reconcile account's session as a run does.

use super::account::{reconcile_account_for, reconcile_spec};
use crate::change_secret::engine::one_account::StageCheck;
use crate::change_secret::engine::{AssetPlan, TemplateGrant};
use crate::change_secret::{ChangeEngine, ChangeSecretError};
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::ExecutionId;
use tumbler_domain::inventory::AccountStatus;
use tumbler_store::ExecutionRow;

impl ChangeEngine {
    /// Runs a reconcile execution to its end.
    pub(super) async fn run_reconcile(&self, id: &ExecutionId) {
        if let Err(e) = self.run_execution(id).await {
            tracing::error!(execution = %id, error = %e, "a reconcile failed");
        }
    }

    /// The work of a reconcile execution (called by the run): settle a stage nobody owns,
    /// check the reconcile account again, then change the account through the reconcile
    /// account's session as a run does.
    pub(in crate::change_secret) async fn run_reconcile_plan(
        &self,
        exec: &ExecutionRow,
    ) -> Result<(), ChangeSecretError> {
        let Some(mut record) = self.pending_one_record(exec).await? else {
            return Ok(());
        };
        let who = format!("{}@{}", record.username, record.asset_name);
        let account = self.store.account(&record.account_id).await?;
        let asset = self.store.asset(&record.asset_id).await?;
        let (Some(mut account), Some(asset)) = (account, asset) else {
            self.end_one_record(
                exec,
                &mut record,
                RecordStatus::Failed,
                Some(FailureCode::NotFound),
                "the account or its asset no longer exists; nothing was sent",
            )
            .await?;
            return Ok(());
        };
        let trust_unverified_host_key = self.trust_unverified_host_key().await;
        match self
            .settle_left_stage(
                exec,
                &mut record,
                &who,
                &asset,
                &account,
                trust_unverified_host_key,
                FailureCode::Reconcile,
            )
            .await?
        {
            StageCheck::Clear => {}
            StageCheck::Owned => return Ok(()),
            StageCheck::Settled {
                owner,
                account: settled,
                ..
            } => {
                // Every stored secret refused (not merely unreachable): the stage is dropped,
                // reconcile replaces all of them.
                let proved_nothing = match owner {
                    Some(owner) => self
                        .store
                        .record(&owner)
                        .await?
                        .is_some_and(|r| r.reason_code == Some(FailureCode::VerifyFailed)),
                    None => true,
                };
                account = *settled;
                if let Some(still) = account.pending_version {
                    if !proved_nothing {
                        self.end_one_record(
                            exec,
                            &mut record,
                            RecordStatus::Failed,
                            Some(FailureCode::VerifyFailed),
                            "the staged secret could be proved neither way (the target did not answer); reconcile again when it does",
                        )
                        .await?;
                        return Ok(());
                    }
                    let now = self.clock.now();
                    let mut tx = self.store.begin().await?;
                    tx.resolve_account_change(
                        &account.id,
                        still,
                        &tumbler_store::Resolution {
                            current_version: account.current_version,
                            previous_version: account.previous_version,
                            pending_version: None,
                            status: AccountStatus::NeedsAttention,
                            changed: false,
                            verified: false,
                        },
                        "reconcile: no stored secret logs in; a new one is being set",
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    account = self.store.account(&account.id).await?.ok_or(
                        ChangeSecretError::NotFound(tumbler_domain::object::ObjectKind::Account),
                    )?;
                }
            }
        }
        let all = self.asset_accounts(&asset).await?;
        let via = match reconcile_account_for(&asset, &all, &account) {
            Ok(v) => v.clone(),
            Err(r) => {
                self.end_one_record(
                    exec,
                    &mut record,
                    RecordStatus::Failed,
                    Some(r.code),
                    &r.message,
                )
                .await?;
                return Ok(());
            }
        };
        record.old_version = Some(account.current_version);
        record.new_version = None;
        self.save_one_record(&record).await?;
        self.log_line(
            &exec.id,
            &format!(
                "started: {who}, a fresh secret set through {} (the old one is not used)",
                via.username
            ),
        )
        .await;
        let spec = reconcile_spec(&account);
        let plan = AssetPlan {
            asset,
            all_accounts: all,
            work: vec![(record, account)],
            via: Some(via),
        };
        let template = TemplateGrant {
            owner: "engine",
            allowed: true,
        };
        self.run_asset(exec, &spec, plan, None, trust_unverified_host_key, template)
            .await;
        Ok(())
    }
}
