//! "Modify authentication": switching a device between its stored password, the system key
//! and an uploaded custom key, as a job. Moving to the system key logs in with the device's
//! current credentials, creates the device admin user when asked, installs the system public
//! key for it and verifies a key login before the device switches.

use super::login::{connect_device, DeviceLogin, SealedCustomKey};
use super::regenerate::SHELL;
use super::{invalid, require, DeviceKeyError, DeviceKeyService};
use crate::inventory::policy_for;
use crate::{event, Principal, RequestOrigin};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tumbler_connectors::ssh::{
    add_authorized_key, check_private_key_blocking, ensure_user, Become, SshCredentials, SshError,
    SshSession, TargetShell,
};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::ids::AssetId;
use tumbler_domain::ids::JobId;
use tumbler_domain::inventory::{AuthStatus, SecretType};
use tumbler_domain::job::{DeviceOutcome, JobKind, OutcomeStatus};
use tumbler_domain::object::ObjectKind;
use tumbler_domain::permission::Permission;
use tumbler_domain::platform::{self, BecomeMethod, Protocol};
use tumbler_domain::secret_owner::SecretOwner;
use tumbler_store::AssetRow;

/// The job kind.
const KIND: JobKind = JobKind::ModifyAuthentication;

/// How Tumbler logs in to a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AuthMode {
    /// The stored credentials of its privileged account.
    Password,
    /// Tumbler's system key, as the device admin user.
    SystemKey,
    /// An uploaded private key, as the device admin user.
    CustomKey,
}

/// A request to switch a device's authentication.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthenticationInput {
    /// The new mode.
    pub mode: AuthMode,
    /// The device admin user (key modes).
    #[serde(default)]
    pub admin_user: String,
    /// Whether to create the admin user when the device lacks it (system key).
    #[serde(default)]
    pub create_user: bool,
    /// The private key (custom key).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Password))]
    pub private_key: Option<SecretString>,
    /// Its passphrase, if it has one.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Password))]
    pub passphrase: Option<SecretString>,
}

/// Checks a device admin user name (the Unix rules the key methods accept).
pub(super) fn check_admin_user(name: &str) -> Result<(), DeviceKeyError> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "admin_user",
            "give the device admin user: 1 to 32 letters, digits, '.', '_' or '-'",
        ))
    }
}

/// Checks an uploaded private key (and its passphrase): its key-derivation cost against
/// fixed caps first, then a decode off the async runtime. Callers check the permission
/// before.
pub(super) async fn check_custom_key(
    key: Option<&SecretString>,
    passphrase: Option<&SecretString>,
) -> Result<SecretString, DeviceKeyError> {
    let key = key.ok_or_else(|| invalid("private_key", "upload the private key"))?;
    check_private_key_blocking(key.clone(), passphrase.cloned())
        .await
        .map_err(|e| match e {
            e @ SshError::KeyDerivationTooCostly { .. } => {
                DeviceKeyError::KeyDerivationTooCostly(e.to_string())
            }
            e => invalid("private_key", e.to_string()),
        })?;
    Ok(key.clone())
}

pub(super) fn outcome(asset: &AssetRow, ok: bool, message: impl Into<String>) -> DeviceOutcome {
    DeviceOutcome {
        asset_id: asset.id.clone(),
        asset_name: asset.name.clone(),
        domain_id: asset.domain_id.to_string(),
        status: if ok {
            OutcomeStatus::Succeeded
        } else {
            OutcomeStatus::Failed
        },
        code: if ok { "ok" } else { "failed" }.to_owned(),
        message: message.into(),
    }
}

impl DeviceKeyService {
    /// The asset, if the caller may manage it, and an SSH device.
    pub(super) async fn manageable_device(
        &self,
        principal: &Principal,
        id: &AssetId,
    ) -> Result<AssetRow, DeviceKeyError> {
        require(principal, Permission::AssetsManage)?;
        let asset = self
            .store
            .asset(id)
            .await?
            .filter(|a| principal.visible_domains().contains(&a.domain_id))
            .ok_or(DeviceKeyError::NotFound(ObjectKind::Asset))?;
        match platform::find(&asset.platform) {
            Some(p) if p.protocol == Protocol::Ssh => Ok(asset),
            _ => Err(invalid(
                "asset_id",
                format!("{} is not an SSH device", asset.name),
            )),
        }
    }

