//! One execution's run: resolve the task's accounts, apply secure mode, then per asset (many
//! at once) and per account (one after the other on one session): stage -> change -> verify
//! -> commit.

use super::crash::CrashPoint;
use super::session_order::{become_names, change_rank};
use super::target::{close, connection_lost, ChangeSession, Changer, Failure, Login, Method};
use super::tasks::TaskSpec;
use super::{ChangeSecretError, ChangeSecretService};
use crate::event;
use crate::inventory::Tree;
use crate::RequestOrigin;
use secrecy::SecretString;
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tumbler_connectors::ssh::generate_key_pair;
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::change_outcome::{decide, StoredVersions};
use tumbler_domain::change_secret::{
    secure_mode_skip, ExecutionStatus, RecordStatus, SecretStrategy, Trigger,
};
use tumbler_domain::custom_ssh::shipped_template;
use tumbler_domain::ids::{AssetId, ExecutionId, RecordId};
use tumbler_domain::inventory::{AccountStatus, NodePath, SecretType};
use tumbler_domain::permission::Permission;
use tumbler_domain::platform::{self, ChangeMethod, Platform, Protocol};
use tumbler_store::{
    AccountFilter, AccountRow, AssetFilter, AssetRow, ExecutionRow, RecordRow, Resolution,
    StoreError, TaskRow,
};

/// Whether the task's owner may have its custom template run (checked once per run).
#[derive(Clone, Copy)]
pub(super) struct TemplateGrant<'a> {
    /// The owner's username.
    pub(super) owner: &'a str,
    /// Whether the owner holds `secret_templates_manage` now.
    pub(super) allowed: bool,
}

/// The most accounts one asset contributes.
const MAX_ACCOUNTS_PER_ASSET: i64 = 10_000;
/// The most assets one execution covers.
const MAX_ASSETS: i64 = 100_000;

/// One asset's share of a run.
pub(super) struct AssetPlan {
    pub(super) asset: AssetRow,
    /// Every account of the asset (to find the privileged one and root).
    pub(super) all_accounts: Vec<AccountRow>,
    /// The accounts to change, with their records.
    pub(super) work: Vec<(RecordRow, AccountRow)>,
    /// The account whose session makes the changes instead of the privileged account (a
    /// reconcile's reconcile account); `None`: the privileged account.
    pub(super) via: Option<AccountRow>,
}

/// Where an account's secret stands after a change attempt (see
/// [`tumbler_domain::change_outcome`]).
pub(super) type ChangeOutcome = tumbler_domain::change_outcome::ChangeOutcome<Failure>;

/// One account's change under way: what every step of the write-ahead sequence
/// ([`ChangeSecretService::change_account`]) works with.
struct AccountChange<'a> {
    /// The run.
    exec: &'a ExecutionRow,
    /// How secrets change on the asset.
    changer: &'a Changer,
    /// The account as the run planned it.
    account: &'a AccountRow,
    /// The new secret.
    new: &'a SecretString,
    /// `user@asset`, for the run's log.
    who: String,
}

/// What the clean-up on the target needs to know of a change (the last step of
/// [`ChangeSecretService::change_account`]).
#[derive(Debug, Clone, Copy)]
struct Leftover {
    /// The new secret was committed.
    committed: bool,
    /// The old secret stays (the new one did not prove itself).
    not_changed: bool,
    /// The target may hold the new secret.
    reached_target: bool,
    /// The outcome was stored.
    stored: bool,
}

impl ChangeSecretService {
    /// Appends a line to the execution's log (never a secret). Failures to log are logged.
    pub(super) async fn log_line(&self, id: &ExecutionId, line: &str) {
        let _serial = self.log_lock.lock().await;
        let write = async {
            let mut tx = self.store.begin().await?;
            tx.append_log_line(id, self.clock.now(), line).await?;
            tx.commit().await
        };
        if let Err(e) = write.await {
            tracing::warn!(execution = %id, error = %e, "could not write an execution log line");
        }
    }

