//! The node tree: groups of assets. The tree is small, so it is read whole.

use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use std::collections::HashMap;
use tumbler_domain::clock::{from_millis, to_millis};
use tumbler_domain::ids::{DomainId, NodeId};

/// One node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    /// Id.
    pub id: NodeId,
    /// The parent node; `None` for a top-level node.
    pub parent_id: Option<NodeId>,
    /// Name, unique among its siblings.
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

fn from_row(row: &AnyRow) -> Result<NodeRow, StoreError> {
    Ok(NodeRow {
        id: NodeId::from_string(col::<String>(row, "id")?),
        parent_id: col::<Option<String>>(row, "parent_id")?.map(NodeId::from_string),
        name: col(row, "name")?,
        created_at: from_millis(col(row, "created_at")?),
    })
}

const SELECT: &str = "SELECT id, parent_id, name, created_at FROM nodes ORDER BY name, id";

impl Store {
    /// Every node.
    pub async fn nodes(&self) -> Result<Vec<NodeRow>, StoreError> {
        let rows = sqlx::query(SELECT)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query)?;
        rows.iter().map(from_row).collect()
    }

    /// How many assets of these domains each node holds directly.
    pub async fn node_asset_counts(
        &self,
        domains: &[DomainId],
    ) -> Result<HashMap<NodeId, i64>, StoreError> {
        let mut conditions = crate::conditions::Conditions::default();
        conditions.push_in("a.domain_id", domains.iter().map(|d| d.to_string()));
        let sql = format!(
            "SELECT n.node_id AS node_id, COUNT(*) AS n FROM asset_nodes n JOIN assets a ON a.id = n.asset_id {} GROUP BY n.node_id",
            conditions.where_sql()
        );
        let rows = conditions
            .apply(sqlx::query(&sql))
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query)?;
        rows.iter()
            .map(|r| {
                Ok((
                    NodeId::from_string(col::<String>(r, "node_id")?),
                    col::<i64>(r, "n")?,
                ))
            })
            .collect()
    }
}

impl Tx {
    /// Every node, read inside this transaction.
    pub async fn nodes(&mut self) -> Result<Vec<NodeRow>, StoreError> {
        let rows = sqlx::query(SELECT)
            .fetch_all(self.conn())
            .await
            .map_err(StoreError::query)?;
        rows.iter().map(from_row).collect()
    }

    /// Inserts a node; a sibling with the same name is [`StoreError::Duplicate`].
    pub async fn insert_node(&mut self, node: &NodeRow) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO nodes (id, parent_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(node.id.as_str())
            .bind(node.parent_id.as_ref().map(NodeId::as_str))
            .bind(&node.name)
            .bind(to_millis(node.created_at))
            .execute(self.conn())
            .await
            .map_err(StoreError::unique(tumbler_domain::object::ObjectKind::Node))?;
        Ok(())
    }

    /// Renames and moves a node; a sibling with the same name is [`StoreError::Duplicate`].
    pub async fn update_node(
        &mut self,
        id: &NodeId,
        parent_id: Option<&NodeId>,
        name: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE nodes SET parent_id = $1, name = $2 WHERE id = $3")
            .bind(parent_id.map(NodeId::as_str))
            .bind(name)
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::unique(tumbler_domain::object::ObjectKind::Node))?;
        Ok(())
    }

    /// How many assets (of any domain) these nodes hold directly.
    pub async fn count_assets_in_nodes(&mut self, ids: &[NodeId]) -> Result<i64, StoreError> {
        let mut conditions = crate::conditions::Conditions::default();
        conditions.push_in("node_id", ids.iter().map(|d| d.to_string()));
        let sql = format!(
            "SELECT COUNT(*) AS n FROM asset_nodes {}",
            conditions.where_sql()
        );
        let row = conditions
            .apply(sqlx::query(&sql))
            .fetch_one(self.conn())
            .await
            .map_err(StoreError::query)?;
        col(&row, "n")
    }

    /// Deletes nodes, children before parents (the caller orders `ids` so).
    pub async fn delete_nodes(&mut self, ids: &[NodeId]) -> Result<(), StoreError> {
        for id in ids {
            sqlx::query("DELETE FROM nodes WHERE id = $1")
                .bind(id.as_str())
                .execute(self.conn())
                .await
                .map_err(StoreError::query)?;
        }
        Ok(())
    }
}
