//! A wrong first code keeps the pending enrolment (the entry already scanned into the app
//! stays valid) until it is confirmed or cancelled.

use super::super::support::{base32_decode, error_code, typed};
use chrono::{Duration, Utc};
use reqwest::Client;
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_api_types::totp::{EnrolmentOut, RecoveryCodesOut, TotpStatusOut};
use tumbler_domain::{totp, Clock, ManualClock};
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

#[tokio::test]
async fn a_wrong_code_keeps_the_pending_enrolment_until_confirmed_or_cancelled() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let post = |path: &str, body: Value| {
        Client::new()
            .post(app.url(path))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let status = || async {
        let res = Client::new()
            .get(app.url("/api/v1/users/me/totp"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        typed::<TotpStatusOut>(res.json().await.unwrap())
    };
    let begin = || async {
        let res = post(
            "/api/v1/users/me/totp",
            json!({"current_password": ADMIN_PASSWORD}),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 201);
        typed::<EnrolmentOut>(res.json().await.unwrap()).secret
    };
    let first = begin().await;
    let res = post("/api/v1/users/me/totp/confirm", json!({"code": "000000"}))
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let s = status().await;
    assert!(s.pending && !s.enabled, "a wrong code keeps the enrolment");
    assert_eq!(begin().await, first, "starting again shows the same secret");

    // Cancelled: the next start issues a new secret.
    let res = post("/api/v1/users/me/totp/cancel", json!({}))
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(!status().await.pending);
    let res = post("/api/v1/users/me/totp/cancel", json!({}))
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "no_totp_enrolment"
    );
    let second = begin().await;
    assert_ne!(second, first, "a cancelled secret is not reused");
    let secret = base32_decode(&second);
    let code = |clock: &ManualClock| totp::code_at(&secret, totp::step_of(clock.now()));
    let res = post(
        "/api/v1/users/me/totp/confirm",
        json!({"code": code(&clock)}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let recovery: RecoveryCodesOut = typed(res.json().await.unwrap());
    let s = status().await;
    assert!(s.enabled && !s.pending && !s.required_by_role);
    assert_eq!(s.recovery_codes_left, 10);
    let res = Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD, "totp": recovery.recovery_codes[0]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(status().await.recovery_codes_left, 9);

    // Turning it off needs a fresh code.
    let res = post("/api/v1/users/me/totp/disable", json!({}))
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    clock.advance(Duration::seconds(totp::STEP_SECONDS));
    let res = post(
        "/api/v1/users/me/totp/disable",
        json!({"code": code(&clock)}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 204);
    let s = status().await;
    assert!(!s.enabled && !s.pending);
    assert_eq!(s.recovery_codes_left, 0);
    app.stop().await;
}