    /// Runs an execution to its end.
    pub(super) async fn run_execution(&self, id: &ExecutionId) -> Result<(), ChangeSecretError> {
        let exec = self
            .store
            .execution(id)
            .await?
            .ok_or(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Execution,
            ))?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.set_execution_status(id, ExecutionStatus::Running, Some(now), None)
            .await?;
        tx.commit().await?;
        let heartbeat = self.spawn_heartbeat();
        let result = if exec.trigger == Trigger::Retry {
            self.run_retry_plan(&exec).await
        } else if exec.trigger == Trigger::Reconcile {
            self.run_reconcile_plan(&exec).await
        } else {
            self.run_plan(&exec).await
        };
        // Anything still staged (a worker that hit an error or its time limit) is settled by
        // login now, so no account stays `changing` after the run.
        if let Err(e) = self.settle_pending_records(&exec, "not_finished").await {
            tracing::error!(execution = %id, error = %e, "settling the run's leftover accounts failed");
        }
        heartbeat.abort();
        let status = match &result {
            Ok(()) => self.final_status(id).await?,
            Err(e) => {
                self.log_line(id, &format!("the run stopped: {e}")).await;
                ExecutionStatus::Failed
            }
        };
        if status == ExecutionStatus::NothingChanged {
            let counts = self.store.execution_counts(id).await?;
            self.log_line(id, &nothing_changed_reason(&counts)).await;
        }
        let now = self.clock.now();
        let _serial = self.log_lock.lock().await;
        let mut tx = self.store.begin().await?;
        tx.set_execution_status(id, status, None, Some(now)).await?;
        tx.append_audit(
            &event(
                "engine",
                AuditAction::ChangeExecutionFinish,
                ("change_execution", id.as_str()),
                if status == ExecutionStatus::Succeeded {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                &RequestOrigin {
                    source: self.settings.node_name.clone(),
                },
                format!("task {}: {status}", exec.task_name),
            ),
            now,
        )
        .await?;
        // In the same transaction as the status: a reader that sees the run ended sees this.
        tx.append_log_line(id, now, &format!("finished: {status}"))
            .await?;
        tx.commit().await?;
        drop(_serial);
        self.mail_report(&exec, status).await;
        self.publish_finished(id).await;
        result
    }

