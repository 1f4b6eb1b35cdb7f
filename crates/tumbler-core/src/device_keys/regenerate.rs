//! Regenerating the system key without locking any device out. The new key pair is staged
//! sealed in the vault first (with the job, in one transaction); then on every key-based
//! device its public key is added, a login with it is verified, and only then the old key is
//! removed (matched by fingerprint). Each device's outcome is stored as it finishes; a
//! restart resumes the job. When the job ends the new key becomes current and the old private
//! key is destroyed. Devices that were unreachable keep only the old key: the next contact
//! puts them in `key_conflict`.

use super::jobs::STALE_MINUTES;
use super::system_key::{new_key_pair, KeyInfo, OWNER_ID};
use super::{require, DeviceKeyError, DeviceKeyService};
use crate::{event, Principal, RequestOrigin};
use secrecy::{ExposeSecret, SecretString};
use tumbler_connectors::ssh::{
    add_authorized_key, remove_authorized_keys, Become, KeyRemoval, SshCredentials, SshError,
    SshSession, TargetShell,
};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::ids::JobId;
use tumbler_domain::inventory::AuthStatus;
use tumbler_domain::job::{DeviceOutcome, JobKind, JobStatus, OutcomeStatus};
use tumbler_domain::permission::Permission;
use tumbler_domain::secret_owner::SecretOwner;
use tumbler_domain::ssh_key::KeyAlgorithm;
use tumbler_store::{AssetFilter, AssetRow, JobRow};

/// The job kind.
pub(super) const KIND: JobKind = JobKind::RegenerateKey;
/// The shell a device admin user's own `authorized_keys` is edited in.
pub(super) const SHELL: &str = "/bin/sh";

/// Dies like a power cut at `point` when the crash tests ask (test builds only).
#[cfg(feature = "crash-points")]
fn crash_point(point: &str) {
    if std::env::var("DEVICE_KEY_CRASH_POINT").as_deref() == Ok(point) {
        let pid = std::process::id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status();
        std::process::abort();
    }
}

#[cfg(not(feature = "crash-points"))]
#[inline(always)]
fn crash_point(_point: &str) {}

/// The keys of one regeneration.
struct Keys {
    old: SecretString,
    old_fingerprint: String,
    new: SecretString,
    new_line: String,
}

fn outcome(asset: &AssetRow, status: OutcomeStatus, message: impl Into<String>) -> DeviceOutcome {
    DeviceOutcome {
        asset_id: asset.id.clone(),
        asset_name: asset.name.clone(),
        domain_id: asset.domain_id.to_string(),
        status,
        code: match status {
            OutcomeStatus::Succeeded => "ok",
            s => s.into(),
        }
        .to_owned(),
        message: message.into(),
    }
}

impl DeviceKeyService {
    /// Starts a regeneration of the system key with `algorithm`; returns the job's id.
    pub async fn regenerate(
        &self,
        principal: &Principal,
        algorithm: KeyAlgorithm,
        origin: &RequestOrigin,
    ) -> Result<JobId, DeviceKeyError> {
        require(principal, Permission::SettingsManage)?;
        let mut state = self.require_key_state().await?;
        if let Some((_, job)) = &state.pending {
            return Err(DeviceKeyError::RegenerationRunning(job.to_string()));
        }
        let (pem, public_key, fingerprint) = new_key_pair(algorithm).await?;
        let devices = self.key_based_devices().await?;
        let version = state.current.version + 1;
        let job = self.new_job(
            KIND,
            &principal.user.username,
            devices.len(),
            serde_json::json!({ "algorithm": algorithm.as_str() }),
        );
        state.pending = Some((
            KeyInfo {
                version,
                algorithm,
                public_key,
                fingerprint: fingerprint.clone(),
                generated_at: self.clock.now(),
            },
            job.id.clone(),
        ));
        let stage = async {
            let mut tx = self.store.begin().await?;
            self.vault
                .seal(
                    &mut tx,
                    SecretOwner::SystemKey,
                    OWNER_ID,
                    version,
                    pem.expose_secret().as_bytes(),
                )
                .await?;
            Self::save_key_state(&mut tx, &state).await?;
            tx.insert_job(&job).await?;
            tx.append_audit(
                &event(
                    &principal.user.username,
                    AuditAction::SystemKeyRegenerate,
                    ("system_key", OWNER_ID),
                    Outcome::Success,
                    origin,
                    format!(
                        "new {} key {fingerprint} staged; job {} installs it on {} device(s)",
                        algorithm.as_str(),
                        job.id,
                        devices.len()
                    ),
                ),
                self.clock.now(),
            )
            .await?;
            tx.commit().await?;
            Ok::<_, DeviceKeyError>(())
        };
        if let Err(e) = stage.await {
            // Two requests at once: the second one's key version collides with the first's.
            if let Some((_, running)) = self.require_key_state().await?.pending {
                return Err(DeviceKeyError::RegenerationRunning(running.to_string()));
            }
            return Err(e);
        }
        let id = job.id.clone();
        let service = self.clone();
        tokio::spawn(async move { service.run_regeneration(job).await });
        Ok(id)
    }

