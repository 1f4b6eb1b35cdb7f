//! Reconcile: for an account no stored secret opens (a password changed outside Tumbler, a
//! lost journal), the asset's reconcile account (one set on the asset, else its privileged
//! account) sets a new password without knowing or using the old one (Linux: `chpasswd`
//! through its session with sudo or su; databases: `ALTER ROLE`/`ALTER USER` through its
//! connection), verifies it by login and commits it. It is a run of its own (trigger
//! `reconcile`) of that one account, with the same write-ahead staging as any change; the
//! session never depends on the account's own stored secret, so the reconcile account can
//! never be the account itself.

use super::engine::{login_account, AssetPlan, TemplateGrant};
use super::session_order::become_names;
use super::tasks::TaskSpec;
use super::{require, ChangeSecretError, ChangeSecretService};
use crate::{event, Principal, RequestOrigin};
use serde::Serialize;
use std::collections::BTreeMap;
use tumbler_domain::audit::Outcome;
use tumbler_domain::change_secret::{
    ExecutionStatus, PasswordRules, RecordStatus, SecretStrategy, Trigger,
};
use tumbler_domain::ids::{AccountId, AssetId, ChangeTaskId, ExecutionId, RecordId};
use tumbler_domain::inventory::{AccountStatus, SecretType};
use tumbler_domain::permission::Permission;
use tumbler_domain::platform::{self, Protocol};
use tumbler_store::{AccountFilter, AccountRow, AssetRow, ExecutionRow, RecordFilter, RecordRow};

/// The most accounts one bulk reconcile names.
pub const MAX_RECONCILE_IDS: usize = 500;
/// The most accounts one asset contributes (as a run reads them).
const MAX_ACCOUNTS_PER_ASSET: i64 = 10_000;
/// The task id reconcile runs carry (they belong to no task).
const RECONCILE_TASK_ID: &str = "reconcile";
/// The task name reconcile runs carry.
const RECONCILE_TASK_NAME: &str = "Reconcile";

/// One reconcile started.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StartedReconcile {
    /// The account.
    pub account_id: AccountId,
    /// The reconcile's own execution.
    pub execution_id: ExecutionId,
    /// Its record.
    pub record_id: RecordId,
    /// The record's status when the answer was made (`pending` while it goes on).
    pub status: RecordStatus,
    /// The record's reason code (empty unless it failed).
    pub reason_code: String,
}

/// An account a reconcile left alone, and why.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkippedReconcile {
    /// The account.
    pub account_id: AccountId,
    /// A stable code: `not_found`, `not_needs_attention`, `account_changing`,
    /// `no_reconcile_account`, `reconcile_account_is_self`, `reconcile_unsupported`.
    pub code: String,
    /// Why, for people (never a secret).
    pub reason: String,
}

/// What a bulk reconcile did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReconcileOutcome {
    /// The reconciles started (each a run of its own).
    pub started: Vec<StartedReconcile>,
    /// The accounts not reconciled.
    pub skipped: Vec<SkippedReconcile>,
}

/// Why an account cannot be reconciled: a stable code and a message.
#[derive(Debug, Clone)]
pub(super) struct Refusal {
    pub(super) code: &'static str,
    pub(super) message: String,
}

