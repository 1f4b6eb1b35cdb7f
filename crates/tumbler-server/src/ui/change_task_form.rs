//! The change task form (new and edit): name, usernames, assets, nodes, random or specified
//! secret, password rules with an example, schedule with "next run at", recipients; and the
//! task buttons of the overview (copy, enable, disable, delete).

use super::console_form::{ConsoleForm, Fields};
use super::flash::{redirect_after, Flash};
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame};
use super::pages::{rejected, render};
use super::when::When;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};
use tumbler_core::change_secret::{TaskInput, TaskPatch};
use tumbler_core::inventory::AssetQuery;
use tumbler_core::{ChangeSecretError, Principal};
use tumbler_domain::change_secret::{PasswordRules, SecretStrategy, SYMBOLS};
use tumbler_domain::custom_ssh::CustomSshTemplate;
use tumbler_domain::ids::{AssetId, ChangeTaskId, UserId};
use tumbler_domain::inventory::SecretType;
use tumbler_domain::paging::MAX_PAGE;
use tumbler_domain::schedule::Schedule;
use tumbler_domain::ssh_key::{KeyAlgorithm, KeyStrategy, SshKeyOptions};
use tumbler_store::UserFilter;

/// A checkbox choice.
pub struct Pick {
    id: String,
    label: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "change_task_form.html")]
struct TaskForm {
    frame: PageFrame,
    action: String,
    title: String,
    name: String,
    usernames: String,
    nodes: String,
    specified: bool,
    has_secret: bool,
    rules: PasswordRules,
    symbols: &'static str,
    example: String,
    cron: String,
    interval_hours: String,
    next_run: When,
    assets: Vec<Pick>,
    recipients: Vec<Pick>,
    ssh_key: bool,
    algorithms: Vec<Pick>,
    replace_all: bool,
    custom_ssh: String,
}

/// The fields a submitted form gives.
#[derive(Default)]
struct Submitted {
    name: String,
    usernames: Vec<String>,
    asset_ids: Vec<AssetId>,
    nodes: Vec<String>,
    specified: bool,
    secret: Option<SecretString>,
    rules: PasswordRules,
    cron: String,
    interval_hours: String,
    recipients: Vec<UserId>,
    ssh_key: bool,
    key_algorithm: KeyAlgorithm,
    replace_all: bool,
    /// The custom-SSH template as JSON text (empty: none).
    custom_ssh: String,
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A class minimum: a number, or empty for "leave the class out".
fn minimum(text: &str) -> Result<Option<u32>, String> {
    let t = text.trim();
    if t.is_empty() {
        Ok(None)
    } else {
        t.parse()
            .map(Some)
            .map_err(|_| format!("{t:?} is not a number"))
    }
}

fn parse(pairs: Vec<(String, String)>) -> Result<Submitted, String> {
    let mut s = Submitted::default();
    let mut rules = PasswordRules::default();
    for (k, v) in pairs {
        match k.as_str() {
            "name" => s.name = v,
            "usernames" => s.usernames = words(&v),
            "asset" => s.asset_ids.push(AssetId::from_string(v)),
            "nodes" => s.nodes = words(&v),
            "strategy" => s.specified = v == "specified",
            "secret" if !v.is_empty() => s.secret = Some(SecretString::from(v)),
            "length" => {
                rules.length = v
                    .trim()
                    .parse()
                    .map_err(|_| "the length is not a number".to_owned())?
            }
            "lowercase" => rules.lowercase = minimum(&v)?,
            "uppercase" => rules.uppercase = minimum(&v)?,
            "digit" => rules.digit = minimum(&v)?,
            "symbol" => rules.symbol = minimum(&v)?,
            "exclude_symbols" => rules.exclude_symbols = v,
            "cron" => s.cron = v.trim().to_owned(),
            "interval_hours" => s.interval_hours = v.trim().to_owned(),
            "recipient" => s.recipients.push(UserId::from_string(v)),
            "secret_type" => s.ssh_key = v == "ssh_key",
            "key_algorithm" => {
                s.key_algorithm = KeyAlgorithm::parse(&v)
                    .ok_or_else(|| format!("{v:?} is not a key algorithm"))?
            }
            "replace_all" => s.replace_all = !v.is_empty(),
            "custom_ssh" => s.custom_ssh = v.trim().to_owned(),
            _ => {}
        }
    }
    s.rules = rules;
    Ok(s)
}

impl Submitted {
    fn schedule(&self) -> Result<Schedule, String> {
        let interval_hours = if self.interval_hours.is_empty() {
            None
        } else {
            Some(
                self.interval_hours
                    .parse()
                    .map_err(|_| "the interval is not a number of hours".to_owned())?,
            )
        };
        Ok(Schedule {
            cron: (!self.cron.is_empty()).then(|| self.cron.clone()),
            interval_hours,
            start_at: None,
        })
    }

