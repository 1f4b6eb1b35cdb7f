//! `tumbler task ...`: change-secret tasks through the REST API (after `tumbler login`). A
//! specified new secret is read from a prompt or standard input, never the command line.
//! `task run --wait` exits non-zero unless the run succeeded (every account changed, or
//! skipped by secure mode).

use super::client::{read_secret, request};
use super::{other, CliError};
use reqwest::Method;
use secrecy::ExposeSecret;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tumbler_api_types::answers::ExecutionStarted;
use tumbler_api_types::change_secret::{ExecutionView, RecordRow, TaskInput, TaskView};
use tumbler_api_types::Page;
use tumbler_domain::change_secret::{ExecutionStatus, PasswordRules, SecretStrategy};
use tumbler_domain::ids::AssetId;
use tumbler_domain::schedule::Schedule;

/// How often `task run --wait` asks how the run is going.
const POLL: Duration = Duration::from_millis(500);

/// What `tumbler task create` was given.
pub struct NewTask {
    /// Task name.
    pub name: String,
    /// Usernames to change.
    pub usernames: Vec<String>,
    /// Assets (names or ids).
    pub assets: Vec<String>,
    /// Node paths.
    pub nodes: Vec<String>,
    /// Read a specified new secret (prompt or standard input) instead of random ones.
    pub specified: bool,
    /// Read it from standard input.
    pub secret_stdin: bool,
    /// Random password length.
    pub length: Option<u32>,
    /// A cron schedule.
    pub cron: Option<String>,
    /// An interval schedule, in hours.
    pub every_hours: Option<u32>,
}

/// The id of the task named `name_or_id`.
async fn task_id(env: &[(String, String)], name_or_id: &str) -> Result<String, CliError> {
    let tasks: Vec<TaskView> =
        request(env, Method::GET, "/api/v1/change-secret/tasks", None).await?;
    tasks
        .into_iter()
        .find(|t| t.name == name_or_id || t.id.as_str() == name_or_id)
        .map(|t| t.id.to_string())
        .ok_or_else(|| other(format!("no such task: {name_or_id}")))
}

/// `tumbler task create`
pub async fn create(env: &[(String, String)], t: NewTask) -> Result<ExitCode, CliError> {
    let mut asset_ids = Vec::new();
    for a in &t.assets {
        asset_ids.push(super::inventory::asset_id(env, a).await?);
    }
    let secret = if t.specified {
        let secret = read_secret("New password: ", t.secret_stdin)?;
        Some(secret.expose_secret().to_owned())
    } else {
        None
    };
    let body = TaskInput {
        name: t.name,
        usernames: t.usernames,
        asset_ids: asset_ids.into_iter().map(AssetId::from_string).collect(),
        nodes: t.nodes,
        secret_strategy: if t.specified {
            SecretStrategy::Specified
        } else {
            SecretStrategy::Random
        },
        secret_type: None,
        secret,
        password_rules: t.length.map(|length| PasswordRules {
            length,
            lowercase: Some(1),
            uppercase: Some(1),
            digit: Some(1),
            symbol: Some(1),
            exclude_symbols: String::new(),
        }),
        schedule: (t.cron.is_some() || t.every_hours.is_some()).then_some(Schedule {
            cron: t.cron,
            interval_hours: t.every_hours,
            start_at: None,
        }),
    };
    let body = serde_json::to_value(body).map_err(other)?;
    let created: TaskView =
        request(env, Method::POST, "/api/v1/change-secret/tasks", Some(body)).await?;
    println!(
        "Created task {} (id {}){}.",
        created.name,
        created.id,
        created
            .next_run_at_local
            .as_deref()
            .map(|n| format!(", next run at {n} ({})", created.time_zone))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// `tumbler task list`
pub async fn list(env: &[(String, String)]) -> Result<ExitCode, CliError> {
    let items: Vec<TaskView> =
        request(env, Method::GET, "/api/v1/change-secret/tasks", None).await?;
    println!(
        "{:<28} {:<9} {:<10} {:<26} usernames",
        "name", "enabled", "strategy", "next run at"
    );
    for t in &items {
        println!(
            "{:<28} {:<9} {:<10} {:<26} {}",
            t.name,
            t.enabled,
            t.spec.secret_strategy.as_str(),
            t.next_run_at_local.as_deref().unwrap_or("-"),
            t.spec.usernames.join(",")
        );
    }
    println!("{} task(s)", items.len());
    Ok(ExitCode::SUCCESS)
}

/// `tumbler task run [--wait]`
pub async fn run(env: &[(String, String)], task: &str, wait: bool) -> Result<ExitCode, CliError> {
    let id = task_id(env, task).await?;
    let started: ExecutionStarted = request(
        env,
        Method::POST,
        &format!("/api/v1/change-secret/tasks/{id}/execute"),
        None,
    )
    .await?;
    let execution = started.execution_id;
    println!("Started execution {execution}.");
    if !wait {
        return Ok(ExitCode::SUCCESS);
    }
    // A run is bounded by the engine's own per-account limits; this only stops waiting.
    let deadline = Instant::now() + Duration::from_secs(24 * 3600);
    let e = loop {
        let e: ExecutionView = request(
            env,
            Method::GET,
            &format!("/api/v1/change-secret/executions/{execution}"),
            None,
        )
        .await?;
        if !matches!(
            e.status,
            ExecutionStatus::Pending | ExecutionStatus::Running
        ) || Instant::now() > deadline
        {
            break e;
        }
        tokio::time::sleep(POLL).await;
    };
    print_records(env, execution.as_str()).await?;
    println!("Execution {execution}: {}.", e.status);
    if !e.reason.is_empty() {
        println!("{}", e.reason);
    }
    Ok(if e.status == ExecutionStatus::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn print_records(env: &[(String, String)], execution: &str) -> Result<(), CliError> {
    let page: Page<RecordRow> = request(
        env,
        Method::GET,
        &format!("/api/v1/change-secret/records?execution_id={execution}&limit=1000"),
        None,
    )
    .await?;
    println!("{:<24} {:<20} {:<11} reason", "asset", "username", "status");
    for r in &page.items {
        println!(
            "{:<24} {:<20} {:<11} {}",
            r.asset_name,
            r.username,
            r.status.as_str(),
            match r.reason_code {
                None => String::new(),
                Some(code) => format!("{code}: {}", r.reason),
            }
        );
    }
    Ok(())
}

/// `tumbler task records EXECUTION`: exits non-zero if any record did not succeed.
pub async fn records(env: &[(String, String)], execution: &str) -> Result<ExitCode, CliError> {
    print_records(env, execution).await?;
    let e: ExecutionView = request(
        env,
        Method::GET,
        &format!("/api/v1/change-secret/executions/{execution}"),
        None,
    )
    .await?;
    println!("Execution {execution}: {}.", e.status);
    if !e.reason.is_empty() {
        println!("{}", e.reason);
    }
    Ok(if e.status == ExecutionStatus::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
