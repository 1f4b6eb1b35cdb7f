//! The per-account write-ahead sequence, in named steps: stage the new secret, push it
//! with retries, verify it by a fresh login, store the outcome, clean up on the target.

use super::crash::CrashPoint;
use super::outcome::ChangeOutcome;
use super::target::{close, ChangeSession, Changer, Failure, Login};
use super::ChangeEngine;
use crate::change_secret::ChangeSecretError;
use crate::event;
use crate::RequestOrigin;
use secrecy::SecretString;
use tumbler_domain::audit::AuditAction;
use tumbler_domain::audit::Outcome;
use tumbler_domain::change_secret::{RecordStatus, Trigger};
use tumbler_domain::failure_code::FailureCode;
use tumbler_store::{AccountRow, ExecutionRow, RecordRow};

/// One account's change under way: what every step of the write-ahead sequence
/// ([`ChangeEngine::change_account`]) works with.
pub(in crate::change_secret) struct AccountChange<'a> {
    /// The run.
    exec: &'a ExecutionRow,
    /// How secrets change on the asset.
    changer: &'a Changer,
    /// The account as the run planned it.
    account: &'a AccountRow,
    /// The new secret.
    new: &'a SecretString,
    /// `user@asset`, for the run's log.
    who: String,
}

/// What the clean-up on the target needs to know of a change (the last step of
/// [`ChangeEngine::change_account`]).
#[derive(Debug, Clone, Copy)]
pub(in crate::change_secret) struct Leftover {
    /// The new secret was committed.
    committed: bool,
    /// The old secret stays (the new one did not prove itself).
    not_changed: bool,
    /// The target may hold the new secret.
    reached_target: bool,
    /// The outcome was stored.
    stored: bool,
}

