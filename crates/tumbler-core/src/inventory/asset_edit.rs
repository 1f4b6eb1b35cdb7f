//! Editing and deleting assets (audited; nothing is stored if any field is refused).

use super::assets::{find_platform, parse_fingerprint, parse_paths};
use super::{require, AssetPatch, AssetView, InventoryError, InventoryService};
use crate::{event, Principal, RequestOrigin};
use tumbler_domain::audit::AuditAction;
use tumbler_domain::audit::Outcome;
use tumbler_domain::ids::AssetId;
use tumbler_domain::inventory::{
    validate_address, validate_asset_name, validate_port, HostKeyStatus, InvalidValue,
};
use tumbler_domain::object::ObjectKind;
use tumbler_domain::permission::Permission;
use tumbler_store::HostKeyState;

impl InventoryService {
    /// Changes an asset (audited). Nothing is stored if any field is refused.
    pub async fn update_asset(
        &self,
        principal: &Principal,
        id: &AssetId,
        patch: &AssetPatch,
        origin: &RequestOrigin,
    ) -> Result<AssetView, InventoryError> {
        require(principal, Permission::AssetsManage)?;
        let mut asset = self.visible_asset(principal, id).await?;
        let before = asset.clone();
        let platform = find_platform(&asset.platform)?;
        let mut changed = Vec::new();
        if let Some(name) = &patch.name {
            validate_asset_name(name.trim())?;
            asset.name = name.trim().to_owned();
            changed.push("name");
        }
        if let Some(address) = &patch.address {
            validate_address(address.trim())?;
            asset.address = address.trim().to_owned();
            changed.push("address");
        }
        if let Some(port) = patch.port {
            asset.port = validate_port(port)?;
            changed.push("port");
        }
        if let Some(comment) = &patch.comment {
            asset.comment = comment.trim().to_owned();
            changed.push("comment");
        }
        let mut new_fingerprint = None;
        if let Some(fp) = &patch.host_key_fingerprint {
            new_fingerprint = Some(parse_fingerprint(platform, fp.trim())?.to_string());
            changed.push("host_key_fingerprint");
        }
        // Where the asset is decides where its secrets go: a new address, port or pinned key
        // (even one "from a trusted source") drops the asset to `relocated`, which sends
        // nothing until someone who may reveal its secrets accepts the new identity.
        let relocated = asset.address != before.address
            || asset.port != before.port
            || new_fingerprint
                .as_ref()
                .is_some_and(|fp| before.host_key.fingerprint.as_ref() != Some(fp));
        if relocated {
            asset.host_key = HostKeyState {
                fingerprint: new_fingerprint,
                presented: None,
                status: HostKeyStatus::Relocated,
            };
        } else if new_fingerprint.is_some() && asset.host_key.status != HostKeyStatus::Relocated {
            // The pinned key confirmed from a trusted source: as acknowledging it.
            asset.host_key.presented = None;
            asset.host_key.status = HostKeyStatus::Verified;
        }
        let security = super::security::resolve(
            principal,
            platform,
            &asset.address,
            Some(&asset.security),
            &patch.security,
        )?;
        let security_change = (security != asset.security)
            .then(|| super::security::describe_change(&asset.security, &security));
        if security_change.is_some() {
            asset.security = security;
            changed.push("connection_security");
        }
        let reconcile_account = match patch.reconcile_account_id.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(None),
            Some(id) => {
                let id = tumbler_domain::ids::AccountId::from_string(id.to_owned());
                match self.store.account(&id).await? {
                    Some(a) if a.asset_id == asset.id => Some(Some(a)),
                    _ => {
                        return Err(InvalidValue {
                            field: "reconcile_account_id",
                            reason: "not an account of this asset".to_owned(),
                        }
                        .into())
                    }
                }
            }
        };
        if let Some(choice) = &reconcile_account {
            // Its session receives the new passwords reconcile sets (and su types root's
            // password there): the administrators', with a fresh code, like `privileged`.
            require(principal, Permission::ProtectedAccountsManage)?;
            self.auth
                .step_up(
                    principal,
                    patch.totp.as_deref(),
                    AuditAction::AssetReconcileAccount,
                    origin,
                )
                .await?;
            asset.reconcile_account_id = choice.as_ref().map(|a| a.id.clone());
            changed.push("reconcile_account");
        }
        let paths = patch.nodes.as_deref().map(parse_paths).transpose()?;
        if let Some(domain) = &patch.domain {
            asset.domain_id = self.target_domain(principal, Some(domain)).await?;
            changed.push("domain");
        }
        asset.updated_at = self.clock.now();
        let actor = &principal.user.username;
        let mut tx = self.store.begin().await?;
        tx.update_asset(&asset)
            .await
            .map_err(super::error::duplicate(ObjectKind::Asset))?;
        if let Some(detail) = &security_change {
            tx.set_asset_security(&asset.id, &asset.security).await?;
            tx.append_audit(
                &event(
                    actor,
                    AuditAction::AssetConnectionSecurity,
                    ("asset", asset.id.as_str()),
                    Outcome::Success,
                    origin,
                    format!("{}: {detail}", asset.name),
                ),
                asset.updated_at,
            )
            .await?;
        }
        if let Some(choice) = &reconcile_account {
            tx.set_asset_reconcile_account(&asset.id, asset.reconcile_account_id.as_ref())
                .await?;
            tx.append_audit(
                &event(
                    actor,
                    AuditAction::AssetReconcileAccount,
                    ("asset", asset.id.as_str()),
                    Outcome::Success,
                    origin,
                    format!(
                        "{}: reconcile account {} -> {}",
                        asset.name,
                        before
                            .reconcile_account_id
                            .as_ref()
                            .map(|a| a.as_str())
                            .unwrap_or("the privileged account"),
                        choice
                            .as_ref()
                            .map(|a| a.username.as_str())
                            .unwrap_or("the privileged account"),
                    ),
                ),
                asset.updated_at,
            )
            .await?;
        }
        if let Some(paths) = &paths {
            let node_ids = self.resolve_nodes(&mut tx, paths, actor, origin).await?;
            tx.set_asset_nodes(&asset.id, &node_ids).await?;
            changed.push("nodes");
        }
        tx.append_audit(
            &event(
                actor,
                AuditAction::AssetUpdate,
                ("asset", asset.id.as_str()),
                Outcome::Success,
                origin,
                format!("changed: {}", changed.join(", ")),
            ),
            asset.updated_at,
        )
        .await?;
        if relocated {
            tx.append_audit(
                &event(
                    actor,
                    AuditAction::AssetRelocate,
                    ("asset", asset.id.as_str()),
                    Outcome::Success,
                    origin,
                    format!(
                        "{}: {}:{} -> {}:{}; host key {} ({}) -> {} (relocated)",
                        asset.name,
                        before.address,
                        before.port,
                        asset.address,
                        asset.port,
                        before.host_key.fingerprint.as_deref().unwrap_or("none"),
                        before.host_key.status,
                        asset.host_key.fingerprint.as_deref().unwrap_or("none"),
                    ),
                ),
                asset.updated_at,
            )
            .await?;
        }
        tx.commit().await?;
        self.view(asset).await
    }

    /// Deletes an asset with its accounts and their sealed secrets (audited).
    pub async fn delete_asset(
        &self,
        principal: &Principal,
        id: &AssetId,
        origin: &RequestOrigin,
    ) -> Result<(), InventoryError> {
        require(principal, Permission::AssetsManage)?;
        let asset = self.visible_asset(principal, id).await?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_asset(id).await? {
            return Err(InventoryError::NotFound(ObjectKind::Asset));
        }
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::AssetDelete,
                ("asset", id.as_str()),
                Outcome::Success,
                origin,
                asset.name,
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
