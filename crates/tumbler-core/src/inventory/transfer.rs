//! CSV import and export of assets and accounts.
//!
//! Import checks every row as `create` would, reports each bad row with its line and reason,
//! and stores nothing of a file that has errors unless asked to skip them; the rows it stores
//! go in one transaction. Export leaves secrets out unless asked, which needs the export
//! permission and a fresh TOTP code and is audited.

use super::{require, AccountInput, AssetInput, InventoryError, InventoryService, MAX_PAGE};
use crate::csv_cells::{restore, InertCsvWriter};
use crate::{event, Principal, RequestOrigin};
use secrecy::SecretString;
use std::collections::{BTreeMap, HashMap, HashSet};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::ids::{AssetId, DomainId};
use tumbler_domain::inventory::{InvalidValue, NodePath, SecretType};
use tumbler_domain::permission::Permission;
use tumbler_store::{AccountFilter, AccountRow, AssetFilter, AssetRow};
use zeroize::Zeroizing;

/// The columns of an asset CSV, in order. `nodes` holds paths separated by `;`.
pub const ASSET_COLUMNS: &[&str] = &[
    "name",
    "address",
    "port",
    "platform",
    "nodes",
    "domain",
    "comment",
    "host_key_fingerprint",
];

/// The columns of an account CSV, in order. `options` holds `key=value` pairs separated by
/// `;`; `secret` is empty in an export without secrets.
pub const ACCOUNT_COLUMNS: &[&str] = &[
    "asset",
    "domain",
    "username",
    "secret_type",
    "privileged",
    "options",
    "secret",
];

/// One refused row of an imported file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    /// The line in the file (1 is the header).
    pub line: u64,
    /// The column at fault, when one is.
    pub field: Option<String>,
    /// What is wrong (never a secret).
    pub reason: String,
}

/// The outcome of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Rows stored.
    pub imported: usize,
    /// Rows refused and skipped (only with `skip_invalid`).
    pub skipped: usize,
    /// Every refused row.
    pub problems: Vec<ImportProblem>,
}

/// A parsed file: the header's column positions and the records with their lines.
struct Table {
    columns: HashMap<String, usize>,
    rows: Vec<(u64, csv::StringRecord)>,
}

impl Table {
    fn parse(text: &str, known: &[&str], required: &[&str]) -> Result<Self, InventoryError> {
        let invalid = |reason: String| -> InventoryError {
            InvalidValue {
                field: "file",
                reason,
            }
            .into()
        };
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::Headers)
            .flexible(false)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|_| invalid("line 1: the header row cannot be read".to_owned()))?
            .clone();
        let mut columns = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            if !known.contains(&h) {
                return Err(invalid(format!(
                    "line 1: unknown column {h:?}; the columns are {}",
                    known.join(",")
                )));
            }
            columns.insert(h.to_owned(), i);
        }
        for r in required {
            if !columns.contains_key(*r) {
                return Err(invalid(format!("line 1: the column {r:?} is required")));
            }
        }
        let mut rows = Vec::new();
        for record in reader.records() {
            // The csv crate's messages give positions and counts, never field contents.
            let record = record.map_err(|e| {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                invalid(format!("line {line}: {}", describe_csv_error(&e)))
            })?;
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            rows.push((line, record));
        }
        Ok(Self { columns, rows })
    }

    /// The cell's value, with the guard an export puts on formula-like cells removed.
    fn get<'r>(&self, record: &'r csv::StringRecord, column: &str) -> &'r str {
        self.columns
            .get(column)
            .and_then(|i| record.get(*i))
            .map(restore)
            .unwrap_or("")
    }
}

fn describe_csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_owned(),
        _ => "the row cannot be read as CSV".to_owned(),
    }
}

fn problem(line: u64, error: &InventoryError) -> ImportProblem {
    ImportProblem {
        line,
        field: error.field().map(str::to_owned),
        reason: error.to_string(),
    }
}

fn optional(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

fn parse_options(text: &str) -> Result<BTreeMap<String, String>, InventoryError> {
    let mut out = BTreeMap::new();
    for pair in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(|| InvalidValue {
            field: "options",
            reason: format!("{pair:?} is not key=value"),
        })?;
        out.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(out)
}

fn parse_bool(field: &'static str, text: &str) -> Result<bool, InventoryError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "0" => Ok(false),
        "true" | "yes" | "1" => Ok(true),
        other => Err(InvalidValue {
            field,
            reason: format!("{other:?} is not true or false"),
        }
        .into()),
    }
}