    fn secret_type(&self) -> SecretType {
        if self.ssh_key {
            SecretType::SshKey
        } else {
            SecretType::Password
        }
    }

    fn ssh_key_options(&self) -> SshKeyOptions {
        SshKeyOptions {
            algorithm: self.key_algorithm,
            strategy: if self.replace_all {
                KeyStrategy::ReplaceAll
            } else {
                KeyStrategy::ReplaceOld
            },
        }
    }

    fn custom_ssh(&self) -> Result<Option<CustomSshTemplate>, String> {
        if self.custom_ssh.is_empty() {
            return Ok(None);
        }
        serde_json::from_str(&self.custom_ssh)
            .map(Some)
            .map_err(|e| format!("the custom SSH template is not valid: {e}"))
    }
}

/// What the form shows: the task's values (or a submission's), the choices, an error.
struct Shown {
    action: String,
    title: String,
    values: Submitted,
    has_secret: bool,
    next_run: When,
    error: Option<String>,
}

async fn form(state: &AppState, p: &Principal, frame: PageFrame, shown: Shown) -> Response {
    let assets = state
        .inventory
        .assets(
            p,
            &AssetQuery {
                limit: Some(MAX_PAGE),
                ..AssetQuery::default()
            },
        )
        .await
        .map(|(views, _)| views)
        .unwrap_or_default();
    let users = state
        .users
        .list(
            p,
            &UserFilter {
                limit: MAX_PAGE,
                ..UserFilter::default()
            },
        )
        .await
        .map(|(users, _)| users)
        .unwrap_or_default();
    let v = &shown.values;
    // Off the async workers: the rules are whatever the form was sent.
    let rules = v.rules.clone();
    let example = match tokio::task::spawn_blocking(move || rules.generate()).await {
        Ok(Ok(s)) => s.expose_secret().to_owned(),
        Ok(Err(e)) => format!("(no password fits these rules: {})", e.reason),
        Err(_) => "(no example could be made)".to_owned(),
    };
    render(&TaskForm {
        frame: frame.with_error(shown.error),
        action: shown.action,
        title: shown.title,
        name: v.name.clone(),
        usernames: v.usernames.join(", "),
        nodes: v.nodes.join(", "),
        specified: v.specified,
        has_secret: shown.has_secret,
        rules: v.rules.clone(),
        symbols: SYMBOLS,
        example,
        cron: v.cron.clone(),
        interval_hours: v.interval_hours.clone(),
        next_run: shown.next_run,
        assets: assets
            .into_iter()
            .map(|a| Pick {
                checked: v.asset_ids.contains(&a.asset.id),
                id: a.asset.id.to_string(),
                label: format!("{} ({})", a.asset.name, a.asset.address),
            })
            .collect(),
        ssh_key: v.ssh_key,
        algorithms: KeyAlgorithm::ALL
            .iter()
            .map(|a| Pick {
                id: a.as_str().to_owned(),
                label: a.as_str().to_owned(),
                checked: *a == v.key_algorithm,
            })
            .collect(),
        replace_all: v.replace_all,
        custom_ssh: v.custom_ssh.clone(),
        recipients: users
            .into_iter()
            .map(|u| Pick {
                checked: v.recipients.contains(&u.user.id),
                id: u.user.id.to_string(),
                label: match &u.user.email {
                    Some(e) => format!("{} <{e}>", u.user.username),
                    None => format!("{} (no email address)", u.user.username),
                },
            })
            .collect(),
    })
}

/// `GET /change-secret/tasks/new`
pub async fn new_form(
    State(state): State<AppState>,
    ConsolePage(p, frame): ConsolePage,
) -> Response {
    let shown = Shown {
        action: "/change-secret/tasks".to_owned(),
        title: "New password change task".to_owned(),
        values: Submitted::default(),
        has_secret: false,
        next_run: When(None),
        error: None,
    };
    form(&state, &p, frame, shown).await
}

/// `GET /change-secret/tasks/{id}/edit`
pub async fn edit_form(
    State(state): State<AppState>,
    ConsolePage(p, frame): ConsolePage,
    Path(id): Path<ChangeTaskId>,
) -> ConsoleResult {
    let task = state.change_secret.task(&p, &id).await?;
    let values = Submitted {
        name: task.name.clone(),
        usernames: task.spec.usernames.clone(),
        asset_ids: task.spec.asset_ids.clone(),
        nodes: task.spec.nodes.clone(),
        specified: task.spec.secret_strategy == SecretStrategy::Specified,
        rules: task.spec.password_rules.clone(),
        cron: task.spec.schedule.cron.clone().unwrap_or_default(),
        interval_hours: task
            .spec
            .schedule
            .interval_hours
            .map(|h| h.to_string())
            .unwrap_or_default(),
        recipients: task.spec.recipients.clone(),
        ssh_key: task.spec.secret_type == SecretType::SshKey,
        key_algorithm: task.spec.ssh_key.algorithm,
        replace_all: task.spec.ssh_key.strategy == KeyStrategy::ReplaceAll,
        custom_ssh: task
            .spec
            .custom_ssh
            .as_ref()
            .and_then(|t| serde_json::to_string_pretty(t).ok())
            .unwrap_or_default(),
        ..Submitted::default()
    };
    let shown = Shown {
        action: format!("/change-secret/tasks/{id}"),
        title: format!("Edit {}", task.name),
        values,
        has_secret: task.has_secret,
        next_run: When(task.next_run_at),
        error: None,
    };
    Ok(form(&state, &p, frame, shown).await)
}

/// `POST /change-secret/tasks`: creates the task, or shows the form again with the error.
pub async fn create(State(state): State<AppState>, form: ConsoleForm<Fields>) -> ConsoleResult {
    save(state, form, None).await
}

/// `POST /change-secret/tasks/{id}`: saves the task, or shows the form again with the error.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: ConsoleForm<Fields>,
) -> ConsoleResult {
    save(state, form, Some(id)).await
}

