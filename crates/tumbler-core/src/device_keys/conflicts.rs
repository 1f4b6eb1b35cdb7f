//! Resolve Key Conflict, for one or many devices: with the system key (the device admin's
//! username and password, typed once and never stored, or taken from the stored secret of
//! the device's privileged account by someone who may reveal it, with a fresh TOTP code,
//! audited; the user created through the device's privileged account when asked) or with an
//! uploaded custom key. Each device's outcome is separate; one failure does not stop the
//! others.

use super::authentication::{check_admin_user, check_custom_key, outcome};
use super::{invalid, DeviceKeyError, DeviceKeyService};
use crate::{event, Principal, RequestOrigin};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tumbler_connectors::ssh::{
    ensure_user, set_new_user_password_chpasswd, Become, SshCredentials, TargetShell,
};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::ids::AssetId;
use tumbler_domain::ids::JobId;
use tumbler_domain::inventory::{AuthStatus, SecretType};
use tumbler_domain::job::{JobKind, OutcomeStatus};
use tumbler_domain::permission::Permission;
use tumbler_store::{AccountRow, AssetRow};

/// The job kind.
const KIND: JobKind = JobKind::ResolveKeyConflict;
/// The most devices one request resolves.
pub const MAX_DEVICES: usize = 500;

/// How conflicts are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ResolveMode {
    /// Install Tumbler's current key with each device admin's password.
    SystemKey,
    /// Log in with an uploaded private key.
    CustomKey,
}

/// One device to resolve.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConflictDevice {
    /// The device.
    pub asset_id: AssetId,
    /// Its admin user.
    pub admin_user: String,
    /// The admin user's password (system key; used once, never stored).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Password))]
    pub admin_password: Option<SecretString>,
    /// Create the admin user through the privileged account when it does not exist.
    #[serde(default)]
    pub create_user: bool,
    /// Use the stored password of the device's privileged account as the admin password
    /// instead of a typed one (system key; needs `secrets_reveal` and a fresh TOTP code).
    #[serde(default)]
    pub use_stored_password: bool,
}

/// A request to resolve key conflicts.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolveInput {
    /// The way.
    pub mode: ResolveMode,
    /// The devices.
    pub devices: Vec<ConflictDevice>,
    /// The private key (custom key).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Password))]
    pub private_key: Option<SecretString>,
    /// Its passphrase.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Password))]
    pub passphrase: Option<SecretString>,
    /// A fresh TOTP code, when a device uses the stored password.
    #[serde(default)]
    pub totp: Option<String>,
}

/// The account whose stored password stands in for a typed admin password: the privileged
/// account Tumbler logs in with, when its secret is a password.
fn stored_password_account(accounts: &[AccountRow]) -> Option<&AccountRow> {
    super::login::privileged_of(accounts).filter(|a| a.secret_type == SecretType::Password)
}

