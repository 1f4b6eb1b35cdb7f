//! The node tree: create (with missing ancestors), rename, move, delete (refused while the
//! node or one below it holds assets), with asset counts in the caller's domains.
//!
//! Nodes are shared by all domains (a path names one node), so a caller's view of the tree
//! is cut to what concerns them ([`NodeScope`]): a node whose subtree holds assets or is named
//! by tasks of domains the caller does not see, and nothing of the caller's own, is hidden
//! (as are the nodes below it); a visible node with such foreign content is "shared" and
//! cannot be renamed, moved or deleted, since that would silently change what another
//! domain's assets are grouped under and what its node-based tasks select.

use super::{require, InventoryError, InventoryService};
use crate::{event, Principal, RequestOrigin};
use std::collections::{HashMap, HashSet};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::ids::NodeId;
use tumbler_domain::inventory::{validate_node_name, NodePath};
use tumbler_domain::object::ObjectKind;
use tumbler_domain::permission::Permission;
use tumbler_store::{NodeRow, Tx};

/// A node as callers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    /// Id.
    pub id: NodeId,
    /// Full path (`/Default/Prod/DB`).
    pub path: NodePath,
    /// Parent node.
    pub parent_id: Option<NodeId>,
    /// Assets directly in it (in the caller's domains).
    pub assets: i64,
    /// Assets in it and below it (in the caller's domains), each counted once per node.
    pub assets_in_subtree: i64,
}

/// The tree, indexed.
pub(crate) struct Tree {
    nodes: Vec<NodeRow>,
    by_id: HashMap<NodeId, usize>,
}

impl Tree {
    pub(crate) fn new(nodes: Vec<NodeRow>) -> Self {
        let by_id = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.clone(), i))
            .collect();
        Self { nodes, by_id }
    }

    pub(crate) fn get(&self, id: &NodeId) -> Option<&NodeRow> {
        self.by_id.get(id).map(|i| &self.nodes[*i])
    }

    /// The path of a node (a cycle or a dangling parent ends the walk).
    pub(crate) fn path(&self, id: &NodeId) -> Option<NodePath> {
        let mut names = Vec::new();
        let mut cur = self.get(id);
        while let Some(n) = cur {
            names.push(n.name.clone());
            if names.len() > self.nodes.len() {
                return None;
            }
            cur = n.parent_id.as_ref().and_then(|p| self.get(p));
        }
        names.reverse();
        NodePath::from_names(names).ok()
    }

    /// The node at `path`.
    pub(crate) fn find(&self, path: &NodePath) -> Option<&NodeRow> {
        let mut parent: Option<&NodeId> = None;
        let mut found = None;
        for name in path.names() {
            let n = self
                .nodes
                .iter()
                .find(|n| n.parent_id.as_ref() == parent && &n.name == name)?;
            parent = Some(&n.id);
            found = Some(n);
        }
        found
    }

    /// The node and every node below it, deepest first.
    pub(crate) fn subtree(&self, id: &NodeId) -> Vec<NodeId> {
        let mut out = vec![id.clone()];
        let mut i = 0;
        while i < out.len() {
            let parent = out[i].clone();
            out.extend(
                self.nodes
                    .iter()
                    .filter(|n| n.parent_id.as_ref() == Some(&parent))
                    .map(|n| n.id.clone()),
            );
            i += 1;
        }
        out.reverse();
        out
    }
}

/// The paths of the nodes `principal` can see, as text.
pub(crate) async fn visible_node_paths(
    store: &tumbler_store::Store,
    principal: &Principal,
) -> Result<HashSet<String>, tumbler_store::StoreError> {
    let tree = Tree::new(store.nodes().await?);
    let scope = NodeScope::of(store, &tree, principal).await?;
    Ok(tree
        .nodes
        .iter()
        .filter(|n| !scope.hidden.contains(&n.id))
        .filter_map(|n| tree.path(&n.id))
        .map(|p| p.to_string())
        .collect())
}

/// What one caller may see and change of the shared node tree.
pub(crate) struct NodeScope {
    /// Nodes that concern only domains the caller does not see (and the nodes below them).
    hidden: HashSet<NodeId>,
    /// Nodes whose subtree holds assets of, or is named by tasks of, other domains.
    shared: HashSet<NodeId>,
}

