//! Planning a run: resolve the task's accounts and assets, apply secure mode, write the
//! pending records, then run each asset's share (many at once).

use super::session_order::change_rank;
use super::target::Method;
use super::ChangeEngine;
use crate::change_secret::tasks::TaskSpec;
use crate::change_secret::ChangeSecretError;
use crate::inventory::Tree;
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tumbler_domain::change_secret::{secure_mode_skip, RecordStatus, SecretStrategy};
use tumbler_domain::custom_ssh::shipped_template;
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::{AssetId, RecordId};
use tumbler_domain::inventory::{NodePath, SecretType};
use tumbler_domain::permission::Permission;
use tumbler_domain::platform::{ChangeMethod, Platform, Protocol};
use tumbler_store::{
    AccountFilter, AccountRow, AssetFilter, AssetRow, ExecutionRow, RecordRow, StoreError, TaskRow,
};

/// Whether the task's owner may have its custom template run (checked once per run).
#[derive(Clone, Copy)]
pub(in crate::change_secret) struct TemplateGrant<'a> {
    /// The owner's username.
    pub(in crate::change_secret) owner: &'a str,
    /// Whether the owner holds `secret_templates_manage` now.
    pub(in crate::change_secret) allowed: bool,
}

/// The most accounts one asset contributes.
pub(in crate::change_secret) const MAX_ACCOUNTS_PER_ASSET: i64 = 10_000;
/// The most assets one execution covers.
pub(in crate::change_secret) const MAX_ASSETS: i64 = 100_000;

/// One asset's share of a run.
pub(in crate::change_secret) struct AssetPlan {
    pub(in crate::change_secret) asset: AssetRow,
    /// Every account of the asset (to find the privileged one and root).
    pub(in crate::change_secret) all_accounts: Vec<AccountRow>,
    /// The accounts to change, with their records.
    pub(in crate::change_secret) work: Vec<(RecordRow, AccountRow)>,
    /// The account whose session makes the changes instead of the privileged account (a
    /// reconcile's reconcile account); `None`: the privileged account.
    pub(in crate::change_secret) via: Option<AccountRow>,
}

impl ChangeEngine {
    pub(in crate::change_secret) async fn run_plan(
        &self,
        exec: &ExecutionRow,
    ) -> Result<(), ChangeSecretError> {
        let task =
            self.store
                .change_task(&exec.task_id)
                .await?
                .ok_or(ChangeSecretError::NotFound(
                    tumbler_domain::object::ObjectKind::Task,
                ))?;
        let spec: TaskSpec = serde_json::from_str(&task.spec)
            .map_err(|_| StoreError::Corrupt("task definition".to_owned()))?;
        let specified = match (spec.secret_strategy, task.specified_secret_version) {
            (SecretStrategy::Specified, Some(v)) => Some(self.open_task_secret(&task.id, v).await?),
            (SecretStrategy::Specified, None) => {
                return Err(ChangeSecretError::RecordState(
                    "the task has no specified secret".to_owned(),
                ))
            }
            (SecretStrategy::Random, _) => None,
        };
        let plans = self.plan(exec, &task, &spec).await?;
        let total: usize = plans.iter().map(|p| p.work.len()).sum();
        self.log_line(
            &exec.id,
            &format!(
                "started: {} asset(s), {total} account(s) to change{}",
                plans.len(),
                if self.settings.secure_mode {
                    ""
                } else {
                    " (secure mode off)"
                }
            ),
        )
        .await;
        let trust_unverified_host_key = self.trust_unverified_host_key().await;
        // The task's own template may need a permission: its owner must still hold it now
        // (a schedule keeps running after the owner lost a role).
        let owner_may_template = spec.custom_ssh.is_none()
            || user_holds(
                &self.store,
                &task.created_by,
                Permission::SecretTemplatesManage,
            )
            .await?;
        let owner = task.created_by.clone();
        let limit = Arc::new(Semaphore::new(self.settings.max_parallel_assets.max(1)));
        let mut workers = tokio::task::JoinSet::new();
        for plan in plans {
            let (me, exec, spec, specified, limit, owner) = (
                self.clone(),
                exec.clone(),
                spec.clone(),
                specified.clone(),
                limit.clone(),
                owner.clone(),
            );
            workers.spawn(async move {
                let Ok(_run_permit) = limit.acquire_owned().await else {
                    return;
                };
                let Ok(_node_permit) = me.permits.clone().acquire_owned().await else {
                    return;
                };
                let template = TemplateGrant {
                    owner: &owner,
                    allowed: owner_may_template,
                };
                me.run_asset(
                    &exec,
                    &spec,
                    plan,
                    specified.as_ref(),
                    trust_unverified_host_key,
                    template,
                )
                .await;
            });
        }
        while let Some(joined) = workers.join_next().await {
            if let Err(e) = joined {
                tracing::error!(execution = %exec.id, error = %e, "an asset worker panicked");
            }
        }
        Ok(())
    }