impl Refusal {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<Refusal> for ChangeSecretError {
    fn from(r: Refusal) -> Self {
        ChangeSecretError::Reconcile {
            code: r.code,
            message: r.message,
        }
    }
}

/// The definition a reconcile changes with: a random password by the default rules, the
/// platform's own method, the reconcile account's options.
fn reconcile_spec(account: &AccountRow) -> TaskSpec {
    TaskSpec {
        usernames: vec![account.username.clone()],
        asset_ids: vec![account.asset_id.clone()],
        nodes: Vec::new(),
        secret_strategy: SecretStrategy::Random,
        secret_type: SecretType::Password,
        password_rules: PasswordRules::default(),
        ssh_key: Default::default(),
        custom_ssh: None,
        params: BTreeMap::new(),
        schedule: Default::default(),
        recipients: Vec::new(),
    }
}

/// The account that reconciles `account` on `asset` (of `all`, the asset's accounts), or why
/// none may: the session must never depend on the account's own stored secret.
pub(super) fn reconcile_account_for<'a>(
    asset: &AssetRow,
    all: &'a [AccountRow],
    account: &AccountRow,
) -> Result<&'a AccountRow, Refusal> {
    let who = format!("{}@{}", account.username, asset.name);
    let platform = platform::find(&asset.platform).ok_or_else(|| {
        Refusal::new(
            "reconcile_unsupported",
            format!("unknown platform {}", asset.platform),
        )
    })?;
    if account.secret_type != SecretType::Password {
        return Err(Refusal::new(
            "reconcile_unsupported",
            format!("{who} holds an SSH key; reconcile sets passwords"),
        ));
    }
    if platform.protocol == Protocol::Redis {
        return Err(Refusal::new(
            "reconcile_unsupported",
            format!(
                "{who}: Redis adds a password beside the old one, which reconcile cannot remove without knowing it"
            ),
        ));
    }
    let via = match &asset.reconcile_account_id {
        Some(id) => all.iter().find(|a| &a.id == id).ok_or_else(|| {
            Refusal::new(
                "no_reconcile_account",
                format!("the reconcile account set on {} no longer exists", asset.name),
            )
        })?,
        None => login_account(all).ok_or_else(|| {
            Refusal::new(
                "no_reconcile_account",
                format!(
                    "{} has neither a reconcile account nor a privileged account to set the password through",
                    asset.name
                ),
            )
        })?,
    };
    if via.id == account.id {
        return Err(Refusal::new(
            "reconcile_account_is_self",
            format!(
                "{who} is the account its asset is reconciled through: reconcile never logs in with the account's own secret; set another reconcile account on the asset"
            ),
        ));
    }
    // `su` types root's password: root cannot be reconciled through a session that needs it.
    let become_method = via
        .options
        .get("become")
        .cloned()
        .or_else(|| platform.option("become").map(|o| o.default.to_owned()))
        .unwrap_or_default();
    if become_method == "su"
        && account.secret_type == SecretType::Password
        && become_names(platform.unix_like).contains(&account.username.as_str())
    {
        return Err(Refusal::new(
            "reconcile_account_is_self",
            format!(
                "{who}: the reconcile account becomes root with su, which types {}'s own password; use a reconcile account with sudo",
                account.username
            ),
        ));
    }
    Ok(via)
}

impl ChangeSecretService {
    /// Reconciles one account of the caller's domains as a run of its own and waits for it,
    /// at most `account_timeout x (max_attempts + 2)`; returns the reconcile's record (as it
    /// stands then).
    pub async fn reconcile_account(
        &self,
        principal: &Principal,
        id: &AccountId,
        origin: &RequestOrigin,
    ) -> Result<RecordRow, ChangeSecretError> {
        require(principal, Permission::ChangesRun)?;
        let account = self.visible_account(principal, id).await?;
        let (exec_id, record_id) = self
            .start_reconcile(&principal.user.username, &account, origin)
            .await?;
        let me = self.clone();
        let run_id = exec_id.clone();
        let run = tokio::spawn(async move { me.run_reconcile(&run_id).await });
        let limit = self.settings.account_timeout * (self.settings.max_attempts.max(1) + 2);
        if tokio::time::timeout(limit, run).await.is_err() {
            tracing::warn!(execution = %exec_id, "a reconcile is still going after its answer's time limit");
        }
        self.store
            .record(&record_id)
            .await?
            .ok_or(ChangeSecretError::NotFound("record"))
    }

