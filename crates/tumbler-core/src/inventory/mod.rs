//! The inventory: the node tree, assets with their pinned SSH host keys, connection security
//! and connectivity, accounts with their sealed secret versions, verification against the
//! real targets, revealing a secret (permission, fresh TOTP code, audited), and CSV import and
//! export.
//!
//! Every list and lookup is filtered by the caller's visible domains
//! ([`Principal::visible_domains`]); an object outside them is "not found", never "forbidden",
//! so its existence does not leak.

mod account_secret;
mod account_transfer;
mod accounts;
mod asset_edit;
mod asset_transfer;
mod assets;
mod connect;
mod contact;
mod error;
mod host_keys;
mod nodes;
mod security;
mod settings;
mod transfer;

pub use accounts::{AccountInput, AccountPatch, AccountQuery, VerifyOutcome};
pub use assets::{AssetInput, AssetPatch, AssetQuery, AssetView};
pub(crate) use connect::{db_tls, policy_for};
pub(crate) use contact::{note_db_contact, note_ssh_contact};
pub use error::InventoryError;
pub use host_keys::key_to_acknowledge;
pub use nodes::NodeView;
pub(crate) use nodes::{visible_node_paths, Tree};
pub use security::{SecurityInput, MAX_CA_CERTIFICATES, MAX_CA_PEM_BYTES};
pub use settings::InventorySettings;
pub use transfer::{ImportProblem, ImportReport, ACCOUNT_COLUMNS, ASSET_COLUMNS};

use crate::{AuthService, Principal, Vault};
use std::sync::Arc;
use std::time::Duration;
use tumbler_connectors::ssh::SshConnector;
use tumbler_domain::ids::{AccountId, AssetId, DomainId};
use tumbler_domain::object::ObjectKind;
use tumbler_domain::permission::Permission;
use tumbler_domain::Clock;
use tumbler_store::{AccountRow, AssetRow, Store};

pub use tumbler_domain::paging::MAX_PAGE;

/// Nodes, assets and accounts.
#[derive(Clone)]
pub struct InventoryService {
    store: Store,
    vault: Vault,
    auth: AuthService,
    clock: Arc<dyn Clock>,
    ssh: SshConnector,
    connect_timeout: Duration,
}

impl InventoryService {
    /// A service over `store`, sealing secrets in `vault` and asking `auth` for step-up codes.
    /// `connect_timeout` bounds every connection to a target.
    pub fn new(
        store: Store,
        vault: Vault,
        auth: AuthService,
        clock: Arc<dyn Clock>,
        connect_timeout: Duration,
    ) -> Self {
        Self {
            store,
            vault,
            auth,
            clock,
            ssh: SshConnector::new().with_connect_timeout(connect_timeout),
            connect_timeout,
        }
    }

    /// The asset, if the caller may see it.
    async fn visible_asset(
        &self,
        principal: &Principal,
        id: &AssetId,
    ) -> Result<AssetRow, InventoryError> {
        require(principal, Permission::AssetsRead)?;
        let asset = self
            .store
            .asset(id)
            .await?
            .ok_or(InventoryError::NotFound(ObjectKind::Asset))?;
        if principal.visible_domains().contains(&asset.domain_id) {
            Ok(asset)
        } else {
            Err(InventoryError::NotFound(ObjectKind::Asset))
        }
    }

    /// The account, if the caller may see it.
    async fn visible_account(
        &self,
        principal: &Principal,
        id: &AccountId,
    ) -> Result<AccountRow, InventoryError> {
        require(principal, Permission::AssetsRead)?;
        let account = self
            .store
            .account(id)
            .await?
            .ok_or(InventoryError::NotFound(ObjectKind::Account))?;
        if principal.visible_domains().contains(&account.domain_id) {
            Ok(account)
        } else {
            Err(InventoryError::NotFound(ObjectKind::Account))
        }
    }

    /// The domain a new object goes to: the one named (which the caller must belong to), else
    /// the caller's active domain.
    async fn target_domain(
        &self,
        principal: &Principal,
        name: Option<&str>,
    ) -> Result<DomainId, InventoryError> {
        match name.map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) => {
                let mine = self.store.user_domains(&principal.user.id).await?;
                mine.into_iter()
                    .find(|d| d.name == name)
                    .map(|d| d.id)
                    .ok_or_else(|| InventoryError::DomainNotAssigned(name.to_owned()))
            }
            None => principal
                .active_domain
                .clone()
                .or_else(|| principal.domains.first().cloned())
                .ok_or_else(|| InventoryError::DomainNotAssigned("(none)".to_owned())),
        }
    }
}

/// Fails with [`InventoryError::Forbidden`] unless the caller holds `permission` (or with
/// the reason the account cannot act at all: password change or MFA pending).
fn require(principal: &Principal, permission: Permission) -> Result<(), InventoryError> {
    principal.require(permission)
}

impl crate::auth::Refusal for InventoryError {
    fn forbidden() -> Self {
        Self::Forbidden
    }
}

/// Fails unless the caller may act on targets (verify, test): managing assets or running
/// changes.
fn require_operate(principal: &Principal) -> Result<(), InventoryError> {
    principal.require_active()?;
    if principal.can(Permission::AssetsManage) || principal.can(Permission::ChangesRun) {
        Ok(())
    } else {
        Err(InventoryError::Forbidden)
    }
}

/// Fails with [`InventoryError::Relocated`] while the asset's new location awaits
/// acceptance: no stored secret may go to it.
pub(crate) fn require_location_accepted(asset: &AssetRow) -> Result<(), InventoryError> {
    if asset.host_key.status == tumbler_domain::inventory::HostKeyStatus::Relocated {
        Err(InventoryError::Relocated(asset.name.clone()))
    } else {
        Ok(())
    }
}

/// A page size within bounds.
fn page_limit(limit: Option<i64>) -> i64 {
    tumbler_domain::paging::page_limit(limit)
}
