//! Tasks: create, edit, copy, delete, enable/disable, execute now; and executions as seen by
//! people (status, trigger, times, counts, log).

use super::{page_limit, require, ChangeSecretError, ChangeSecretService};
use crate::{event, Principal, RequestOrigin};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::change_secret::{
    ExecutionStatus, PasswordRules, RecordStatus, SecretStrategy, Trigger,
};
use tumbler_domain::custom_ssh::CustomSshTemplate;
use tumbler_domain::ids::{AssetId, ChangeTaskId, DomainId, ExecutionId, RecordId, UserId};
use tumbler_domain::inventory::{InvalidValue, NodePath, SecretType};
use tumbler_domain::permission::Permission;
use tumbler_domain::schedule::{Schedule, TimeZoneName};
use tumbler_domain::ssh_key::SshKeyOptions;
use tumbler_store::{ExecutionFilter, ExecutionRow, LogLine, StoreError, TaskRow, Tx};

/// The longest task name, in characters.
const MAX_NAME: usize = 128;
/// The most usernames one task names.
const MAX_USERNAMES: usize = 10_000;
/// Task parameters accepted, with their allowed values (empty: an absolute path).
const PARAMS: &[(&str, &[&str])] = &[
    ("become", &["sudo", "su", "none"]),
    ("shell", tumbler_domain::platform::SYSTEM_SHELLS),
];

/// A task's definition, as stored (never holds a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskSpec {
    /// Usernames whose secrets change, on every selected asset.
    pub usernames: Vec<String>,
    /// Assets selected by id.
    pub asset_ids: Vec<AssetId>,
    /// Nodes whose assets (and their sub-nodes' assets) are selected, by path.
    pub nodes: Vec<String>,
    /// How the new secret is made.
    pub secret_strategy: SecretStrategy,
    /// What kind of secret changes.
    pub secret_type: SecretType,
    /// Rules for random passwords.
    pub password_rules: PasswordRules,
    /// How new SSH keys are made and installed (for `secret_type: ssh_key`).
    #[serde(default)]
    pub ssh_key: SshKeyOptions,
    /// The task's own custom-SSH template, used on every SSH asset instead of the platform's
    /// method (password changes only).
    #[serde(default)]
    pub custom_ssh: Option<CustomSshTemplate>,
    /// Platform parameters (`become`, `shell`), overriding the privileged account's options.
    pub params: BTreeMap<String, String>,
    /// When it runs by itself.
    pub schedule: Schedule,
    /// Users told when a run ends.
    pub recipients: Vec<UserId>,
}

/// A new task, as a request gives it.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskInput {
    /// Name, unique in the domain.
    pub name: String,
    /// Usernames whose secrets change.
    pub usernames: Vec<String>,
    /// Assets by id.
    #[serde(default)]
    pub asset_ids: Vec<AssetId>,
    /// Nodes by path.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// `random` or `specified`.
    pub secret_strategy: SecretStrategy,
    /// `password` or `ssh_key`.
    #[serde(default = "default_secret_type")]
    pub secret_type: SecretType,
    /// Key algorithm and strategy, for `ssh_key`.
    #[serde(default)]
    pub ssh_key: Option<SshKeyOptions>,
    /// A custom-SSH template for password changes.
    #[serde(default)]
    pub custom_ssh: Option<CustomSshTemplate>,
    /// The new secret, for `specified`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Password))]
    pub secret: Option<SecretString>,
    /// Rules for `random`.
    #[serde(default)]
    pub password_rules: Option<PasswordRules>,
    /// Platform parameters.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Schedule.
    #[serde(default)]
    pub schedule: Option<Schedule>,
    /// Users told when a run ends.
    #[serde(default)]
    pub recipients: Vec<UserId>,
    /// Whether it may run (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
}

fn default_secret_type() -> SecretType {
    SecretType::Password
}

