//! Accounts: create with a sealed secret, edit (a new secret is a new version), delete,
//! list, verify against the target, and reveal (permission + fresh TOTP code, audited).

use super::account_secret::{check_secret, decode_key_off_runtime};
use super::{page_limit, require, InventoryError, InventoryService};
use crate::{event, Principal, RequestOrigin};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::change_secret::secure_mode_skip;
use tumbler_domain::ids::{AccountId, AssetId};
use tumbler_domain::inventory::{
    validate_options, validate_username, AccountStatus, InvalidValue, SecretType,
};
use tumbler_domain::object::ObjectKind;
use tumbler_domain::permission::Permission;
use tumbler_domain::platform;
use tumbler_domain::secret_owner::SecretOwner;
use tumbler_store::{AccountFilter, AccountRow, Tx};
use zeroize::Zeroizing;

/// A new account.
#[derive(Debug)]
pub struct AccountInput {
    /// The asset it lives on.
    pub asset_id: AssetId,
    /// Login name.
    pub username: String,
    /// Password or SSH private key.
    pub secret_type: SecretType,
    /// The secret.
    pub secret: SecretString,
    /// The account used to change others on its asset.
    pub privileged: bool,
    /// Platform options (become, shell, database...).
    pub options: BTreeMap<String, String>,
    /// A TOTP code, checked when given (creating a privileged account needs
    /// `protected_accounts_manage`; the login account is chosen among them).
    pub totp: Option<String>,
}

/// Changes to an account; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct AccountPatch {
    /// New login name.
    pub username: Option<String>,
    /// A new secret (stored as a new version; the old one becomes the previous version),
    /// with its type (the account's type when absent).
    pub secret: Option<SecretString>,
    /// New secret type (only together with a new secret).
    pub secret_type: Option<SecretType>,
    /// New privileged flag.
    pub privileged: Option<bool>,
    /// New options (replacing all of them).
    pub options: Option<BTreeMap<String, String>>,
    /// A fresh TOTP code: needed (with `protected_accounts_manage`) when the change takes
    /// the account out of secure mode's protection.
    pub totp: Option<String>,
}

/// Whether secure mode protects an account: privileged, or named root or administrator.
fn protected(username: &str, privileged: bool) -> bool {
    privileged || secure_mode_skip(username, false, false).is_some()
}

/// Options that decide what runs as root on a protected account's sessions.
const ROOT_OPTIONS: &[&str] = &["become", "shell"];

/// What in a change of an account needs `protected_accounts_manage` and a fresh code, as
/// audit text (`None` when nothing does): leaving secure mode's protection; becoming
/// privileged (the login account, into whose session su types root's password, is chosen
/// among privileged accounts); renaming a privileged account (its name would be free for
/// another); changing how a protected account becomes root (`become`, `shell`).
fn guarded_change(before: &AccountRow, after: &AccountRow) -> Option<String> {
    let mut what = Vec::new();
    if before.privileged != after.privileged {
        what.push(format!(
            "privileged {} -> {}",
            before.privileged, after.privileged
        ));
    }
    let was = protected(&before.username, before.privileged);
    if before.username != after.username
        && (before.privileged || was != protected(&after.username, after.privileged))
    {
        what.push(format!(
            "username {} -> {}",
            before.username, after.username
        ));
    }
    if was {
        for name in ROOT_OPTIONS {
            let (old, new) = (before.options.get(*name), after.options.get(*name));
            if old != new {
                what.push(format!(
                    "{name} {} -> {}",
                    old.map_or("-", String::as_str),
                    new.map_or("-", String::as_str)
                ));
            }
        }
    }
    (!what.is_empty()).then(|| what.join(", "))
}

