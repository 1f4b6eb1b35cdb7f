//! `tumbler task ...`: change-secret tasks through the REST API (after `tumbler login`). A
//! specified new secret is read from a prompt or standard input, never the command line.
//! `task run --wait` exits non-zero unless the run succeeded (every account changed, or
//! skipped by secure mode).

use super::client::{read_secret, request};
use super::{other, CliError};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use std::process::ExitCode;
use std::time::{Duration, Instant};

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
    let tasks = request(env, Method::GET, "/api/v1/change-secret/tasks", None).await?;
    tasks
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["name"] == name_or_id || t["id"] == name_or_id)
        .and_then(|t| t["id"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| other(format!("no such task: {name_or_id}")))
}

/// `tumbler task create`
pub async fn create(env: &[(String, String)], t: NewTask) -> Result<ExitCode, CliError> {
    let mut asset_ids = Vec::new();
    for a in &t.assets {
        asset_ids.push(super::inventory::asset_id(env, a).await?);
    }
    let mut body = json!({
        "name": t.name, "usernames": t.usernames, "asset_ids": asset_ids, "nodes": t.nodes,
        "secret_strategy": if t.specified { "specified" } else { "random" },
    });
    if let Some(length) = t.length {
        body["password_rules"] = json!({"length": length, "lowercase": 1, "uppercase": 1,
            "digit": 1, "symbol": 1});
    }
    if t.cron.is_some() || t.every_hours.is_some() {
        body["schedule"] = json!({"cron": t.cron, "interval_hours": t.every_hours});
    }
    if t.specified {
        let secret = read_secret("New password: ", t.secret_stdin)?;
        body["secret"] = json!(secret.expose_secret());
    }
    let created = request(env, Method::POST, "/api/v1/change-secret/tasks", Some(body)).await?;
    println!(
        "Created task {} (id {}){}.",
        created["name"].as_str().unwrap_or("?"),
        created["id"].as_str().unwrap_or("?"),
        created["next_run_at_local"]
            .as_str()
            .map(|n| format!(
                ", next run at {n} ({})",
                created["time_zone"].as_str().unwrap_or("UTC")
            ))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// `tumbler task list`
pub async fn list(env: &[(String, String)]) -> Result<ExitCode, CliError> {
    let tasks = request(env, Method::GET, "/api/v1/change-secret/tasks", None).await?;
    println!(
        "{:<28} {:<9} {:<10} {:<26} usernames",
        "name", "enabled", "strategy", "next run at"
    );
    let items = tasks.as_array().cloned().unwrap_or_default();
    for t in &items {
        let users: Vec<&str> = t["usernames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        println!(
            "{:<28} {:<9} {:<10} {:<26} {}",
            t["name"].as_str().unwrap_or(""),
            t["enabled"].as_bool().unwrap_or(false),
            t["secret_strategy"].as_str().unwrap_or(""),
            t["next_run_at_local"].as_str().unwrap_or("-"),
            users.join(",")
        );
    }
    println!("{} task(s)", items.len());
    Ok(ExitCode::SUCCESS)
}

/// `tumbler task run [--wait]`
pub async fn run(env: &[(String, String)], task: &str, wait: bool) -> Result<ExitCode, CliError> {
    let id = task_id(env, task).await?;
    let started = request(
        env,
        Method::POST,
        &format!("/api/v1/change-secret/tasks/{id}/execute"),
        None,
    )
    .await?;
    let execution = started["execution_id"]
        .as_str()
        .ok_or_else(|| other("the server did not say which execution started"))?
        .to_owned();
    println!("Started execution {execution}.");
    if !wait {
        return Ok(ExitCode::SUCCESS);
    }
    // A run is bounded by the engine's own per-account limits; this only stops waiting.
    let deadline = Instant::now() + Duration::from_secs(24 * 3600);
    let e = loop {
        let e = request(
            env,
            Method::GET,
            &format!("/api/v1/change-secret/executions/{execution}"),
            None,
        )
        .await?;
        let status = e["status"].as_str().unwrap_or("");
        if !matches!(status, "pending" | "running") || Instant::now() > deadline {
            break e;
        }
        tokio::time::sleep(POLL).await;
    };
    print_records(env, &execution).await?;
    let status = e["status"].as_str().unwrap_or("unknown");
    println!("Execution {execution}: {status}.");
    if let Some(reason) = e["reason"].as_str().filter(|r| !r.is_empty()) {
        println!("{reason}");
    }
    Ok(if status == "succeeded" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn print_records(env: &[(String, String)], execution: &str) -> Result<(), CliError> {
    let page = request(
        env,
        Method::GET,
        &format!("/api/v1/change-secret/records?execution_id={execution}&limit=1000"),
        None,
    )
    .await?;
    println!("{:<24} {:<20} {:<11} reason", "asset", "username", "status");
    for r in page["items"].as_array().into_iter().flatten() {
        println!(
            "{:<24} {:<20} {:<11} {}",
            r["asset_name"].as_str().unwrap_or(""),
            r["username"].as_str().unwrap_or(""),
            r["status"].as_str().unwrap_or(""),
            match (r["reason_code"].as_str(), r["reason"].as_str()) {
                (Some(c), Some(m)) if !c.is_empty() => format!("{c}: {m}"),
                _ => String::new(),
            }
        );
    }
    Ok(())
}

/// `tumbler task records EXECUTION`: exits non-zero if any record did not succeed.
pub async fn records(env: &[(String, String)], execution: &str) -> Result<ExitCode, CliError> {
    print_records(env, execution).await?;
    let e = request(
        env,
        Method::GET,
        &format!("/api/v1/change-secret/executions/{execution}"),
        None,
    )
    .await?;
    println!(
        "Execution {execution}: {}.",
        e["status"].as_str().unwrap_or("unknown")
    );
    if let Some(reason) = e["reason"].as_str().filter(|r| !r.is_empty()) {
        println!("{reason}");
    }
    Ok(if e["status"] == "succeeded" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
