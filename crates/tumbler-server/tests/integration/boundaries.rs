//! Promises of the first issues that had no test: an API token stops at its expiry (manual
//! clock), a custom role grants exactly its permissions end to end, and a role-boundary matrix
//! over the kinds of endpoints (settings, domains, role MFA, user deletion, TOTP routes,
//! "Retry all failed").

use super::support::{call, error_code, ok, ok_as, typed, user, USER_PASSWORD};
use chrono::{Duration, Utc};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_api_types::change_secret::ExecutionView;
use tumbler_api_types::domains::DomainOut;
use tumbler_api_types::inventory::{AccountOut, AssetOut};
use tumbler_api_types::users::{CreatedToken, UserOut};
use tumbler_api_types::Page;
use tumbler_domain::{Clock, ManualClock};
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

/// A fresh app with its administrator activated, and the administrator's token; then the role
/// `role` (a `POST /api/v1/roles` body) created.
async fn app_with_role(role: Value) -> (TestApp, String) {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let admin = app.admin_token().await;
    ok(&app, &admin, Method::POST, "/api/v1/roles", Some(role), 201).await;
    (app, admin)
}

/// Creates an asset from `body` as `token` (answered 201); returns its id.
async fn create_asset(app: &TestApp, token: &str, body: Value) -> String {
    let asset: AssetOut = ok_as(app, token, Method::POST, "/api/v1/assets", Some(body), 201).await;
    asset.id
}

