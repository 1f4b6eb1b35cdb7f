//! Assets: what a new asset, a change and a query hold, creating one, and reading one or a
//! list with filters and paging. Editing and deleting are in `asset_edit.rs`, acknowledging
//! the SSH host key an asset presents in `host_keys.rs`.

use super::nodes::Tree;
use super::{page_limit, require, InventoryError, InventoryService};
use crate::{event, Principal, RequestOrigin};
use std::collections::HashMap;
use tumbler_connectors::ssh::HostKeyFingerprint;
use tumbler_domain::audit::AuditAction;
use tumbler_domain::audit::Outcome;
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

pub(super) fn find_platform(id: &str) -> Result<&'static Platform, InventoryError> {
    platform::find(id).ok_or_else(|| InventoryError::UnknownPlatform(id.to_owned()))
}

pub(super) fn parse_fingerprint(
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

pub(super) fn parse_paths(paths: &[String]) -> Result<Vec<NodePath>, InventoryError> {
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
    pub(super) async fn resolve_nodes(
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

    pub(super) async fn view(&self, asset: AssetRow) -> Result<AssetView, InventoryError> {
        let mut views = self.views(vec![asset]).await?;
        views
            .pop()
            .ok_or(InventoryError::NotFound(ObjectKind::Asset))
    }

    pub(super) async fn views(
        &self,
        assets: Vec<AssetRow>,
    ) -> Result<Vec<AssetView>, InventoryError> {
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
}