impl DeviceKeyService {
    /// Starts resolving the conflicts of the given devices; returns the job's id.
    pub async fn resolve_conflicts(
        &self,
        principal: &Principal,
        input: ResolveInput,
        origin: &RequestOrigin,
    ) -> Result<JobId, DeviceKeyError> {
        // The permission before anything the caller sent is decoded.
        super::require(
            principal,
            tumbler_domain::permission::Permission::AssetsManage,
        )?;
        if input.devices.is_empty() || input.devices.len() > MAX_DEVICES {
            return Err(invalid(
                "devices",
                format!("select 1 to {MAX_DEVICES} devices"),
            ));
        }
        let key = match input.mode {
            ResolveMode::CustomKey => {
                Some(check_custom_key(input.private_key.as_ref(), input.passphrase.as_ref()).await?)
            }
            ResolveMode::SystemKey => {
                self.require_no_regeneration().await?;
                None
            }
        };
        let mut work: Vec<(AssetRow, ConflictDevice)> = Vec::new();
        for device in input.devices {
            let asset = self.manageable_device(principal, &device.asset_id).await?;
            check_admin_user(&device.admin_user)?;
            let typed = device
                .admin_password
                .as_ref()
                .is_some_and(|p| !p.expose_secret().is_empty());
            if device.use_stored_password && (input.mode != ResolveMode::SystemKey || typed) {
                return Err(invalid(
                    "use_stored_password",
                    format!(
                        "for {} either type the admin password or use the stored one, with the system key",
                        asset.name
                    ),
                ));
            }
            // The password is proved by a login before anything is installed, also when the
            // user is to be created (it may exist already).
            if input.mode == ResolveMode::SystemKey && !typed && !device.use_stored_password {
                return Err(invalid(
                    "admin_password",
                    format!("give the admin password for {}", asset.name),
                ));
            }
            if work.iter().any(|(a, _)| a.id == asset.id) {
                return Err(invalid(
                    "devices",
                    format!("{} is listed twice", asset.name),
                ));
            }
            work.push((asset, device));
        }
        let stored = self
            .stored_passwords(principal, &mut work, input.totp.as_deref(), origin)
            .await?;
        let mode = match input.mode {
            ResolveMode::SystemKey => "system_key",
            ResolveMode::CustomKey => "custom_key",
        };
        let payload = serde_json::json!({
            "mode": mode,
            "devices": work.iter().map(|(a, d)| serde_json::json!({
                "asset_id": a.id, "admin_user": d.admin_user, "create_user": d.create_user,
                "stored_password": d.use_stored_password
            })).collect::<Vec<_>>(),
        });
        let job = self.new_job(KIND, &principal.user.username, work.len(), payload);
        let mut tx = self.store.begin().await?;
        tx.insert_job(&job).await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::KeyConflictResolve,
                ("job", job.id.as_str()),
                Outcome::Success,
                origin,
                format!("resolve {} device(s) with the {mode}", work.len()),
            ),
            self.clock.now(),
        )
        .await?;
        for (asset, account) in &stored {
            tx.append_audit(
                &event(
                    &principal.user.username,
                    AuditAction::KeyConflictResolve,
                    ("account", account.id.as_str()),
                    Outcome::Success,
                    origin,
                    format!(
                        "the stored password of {}@{} (version {}) is the admin password for job {}",
                        account.username, asset.name, account.current_version, job.id
                    ),
                ),
                self.clock.now(),
            )
            .await?;
        }
        tx.commit().await?;
        let id = job.id.clone();
        let service = self.clone();
        let passphrase = input.passphrase;
        tokio::spawn(async move {
            let mut job = job;
            for (asset, device) in work {
                let result = if asset.auth_status != AuthStatus::KeyConflict {
                    let mut o = outcome(
                        &asset,
                        true,
                        format!("not in key conflict ({})", asset.auth_status),
                    );
                    o.status = OutcomeStatus::Skipped;
                    o.code = "not_in_conflict".to_owned();
                    o
                } else {
                    match &key {
                        Some(key) => {
                            service
                                .switch_to_custom_key(
                                    &asset,
                                    &device.admin_user,
                                    key,
                                    passphrase.as_ref(),
                                )
                                .await
                        }
                        None => service.resolve_with_system_key(&asset, &device).await,
                    }
                };
                if let Err(e) = service.record_outcome(&mut job, result).await {
                    tracing::error!(job = %job.id, error = %e, "could not store a device's outcome");
                }
            }
            service.finish_job(&mut job);
            let stored = async {
                let mut tx = service.store.begin().await?;
                tx.update_job(&job).await?;
                tx.commit().await?;
                Ok::<_, DeviceKeyError>(())
            };
            if let Err(e) = stored.await {
                tracing::error!(job = %job.id, error = %e, "could not end a job");
            }
        });
        Ok(id)
    }

    /// The user whose stored password may stand in for the admin password of `asset` (its
    /// privileged account's, when that holds a password), if any: what the console offers.
    pub async fn stored_password_user(
        &self,
        principal: &Principal,
        asset: &AssetId,
    ) -> Result<Option<String>, DeviceKeyError> {
        let asset = self.manageable_device(principal, asset).await?;
        let accounts = self.asset_accounts(&asset).await?;
        Ok(stored_password_account(&accounts).map(|a| a.username.clone()))
    }

    /// Fills in, for the devices that asked, the stored password of their privileged account
    /// as the admin password: the caller must be allowed to reveal secrets and give a fresh
    /// TOTP code (asked once, only when a device asked). Returns which account each one used,
    /// for the audit.
    async fn stored_passwords(
        &self,
        principal: &Principal,
        work: &mut [(AssetRow, ConflictDevice)],
        totp: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<Vec<(AssetRow, AccountRow)>, DeviceKeyError> {
        if !work.iter().any(|(_, d)| d.use_stored_password) {
            return Ok(Vec::new());
        }
        super::require(principal, Permission::SecretsReveal)?;
        // Each device's account is found before the code is used up.
        let mut used = Vec::new();
        for (asset, _) in work.iter().filter(|(_, d)| d.use_stored_password) {
            let accounts = self.asset_accounts(asset).await?;
            let account = stored_password_account(&accounts).cloned().ok_or_else(|| {
                invalid(
                    "use_stored_password",
                    format!(
                        "{} has no privileged account with a stored password",
                        asset.name
                    ),
                )
            })?;
            used.push((asset.id.clone(), account));
        }
        self.auth
            .step_up(principal, totp, AuditAction::KeyConflictResolve, origin)
            .await
            .map_err(DeviceKeyError::StepUp)?;
        let mut audited = Vec::new();
        for (asset_id, account) in used {
            let password = self
                .open_account_secret(account.id.as_str(), account.current_version)
                .await?;
            if let Some((asset, device)) = work.iter_mut().find(|(a, _)| a.id == asset_id) {
                device.admin_password = Some(password);
                audited.push((asset.clone(), account));
            }
        }
        Ok(audited)
    }

    /// Resolves one device with the system key. The typed admin password is always proved
    /// by a login as the admin user before the key is installed: with "create the user", the
    /// user is created through the privileged account (with the typed password) only when it
    /// is missing, and an existing user's password must log in like any other.
    async fn resolve_with_system_key(
        &self,
        asset: &AssetRow,
        device: &ConflictDevice,
    ) -> super::DeviceOutcome {
        let user = device.admin_user.as_str();
        let Some(password) = device.admin_password.as_ref() else {
            return outcome(asset, false, format!("no admin password for {user}"))
                .with_code("no_admin_password");
        };
        let mut via = None;
        if device.create_user {
            let (session, become_root, login) = match self.privileged_session(asset).await {
                Ok(v) => v,
                Err(e) => return outcome(asset, false, e),
            };
            match ensure_user(
                &TargetShell::new(&session, &become_root, super::regenerate::SHELL),
                user,
            )
            .await
            {
                Ok(true) => {
                    if let Err(e) = set_new_user_password_chpasswd(
                        &TargetShell::new(&session, &become_root, super::regenerate::SHELL),
                        user,
                        password,
                    )
                    .await
                    {
                        let _ = session.close().await;
                        return outcome(
                            asset,
                            false,
                            format!("the user was created but its password could not be set: {e}"),
                        )
                        .with_code("user_not_created");
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    let _ = session.close().await;
                    return outcome(asset, false, format!("the user could not be created: {e}"))
                        .with_code("user_not_created");
                }
            }
            via = Some((session, become_root, login));
        }
        // The proof: a login as the admin user with the typed password.
        let creds = SshCredentials::password(user, password.clone());
        let proof = self.connect_to(asset, &creds).await;
        let own = match proof {
            Ok(session) => session,
            Err(e) => {
                if let Some((session, _, _)) = via {
                    let _ = session.close().await;
                }
                return outcome(
                    asset,
                    false,
                    format!("the admin login failed: {e}; nothing was installed"),
                )
                .with_code("admin_login_failed");
            }
        };
        let via = match via {
            // Installed through the privileged account; the proof session is done.
            Some(privileged) => {
                let _ = own.close().await;
                privileged
            }
            // The admin user writes its own file.
            None => (own, Become::None, user.to_owned()),
        };
        self.install_system_key(asset, user, false, Some(via)).await
    }
}
