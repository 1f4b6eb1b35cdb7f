//! A stolen token cannot mint tokens or enrol its own authenticator, and a reset revokes tokens.

use super::super::support::{call, error_code, ok, typed};
use chrono::Utc;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::users::CreatedToken;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

#[tokio::test]
async fn a_stolen_token_cannot_mint_tokens_and_a_reset_revokes_them() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/users/me/tokens",
        Some(json!({"name": "more"})),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (403, "reauthentication_required")
    );
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/users/me/tokens",
        Some(json!({"name": "more", "current_password": "Guessed-Password-1"})),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (401, "wrong_current_password")
    );
    let second = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/users/me/tokens",
        Some(json!({"name": "more", "current_password": ADMIN_PASSWORD})),
        201,
    )
    .await;
    let second = typed::<CreatedToken>(second).token;

    // A reset from the host revokes every token.
    app.services
        .auth
        .reset_password("admin", false, &tumbler_core::RequestOrigin::host())
        .await
        .unwrap();
    for t in [&token, &second] {
        let (status, _) = call(&app, t, Method::GET, "/api/v1/users/me", None).await;
        assert_eq!(status, 401);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_stolen_token_cannot_enrol_its_own_authenticator() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    // The token alone, or with a wrong password, starts no enrolment.
    for (body, expected, code) in [
        (None, 403, "reauthentication_required"),
        (
            Some(json!({"current_password": "not-the-password"})),
            401,
            "wrong_current_password",
        ),
    ] {
        let (status, answer) =
            call(&app, &token, Method::POST, "/api/v1/users/me/totp", body).await;
        assert_eq!(
            (status, error_code(&answer).as_str()),
            (expected, code),
            "{answer}"
        );
    }
    // Nothing was begun: there is no enrolment to confirm.
    let (status, answer) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/users/me/totp/confirm",
        Some(json!({"code": "123456"})),
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    // The owner, who knows the password, enrols.
    let (status, answer) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/users/me/totp",
        Some(json!({"current_password": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    app.stop().await;
}