    /// Resolves the task's assets and accounts and writes a record for each account (secure
    /// mode's skips as `ignored` with the reason).
    pub(in crate::change_secret) async fn plan(
        &self,
        exec: &ExecutionRow,
        task: &TaskRow,
        spec: &TaskSpec,
    ) -> Result<Vec<AssetPlan>, ChangeSecretError> {
        let (asset_ids, missing) = target_asset_ids(&self.store, &task.domain_id, spec).await?;
        for path in missing {
            self.log_line(&exec.id, &format!("node {path} no longer exists"))
                .await;
        }
        let usernames: BTreeSet<&str> = spec.usernames.iter().map(String::as_str).collect();
        let now = self.clock.now();
        let mut plans = Vec::new();
        let mut records = Vec::new();
        for asset_id in asset_ids {
            let Some(asset) = self
                .store
                .asset(&asset_id)
                .await?
                .filter(|a| a.domain_id == task.domain_id)
            else {
                self.log_line(&exec.id, &format!("asset {asset_id} no longer exists"))
                    .await;
                continue;
            };
            let (all_accounts, _) = self
                .store
                .accounts(&AccountFilter {
                    domains: vec![task.domain_id.clone()],
                    asset_id: Some(asset.id.clone()),
                    limit: MAX_ACCOUNTS_PER_ASSET,
                    ..AccountFilter::default()
                })
                .await?;
            let login = login_account(&all_accounts).map(|a| a.id.clone());
            let mut work = Vec::new();
            let selected: Vec<AccountRow> = all_accounts
                .iter()
                .filter(|a| usernames.contains(a.username.as_str()))
                .cloned()
                .collect();
            for account in &selected {
                let skip = if self.settings.secure_mode {
                    secure_mode_skip(
                        &account.username,
                        account.privileged,
                        login.as_ref() == Some(&account.id),
                    )
                } else {
                    None
                };
                let (status, code, reason) = match skip {
                    Some(s) => (RecordStatus::Ignored, Some(s.code()), s.to_string()),
                    None if account.secret_type != spec.secret_type => (
                        RecordStatus::Ignored,
                        Some(FailureCode::SecretTypeMismatch),
                        match spec.secret_type {
                            SecretType::Password => {
                                "the account holds an SSH key; this task changes passwords"
                            }
                            SecretType::SshKey => {
                                "the account holds a password; this task changes SSH keys"
                            }
                        }
                        .to_owned(),
                    ),
                    None => (RecordStatus::Pending, None, String::new()),
                };
                let record = RecordRow {
                    id: RecordId::generate(),
                    execution_id: exec.id.clone(),
                    account_id: account.id.clone(),
                    asset_id: asset.id.clone(),
                    asset_name: asset.name.clone(),
                    domain_id: asset.domain_id.clone(),
                    username: account.username.clone(),
                    status,
                    reason_code: code,
                    reason: reason.clone(),
                    old_version: Some(account.current_version),
                    new_version: None,
                    attempts: 0,
                    new_secret_verified_at: None,
                    created_at: now,
                    updated_at: now,
                };
                if status == RecordStatus::Pending {
                    work.push((record.clone(), account.clone()));
                } else {
                    self.log_line(
                        &exec.id,
                        &format!("{}@{}: skipped, {reason}", account.username, asset.name),
                    )
                    .await;
                }
                records.push(record);
            }
            // The accounts the session depends on go last (see `session_order`).
            work.sort_by_key(|(_, a)| change_rank(a, login.as_ref()));
            plans.push(AssetPlan {
                asset,
                all_accounts,
                work,
                via: None,
            });
        }
        let mut tx = self.store.begin().await?;
        for r in &records {
            tx.insert_record(r).await?;
        }
        tx.commit().await?;
        Ok(plans)
    }
}

