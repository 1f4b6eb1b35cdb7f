//! CSV import and export of assets ([`super::ASSET_COLUMNS`]).

use super::{require, AssetInput, InventoryError, InventoryService};
use crate::{Principal, RequestOrigin};
use std::collections::HashSet;
use tumbler_domain::audit::AuditAction;
use tumbler_domain::ids::{AssetId, DomainId};
use tumbler_domain::inventory::NodePath;
use tumbler_domain::permission::Permission;
use tumbler_store::AssetRow;

use super::transfer::{optional, problem, rejected_unless_skipped, write_csv, Table};
use super::{ImportProblem, ImportReport, ASSET_COLUMNS};

impl InventoryService {
    /// Imports assets from CSV ([`ASSET_COLUMNS`]; `name`, `address` and `platform`
    /// required). With errors and without `skip_invalid`, nothing is stored and every
    /// problem is returned in [`InventoryError::ImportRejected`].
    pub async fn import_assets(
        &self,
        principal: &Principal,
        csv_text: &str,
        skip_invalid: bool,
        origin: &RequestOrigin,
    ) -> Result<ImportReport, InventoryError> {
        require(principal, Permission::AssetsManage)?;
        let table = Table::parse(csv_text, ASSET_COLUMNS, &["name", "address", "platform"])?;
        let mut report = ImportReport::default();
        let mut ready: Vec<(AssetRow, Vec<NodePath>)> = Vec::new();
        let mut seen: HashSet<(DomainId, String)> = HashSet::new();
        for (line, record) in &table.rows {
            let port = match optional(table.get(record, "port")) {
                None => None,
                Some(p) => match p.parse::<i64>() {
                    Ok(p) => Some(p),
                    Err(_) => {
                        report.problems.push(ImportProblem {
                            line: *line,
                            field: Some("port".to_owned()),
                            reason: format!("port: {p:?} is not a number"),
                        });
                        continue;
                    }
                },
            };
            let input = AssetInput {
                name: table.get(record, "name").to_owned(),
                address: table.get(record, "address").to_owned(),
                port,
                platform: table.get(record, "platform").to_owned(),
                nodes: table
                    .get(record, "nodes")
                    .split(';')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect(),
                domain: optional(table.get(record, "domain")),
                comment: table.get(record, "comment").to_owned(),
                host_key_fingerprint: optional(table.get(record, "host_key_fingerprint")),
                security: Default::default(),
            };
            let prepared = match self.prepare_asset(principal, &input).await {
                Ok(p) => p,
                Err(e) => {
                    report.problems.push(problem(*line, &e));
                    continue;
                }
            };
            let key = (prepared.0.domain_id.clone(), prepared.0.name.clone());
            let exists = self.store.asset_by_name(&key.0, &key.1).await?.is_some();
            if exists || !seen.insert(key) {
                report.problems.push(ImportProblem {
                    line: *line,
                    field: Some("name".to_owned()),
                    reason: format!(
                        "an asset named {:?} already exists in its domain{}",
                        prepared.0.name,
                        if exists {
                            ""
                        } else {
                            " (earlier in this file)"
                        }
                    ),
                });
                continue;
            }
            ready.push(prepared);
        }
        let report = rejected_unless_skipped(report, skip_invalid)?;
        let mut tx = self.store.begin().await?;
        for (asset, paths) in &ready {
            self.insert_asset(&mut tx, asset, paths, principal, origin)
                .await?;
        }
        self.finish_import(
            tx,
            report,
            ready.len(),
            (AuditAction::AssetImport, "asset"),
            principal,
            origin,
        )
        .await
    }

    /// Exports the assets the caller may see as CSV ([`ASSET_COLUMNS`]), audited.
    pub async fn export_assets(
        &self,
        principal: &Principal,
        origin: &RequestOrigin,
    ) -> Result<String, InventoryError> {
        require(principal, Permission::AssetsRead)?;
        let assets = self.all_visible_assets(principal).await?;
        let ids: Vec<AssetId> = assets.iter().map(|a| a.id.clone()).collect();
        let nodes = self.store.asset_node_ids(&ids).await?;
        let tree = super::nodes::Tree::new(self.store.nodes().await?);
        let domains = self.domain_names().await?;
        let rows: Vec<Vec<String>> = assets
            .iter()
            .map(|a| {
                let mut paths: Vec<String> = nodes
                    .get(&a.id)
                    .into_iter()
                    .flatten()
                    .filter_map(|n| tree.path(n))
                    .map(|p| p.to_string())
                    .collect();
                paths.sort();
                vec![
                    a.name.clone(),
                    a.address.clone(),
                    a.port.to_string(),
                    a.platform.clone(),
                    paths.join(";"),
                    domains.get(&a.domain_id).cloned().unwrap_or_default(),
                    a.comment.clone(),
                    a.host_key.fingerprint.clone().unwrap_or_default(),
                ]
            })
            .collect();
        self.audit_export(
            principal,
            AuditAction::AssetExport,
            rows.len(),
            false,
            origin,
        )
        .await?;
        Ok(write_csv(ASSET_COLUMNS, &rows)?.to_string())
    }
}
