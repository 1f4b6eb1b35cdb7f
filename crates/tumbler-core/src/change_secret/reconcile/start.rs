//! Starting a reconcile: the checks an account must pass, then its execution and its
//! (pending) record, audited.

use super::account::reconcile_account_for;
use super::{Refusal, RECONCILE_TASK_ID, RECONCILE_TASK_NAME};
use crate::change_secret::{ChangeEngine, ChangeSecretError, ChangeSecretService};
use crate::{event, Principal, RequestOrigin};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus, Trigger};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::{AccountId, ChangeTaskId, ExecutionId, RecordId};
use tumbler_store::{AccountRow, ExecutionRow, RecordRow};

impl ChangeSecretService {
    /// The account `id` if it is in the caller's domains (its asset's domain now).
    pub(super) async fn visible_account(
        &self,
        principal: &Principal,
        id: &AccountId,
    ) -> Result<AccountRow, ChangeSecretError> {
        let account = self
            .store
            .account(id)
            .await?
            .ok_or(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Account,
            ))?;
        let domain = match self.store.asset(&account.asset_id).await? {
            Some(asset) => asset.domain_id,
            None => account.domain_id.clone(),
        };
        if principal.visible_domains().contains(&domain) {
            Ok(account)
        } else {
            Err(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Account,
            ))
        }
    }
}

impl ChangeEngine {
    /// Checks that `account` may be reconciled and writes the reconcile's execution and its
    /// (pending) record, audited; returns their ids.
    pub(in crate::change_secret) async fn start_reconcile(
        &self,
        actor: &str,
        account: &AccountRow,
        origin: &RequestOrigin,
    ) -> Result<(ExecutionId, RecordId), ChangeSecretError> {
        let asset =
            self.store
                .asset(&account.asset_id)
                .await?
                .ok_or(ChangeSecretError::NotFound(
                    tumbler_domain::object::ObjectKind::Account,
                ))?;
        let all = self.asset_accounts(&asset).await?;
        let via = reconcile_account_for(&asset, &all, account)?;
        if self.stage_owner_alive(account).await? {
            return Err(Refusal::new(
                FailureCode::AccountChanging,
                "another change of this account is under way",
            )
            .into());
        }
        let now = self.clock.now();
        let row = ExecutionRow {
            id: ExecutionId::generate(),
            task_id: ChangeTaskId::from_string(RECONCILE_TASK_ID.to_owned()),
            task_name: RECONCILE_TASK_NAME.to_owned(),
            domain_id: asset.domain_id.clone(),
            trigger: Trigger::Reconcile,
            status: ExecutionStatus::Pending,
            owner_node: self.settings.node_name.clone(),
            heartbeat_at: now,
            created_by: actor.to_owned(),
            created_at: now,
            started_at: None,
            finished_at: None,
        };
        let record = RecordRow {
            id: RecordId::generate(),
            execution_id: row.id.clone(),
            account_id: account.id.clone(),
            asset_id: asset.id.clone(),
            asset_name: asset.name.clone(),
            domain_id: asset.domain_id.clone(),
            username: account.username.clone(),
            status: RecordStatus::Pending,
            reason_code: None,
            reason: String::new(),
            old_version: Some(account.current_version),
            new_version: None,
            attempts: 0,
            new_secret_verified_at: None,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_execution(&row).await?;
        tx.insert_record(&record).await?;
        tx.append_audit(
            &event(
                actor,
                AuditAction::AccountReconcile,
                ("account", account.id.as_str()),
                Outcome::Success,
                origin,
                format!(
                    "{}@{} secret version {} reconciled through {} (execution {})",
                    account.username, asset.name, account.current_version, via.username, row.id
                ),
            ),
            now,
        )
        .await?;
        tx.append_log_line(
            &row.id,
            now,
            &format!(
                "reconcile of {}@{} through {}",
                account.username, asset.name, via.username
            ),
        )
        .await?;
        tx.commit().await?;
        Ok((row.id, record.id))
    }
}
