//! Talking to targets: testing an asset's reachability (pinning its SSH host key on first
//! contact) and verifying an account by logging in with its stored secret. Every outcome is
//! recorded on the asset and account and audited.
//!
//! The host key rules: a key presented on first contact is pinned `unverified`; while it is
//! unverified, no password is sent unless trust on first use is on; a different key later
//! stops the connection before any credential is sent and puts the asset in
//! `fingerprint_conflict`, keeping both fingerprints for the operator to compare.

use super::contact::{record_reach, Reach};
use super::{require_operate, InventoryError, InventoryService, VerifyOutcome};
use crate::{event, Principal, RequestOrigin};
use secrecy::SecretString;
use tumbler_connectors::database::{
    probe_tcp, verify_mysql, verify_postgres, verify_redis, DbError, DbTarget, DbTls,
};
use tumbler_connectors::ssh::{
    HostKeyFingerprint, HostKeyPolicy, SshCredentials, SshError, SshTarget,
};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::ids::{AccountId, AssetId};
use tumbler_domain::inventory::{
    AccountStatus, AuthStatus, Connectivity, HostKeyStatus, SecretType,
};
use tumbler_domain::object::ObjectKind;
use tumbler_domain::platform::{self, Protocol, VerifyMethod};
use tumbler_store::{AssetRow, HostKeyState, StoreError};

