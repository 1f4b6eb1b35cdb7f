//! The last enabled administrator cannot be removed.

use super::super::support::{error_code, typed};
use super::{admin, call, user_with_roles};
use reqwest::Method;
use serde_json::json;
use tumbler_api_types::auth::MeOut;
use tumbler_testkit::app::TestApp;

#[tokio::test]
async fn the_last_enabled_administrator_cannot_be_removed() {
    let app = TestApp::spawn().await;
    let admin_token = admin(&app).await;
    let (_, me) = call(&app, &admin_token, Method::GET, "/api/v1/users/me", None).await;
    let me: MeOut = typed(me);
    let admin_id = me.user.id.as_str();
    let (status, body) = call(
        &app,
        &admin_token,
        Method::PATCH,
        &format!("/api/v1/users/{admin_id}"),
        Some(json!({"roles": ["auditor"]})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), error_code(&body).as_str()),
        (403, "own_grants"),
        "nobody changes their own roles"
    );
    let (status, _) = call(
        &app,
        &admin_token,
        Method::PATCH,
        &format!("/api/v1/users/{admin_id}"),
        Some(json!({"status": "disabled"})),
    )
    .await;
    assert_eq!(status, 409);
    let (second, ada_token) = user_with_roles(&app, &admin_token, "ada", &["admin"]).await;
    let (status, _) = call(
        &app,
        &ada_token,
        Method::PATCH,
        &format!("/api/v1/users/{admin_id}"),
        Some(json!({"roles": ["auditor"], "current_password": super::NEW_PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "another admin exists now");
    let (status, _) = call(
        &app,
        &admin_token,
        Method::DELETE,
        &format!("/api/v1/users/{second}"),
        None,
    )
    .await;
    assert_eq!(status, 403, "the former admin lost the permission at once");
    app.stop().await;
}