    /// Bulk reconcile of accounts in `needs_attention` (others are skipped with a code), in
    /// the background: accounts of one asset one after the other.
    pub async fn reconcile_selected(
        &self,
        principal: &Principal,
        ids: &[AccountId],
        origin: &RequestOrigin,
    ) -> Result<ReconcileOutcome, ChangeSecretError> {
        require(principal, Permission::ChangesRun)?;
        if ids.is_empty() || ids.len() > MAX_RECONCILE_IDS {
            return Err(ChangeSecretError::Invalid(
                tumbler_domain::inventory::InvalidValue {
                    field: "account_ids",
                    reason: format!("name between 1 and {MAX_RECONCILE_IDS} accounts"),
                },
            ));
        }
        let mut skipped = Vec::new();
        let mut accounts = Vec::new();
        for id in dedup(ids) {
            match self.visible_account(principal, &id).await {
                Ok(a) if a.status == AccountStatus::NeedsAttention => accounts.push(a),
                Ok(a) => skipped.push(SkippedReconcile {
                    account_id: id,
                    code: "not_needs_attention".to_owned(),
                    reason: format!(
                        "{}@{} is {}; only accounts in needs_attention are reconciled in bulk",
                        a.username, a.asset_name, a.status
                    ),
                }),
                Err(ChangeSecretError::NotFound(_)) => skipped.push(SkippedReconcile {
                    account_id: id,
                    code: "not_found".to_owned(),
                    reason: "no such account".to_owned(),
                }),
                Err(e) => return Err(e),
            }
        }
        let (started, more) = self
            .start_reconciles(&principal.user.username, accounts, origin, false)
            .await?;
        skipped.extend(more);
        Ok(ReconcileOutcome { started, skipped })
    }

    /// Reconciles `ids` (any status but `changing`, whatever their domain) on behalf of the
    /// system, for example after a restore, and waits until every reconcile has ended; the
    /// answer carries each one's final record status. Audited with `origin` as the source.
    pub async fn reconcile_accounts(
        &self,
        ids: &[AccountId],
        origin: &RequestOrigin,
    ) -> Result<ReconcileOutcome, ChangeSecretError> {
        let mut skipped = Vec::new();
        let mut accounts = Vec::new();
        for id in dedup(ids) {
            match self.store.account(&id).await? {
                Some(a) => accounts.push(a),
                None => skipped.push(SkippedReconcile {
                    account_id: id,
                    code: "not_found".to_owned(),
                    reason: "no such account".to_owned(),
                }),
            }
        }
        let (mut started, more) = self
            .start_reconciles("engine", accounts, origin, true)
            .await?;
        skipped.extend(more);
        for s in &mut started {
            if let Some(r) = self.store.record(&s.record_id).await? {
                s.status = r.status;
                s.reason_code = r.reason_code;
            }
        }
        Ok(ReconcileOutcome { started, skipped })
    }

    /// Starts a reconcile of each account; runs them (one asset's one after the other),
    /// waiting for the end when `wait`.
    async fn start_reconciles(
        &self,
        actor: &str,
        accounts: Vec<AccountRow>,
        origin: &RequestOrigin,
        wait: bool,
    ) -> Result<(Vec<StartedReconcile>, Vec<SkippedReconcile>), ChangeSecretError> {
        let mut started = Vec::new();
        let mut skipped = Vec::new();
        let mut queues: BTreeMap<AssetId, Vec<ExecutionId>> = BTreeMap::new();
        for account in accounts {
            match self.start_reconcile(actor, &account, origin).await {
                Ok((exec_id, record_id)) => {
                    queues
                        .entry(account.asset_id.clone())
                        .or_default()
                        .push(exec_id.clone());
                    started.push(StartedReconcile {
                        account_id: account.id.clone(),
                        execution_id: exec_id,
                        record_id,
                        status: RecordStatus::Pending,
                        reason_code: String::new(),
                    });
                }
                Err(ChangeSecretError::Reconcile { code, message }) => {
                    skipped.push(SkippedReconcile {
                        account_id: account.id.clone(),
                        code: code.to_owned(),
                        reason: message,
                    })
                }
                Err(e) => return Err(e),
            }
        }
        let mut runs = tokio::task::JoinSet::new();
        for (_, queue) in queues {
            let me = self.clone();
            runs.spawn(async move {
                for exec_id in queue {
                    me.run_reconcile(&exec_id).await;
                }
            });
        }
        if wait {
            while runs.join_next().await.is_some() {}
        } else {
            runs.detach_all();
        }
        Ok((started, skipped))
    }

    /// The account `id` if it is in the caller's domains (its asset's domain now).
    async fn visible_account(
        &self,
        principal: &Principal,
        id: &AccountId,
    ) -> Result<AccountRow, ChangeSecretError> {
        let account = self
            .store
            .account(id)
            .await?
            .ok_or(ChangeSecretError::NotFound("account"))?;
        let domain = match self.store.asset(&account.asset_id).await? {
            Some(asset) => asset.domain_id,
            None => account.domain_id.clone(),
        };
        if principal.visible_domains().contains(&domain) {
            Ok(account)
        } else {
            Err(ChangeSecretError::NotFound("account"))
        }
    }