impl NodeScope {
    /// The scope of `principal` over `tree`.
    pub(crate) async fn of(
        store: &tumbler_store::Store,
        tree: &Tree,
        principal: &Principal,
    ) -> Result<Self, tumbler_store::StoreError> {
        let mine = principal.visible_domains();
        let others: Vec<_> = store
            .domains()
            .await?
            .into_iter()
            .map(|d| d.id)
            .filter(|d| !mine.contains(d))
            .collect();
        let own_assets = store.node_asset_counts(&mine).await?;
        let foreign_assets = store.node_asset_counts(&others).await?;
        let named_by = |tasks: Vec<tumbler_store::TaskRow>| -> HashSet<NodeId> {
            tasks
                .iter()
                .filter_map(|t| {
                    serde_json::from_str::<crate::change_secret::TaskSpec>(&t.spec).ok()
                })
                .flat_map(|spec| spec.nodes)
                .filter_map(|p| NodePath::parse(&p).ok())
                .filter_map(|p| tree.find(&p).map(|n| n.id.clone()))
                .collect()
        };
        let own_tasks = named_by(store.change_tasks(&mine).await?);
        let foreign_tasks = named_by(store.change_tasks(&others).await?);
        let mut hidden = HashSet::new();
        let mut shared = HashSet::new();
        for n in &tree.nodes {
            let below = tree.subtree(&n.id);
            let own = below
                .iter()
                .any(|id| own_assets.get(id).copied().unwrap_or(0) > 0 || own_tasks.contains(id));
            let foreign = below.iter().any(|id| {
                foreign_assets.get(id).copied().unwrap_or(0) > 0 || foreign_tasks.contains(id)
            });
            if foreign {
                shared.insert(n.id.clone());
                if !own {
                    hidden.extend(below);
                }
            }
        }
        Ok(Self { hidden, shared })
    }

    /// Fails with "not found" for a hidden node, and with [`InventoryError::NodeShared`] for
    /// one the caller may see but not change.
    fn require_changeable(&self, tree: &Tree, id: &NodeId) -> Result<(), InventoryError> {
        if self.hidden.contains(id) || tree.get(id).is_none() {
            Err(InventoryError::NotFound(ObjectKind::Node))
        } else if self.shared.contains(id) {
            Err(InventoryError::NodeShared(
                tree.path(id).map(|p| p.to_string()).unwrap_or_default(),
            ))
        } else {
            Ok(())
        }
    }
}

