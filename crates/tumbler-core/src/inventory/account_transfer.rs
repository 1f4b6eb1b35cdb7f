//! CSV import and export of accounts ([`super::ACCOUNT_COLUMNS`]); secrets in an export
//! need the export permission and a fresh TOTP code.

use super::{require, AccountInput, InventoryError, InventoryService, MAX_PAGE};
use crate::{Principal, RequestOrigin};
use secrecy::SecretString;
use std::collections::HashSet;
use tumbler_domain::audit::AuditAction;
use tumbler_domain::ids::AssetId;
use tumbler_domain::inventory::{InvalidValue, SecretType};
use tumbler_domain::permission::Permission;
use tumbler_store::{AccountFilter, AccountRow, AssetRow};
use zeroize::Zeroizing;

use super::transfer::{
    all_pages, optional, parse_bool, parse_options, problem, rejected_unless_skipped, write_csv,
    Table,
};
use super::{ImportProblem, ImportReport, ACCOUNT_COLUMNS};

impl InventoryService {
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
                super::account_secret::decode_key_off_runtime(account.secret_type, &secret).await
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
                .step_up_to_read(principal, totp, AuditAction::AccountExport, origin)
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