    /// Starts switching a device's authentication; returns the job's id.
    pub async fn modify_authentication(
        &self,
        principal: &Principal,
        id: &AssetId,
        input: AuthenticationInput,
        origin: &RequestOrigin,
    ) -> Result<JobId, DeviceKeyError> {
        let asset = self.manageable_device(principal, id).await?;
        let custom = match input.mode {
            AuthMode::Password => None,
            AuthMode::SystemKey => {
                check_admin_user(&input.admin_user)?;
                self.require_no_regeneration().await?;
                None
            }
            AuthMode::CustomKey => {
                check_admin_user(&input.admin_user)?;
                Some(check_custom_key(input.private_key.as_ref(), input.passphrase.as_ref()).await?)
            }
        };
        let mode = match input.mode {
            AuthMode::Password => "password",
            AuthMode::SystemKey => "system_key",
            AuthMode::CustomKey => "custom_key",
        };
        let job = self.new_job(
            KIND,
            &principal.user.username,
            1,
            serde_json::json!({"asset_id": asset.id, "mode": mode, "admin_user": input.admin_user,
                               "create_user": input.create_user}),
        );
        let mut tx = self.store.begin().await?;
        tx.insert_job(&job).await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::AssetAuthenticationModify,
                ("asset", asset.id.as_str()),
                Outcome::Success,
                origin,
                format!("{}: switch to {mode} started (job {})", asset.name, job.id),
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        let id = job.id.clone();
        let service = self.clone();
        let passphrase = input.passphrase;
        let (admin_user, create_user) = (input.admin_user, input.create_user);
        tokio::spawn(async move {
            let mut job = job;
            let result = match input.mode {
                AuthMode::Password => service.switch_to_password(&asset).await,
                AuthMode::SystemKey => {
                    service
                        .install_system_key(&asset, &admin_user, create_user, None)
                        .await
                }
                AuthMode::CustomKey => match custom {
                    Some(key) => {
                        service
                            .switch_to_custom_key(&asset, &admin_user, &key, passphrase.as_ref())
                            .await
                    }
                    None => outcome(&asset, false, "no key"),
                },
            };
            let stored = async {
                service.record_outcome(&mut job, result).await?;
                service.finish_job(&mut job);
                let mut tx = service.store.begin().await?;
                tx.update_job(&job).await?;
                tx.commit().await?;
                Ok::<_, DeviceKeyError>(())
            };
            if let Err(e) = stored.await {
                tracing::error!(job = %job.id, error = %e, "could not store a job's outcome");
            }
        });
        Ok(id)
    }

    async fn switch_to_password(&self, asset: &AssetRow) -> DeviceOutcome {
        // The stored credentials must work before Tumbler relies on them again.
        match self.privileged_session(asset).await {
            Ok((session, _, _)) => {
                let _ = session.close().await;
            }
            Err(e) => return outcome(asset, false, format!("{e}; nothing switched")),
        }
        let write = async {
            let mut tx = self.store.begin().await?;
            tx.set_asset_auth(&asset.id, AuthStatus::PasswordBased, "")
                .await?;
            tx.delete_sealed_secrets(SecretOwner::AssetLoginKey, asset.id.as_str())
                .await?;
            tx.commit().await?;
            Ok::<_, DeviceKeyError>(())
        };
        match write.await {
            Ok(()) => outcome(asset, true, "Tumbler logs in with the stored credentials"),
            Err(e) => outcome(asset, false, e.to_string()),
        }
    }