/// Writes rows as CSV, every cell made inert ([`crate::csv_cells`]), into a buffer that is
/// wiped when dropped.
fn write_csv(header: &[&str], rows: &[Vec<String>]) -> Result<Zeroizing<String>, InventoryError> {
    let internal = |_| {
        InventoryError::Store(tumbler_store::StoreError::Corrupt(
            "CSV writing failed".to_owned(),
        ))
    };
    let mut writer = InertCsvWriter::new();
    writer.row(header).map_err(internal)?;
    for r in rows {
        writer.row(r).map_err(internal)?;
    }
    writer.finish().map_err(internal)
}

/// Fails with every problem unless there are none or the caller asked to skip them.
fn rejected_unless_skipped(
    report: ImportReport,
    skip_invalid: bool,
) -> Result<ImportReport, InventoryError> {
    if !report.problems.is_empty() && !skip_invalid {
        Err(InventoryError::ImportRejected(report.problems))
    } else {
        Ok(report)
    }
}

/// Every row a paged query returns, page after page.
async fn all_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, InventoryError>
where
    F: FnMut(i64) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, i64), tumbler_store::StoreError>>,
{
    let mut out = Vec::new();
    loop {
        let offset = i64::try_from(out.len()).unwrap_or(i64::MAX);
        let (rows, total) = fetch(offset).await?;
        let done = rows.is_empty();
        out.extend(rows);
        if done || i64::try_from(out.len()).unwrap_or(i64::MAX) >= total {
            return Ok(out);
        }
    }
}

impl InventoryService {
    /// Every asset the caller may see.
    async fn all_visible_assets(
        &self,
        principal: &Principal,
    ) -> Result<Vec<AssetRow>, InventoryError> {
        all_pages(|offset| {
            let filter = AssetFilter {
                domains: principal.visible_domains(),
                limit: MAX_PAGE,
                offset,
                ..AssetFilter::default()
            };
            async move { self.store.assets(&filter).await }
        })
        .await
    }

