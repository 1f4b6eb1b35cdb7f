//! Wrong second-factor codes at step-up and at token creation count towards the account's
//! lockout and the source throttle, like wrong passwords.

use super::super::support::{call, error_code};
use super::{admin_with_totp, login};
use reqwest::{Client, Method};
use serde_json::json;
use tumbler_testkit::app::ADMIN_PASSWORD;

#[tokio::test]
async fn wrong_step_up_codes_lock_the_account_like_wrong_passwords() {
    let (app, _clock, token, totp) = admin_with_totp(|_| {}).await;
    // Five wrong codes at a step-up (regenerating recovery codes) ...
    for _ in 0..5 {
        let (status, body) = call(
            &app,
            &token,
            Method::POST,
            "/api/v1/users/me/totp/recovery-codes",
            Some(json!({"code": "000000"})),
        )
        .await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(error_code(&body), "invalid_totp");
    }
    // ... lock the account: the right code is refused too, and so is the login.
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/users/me/totp/recovery-codes",
        Some(json!({"code": totp.fresh_code()})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(error_code(&body), "account_locked");
    let (status, _) = login(&app, "admin", ADMIN_PASSWORD, Some(&totp.fresh_code())).await;
    assert_eq!(status, 401, "the lockout is the login's");
    app.stop().await;
}

#[tokio::test]
async fn wrong_codes_at_token_creation_under_basic_lock_the_account() {
    let (app, _clock, _token, totp) = admin_with_totp(|_| {}).await;
    let create = |code: String| {
        Client::new()
            .post(app.url("/api/v1/users/me/tokens"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&json!({"name": "ci", "totp": code}))
            .send()
    };
    for _ in 0..5 {
        let res = create("000000".to_owned()).await.unwrap();
        assert_eq!(res.status(), 401);
    }
    let res = create(totp.fresh_code()).await.unwrap();
    assert_eq!(
        res.status(),
        401,
        "locked: the right password and code are refused"
    );
    app.stop().await;
}

#[tokio::test]
async fn wrong_codes_count_towards_the_source_throttle() {
    let (app, _clock, token, _totp) = admin_with_totp(|c| c.auth.max_failures_per_source = 3).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (status, _) = call(
            &app,
            &token,
            Method::POST,
            "/api/v1/users/me/totp/disable",
            Some(json!({"code": "000000"})),
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
    app.stop().await;
}