impl InventoryService {
    /// Every node with its path and asset counts, by path.
    pub async fn nodes(&self, principal: &Principal) -> Result<Vec<NodeView>, InventoryError> {
        require(principal, Permission::AssetsRead)?;
        let tree = Tree::new(self.store.nodes().await?);
        let scope = NodeScope::of(&self.store, &tree, principal).await?;
        let counts = self
            .store
            .node_asset_counts(&principal.visible_domains())
            .await?;
        let mut out: Vec<NodeView> = tree
            .nodes
            .iter()
            .filter(|n| !scope.hidden.contains(&n.id))
            .filter_map(|n| {
                Some(NodeView {
                    id: n.id.clone(),
                    path: tree.path(&n.id)?,
                    parent_id: n.parent_id.clone(),
                    assets: counts.get(&n.id).copied().unwrap_or(0),
                    assets_in_subtree: tree
                        .subtree(&n.id)
                        .iter()
                        .map(|id| counts.get(id).copied().unwrap_or(0))
                        .sum(),
                })
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Creates the node at `path` and any missing ancestor; an existing node is a
    /// [`InventoryError::Duplicate`].
    pub async fn create_node(
        &self,
        principal: &Principal,
        path: &str,
        origin: &RequestOrigin,
    ) -> Result<NodeId, InventoryError> {
        require(principal, Permission::AssetsManage)?;
        let path = NodePath::parse(path)?;
        let mut tx = self.store.begin().await?;
        let tree = Tree::new(tx.nodes().await?);
        if tree.find(&path).is_some() {
            return Err(InventoryError::Duplicate(ObjectKind::Node));
        }
        let id = self
            .ensure_node(&mut tx, &path, &principal.user.username, origin)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The id of the node at `path`, creating it and its missing ancestors inside `tx`
    /// (each creation audited).
    pub(crate) async fn ensure_node(
        &self,
        tx: &mut Tx,
        path: &NodePath,
        actor: &str,
        origin: &RequestOrigin,
    ) -> Result<NodeId, InventoryError> {
        let tree = Tree::new(tx.nodes().await?);
        let mut parent: Option<NodeId> = None;
        let mut names = Vec::new();
        for name in path.names() {
            names.push(name.clone());
            let existing = tree.find(&NodePath::from_names(names.clone())?);
            let id = match existing {
                Some(n) => n.id.clone(),
                None => {
                    let node = NodeRow {
                        id: NodeId::generate(),
                        parent_id: parent.clone(),
                        name: name.clone(),
                        created_at: self.clock.now(),
                    };
                    tx.insert_node(&node)
                        .await
                        .map_err(super::error::duplicate(ObjectKind::Node))?;
                    tx.append_audit(
                        &event(
                            actor,
                            AuditAction::NodeCreate,
                            ("node", node.id.as_str()),
                            Outcome::Success,
                            origin,
                            NodePath::from_names(names.clone())?.to_string(),
                        ),
                        self.clock.now(),
                    )
                    .await?;
                    node.id
                }
            };
            parent = Some(id);
        }
        parent.ok_or(InventoryError::NotFound(ObjectKind::Node))
    }

    /// Renames a node and/or moves it under another (`new_parent` `Some(None)` makes it
    /// top-level). Moving a node below itself is refused.
    pub async fn update_node(
        &self,
        principal: &Principal,
        id: &NodeId,
        new_name: Option<&str>,
        new_parent: Option<Option<&str>>,
        origin: &RequestOrigin,
    ) -> Result<NodeView, InventoryError> {
        require(principal, Permission::AssetsManage)?;
        let mut tx = self.store.begin().await?;
        let tree = Tree::new(tx.nodes().await?);
        let scope = NodeScope::of(&self.store, &tree, principal).await?;
        scope.require_changeable(&tree, id)?;
        let node = tree
            .get(id)
            .ok_or(InventoryError::NotFound(ObjectKind::Node))?
            .clone();
        let before = tree
            .path(id)
            .ok_or(InventoryError::NotFound(ObjectKind::Node))?;
        let name = match new_name {
            Some(n) => validate_node_name(n)?.to_owned(),
            None => node.name.clone(),
        };
        let parent_id = match new_parent {
            None => node.parent_id.clone(),
            Some(None) => None,
            Some(Some(path)) => {
                let path = NodePath::parse(path)?;
                let parent = tree
                    .find(&path)
                    .filter(|n| !scope.hidden.contains(&n.id))
                    .ok_or(InventoryError::NotFound(ObjectKind::Node))?;
                if tree.subtree(id).contains(&parent.id) {
                    return Err(tumbler_domain::inventory::InvalidValue {
                        field: "parent",
                        reason: "a node cannot move below itself".to_owned(),
                    }
                    .into());
                }
                Some(parent.id.clone())
            }
        };
        tx.update_node(id, parent_id.as_ref(), &name)
            .await
            .map_err(super::error::duplicate(ObjectKind::Node))?;
        let after = Tree::new(tx.nodes().await?)
            .path(id)
            .ok_or(InventoryError::NotFound(ObjectKind::Node))?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::NodeUpdate,
                ("node", id.as_str()),
                Outcome::Success,
                origin,
                format!("{before} -> {after}"),
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(NodeView {
            id: id.clone(),
            path: after,
            parent_id,
            assets: 0,
            assets_in_subtree: 0,
        })
    }

    /// Deletes a node and the empty nodes below it; refused while any of them holds an
    /// asset (of any domain).
    pub async fn delete_node(
        &self,
        principal: &Principal,
        id: &NodeId,
        origin: &RequestOrigin,
    ) -> Result<(), InventoryError> {
        require(principal, Permission::AssetsManage)?;
        let mut tx = self.store.begin().await?;
        let tree = Tree::new(tx.nodes().await?);
        NodeScope::of(&self.store, &tree, principal)
            .await?
            .require_changeable(&tree, id)?;
        let path = tree
            .path(id)
            .ok_or(InventoryError::NotFound(ObjectKind::Node))?;
        let subtree = tree.subtree(id);
        let assets = tx.count_assets_in_nodes(&subtree).await?;
        if assets > 0 {
            return Err(InventoryError::NodeNotEmpty { assets });
        }
        tx.delete_nodes(&subtree).await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::NodeDelete,
                ("node", id.as_str()),
                Outcome::Success,
                origin,
                path.to_string(),
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