/// The options that differ, as audit text (`options (become sudo -> su)`); option values
/// are settings (become, shell, database), never secrets.
fn option_changes(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> String {
    let names: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let what: Vec<String> = names
        .into_iter()
        .filter_map(|name| {
            let (old, new) = (before.get(name), after.get(name));
            (old != new).then(|| {
                let shown = |v: Option<&String>| v.map_or("-", String::as_str).to_owned();
                format!("{name} {} -> {}", shown(old), shown(new))
            })
        })
        .collect();
    format!(
        "options ({})",
        if what.is_empty() {
            "unchanged".to_owned()
        } else {
            what.join("; ")
        }
    )
}

/// Which accounts to list.
#[derive(Debug, Clone, Default)]
pub struct AccountQuery {
    /// Only this asset's.
    pub asset_id: Option<AssetId>,
    /// Only this exact username.
    pub username: Option<String>,
    /// Only this status.
    pub status: Option<AccountStatus>,
    /// Only privileged (or unprivileged) accounts.
    pub privileged: Option<bool>,
    /// Username or asset name contains this.
    pub search: Option<String>,
    /// Page size (default 50, at most [`super::MAX_PAGE`]).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// The outcome of a verification.
#[derive(Debug, Clone)]
pub struct VerifyOutcome {
    /// Whether the login with the stored secret succeeded.
    pub ok: bool,
    /// Why not: a stable code (`auth_failed`, `host_key_unverified`, `host_key_mismatch`,
    /// `unreachable`, `timeout`...).
    pub code: Option<&'static str>,
    /// Human text (never a secret).
    pub message: String,
    /// The account as recorded after the attempt.
    pub account: AccountRow,
}

impl InventoryService {
    /// Creates an account with its secret sealed as version 1 (audited; the event names the
    /// version, never the secret). Nothing is stored if any field is refused.
    pub async fn create_account(
        &self,
        principal: &Principal,
        input: &AccountInput,
        origin: &RequestOrigin,
    ) -> Result<AccountRow, InventoryError> {
        require(principal, Permission::AssetsManage)?;
        let asset = self.visible_asset(principal, &input.asset_id).await?;
        let account = self.prepare_account(&asset, input)?;
        // The login account, into whose session su types root's secret, is chosen among the
        // privileged accounts: marking one is the administrators'. A code given is checked
        // (it is required when an existing account is made privileged).
        if account.privileged {
            require(principal, Permission::ProtectedAccountsManage)?;
            if input.totp.is_some() {
                self.auth
                    .step_up(
                        principal,
                        input.totp.as_deref(),
                        AuditAction::AccountProtect,
                        origin,
                    )
                    .await?;
            }
        }
        decode_key_off_runtime(input.secret_type, &input.secret).await?;
        let mut tx = self.store.begin().await?;
        self.insert_account(&mut tx, &account, &input.secret, principal, origin)
            .await?;
        if account.privileged {
            tx.append_audit(
                &event(
                    &principal.user.username,
                    AuditAction::AccountProtect,
                    ("account", account.id.as_str()),
                    Outcome::Success,
                    origin,
                    format!(
                        "{}@{}: privileged false -> true (created)",
                        account.username, account.asset_name
                    ),
                ),
                account.created_at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(account)
    }

    /// Validates an account to create on `asset`; nothing is stored.
    pub(crate) fn prepare_account(
        &self,
        asset: &tumbler_store::AssetRow,
        input: &AccountInput,
    ) -> Result<AccountRow, InventoryError> {
        let platform = platform::find(&asset.platform)
            .ok_or_else(|| InventoryError::UnknownPlatform(asset.platform.clone()))?;
        validate_username(platform, &input.username)?;
        let options = validate_options(platform, &input.options)?;
        check_secret(platform, input.secret_type, &input.secret)?;
        let now = self.clock.now();
        let account = AccountRow {
            id: AccountId::generate(),
            asset_id: asset.id.clone(),
            asset_name: asset.name.clone(),
            domain_id: asset.domain_id.clone(),
            username: input.username.clone(),
            secret_type: input.secret_type,
            privileged: input.privileged,
            options,
            current_version: 1,
            previous_version: None,
            pending_version: None,
            next_version: 2,
            status: AccountStatus::Unknown,
            status_reason: String::new(),
            last_verified_at: None,
            last_changed_at: None,
            created_at: now,
            updated_at: now,
        };
        Ok(account)
    }

    /// Stores a prepared account with its secret sealed as version 1 inside `tx`, audited
    /// (the event names the version, never the secret).
    pub(crate) async fn insert_account(
        &self,
        tx: &mut Tx,
        account: &AccountRow,
        secret: &SecretString,
        principal: &Principal,
        origin: &RequestOrigin,
    ) -> Result<(), InventoryError> {
        tx.insert_account(account)
            .await
            .map_err(super::error::duplicate(ObjectKind::Account))?;
        self.seal_version(tx, &account.id, 1, secret).await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::AccountCreate,
                ("account", account.id.as_str()),
                Outcome::Success,
                origin,
                format!(
                    "{}@{} {} secret version 1",
                    account.username, account.asset_name, account.secret_type
                ),
            ),
            account.created_at,
        )
        .await?;
        Ok(())
    }

    async fn seal_version(
        &self,
        tx: &mut Tx,
        id: &AccountId,
        version: i64,
        secret: &SecretString,
    ) -> Result<(), InventoryError> {
        self.vault
            .seal(
                tx,
                SecretOwner::Account,
                id.as_str(),
                version,
                secret.expose_secret().as_bytes(),
            )
            .await?;
        Ok(())
    }

    /// One account the caller may see (never its secret).
    pub async fn account(
        &self,
        principal: &Principal,
        id: &AccountId,
    ) -> Result<AccountRow, InventoryError> {
        self.visible_account(principal, id).await
    }

    /// Accounts the caller may see matching `query`, and how many match in all.
    pub async fn accounts(
        &self,
        principal: &Principal,
        query: &AccountQuery,
    ) -> Result<(Vec<AccountRow>, i64), InventoryError> {
        require(principal, Permission::AssetsRead)?;
        let filter = AccountFilter {
            domains: principal.visible_domains(),
            asset_id: query.asset_id.clone(),
            username: query.username.clone().filter(|u| !u.is_empty()),
            status: query.status,
            privileged: query.privileged,
            search: query.search.clone().filter(|s| !s.trim().is_empty()),
            limit: page_limit(query.limit),
            offset: query.offset.unwrap_or(0).max(0),
        };
        Ok(self.store.accounts(&filter).await?)
    }

    /// Changes an account (audited). A new secret becomes a new version and the old one the
    /// previous version; refused while a change is under way.
    pub async fn update_account(
        &self,
        principal: &Principal,
        id: &AccountId,
        patch: &AccountPatch,
        origin: &RequestOrigin,
    ) -> Result<AccountRow, InventoryError> {
        require(principal, Permission::AssetsManage)?;
        let mut account = self.visible_account(principal, id).await?;
        let before = account.clone();
        let asset = self.visible_asset(principal, &account.asset_id).await?;
        let platform = platform::find(&asset.platform)
            .ok_or_else(|| InventoryError::UnknownPlatform(asset.platform.clone()))?;
        let mut changed = Vec::new();
        if let Some(username) = &patch.username {
            validate_username(platform, username)?;
            account.username = username.clone();
            changed.push(format!("username {} -> {}", before.username, username));
        }
        if let Some(p) = patch.privileged {
            account.privileged = p;
            changed.push(format!("privileged {} -> {p}", before.privileged));
        }
        if let Some(options) = &patch.options {
            account.options = validate_options(platform, options)?;
            changed.push(option_changes(&before.options, &account.options));
        }
        // Leaving secure mode's protection lets a change task set a secret the caller
        // chooses on the target's most powerful account; entering it, renaming a privileged
        // account or changing how it becomes root decides into whose session root's secret
        // is typed and what runs as root: administrators only, with a fresh code, checked
        // before anything is written.
        let unprotecting = protected(&before.username, before.privileged)
            && !protected(&account.username, account.privileged);
        let guarded = guarded_change(&before, &account);
        let guard_action = if unprotecting {
            AuditAction::AccountUnprotect
        } else {
            AuditAction::AccountProtect
        };
        if guarded.is_some() {
            require(principal, Permission::ProtectedAccountsManage)?;
            self.auth
                .step_up(principal, patch.totp.as_deref(), guard_action, origin)
                .await?;
        }
        if patch.secret_type.is_some() && patch.secret.is_none() {
            return Err(InvalidValue {
                field: "secret_type",
                reason: "a new secret type needs a new secret".to_owned(),
            }
            .into());
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        // Re-read inside the transaction: a change run may have staged or committed a version
        // since the read above, and its version columns must not be written back stale.
        let fresh = tx
            .account(id)
            .await?
            .ok_or(InventoryError::NotFound(ObjectKind::Account))?;
        account.current_version = fresh.current_version;
        account.previous_version = fresh.previous_version;
        account.pending_version = fresh.pending_version;
        account.next_version = fresh.next_version;
        account.status = fresh.status;
        account.status_reason = fresh.status_reason.clone();
        account.last_verified_at = fresh.last_verified_at;
        account.last_changed_at = fresh.last_changed_at;
        if let Some(secret) = &patch.secret {
            let secret_type = patch.secret_type.unwrap_or(account.secret_type);
            check_secret(platform, secret_type, secret)?;
            decode_key_off_runtime(secret_type, secret).await?;
            if fresh.pending_version.is_some() {
                return Err(InvalidValue {
                    field: "secret",
                    reason: "a change of this account is under way; try again when it ends"
                        .to_owned(),
                }
                .into());
            }
            let version = fresh.next_version;
            self.seal_version(&mut tx, id, version, secret).await?;
            account.previous_version = Some(fresh.current_version);
            account.current_version = version;
            account.next_version = version + 1;
            account.secret_type = secret_type;
            account.status = AccountStatus::Unknown;
            account.status_reason = String::new();
            changed.push(format!("secret version {version}"));
        }
        account.updated_at = now;
        tx.update_account(&account)
            .await
            .map_err(super::error::duplicate(ObjectKind::Account))?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::AccountUpdate,
                ("account", id.as_str()),
                Outcome::Success,
                origin,
                format!("changed: {}", changed.join(", ")),
            ),
            now,
        )
        .await?;
        if let Some(what) = &guarded {
            tx.append_audit(
                &event(
                    &principal.user.username,
                    guard_action,
                    ("account", id.as_str()),
                    Outcome::Success,
                    origin,
                    format!(
                        "{}@{}: username {} -> {}, privileged {} -> {}; {what}",
                        before.username,
                        before.asset_name,
                        before.username,
                        account.username,
                        before.privileged,
                        account.privileged
                    ),
                ),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(account)
    }

    /// How many versions of the account's secret were stored (the newest version's number;
    /// more than one means the secret was changed or rotated, and deleting the account loses
    /// them all).
    pub async fn secret_versions(
        &self,
        principal: &Principal,
        id: &AccountId,
    ) -> Result<i64, InventoryError> {
        let account = self.visible_account(principal, id).await?;
        Ok(self
            .store
            .latest_sealed_version(SecretOwner::Account, account.id.as_str())
            .await?
            .unwrap_or(0))
    }

    /// Deletes an account and its sealed secrets (audited). A protected account (privileged,
    /// root, administrator) needs `protected_accounts_manage` and a fresh TOTP code: deleted
    /// and created again unprivileged, it would be out of secure mode's protection. An account
    /// with more than one secret version (its secret was rotated or replaced: the stored one
    /// may be the only copy) needs a fresh TOTP code too (`totp_required` without one).
    pub async fn delete_account(
        &self,
        principal: &Principal,
        id: &AccountId,
        totp: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<(), InventoryError> {
        require(principal, Permission::AssetsManage)?;
        let account = self.visible_account(principal, id).await?;
        if protected(&account.username, account.privileged) {
            require(principal, Permission::ProtectedAccountsManage)?;
            self.auth
                .step_up(principal, totp, AuditAction::AccountUnprotect, origin)
                .await?;
        } else if self
            .store
            .latest_sealed_version(SecretOwner::Account, account.id.as_str())
            .await?
            .unwrap_or(0)
            > 1
        {
            self.auth
                .step_up(principal, totp, AuditAction::AccountDelete, origin)
                .await?;
        }
        let mut tx = self.store.begin().await?;
        if !tx.delete_account(id).await? {
            return Err(InventoryError::NotFound(ObjectKind::Account));
        }
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::AccountDelete,
                ("account", id.as_str()),
                Outcome::Success,
                origin,
                format!("{}@{}", account.username, account.asset_name),
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The current secret of an account: needs the reveal permission and a fresh TOTP code;
    /// audited (naming the version) before it is returned.
    pub async fn reveal(
        &self,
        principal: &Principal,
        id: &AccountId,
        totp: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<Zeroizing<String>, InventoryError> {
        require(principal, Permission::SecretsReveal)?;
        let account = self.visible_account(principal, id).await?;
        self.auth
            .step_up_to_read(principal, totp, AuditAction::AccountReveal, origin)
            .await?;
        let secret = self.open_version(&account, account.current_version).await?;
        let mut tx = self.store.begin().await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::AccountReveal,
                ("account", id.as_str()),
                Outcome::Success,
                origin,
                format!(
                    "{}@{} secret version {}",
                    account.username, account.asset_name, account.current_version
                ),
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// Opens one version of an account's secret.
    pub(crate) async fn open_version(
        &self,
        account: &AccountRow,
        version: i64,
    ) -> Result<Zeroizing<String>, InventoryError> {
        let bytes = self
            .vault
            .open_secret(SecretOwner::Account, account.id.as_str(), version)
            .await?;
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            InventoryError::Store(tumbler_store::StoreError::Corrupt(
                "a sealed secret is not UTF-8".to_owned(),
            ))
        })?;
        Ok(Zeroizing::new(text.to_owned()))
    }
}