    /// A session with the device's current credentials (its key mode, or the stored
    /// privileged account) and how that session becomes root.
    pub(super) async fn current_session(
        &self,
        asset: &AssetRow,
    ) -> Result<(SshSession, Become, String), String> {
        // Nothing (a key login followed by typed become secrets) goes to a moved asset.
        crate::inventory::require_location_accepted(asset).map_err(|e| e.to_string())?;
        let policy = policy_for(asset, false);
        match connect_device(
            &self.ssh,
            &self.store,
            &self.vault,
            self.clock.as_ref(),
            asset,
            &policy,
        )
        .await
        .map_err(|e| e.to_string())?
        {
            DeviceLogin::Session(s) => {
                return Ok((
                    s,
                    Become::Sudo(SecretString::from(String::new())),
                    asset.auth_username.clone(),
                ))
            }
            // In conflict: the stored privileged account may still get in.
            DeviceLogin::Failed(_) if asset.auth_status == AuthStatus::KeyConflict => {}
            DeviceLogin::Failed(e) => return Err(format!("the device's key login failed: {e}")),
            DeviceLogin::Password => {}
        }
        self.privileged_session(asset).await
    }

    /// A session as the asset's stored privileged account (its `become` option honoured).
    pub(super) async fn privileged_session(
        &self,
        asset: &AssetRow,
    ) -> Result<(SshSession, Become, String), String> {
        crate::inventory::require_location_accepted(asset).map_err(|e| e.to_string())?;
        let accounts = self
            .asset_accounts(asset)
            .await
            .map_err(|e| e.to_string())?;
        let Some(account) = super::login::privileged_of(&accounts) else {
            return Err("the device has no privileged account to log in with".to_owned());
        };
        let open = |id: String, version: i64| async move {
            self.open_account_secret(&id, version)
                .await
                .map_err(|e| e.to_string())
        };
        let secret = open(account.id.to_string(), account.current_version).await?;
        let creds = match account.secret_type {
            SecretType::Password => SshCredentials::password(&account.username, secret.clone()),
            SecretType::SshKey => {
                SshCredentials::private_key(&account.username, secret.clone(), None)
            }
        };
        let become_method =
            BecomeMethod::from_option(account.options.get("become").map(String::as_str))
                .map_err(|e| e.to_string())?;
        let become_root = match become_method {
            BecomeMethod::None => Become::None,
            BecomeMethod::Su => {
                let root = accounts
                    .iter()
                    .find(|a| a.username == "root" && a.secret_type == SecretType::Password)
                    .ok_or("become is su but the device has no root account with a password")?;
                Become::Su(open(root.id.to_string(), root.current_version).await?)
            }
            BecomeMethod::Sudo => Become::Sudo(match account.secret_type {
                SecretType::Password => secret,
                SecretType::SshKey => SecretString::from(String::new()),
            }),
        };
        let session = self
            .connect_to(asset, &creds)
            .await
            .map_err(|e| format!("the privileged login failed: {e}"))?;
        Ok((session, become_root, account.username.clone()))
    }