#[tokio::test]
async fn an_api_token_stops_working_at_its_expiry() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let admin = app.admin_token().await;
    user(&app, &admin, "tess", &["auditor"], &["Default"]).await;
    let create = |expires_at: chrono::DateTime<Utc>| {
        Client::new()
            .post(app.url("/api/v1/users/me/tokens"))
            .basic_auth("tess", Some(USER_PASSWORD))
            .json(&json!({"name": "short", "expires_at": expires_at}))
            .send()
    };
    let res = create(clock.now() - Duration::minutes(1)).await.unwrap();
    assert_eq!(res.status(), 400, "an expiry in the past is refused");
    let res = create(clock.now() + Duration::hours(1)).await.unwrap();
    assert_eq!(res.status(), 201);
    let token = typed::<CreatedToken>(res.json().await.unwrap()).token;
    let me = || call(&app, &token, Method::GET, "/api/v1/users/me", None);
    assert_eq!(me().await.0, 200);
    clock.advance(Duration::minutes(59));
    assert_eq!(me().await.0, 200, "still valid a minute before");
    clock.advance(Duration::minutes(1));
    let (status, body) = me().await;
    assert_eq!(status, 401, "expired at its time: {body}");
    clock.advance(Duration::days(1));
    assert_eq!(me().await.0, 401);
    assert_eq!(
        call(&app, &admin, Method::GET, "/api/v1/users/me", None)
            .await
            .0,
        200,
        "a token without expiry keeps working"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_custom_role_grants_exactly_its_permissions() {
    let (app, admin) = app_with_role(
        json!({"name": "asset-keeper", "description": "keeps the inventory",
               "permissions": ["assets_read", "assets_manage", "audit_read"]}),
    )
    .await;
    let keeper = user(&app, &admin, "kim", &["asset-keeper"], &["Default"]).await;

    // What the role grants works...
    let id = create_asset(
        &app,
        &keeper,
        json!({"name": "kept-1", "address": "10.9.0.1", "platform": "linux"}),
    )
    .await;
    let account: AccountOut = ok_as(
        &app,
        &keeper,
        Method::POST,
        "/api/v1/accounts",
        Some(json!({"asset_id": id, "username": "app", "secret": "canary-kept-secret"})),
        201,
    )
    .await;
    ok(&app, &keeper, Method::GET, "/api/v1/assets", None, 200).await;
    let audit: Page<tumbler_domain::audit::AuditEvent> =
        ok_as(&app, &keeper, Method::GET, "/api/v1/audit", None, 200).await;
    assert!(
        audit.items.iter().any(|e| e.action == "asset.create"),
        "{audit:?}"
    );
    // ...and nothing else does.
    let account_id = account.id;
    for (method, path, body) in [
        (
            Method::POST,
            format!("/api/v1/accounts/{account_id}/reveal"),
            Some(json!({"totp": "123456"})),
        ),
        (Method::GET, "/api/v1/users".to_owned(), None),
        (Method::GET, "/api/v1/roles".to_owned(), None),
        (
            Method::PATCH,
            "/api/v1/settings/password-policy".to_owned(),
            Some(json!({"min_length": 16})),
        ),
        (
            Method::POST,
            "/api/v1/change-secret/tasks".to_owned(),
            Some(
                json!({"name": "t", "usernames": ["app"], "asset_ids": [id], "secret_strategy": "random"}),
            ),
        ),
        (
            Method::POST,
            "/api/v1/accounts/export".to_owned(),
            Some(json!({"include_secrets": true, "totp": "123456"})),
        ),
    ] {
        let (status, body) = call(&app, &keeper, method.clone(), &path, body).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
        // The raw answer: the secret must be in no field at all.
        assert!(!body.to_string().contains("canary-kept-secret"));
    }
    ok(
        &app,
        &keeper,
        Method::DELETE,
        &format!("/api/v1/assets/{id}"),
        None,
        204,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn each_kind_of_endpoint_refuses_a_role_without_its_permission() {
    let (app, admin) =
        app_with_role(json!({"name": "viewer", "permissions": ["assets_read"]})).await;
    let callers = [
        ("admin", admin.clone()),
        (
            "operator",
            user(&app, &admin, "op", &["operator"], &["Default"]).await,
        ),
        (
            "auditor",
            user(&app, &admin, "au", &["auditor"], &["Default"]).await,
        ),
        (
            "viewer",
            user(&app, &admin, "vi", &["viewer"], &["Default"]).await,
        ),
    ];
    ok(
        &app,
        &admin,
        Method::POST,
        "/api/v1/users",
        Some(json!({"username": "victim", "current_password": ADMIN_PASSWORD})),
        201,
    )
    .await;
    let users: Page<UserOut> = ok_as(
        &app,
        &admin,
        Method::GET,
        "/api/v1/users?q=victim",
        None,
        200,
    )
    .await;
    let victim = users.items[0].user.id.clone();
    let scratch: DomainOut = ok_as(
        &app,
        &admin,
        Method::POST,
        "/api/v1/domains",
        Some(json!({"name": "Scratch"})),
        201,
    )
    .await;
    let scratch = scratch.id;
    // An ended run (no account to change) for "Retry all failed".
    let asset = create_asset(
        &app,
        &admin,
        json!({"name": "bound-1", "address": "10.9.0.1", "platform": "linux"}),
    )
    .await;
    let task_id = super::change_secret::task(
        &app,
        &admin,
        json!({"name": "bound", "usernames": ["nobody"], "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    let run: ExecutionView = super::change_secret::run(&app, &admin, &task_id).await;
    let run_id = run.id.to_string();
    let smtp =
        json!({"host": "127.0.0.1", "port": 2525, "security": "none", "from": "t@example.org"});
    // (method, path, body, expected for admin, operator, auditor, viewer). Each row runs the
    // refused callers first, so that the one allowed change happens last.
    let rows: Vec<(Method, String, Option<Value>, [u16; 4])> = vec![
        // Settings.
        (
            Method::PATCH,
            "/api/v1/settings/password-policy".into(),
            Some(json!({"min_length": 15})),
            [200, 403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v1/settings/smtp".into(),
            None,
            [200, 403, 403, 403],
        ),
        (
            Method::PUT,
            "/api/v1/settings/smtp".into(),
            Some(smtp),
            [200, 403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v1/webhooks".into(),
            None,
            [200, 403, 403, 403],
        ),
        // Domains.
        (
            Method::POST,
            "/api/v1/domains".into(),
            Some(json!({"name": "Lab"})),
            [201, 403, 403, 403],
        ),
        (
            Method::DELETE,
            format!("/api/v1/domains/{scratch}"),
            None,
            [204, 403, 403, 403],
        ),
        // Change runs: "Retry all failed" needs changes_run.
        (
            Method::POST,
            format!("/api/v1/change-secret/executions/{run_id}/retry-failed"),
            None,
            [202, 202, 403, 403],
        ),
        // User deletion.
        (
            Method::DELETE,
            format!("/api/v1/users/{victim}"),
            None,
            [204, 403, 403, 403],
        ),
        // TOTP routes: a token alone enrols nobody (the current password is asked for);
        // nobody else's exists.
        (
            Method::POST,
            "/api/v1/users/me/totp".into(),
            None,
            [403, 403, 403, 403],
        ),
        (
            Method::POST,
            "/api/v1/users/me/totp/disable".into(),
            Some(json!({})),
            [403, 403, 403, 403],
        ),
        // Role MFA, last: it changes what the viewer must do.
        (
            Method::PUT,
            "/api/v1/roles/viewer/mfa".into(),
            Some(json!({"require_mfa": true})),
            [204, 403, 403, 403],
        ),
        (
            Method::DELETE,
            "/api/v1/roles/viewer".into(),
            None,
            [409, 403, 403, 403],
        ),
    ];
    for (method, path, body, expected) in rows {
        for i in (0..callers.len()).rev() {
            let (role, token) = &callers[i];
            let (status, answer) = call(&app, token, method.clone(), &path, body.clone()).await;
            assert_eq!(status, expected[i], "{role}: {method} {path}: {answer}");
            if status == 403 {
                assert!(!error_code(&answer).is_empty(), "{answer}");
            }
        }
    }
    app.stop().await;
}
