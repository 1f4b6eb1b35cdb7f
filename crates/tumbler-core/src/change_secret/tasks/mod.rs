//! Tasks: create, edit, copy, delete, enable/disable, execute now (the run itself is the
//! engine's).

mod spec;

pub use spec::{TaskInput, TaskPatch, TaskSpec, TaskView};

use crate::change_secret::{require, ChangeSecretError, ChangeSecretService};
use crate::{event, Principal, RequestOrigin};
use secrecy::{ExposeSecret, SecretString};
use spec::{check_specified_secret, invalid, validate, view, MAX_NAME};
use tumbler_domain::audit::AuditAction;
use tumbler_domain::audit::Outcome;
use tumbler_domain::change_secret::{SecretStrategy, Trigger};
use tumbler_domain::ids::{ChangeTaskId, ExecutionId, UserId};
use tumbler_domain::inventory::NodePath;
use tumbler_domain::permission::Permission;
use tumbler_store::{StoreError, TaskRow, Tx};

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
        crate::commit_audited(
            tx,
            principal,
            AuditAction::ChangeTaskCreate,
            ("change_task", id.as_str()),
            origin,
            format!("{} ({})", row.name, spec.secret_strategy),
            now,
        )
        .await?;
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
        crate::commit_audited(
            tx,
            principal,
            AuditAction::ChangeTaskUpdate,
            ("change_task", id.as_str()),
            origin,
            format!("changed: {}", changed.join(", ")),
            now,
        )
        .await?;
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
            Some(v) => Some(self.engine.open_task_secret(&source.id, v).await?),
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
        crate::commit_audited(
            tx,
            principal,
            AuditAction::ChangeTaskCopy,
            ("change_task", copy_id.as_str()),
            origin,
            format!("copy of {}", source.id),
            now,
        )
        .await?;
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
        self.engine
            .start_execution(&task, Trigger::Manual, &principal.user.username, origin)
            .await
    }
}

fn duplicate(e: StoreError) -> ChangeSecretError {
    match e {
        StoreError::Duplicate(_) => ChangeSecretError::Duplicate,
        other => other.into(),
    }
}