/// How secrets change on an asset of `platform` for a task: SSH keys in `authorized_keys`; a
/// task's own custom-SSH template on any SSH asset; else the platform's own method (its
/// shipped template for custom-SSH platforms).
pub(in crate::change_secret) fn method_for(platform: &Platform, spec: &TaskSpec) -> Method {
    let first = platform.change.first().copied();
    match spec.secret_type {
        SecretType::SshKey => {
            if platform.change.contains(&ChangeMethod::UnixAuthorizedKeys) {
                Method::AuthorizedKeys(spec.ssh_key)
            } else {
                Method::Unsupported(format!("SSH keys cannot be changed on {}", platform.name))
            }
        }
        SecretType::Password => match (&spec.custom_ssh, first) {
            (Some(template), _) if platform.protocol == Protocol::Ssh => {
                Method::Custom(template.clone())
            }
            (_, Some(ChangeMethod::CustomSsh)) => match shipped_template(platform.id) {
                Some(t) => Method::Custom(t),
                None => Method::Unsupported(format!(
                    "{} needs the task's own custom-SSH template",
                    platform.name
                )),
            },
            (_, Some(ChangeMethod::UnixAuthorizedKeys)) | (_, None) => {
                Method::Unsupported(format!("passwords cannot be changed on {}", platform.name))
            }
            (_, Some(m)) => Method::Builtin(m),
        },
    }
}

/// The account Tumbler logs in with to change others: the first privileged account.
pub(in crate::change_secret) fn login_account(accounts: &[AccountRow]) -> Option<&AccountRow> {
    accounts
        .iter()
        .filter(|a| a.privileged)
        .min_by(|a, b| a.username.cmp(&b.username))
}

/// Why a run ended `nothing_changed`, from its record counts.
pub(in crate::change_secret) fn nothing_changed_reason(
    counts: &std::collections::BTreeMap<RecordStatus, i64>,
) -> String {
    if counts.values().sum::<i64>() == 0 {
        "nothing was changed: the task's nodes, assets and usernames matched no account".to_owned()
    } else {
        "nothing was changed: every matched account was skipped (see each record's reason)"
            .to_owned()
    }
}

/// The ids of the assets a task targets (its assets, and those of its nodes and below, in
/// its domain), and the node paths that name no node.
pub(in crate::change_secret) async fn target_asset_ids(
    store: &tumbler_store::Store,
    domain: &tumbler_domain::ids::DomainId,
    spec: &TaskSpec,
) -> Result<(BTreeSet<AssetId>, Vec<String>), StoreError> {
    let mut asset_ids: BTreeSet<AssetId> = spec.asset_ids.iter().cloned().collect();
    let mut missing = Vec::new();
    if !spec.nodes.is_empty() {
        let tree = Tree::new(store.nodes().await?);
        let mut node_ids = Vec::new();
        for path in &spec.nodes {
            if let Some(node) = NodePath::parse(path).ok().and_then(|p| tree.find(&p)) {
                node_ids.extend(tree.subtree(&node.id));
            } else {
                missing.push(path.clone());
            }
        }
        if !node_ids.is_empty() {
            let (rows, _) = store
                .assets(&AssetFilter {
                    domains: vec![domain.clone()],
                    nodes: Some(node_ids),
                    limit: MAX_ASSETS,
                    ..AssetFilter::default()
                })
                .await?;
            asset_ids.extend(rows.into_iter().map(|a| a.id));
        }
    }
    Ok((asset_ids, missing))
}

/// Whether the user named `username` exists, is enabled and holds `permission` now.
pub(in crate::change_secret) async fn user_holds(
    store: &tumbler_store::Store,
    username: &str,
    permission: Permission,
) -> Result<bool, StoreError> {
    let Some(row) = store.user_by_username(username).await? else {
        return Ok(false);
    };
    if row.user.status != tumbler_domain::user::UserStatus::Enabled {
        return Ok(false);
    }
    Ok(store
        .roles()
        .await?
        .iter()
        .filter(|r| row.user.roles.contains(&r.name))
        .any(|r| r.permissions.contains(&permission)))
}
