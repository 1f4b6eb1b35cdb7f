//! The accounts the overview asks a person to look at: those whose latest change failed or is
//! unverified (one entry per account, never a failure a later change made stale), and those
//! whose status needs attention, each with its reason and the action that fits.

use super::ChangeSecretError;
use super::ChangeSecretService;
use std::collections::BTreeSet;
use tumbler_domain::change_secret::RecordStatus;
pub use tumbler_domain::change_secret::{AttentionKind, NextAction};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::DomainId;
use tumbler_domain::inventory::AccountStatus;
use tumbler_store::{AccountFilter, RecordRow};

/// The most accounts the overview lists per kind.
const MAX_LISTED: i64 = 200;

pub use tumbler_domain::change_summaries::AttentionAccount;

/// The action that fits a failed record's reason.
fn action_for_failure(code: Option<FailureCode>) -> NextAction {
    use FailureCode as C;
    match code {
        Some(
            C::HostKeyUnverified
            | C::HostKeyConflict
            | C::NoPrivilegedAccount
            | C::TemplateNotAllowed
            | C::UnsupportedPlatform
            | C::UnsupportedSecret
            | C::InvalidTemplate
            | C::AssetRelocated
            | C::MissingSecret
            | C::InsecureTransport
            | C::TlsFailed,
        ) => NextAction::FixAsset,
        Some(C::AccountChanged | C::ChangeInProgress) => NextAction::Ignore,
        _ => NextAction::Retry,
    }
}

impl ChangeSecretService {
    /// The accounts of `domains` that need a person, one entry per account: latest changes
    /// failed or unverified first, then accounts whose status needs attention.
    pub(super) async fn attention_accounts(
        &self,
        domains: &[DomainId],
    ) -> Result<Vec<AttentionAccount>, ChangeSecretError> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let latest = self
            .store
            .latest_outcomes(
                domains,
                &[RecordStatus::Failed, RecordStatus::Unverified],
                MAX_LISTED,
            )
            .await?;
        for record in latest {
            let Some(account) = self.store.account(&record.account_id).await? else {
                continue;
            };
            if !seen.insert(account.id.clone()) {
                continue;
            }
            // The domain the account is in now (the record keeps the one of its run).
            let mut entry = from_record(&record, account.status);
            entry.domain_id = account.domain_id;
            out.push(entry);
        }
        for status in [AccountStatus::NeedsAttention, AccountStatus::Failed] {
            let (accounts, _) = self
                .store
                .accounts(&AccountFilter {
                    domains: domains.to_vec(),
                    status: Some(status),
                    limit: MAX_LISTED,
                    ..AccountFilter::default()
                })
                .await?;
            for account in accounts {
                if !seen.insert(account.id.clone()) {
                    continue;
                }
                let (code, reason) = match account.status_reason.split_once(": ") {
                    Some((code, reason)) if !code.contains(' ') => {
                        (code.to_owned(), reason.to_owned())
                    }
                    _ => (String::new(), account.status_reason.clone()),
                };
                out.push(AttentionAccount {
                    next_action: if code == super::DRIFT_CODE {
                        NextAction::Reconcile
                    } else if status == AccountStatus::Failed {
                        NextAction::FixAsset
                    } else {
                        NextAction::Verify
                    },
                    account_id: account.id,
                    username: account.username,
                    asset_id: account.asset_id,
                    asset_name: account.asset_name,
                    domain_id: account.domain_id,
                    kind: AttentionKind::NeedsAttention,
                    account_status: account.status,
                    reason_code: code,
                    reason,
                    record_id: None,
                    execution_id: None,
                    updated_at: account.updated_at,
                });
            }
        }
        Ok(out)
    }
}

fn from_record(record: &RecordRow, account_status: AccountStatus) -> AttentionAccount {
    let (kind, next_action) = match record.status {
        RecordStatus::Unverified if record.new_secret_verified_at.is_some() => {
            (AttentionKind::Unverified, NextAction::Adopt)
        }
        RecordStatus::Unverified => (AttentionKind::Unverified, NextAction::Verify),
        _ => (
            AttentionKind::Failed,
            action_for_failure(record.reason_code),
        ),
    };
    AttentionAccount {
        account_id: record.account_id.clone(),
        username: record.username.clone(),
        asset_id: record.asset_id.clone(),
        asset_name: record.asset_name.clone(),
        domain_id: record.domain_id.clone(),
        kind,
        account_status,
        reason_code: FailureCode::stored(record.reason_code).to_owned(),
        reason: record.reason.clone(),
        record_id: Some(record.id.clone()),
        execution_id: Some(record.execution_id.clone()),
        next_action,
        updated_at: record.updated_at,
    }
}
