//! A stolen session or token must not become more: second-factor guesses count towards the
//! lockout and the throttle everywhere a code is checked, parallel attempts cannot outrun them,
//! login answers do not say which factor failed, the own-password forms are counted like a
//! login, and failed logins cannot flood the audit.

use super::support::{call, ok, Authenticator};
use chrono::Utc;
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_domain::{ManualClock, SystemClock};
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

/// An activated admin with TOTP on a manual clock, its token and authenticator.
pub(super) async fn admin_with_totp(
    configure: impl FnOnce(&mut tumbler_server::config::Config),
) -> (TestApp, Arc<ManualClock>, String, Authenticator) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_configured(StoreKind::Sqlite, clock.clone(), configure).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let totp = Authenticator::enrol(&app, &token, clock.clone()).await;
    (app, clock, token, totp)
}

/// Audit events of `action` (newest first).
pub(super) async fn audit(app: &TestApp, token: &str, action: &str) -> Vec<Value> {
    let page = ok(
        app,
        token,
        Method::GET,
        &format!("/api/v1/audit?action={action}&limit=500"),
        None,
        200,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

async fn login(app: &TestApp, user: &str, password: &str, code: Option<&str>) -> (u16, String) {
    let mut body = json!({"username": user, "password": password});
    if let Some(c) = code {
        body["totp"] = json!(c);
    }
    let res = Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

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
        assert_eq!(body["error"]["code"], "invalid_totp");
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
    assert_eq!(body["error"]["code"], "account_locked");
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

/// 40 parallel wrong logins against one account: at most the lockout's 5 are checked, and
/// the account locks.
async fn parallel_wrong_logins_lock(kind: StoreKind) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_configured(kind, clock.clone(), |c| {
        c.auth.max_failures_per_source = 1000;
    })
    .await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let attempts = (0..40).map(|i| {
        let app = &app;
        async move { login(app, "admin", &format!("wrong-password-{i:03}-xyz"), None).await }
    });
    let answers = futures::future::join_all(attempts).await;
    assert!(answers.iter().all(|(s, _)| *s == 401));
    let hashed = audit(&app, &token, "auth.login")
        .await
        .into_iter()
        .filter(|e| e["detail"] == "wrong_password")
        .count();
    assert!(
        (1..=5).contains(&hashed),
        "at most the lockout's 5 wrong passwords were checked, not {hashed}"
    );
    assert_eq!(
        login(&app, "admin", ADMIN_PASSWORD, None).await.0,
        401,
        "the lockout engaged"
    );
    app.stop().await;
}

#[tokio::test]
async fn parallel_wrong_logins_cannot_outrun_the_lockout_on_postgresql() {
    parallel_wrong_logins_lock(StoreKind::Postgres).await;
}

#[tokio::test]
async fn parallel_wrong_logins_cannot_outrun_the_lockout_or_the_throttle() {
    parallel_wrong_logins_lock(StoreKind::Sqlite).await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    // Unknown users: only the source's 12 attempts are checked, whatever runs in parallel.
    let app = TestApp::spawn_configured(StoreKind::Sqlite, clock.clone(), |c| {
        c.auth.max_failures_per_source = 12;
    })
    .await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let attempts = (0..40).map(|i| {
        let app = &app;
        async move { login(app, &format!("nobody{i}"), "wrong-password-xyz-1", None).await }
    });
    let answers = futures::future::join_all(attempts).await;
    let throttled = answers.iter().filter(|(s, _)| *s == 429).count();
    let unknown = audit(&app, &token, "auth.login")
        .await
        .into_iter()
        .filter(|e| e["detail"] == "unknown_user")
        .count();
    assert!(unknown <= 12, "{unknown} attempts were checked");
    assert_eq!(throttled + unknown, 40);
    app.stop().await;
}

/// The peak resident memory of this test process (which runs the server) in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hundred_parallel_logins_stay_within_a_bounded_hash_memory() {
    // The throttle would stop a single source after a few attempts: here it lets all 300
    // through, as many sources would, so only the bound on concurrent hashes limits memory.
    let app = TestApp::spawn_configured(StoreKind::Sqlite, Arc::new(SystemClock), |c| {
        c.auth.max_failures_per_source = 1_000;
    })
    .await;
    app.activate_admin().await;
    let before = peak_rss_kib();
    let attempts = (0..300).map(|i| {
        let app = &app;
        async move { login(app, &format!("nobody{i}"), "wrong-password-xyz-1", None).await }
    });
    let answers = futures::future::join_all(attempts).await;
    let after = peak_rss_kib();
    // Every attempt was really checked (an Argon2 hash each, the dummy one for unknown users).
    assert!(answers.iter().all(|(s, _)| *s == 401), "{answers:?}");
    // Each Argon2id hash holds 19 MiB while it runs: 300 at once would take about 5.6 GiB.
    let growth_mib = after.saturating_sub(before) / 1024;
    assert!(
        growth_mib < 1024,
        "300 parallel logins raised the peak memory by {growth_mib} MiB"
    );
    app.stop().await;
}

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
    let token = token["token"].as_str().unwrap().to_owned();
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
    assert_eq!(events[0]["outcome"], "failure", "{}", events[0]);
    assert_eq!(
        login(&app, "admin", next, Some(&totp.fresh_code())).await.0,
        200
    );
    assert_eq!(still(old_session).await, 401, "the complete login ended it");
    let events = audit(&app, &token, "auth.login").await;
    assert_eq!(events[0]["outcome"], "success");
    assert_eq!(events.len(), before + 2, "one failure, one success");
    assert_eq!(events[1]["outcome"], "failure");
    app.stop().await;
}

