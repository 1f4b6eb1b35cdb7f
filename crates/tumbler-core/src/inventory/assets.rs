//! Assets: create, edit, delete, list with filters and paging, and acknowledging the SSH
//! host key an asset presents.

use super::nodes::Tree;
use super::{page_limit, require, InventoryError, InventoryService};
use crate::{event, Principal, RequestOrigin};
use std::collections::HashMap;
use tumbler_connectors::ssh::HostKeyFingerprint;
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::ids::{AssetId, NodeId};
use tumbler_domain::inventory::{
    validate_address, validate_asset_name, validate_port, AuthStatus, Connectivity, HostKeyStatus,
    InvalidValue, NodePath,
};
use tumbler_domain::object::ObjectKind;
use tumbler_domain::permission::Permission;
use tumbler_domain::platform::{self, Platform, Protocol};
use tumbler_store::{AssetFilter, AssetRow, HostKeyState, Tx};

/// The node every asset created without nodes goes to.
pub const DEFAULT_NODE: &str = "/Default";

/// A new asset.
#[derive(Debug, Clone, Default)]
pub struct AssetInput {
    /// Name, unique in its domain.
    pub name: String,
    /// Host name or IP address.
    pub address: String,
    /// Port; the platform's default when absent.
    pub port: Option<i64>,
    /// Platform id.
    pub platform: String,
    /// Node paths; `/Default` when empty. Missing nodes are created.
    pub nodes: Vec<String>,
    /// Domain name; the caller's active domain when absent.
    pub domain: Option<String>,
    /// Free text.
    pub comment: String,
    /// The host key fingerprint, if known from a trusted source: the asset starts
    /// `verified` with it pinned.
    pub host_key_fingerprint: Option<String>,
    /// Trust on first use, database TLS (defaults when empty).
    pub security: super::SecurityInput,
}

/// Changes to an asset; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AssetPatch {
    /// New name.
    pub name: Option<String>,
    /// New address.
    pub address: Option<String>,
    /// New port.
    pub port: Option<i64>,
    /// New node paths.
    pub nodes: Option<Vec<String>>,
    /// New domain (one of the caller's).
    pub domain: Option<String>,
    /// New comment.
    pub comment: Option<String>,
    /// A fingerprint from a trusted source: pinned and `verified`.
    pub host_key_fingerprint: Option<String>,
    /// Changes to trust on first use and database TLS.
    pub security: super::SecurityInput,
    /// The account (of this asset) that reconciles its other accounts; `""` clears it (the
    /// privileged account then). Needs `protected_accounts_manage` and a fresh TOTP code
    /// (`totp`): its session receives the new passwords, and su types root's password there.
    pub reconcile_account_id: Option<String>,
    /// A fresh TOTP code, for the changes that need one (the reconcile account).
    pub totp: Option<String>,
}

/// Which assets to list.
#[derive(Debug, Clone, Default)]
pub struct AssetQuery {
    /// Only assets in this node or below it (a path).
    pub node: Option<String>,
    /// Only this platform.
    pub platform: Option<String>,
    /// Only this connectivity.
    pub connectivity: Option<Connectivity>,
    /// Only this host key state.
    pub host_key_status: Option<HostKeyStatus>,
    /// Only this authentication state.
    pub auth_status: Option<AuthStatus>,
    /// Name or address contains this.
    pub search: Option<String>,
    /// Page size (default 50, at most [`super::MAX_PAGE`]).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// An asset with the paths of its nodes.
#[derive(Debug, Clone)]
pub struct AssetView {
    /// The asset.
    pub asset: AssetRow,
    /// Its nodes' paths.
    pub nodes: Vec<NodePath>,
    /// Its domain's name.
    pub domain: String,
}

fn find_platform(id: &str) -> Result<&'static Platform, InventoryError> {
    platform::find(id).ok_or_else(|| InventoryError::UnknownPlatform(id.to_owned()))
}

fn parse_fingerprint(
    platform: &Platform,
    text: &str,
) -> Result<HostKeyFingerprint, InventoryError> {
    if platform.protocol != Protocol::Ssh {
        return Err(InvalidValue {
            field: "host_key_fingerprint",
            reason: format!("platform {} does not use SSH", platform.id),
        }
        .into());
    }
    text.parse().map_err(|_| {
        InvalidValue {
            field: "host_key_fingerprint",
            reason: "expected SHA256:<base64> as ssh-keygen -l prints it".to_owned(),
        }
        .into()
    })
}

