//! What a task is: its definition, the input to create and edit it, the view people see,
//! and the checks a definition must pass.

use crate::change_secret::ChangeSecretError;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
use tumbler_domain::change_secret::{PasswordRules, SecretStrategy};
use tumbler_domain::custom_ssh::CustomSshTemplate;
use tumbler_domain::ids::{AssetId, UserId};
use tumbler_domain::inventory::{InvalidValue, NodePath, SecretType};
use tumbler_domain::schedule::{Schedule, TimeZoneName};
use tumbler_domain::ssh_key::SshKeyOptions;
use tumbler_store::{StoreError, TaskRow};

pub use tumbler_domain::change_views::{TaskSpec, TaskView};

/// The longest task name, in characters.
pub(super) const MAX_NAME: usize = 128;
/// The most usernames one task names.
pub(super) const MAX_USERNAMES: usize = 10_000;
/// Task parameters accepted, with their allowed values (empty: an absolute path).
pub(super) const PARAMS: &[(&str, &[&str])] = &[
    ("become", &["sudo", "su", "none"]),
    ("shell", tumbler_domain::platform::SYSTEM_SHELLS),
];

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

pub(super) fn invalid(field: &'static str, reason: impl Into<String>) -> ChangeSecretError {
    ChangeSecretError::Invalid(InvalidValue {
        field,
        reason: reason.into(),
    })
}

pub(super) fn view(row: TaskRow, zone: &TimeZoneName) -> Result<TaskView, ChangeSecretError> {
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
pub(super) fn validate(
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

pub(super) fn check_specified_secret(secret: &SecretString) -> Result<(), ChangeSecretError> {
    let s = secret.expose_secret();
    if s.is_empty() || s.len() > 1024 || s.chars().any(|c| c.is_control()) {
        return Err(invalid(
            "secret",
            "the new secret must be 1 to 1024 characters without control characters",
        ));
    }
    Ok(())
}