    /// Every device reached with the system key (in conflict too: a passing refusal may have
    /// put it there while it still holds the current key), in every domain.
    async fn key_based_devices(&self) -> Result<Vec<AssetRow>, DeviceKeyError> {
        const PAGE: i64 = 1000;
        let domains: Vec<_> = self
            .store
            .domains()
            .await?
            .into_iter()
            .map(|d| d.id)
            .collect();
        let mut all = Vec::new();
        for status in [AuthStatus::KeyBased, AuthStatus::KeyConflict] {
            let mut offset = 0;
            loop {
                let (rows, _) = self
                    .store
                    .assets(&AssetFilter {
                        domains: domains.clone(),
                        auth_status: Some(status),
                        limit: PAGE,
                        offset,
                        ..AssetFilter::default()
                    })
                    .await?;
                let n = i64::try_from(rows.len()).unwrap_or(PAGE);
                all.extend(rows);
                if n < PAGE {
                    break;
                }
                offset += PAGE;
            }
        }
        Ok(all)
    }

    /// Resumes the regeneration a previous process left running.
    pub(super) async fn resume_regeneration(&self) -> Result<(), DeviceKeyError> {
        // This node's own, or one whose node has shown no progress for a long time (it died;
        // taken over by compare-and-set, so two nodes never run it). A regeneration another
        // live node runs goes on there.
        let now = self.clock.now();
        for mut job in self.store.running_jobs(KIND).await? {
            let stale = now - job.updated_at > chrono::Duration::minutes(STALE_MINUTES);
            if job.node != self.node && !stale {
                continue;
            }
            // Already running in this process.
            if self.is_running(&job.id) {
                continue;
            }
            let mut tx = self.store.begin().await?;
            let taken = tx.claim_job(&job, &self.node, now).await?;
            tx.commit().await?;
            if !taken {
                continue;
            }
            job.node = self.node.clone();
            job.updated_at = now;
            let service = self.clone();
            tokio::spawn(async move { service.run_regeneration(job).await });
        }
        Ok(())
    }

    fn is_running(&self, id: &JobId) -> bool {
        self.running
            .lock()
            .map(|set| set.contains(id))
            .unwrap_or(true)
    }

    async fn run_regeneration(&self, job: JobRow) {
        let id = job.id.clone();
        let fresh = self
            .running
            .lock()
            .map(|mut set| set.insert(id.clone()))
            .unwrap_or(false);
        if !fresh {
            return;
        }
        self.run_regeneration_attempts(job).await;
        if let Ok(mut set) = self.running.lock() {
            set.remove(&id);
        }
    }