/// Logs in over the API with a cookie-keeping client; returns it and the CSRF token.
async fn session(app: &TestApp, code: Option<&str>) -> (Client, String) {
    let client = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut body = json!({"username": "admin", "password": ADMIN_PASSWORD});
    if let Some(c) = code {
        body["totp"] = json!(c);
    }
    let res = client
        .post(app.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    (client, v["csrf_token"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn the_console_password_form_is_locked_out_like_a_login() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock).await;
    app.activate_admin().await;
    let (client, csrf) = session(&app, None).await;
    let submit = |old: &str| {
        client
            .post(app.url("/account/password"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("old_password", old),
                ("new_password", "Brand-New-Passphrase-Guess-9"),
                ("confirm_password", "Brand-New-Passphrase-Guess-9"),
            ])
            .send()
    };
    // A changed password answers 303 (to the login page).
    for i in 0..5 {
        let res = submit(&format!("Guessed-Password-{i}")).await.unwrap();
        assert_ne!(res.status(), 303);
    }
    let res = submit(ADMIN_PASSWORD).await.unwrap();
    assert_eq!(res.status(), 403, "locked: the right password is refused");
    assert!(res.text().await.unwrap().contains("locked"));
    assert_eq!(
        login(&app, "admin", ADMIN_PASSWORD, None).await.0,
        401,
        "and the account's logins are locked too"
    );
    app.stop().await;
}

#[tokio::test]
async fn own_password_changes_pass_the_source_throttle() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_configured(StoreKind::Sqlite, clock, |c| {
        c.auth.max_failures_per_source = 3;
    })
    .await;
    app.activate_admin().await;
    let (client, csrf) = session(&app, None).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let res = client
            .post(app.url("/account/password"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("old_password", &format!("Guessed-Password-{i}")),
                ("new_password", "Brand-New-Passphrase-Guess-9"),
                ("confirm_password", "Brand-New-Passphrase-Guess-9"),
            ])
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert!(statuses[..3].iter().all(|s| *s != 303), "{statuses:?}");
    assert_eq!(statuses[3], 429, "{statuses:?}");
    // The API form (HTTP Basic plus the current password in the body) is throttled as well.
    let res = Client::new()
        .post(app.url("/api/v1/users/me/password"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&json!({"old_password": "Guess", "new_password": "Brand-New-Passphrase-Guess-9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    app.stop().await;
}

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
        (status, body["error"]["code"].as_str()),
        (403, Some("reauthentication_required"))
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
        (status, body["error"]["code"].as_str()),
        (401, Some("wrong_current_password"))
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
    let second = second["token"].as_str().unwrap().to_owned();

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
async fn failed_logins_cannot_flood_the_audit() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_configured(StoreKind::Sqlite, clock.clone(), |c| {
        c.auth.max_failures_per_source = 3;
    })
    .await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let before = audit(&app, &token, "auth.login").await.len();
    let long = "x".repeat(10_000);
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(login(&app, &long, "Some-Password-1", None).await.0);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 3);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 22);
    let events = audit(&app, &token, "auth.login").await;
    let new = &events[..events.len() - before];
    assert_eq!(new.len(), 4, "3 failures and one refusal event: {new:?}");
    assert!(
        new.iter()
            .all(|e| e["actor"].as_str().unwrap().chars().count() <= 64),
        "usernames are cut to 64 characters"
    );
    assert_eq!(
        new.iter()
            .filter(|e| e["detail"].as_str().unwrap().starts_with("rate_limited"))
            .count(),
        1
    );
    // When the window has passed, the refused attempts are reported in one event.
    clock.advance(chrono::Duration::minutes(16));
    assert_eq!(login(&app, "nobody", "Some-Password-1", None).await.0, 401);
    let summary = audit(&app, &token, "auth.throttled").await;
    assert_eq!(summary.len(), 1, "{summary:?}");
    assert!(
        summary[0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("refused_attempts=22 "),
        "{}",
        summary[0]
    );
    app.stop().await;
}

#[tokio::test]
async fn changing_the_active_domain_is_audited() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let admin = app.admin_token().await;
    ok(
        &app,
        &admin,
        Method::POST,
        "/api/v1/domains",
        Some(json!({"name": "Prod"})),
        201,
    )
    .await;
    super::support::user(&app, &admin, "dora", &["operator"], &["Default", "Prod"]).await;
    let client = Client::builder().cookie_store(true).build().unwrap();
    let res = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "dora", "password": super::support::USER_PASSWORD}))
        .send()
        .await
        .unwrap();
    let csrf = res.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = client
        .put(app.url("/api/v1/users/me/active-domain"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"domain": "Prod"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let events = audit(&app, &admin, "user.active_domain").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor"], "dora");
    assert_eq!(events[0]["detail"], "from=Default to=Prod");
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
            (status, answer["error"]["code"].as_str()),
            (expected, Some(code)),
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
            answers.push((status, answer["error"]["code"].clone()));
        }
        assert_eq!(
            answers[0],
            (401, json!("invalid_credentials")),
            "{path} {body:?}"
        );
        assert_eq!(answers[0], answers[1], "{path} {body:?}");
    }
    app.stop().await;
}
