//! New users get a temporary password that expires.

use super::super::support::{error_code, typed};
use super::{admin, call};
use chrono::{Duration, Utc};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_api_types::users::{CreatedUserOut, UserOut};
use tumbler_api_types::Page;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

#[tokio::test]
async fn new_users_get_a_temporary_password_that_expires() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let admin_token = admin(&app).await;
    let (status, body) = call(
        &app,
        &admin_token,
        Method::POST,
        "/api/v1/users",
        Some(json!({"username": "tina", "email": "tina@example.test", "roles": ["operator"], "current_password": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, 201);
    let body: CreatedUserOut = typed(body);
    assert_eq!(body.user.password_status, "temporary");
    assert!(body.user.user.must_change_password);
    let temp = body.temporary_password.clone().unwrap();
    let (status, list) = call(&app, &admin_token, Method::GET, "/api/v1/users?q=tin", None).await;
    assert_eq!(status, 200);
    assert_eq!(typed::<Page<UserOut>>(list.clone()).total, 1);
    // Raw JSON: the password must be absent from the listed user, not merely unread.
    assert!(
        list["items"][0].get("temporary_password").is_none(),
        "shown once only"
    );

    let (status, dup) = call(
        &app,
        &admin_token,
        Method::POST,
        "/api/v1/users",
        Some(json!({"username": "tina", "current_password": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), error_code(&dup).as_str()),
        (409, "user_exists")
    );

    clock.advance(Duration::hours(73));
    let res = Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "tina", "password": temp}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "temporary_password_expired"
    );
    let (_, user) = call(
        &app,
        &admin_token,
        Method::GET,
        &format!("/api/v1/users/{}", body.user.user.id),
        None,
    )
    .await;
    assert_eq!(typed::<UserOut>(user).password_status, "expired");
    app.stop().await;
}