/// Changes to a task: every field optional.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskPatch {
    /// New name.
    pub name: Option<String>,
    /// New usernames.
    pub usernames: Option<Vec<String>>,
    /// New assets.
    pub asset_ids: Option<Vec<AssetId>>,
    /// New nodes.
    pub nodes: Option<Vec<String>>,
    /// New strategy.
    pub secret_strategy: Option<SecretStrategy>,
    /// New secret type.
    pub secret_type: Option<SecretType>,
    /// New specified secret.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Password))]
    pub secret: Option<SecretString>,
    /// New rules.
    pub password_rules: Option<PasswordRules>,
    /// New key options.
    pub ssh_key: Option<SshKeyOptions>,
    /// New custom-SSH template (absent keeps it; `clear_custom_ssh` removes it).
    pub custom_ssh: Option<CustomSshTemplate>,
    /// Removes the task's custom-SSH template.
    #[serde(default)]
    pub clear_custom_ssh: bool,
    /// New parameters.
    pub params: Option<BTreeMap<String, String>>,
    /// New schedule.
    pub schedule: Option<Schedule>,
    /// New recipients.
    pub recipients: Option<Vec<UserId>>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

/// A task as shown to people (never its secret).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskView {
    /// Id.
    pub id: ChangeTaskId,
    /// Name.
    pub name: String,
    /// Domain.
    pub domain_id: DomainId,
    /// Definition.
    #[serde(flatten)]
    pub spec: TaskSpec,
    /// Whether a specified secret is stored.
    pub has_secret: bool,
    /// Whether it may run.
    pub enabled: bool,
    /// The next slot of its schedule.
    pub next_run_at: Option<DateTime<Utc>>,
    /// The next slot as wall-clock time in the server's zone (RFC 3339 with its offset).
    pub next_run_at_local: Option<String>,
    /// The zone cron schedules are read in (`change_secret.time_zone`).
    pub time_zone: String,
    /// Who created it.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// An execution as shown to people.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExecutionView {
    /// Id.
    pub id: ExecutionId,
    /// Its task.
    pub task_id: ChangeTaskId,
    /// The task's name when it ran.
    pub task_name: String,
    /// What started it.
    pub trigger: Trigger,
    /// State.
    pub status: ExecutionStatus,
    /// Who started it.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Start time.
    pub started_at: Option<DateTime<Utc>>,
    /// End time.
    pub finished_at: Option<DateTime<Utc>>,
    /// Records per status.
    pub counts: BTreeMap<RecordStatus, i64>,
    /// Why it ended as it did, when the status alone does not say (`nothing_changed`).
    pub reason: String,
    /// For a retry (trigger `retry`): the record it retries.
    pub retry_of_record_id: Option<RecordId>,
    /// For a retry: the run of that record.
    pub retry_of_execution_id: Option<ExecutionId>,
    /// How many of its records were retried (retries of retries count for the first run).
    pub retried: i64,
    /// How many of its records that did not succeed were then completed by a retry.
    pub completed_by_retries: i64,
    /// Records per status once retries are counted (each record's latest ended retry's
    /// outcome); the same as `counts` when nothing was retried.
    pub counts_after_retries: BTreeMap<RecordStatus, i64>,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ChangeSecretError {
    ChangeSecretError::Invalid(InvalidValue {
        field,
        reason: reason.into(),
    })
}