    fn spawn_heartbeat(&self) -> tokio::task::JoinHandle<()> {
        let store = self.store.clone();
        let clock = self.clock.clone();
        let node = self.settings.node_name.clone();
        let every = (self.settings.stale_after / 4).max(std::time::Duration::from_secs(1));
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            loop {
                ticker.tick().await;
                if let Err(e) = store.heartbeat_executions(&node, clock.now()).await {
                    tracing::warn!(error = %e, "execution heartbeat failed");
                }
            }
        })
    }

    /// The status an execution ends with, from its records.
    async fn final_status(&self, id: &ExecutionId) -> Result<ExecutionStatus, ChangeSecretError> {
        let counts = self.store.execution_counts(id).await?;
        let n = |s: RecordStatus| counts.get(&s).copied().unwrap_or(0);
        let bad = n(RecordStatus::Failed) + n(RecordStatus::Unverified) + n(RecordStatus::Pending);
        Ok(if bad == 0 && n(RecordStatus::Success) == 0 {
            // A run that changed nothing does not claim success.
            ExecutionStatus::NothingChanged
        } else if bad == 0 {
            ExecutionStatus::Succeeded
        } else if n(RecordStatus::Success) == 0 {
            ExecutionStatus::Failed
        } else {
            ExecutionStatus::Partial
        })
    }

    async fn run_plan(&self, exec: &ExecutionRow) -> Result<(), ChangeSecretError> {
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
        let tofu = self.tofu().await;
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
                me.run_asset(&exec, &spec, plan, specified.as_ref(), tofu, template)
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
    async fn plan(
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
                    Some(s) => (RecordStatus::Ignored, s.code(), s.to_string()),
                    None if account.secret_type != spec.secret_type => (
                        RecordStatus::Ignored,
                        "secret_type_mismatch",
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
                    None => (RecordStatus::Pending, "", String::new()),
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
                    reason_code: code.to_owned(),
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

    /// Works through one asset's accounts on one session.
    pub(super) async fn run_asset(
        &self,
        exec: &ExecutionRow,
        spec: &TaskSpec,
        plan: AssetPlan,
        specified: Option<&SecretString>,
        tofu: bool,
        template: TemplateGrant<'_>,
    ) {
        if plan.work.is_empty() {
            return;
        }
        let mut changer = match self
            .changer_for(
                &plan.asset,
                &plan.all_accounts,
                spec,
                tofu,
                plan.via.as_ref(),
            )
            .await
        {
            Ok(c) => c,
            Err(e) => {
                let f = Failure::new("internal", e.to_string());
                for (record, account) in plan.work {
                    self.fail_unstaged(exec, record, &account, &f).await;
                }
                return;
            }
        };
        let needs_grant = matches!(changer.method, Method::Custom(_)) && spec.custom_ssh.is_some();
        if needs_grant && !template.allowed {
            let f = Failure::new(
                "template_not_allowed",
                format!(
                    "the task's owner {} does not hold secret_templates_manage, which its custom template needs on {} ({}); nothing was sent",
                    template.owner, plan.asset.name, plan.asset.platform
                ),
            );
            self.log_line(&exec.id, &format!("{}: {}", plan.asset.name, f.reason()))
                .await;
            for (record, account) in plan.work {
                self.fail_unstaged(exec, record, &account, &f).await;
            }
            return;
        }
        let mut shared: Option<ChangeSession> = None;
        if changer.privileged.is_some() || changer.key_session_serves() {
            match self.open_with_retries(exec, &changer, None).await {
                Ok(s) => shared = Some(s),
                Err(f) => {
                    self.log_line(
                        &exec.id,
                        &format!(
                            "{}: cannot change accounts: {}",
                            plan.asset.name,
                            f.reason()
                        ),
                    )
                    .await;
                    for (record, account) in plan.work {
                        self.fail_unstaged(exec, record, &account, &f).await;
                    }
                    return;
                }
            }
        }
        let mut work = plan.work.into_iter();
        while let Some((record, account)) = work.next() {
            // The host or its sshd dropped the session (during the last change, or since):
            // the remaining accounts get a new one.
            if shared.as_ref().is_some_and(connection_lost) {
                if let Some(s) = shared.take() {
                    close(s).await;
                }
                self.log_line(
                    &exec.id,
                    &format!("{}: the connection was lost; reconnecting", plan.asset.name),
                )
                .await;
                match self.open_with_retries(exec, &changer, None).await {
                    Ok(s) => shared = Some(s),
                    Err(f) => {
                        self.log_line(
                            &exec.id,
                            &format!("{}: cannot reconnect: {}", plan.asset.name, f.reason()),
                        )
                        .await;
                        self.fail_unstaged(exec, record, &account, &f).await;
                        for (record, account) in work.by_ref() {
                            self.fail_unstaged(exec, record, &account, &f).await;
                        }
                        break;
                    }
                }
            }
            let new = match (specified, spec.secret_type) {
                (Some(s), _) => Ok(s.clone()),
                (None, SecretType::Password) => {
                    // Rules come from a stored task: generate off the async workers, so even
                    // rules that slipped past validation cannot stall the runtime.
                    let rules = spec.password_rules.clone();
                    match tokio::task::spawn_blocking(move || rules.generate()).await {
                        Ok(r) => r.map_err(|e| Failure::new("invalid_rules", e.to_string())),
                        Err(_) => Err(Failure::new("internal", "password generation stopped")),
                    }
                }
                (None, SecretType::SshKey) => {
                    let algorithm = spec.ssh_key.algorithm;
                    let comment = format!("tumbler:{}", account.username);
                    // RSA key generation takes a while: off the async workers.
                    match tokio::task::spawn_blocking(move || {
                        generate_key_pair(algorithm, &comment)
                    })
                    .await
                    {
                        Ok(r) => r.map_err(|e| Failure::new("internal", e.to_string())),
                        Err(_) => Err(Failure::new("internal", "key generation stopped")),
                    }
                }
            };
            let new = match new {
                Ok(s) => s,
                Err(f) => {
                    self.fail_unstaged(exec, record, &account, &f).await;
                    continue;
                }
            };
            let limit = self.settings.account_timeout * (self.settings.max_attempts.max(1) + 1);
            let change = self.change_account(
                exec,
                &changer,
                shared.as_mut(),
                record.clone(),
                &account,
                &new,
            );
            let outcome = tokio::time::timeout(limit, change).await;
            if let Ok(Some(f)) = outcome {
                // The way to root fails for every account of the host: the others are not
                // tried (each try would be one more refused password on the host).
                let rest: Vec<_> = work.by_ref().collect();
                if !rest.is_empty() {
                    self.log_line(
                        &exec.id,
                        &format!(
                            "{}: {}; the other {} account(s) of this host were not tried",
                            plan.asset.name,
                            f.reason(),
                            rest.len()
                        ),
                    )
                    .await;
                }
                let not_tried = Failure::new(
                    f.code,
                    format!(
                        "not tried: {} (for another account of this host)",
                        f.message
                    ),
                );
                for (record, account) in rest {
                    self.store_unstaged_failure(record, &account, &not_tried)
                        .await;
                }
                break;
            }
            if outcome.is_err() {
                // A command cut off mid-way leaves the session in an unknown state: it is
                // closed (so nothing it sent can still land) before the secrets are tried, and
                // a fresh one serves the remaining accounts.
                if let Some(s) = shared.take() {
                    close(s).await;
                    match self.open_with_retries(exec, &changer, None).await {
                        Ok(s) => shared = Some(s),
                        Err(f) => {
                            self.log_line(
                                &exec.id,
                                &format!("{}: cannot reconnect: {}", plan.asset.name, f.reason()),
                            )
                            .await
                        }
                    }
                }
                // The account may be left staged: recovery-by-login settles it now.
                self.log_line(
                    &exec.id,
                    &format!(
                        "{}@{}: timed out; checking which secret works",
                        account.username, plan.asset.name
                    ),
                )
                .await;
                if let Ok(Some(fresh)) = self.store.account(&account.id).await {
                    if let Some(pending) = fresh.pending_version {
                        if let Err(e) = self
                            .settle_by_login(exec, &changer.asset, &fresh, pending, tofu, "timeout")
                            .await
                        {
                            tracing::error!(account = %fresh.id, error = %e, "could not settle a timed-out change");
                        }
                    }
                }
            }
            // su types root's password: after root changed, the new one.
            if let Err(e) = self.refresh_session_secrets(&mut changer, &account).await {
                tracing::error!(account = %account.id, error = %e, "could not read a changed session secret");
            }
        }
        if let Some(s) = shared {
            close(s).await;
        }
    }

    /// Who changes accounts on `asset`, and how (privileged account, become, shell).
    pub(super) async fn changer_for(
        &self,
        asset: &AssetRow,
        all_accounts: &[AccountRow],
        spec: &TaskSpec,
        tofu: bool,
        via: Option<&AccountRow>,
    ) -> Result<Changer, ChangeSecretError> {
        let platform = platform::find(&asset.platform).ok_or_else(|| {
            ChangeSecretError::RecordState(format!("unknown platform {}", asset.platform))
        })?;
        let login = via.or_else(|| login_account(all_accounts)).cloned();
        let privileged = match login {
            Some(a) => {
                let secret = self
                    .open_account_secret(a.id.as_str(), a.current_version)
                    .await?;
                Some((a, secret))
            }
            None => None,
        };
        // root's password (for `become = su`), or a network device's `enable` secret.
        let root = become_names(platform.unix_like)
            .iter()
            .find_map(|name| {
                all_accounts
                    .iter()
                    .find(|a| a.username == *name && a.secret_type == SecretType::Password)
            })
            .map(|a| (a.id.clone(), a.current_version));
        let root_secret = match &root {
            Some((id, version)) => Some(self.open_account_secret(id.as_str(), *version).await?),
            None => None,
        };
        let option = |name: &str| -> String {
            spec.params
                .get(name)
                .cloned()
                .or_else(|| {
                    privileged
                        .as_ref()
                        .and_then(|(a, _)| a.options.get(name).cloned())
                })
                .or_else(|| platform.option(name).map(|o| o.default.to_owned()))
                .unwrap_or_default()
        };
        let shell = match option("shell") {
            s if s.is_empty() => "/bin/sh".to_owned(),
            s => s,
        };
        // Stored before shells were limited: never start another program as root.
        if !platform::SYSTEM_SHELLS.contains(&shell.as_str()) {
            return Err(ChangeSecretError::RecordState(format!(
                "shell {shell:?} is not a system shell"
            )));
        }
        Ok(Changer {
            become_method: option("become"),
            shell,
            asset: asset.clone(),
            platform,
            privileged,
            root_account: root.map(|(id, _)| id),
            root_secret,
            tofu,
            method: method_for(platform, spec),
        })
    }

    /// Opens a change session, retrying (with back-off) while the target cannot be reached.
    async fn open_with_retries(
        &self,
        exec: &ExecutionRow,
        changer: &Changer,
        own: Option<(&AccountRow, &SecretString)>,
    ) -> Result<ChangeSession, Failure> {
        let mut attempt = 1;
        loop {
            match self.open_change_session(changer, own).await {
                Ok(s) => return Ok(s),
                Err(f) if f.transient && attempt < self.settings.max_attempts => {
                    let pause = self.settings.retry_backoff * 2u32.saturating_pow(attempt - 1);
                    self.log_line(
                        &exec.id,
                        &format!(
                            "{}: {} (attempt {attempt}); retrying in {} ms",
                            changer.asset.name,
                            f.reason(),
                            pause.as_millis()
                        ),
                    )
                    .await;
                    // A deliberate back-off between attempts at an unreachable target.
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                Err(f) => return Err(f),
            }
        }
    }

    /// Marks a record failed for an account that was never staged (nothing changed), and the
    /// account as needing attention.
    async fn fail_unstaged(
        &self,
        exec: &ExecutionRow,
        record: RecordRow,
        account: &AccountRow,
        f: &Failure,
    ) {
        let asset_name = record.asset_name.clone();
        self.store_unstaged_failure(record, account, f).await;
        self.log_line(
            &exec.id,
            &format!(
                "{}@{}: failed, {}",
                account.username,
                asset_name,
                f.reason()
            ),
        )
        .await;
    }

    /// Stores what [`Self::fail_unstaged`] stores, without a line in the run's log.
    async fn store_unstaged_failure(
        &self,
        mut record: RecordRow,
        account: &AccountRow,
        f: &Failure,
    ) {
        record.status = RecordStatus::Failed;
        record.reason_code = f.code.to_owned();
        record.reason = f.message.clone();
        record.updated_at = self.clock.now();
        let write = async {
            let mut tx = self.store.begin().await?;
            tx.update_record(&record).await?;
            if let Some(fresh) = tx.account(&account.id).await? {
                if fresh.pending_version.is_none() {
                    tx.set_account_verification(
                        &account.id,
                        AccountStatus::NeedsAttention,
                        &f.reason(),
                        fresh.last_verified_at,
                    )
                    .await?;
                }
            }
            tx.commit().await
        };
        if let Err(e) = write.await {
            tracing::error!(record = %record.id, error = %e, "could not record a failure");
        }
    }

    /// Stages the new secret (durable, sealed) and takes the account for this change; `None`
    /// when another change holds it.
    async fn stage(
        &self,
        exec: &ExecutionRow,
        record: &mut RecordRow,
        account: &AccountRow,
        new: &SecretString,
    ) -> Result<Option<(AccountRow, i64)>, ChangeSecretError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let fresh = tx
            .account(&account.id)
            .await?
            .ok_or(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Account,
            ))?;
        if fresh.pending_version.is_some() {
            return Ok(None);
        }
        let version = match (record.new_version, record.old_version) {
            // A retry re-stages the same new secret while the account is as it was.
            (Some(v), Some(old)) if old == fresh.current_version => v,
            _ => fresh.next_version,
        };
        // Take the account first (a compare-and-set that waits for, then loses to, a
        // concurrent stage), then seal: two runs that read the account at once must not both
        // write the same sealed version.
        if !tx
            .stage_account_change(&account.id, fresh.current_version, version, now)
            .await?
        {
            return Ok(None);
        }
        let plaintext = secrecy::ExposeSecret::expose_secret(new).as_bytes();
        if record.new_version != Some(version) {
            self.vault
                .seal(
                    &mut tx,
                    tumbler_domain::secret_owner::SecretOwner::Account,
                    account.id.as_str(),
                    version,
                    plaintext,
                )
                .await?;
        }
        // Escrowed (fsynced, outside the store) before the stage commits, so no secret can
        // reach a target that a restored backup and the journal together do not hold; a
        // journal that cannot be written stops the change here, with nothing sent.
        self.crash_point(CrashPoint::BeforeEscrow).await;
        self.escrow
            .staged(account.id.as_str(), version, now, plaintext)
            .await?;
        self.crash_point(CrashPoint::AfterEscrow).await;
        record.old_version = Some(fresh.current_version);
        record.new_version = Some(version);
        record.attempts += 1;
        record.status = RecordStatus::Pending;
        record.updated_at = now;
        tx.update_record(record).await?;
        tx.append_audit(
            &event(
                "engine",
                AuditAction::AccountChangeStage,
                ("account", account.id.as_str()),
                Outcome::Success,
                &RequestOrigin {
                    source: self.settings.node_name.clone(),
                },
                format!(
                    "{}@{} secret version {version} staged (execution {})",
                    account.username, record.asset_name, exec.id
                ),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some((fresh, version)))
    }

    /// The whole write-ahead sequence for one account: stage, push (with retries), verify,
    /// store the outcome, clean up on the target. Returns the failure when it concerns every
    /// account of the host (sudo or su refused the password it asked for), so the caller tries
    /// no other account there.
    pub(super) async fn change_account(
        &self,
        exec: &ExecutionRow,
        changer: &Changer,
        mut shared: Option<&mut ChangeSession>,
        mut record: RecordRow,
        account: &AccountRow,
        new: &SecretString,
    ) -> Option<Failure> {
        let c = AccountChange {
            exec,
            changer,
            account,
            new,
            who: format!("{}@{}", account.username, changer.asset.name),
        };
        let (fresh, version) = self.stage_step(&c, &mut record).await?;
        if !self.stage_still_ours(&c, version).await {
            return None;
        }
        let changed = self
            .push_with_retries(&c, shared.as_deref_mut(), &fresh)
            .await;
        // Whether the target may hold the new secret now.
        let reached_target = !matches!(&changed, Err(f) if !f.ambiguous);
        let outcome = self.verify_step(&c, &fresh, changed).await;
        let host_wide = match &outcome {
            ChangeOutcome::NotChanged(f) if f.code == "become_refused" => Some(f.clone()),
            _ => None,
        };
        let left = Leftover {
            committed: matches!(outcome, ChangeOutcome::Committed),
            not_changed: matches!(outcome, ChangeOutcome::NotChanged(_)),
            reached_target,
            stored: false,
        };
        let stored = self
            .store_outcome(exec, &mut record, &fresh, version, outcome)
            .await;
        let left = Leftover { stored, ..left };
        self.clean_up_on_target(&c, shared, &fresh, left).await;
        host_wide
    }

    /// Step 1, stage: the new secret staged and the account taken, with its version; `None`
    /// (the record stored, a line logged) when another change holds the account or staging
    /// failed. Reaches the `after_stage` crash point.
    async fn stage_step(
        &self,
        c: &AccountChange<'_>,
        record: &mut RecordRow,
    ) -> Option<(AccountRow, i64)> {
        let AccountChange {
            exec,
            account,
            new,
            ref who,
            ..
        } = *c;
        let (fresh, version) = match self.stage(exec, record, account, new).await {
            Ok(Some(staged)) => staged,
            Ok(None) => {
                // Not a failure: the other change (a manual run beside a scheduled one, say)
                // changes the account once; this run has nothing to do for it.
                let f = Failure::new(
                    "change_in_progress",
                    "another change of this account is under way; it is changed once, by that one",
                );
                record.status = RecordStatus::Ignored;
                record.reason_code = f.code.to_owned();
                record.reason = f.message.clone();
                record.updated_at = self.clock.now();
                let _ = self.save_record(record).await;
                self.log_line(&exec.id, &format!("{who}: skipped, {}", f.reason()))
                    .await;
                return None;
            }
            Err(e) => {
                let f = match &e {
                    ChangeSecretError::Escrow(e) => {
                        Failure::new(e.code(), format!("{e}; the new secret was not sent"))
                    }
                    e => Failure::new("internal", e.to_string()),
                };
                self.fail_unstaged(exec, record.clone(), account, &f).await;
                return None;
            }
        };
        self.log_line(
            &exec.id,
            &format!("{who}: new secret staged as version {version}"),
        )
        .await;
        self.crash_point(CrashPoint::Staged).await;
        Some((fresh, version))
    }

    /// The stage is ours until recovery takes it: looks again right before sending (logs when
    /// it was taken over).
    async fn stage_still_ours(&self, c: &AccountChange<'_>, version: i64) -> bool {
        let who = &c.who;
        match self.store.account(&c.account.id).await {
            Ok(Some(now)) if now.pending_version == Some(version) => true,
            _ => {
                self.log_line(
                    &c.exec.id,
                    &format!("{who}: the stage was taken over (recovery); not sent"),
                )
                .await;
                false
            }
        }
    }

    /// Step 2, push: changes the secret on the target, retrying (with back-off) while it
    /// cannot be reached; in the shared session, else in one of the account's own.
    async fn push_with_retries(
        &self,
        c: &AccountChange<'_>,
        mut shared: Option<&mut ChangeSession>,
        fresh: &AccountRow,
    ) -> Result<(), Failure> {
        let AccountChange {
            exec,
            changer,
            account,
            new,
            ref who,
        } = *c;
        let mut attempt = 1;
        loop {
            let result = match shared {
                Some(ref mut session) => {
                    self.change_on_target(changer, session, &account.username, new)
                        .await
                }
                None => self.push_in_own_session(c, fresh).await,
            };
            match result {
                Err(f) if f.transient && !f.ambiguous && attempt < self.settings.max_attempts => {
                    let pause = self.settings.retry_backoff * 2u32.saturating_pow(attempt - 1);
                    self.log_line(
                        &exec.id,
                        &format!("{who}: {} (attempt {attempt}); retrying", f.reason()),
                    )
                    .await;
                    // A deliberate back-off between attempts at an unreachable target.
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// One push in a session of the account's own (logged in with its current secret).
    async fn push_in_own_session(
        &self,
        c: &AccountChange<'_>,
        fresh: &AccountRow,
    ) -> Result<(), Failure> {
        let changer = c.changer;
        let current = self
            .open_account_secret(fresh.id.as_str(), fresh.current_version)
            .await
            .map_err(|e| Failure::new("internal", e.to_string()))?;
        let mut own = self
            .open_change_session(changer, Some((fresh, &current)))
            .await?;
        let r = self
            .change_on_target(changer, &mut own, &c.account.username, c.new)
            .await;
        close(own).await;
        r
    }

    /// Step 3, verify: where the account's secret stands after the push (`changed`): a fresh
    /// login with the new secret, or a probe of both after an ambiguous error. Reaches the
    /// `after_change`, `after_retry_change` and `after_verify` crash points.
    async fn verify_step(
        &self,
        c: &AccountChange<'_>,
        fresh: &AccountRow,
        changed: Result<(), Failure>,
    ) -> ChangeOutcome {
        let AccountChange {
            exec,
            changer,
            new,
            ref who,
            ..
        } = *c;
        match changed {
            Err(f) if f.ambiguous => {
                self.log_line(
                    &exec.id,
                    &format!("{who}: {}; checking which secret works", f.reason()),
                )
                .await;
                self.probe(changer, fresh, new, f).await
            }
            Err(f) => ChangeOutcome::NotChanged(f),
            Ok(()) => {
                self.crash_point(CrashPoint::Changed).await;
                if exec.trigger == Trigger::Retry {
                    self.crash_point(CrashPoint::RetryChanged).await;
                }
                self.log_line(&exec.id, &format!("{who}: changed on the target"))
                    .await;
                match self
                    .login_with(&changer.asset, changer.platform, fresh, new, changer.tofu)
                    .await
                {
                    Login::Works => {
                        self.crash_point(CrashPoint::Verified).await;
                        ChangeOutcome::Committed
                    }
                    Login::Inconclusive(f) => ChangeOutcome::Unverified(f),
                    Login::Refused => {
                        let f = Failure::new(
                            "verify_failed",
                            "the target accepted the change but refused a login with the new secret",
                        );
                        match self.current_works(changer, fresh).await {
                            Some(true) => ChangeOutcome::NotChanged(f),
                            _ => ChangeOutcome::Unknown(f),
                        }
                    }
                }
            }
        }
    }

    /// Step 4, store the outcome: whether it was stored (a failure is logged).
    async fn store_outcome(
        &self,
        exec: &ExecutionRow,
        record: &mut RecordRow,
        fresh: &AccountRow,
        version: i64,
        outcome: ChangeOutcome,
    ) -> bool {
        match self
            .apply_outcome(exec, record, fresh, version, outcome)
            .await
        {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(record = %record.id, error = %e, "could not store a change's outcome");
                false
            }
        }
    }

    /// Step 5, clean up on the target, once the outcome is stored: a shared session given up
    /// on (a lost reply) is replaced before anything more is sent; where the method adds the
    /// new secret beside the old one (Redis, SSH keys), the one that lost goes: the old one
    /// after the new one is committed, the new one when the old one stays.
    async fn clean_up_on_target(
        &self,
        c: &AccountChange<'_>,
        mut shared: Option<&mut ChangeSession>,
        fresh: &AccountRow,
        left: Leftover,
    ) {
        let AccountChange {
            exec,
            changer,
            account,
            new,
            ref who,
        } = *c;
        if let Some(session) = shared.as_mut().filter(|s| s.is_broken()) {
            if let Ok(fresh_session) = self.open_change_session(changer, None).await {
                close(std::mem::replace(*session, fresh_session)).await;
            }
        }
        let Some(session) = shared.filter(|_| changer.keeps_old_secret() && left.reached_target)
        else {
            return;
        };
        if left.committed && left.stored {
            self.remove_old_secret(exec, changer, session, fresh, new, who)
                .await
        } else if left.not_changed {
            let line = match self
                .finish_on_target(changer, session, &account.username, new, None)
                .await
            {
                Ok(_) => format!("{who}: the new secret, which did not prove itself, was removed"),
                Err(f) => format!(
                    "{who}: the new secret could not be removed ({}); it may still work there",
                    f.reason()
                ),
            };
            self.log_line(&exec.id, &line).await;
        }
    }

    /// Removes the old secret where the method keeps it beside the new one until the new one
    /// proved itself (Redis, SSH keys). A failure is logged, not fatal: the new secret works
    /// either way.
    async fn remove_old_secret(
        &self,
        exec: &ExecutionRow,
        changer: &Changer,
        session: &mut ChangeSession,
        account: &AccountRow,
        new: &SecretString,
        who: &str,
    ) {
        let line = match self
            .open_account_secret(account.id.as_str(), account.current_version)
            .await
        {
            Err(e) => format!("{who}: the old secret could not be read to remove it: {e}"),
            Ok(old) => match self
                .finish_on_target(changer, session, &account.username, &old, Some(new))
                .await
            {
                Ok(None) => format!("{who}: old secret removed"),
                Ok(Some(note)) => format!("{who}: old secret removed; {note}"),
                Err(f) => format!(
                    "{who}: the old secret could not be removed on {} ({}); it still works there",
                    changer.asset.name,
                    f.reason()
                ),
            },
        };
        self.log_line(&exec.id, &line).await;
    }

    async fn current_works(&self, changer: &Changer, account: &AccountRow) -> Option<bool> {
        let current = self
            .open_account_secret(account.id.as_str(), account.current_version)
            .await
            .ok()?;
        match self
            .login_with(
                &changer.asset,
                changer.platform,
                account,
                &current,
                changer.tofu,
            )
            .await
        {
            Login::Works => Some(true),
            Login::Refused => Some(false),
            Login::Inconclusive(_) => None,
        }
    }

    /// After an ambiguous error (`cause`): which secret works now?
    async fn probe(
        &self,
        changer: &Changer,
        account: &AccountRow,
        new: &SecretString,
        cause: Failure,
    ) -> ChangeOutcome {
        match self
            .login_with(&changer.asset, changer.platform, account, new, changer.tofu)
            .await
        {
            Login::Works => ChangeOutcome::Committed,
            Login::Inconclusive(f) => ChangeOutcome::Unverified(f),
            Login::Refused => {
                let f = Failure::new(
                    cause.code,
                    format!("{}; the old secret still works", cause.message),
                );
                match self.current_works(changer, account).await {
                    // The target may still apply the change: both secrets are kept (the new
                    // one pending) until a retry or verify proves which one works.
                    Some(true) if cause.may_land_later => ChangeOutcome::Unverified(Failure::new(
                        cause.code,
                        format!(
                            "{}; the old secret works for now and the new one stays pending until a retry or verify proves which one the target kept",
                            cause.message
                        ),
                    )),
                    Some(true) => ChangeOutcome::NotChanged(f),
                    _ => ChangeOutcome::Unknown(Failure::new(
                        "verify_failed",
                        "neither the new nor the old secret logs in",
                    )),
                }
            }
        }
    }

    async fn save_record(&self, record: &RecordRow) -> Result<(), ChangeSecretError> {
        let mut tx = self.store.begin().await?;
        tx.update_record(record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores where the account stands and the record's outcome, in one transaction with its
    /// audit event.
    pub(super) async fn apply_outcome(
        &self,
        exec: &ExecutionRow,
        record: &mut RecordRow,
        account: &AccountRow,
        version: i64,
        outcome: ChangeOutcome,
    ) -> Result<(), ChangeSecretError> {
        let now = self.clock.now();
        let who = format!("{}@{}", account.username, record.asset_name);
        let decision = decide(
            &outcome,
            StoredVersions {
                current: account.current_version,
                previous: account.previous_version,
            },
            version,
        );
        let resolution = Resolution {
            current_version: decision.account.current_version,
            previous_version: decision.account.previous_version,
            pending_version: decision.account.pending_version,
            status: decision.account.status,
            changed: decision.account.changed,
            verified: decision.account.verified,
        };
        let failure = outcome.failure();
        record.status = decision.record_status;
        record.reason_code = failure.map(|f| f.code.to_owned()).unwrap_or_default();
        record.reason = failure.map(|f| f.message.clone()).unwrap_or_default();
        record.updated_at = now;
        let account_reason = failure.map(Failure::reason).unwrap_or_default();
        let mut tx = self.store.begin().await?;
        let applied = tx
            .resolve_account_change(&account.id, version, &resolution, &account_reason, now)
            .await?;
        if !applied {
            record.status = RecordStatus::Failed;
            record.reason_code = "account_changed".to_owned();
            record.reason = "the account was changed by someone else meanwhile".to_owned();
        }
        tx.update_record(record).await?;
        tx.append_audit(
            &event(
                "engine",
                AuditAction::AccountChange,
                ("account", account.id.as_str()),
                if record.status == RecordStatus::Success {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                &RequestOrigin {
                    source: self.settings.node_name.clone(),
                },
                format!(
                    "{who} secret version {version}: {} (execution {})",
                    if record.reason_code.is_empty() {
                        "committed"
                    } else {
                        record.reason_code.as_str()
                    },
                    exec.id
                ),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        if applied && resolution.pending_version.is_none() {
            self.escrow
                .settled(
                    account.id.as_str(),
                    version,
                    resolution.current_version,
                    now,
                )
                .await;
        }
        let line = match record.status {
            RecordStatus::Success => format!("{who}: verified and committed as version {version}"),
            s => format!("{who}: {s}, {}: {}", record.reason_code, record.reason),
        };
        self.log_line(&exec.id, &line).await;
        Ok(())
    }
}

/// How secrets change on an asset of `platform` for a task: SSH keys in `authorized_keys`; a
/// task's own custom-SSH template on any SSH asset; else the platform's own method (its
/// shipped template for custom-SSH platforms).
fn method_for(platform: &Platform, spec: &TaskSpec) -> Method {
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
pub(super) fn login_account(accounts: &[AccountRow]) -> Option<&AccountRow> {
    accounts
        .iter()
        .filter(|a| a.privileged)
        .min_by(|a, b| a.username.cmp(&b.username))
}

/// Why a run ended `nothing_changed`, from its record counts.
pub(super) fn nothing_changed_reason(
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
async fn target_asset_ids(
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
pub(super) async fn user_holds(
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
