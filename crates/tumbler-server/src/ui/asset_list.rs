//! The Assets page: the node tree beside the asset list, with filters (node, platform,
//! connectivity, authentication and host key status, search) and paging. The node forms live
//! in `node_forms`; acknowledging the selected assets' host keys in `bulk_acknowledge`.

use super::frame::{ConsolePage, ConsoleResult, PageFrame};
use super::labels::{choices, Choice, Labelled, Shown};
use super::pages::render;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;
use tumbler_core::inventory::{AssetQuery, AssetView};
use tumbler_core::Principal;
use tumbler_domain::inventory::{AuthStatus, Connectivity, HostKeyStatus};
use tumbler_domain::permission::Permission;
use tumbler_domain::platform;

/// Rows per page.
const PAGE: i64 = tumbler_domain::paging::DEFAULT_PAGE;

/// A node in the tree column.
pub struct NodeLine {
    name: String,
    depth: usize,
    href: String,
    count: i64,
    current: bool,
}

/// One asset row.
pub struct AssetLine {
    id: String,
    name: String,
    address: String,
    /// The platform's name and id.
    platform: (String, String),
    nodes: String,
    connectivity: Shown,
    /// How Tumbler logs in to it.
    authentication: Shown,
    /// Whether its host key is trusted: a separate thing from how Tumbler logs in.
    host_key: Shown,
}

#[derive(Template)]
#[template(path = "assets.html")]
struct AssetsPage {
    frame: PageFrame,
    nodes: Vec<NodeLine>,
    assets: Vec<AssetLine>,
    total: i64,
    node: String,
    current_node: Option<(String, String)>,
    q: String,
    /// (id, name, chosen) of every platform.
    platforms: Vec<(&'static str, &'static str, bool)>,
    connectivity: Vec<Choice>,
    auth_status: Vec<Choice>,
    host_key_status: Vec<Choice>,
    prev: Option<String>,
    next: Option<String>,
    first: i64,
    last: i64,
    can_manage: bool,
}

/// Filters of the page.
#[derive(Deserialize, Default, Clone)]
pub struct AssetsQuery {
    node: Option<String>,
    platform: Option<String>,
    connectivity: Option<String>,
    auth_status: Option<String>,
    host_key_status: Option<String>,
    q: Option<String>,
    offset: Option<i64>,
}

impl AssetsQuery {
    fn href(&self, offset: Option<i64>, node: Option<&str>) -> String {
        let pairs: Vec<(&str, String)> = [
            ("node", node.map(str::to_owned).or(self.node.clone())),
            ("platform", self.platform.clone()),
            ("connectivity", self.connectivity.clone()),
            ("auth_status", self.auth_status.clone()),
            ("host_key_status", self.host_key_status.clone()),
            ("q", self.q.clone()),
            ("offset", offset.filter(|o| *o > 0).map(|o| o.to_string())),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
        .collect();
        format!(
            "/assets?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

/// The paths of the asset's nodes, joined by `separator`.
pub(crate) fn node_paths(view: &AssetView, separator: &str) -> String {
    view.nodes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(separator)
}

/// A platform's name and id (the id twice when it is not in the catalogue).
pub(crate) fn platform_shown(id: &str) -> (String, String) {
    let name = platform::find(id).map_or(id, |p| p.name);
    (name.to_owned(), id.to_owned())
}

/// Renders the page for `q` in `frame` (with its notice or error).
pub(crate) async fn page(
    state: &AppState,
    p: &Principal,
    frame: PageFrame,
    q: AssetsQuery,
) -> ConsoleResult {
    // Far enough below the largest number that adding a page cannot overflow.
    let offset = q.offset.unwrap_or(0).clamp(0, i64::MAX / 2);
    let query = AssetQuery {
        node: q.node.clone(),
        platform: q.platform.clone(),
        connectivity: q.connectivity.as_deref().and_then(Connectivity::parse),
        host_key_status: q.host_key_status.as_deref().and_then(HostKeyStatus::parse),
        auth_status: q.auth_status.as_deref().and_then(AuthStatus::parse),
        search: q.q.clone(),
        limit: Some(PAGE),
        offset: Some(offset),
    };
    let listed = state.inventory.assets(p, &query).await;
    let nodes = state.inventory.nodes(p).await;
    let ((views, total), nodes) = match (listed, nodes) {
        (Ok(l), Ok(n)) => (l, n),
        (Err(e), _) | (_, Err(e)) => return Err(e.into()),
    };
    let current = q.node.clone().unwrap_or_default();
    let current_node = nodes
        .iter()
        .find(|n| n.path.to_string() == current)
        .map(|n| (n.id.to_string(), n.path.name().to_owned()));
    Ok(render(&AssetsPage {
        current_node,
        frame,
        nodes: nodes
            .into_iter()
            .map(|n| {
                let path = n.path.to_string();
                NodeLine {
                    name: n.path.name().to_owned(),
                    depth: n.path.names().len().min(6),
                    href: q.href(None, Some(&path)),
                    count: n.assets_in_subtree,
                    current: path == current,
                }
            })
            .collect(),
        assets: views
            .into_iter()
            .map(|v| AssetLine {
                authentication: v.asset.auth_status.shown(),
                id: v.asset.id.to_string(),
                name: v.asset.name.clone(),
                address: format!("{}:{}", v.asset.address, v.asset.port),
                platform: platform_shown(&v.asset.platform),
                nodes: node_paths(&v, ", "),
                connectivity: v.asset.connectivity.shown(),
                host_key: v.asset.host_key.status.shown(),
            })
            .collect(),
        total,
        node: current,
        platforms: platform::catalogue()
            .iter()
            .map(|p| (p.id, p.name, q.platform.as_deref() == Some(p.id)))
            .collect(),
        connectivity: choices(Connectivity::ALL, q.connectivity.as_deref()),
        auth_status: choices(AuthStatus::ALL, q.auth_status.as_deref()),
        host_key_status: choices(HostKeyStatus::ALL, q.host_key_status.as_deref()),
        prev: (offset > 0).then(|| q.href(Some((offset - PAGE).max(0)), None)),
        next: (offset + PAGE < total).then(|| q.href(Some(offset + PAGE), None)),
        first: if total == 0 { 0 } else { offset + 1 },
        last: (offset + PAGE).min(total),
        can_manage: p.can(Permission::AssetsManage),
        q: q.q.unwrap_or_default(),
    }))
}

/// `GET /assets`
pub async fn list(
    State(state): State<AppState>,
    ConsolePage(p, frame): ConsolePage,
    Query(q): Query<AssetsQuery>,
) -> ConsoleResult {
    page(&state, &p, frame, q).await
}
