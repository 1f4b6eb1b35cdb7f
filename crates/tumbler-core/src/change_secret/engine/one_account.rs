//! Runs of one account (retries and reconciles): their one record, a stage left on the
//! account, ending the record without a change.

use super::ChangeEngine;
use crate::change_secret::ChangeSecretError;
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::RecordId;
use tumbler_store::{AccountFilter, AccountRow, AssetRow, ExecutionRow, RecordFilter, RecordRow};

/// The most accounts one asset contributes (as a run reads them).
const MAX_ACCOUNTS_PER_ASSET: i64 = 10_000;

/// What a retry or a reconcile found of a stage left on its account.
pub(in crate::change_secret) enum StageCheck {
    /// The account has no stage.
    Clear,
    /// A run that is still alive owns the stage: the record was ended `change_in_progress`.
    Owned,
    /// A stage nobody owned, settled by login: the version that was staged, the record whose
    /// change staged it (when one still says so) and the account as it is now.
    Settled {
        pending: i64,
        owner: Option<RecordId>,
        account: Box<AccountRow>,
    },
}

impl ChangeEngine {
    /// The one record of a retry or a reconcile execution still to do (none when it is done).
    pub(in crate::change_secret) async fn pending_one_record(
        &self,
        exec: &ExecutionRow,
    ) -> Result<Option<RecordRow>, ChangeSecretError> {
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
        Ok(records.into_iter().next())
    }

    /// Before a retry or a reconcile (`why`) changes `account`: a stage a live run owns ends
    /// `record` `change_in_progress`; a stage nobody owns is settled by login (which secret
    /// works decides, as recovery does) and the account read again.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::change_secret) async fn settle_left_stage(
        &self,
        exec: &ExecutionRow,
        record: &mut RecordRow,
        who: &str,
        asset: &AssetRow,
        account: &AccountRow,
        trust_unverified_host_key: bool,
        why: FailureCode,
    ) -> Result<StageCheck, ChangeSecretError> {
        let Some(pending) = account.pending_version else {
            return Ok(StageCheck::Clear);
        };
        if self.stage_owner_alive(account).await? {
            self.end_one_record(
                exec,
                record,
                RecordStatus::Failed,
                Some(FailureCode::ChangeInProgress),
                "another change of this account is under way; nothing was sent",
            )
            .await?;
            return Ok(StageCheck::Owned);
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
        if let Some(owner) = &owner {
            if let Some(owner_exec) = self.store.execution(&owner.execution_id).await? {
                self.settle_by_login(
                    &owner_exec,
                    asset,
                    account,
                    pending,
                    trust_unverified_host_key,
                    why,
                )
                .await?;
            }
        }
        let account = self
            .store
            .account(&account.id)
            .await?
            .ok_or(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Account,
            ))?;
        Ok(StageCheck::Settled {
            pending,
            owner: owner.map(|r| r.id),
            account: Box::new(account),
        })
    }

    /// Whether a run that is still alive owns the account's stage (a staged account whose
    /// record's run has ended, or whose node stopped saying it is alive, has no owner).
    pub(in crate::change_secret) async fn stage_owner_alive(
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
    pub(in crate::change_secret) fn execution_alive(&self, exec: &ExecutionRow) -> bool {
        let stale = chrono::Duration::from_std(self.settings.stale_after)
            .unwrap_or(chrono::Duration::minutes(2));
        !exec.status.is_final() && exec.heartbeat_at + stale > self.clock.now()
    }

    /// The asset's accounts.
    pub(in crate::change_secret) async fn asset_accounts(
        &self,
        asset: &AssetRow,
    ) -> Result<Vec<AccountRow>, ChangeSecretError> {
        let (all, _) = self
            .store
            .accounts(&AccountFilter {
                domains: vec![asset.domain_id.clone()],
                asset_id: Some(asset.id.clone()),
                limit: MAX_ACCOUNTS_PER_ASSET,
                ..AccountFilter::default()
            })
            .await?;
        Ok(all)
    }

    /// Saves the record of a retry or a reconcile.
    pub(in crate::change_secret) async fn save_one_record(
        &self,
        record: &RecordRow,
    ) -> Result<(), ChangeSecretError> {
        let mut tx = self.store.begin().await?;
        tx.update_record(record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends the record of a retry or a reconcile without a change (or with one found done),
    /// with its reason.
    pub(in crate::change_secret) async fn end_one_record(
        &self,
        exec: &ExecutionRow,
        record: &mut RecordRow,
        status: RecordStatus,
        code: Option<FailureCode>,
        reason: &str,
    ) -> Result<(), ChangeSecretError> {
        record.status = status;
        record.reason_code = code;
        record.reason = reason.to_owned();
        record.updated_at = self.clock.now();
        self.save_one_record(record).await?;
        if status != RecordStatus::Success {
            self.log_line(
                &exec.id,
                &format!(
                    "{}@{}: {status}, {}: {reason}",
                    record.username,
                    record.asset_name,
                    FailureCode::stored(code)
                ),
            )
            .await;
        }
        Ok(())
    }
}