    /// The asset's accounts.
    async fn asset_accounts(&self, asset: &AssetRow) -> Result<Vec<AccountRow>, ChangeSecretError> {
        let (all, _) = self
            .store
            .accounts(&AccountFilter {
                domains: vec![asset.domain_id.clone()],
                asset_id: Some(asset.id.clone()),
                limit: MAX_ACCOUNTS_PER_ASSET,
                ..AccountFilter::default()
            })
            .await?;
        Ok(all)
    }

    /// Checks that `account` may be reconciled and writes the reconcile's execution and its
    /// (pending) record, audited; returns their ids.
    pub(super) async fn start_reconcile(
        &self,
        actor: &str,
        account: &AccountRow,
        origin: &RequestOrigin,
    ) -> Result<(ExecutionId, RecordId), ChangeSecretError> {
        let asset = self
            .store
            .asset(&account.asset_id)
            .await?
            .ok_or(ChangeSecretError::NotFound("account"))?;
        let all = self.asset_accounts(&asset).await?;
        let via = reconcile_account_for(&asset, &all, account)?;
        if self.stage_owner_alive(account).await? {
            return Err(Refusal::new(
                "account_changing",
                "another change of this account is under way",
            )
            .into());
        }
        let now = self.clock.now();
        let row = ExecutionRow {
            id: ExecutionId::generate(),
            task_id: ChangeTaskId::from_string(RECONCILE_TASK_ID.to_owned()),
            task_name: RECONCILE_TASK_NAME.to_owned(),
            domain_id: asset.domain_id.clone(),
            trigger: Trigger::Reconcile,
            status: ExecutionStatus::Pending,
            owner_node: self.settings.node_name.clone(),
            heartbeat_at: now,
            created_by: actor.to_owned(),
            created_at: now,
            started_at: None,
            finished_at: None,
        };
        let record = RecordRow {
            id: RecordId::generate(),
            execution_id: row.id.clone(),
            account_id: account.id.clone(),
            asset_id: asset.id.clone(),
            asset_name: asset.name.clone(),
            domain_id: asset.domain_id.clone(),
            username: account.username.clone(),
            status: RecordStatus::Pending,
            reason_code: String::new(),
            reason: String::new(),
            old_version: Some(account.current_version),
            new_version: None,
            attempts: 0,
            new_secret_verified_at: None,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_execution(&row).await?;
        tx.insert_record(&record).await?;
        tx.append_audit(
            &event(
                actor,
                "account.reconcile",
                ("account", account.id.as_str()),
                Outcome::Success,
                origin,
                format!(
                    "{}@{} secret version {} reconciled through {} (execution {})",
                    account.username, asset.name, account.current_version, via.username, row.id
                ),
            ),
            now,
        )
        .await?;
        tx.append_log_line(
            &row.id,
            now,
            &format!(
                "reconcile of {}@{} through {}",
                account.username, asset.name, via.username
            ),
        )
        .await?;
        tx.commit().await?;
        Ok((row.id, record.id))
    }

    /// Runs a reconcile execution to its end.
    async fn run_reconcile(&self, id: &ExecutionId) {
        if let Err(e) = self.run_execution(id).await {
            tracing::error!(execution = %id, error = %e, "a reconcile failed");
        }
    }

    /// The work of a reconcile execution (called by the run): settle a stage nobody owns,
    /// check the reconcile account again, then change the account through the reconcile
    /// account's session as a run does.
    pub(super) async fn run_reconcile_plan(
        &self,
        exec: &ExecutionRow,
    ) -> Result<(), ChangeSecretError> {
        let (records, _) = self
            .store
            .records(&RecordFilter {
                domains: vec![exec.domain_id.clone()],
                execution_id: Some(exec.id.clone()),
                status: Some(RecordStatus::Pending),
                limit: 1,
                ..RecordFilter::default()
            })
            .await?;
        let Some(mut record) = records.into_iter().next() else {
            return Ok(());
        };
        let who = format!("{}@{}", record.username, record.asset_name);
        let account = self.store.account(&record.account_id).await?;
        let asset = self.store.asset(&record.asset_id).await?;
        let (Some(mut account), Some(asset)) = (account, asset) else {
            self.end_retry_record(
                exec,
                &mut record,
                RecordStatus::Failed,
                "not_found",
                "the account or its asset no longer exists; nothing was sent",
            )
            .await?;
            return Ok(());
        };
        let tofu = self.tofu().await;
        if let Some(pending) = account.pending_version {
            if self.stage_owner_alive(&account).await? {
                self.end_retry_record(
                    exec,
                    &mut record,
                    RecordStatus::Failed,
                    "change_in_progress",
                    "another change of this account is under way; nothing was sent",
                )
                .await?;
                return Ok(());
            }
            // A stage nobody owns: which secret works decides, as recovery does.
            self.log_line(
                &exec.id,
                &format!("{who}: a staged secret is left; checking which secret works"),
            )
            .await;
            let mut tx = self.store.begin().await?;
            let owner = tx.record_of_pending_change(&account.id, pending).await?;
            tx.commit().await?;
            let mut proved_nothing = true;
            if let Some(owner) = owner {
                if let Some(owner_exec) = self.store.execution(&owner.execution_id).await? {
                    self.settle_by_login(&owner_exec, &asset, &account, pending, tofu, "reconcile")
                        .await?;
                }
                // Every stored secret refused (not merely unreachable): the stage is dropped,
                // reconcile replaces all of them.
                proved_nothing = self
                    .store
                    .record(&owner.id)
                    .await?
                    .is_some_and(|r| r.reason_code == "verify_failed");
            }
            account = self
                .store
                .account(&account.id)
                .await?
                .ok_or(ChangeSecretError::NotFound("account"))?;
            if let Some(still) = account.pending_version {
                if !proved_nothing {
                    self.end_retry_record(
                        exec,
                        &mut record,
                        RecordStatus::Failed,
                        "verify_failed",
                        "the staged secret could be proved neither way (the target did not answer); reconcile again when it does",
                    )
                    .await?;
                    return Ok(());
                }
                let now = self.clock.now();
                let mut tx = self.store.begin().await?;
                tx.resolve_account_change(
                    &account.id,
                    still,
                    &tumbler_store::Resolution {
                        current_version: account.current_version,
                        previous_version: account.previous_version,
                        pending_version: None,
                        status: AccountStatus::NeedsAttention,
                        changed: false,
                        verified: false,
                    },
                    "reconcile: no stored secret logs in; a new one is being set",
                    now,
                )
                .await?;
                tx.commit().await?;
                account = self
                    .store
                    .account(&account.id)
                    .await?
                    .ok_or(ChangeSecretError::NotFound("account"))?;
            }
        }
        let all = self.asset_accounts(&asset).await?;
        let via = match reconcile_account_for(&asset, &all, &account) {
            Ok(v) => v.clone(),
            Err(r) => {
                self.end_retry_record(exec, &mut record, RecordStatus::Failed, r.code, &r.message)
                    .await?;
                return Ok(());
            }
        };
        record.old_version = Some(account.current_version);
        record.new_version = None;
        let mut tx = self.store.begin().await?;
        tx.update_record(&record).await?;
        tx.commit().await?;
        self.log_line(
            &exec.id,
            &format!(
                "started: {who}, a fresh secret set through {} (the old one is not used)",
                via.username
            ),
        )
        .await;
        let spec = reconcile_spec(&account);
        let plan = AssetPlan {
            asset,
            all_accounts: all,
            work: vec![(record, account)],
            via: Some(via),
        };
        let template = TemplateGrant {
            owner: "engine",
            allowed: true,
        };
        self.run_asset(exec, &spec, plan, None, tofu, template)
            .await;
        Ok(())
    }
}

/// `ids` without repeats, in their order.
fn dedup(ids: &[AccountId]) -> Vec<AccountId> {
    let mut seen = std::collections::BTreeSet::new();
    ids.iter()
        .filter(|id| seen.insert((*id).clone()))
        .cloned()
        .collect()
}
