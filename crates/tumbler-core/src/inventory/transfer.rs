//! CSV import and export of assets and accounts: what both share (the columns, the parsed
//! table, cell parsing, inert CSV writing, the import report and its audit). The import and
//! export of each are in `asset_transfer.rs` and `account_transfer.rs`.
//!
//! Import checks every row as `create` would, reports each bad row with its line and reason,
//! and stores nothing of a file that has errors unless asked to skip them; the rows it stores
//! go in one transaction. Export leaves secrets out unless asked, which needs the export
//! permission and a fresh TOTP code and is audited.

use super::{InventoryError, InventoryService, MAX_PAGE};
use crate::csv_cells::{restore, InertCsvWriter};
use crate::{event, Principal, RequestOrigin};
use std::collections::{BTreeMap, HashMap};
use tumbler_domain::audit::AuditAction;
use tumbler_domain::audit::Outcome;
use tumbler_domain::ids::DomainId;
use tumbler_domain::inventory::InvalidValue;
use tumbler_store::{AssetFilter, AssetRow};
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
pub(super) struct Table {
    columns: HashMap<String, usize>,
    pub(super) rows: Vec<(u64, csv::StringRecord)>,
}

impl Table {
    pub(super) fn parse(
        text: &str,
        known: &[&str],
        required: &[&str],
    ) -> Result<Self, InventoryError> {
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
    pub(super) fn get<'r>(&self, record: &'r csv::StringRecord, column: &str) -> &'r str {
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

pub(super) fn problem(line: u64, error: &InventoryError) -> ImportProblem {
    ImportProblem {
        line,
        field: error.field().map(str::to_owned),
        reason: error.to_string(),
    }
}

pub(super) fn optional(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

pub(super) fn parse_options(text: &str) -> Result<BTreeMap<String, String>, InventoryError> {
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

pub(super) fn parse_bool(field: &'static str, text: &str) -> Result<bool, InventoryError> {
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
pub(super) fn write_csv(
    header: &[&str],
    rows: &[Vec<String>],
) -> Result<Zeroizing<String>, InventoryError> {
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
pub(super) fn rejected_unless_skipped(
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
pub(super) async fn all_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, InventoryError>
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
    pub(super) async fn all_visible_assets(
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
    pub(super) async fn finish_import(
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

    pub(super) async fn domain_names(&self) -> Result<HashMap<DomainId, String>, InventoryError> {
        Ok(self
            .store
            .domains()
            .await?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect())
    }

    pub(super) async fn audit_export(
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
