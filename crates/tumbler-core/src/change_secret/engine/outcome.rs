//! After a change attempt: probing which secret works, removing the old secret, and
//! storing the outcome (record, account status, versions).

use super::target::{ChangeSession, Changer, Failure, Login};
use super::ChangeEngine;
use crate::change_secret::ChangeSecretError;
use crate::event;
use crate::RequestOrigin;
use secrecy::SecretString;
use tumbler_domain::audit::AuditAction;
use tumbler_domain::audit::Outcome;
use tumbler_domain::change_outcome::{decide, StoredVersions};
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::failure_code::FailureCode;
use tumbler_store::{AccountRow, ExecutionRow, RecordRow, Resolution};

/// Where an account's secret stands after a change attempt (see
/// [`tumbler_domain::change_outcome`]).
pub(in crate::change_secret) type ChangeOutcome =
    tumbler_domain::change_outcome::ChangeOutcome<Failure>;

impl ChangeEngine {
    /// Removes the old secret where the method keeps it beside the new one until the new one
    /// proved itself (Redis, SSH keys). A failure is logged, not fatal: the new secret works
    /// either way.
    pub(in crate::change_secret) async fn remove_old_secret(
        &self,
        exec: &ExecutionRow,
        changer: &Changer,
        session: &mut ChangeSession,
        account: &AccountRow,
        new: &SecretString,
        who: &str,
    ) {
        let line = match self
            .open_account_secret(account.id.as_str(), account.current_version)
            .await
        {
            Err(e) => format!("{who}: the old secret could not be read to remove it: {e}"),
            Ok(old) => match self
                .finish_on_target(changer, session, &account.username, &old, Some(new))
                .await
            {
                Ok(None) => format!("{who}: old secret removed"),
                Ok(Some(note)) => format!("{who}: old secret removed; {note}"),
                Err(f) => format!(
                    "{who}: the old secret could not be removed on {} ({}); it still works there",
                    changer.asset.name,
                    f.reason()
                ),
            },
        };
        self.log_line(&exec.id, &line).await;
    }

    pub(in crate::change_secret) async fn current_works(
        &self,
        changer: &Changer,
        account: &AccountRow,
    ) -> Option<bool> {
        let current = self
            .open_account_secret(account.id.as_str(), account.current_version)
            .await
            .ok()?;
        match self
            .login_with(
                &changer.asset,
                changer.platform,
                account,
                &current,
                changer.trust_unverified_host_key,
            )
            .await
        {
            Login::Works => Some(true),
            Login::Refused => Some(false),
            Login::Inconclusive(_) => None,
        }
    }

    /// After an ambiguous error (`cause`): which secret works now?
    pub(in crate::change_secret) async fn probe(
        &self,
        changer: &Changer,
        account: &AccountRow,
        new: &SecretString,
        cause: Failure,
    ) -> ChangeOutcome {
        match self
            .login_with(
                &changer.asset,
                changer.platform,
                account,
                new,
                changer.trust_unverified_host_key,
            )
            .await
        {
            Login::Works => ChangeOutcome::Committed,
            Login::Inconclusive(f) => ChangeOutcome::Unverified(f),
            Login::Refused => {
                let f = Failure::new(
                    cause.code,
                    format!("{}; the old secret still works", cause.message),
                );
                match self.current_works(changer, account).await {
                    // The target may still apply the change: both secrets are kept (the new
                    // one pending) until a retry or verify proves which one works.
                    Some(true) if cause.may_land_later => ChangeOutcome::Unverified(Failure::new(
                        cause.code,
                        format!(
                            "{}; the old secret works for now and the new one stays pending until a retry or verify proves which one the target kept",
                            cause.message
                        ),
                    )),
                    Some(true) => ChangeOutcome::NotChanged(f),
                    _ => ChangeOutcome::Unknown(Failure::new(
                        FailureCode::VerifyFailed,
                        "neither the new nor the old secret logs in",
                    )),
                }
            }
        }
    }

    pub(in crate::change_secret) async fn save_record(
        &self,
        record: &RecordRow,
    ) -> Result<(), ChangeSecretError> {
        let mut tx = self.store.begin().await?;
        tx.update_record(record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores where the account stands and the record's outcome, in one transaction with its
    /// audit event.
    pub(in crate::change_secret) async fn apply_outcome(
        &self,
        exec: &ExecutionRow,
        record: &mut RecordRow,
        account: &AccountRow,
        version: i64,
        outcome: ChangeOutcome,
    ) -> Result<(), ChangeSecretError> {
        let now = self.clock.now();
        let who = format!("{}@{}", account.username, record.asset_name);
        let decision = decide(
            &outcome,
            StoredVersions {
                current: account.current_version,
                previous: account.previous_version,
            },
            version,
        );
        let resolution = Resolution {
            current_version: decision.account.current_version,
            previous_version: decision.account.previous_version,
            pending_version: decision.account.pending_version,
            status: decision.account.status,
            changed: decision.account.changed,
            verified: decision.account.verified,
        };
        let failure = outcome.failure();
        record.status = decision.record_status;
        record.reason_code = failure.map(|f| f.code);
        record.reason = failure.map(|f| f.message.clone()).unwrap_or_default();
        record.updated_at = now;
        let account_reason = failure.map(Failure::reason).unwrap_or_default();
        let mut tx = self.store.begin().await?;
        let applied = tx
            .resolve_account_change(&account.id, version, &resolution, &account_reason, now)
            .await?;
        if applied && record.status == RecordStatus::Success {
            // The new secret logged in: the report says when.
            record.new_secret_verified_at = Some(now);
        }
        if !applied {
            record.status = RecordStatus::Failed;
            record.reason_code = Some(FailureCode::AccountChanged);
            record.reason = "the account was changed by someone else meanwhile".to_owned();
        }
        tx.update_record(record).await?;
        tx.append_audit(
            &event(
                "engine",
                AuditAction::AccountChange,
                ("account", account.id.as_str()),
                if record.status == RecordStatus::Success {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                &RequestOrigin {
                    source: self.settings.node_name.clone(),
                },
                format!(
                    "{who} secret version {version}: {} (execution {})",
                    record.reason_code.map_or("committed", FailureCode::as_str),
                    exec.id
                ),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        if applied && resolution.pending_version.is_none() {
            self.escrow
                .settled(
                    account.id.as_str(),
                    version,
                    resolution.current_version,
                    now,
                )
                .await;
        }
        let line = match record.status {
            RecordStatus::Success => format!("{who}: verified and committed as version {version}"),
            s => format!(
                "{who}: {s}, {}: {}",
                FailureCode::stored(record.reason_code),
                record.reason
            ),
        };
        self.log_line(&exec.id, &line).await;
        Ok(())
    }
}