    /// Counts, audits and commits an import whose rows `tx` has stored.
    async fn finish_import(
        &self,
        mut tx: tumbler_store::Tx,
        mut report: ImportReport,
        imported: usize,
        (action, kind): (AuditAction, &str),
        principal: &Principal,
        origin: &RequestOrigin,
    ) -> Result<ImportReport, InventoryError> {
        report.imported = imported;
        report.skipped = report.problems.len();
        tx.append_audit(
            &event(
                &principal.user.username,
                action,
                (kind, "*"),
                Outcome::Success,
                origin,
                format!("{} imported, {} skipped", report.imported, report.skipped),
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }

    async fn domain_names(&self) -> Result<HashMap<DomainId, String>, InventoryError> {
        Ok(self
            .store
            .domains()
            .await?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect())
    }

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

    async fn audit_export(
        &self,
        principal: &Principal,
        action: AuditAction,
        count: usize,
        secrets: bool,
        origin: &RequestOrigin,
    ) -> Result<(), InventoryError> {
        let mut tx = self.store.begin().await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                action,
                ("export", "*"),
                Outcome::Success,
                origin,
                format!(
                    "{count} row(s), secrets {}",
                    if secrets { "included" } else { "left out" }
                ),
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Imports accounts from CSV ([`ACCOUNT_COLUMNS`]; `asset`, `username` and `secret`
    /// required). `asset` is an asset name in the caller's visible domains (`domain` tells
    /// apart assets of the same name). With errors and without `skip_invalid`, nothing is
    /// stored.
    pub async fn import_accounts(
        &self,
        principal: &Principal,
        csv_text: &str,
        skip_invalid: bool,
        origin: &RequestOrigin,
    ) -> Result<ImportReport, InventoryError> {
        require(principal, Permission::AssetsManage)?;
        let table = Table::parse(csv_text, ACCOUNT_COLUMNS, &["asset", "username", "secret"])?;
        let assets = self.all_visible_assets(principal).await?;
        let domains = self.domain_names().await?;
        let mut report = ImportReport::default();
        let mut ready: Vec<(AccountRow, SecretString)> = Vec::new();
        let mut seen: HashSet<(AssetId, String)> = HashSet::new();
        for (line, record) in &table.rows {
            let name = table.get(record, "asset").trim();
            let domain = optional(table.get(record, "domain"));
            let matches: Vec<&AssetRow> = assets
                .iter()
                .filter(|a| a.name == name)
                .filter(|a| {
                    domain
                        .as_deref()
                        .is_none_or(|d| domains.get(&a.domain_id).map(String::as_str) == Some(d))
                })
                .collect();
            let asset = match matches.as_slice() {
                [one] => *one,
                [] => {
                    report.problems.push(ImportProblem {
                        line: *line,
                        field: Some("asset".to_owned()),
                        reason: format!("no asset named {name:?} in your domains"),
                    });
                    continue;
                }
                _ => {
                    report.problems.push(ImportProblem {
                        line: *line,
                        field: Some("domain".to_owned()),
                        reason: format!("several assets are named {name:?}; name the domain"),
                    });
                    continue;
                }
            };
            let parsed = (|| -> Result<AccountInput, InventoryError> {
                let secret_type = match optional(table.get(record, "secret_type")) {
                    None => SecretType::Password,
                    Some(t) => SecretType::parse(&t).ok_or_else(|| InvalidValue {
                        field: "secret_type",
                        reason: format!("{t:?} is not password or ssh_key"),
                    })?,
                };
                Ok(AccountInput {
                    asset_id: asset.id.clone(),
                    username: table.get(record, "username").to_owned(),
                    secret_type,
                    secret: SecretString::from(table.get(record, "secret").to_owned()),
                    privileged: match parse_bool("privileged", table.get(record, "privileged"))? {
                        // One code cannot vouch for a whole file: marking an account
                        // privileged is done on the account, with a fresh code.
                        true => {
                            return Err(InvalidValue {
                                field: "privileged",
                                reason: "privileged accounts are not imported: add the account, then mark it privileged on its page (needs protected_accounts_manage and a fresh authentication code)".to_owned(),
                            }
                            .into())
                        }
                        false => false,
                    },
                    options: parse_options(table.get(record, "options"))?,
                    totp: None,
                })
            })();
            let result = parsed.and_then(|input| {
                self.prepare_account(asset, &input)
                    .map(|account| (account, input.secret))
            });
            let (account, secret) = match result {
                Ok(r) => r,
                Err(e) => {
                    report.problems.push(problem(*line, &e));
                    continue;
                }
            };
            if let Err(e) =
                super::accounts::decode_key_off_runtime(account.secret_type, &secret).await
            {
                report.problems.push(problem(*line, &e));
                continue;
            }
            let key = (asset.id.clone(), account.username.clone());
            let (existing, _) = self
                .store
                .accounts(&AccountFilter {
                    domains: vec![asset.domain_id.clone()],
                    asset_id: Some(asset.id.clone()),
                    username: Some(account.username.clone()),
                    limit: 1,
                    ..AccountFilter::default()
                })
                .await?;
            let exists = !existing.is_empty();
            if exists || !seen.insert(key) {
                report.problems.push(ImportProblem {
                    line: *line,
                    field: Some("username".to_owned()),
                    reason: format!(
                        "{} already has an account {:?}{}",
                        asset.name,
                        account.username,
                        if exists {
                            ""
                        } else {
                            " (earlier in this file)"
                        }
                    ),
                });
                continue;
            }
            ready.push((account, secret));
        }
        let report = rejected_unless_skipped(report, skip_invalid)?;
        let mut tx = self.store.begin().await?;
        for (account, secret) in &ready {
            self.insert_account(&mut tx, account, secret, principal, origin)
                .await?;
        }
        self.finish_import(
            tx,
            report,
            ready.len(),
            (AuditAction::AccountImport, "account"),
            principal,
            origin,
        )
        .await
    }

    /// Exports the accounts the caller may see as CSV ([`ACCOUNT_COLUMNS`]). The `secret`
    /// column is empty unless `include_secrets`, which needs the export permission and a
    /// fresh TOTP code. Audited before the file is returned.
    pub async fn export_accounts(
        &self,
        principal: &Principal,
        include_secrets: bool,
        totp: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<Zeroizing<String>, InventoryError> {
        require(principal, Permission::AssetsRead)?;
        if include_secrets {
            require(principal, Permission::SecretsExport)?;
            self.auth
                .step_up(principal, totp, AuditAction::AccountExport, origin)
                .await?;
        }
        let domains = self.domain_names().await?;
        let accounts = all_pages(|offset| {
            let filter = AccountFilter {
                domains: principal.visible_domains(),
                limit: MAX_PAGE,
                offset,
                ..AccountFilter::default()
            };
            async move { self.store.accounts(&filter).await }
        })
        .await?;
        let mut rows = Vec::with_capacity(accounts.len());
        for a in &accounts {
            let secret = if include_secrets {
                self.open_version(a, a.current_version).await?
            } else {
                Zeroizing::new(String::new())
            };
            let options: Vec<String> = a.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
            rows.push(vec![
                a.asset_name.clone(),
                domains.get(&a.domain_id).cloned().unwrap_or_default(),
                a.username.clone(),
                a.secret_type.to_string(),
                a.privileged.to_string(),
                options.join(";"),
                secret.as_str().to_owned(),
            ]);
        }
        self.audit_export(
            principal,
            AuditAction::AccountExport,
            rows.len(),
            include_secrets,
            origin,
        )
        .await?;
        let csv = write_csv(ACCOUNT_COLUMNS, &rows);
        // The rows held plaintext secrets: wipe them.
        for r in &mut rows {
            if let Some(s) = r.last_mut() {
                zeroize::Zeroize::zeroize(s);
            }
        }
        csv
    }
}

/// Property-based fuzzing of the CSV import parser (the file an importer uploads) and of the
/// export guard. Short by default (64 cases); longer with `PROPTEST_CASES=100000 cargo test
/// -p tumbler-core --lib fuzz`.
#[cfg(test)]
mod fuzz {
    use super::{parse_bool, parse_options, Table, ACCOUNT_COLUMNS, ASSET_COLUMNS};
    use crate::csv_cells::{inert, restore};
    use proptest::prelude::*;

    fn config() -> ProptestConfig {
        let mut c = ProptestConfig::default();
        if std::env::var_os("PROPTEST_CASES").is_none() {
            c.cases = 64;
        }
        c.failure_persistence = None;
        c
    }

    /// CSV-ish text: separators, quotes, line breaks, column names and anything.
    fn csv_text() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            4 => prop::sample::select(vec![",", "\"", "\n", "\r\n", ";", "=", "'", " "]).prop_map(str::to_owned),
            3 => prop::sample::select(ASSET_COLUMNS.iter().chain(ACCOUNT_COLUMNS).copied().collect::<Vec<_>>()).prop_map(str::to_owned),
            2 => "[a-z0-9.=+@-]{1,12}",
            1 => any::<String>(),
        ];
        prop::collection::vec(token, 0..120).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn csv_import_parsing_never_panics_and_keeps_rows_bounded(
            text in csv_text(),
            header in prop::sample::select(vec!["", "name,address,platform\n", "asset,username,secret\n"]),
        ) {
            let text = format!("{header}{text}");
            for (known, required) in [
                (ASSET_COLUMNS, &["name", "address", "platform"][..]),
                (ACCOUNT_COLUMNS, &["asset", "username", "secret"][..]),
            ] {
                if let Ok(table) = Table::parse(&text, known, required) {
                    // No more rows than lines, each cell read without panicking.
                    prop_assert!(table.rows.len() <= text.matches(['\n', '\r']).count() + 1);
                    for (_, record) in &table.rows {
                        for column in known {
                            let _ = table.get(record, column);
                        }
                        let _ = parse_options(table.get(record, "options"));
                        let _ = parse_bool("privileged", table.get(record, "privileged"));
                    }
                }
            }
        }

        #[test]
        fn the_export_guard_is_inert_and_restores_exactly(cell in any::<String>()) {
            let written = inert(&cell);
            prop_assert!(!written.starts_with(['=', '+', '-', '@', '\t', '\r']));
            prop_assert_eq!(restore(&written), cell.as_str());
        }
    }
}