    /// Installs the current system public key for `admin_user` through `via` (a session and
    /// how it becomes root; the device's current credentials when `None`), creating the user
    /// when asked, verifies a key login and switches the device to `key_based`.
    pub(super) async fn install_system_key(
        &self,
        asset: &AssetRow,
        admin_user: &str,
        create_user: bool,
        via: Option<(SshSession, Become, String)>,
    ) -> DeviceOutcome {
        let state = match self.require_key_state().await {
            Ok(s) => s,
            Err(e) => return outcome(asset, false, e.to_string()),
        };
        let (session, become_root, login_user) = match via {
            Some(v) => v,
            None => match self.install_session(asset, admin_user).await {
                Ok(v) => v,
                Err(e) => return outcome(asset, false, e),
            },
        };
        // The admin user's own file needs no root.
        let become_root = if login_user == admin_user {
            Become::None
        } else {
            become_root
        };
        let mut notes = Vec::new();
        if create_user {
            match ensure_user(&TargetShell::new(&session, &become_root, SHELL), admin_user).await {
                Ok(true) => notes.push(format!("user {admin_user} created")),
                Ok(false) => {}
                Err(e) => {
                    let _ = session.close().await;
                    return outcome(asset, false, format!("the user could not be created: {e}"))
                        .with_code("user_not_created");
                }
            }
        }
        // During a regeneration the key about to become current goes in as well, so the
        // device keeps working when the old key is retired.
        let mut lines = vec![state.current.public_key.clone()];
        if let Some((pending, _)) = &state.pending {
            lines.push(pending.public_key.clone());
        }
        for line in &lines {
            let added = add_authorized_key(
                &TargetShell::new(&session, &become_root, SHELL),
                admin_user,
                line,
            )
            .await;
            if let Err(e) = added {
                let _ = session.close().await;
                return outcome(
                    asset,
                    false,
                    format!("the system key could not be installed: {e}"),
                );
            }
        }
        for old in &state.retired {
            let _ = tumbler_connectors::ssh::remove_authorized_keys(
                &TargetShell::new(&session, &become_root, SHELL),
                admin_user,
                tumbler_connectors::ssh::KeyRemoval::Fingerprint(old),
            )
            .await;
        }
        let _ = session.close().await;
        let key = match self.private_key(state.current.version).await {
            Ok(k) => k,
            Err(e) => return outcome(asset, false, e.to_string()),
        };
        let creds = SshCredentials::private_key(admin_user, key, None);
        match self.connect_to(asset, &creds).await {
            Ok(s) => {
                let _ = s.close().await;
            }
            Err(e) => {
                return outcome(
                    asset,
                    false,
                    format!("the key was installed but its login failed: {e}; nothing switched"),
                )
                .with_code("key_login_failed")
            }
        }
        match self.set_mode(asset, AuthStatus::KeyBased, admin_user).await {
            Ok(()) => {
                notes.push(format!(
                    "system key installed for {admin_user} and verified"
                ));
                // The user the device had before keeps its other keys, not Tumbler's.
                if let Some(old) = super::install::previous_admin_user(asset, admin_user) {
                    notes.push(self.remove_old_copy(asset, &old, &state).await);
                }
                outcome(asset, true, notes.join("; "))
            }
            Err(e) => outcome(asset, false, e.to_string()),
        }
    }

    /// Verifies a login with an uploaded key, seals it and switches the device to it.
    pub(super) async fn switch_to_custom_key(
        &self,
        asset: &AssetRow,
        admin_user: &str,
        key: &SecretString,
        passphrase: Option<&SecretString>,
    ) -> DeviceOutcome {
        let creds = SshCredentials::private_key(admin_user, key.clone(), passphrase.cloned());
        match self.connect_to(asset, &creds).await {
            Ok(s) => {
                let _ = s.close().await;
            }
            Err(e) => return outcome(asset, false, format!("a login with the key failed: {e}")),
        }
        let sealed = SealedCustomKey {
            pem: key.expose_secret().to_owned(),
            passphrase: passphrase.map(|p| p.expose_secret().to_owned()),
        };
        let write = async {
            let bytes = zeroize::Zeroizing::new(serde_json::to_vec(&sealed).map_err(|_| {
                DeviceKeyError::Store(tumbler_store::StoreError::Corrupt("custom key".to_owned()))
            })?);
            let version = self
                .store
                .latest_sealed_version(SecretOwner::AssetLoginKey, asset.id.as_str())
                .await?
                .unwrap_or(0)
                + 1;
            let mut tx = self.store.begin().await?;
            tx.delete_sealed_secrets(SecretOwner::AssetLoginKey, asset.id.as_str())
                .await?;
            self.vault
                .seal(
                    &mut tx,
                    SecretOwner::AssetLoginKey,
                    asset.id.as_str(),
                    version,
                    &bytes,
                )
                .await?;
            tx.set_asset_auth(&asset.id, AuthStatus::KeyBasedCustom, admin_user)
                .await?;
            tx.commit().await?;
            Ok::<_, DeviceKeyError>(())
        };
        match write.await {
            Ok(()) => outcome(asset, true, format!("custom key verified for {admin_user}")),
            Err(e) => outcome(asset, false, e.to_string()),
        }
    }

    pub(super) async fn set_mode(
        &self,
        asset: &AssetRow,
        status: AuthStatus,
        user: &str,
    ) -> Result<(), DeviceKeyError> {
        let mut tx = self.store.begin().await?;
        tx.set_asset_auth(&asset.id, status, user).await?;
        if status != AuthStatus::KeyBasedCustom {
            tx.delete_sealed_secrets(SecretOwner::AssetLoginKey, asset.id.as_str())
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