    async fn run_regeneration_attempts(&self, mut job: JobRow) {
        // A store or vault failure is retried with a deliberate back-off (the job is
        // idempotent: finished devices are skipped); after the last attempt the periodic check
        // starts it again.
        let mut pause = std::time::Duration::from_secs(1);
        for attempt in 1..=5 {
            match self.regenerate_devices(&mut job).await {
                Ok(()) => return,
                Err(DeviceKeyError::RegenerationRunning(by)) => {
                    tracing::warn!(job = %job.id, "the key regeneration goes on elsewhere: {by}");
                    return;
                }
                Err(e) => {
                    tracing::error!(job = %job.id, attempt, error = %e, "the key regeneration stopped; trying again");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
            }
        }
        tracing::error!(job = %job.id, "the key regeneration stopped; the periodic check resumes it");
    }

    async fn regenerate_devices(&self, job: &mut JobRow) -> Result<(), DeviceKeyError> {
        let mut state = self.require_key_state().await?;
        let Some((pending, pending_job)) = state.pending.clone() else {
            job.status = JobStatus::Failed;
            job.updated_at = self.clock.now();
            let mut tx = self.store.begin().await?;
            tx.update_job(job).await?;
            tx.commit().await?;
            return Ok(());
        };
        if pending_job != job.id {
            return Ok(());
        }
        // A retry after a failed final write starts from "running" again.
        job.status = JobStatus::Running;
        let keys = Keys {
            old: self.private_key(state.current.version).await?,
            old_fingerprint: state.current.fingerprint.clone(),
            new: self.private_key(pending.version).await?,
            new_line: pending.public_key.clone(),
        };
        // Until no key-based device is left without an outcome (one may have become key-based
        // while the job ran).
        loop {
            let finished: Vec<_> = job.outcomes.iter().map(|o| o.asset_id.clone()).collect();
            let todo: Vec<AssetRow> = self
                .key_based_devices()
                .await?
                .into_iter()
                .filter(|a| !finished.contains(&a.id))
                .collect();
            if todo.is_empty() {
                break;
            }
            for asset in todo {
                let result = self.rotate_device(&asset, &keys).await;
                let back = result.status == OutcomeStatus::Succeeded
                    && asset.auth_status == AuthStatus::KeyConflict;
                // Stored first: it fails when another node took the job over.
                self.record_outcome(job, result).await?;
                if back {
                    let mut tx = self.store.begin().await?;
                    super::login::move_status(
                        &mut tx,
                        &asset.id,
                        &asset.name,
                        AuthStatus::KeyConflict,
                        AuthStatus::KeyBased,
                        self.clock.now(),
                    )
                    .await?;
                    tx.commit().await?;
                }
                crash_point("after_device");
            }
        }
        // Every reachable device has the new key: it becomes current, the old one is destroyed.
        let old = state.current.clone();
        state.retired.push(old.fingerprint.clone());
        state.current = pending;
        state.pending = None;
        self.finish_job(job);
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        // Another node took the job over: it finishes it.
        if !tx.update_job(job).await? {
            return Ok(());
        }
        Self::save_key_state(&mut tx, &state).await?;
        tx.delete_sealed_secret_version(SecretOwner::SystemKey, OWNER_ID, old.version)
            .await?;
        // A device that was reached but could not take the new key holds only the retired
        // one now: it is in conflict (resolved like one that was down).
        for failed in job
            .outcomes
            .iter()
            .filter(|o| o.status == OutcomeStatus::Failed)
        {
            super::login::move_status(
                &mut tx,
                &failed.asset_id,
                &failed.asset_name,
                AuthStatus::KeyBased,
                AuthStatus::KeyConflict,
                now,
            )
            .await?;
        }
        tx.append_audit(
            &event(
                &job.created_by,
                AuditAction::SystemKeyRegenerated,
                ("system_key", OWNER_ID),
                if job.status == JobStatus::Succeeded {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                &RequestOrigin::host(),
                format!(
                    "key {} is current; old key {} destroyed; job {} {} ({} device(s))",
                    state.current.fingerprint, old.fingerprint, job.id, job.status, job.done
                ),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn login(&self, asset: &AssetRow, key: &SecretString) -> Result<SshSession, SshError> {
        let creds = SshCredentials::private_key(asset.auth_username.clone(), key.clone(), None);
        self.connect_to(asset, &creds).await
    }

    /// Moves one device from the old key to the new one: add, verify, remove.
    async fn rotate_device(&self, asset: &AssetRow, keys: &Keys) -> DeviceOutcome {
        let user = asset.auth_username.as_str();
        // Done already (before a restart)? Then only the old key may be left to remove.
        if let Ok(session) = self.login(asset, &keys.new).await {
            let removed = remove_authorized_keys(
                &TargetShell::new(&session, &Become::None, SHELL),
                user,
                KeyRemoval::Fingerprint(&keys.old_fingerprint),
            )
            .await;
            let _ = session.close().await;
            return match removed {
                Ok(_) => outcome(
                    asset,
                    OutcomeStatus::Succeeded,
                    "the new key logs in; the old key is gone",
                ),
                Err(e) => outcome(
                    asset,
                    OutcomeStatus::Succeeded,
                    format!("the new key logs in; the old key could not be removed: {e}"),
                ),
            };
        }
        let session = match self.login(asset, &keys.old).await {
            Ok(s) => s,
            // Already in conflict and still refusing: nothing for this job to do.
            Err(SshError::AuthFailed { .. }) if asset.auth_status == AuthStatus::KeyConflict => {
                return outcome(
                    asset,
                    OutcomeStatus::Skipped,
                    "still in key conflict (it refuses the system key): resolve it",
                )
            }
            Err(SshError::AuthFailed { .. }) => {
                return outcome(
                    asset,
                    OutcomeStatus::Failed,
                    "the device refused the current system key (key conflict)",
                )
            }
            Err(e) => {
                return outcome(
                    asset,
                    OutcomeStatus::Unreachable,
                    format!(
                        "{e}; it keeps the old key and will be in key conflict when next reached"
                    ),
                )
            }
        };
        let added = add_authorized_key(
            &TargetShell::new(&session, &Become::None, SHELL),
            user,
            &keys.new_line,
        )
        .await;
        if let Err(e) = added {
            let _ = session.close().await;
            return outcome(
                asset,
                OutcomeStatus::Failed,
                format!("the new key could not be added: {e}"),
            );
        }
        crash_point("after_add");
        match self.login(asset, &keys.new).await {
            Ok(check) => {
                let _ = check.close().await;
            }
            Err(e) => {
                let _ = session.close().await;
                return outcome(
                    asset,
                    OutcomeStatus::Failed,
                    format!("the new key was added but its login failed ({e}); the old key stays"),
                );
            }
        }
        let removed = remove_authorized_keys(
            &TargetShell::new(&session, &Become::None, SHELL),
            user,
            KeyRemoval::Fingerprint(&keys.old_fingerprint),
        )
        .await;
        let _ = session.close().await;
        match removed {
            Ok(_) => outcome(
                asset,
                OutcomeStatus::Succeeded,
                "new key added and verified; old key removed",
            ),
            Err(e) => outcome(
                asset,
                OutcomeStatus::Succeeded,
                format!("new key added and verified; the old key could not be removed: {e}"),
            ),
        }
    }
}
