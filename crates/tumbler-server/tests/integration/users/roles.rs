//! Each built-in role meets its boundaries on every kind of endpoint, and a role change applies
//! at the next request.

use super::super::support::error_code;
use super::{admin, call, user_with_roles};
use reqwest::Method;
use serde_json::{json, Value};
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};

#[tokio::test]
async fn each_builtin_role_meets_its_boundaries() {
    let app = TestApp::spawn().await;
    let admin_token = admin(&app).await;
    let (_, operator) = user_with_roles(&app, &admin_token, "olga", &["operator"]).await;
    let (_, auditor) = user_with_roles(&app, &admin_token, "aldo", &["auditor"]).await;
    let (_, nobody) = user_with_roles(&app, &admin_token, "nora", &[]).await;
    let (victim, _) = user_with_roles(&app, &admin_token, "vic", &[]).await;

    // (method, path, body, [admin, operator, auditor, no role]) expected statuses.
    let cases: Vec<(Method, String, Option<Value>, [u16; 4])> = vec![
        (
            Method::GET,
            "/api/v1/users".into(),
            None,
            [200, 403, 200, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/users/{victim}"),
            None,
            [200, 403, 200, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/users/{victim}/sessions"),
            None,
            [200, 403, 200, 403],
        ),
        (
            Method::GET,
            "/api/v1/roles".into(),
            None,
            [200, 403, 200, 403],
        ),
        (
            Method::GET,
            "/api/v1/audit".into(),
            None,
            [200, 403, 200, 403],
        ),
        (
            Method::GET,
            "/api/v1/audit/verify".into(),
            None,
            [200, 403, 200, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/users/{victim}/unlock"),
            None,
            [204, 403, 403, 403],
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{victim}"),
            Some(json!({"display_name": "V"})),
            [200, 403, 403, 403],
        ),
        (
            Method::DELETE,
            format!("/api/v1/users/{victim}/sessions"),
            None,
            [204, 403, 403, 403],
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({"username": "x-new", "current_password": ADMIN_PASSWORD})),
            [201, 403, 403, 403],
        ),
        (
            Method::POST,
            "/api/v1/roles".into(),
            Some(json!({"name": "viewer", "permissions": ["assets_read"]})),
            [201, 403, 403, 403],
        ),
        // Everyone manages their own account.
        (
            Method::GET,
            "/api/v1/users/me".into(),
            None,
            [200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/users/me/sessions".into(),
            None,
            [200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/users/me/tokens".into(),
            None,
            [200, 200, 200, 200],
        ),
    ];
    for (method, path, body, expected) in cases {
        // The non-admins go first so that creations succeed for the admin only once.
        for (i, token) in [
            (1, &operator),
            (2, &auditor),
            (3, &nobody),
            (0, &admin_token),
        ] {
            let (status, answer) = call(&app, token, method.clone(), &path, body.clone()).await;
            assert_eq!(
                status.as_u16(),
                expected[i],
                "{method} {path} as role #{i}: {answer}"
            );
            if status == 403 {
                assert_eq!(error_code(&answer), "forbidden");
            }
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_role_change_applies_at_the_next_request() {
    let app = TestApp::spawn().await;
    let admin_token = admin(&app).await;
    let (id, token) = user_with_roles(&app, &admin_token, "rita", &[]).await;
    assert_eq!(
        call(&app, &token, Method::GET, "/api/v1/audit", None)
            .await
            .0,
        403
    );
    let (status, _) = call(
        &app,
        &admin_token,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(json!({"roles": ["auditor"], "current_password": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        call(&app, &token, Method::GET, "/api/v1/audit", None)
            .await
            .0,
        200
    );
    let (status, body) = call(
        &app,
        &admin_token,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(json!({"roles": ["no-such-role"]})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), error_code(&body).as_str()),
        (400, "unknown_role")
    );
    app.stop().await;
}