fn parse_paths(paths: &[String]) -> Result<Vec<NodePath>, InventoryError> {
    let mut out: Vec<NodePath> = if paths.is_empty() {
        vec![NodePath::parse(DEFAULT_NODE)?]
    } else {
        paths
            .iter()
            .map(|p| NodePath::parse(p))
            .collect::<Result<_, _>>()?
    };
    out.sort();
    out.dedup();
    Ok(out)
}

impl InventoryService {
    async fn resolve_nodes(
        &self,
        tx: &mut Tx,
        paths: &[NodePath],
        actor: &str,
        origin: &RequestOrigin,
    ) -> Result<Vec<NodeId>, InventoryError> {
        let mut ids = Vec::new();
        for p in paths {
            ids.push(self.ensure_node(tx, p, actor, origin).await?);
        }
        Ok(ids)
    }

    async fn view(&self, asset: AssetRow) -> Result<AssetView, InventoryError> {
        let mut views = self.views(vec![asset]).await?;
        views
            .pop()
            .ok_or(InventoryError::NotFound(ObjectKind::Asset))
    }

    async fn views(&self, assets: Vec<AssetRow>) -> Result<Vec<AssetView>, InventoryError> {
        let ids: Vec<AssetId> = assets.iter().map(|a| a.id.clone()).collect();
        let mut node_ids = self.store.asset_node_ids(&ids).await?;
        let tree = Tree::new(self.store.nodes().await?);
        let domains: HashMap<_, _> = self
            .store
            .domains()
            .await?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect();
        Ok(assets
            .into_iter()
            .map(|asset| {
                let mut nodes: Vec<NodePath> = node_ids
                    .remove(&asset.id)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|n| tree.path(n))
                    .collect();
                nodes.sort();
                AssetView {
                    domain: domains.get(&asset.domain_id).cloned().unwrap_or_default(),
                    asset,
                    nodes,
                }
            })
            .collect())
    }

    /// Creates an asset (audited). Nothing is stored if any field is refused.
    pub async fn create_asset(
        &self,
        principal: &Principal,
        input: &AssetInput,
        origin: &RequestOrigin,
    ) -> Result<AssetView, InventoryError> {
        require(principal, Permission::AssetsManage)?;
        let (asset, paths) = self.prepare_asset(principal, input).await?;
        let mut tx = self.store.begin().await?;
        self.insert_asset(&mut tx, &asset, &paths, principal, origin)
            .await?;
        tx.commit().await?;
        self.view(asset).await
    }

    /// Validates an asset to create; nothing is stored.
    pub(crate) async fn prepare_asset(
        &self,
        principal: &Principal,
        input: &AssetInput,
    ) -> Result<(AssetRow, Vec<NodePath>), InventoryError> {
        let platform = find_platform(input.platform.trim())?;
        let name = input.name.trim().to_owned();
        validate_asset_name(&name)?;
        let address = input.address.trim().to_owned();
        validate_address(&address)?;
        let port = match input.port {
            Some(p) => validate_port(p)?,
            None => platform.default_port,
        };
        let comment = input.comment.trim().to_owned();
        let paths = parse_paths(&input.nodes)?;
        let host_key = match input.host_key_fingerprint.as_deref().map(str::trim) {
            Some(fp) if !fp.is_empty() => HostKeyState {
                fingerprint: Some(parse_fingerprint(platform, fp)?.to_string()),
                presented: None,
                status: HostKeyStatus::Verified,
            },
            _ => HostKeyState {
                fingerprint: None,
                presented: None,
                status: HostKeyStatus::Unverified,
            },
        };
        let security =
            super::security::resolve(principal, platform, &address, None, &input.security)?;
        let domain_id = self
            .target_domain(principal, input.domain.as_deref())
            .await?;
        let now = self.clock.now();
        let asset = AssetRow {
            id: AssetId::generate(),
            name,
            address,
            port,
            platform: platform.id.to_owned(),
            domain_id,
            comment,
            connectivity: Connectivity::Unknown,
            connectivity_error: String::new(),
            connectivity_at: None,
            host_key,
            auth_status: AuthStatus::PasswordBased,
            auth_username: String::new(),
            security,
            reconcile_account_id: None,
            created_at: now,
            updated_at: now,
        };
        Ok((asset, paths))
    }

    /// Stores a prepared asset and its nodes inside `tx`, audited.
    pub(crate) async fn insert_asset(
        &self,
        tx: &mut Tx,
        asset: &AssetRow,
        paths: &[NodePath],
        principal: &Principal,
        origin: &RequestOrigin,
    ) -> Result<(), InventoryError> {
        let actor = &principal.user.username;
        tx.insert_asset(asset)
            .await
            .map_err(super::error::duplicate(ObjectKind::Asset))?;
        tx.set_asset_security(&asset.id, &asset.security).await?;
        let node_ids = self.resolve_nodes(tx, paths, actor, origin).await?;
        tx.set_asset_nodes(&asset.id, &node_ids).await?;
        tx.append_audit(
            &event(
                actor,
                AuditAction::AssetCreate,
                ("asset", asset.id.as_str()),
                Outcome::Success,
                origin,
                format!(
                    "{} {}:{} ({})",
                    asset.name, asset.address, asset.port, asset.platform
                ),
            ),
            asset.created_at,
        )
        .await?;
        Ok(())
    }

    /// One asset the caller may see.
    pub async fn asset(
        &self,
        principal: &Principal,
        id: &AssetId,
    ) -> Result<AssetView, InventoryError> {
        let asset = self.visible_asset(principal, id).await?;
        self.view(asset).await
    }

    /// Assets the caller may see matching `query`, and how many match in all.
    pub async fn assets(
        &self,
        principal: &Principal,
        query: &AssetQuery,
    ) -> Result<(Vec<AssetView>, i64), InventoryError> {
        require(principal, Permission::AssetsRead)?;
        let nodes = match query
            .node
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            None => None,
            Some(path) => {
                let path = NodePath::parse(path)?;
                let tree = Tree::new(self.store.nodes().await?);
                Some(
                    tree.find(&path)
                        .map(|n| tree.subtree(&n.id))
                        .unwrap_or_default(),
                )
            }
        };
        let filter = AssetFilter {
            domains: principal.visible_domains(),
            nodes,
            ids: None,
            platform: query.platform.clone().filter(|p| !p.is_empty()),
            connectivity: query.connectivity,
            host_key_status: query.host_key_status,
            auth_status: query.auth_status,
            search: query.search.clone().filter(|s| !s.trim().is_empty()),
            limit: page_limit(query.limit),
            offset: query.offset.unwrap_or(0).max(0),
        };
        let (rows, total) = self.store.assets(&filter).await?;
        Ok((self.views(rows).await?, total))
    }

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

    /// Accepts the host key each asset presented: the pinned key of an `unverified` asset,
    /// or the new key of one in `fingerprint_conflict`. When `expected` is given, it must be
    /// the presented fingerprint (so that what the operator compared is what gets pinned).
    /// All or nothing: one asset that cannot be acknowledged stops the whole request.
    /// Each acknowledgement is audited with the old and new fingerprints.
    pub async fn acknowledge_host_keys(
        &self,
        principal: &Principal,
        ids: &[AssetId],
        expected: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<Vec<AssetView>, InventoryError> {
        self.acknowledge_host_keys_with(principal, ids, expected, None, origin)
            .await
    }

    /// Whether any account is stored for `asset`.
    async fn holds_accounts(&self, asset: &AssetRow) -> Result<bool, InventoryError> {
        let (_, total) = self
            .store
            .accounts(&tumbler_store::AccountFilter {
                domains: vec![asset.domain_id.clone()],
                asset_id: Some(asset.id.clone()),
                limit: 1,
                ..tumbler_store::AccountFilter::default()
            })
            .await?;
        Ok(total > 0)
    }

    /// [`Self::acknowledge_host_keys`] with a TOTP code, which accepting the new location
    /// of a `relocated` asset, a key that differs from the pinned one, or a first key of an
    /// asset that already holds accounts needs: that acceptance lets stored secrets go to
    /// whatever presented the key, so it takes the reveal permission and a fresh second
    /// factor, like revealing. The audit event names the accepted address, port and
    /// fingerprint.
    pub async fn acknowledge_host_keys_with(
        &self,
        principal: &Principal,
        ids: &[AssetId],
        expected: Option<&str>,
        totp: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<Vec<AssetView>, InventoryError> {
        require(principal, Permission::AssetsManage)?;
        if ids.is_empty() {
            return Err(InvalidValue {
                field: "asset_ids",
                reason: "select at least one asset".to_owned(),
            }
            .into());
        }
        let expected = expected
            .map(|e| {
                e.trim()
                    .parse::<HostKeyFingerprint>()
                    .map_err(|_| InvalidValue {
                        field: "fingerprint",
                        reason: "expected SHA256:<base64> as ssh-keygen -l prints it".to_owned(),
                    })
            })
            .transpose()?;
        let visible = principal.visible_domains();
        // Relocated assets, or keys that differ from the pinned one (someone who controls
        // names or routes would otherwise have their own host trusted), among them: reveal
        // permission and a fresh code, checked before anything is written (the code is used
        // once for the whole request).
        let needs_revealer = |status: HostKeyStatus| {
            matches!(
                status,
                HostKeyStatus::Relocated | HostKeyStatus::FingerprintConflict
            )
        };
        let mut relocated = false;
        let mut conflict = false;
        for id in ids {
            if let Some(a) = self.store.asset(id).await? {
                if visible.contains(&a.domain_id) {
                    relocated |= a.host_key.status == HostKeyStatus::Relocated;
                    conflict |= a.host_key.status == HostKeyStatus::FingerprintConflict;
                    // A first key, once the asset holds accounts: their secrets would go to
                    // whatever answered, so the same rule (an empty asset's key is vouched
                    // for by whoever set it up).
                    if a.host_key.status == HostKeyStatus::Unverified && !conflict {
                        conflict |= self.holds_accounts(&a).await?;
                    }
                }
            }
        }
        if relocated || conflict {
            require(principal, Permission::SecretsReveal)?;
            let action = if relocated {
                AuditAction::AssetLocationAccept
            } else {
                AuditAction::AssetHostKeyAcknowledge
            };
            self.auth.step_up(principal, totp, action, origin).await?;
        }
        let stepped_up = relocated || conflict;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let mut done = Vec::new();
        for id in ids {
            let asset = tx
                .asset(id)
                .await?
                .filter(|a| visible.contains(&a.domain_id))
                .ok_or(InventoryError::NotFound(ObjectKind::Asset))?;
            if needs_revealer(asset.host_key.status) && !stepped_up {
                // Moved or conflicting since the check above: accept it in a request that
                // carries a code.
                return Err(match asset.host_key.status {
                    HostKeyStatus::Relocated => InventoryError::Relocated(asset.name.clone()),
                    _ => crate::auth::AuthError::TotpRequired.into(),
                });
            }
            let is_ssh = find_platform(&asset.platform)?.protocol == Protocol::Ssh;
            if asset.host_key.status == HostKeyStatus::Relocated && !is_ssh {
                // A database has no host key: accepting is accepting its address and port.
                let key = HostKeyState {
                    fingerprint: None,
                    presented: None,
                    status: HostKeyStatus::Unverified,
                };
                tx.set_asset_host_key(id, &key).await?;
                tx.append_audit(
                    &event(
                        &principal.user.username,
                        AuditAction::AssetLocationAccept,
                        ("asset", id.as_str()),
                        Outcome::Success,
                        origin,
                        format!("{} at {}:{}", asset.name, asset.address, asset.port),
                    ),
                    now,
                )
                .await?;
                done.push(AssetRow {
                    host_key: key,
                    ..asset
                });
                continue;
            }
            let old = asset.host_key.fingerprint.clone();
            let new = match asset.host_key.status {
                HostKeyStatus::FingerprintConflict => asset.host_key.presented.clone(),
                HostKeyStatus::Relocated => asset
                    .host_key
                    .presented
                    .clone()
                    .or_else(|| asset.host_key.fingerprint.clone()),
                _ => asset.host_key.fingerprint.clone(),
            }
            .ok_or_else(|| InventoryError::NoHostKeySeen(asset.name.clone()))?;
            if let Some(e) = &expected {
                if e.as_str() != new {
                    return Err(InventoryError::FingerprintMismatch {
                        asset: asset.name.clone(),
                        presented: new,
                    });
                }
            }
            let key = HostKeyState {
                fingerprint: Some(new.clone()),
                presented: None,
                status: HostKeyStatus::Verified,
            };
            tx.set_asset_host_key(id, &key).await?;
            let (action, at) = if asset.host_key.status == HostKeyStatus::Relocated {
                (
                    AuditAction::AssetLocationAccept,
                    format!(" at {}:{}", asset.address, asset.port),
                )
            } else {
                (AuditAction::AssetHostKeyAcknowledge, String::new())
            };
            tx.append_audit(
                &event(
                    &principal.user.username,
                    action,
                    ("asset", id.as_str()),
                    Outcome::Success,
                    origin,
                    format!(
                        "{}: {} -> {new}{at}",
                        asset.host_key.status,
                        old.as_deref().unwrap_or("none")
                    ),
                ),
                now,
            )
            .await?;
            done.push(AssetRow {
                host_key: key,
                ..asset
            });
        }
        tx.commit().await?;
        self.views(done).await
    }
}