impl ChangeEngine {
    /// Stages the new secret (durable, sealed) and takes the account for this change; `None`
    /// when another change holds it.
    pub(in crate::change_secret) async fn stage(
        &self,
        exec: &ExecutionRow,
        record: &mut RecordRow,
        account: &AccountRow,
        new: &SecretString,
    ) -> Result<Option<(AccountRow, i64)>, ChangeSecretError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let fresh = tx
            .account(&account.id)
            .await?
            .ok_or(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Account,
            ))?;
        if fresh.pending_version.is_some() {
            return Ok(None);
        }
        let version = match (record.new_version, record.old_version) {
            // A retry re-stages the same new secret while the account is as it was.
            (Some(v), Some(old)) if old == fresh.current_version => v,
            _ => fresh.next_version,
        };
        // Take the account first (a compare-and-set that waits for, then loses to, a
        // concurrent stage), then seal: two runs that read the account at once must not both
        // write the same sealed version.
        if !tx
            .stage_account_change(&account.id, fresh.current_version, version, now)
            .await?
        {
            return Ok(None);
        }
        let plaintext = secrecy::ExposeSecret::expose_secret(new).as_bytes();
        if record.new_version != Some(version) {
            self.vault
                .seal(
                    &mut tx,
                    tumbler_domain::secret_owner::SecretOwner::Account,
                    account.id.as_str(),
                    version,
                    plaintext,
                )
                .await?;
        }
        // Escrowed (fsynced, outside the store) before the stage commits, so no secret can
        // reach a target that a restored backup and the journal together do not hold; a
        // journal that cannot be written stops the change here, with nothing sent.
        self.crash_point(CrashPoint::BeforeEscrow).await;
        self.escrow
            .staged(account.id.as_str(), version, now, plaintext)
            .await?;
        self.crash_point(CrashPoint::AfterEscrow).await;
        record.old_version = Some(fresh.current_version);
        record.new_version = Some(version);
        record.attempts += 1;
        record.status = RecordStatus::Pending;
        record.updated_at = now;
        tx.update_record(record).await?;
        tx.append_audit(
            &event(
                "engine",
                AuditAction::AccountChangeStage,
                ("account", account.id.as_str()),
                Outcome::Success,
                &RequestOrigin {
                    source: self.settings.node_name.clone(),
                },
                format!(
                    "{}@{} secret version {version} staged (execution {})",
                    account.username, record.asset_name, exec.id
                ),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some((fresh, version)))
    }

    /// The whole write-ahead sequence for one account: stage, push (with retries), verify,
    /// store the outcome, clean up on the target. Returns the failure when it concerns every
    /// account of the host (sudo or su refused the password it asked for), so the caller tries
    /// no other account there.
    pub(in crate::change_secret) async fn change_account(
        &self,
        exec: &ExecutionRow,
        changer: &Changer,
        mut shared: Option<&mut ChangeSession>,
        mut record: RecordRow,
        account: &AccountRow,
        new: &SecretString,
    ) -> Option<Failure> {
        let c = AccountChange {
            exec,
            changer,
            account,
            new,
            who: format!("{}@{}", account.username, changer.asset.name),
        };
        let (fresh, version) = self.stage_step(&c, &mut record).await?;
        if !self.stage_still_ours(&c, version).await {
            return None;
        }
        let changed = self
            .push_with_retries(&c, shared.as_deref_mut(), &fresh)
            .await;
        // Whether the target may hold the new secret now.
        let reached_target = !matches!(&changed, Err(f) if !f.ambiguous);
        let outcome = self.verify_step(&c, &fresh, changed).await;
        let host_wide = match &outcome {
            ChangeOutcome::NotChanged(f) if f.code == FailureCode::BecomeRefused => Some(f.clone()),
            _ => None,
        };
        let left = Leftover {
            committed: matches!(outcome, ChangeOutcome::Committed),
            not_changed: matches!(outcome, ChangeOutcome::NotChanged(_)),
            reached_target,
            stored: false,
        };
        let stored = self
            .store_outcome(exec, &mut record, &fresh, version, outcome)
            .await;
        let left = Leftover { stored, ..left };
        self.clean_up_on_target(&c, shared, &fresh, left).await;
        host_wide
    }

    /// Step 1, stage: the new secret staged and the account taken, with its version; `None`
    /// (the record stored, a line logged) when another change holds the account or staging
    /// failed. Reaches the `after_stage` crash point.
    pub(in crate::change_secret) async fn stage_step(
        &self,
        c: &AccountChange<'_>,
        record: &mut RecordRow,
    ) -> Option<(AccountRow, i64)> {
        let AccountChange {
            exec,
            account,
            new,
            ref who,
            ..
        } = *c;
        let (fresh, version) = match self.stage(exec, record, account, new).await {
            Ok(Some(staged)) => staged,
            Ok(None) => {
                // Not a failure: the other change (a manual run beside a scheduled one, say)
                // changes the account once; this run has nothing to do for it.
                let f = Failure::new(
                    FailureCode::ChangeInProgress,
                    "another change of this account is under way; it is changed once, by that one",
                );
                record.status = RecordStatus::Ignored;
                record.reason_code = Some(f.code);
                record.reason = f.message.clone();
                record.updated_at = self.clock.now();
                let _ = self.save_record(record).await;
                self.log_line(&exec.id, &format!("{who}: skipped, {}", f.reason()))
                    .await;
                return None;
            }
            Err(e) => {
                let f = match &e {
                    ChangeSecretError::Escrow(e) => Failure::new(
                        escrow_failure_code(e),
                        format!("{e}; the new secret was not sent"),
                    ),
                    e => Failure::new(FailureCode::Internal, e.to_string()),
                };
                self.fail_unstaged(exec, record.clone(), account, &f).await;
                return None;
            }
        };
        self.log_line(
            &exec.id,
            &format!("{who}: new secret staged as version {version}"),
        )
        .await;
        self.crash_point(CrashPoint::Staged).await;
        Some((fresh, version))
    }

    /// The stage is ours until recovery takes it: looks again right before sending (logs when
    /// it was taken over).
    pub(in crate::change_secret) async fn stage_still_ours(
        &self,
        c: &AccountChange<'_>,
        version: i64,
    ) -> bool {
        let who = &c.who;
        match self.store.account(&c.account.id).await {
            Ok(Some(now)) if now.pending_version == Some(version) => true,
            _ => {
                self.log_line(
                    &c.exec.id,
                    &format!("{who}: the stage was taken over (recovery); not sent"),
                )
                .await;
                false
            }
        }
    }

    /// Step 2, push: changes the secret on the target, retrying (with back-off) while it
    /// cannot be reached; in the shared session, else in one of the account's own.
    pub(in crate::change_secret) async fn push_with_retries(
        &self,
        c: &AccountChange<'_>,
        mut shared: Option<&mut ChangeSession>,
        fresh: &AccountRow,
    ) -> Result<(), Failure> {
        let AccountChange {
            exec,
            changer,
            account,
            new,
            ref who,
        } = *c;
        let mut attempt = 1;
        loop {
            let result = match shared {
                Some(ref mut session) => {
                    self.change_on_target(changer, session, &account.username, new)
                        .await
                }
                None => self.push_in_own_session(c, fresh).await,
            };
            match result {
                Err(f) if f.transient && !f.ambiguous && attempt < self.settings.max_attempts => {
                    let pause = self.settings.retry_backoff * 2u32.saturating_pow(attempt - 1);
                    self.log_line(
                        &exec.id,
                        &format!("{who}: {} (attempt {attempt}); retrying", f.reason()),
                    )
                    .await;
                    // A deliberate back-off between attempts at an unreachable target.
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// One push in a session of the account's own (logged in with its current secret).
    pub(in crate::change_secret) async fn push_in_own_session(
        &self,
        c: &AccountChange<'_>,
        fresh: &AccountRow,
    ) -> Result<(), Failure> {
        let changer = c.changer;
        let current = self
            .open_account_secret(fresh.id.as_str(), fresh.current_version)
            .await
            .map_err(|e| Failure::new(FailureCode::Internal, e.to_string()))?;
        let mut own = self
            .open_change_session(changer, Some((fresh, &current)))
            .await?;
        let r = self
            .change_on_target(changer, &mut own, &c.account.username, c.new)
            .await;
        close(own).await;
        r
    }

    /// Step 3, verify: where the account's secret stands after the push (`changed`): a fresh
    /// login with the new secret, or a probe of both after an ambiguous error. Reaches the
    /// `after_change`, `after_retry_change` and `after_verify` crash points.
    pub(in crate::change_secret) async fn verify_step(
        &self,
        c: &AccountChange<'_>,
        fresh: &AccountRow,
        changed: Result<(), Failure>,
    ) -> ChangeOutcome {
        let AccountChange {
            exec,
            changer,
            new,
            ref who,
            ..
        } = *c;
        match changed {
            Err(f) if f.ambiguous => {
                self.log_line(
                    &exec.id,
                    &format!("{who}: {}; checking which secret works", f.reason()),
                )
                .await;
                self.probe(changer, fresh, new, f).await
            }
            Err(f) => ChangeOutcome::NotChanged(f),
            Ok(()) => {
                self.crash_point(CrashPoint::Changed).await;
                if exec.trigger == Trigger::Retry {
                    self.crash_point(CrashPoint::RetryChanged).await;
                }
                self.log_line(&exec.id, &format!("{who}: changed on the target"))
                    .await;
                match self
                    .login_with(
                        &changer.asset,
                        changer.platform,
                        fresh,
                        new,
                        changer.trust_unverified_host_key,
                    )
                    .await
                {
                    Login::Works => {
                        self.crash_point(CrashPoint::Verified).await;
                        ChangeOutcome::Committed
                    }
                    Login::Inconclusive(f) => ChangeOutcome::Unverified(f),
                    Login::Refused => {
                        let f = Failure::new(
                            FailureCode::VerifyFailed,
                            "the target accepted the change but refused a login with the new secret",
                        );
                        match self.current_works(changer, fresh).await {
                            Some(true) => ChangeOutcome::NotChanged(f),
                            _ => ChangeOutcome::Unknown(f),
                        }
                    }
                }
            }
        }
    }

    /// Step 4, store the outcome: whether it was stored (a failure is logged).
    pub(in crate::change_secret) async fn store_outcome(
        &self,
        exec: &ExecutionRow,
        record: &mut RecordRow,
        fresh: &AccountRow,
        version: i64,
        outcome: ChangeOutcome,
    ) -> bool {
        match self
            .apply_outcome(exec, record, fresh, version, outcome)
            .await
        {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(record = %record.id, error = %e, "could not store a change's outcome");
                false
            }
        }
    }

    /// Step 5, clean up on the target, once the outcome is stored: a shared session given up
    /// on (a lost reply) is replaced before anything more is sent; where the method adds the
    /// new secret beside the old one (Redis, SSH keys), the one that lost goes: the old one
    /// after the new one is committed, the new one when the old one stays.
    pub(in crate::change_secret) async fn clean_up_on_target(
        &self,
        c: &AccountChange<'_>,
        mut shared: Option<&mut ChangeSession>,
        fresh: &AccountRow,
        left: Leftover,
    ) {
        let AccountChange {
            exec,
            changer,
            account,
            new,
            ref who,
        } = *c;
        if let Some(session) = shared.as_mut().filter(|s| s.is_broken()) {
            if let Ok(fresh_session) = self.open_change_session(changer, None).await {
                close(std::mem::replace(*session, fresh_session)).await;
            }
        }
        let Some(session) = shared.filter(|_| changer.keeps_old_secret() && left.reached_target)
        else {
            return;
        };
        if left.committed && left.stored {
            self.remove_old_secret(exec, changer, session, fresh, new, who)
                .await
        } else if left.not_changed {
            let line = match self
                .finish_on_target(changer, session, &account.username, new, None)
                .await
            {
                Ok(_) => format!("{who}: the new secret, which did not prove itself, was removed"),
                Err(f) => format!(
                    "{who}: the new secret could not be removed ({}); it may still work there",
                    f.reason()
                ),
            };
            self.log_line(&exec.id, &line).await;
        }
    }
}

/// The failure code a record carries when the escrow journal refused the new secret.
fn escrow_failure_code(e: &tumbler_escrow::EscrowError) -> FailureCode {
    use tumbler_escrow::EscrowError;
    match e {
        EscrowError::Write { .. } => FailureCode::EscrowUnwritable,
        EscrowError::Read { .. } => FailureCode::EscrowUnreadable,
        EscrowError::Open => FailureCode::EscrowEntryInvalid,
        EscrowError::Seal => FailureCode::EscrowSealFailed,
    }
}
