//! The actions a person takes on a record: ignore, verify, adopt (retry is a run of its own,
//! see `retry`). Each action is a function of its own; [`ChangeSecretService::record_action`]
//! loads what they share and picks one.

use super::engine::target::Login;
use super::engine::ChangeOutcome;
use super::records::RecordAction;
use super::{found, require, ChangeSecretError, ChangeSecretService};
use crate::{Principal, RequestOrigin};
use tumbler_domain::audit::AuditAction;
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::RecordId;
use tumbler_domain::object::ObjectKind;
use tumbler_domain::permission::Permission;
use tumbler_domain::platform;
use tumbler_store::{AccountRow, AssetRow, ExecutionRow, RecordRow};

/// A record a person acts on, with its run, account and asset.
struct ActedRecord {
    record: RecordRow,
    exec: ExecutionRow,
    account: AccountRow,
    asset: AssetRow,
    /// The record's new secret is the account's pending one.
    staged_here: bool,
}

fn state(why: &str) -> ChangeSecretError {
    ChangeSecretError::RecordState(why.to_owned())
}

impl ChangeSecretService {
    /// Acts on a record (audited). Adopt needs a fresh TOTP code.
    pub async fn record_action(
        &self,
        principal: &Principal,
        id: &RecordId,
        action: RecordAction,
        totp: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<RecordRow, ChangeSecretError> {
        require(principal, Permission::ChangesRun)?;
        if action == RecordAction::Retry {
            return self.retry_record(principal, id, origin).await;
        }
        let record = self.visible_record(principal, id).await?;
        let exec = found(
            self.store.execution(&record.execution_id).await?,
            ObjectKind::Execution,
        )?;
        let account = found(
            self.store.account(&record.account_id).await?,
            ObjectKind::Account,
        )?;
        let asset = found(self.store.asset(&record.asset_id).await?, ObjectKind::Asset)?;
        let staged_here =
            record.new_version.is_some() && account.pending_version == record.new_version;
        let r = ActedRecord {
            record,
            exec,
            account,
            asset,
            staged_here,
        };
        match action {
            RecordAction::Ignore => self.ignore_record(principal, id, r, origin).await,
            RecordAction::Verify => self.verify_record(principal, r, origin).await,
            RecordAction::Adopt => self.adopt_record(principal, r, totp, origin).await,
            RecordAction::Retry => self.retry_record(principal, id, origin).await,
        }
    }

    /// Sets a failed or unverified record aside, once its account is settled.
    async fn ignore_record(
        &self,
        principal: &Principal,
        id: &RecordId,
        acted: ActedRecord,
        origin: &RequestOrigin,
    ) -> Result<RecordRow, ChangeSecretError> {
        let ActedRecord {
            record,
            exec,
            account,
            asset,
            staged_here,
        } = acted;
        if matches!(record.status, RecordStatus::Success | RecordStatus::Pending) {
            return Err(state(
                "only a failed or unverified record can be ignored (not one in progress or done)",
            ));
        }
        // A change that timed out after the new secret was sent may still land (sudo
        // cannot stop `chpasswd`): a login with the old secret proves nothing yet, and
        // dropping the new one now could leave a secret nobody stored.
        let settles_at = record.updated_at
            + chrono::Duration::from_std(self.settings.account_timeout * 5)
                .unwrap_or_default()
                .max(chrono::Duration::minutes(10));
        if staged_here
            && record.reason_code == Some(FailureCode::Timeout)
            && self.clock.now() < settles_at
        {
            return Err(state(&format!(
                "the target may still take the new secret (its change timed out); verify it or retry it now, or ignore it after {}",
                settles_at.format("%Y-%m-%d %H:%M:%S UTC")
            )));
        }
        if staged_here && !self.settle_first(&exec, &asset, &account, &record).await? {
            return Err(state(
                "neither the new nor the old secret could be proved; verify or retry when the target answers",
            ));
        }
        let mut r = self
            .store
            .record(id)
            .await?
            .ok_or(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Record,
            ))?;
        if r.status == RecordStatus::Success {
            // The new secret works on the target: it was committed, nothing to ignore.
            return Ok(r);
        }
        r.status = RecordStatus::Ignored;
        r.updated_at = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.update_record(&r).await?;
        self.audit_action(&mut tx, principal, &r, "ignore", origin)
            .await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Logs in with the record's new secret and notes whether it works (audited).
    async fn verify_record(
        &self,
        principal: &Principal,
        acted: ActedRecord,
        origin: &RequestOrigin,
    ) -> Result<RecordRow, ChangeSecretError> {
        let ActedRecord {
            record,
            account,
            asset,
            ..
        } = acted;
        let Some(v) = record.new_version else {
            return Err(state("the record has no new secret"));
        };
        let platform = platform::find(&asset.platform)
            .ok_or_else(|| state("the asset's platform is unknown"))?;
        let secret = self
            .engine
            .open_account_secret(account.id.as_str(), v)
            .await?;
        let trust_unverified_host_key = self.engine.trust_unverified_host_key().await;
        let login = self
            .engine
            .login_with(
                &asset,
                platform,
                &account,
                &secret,
                trust_unverified_host_key,
            )
            .await;
        let mut r = record.clone();
        r.updated_at = self.clock.now();
        r.new_secret_verified_at = match login {
            Login::Works => Some(r.updated_at),
            _ => None,
        };
        let mut tx = self.store.begin().await?;
        tx.update_record(&r).await?;
        self.audit_action(
            &mut tx,
            principal,
            &r,
            match login {
                Login::Works => "verify: the new secret logs in",
                Login::Refused => "verify: the new secret was refused",
                Login::Inconclusive(_) => "verify: inconclusive",
            },
            origin,
        )
        .await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Makes a verified new secret current (fresh TOTP code; audited), then removes the old
    /// one where the method keeps both.
    async fn adopt_record(
        &self,
        principal: &Principal,
        acted: ActedRecord,
        totp: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<RecordRow, ChangeSecretError> {
        let ActedRecord {
            record,
            exec,
            account,
            asset,
            staged_here,
        } = acted;
        if record.new_secret_verified_at.is_none() {
            return Err(state("verify the new secret before adopting it"));
        }
        if !staged_here || record.old_version != Some(account.current_version) {
            return Err(state(
                "the account changed since this record; adopting is refused",
            ));
        }
        self.auth
            .step_up(principal, totp, AuditAction::ChangeRecordAdopt, origin)
            .await?;
        let mut r = record.clone();
        let v = record.new_version.unwrap_or_default();
        self.engine
            .apply_outcome(&exec, &mut r, &account, v, ChangeOutcome::Committed)
            .await?;
        let mut tx = self.store.begin().await?;
        self.audit_action(&mut tx, principal, &r, "adopt", origin)
            .await?;
        tx.commit().await?;
        let trust_unverified_host_key = self.engine.trust_unverified_host_key().await;
        self.engine
            .remove_old_after_settling(&exec, &asset, &account, v, trust_unverified_host_key)
            .await;
        Ok(r)
    }

    /// Settles a staged record's account by login (pending, current, previous) before a
    /// person's action, so that no action drops a secret the target holds. Returns whether the
    /// account is settled (false: nothing could be proved, it stays staged).
    async fn settle_first(
        &self,
        exec: &tumbler_store::ExecutionRow,
        asset: &tumbler_store::AssetRow,
        account: &tumbler_store::AccountRow,
        record: &RecordRow,
    ) -> Result<bool, ChangeSecretError> {
        let Some(v) = record.new_version else {
            return Ok(true);
        };
        let trust_unverified_host_key = self.engine.trust_unverified_host_key().await;
        self.engine
            .settle_by_login(
                exec,
                asset,
                account,
                v,
                trust_unverified_host_key,
                FailureCode::Settled,
            )
            .await?;
        let fresh = self
            .store
            .account(&account.id)
            .await?
            .ok_or(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Account,
            ))?;
        Ok(fresh.pending_version != Some(v))
    }
}
