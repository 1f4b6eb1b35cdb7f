//! Bad task input is refused with its field and nothing is stored.

use super::super::support::{call, error_code, error_field, ok, ok_as, user};
use super::admin;
use reqwest::Method;
use serde_json::json;
use tumbler_api_types::change_secret::TaskView;
use tumbler_testkit::app::TestApp;

#[tokio::test]
async fn bad_task_input_is_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let cases = [
        (
            json!({"name": "", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "random"}),
            "name",
        ),
        (
            json!({"name": "t", "usernames": [], "asset_ids": ["x"], "secret_strategy": "random"}),
            "usernames",
        ),
        (
            json!({"name": "t", "usernames": ["a"], "secret_strategy": "random"}),
            "asset_ids",
        ),
        (
            json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "specified"}),
            "secret",
        ),
        (
            json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "random",
                "password_rules": {"length": 8, "lowercase": 9, "uppercase": 0, "digit": 0, "symbol": 0}}),
            "password_rules",
        ),
        (
            json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "random",
                "schedule": {"cron": "61 * * * *"}}),
            "schedule",
        ),
        (
            json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "random",
                "params": {"become": "doas"}}),
            "params",
        ),
        (
            json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "specified",
                "secret": "a-key", "secret_type": "ssh_key"}),
            "secret_strategy",
        ),
        (
            json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "random",
                "custom_ssh": {"command": "passwd", "steps": [{"expect": "(", "answer": "{new_secret}"}]}}),
            "custom_ssh",
        ),
        (
            json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "random",
                "recipients": ["usr_does_not_exist"]}),
            "recipients",
        ),
    ];
    for (body, field) in cases {
        let (status, out) = call(
            &app,
            &token,
            Method::POST,
            "/api/v1/change-secret/tasks",
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 400, "{body}: {out}");
        assert_eq!(error_code(&out), "invalid_request");
        assert_eq!(error_field(&out).as_deref(), Some(field), "{body}: {out}");
    }
    let (status, out) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "specified", "secret": "canary-Leak-9f"})),
    )
    .await;
    assert_eq!(status, 201, "{out}");
    // Raw JSON on purpose: the secret must be nowhere in the answer's text.
    assert!(!out.to_string().contains("canary-Leak-9f"));
    let (status, out) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "random", "bogus": 1})),
    )
    .await;
    assert_eq!(
        (status, error_code(&out).as_str()),
        (422, "invalid_json"),
        "{out}"
    );
    let tasks: Vec<TaskView> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/change-secret/tasks",
        None,
        200,
    )
    .await;
    assert_eq!(tasks.len(), 1, "only the valid task is stored");
    // An auditor reads tasks but cannot create or run them.
    let auditor = user(&app, &token, "audrey", &["auditor"], &["Default"]).await;
    let id = &tasks[0].id;
    ok(
        &app,
        &auditor,
        Method::GET,
        &format!("/api/v1/change-secret/tasks/{id}"),
        None,
        200,
    )
    .await;
    let (status, _) = call(
        &app,
        &auditor,
        Method::POST,
        &format!("/api/v1/change-secret/tasks/{id}/execute"),
        None,
    )
    .await;
    assert_eq!(status, 403);
}
