//! Records as people see and act on them: list, retry (a run of its own, see `retry`), verify (log in with
//! the new secret), adopt (a verified new secret becomes current; fresh TOTP code), ignore,
//! reveal (old and new secret; fresh TOTP code; audited); and the overview counts.

use super::{page_limit, require, ChangeSecretError, ChangeSecretService};
use crate::{event, Principal, RequestOrigin};
use serde::Deserialize;
use std::collections::BTreeMap;
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::ids::{AssetId, ExecutionId, RecordId};
use tumbler_domain::inventory::AccountStatus;
use tumbler_domain::permission::Permission;
use tumbler_store::{AccountFilter, ExecutionFilter, RecordFilter, RecordRow, StoreError};
use zeroize::Zeroizing;

/// Which records to list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RecordQuery {
    /// Only this execution's.
    pub execution_id: Option<ExecutionId>,
    /// Only this status.
    pub status: Option<RecordStatus>,
    /// Only this asset's.
    pub asset_id: Option<AssetId>,
    /// Page size.
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// What a person can do to a record (named in the record action's path, `.../retry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, strum::EnumString)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RecordAction {
    /// Run the change again, as a run of its own (the staged new secret when it is still
    /// pending, else a fresh one).
    Retry,
    /// Log in with the new secret.
    Verify,
    /// Make a verified new secret current.
    Adopt,
    /// Set the record aside.
    Ignore,
}

/// A record's old and new secrets (wiped when dropped; never `Debug`).
pub struct RevealedRecord {
    /// The secret before the change.
    pub old_secret: Option<Zeroizing<String>>,
    /// The new secret.
    pub new_secret: Option<Zeroizing<String>>,
}

pub use tumbler_domain::change_summaries::Overview;

impl ChangeSecretService {
    pub(super) async fn visible_record(
        &self,
        principal: &Principal,
        id: &RecordId,
    ) -> Result<RecordRow, ChangeSecretError> {
        require(principal, Permission::AssetsRead)?;
        let record = self
            .store
            .record(id)
            .await?
            .ok_or(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Record,
            ))?;
        // The asset's domain now, not when the run was planned: an asset may have moved.
        let domain = match self.store.asset(&record.asset_id).await? {
            Some(asset) => asset.domain_id,
            None => record.domain_id.clone(),
        };
        if principal.visible_domains().contains(&domain) {
            Ok(record)
        } else {
            Err(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Record,
            ))
        }
    }

    /// Records the caller may see.
    pub async fn records(
        &self,
        principal: &Principal,
        query: &RecordQuery,
    ) -> Result<(Vec<RecordRow>, i64), ChangeSecretError> {
        require(principal, Permission::AssetsRead)?;
        Ok(self
            .store
            .records(&RecordFilter {
                domains: principal.visible_domains(),
                execution_id: query.execution_id.clone(),
                status: query.status,
                asset_id: query.asset_id.clone(),
                limit: page_limit(query.limit),
                offset: query.offset.unwrap_or(0).max(0),
            })
            .await?)
    }

    /// One record the caller may see.
    pub async fn record(
        &self,
        principal: &Principal,
        id: &RecordId,
    ) -> Result<RecordRow, ChangeSecretError> {
        self.visible_record(principal, id).await
    }

    pub(super) async fn audit_action(
        &self,
        tx: &mut tumbler_store::Tx,
        principal: &Principal,
        record: &RecordRow,
        what: &str,
        origin: &RequestOrigin,
    ) -> Result<(), ChangeSecretError> {
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::ChangeRecordAction,
                ("change_record", record.id.as_str()),
                Outcome::Success,
                origin,
                format!(
                    "{}@{} versions {:?} -> {:?}: {what}",
                    record.username, record.asset_name, record.old_version, record.new_version
                ),
            ),
            self.clock.now(),
        )
        .await?;
        Ok(())
    }

    /// The record's old and new secrets: needs the reveal permission and a fresh TOTP code;
    /// audited (naming the versions) before anything is returned.
    pub async fn reveal_record(
        &self,
        principal: &Principal,
        id: &RecordId,
        totp: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<RevealedRecord, ChangeSecretError> {
        require(principal, Permission::SecretsReveal)?;
        let record = self.visible_record(principal, id).await?;
        self.auth
            .step_up_to_read(principal, totp, AuditAction::ChangeRecordReveal, origin)
            .await?;
        let open = |v: Option<i64>| {
            let account = record.account_id.clone();
            async move {
                match v {
                    None => Ok::<_, ChangeSecretError>(None),
                    Some(v) => {
                        let bytes = self
                            .vault
                            .open_secret(
                                tumbler_domain::secret_owner::SecretOwner::Account,
                                account.as_str(),
                                v,
                            )
                            .await?;
                        let text = String::from_utf8(bytes.to_vec())
                            .map_err(|_| StoreError::Corrupt("secret not UTF-8".to_owned()))?;
                        Ok(Some(Zeroizing::new(text)))
                    }
                }
            }
        };
        let old_secret = open(record.old_version).await?;
        let new_secret = open(record.new_version).await?;
        let mut tx = self.store.begin().await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::ChangeRecordReveal,
                ("change_record", id.as_str()),
                Outcome::Success,
                origin,
                format!(
                    "{}@{} secret versions {:?} and {:?}",
                    record.username, record.asset_name, record.old_version, record.new_version
                ),
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(RevealedRecord {
            old_secret,
            new_secret,
        })
    }

    /// Counts for the dashboard: tasks, accounts per status, recent executions and the
    /// accounts that need a person, with their reasons and the action that fits.
    pub async fn overview(&self, principal: &Principal) -> Result<Overview, ChangeSecretError> {
        require(principal, Permission::AssetsRead)?;
        let domains = principal.visible_domains();
        let tasks = self.tasks(principal).await?;
        let mut accounts = BTreeMap::new();
        for status in AccountStatus::ALL {
            let (_, n) = self
                .store
                .accounts(&AccountFilter {
                    domains: domains.clone(),
                    status: Some(*status),
                    limit: 1,
                    ..AccountFilter::default()
                })
                .await?;
            accounts.insert(*status, n);
        }
        let (recent, _) = self
            .store
            .executions(&ExecutionFilter {
                domains: domains.clone(),
                limit: 10,
                ..ExecutionFilter::default()
            })
            .await?;
        let mut recent_executions = Vec::with_capacity(recent.len());
        for e in recent {
            recent_executions.push(self.engine.execution_view(e).await?);
        }
        let failed_accounts = self.attention_accounts(&domains).await?;
        Ok(Overview {
            scheduled_tasks: tasks
                .iter()
                .filter(|t| t.enabled && t.spec.schedule.is_set())
                .count(),
            tasks: tasks.len(),
            accounts,
            recent_executions,
            failed_accounts,
        })
    }
}
