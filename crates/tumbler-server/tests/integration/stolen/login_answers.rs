//! Login answers do not tell which factor failed (HTTP Basic included), and a password-only
//! login of a TOTP user ends nothing; success is audited after the code.

use super::super::support::audit_events as audit;
use super::super::support::{error_code, typed};
use super::{admin_with_totp, login, session};
use reqwest::Client;
use serde_json::{json, Value};
use tumbler_api_types::users::CreatedToken;
use tumbler_testkit::app::ADMIN_PASSWORD;

#[tokio::test]
async fn login_answers_do_not_tell_which_factor_failed() {
    let (app, _clock, _token, totp) = admin_with_totp(|_| {}).await;
    let wrong_password = login(&app, "admin", "Wrong-Password-Guess-1", None).await;
    let right_password_no_code = login(&app, "admin", ADMIN_PASSWORD, None).await;
    let right_password_wrong_code = login(&app, "admin", ADMIN_PASSWORD, Some("123456")).await;
    let wrong_password_right_code = login(
        &app,
        "admin",
        "Wrong-Password-Guess-1",
        Some(&totp.fresh_code()),
    )
    .await;
    assert_eq!(wrong_password.0, 401);
    for other in [
        &right_password_no_code,
        &right_password_wrong_code,
        &wrong_password_right_code,
    ] {
        assert_eq!(&wrong_password, other, "the same answer whatever was wrong");
    }
    // Both factors right: in (and the failure count starts again).
    assert_eq!(
        login(&app, "admin", ADMIN_PASSWORD, Some(&totp.fresh_code()))
            .await
            .0,
        200
    );
    // HTTP Basic does not tell either.
    let basic = |password: &str| {
        Client::new()
            .get(app.url("/api/v1/users/me"))
            .basic_auth("admin", Some(password))
            .send()
    };
    let a = basic("Wrong-Password-Guess-1").await.unwrap();
    let b = basic(ADMIN_PASSWORD).await.unwrap();
    assert_eq!(
        (a.status(), b.status()),
        (401.try_into().unwrap(), 401.try_into().unwrap())
    );
    assert_eq!(a.text().await.unwrap(), b.text().await.unwrap());
    // Both factors right: in.
    assert_eq!(
        login(&app, "admin", ADMIN_PASSWORD, Some(&totp.fresh_code()))
            .await
            .0,
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn a_password_only_login_of_a_totp_user_ends_nothing_and_success_is_audited_after_the_code() {
    let (app, _clock, _, totp) = admin_with_totp(|_| {}).await;
    // A session from before a password change stays until the next complete login.
    let (old_session, _) = session(&app, Some(&totp.fresh_code())).await;
    let policy = Client::new()
        .patch(app.url("/api/v1/settings/password-policy"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&json!({"other_sessions": "keep_until_next_login"}))
        .send()
        .await
        .unwrap();
    assert_eq!(policy.status(), 401, "Basic without the code is not enough");
    let (admin_session, csrf) = session(&app, Some(&totp.fresh_code())).await;
    let res = admin_session
        .patch(app.url("/api/v1/settings/password-policy"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"other_sessions": "keep_until_next_login"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let next = "Changed-Passphrase-With-Code-4";
    let change = |code: Option<String>| {
        Client::new()
            .post(app.url("/api/v1/users/me/password"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&json!({"old_password": ADMIN_PASSWORD, "new_password": next, "totp": code}))
            .send()
    };
    assert_eq!(
        change(None).await.unwrap().status(),
        401,
        "a user with TOTP changes the password over REST with a code"
    );
    assert_eq!(change(Some(totp.fresh_code())).await.unwrap().status(), 204);
    let token: Value = Client::new()
        .post(app.url("/api/v1/users/me/tokens"))
        .basic_auth("admin", Some(next))
        .json(&json!({"name": "audit", "totp": totp.fresh_code()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = typed::<CreatedToken>(token).token;
    let still = |c: Client| {
        let url = app.url("/api/v1/users/me");
        async move { c.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        still(old_session.clone()).await,
        200,
        "kept until the next login"
    );

    let before = audit(&app, &token, "auth.login").await.len();
    assert_eq!(login(&app, "admin", next, None).await.0, 401);
    assert_eq!(
        still(old_session.clone()).await,
        200,
        "a password-only attempt ends nothing"
    );
    let events = audit(&app, &token, "auth.login").await;
    assert_eq!(events.len(), before + 1);
    assert_eq!(events[0].outcome, "failure", "{:?}", events[0]);
    assert_eq!(
        login(&app, "admin", next, Some(&totp.fresh_code())).await.0,
        200
    );
    assert_eq!(still(old_session).await, 401, "the complete login ended it");
    let events = audit(&app, &token, "auth.login").await;
    assert_eq!(events[0].outcome, "success");
    assert_eq!(events.len(), before + 2, "one failure, one success");
    assert_eq!(events[1].outcome, "failure");
    app.stop().await;
}

#[tokio::test]
async fn http_basic_does_not_tell_a_right_password_without_the_code() {
    let (app, _clock, _token, _totp) = admin_with_totp(|_| {}).await;
    // Bad bodies, sent without the code: with the right password they answer exactly as with
    // a wrong one, so the body's validation says nothing about the password.
    let bodies: Vec<(&str, Option<&str>)> = vec![
        ("/api/v1/users/me/tokens", Some(r#"{"name": ""}"#)),
        ("/api/v1/users/me/tokens", Some("{not json")),
        ("/api/v1/users/me/tokens", None),
        ("/api/v1/users/me/password", Some(r#"{"old_password": 1}"#)),
    ];
    for (path, body) in bodies {
        let mut answers = Vec::new();
        for password in [ADMIN_PASSWORD, "not-the-password"] {
            let mut req = Client::new()
                .post(app.url(path))
                .basic_auth("admin", Some(password));
            if let Some(b) = body {
                req = req
                    .header("content-type", "application/json")
                    .body(b.to_owned());
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let answer: Value = res.json().await.unwrap();
            answers.push((status, error_code(&answer)));
        }
        assert_eq!(
            answers[0],
            (401, "invalid_credentials".to_owned()),
            "{path} {body:?}"
        );
        assert_eq!(answers[0], answers[1], "{path} {body:?}");
    }
    app.stop().await;
}