async fn save(state: AppState, sent: ConsoleForm<Fields>, id: Option<String>) -> ConsoleResult {
    let (p, frame, origin, pairs) = sent.active()?;
    let submitted = parse(pairs);
    let action = match &id {
        Some(id) => format!("/change-secret/tasks/{id}"),
        None => "/change-secret/tasks".to_owned(),
    };
    let result: Result<String, String> = match &submitted {
        Err(e) => Err(e.clone()),
        Ok(s) => match s.schedule().and_then(|sc| Ok((sc, s.custom_ssh()?))) {
            Err(e) => Err(e),
            Ok((schedule, custom_ssh)) => {
                let strategy = if s.specified {
                    SecretStrategy::Specified
                } else {
                    SecretStrategy::Random
                };
                let outcome = match &id {
                    None => {
                        let input = TaskInput {
                            name: s.name.clone(),
                            usernames: s.usernames.clone(),
                            asset_ids: s.asset_ids.clone(),
                            nodes: s.nodes.clone(),
                            secret_strategy: strategy,
                            secret_type: s.secret_type(),
                            ssh_key: Some(s.ssh_key_options()),
                            custom_ssh: custom_ssh.clone(),
                            secret: s.secret.clone(),
                            password_rules: Some(s.rules.clone()),
                            params: Default::default(),
                            schedule: Some(schedule),
                            recipients: s.recipients.clone(),
                            enabled: None,
                        };
                        state.change_secret.create_task(&p, input, &origin).await
                    }
                    Some(id) => {
                        let patch = TaskPatch {
                            name: Some(s.name.clone()),
                            usernames: Some(s.usernames.clone()),
                            asset_ids: Some(s.asset_ids.clone()),
                            nodes: Some(s.nodes.clone()),
                            secret_strategy: Some(strategy),
                            secret_type: Some(s.secret_type()),
                            ssh_key: Some(s.ssh_key_options()),
                            clear_custom_ssh: custom_ssh.is_none(),
                            custom_ssh: custom_ssh.clone(),
                            secret: s.secret.clone(),
                            password_rules: Some(s.rules.clone()),
                            schedule: Some(schedule),
                            recipients: Some(s.recipients.clone()),
                            ..TaskPatch::default()
                        };
                        state
                            .change_secret
                            .update_task(&p, &ChangeTaskId::from_string(id.clone()), patch, &origin)
                            .await
                    }
                };
                match outcome {
                    Ok(task) => Ok(task.name),
                    Err(e @ (ChangeSecretError::Store(_) | ChangeSecretError::Vault(_))) => {
                        return Err(e.into())
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
        },
    };
    match result {
        Ok(name) => Ok(redirect_after(
            &state,
            &frame,
            OVERVIEW,
            Flash::success(format!("Task {name} saved.")),
        )),
        Err(error) => {
            let shown = Shown {
                action,
                title: "Password change task".to_owned(),
                values: submitted.unwrap_or_default(),
                has_secret: false,
                next_run: When(None),
                error: Some(error),
            };
            rejected(Ok(form(&state, &p, frame, shown).await))
        }
    }
}

/// `POST /change-secret/tasks/{id}/{copy|enable|disable|delete}` from the overview.
pub async fn task_button(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    form: ConsoleForm<super::change_secret::ActionForm>,
) -> ConsoleResult {
    let (p, frame, origin, form) = form.active()?;
    let id = ChangeTaskId::from_string(id);
    let cs = &state.change_secret;
    if action == "delete" && !form.confirmed() {
        return Ok(redirect_after(
            &state,
            &frame,
            OVERVIEW,
            Flash::unconfirmed(),
        ));
    }
    let outcome = match action.as_str() {
        "copy" => cs
            .copy_task(&p, &id, &origin)
            .await
            .map(|t| format!("Task copied as {}.", t.name)),
        "enable" | "disable" => cs
            .update_task(
                &p,
                &id,
                TaskPatch {
                    enabled: Some(action == "enable"),
                    ..TaskPatch::default()
                },
                &origin,
            )
            .await
            .map(|t| format!("Task {} {action}d.", t.name)),
        "delete" => match cs.task(&p, &id).await {
            Ok(task) => cs.delete_task(&p, &id, &origin).await.map(|()| {
                format!(
                    "Task {} deleted with its schedule{}; its past runs and the audit log are kept.",
                    task.name,
                    if task.has_secret {
                        " and its specified secret"
                    } else {
                        ""
                    }
                )
            }),
            Err(e) => Err(e),
        },
        _ => return Err(ConsoleError::NotFound("No such action.".to_owned())),
    };
    let flash = match outcome {
        Ok(notice) => Flash::success(notice),
        Err(e @ (ChangeSecretError::Store(_) | ChangeSecretError::Vault(_))) => {
            return Err(e.into())
        }
        Err(e) => Flash::error(e.to_string()).with_code(e.code()),
    };
    Ok(redirect_after(&state, &frame, OVERVIEW, flash))
}

/// The overview's address.
const OVERVIEW: &str = "/change-secret";