/// What one contact with a target taught us.
struct Contact {
    /// Whether the target answered (a refusal of the credential still counts).
    reach: Reach,
    /// The host key the target presented, if SSH got that far.
    presented: Option<HostKeyFingerprint>,
    /// The login's outcome: `None` when no login was tried to a conclusion.
    login: Option<Result<(), (&'static str, String)>>,
    /// Why the login was not tried to a conclusion.
    inconclusive: Option<(&'static str, String)>,
}

/// The host key policy for an asset's current state. Secrets go to a host whose key is not
/// acknowledged only when trust on first use is on for every asset
/// (`trust_unverified_host_key`, the inventory setting) or for this one.
pub(crate) fn policy_for(asset: &AssetRow, trust_unverified_host_key: bool) -> HostKeyPolicy {
    // A relocated asset never gets a secret on trust: its new identity must be accepted.
    let trust_unverified_host_key = (trust_unverified_host_key
        || asset.security.trust_on_first_use)
        && asset.host_key.status != HostKeyStatus::Relocated;
    match (&asset.host_key.fingerprint, asset.host_key.status) {
        (Some(fp), HostKeyStatus::Verified) => match fp.parse() {
            Ok(fp) => HostKeyPolicy::Pinned(fp),
            Err(_) => HostKeyPolicy::unpinned(),
        },
        (Some(fp), _) => match fp.parse() {
            Ok(expected) => HostKeyPolicy::PinnedUnverified {
                expected,
                trust_on_first_use_for_passwords: trust_unverified_host_key,
            },
            Err(_) => HostKeyPolicy::unpinned(),
        },
        (None, _) => HostKeyPolicy::Unpinned {
            trust_on_first_use_for_passwords: trust_unverified_host_key,
        },
    }
}

/// The TLS a database connection to the asset uses.
pub(crate) fn db_tls(asset: &AssetRow) -> DbTls {
    DbTls {
        mode: asset.security.tls_mode,
        ca_pem: asset.security.tls_ca_pem.clone(),
        plaintext_auth_allowed: asset.security.plaintext_auth_allowed,
    }
}

/// The asset's host key state after a contact that presented `presented`.
pub(crate) fn next_host_key(
    asset: &AssetRow,
    presented: Option<&HostKeyFingerprint>,
) -> HostKeyState {
    let current = asset.host_key.clone();
    let Some(presented) = presented else {
        return current;
    };
    if current.status == HostKeyStatus::Relocated {
        // Still awaiting acceptance: remember what the new location presents (pinned when
        // nothing was, else beside the pinned one), and stay relocated.
        return match &current.fingerprint {
            None => HostKeyState {
                fingerprint: Some(presented.to_string()),
                presented: None,
                ..current
            },
            Some(pinned) if pinned == presented.as_str() => HostKeyState {
                presented: None,
                ..current
            },
            Some(_) => HostKeyState {
                presented: Some(presented.to_string()),
                ..current
            },
        };
    }
    match &current.fingerprint {
        None => HostKeyState {
            fingerprint: Some(presented.to_string()),
            presented: None,
            status: HostKeyStatus::Unverified,
        },
        Some(pinned) if pinned == presented.as_str() => HostKeyState {
            // The asset presents its pinned key again: any earlier conflict is over.
            presented: None,
            status: match current.status {
                HostKeyStatus::FingerprintConflict => HostKeyStatus::Unverified,
                s => s,
            },
            ..current
        },
        Some(_) => HostKeyState {
            presented: Some(presented.to_string()),
            status: HostKeyStatus::FingerprintConflict,
            ..current
        },
    }
}

fn ssh_contact(result: Result<(), SshError>) -> Contact {
    let presented = match &result {
        Ok(()) => None,
        Err(e) => e.presented_host_key().cloned(),
    };
    let mut contact = Contact {
        reach: Reach::ssh(&result),
        presented,
        login: None,
        inconclusive: None,
    };
    match result {
        Ok(()) => contact.login = Some(Ok(())),
        Err(e @ (SshError::AuthFailed { .. } | SshError::InvalidPrivateKey { .. })) => {
            contact.login = Some(Err((e.code(), e.to_string())));
        }
        Err(e) => contact.inconclusive = Some((e.code(), e.to_string())),
    }
    contact
}

fn db_contact(result: Result<(), DbError>) -> Contact {
    let mut contact = Contact {
        reach: Reach::db(&result),
        presented: None,
        login: None,
        inconclusive: None,
    };
    match result {
        Ok(()) => contact.login = Some(Ok(())),
        Err(e @ DbError::AuthFailed) => contact.login = Some(Err((e.code(), e.to_string()))),
        Err(e) => contact.inconclusive = Some((e.code(), e.to_string())),
    }
    contact
}

impl InventoryService {
    /// Connects to the asset now, without credentials: an SSH handshake (pinning the host
    /// key on first contact, detecting a changed one) or a TCP connection. Records and
    /// audits the outcome.
    pub async fn test_asset(
        &self,
        principal: &Principal,
        id: &AssetId,
        origin: &RequestOrigin,
    ) -> Result<super::AssetView, InventoryError> {
        require_operate(principal)?;
        let asset = self.visible_asset(principal, id).await?;
        let platform = platform::find(&asset.platform)
            .ok_or_else(|| InventoryError::UnknownPlatform(asset.platform.clone()))?;
        let contact = match platform.protocol {
            // A device reached with a key: log in with it (a refusal puts it in key conflict).
            Protocol::Ssh
                if asset.auth_status != AuthStatus::PasswordBased
                    && asset.host_key.status != HostKeyStatus::Relocated =>
            {
                let login = crate::device_keys::connect_device(
                    &self.ssh,
                    &self.store,
                    &self.vault,
                    self.clock.as_ref(),
                    &asset,
                    &policy_for(&asset, false),
                )
                .await
                .map_err(|e| match e {
                    crate::DeviceKeyError::Vault(v) => InventoryError::Vault(v),
                    crate::DeviceKeyError::Store(s) => InventoryError::Store(s),
                    other => InventoryError::Store(StoreError::Corrupt(other.to_string())),
                })?;
                match login {
                    crate::device_keys::DeviceLogin::Session(session) => {
                        let presented = session.host_key().clone();
                        let _ = session.close().await;
                        let mut c = ssh_contact(Ok(()));
                        c.presented = Some(presented);
                        c
                    }
                    crate::device_keys::DeviceLogin::Failed(e) => ssh_contact(Err(e)),
                    crate::device_keys::DeviceLogin::Password => ssh_contact(Ok(())),
                }
            }
            Protocol::Ssh => {
                let target = SshTarget::new(asset.address.clone(), asset.port);
                match self.ssh.fetch_host_key(&target).await {
                    Ok(fp) => {
                        // A key other than the pinned one is a conflict even though nothing
                        // was sent.
                        let mut c = ssh_contact(Ok(()));
                        c.login = None;
                        c.presented = Some(fp);
                        c
                    }
                    Err(e) => ssh_contact(Err(e)),
                }
            }
            _ => db_contact(probe_tcp(&self.db_target(&asset)).await),
        };
        let key = next_host_key(&asset, contact.presented.as_ref());
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        record_reach(&mut tx, id, &contact.reach, now).await?;
        if key != asset.host_key {
            // Only over what was read: a move meanwhile stays `relocated`.
            tx.set_asset_host_key_if_unchanged(&asset, &key).await?;
        }
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::AssetTest,
                ("asset", id.as_str()),
                if contact.reach.connectivity == Connectivity::Ok {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                origin,
                format!(
                    "connectivity {}; host key {}{}",
                    contact.reach.connectivity,
                    key.status,
                    if contact.reach.error.is_empty() {
                        String::new()
                    } else {
                        format!("; {}", contact.reach.error)
                    }
                ),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.asset(principal, id).await
    }

    /// Logs in to the account's asset with its current secret and records the outcome
    /// (account status, asset connectivity, host key), audited.
    pub async fn verify_account(
        &self,
        principal: &Principal,
        id: &AccountId,
        origin: &RequestOrigin,
    ) -> Result<VerifyOutcome, InventoryError> {
        require_operate(principal)?;
        let account = self.visible_account(principal, id).await?;
        // While a change holds the account the target may already have the new secret: a
        // failed login with the current one would wrongly mark it failed.
        if account.status == AccountStatus::Changing {
            return Err(InventoryError::AccountChanging(format!(
                "{}@{}",
                account.username, account.asset_name
            )));
        }
        // A new secret staged on purpose (an unverified change waiting for a person): the
        // same holds, and a login with the current one must not mark the account `ok`.
        if account.pending_version.is_some() {
            return Err(InventoryError::AccountStaged(format!(
                "{}@{}",
                account.username, account.asset_name
            )));
        }
        let asset = self.visible_asset(principal, &account.asset_id).await?;
        super::require_location_accepted(&asset)?;
        let platform = platform::find(&asset.platform)
            .ok_or_else(|| InventoryError::UnknownPlatform(asset.platform.clone()))?;
        let secret = self.open_version(&account, account.current_version).await?;
        let secret = SecretString::from(secret.as_str());
        let contact = match platform.verify {
            VerifyMethod::SshLogin => {
                let trust_unverified_host_key =
                    self.settings().await?.trust_on_first_use_for_passwords;
                let policy = policy_for(&asset, trust_unverified_host_key);
                let credentials = match account.secret_type {
                    SecretType::Password => SshCredentials::password(&account.username, secret),
                    SecretType::SshKey => {
                        SshCredentials::private_key(&account.username, secret, None)
                    }
                };
                let target = SshTarget::new(asset.address.clone(), asset.port);
                let result = match self.ssh.connect(&target, &policy, &credentials).await {
                    Ok(session) => {
                        let presented = session.host_key().clone();
                        let _ = session.close().await;
                        let mut c = ssh_contact(Ok(()));
                        c.presented = Some(presented);
                        Ok(c)
                    }
                    Err(e) => Err(e),
                };
                match result {
                    Ok(c) => c,
                    Err(e) => ssh_contact(Err(e)),
                }
            }
            VerifyMethod::PostgresqlLogin => {
                let database = account
                    .options
                    .get("database")
                    .map(String::as_str)
                    .unwrap_or("postgres");
                db_contact(
                    verify_postgres(
                        &self.db_target(&asset),
                        &account.username,
                        &secret,
                        database,
                    )
                    .await,
                )
            }
            VerifyMethod::MysqlLogin => {
                db_contact(verify_mysql(&self.db_target(&asset), &account.username, &secret).await)
            }
            VerifyMethod::RedisAuth => {
                db_contact(verify_redis(&self.db_target(&asset), &account.username, &secret).await)
            }
        };
        self.record_verification(principal, &asset, account, contact, origin)
            .await
    }

    fn db_target(&self, asset: &AssetRow) -> DbTarget {
        DbTarget {
            timeout: self.connect_timeout,
            tls: db_tls(asset),
            ..DbTarget::new(asset.address.clone(), asset.port)
        }
    }

    async fn record_verification(
        &self,
        principal: &Principal,
        asset: &AssetRow,
        mut account: tumbler_store::AccountRow,
        contact: Contact,
        origin: &RequestOrigin,
    ) -> Result<VerifyOutcome, InventoryError> {
        let now = self.clock.now();
        let key = next_host_key(asset, contact.presented.as_ref());
        let (ok, code, message) = match (&contact.login, &contact.inconclusive) {
            (Some(Ok(())), _) => (true, None, "verified".to_owned()),
            (Some(Err((code, msg))), _) => (false, Some(*code), msg.clone()),
            (None, Some((code, msg))) => (false, Some(*code), msg.clone()),
            (None, None) => (false, Some("inconclusive"), "no login was tried".to_owned()),
        };
        let mut tx = self.store.begin().await?;
        // Re-read inside the write lock: a change may have started meanwhile.
        let fresh = tx
            .account(&account.id)
            .await?
            .ok_or(InventoryError::NotFound(ObjectKind::Account))?;
        let status = match (&contact.login, fresh.status) {
            // A change under way (or staged since) owns the status; this outcome is only
            // reported.
            (_, AccountStatus::Changing) => AccountStatus::Changing,
            _ if fresh.pending_version.is_some() => fresh.status,
            (Some(Ok(())), _) => AccountStatus::Ok,
            (Some(Err(_)), _) => AccountStatus::Failed,
            (None, s) => s,
        };
        let reason = match code {
            None => String::new(),
            Some(code) => format!("{code}: {message}"),
        };
        // Only a login tried to a conclusion counts as a verification.
        account.last_verified_at = if contact.login.is_some() {
            Some(now)
        } else {
            fresh.last_verified_at
        };
        tx.set_account_verification(&account.id, status, &reason, account.last_verified_at)
            .await?;
        record_reach(&mut tx, &asset.id, &contact.reach, now).await?;
        if key != asset.host_key {
            // Only over what was read: a move meanwhile stays `relocated`.
            tx.set_asset_host_key_if_unchanged(asset, &key).await?;
        }
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::AccountVerify,
                ("account", account.id.as_str()),
                if ok {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                origin,
                format!(
                    "{}@{} secret version {}: {}",
                    account.username,
                    asset.name,
                    account.current_version,
                    code.unwrap_or("ok")
                ),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        account.status = status;
        account.status_reason = reason;
        Ok(VerifyOutcome {
            ok,
            code,
            message,
            account,
        })
    }
}
