//! Templates that type a secret need their own permission, checked again at run time against
//! the task's owner.

use super::super::change_secret::{account, admin, linux_asset, records, OPS_PASSWORD};
use super::super::support::{call, error_code, ok, typed, user};
use super::{create_asset, my_id};
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_api_types::change_secret::{ExecutionView, RecordRow, TaskView};
use tumbler_domain::change_secret::ExecutionStatus;
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};
use tumbler_testkit::sshd::{SshHost, TestUser};

/// A template that drives `passwd` through sudo, typing the login secret at sudo's prompt.
fn sudo_passwd_template() -> Value {
    json!({
        "command": "sudo -S -p 'SUDO-ASKS:' passwd {username}",
        "steps": [
            {"expect": "SUDO-ASKS:", "answer": "{login_secret}", "timeout_secs": 10},
            {"expect": "New password:", "answer": "{new_secret}", "timeout_secs": 10},
            {"expect": "Retype new password:", "answer": "{new_secret}", "timeout_secs": 10},
            {"expect": "updated successfully", "timeout_secs": 10}
        ]
    })
}

/// A template that types only the new secret (what a network device's CLI asks for).
fn device_template() -> Value {
    json!({
        "command": "",
        "pty": true,
        "steps": [
            {"expect": "New password:", "answer": "{new_secret}", "timeout_secs": 5},
            {"expect": "changed", "timeout_secs": 5}
        ]
    })
}

#[tokio::test]
async fn secret_templates_need_their_own_permission_checked_again_at_run_time() {
    let start = Utc::now();
    let clock = Arc::new(ManualClock::new(start));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let admin = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", "canary-App1-Template-3f"),
    ])
    .await
    .unwrap();
    let linux = linux_asset(&app, &admin, "linux", &host).await;
    account(&app, &admin, &linux, "ops", OPS_PASSWORD, true, json!({})).await;
    account(
        &app,
        &admin,
        &linux,
        "app1",
        "canary-App1-Template-3f",
        false,
        json!({}),
    )
    .await;
    let junos = create_asset(
        &app,
        &admin,
        json!({"name": "edge", "address": "127.0.0.1", "port": 1, "platform": "junos",
               "nodes": ["/Default/Net"]}),
    )
    .await;
    let olga = user(&app, &admin, "olga", &["operator"], &["Default"]).await;
    let create = |token: &str, body: Value| {
        let token = token.to_owned();
        let app = &app;
        async move {
            call(
                app,
                &token,
                Method::POST,
                "/api/v1/change-secret/tasks",
                Some(body),
            )
            .await
        }
    };

    // An operator: no template at all, not even one that types only the new secret to a
    // network device (what the device prints could be quoted into a record's reason).
    for (assets, template) in [
        (json!([junos]), sudo_passwd_template()),
        (json!([linux]), device_template()),
        (json!([junos]), device_template()),
        (json!([junos, linux]), device_template()),
    ] {
        let (status, body) = create(
            &olga,
            json!({"name": "t", "usernames": ["app1"], "asset_ids": assets,
                   "secret_strategy": "random", "custom_ssh": template}),
        )
        .await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (403, "template_not_allowed"),
            "{body}"
        );
    }
    let (status, body) = create(
        &olga,
        json!({"name": "devices", "usernames": ["app1"], "nodes": ["/Default/Net"],
               "secret_strategy": "random", "custom_ssh": device_template()}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let seen = host.auth_log().len();

    // An administrator may; the task's owner must still hold the permission when it runs.
    let ada = user(&app, &admin, "ada", &["admin"], &["Default"]).await;
    let (status, body) = create(
        &ada,
        json!({"name": "sudo passwd", "usernames": ["app1"], "asset_ids": [linux],
               "secret_strategy": "random", "custom_ssh": sudo_passwd_template(),
               "schedule": {"interval_hours": 1,
                            "start_at": (start + chrono::Duration::minutes(30)).to_rfc3339()}}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let created: TaskView = typed(body);
    // Nor may an operator retarget a task whose template runs with its owner's permission.
    let (status, out) = call(
        &app,
        &olga,
        Method::PATCH,
        &format!("/api/v1/change-secret/tasks/{}", created.id),
        Some(json!({"asset_ids": [junos]})),
    )
    .await;
    assert_eq!(
        (status, error_code(&out).as_str()),
        (403, "template_not_allowed"),
        "{out}"
    );
    let ada_id = my_id(&app, &ada).await;
    ok(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/users/{ada_id}"),
        Some(json!({"roles": ["operator"], "current_password": ADMIN_PASSWORD})),
        200,
    )
    .await;
    clock.advance(chrono::Duration::minutes(31));
    let fired = app.services.change_secret.run_due_tasks().await.unwrap();
    assert_eq!(fired.len(), 1);
    let e: ExecutionView =
        super::super::change_secret::wait_for_execution(&app, &admin, fired[0].as_str()).await;
    assert_eq!(e.status, ExecutionStatus::Failed, "{e:?}");
    let r: RecordRow = records(&app, &admin, e.id.as_str()).await[0].clone();
    assert_eq!(
        r.reason_code,
        Some(FailureCode::TemplateNotAllowed),
        "{r:?}"
    );
    assert!(r.reason.contains("ada"), "{r:?}");
    let since = host.auth_log()[seen..].to_owned();
    assert!(!since.contains("Accepted"), "nothing logged in: {since}");
    assert!(
        super::super::change_secret::ssh_logs_in(&host, "app1", "canary-App1-Template-3f").await
    );
    app.stop().await;
}