fn view(row: TaskRow, zone: &TimeZoneName) -> Result<TaskView, ChangeSecretError> {
    let spec: TaskSpec = serde_json::from_str(&row.spec)
        .map_err(|_| StoreError::Corrupt("task definition".to_owned()))?;
    Ok(TaskView {
        next_run_at_local: row.next_run_at.map(|t| t.with_timezone(zone).to_rfc3339()),
        time_zone: zone.name().to_owned(),
        id: row.id,
        name: row.name,
        domain_id: row.domain_id,
        spec,
        has_secret: row.specified_secret_version.is_some(),
        enabled: row.enabled,
        next_run_at: row.next_run_at,
        created_by: row.created_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Checks a whole definition and returns it normalised.
fn validate(
    name: &str,
    mut spec: TaskSpec,
    has_secret: bool,
) -> Result<(String, TaskSpec), ChangeSecretError> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            format!("a name of 1 to {MAX_NAME} printable characters is required"),
        ));
    }
    spec.usernames = spec.usernames.iter().map(|u| u.trim().to_owned()).collect();
    spec.usernames.sort();
    spec.usernames.dedup();
    if spec.usernames.is_empty() || spec.usernames.len() > MAX_USERNAMES {
        return Err(invalid(
            "usernames",
            format!("give 1 to {MAX_USERNAMES} usernames"),
        ));
    }
    if let Some(bad) = spec.usernames.iter().find(|u| {
        u.is_empty() || u.len() > 64 || u.chars().any(|c| c.is_whitespace() || c.is_control())
    }) {
        return Err(invalid("usernames", format!("{bad:?} is not a username")));
    }
    for node in &spec.nodes {
        NodePath::parse(node)?;
    }
    if spec.asset_ids.is_empty() && spec.nodes.is_empty() {
        return Err(invalid("asset_ids", "select at least one asset or node"));
    }
    if spec.secret_type == SecretType::SshKey {
        if spec.secret_strategy != SecretStrategy::Random {
            return Err(invalid(
                "secret_strategy",
                "SSH keys are always generated (random); a specified key is not accepted",
            ));
        }
        if spec.custom_ssh.is_some() {
            return Err(invalid(
                "custom_ssh",
                "a custom-SSH template changes passwords, not SSH keys",
            ));
        }
    }
    if let Some(template) = &spec.custom_ssh {
        template.validate()?;
    }
    match spec.secret_strategy {
        SecretStrategy::Specified if !has_secret => {
            return Err(invalid(
                "secret",
                "a specified strategy needs the new secret",
            ))
        }
        SecretStrategy::Random if spec.secret_type == SecretType::Password => {
            spec.password_rules.validate()?
        }
        SecretStrategy::Random => {}
        SecretStrategy::Specified => {}
    }
    for (key, value) in &spec.params {
        let Some((_, allowed)) = PARAMS.iter().find(|(k, _)| k == key) else {
            return Err(invalid("params", format!("unknown parameter {key:?}")));
        };
        if !allowed.contains(&value.as_str()) {
            return Err(invalid(
                "params",
                format!(
                    "{key}: {value:?} is not allowed (one of {})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    spec.schedule.validate()?;
    Ok((name, spec))
}

fn check_specified_secret(secret: &SecretString) -> Result<(), ChangeSecretError> {
    let s = secret.expose_secret();
    if s.is_empty() || s.len() > 1024 || s.chars().any(|c| c.is_control()) {
        return Err(invalid(
            "secret",
            "the new secret must be 1 to 1024 characters without control characters",
        ));
    }
    Ok(())
}

/// The most users one task tells when a run ends.
const MAX_RECIPIENTS: usize = 100;

impl ChangeSecretService {
    /// Checks that every recipient is a user, without repeats, at most [`MAX_RECIPIENTS`].
    async fn check_recipients(
        &self,
        recipients: &mut Vec<UserId>,
    ) -> Result<(), ChangeSecretError> {
        recipients.sort();
        recipients.dedup();
        if recipients.len() > MAX_RECIPIENTS {
            return Err(invalid(
                "recipients",
                format!("at most {MAX_RECIPIENTS} recipients"),
            ));
        }
        for id in recipients.iter() {
            if self.store.user_by_id(id).await?.is_none() {
                return Err(invalid("recipients", format!("no user has the id {id}")));
            }
        }
        Ok(())
    }

    async fn visible_task(
        &self,
        principal: &Principal,
        id: &ChangeTaskId,
    ) -> Result<TaskRow, ChangeSecretError> {
        require(principal, Permission::AssetsRead)?;
        let task = self
            .store
            .change_task(id)
            .await?
            .ok_or(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Task,
            ))?;
        if principal.visible_domains().contains(&task.domain_id) {
            Ok(task)
        } else {
            Err(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Task,
            ))
        }
    }

    async fn seal_task_secret(
        &self,
        tx: &mut Tx,
        id: &ChangeTaskId,
        version: i64,
        secret: &SecretString,
    ) -> Result<(), ChangeSecretError> {
        self.vault
            .seal(
                tx,
                tumbler_domain::secret_owner::SecretOwner::ChangeTask,
                id.as_str(),
                version,
                secret.expose_secret().as_bytes(),
            )
            .await?;
        Ok(())
    }

    /// Fails with [`ChangeSecretError::UnknownNode`] for the first path that names no node
    /// the caller can see: a task never targets a node that does not exist.
    async fn check_nodes(
        &self,
        principal: &Principal,
        nodes: &[String],
    ) -> Result<(), ChangeSecretError> {
        if nodes.is_empty() {
            return Ok(());
        }
        let visible = crate::inventory::visible_node_paths(&self.store, principal).await?;
        let missing = nodes.iter().find(|n| {
            NodePath::parse(n)
                .map(|p| !visible.contains(&p.to_string()))
                .unwrap_or(true)
        });
        match missing {
            Some(missing) => Err(ChangeSecretError::UnknownNode(missing.clone())),
            None => Ok(()),
        }
    }

    /// Fails with [`ChangeSecretError::TemplateNotAllowed`] when the task has its own custom
    /// SSH template and the caller lacks `secret_templates_manage`: a template can type stored
    /// secrets into any command, and even one that types only the new secret can quote what
    /// the device prints (a running configuration with its secrets) into a record's reason.
    /// (A scheduled run checks the task's owner again.)
    fn check_template(principal: &Principal, spec: &TaskSpec) -> Result<(), ChangeSecretError> {
        if spec.custom_ssh.is_none() || principal.can(Permission::SecretTemplatesManage) {
            return Ok(());
        }
        let what = match &spec.custom_ssh {
            Some(t) if t.types_stored_secret() => {
                "a template that types {login_secret} or {privilege_secret}"
            }
            _ => "a custom SSH template",
        };
        Err(ChangeSecretError::TemplateNotAllowed(format!(
            "{what} needs the permission secret_templates_manage"
        )))
    }

    /// Creates a task in the caller's active domain (audited).
    pub async fn create_task(
        &self,
        principal: &Principal,
        input: TaskInput,
        origin: &RequestOrigin,
    ) -> Result<TaskView, ChangeSecretError> {
        require(principal, Permission::ChangesRun)?;
        let domain_id = principal
            .active_domain
            .clone()
            .or_else(|| principal.domains.first().cloned())
            .ok_or(ChangeSecretError::Forbidden)?;
        if let Some(s) = &input.secret {
            check_specified_secret(s)?;
        }
        let spec = TaskSpec {
            usernames: input.usernames,
            asset_ids: input.asset_ids,
            nodes: input.nodes,
            secret_strategy: input.secret_strategy,
            secret_type: input.secret_type,
            password_rules: input.password_rules.unwrap_or_default(),
            ssh_key: input.ssh_key.unwrap_or_default(),
            custom_ssh: input.custom_ssh,
            params: input.params,
            schedule: input.schedule.unwrap_or_default(),
            recipients: input.recipients,
        };
        let (name, mut spec) = validate(&input.name, spec, input.secret.is_some())?;
        self.check_nodes(principal, &spec.nodes).await?;
        Self::check_template(principal, &spec)?;
        self.check_recipients(&mut spec.recipients).await?;
        let now = self.clock.now();
        let id = ChangeTaskId::generate();
        let secret = match spec.secret_strategy {
            SecretStrategy::Specified => input.secret,
            SecretStrategy::Random => None,
        };
        let row = TaskRow {
            id: id.clone(),
            domain_id,
            name,
            spec: serde_json::to_string(&spec).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            specified_secret_version: secret.as_ref().map(|_| 1),
            enabled: input.enabled.unwrap_or(true),
            next_run_at: spec.schedule.next_after(now, now, &self.settings.time_zone),
            created_by: principal.user.username.clone(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_change_task(&row).await.map_err(duplicate)?;
        if let Some(secret) = &secret {
            self.seal_task_secret(&mut tx, &id, 1, secret).await?;
        }
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::ChangeTaskCreate,
                ("change_task", id.as_str()),
                Outcome::Success,
                origin,
                format!("{} ({})", row.name, spec.secret_strategy),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        view(row, &self.settings.time_zone)
    }

    /// One task the caller may see.
    pub async fn task(
        &self,
        principal: &Principal,
        id: &ChangeTaskId,
    ) -> Result<TaskView, ChangeSecretError> {
        view(
            self.visible_task(principal, id).await?,
            &self.settings.time_zone,
        )
    }

    /// Tasks of the caller's visible domains.
    pub async fn tasks(&self, principal: &Principal) -> Result<Vec<TaskView>, ChangeSecretError> {
        require(principal, Permission::AssetsRead)?;
        self.store
            .change_tasks(&principal.visible_domains())
            .await?
            .into_iter()
            .map(|row| view(row, &self.settings.time_zone))
            .collect()
    }

    /// Changes a task (audited); a new specified secret becomes a new sealed version.
    pub async fn update_task(
        &self,
        principal: &Principal,
        id: &ChangeTaskId,
        patch: TaskPatch,
        origin: &RequestOrigin,
    ) -> Result<TaskView, ChangeSecretError> {
        require(principal, Permission::ChangesRun)?;
        let mut row = self.visible_task(principal, id).await?;
        let current = view(row.clone(), &self.settings.time_zone)?;
        if let Some(s) = &patch.secret {
            check_specified_secret(s)?;
        }
        let mut spec = current.spec.clone();
        let mut changed = Vec::new();
        macro_rules! apply {
            ($field:ident) => {
                if let Some(v) = patch.$field {
                    spec.$field = v;
                    changed.push(stringify!($field));
                }
            };
        }
        apply!(usernames);
        apply!(asset_ids);
        apply!(nodes);
        apply!(secret_strategy);
        apply!(secret_type);
        apply!(password_rules);
        apply!(ssh_key);
        if patch.clear_custom_ssh && patch.custom_ssh.is_some() {
            return Err(invalid(
                "custom_ssh",
                "give a template or clear_custom_ssh, not both",
            ));
        }
        if patch.clear_custom_ssh {
            spec.custom_ssh = None;
            changed.push("custom_ssh");
        } else if let Some(t) = patch.custom_ssh.clone() {
            spec.custom_ssh = Some(t);
            changed.push("custom_ssh");
        }
        apply!(params);
        apply!(schedule);
        apply!(recipients);
        let has_secret = patch.secret.is_some() || row.specified_secret_version.is_some();
        let (name, mut spec) =
            validate(patch.name.as_deref().unwrap_or(&row.name), spec, has_secret)?;
        if changed.contains(&"recipients") {
            self.check_recipients(&mut spec.recipients).await?;
        }
        if changed.contains(&"nodes") {
            self.check_nodes(principal, &spec.nodes).await?;
        }
        // Any change of a task with a template: it runs with its owner's permission.
        Self::check_template(principal, &spec)?;
        if name != row.name {
            changed.push("name");
        }
        if let Some(e) = patch.enabled {
            row.enabled = e;
            changed.push(if e { "enabled" } else { "disabled" });
        }
        let now = self.clock.now();
        if spec.schedule != current.spec.schedule {
            row.next_run_at = spec.schedule.next_after(now, now, &self.settings.time_zone);
        }
        row.name = name;
        row.spec = serde_json::to_string(&spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        row.updated_at = now;
        let mut tx = self.store.begin().await?;
        if let Some(secret) = &patch.secret {
            let version = row.specified_secret_version.unwrap_or(0) + 1;
            self.seal_task_secret(&mut tx, id, version, secret).await?;
            row.specified_secret_version = Some(version);
            changed.push("secret");
        }
        tx.update_change_task(&row).await.map_err(duplicate)?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::ChangeTaskUpdate,
                ("change_task", id.as_str()),
                Outcome::Success,
                origin,
                format!("changed: {}", changed.join(", ")),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        view(row, &self.settings.time_zone)
    }

    /// Copies a task under the name "<name> (copy)" (or "(copy 2)"... when that is taken),
    /// disabled, with its specified secret.
    pub async fn copy_task(
        &self,
        principal: &Principal,
        id: &ChangeTaskId,
        origin: &RequestOrigin,
    ) -> Result<TaskView, ChangeSecretError> {
        require(principal, Permission::ChangesRun)?;
        let source = self.visible_task(principal, id).await?;
        let secret = match source.specified_secret_version {
            Some(v) => Some(self.open_task_secret(&source.id, v).await?),
            None => None,
        };
        let now = self.clock.now();
        let copy_id = ChangeTaskId::generate();
        let taken = self
            .store
            .change_tasks(std::slice::from_ref(&source.domain_id))
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        let name = super::task_copy::copy_name(&source.name, &taken, MAX_NAME);
        let row = TaskRow {
            id: copy_id.clone(),
            name,
            specified_secret_version: secret.as_ref().map(|_| 1),
            enabled: false,
            next_run_at: None,
            created_by: principal.user.username.clone(),
            created_at: now,
            updated_at: now,
            ..source.clone()
        };
        let mut tx = self.store.begin().await?;
        tx.insert_change_task(&row).await.map_err(duplicate)?;
        if let Some(secret) = &secret {
            self.seal_task_secret(&mut tx, &copy_id, 1, secret).await?;
        }
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::ChangeTaskCopy,
                ("change_task", copy_id.as_str()),
                Outcome::Success,
                origin,
                format!("copy of {}", source.id),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        view(row, &self.settings.time_zone)
    }

    /// Deletes a task and its secret (audited); its executions and records stay. Refused
    /// while a run of the task is under way.
    pub async fn delete_task(
        &self,
        principal: &Principal,
        id: &ChangeTaskId,
        origin: &RequestOrigin,
    ) -> Result<(), ChangeSecretError> {
        require(principal, Permission::ChangesRun)?;
        let task = self.visible_task(principal, id).await?;
        // A run under way reads its task to the end (and its recovery does too).
        if self
            .store
            .unfinished_executions()
            .await?
            .iter()
            .any(|e| e.task_id == *id)
        {
            return Err(ChangeSecretError::TaskRunning);
        }
        let mut tx = self.store.begin().await?;
        if !tx.delete_change_task(id).await? {
            return Err(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Task,
            ));
        }
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::ChangeTaskDelete,
                ("change_task", id.as_str()),
                Outcome::Success,
                origin,
                task.name,
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Starts a run of the task now; returns its execution id at once (the run goes on in
    /// the background).
    pub async fn execute_task(
        &self,
        principal: &Principal,
        id: &ChangeTaskId,
        origin: &RequestOrigin,
    ) -> Result<ExecutionId, ChangeSecretError> {
        require(principal, Permission::ChangesRun)?;
        let task = self.visible_task(principal, id).await?;
        if !task.enabled {
            return Err(ChangeSecretError::TaskDisabled);
        }
        self.start_execution(&task, Trigger::Manual, &principal.user.username, origin)
            .await
    }

    /// Creates the execution row (audited) and spawns its run.
    pub(super) async fn start_execution(
        &self,
        task: &TaskRow,
        trigger: Trigger,
        actor: &str,
        origin: &RequestOrigin,
    ) -> Result<ExecutionId, ChangeSecretError> {
        let now = self.clock.now();
        let row = ExecutionRow {
            id: ExecutionId::generate(),
            task_id: task.id.clone(),
            task_name: task.name.clone(),
            domain_id: task.domain_id.clone(),
            trigger,
            status: ExecutionStatus::Pending,
            owner_node: self.settings.node_name.clone(),
            heartbeat_at: now,
            created_by: actor.to_owned(),
            created_at: now,
            started_at: None,
            finished_at: None,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_execution(&row).await?;
        tx.append_audit(
            &event(
                actor,
                AuditAction::ChangeTaskExecute,
                ("change_execution", row.id.as_str()),
                Outcome::Success,
                origin,
                format!("task {} ({trigger})", task.name),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        let engine = self.clone();
        let id = row.id.clone();
        tokio::spawn(async move {
            if let Err(e) = engine.run_execution(&id).await {
                tracing::error!(execution = %id, error = %e, "change execution failed");
            }
        });
        Ok(row.id)
    }

    /// One execution the caller may see.
    pub async fn execution(
        &self,
        principal: &Principal,
        id: &ExecutionId,
    ) -> Result<ExecutionView, ChangeSecretError> {
        require(principal, Permission::AssetsRead)?;
        let row = self
            .store
            .execution(id)
            .await?
            .filter(|e| principal.visible_domains().contains(&e.domain_id))
            .ok_or(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Execution,
            ))?;
        self.execution_view(row).await
    }

    pub(super) async fn execution_view(
        &self,
        row: ExecutionRow,
    ) -> Result<ExecutionView, ChangeSecretError> {
        let counts = self.store.execution_counts(&row.id).await?;
        let reason = if row.status == ExecutionStatus::NothingChanged {
            super::engine::nothing_changed_reason(&counts)
        } else {
            String::new()
        };
        let retries = self.retry_summary(&row).await?;
        Ok(ExecutionView {
            reason,
            retry_of_record_id: retries.retry_of_record_id,
            retry_of_execution_id: retries.retry_of_execution_id,
            retried: retries.retried,
            completed_by_retries: retries.completed_by_retries,
            counts_after_retries: if retries.counts_after_retries.is_empty() {
                counts.clone()
            } else {
                retries.counts_after_retries
            },
            id: row.id,
            task_id: row.task_id,
            task_name: row.task_name,
            trigger: row.trigger,
            status: row.status,
            created_by: row.created_by,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            counts,
        })
    }

    /// Executions the caller may see, newest first, optionally of one task.
    pub async fn executions(
        &self,
        principal: &Principal,
        task_id: Option<ChangeTaskId>,
        limit: Option<i64>,
        offset: Option<i64>,
    ) -> Result<(Vec<ExecutionView>, i64), ChangeSecretError> {
        require(principal, Permission::AssetsRead)?;
        let (rows, total) = self
            .store
            .executions(&ExecutionFilter {
                domains: principal.visible_domains(),
                task_id,
                status: None,
                limit: page_limit(limit),
                offset: offset.unwrap_or(0).max(0),
            })
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.execution_view(row).await?);
        }
        Ok((out, total))
    }

    /// The execution's log lines after `after_seq`, and whether the execution has ended
    /// (read before the lines, so a caller that saw it ended has every line).
    pub async fn execution_log(
        &self,
        principal: &Principal,
        id: &ExecutionId,
        after_seq: i64,
    ) -> Result<(Vec<LogLine>, bool), ChangeSecretError> {
        let ended = self.execution(principal, id).await?.status.is_final();
        Ok((self.store.log_lines(id, after_seq).await?, ended))
    }

    pub(super) async fn open_task_secret(
        &self,
        id: &ChangeTaskId,
        version: i64,
    ) -> Result<SecretString, ChangeSecretError> {
        let bytes = self
            .vault
            .open_secret(
                tumbler_domain::secret_owner::SecretOwner::ChangeTask,
                id.as_str(),
                version,
            )
            .await?;
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| StoreError::Corrupt("task secret not UTF-8".to_owned()))?;
        Ok(SecretString::from(text))
    }
}

fn duplicate(e: StoreError) -> ChangeSecretError {
    match e {
        StoreError::Duplicate(_) => ChangeSecretError::Duplicate,
        other => other.into(),
    }
}
