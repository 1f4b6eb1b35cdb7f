//! What the parser property tests found, through the API: a cron step near `u32::MAX` is
//! saved with its next run (it overflowed while parsing: a panic in debug builds, a wrapped
//! loop in release ones), and a custom SSH prompt pattern that is costly to compile is
//! refused with a reason (each cost up to half a second of CPU, twenty per template).

use super::support::{call, error_code, error_field, ok_as, typed};
use chrono::Utc;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::change_secret::TaskView;
use tumbler_api_types::inventory::AssetOut;
use tumbler_api_types::ErrorAnswer;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};

async fn app_with_asset() -> (TestApp, String, String) {
    let start: chrono::DateTime<Utc> = "2026-11-22T12:00:00Z".parse().unwrap();
    let app = TestApp::spawn_on(StoreKind::Sqlite, Arc::new(ManualClock::new(start))).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let asset: AssetOut = ok_as(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": "web-1", "address": "10.0.0.1", "platform": "linux"})),
        201,
    )
    .await;
    (app, token, asset.id)
}

#[tokio::test]
async fn a_cron_step_near_u32_max_is_saved_with_its_next_run() {
    let (app, token, asset) = app_with_asset().await;
    let task: TaskView = ok_as(
        &app,
        &token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(
            json!({"name": "odd", "usernames": ["nobody"], "asset_ids": [asset],
                    "secret_strategy": "random", "schedule": {"cron": "1/4294967295 * * * *"}}),
        ),
        201,
    )
    .await;
    assert_eq!(
        task.next_run_at,
        Some("2026-11-22T12:01:00Z".parse().unwrap()),
        "{task:?}"
    );
    // The server still answers.
    ok_as::<Vec<TaskView>>(
        &app,
        &token,
        Method::GET,
        "/api/v1/change-secret/tasks",
        None,
        200,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_prompt_pattern_costly_to_compile_is_refused_with_its_reason() {
    let (app, token, asset) = app_with_asset().await;
    let (status, out) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(
            json!({"name": "t", "usernames": ["a"], "asset_ids": [asset],
            "secret_strategy": "random",
            "custom_ssh": {"command": "passwd {username}",
                "steps": [{"expect": "\\w{100}", "answer": "{new_secret}"}]}}),
        ),
    )
    .await;
    assert_eq!(status, 400, "{out}");
    assert_eq!(error_code(&out), "invalid_request", "{out}");
    assert_eq!(error_field(&out).as_deref(), Some("custom_ssh"), "{out}");
    let message = typed::<ErrorAnswer>(out).error.message;
    assert!(message.contains("too large"), "{message}");
    let list: Vec<TaskView> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/change-secret/tasks",
        None,
        200,
    )
    .await;
    assert!(list.is_empty(), "nothing stored: {list:?}");
    app.stop().await;
}
