//! Two-factor authentication: enrolment, login with a code, codes accepted once, recovery
//! codes, step-up for sensitive actions, Basic auth for users with TOTP, MFA required by role;
//! a pending enrolment kept until confirmed or cancelled, and the session's window after a
//! fresh code, one file each.

use super::support::{base32_decode, error_code, typed};
use chrono::{Duration, Utc};
use reqwest::Client;
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_api_types::auth::LoginResponse;
use tumbler_api_types::totp::{EnrolmentOut, RecoveryCodesOut, TotpStatusOut};
use tumbler_api_types::users::CreatedUserOut;
use tumbler_domain::{totp, Clock, ManualClock};
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

mod enrolment;
mod sensitive_window;

struct Enrolled {
    app: TestApp,
    clock: Arc<ManualClock>,
    token: String,
    secret: Vec<u8>,
    recovery: Vec<String>,
}

impl Enrolled {
    fn code(&self) -> String {
        totp::code_at(&self.secret, totp::step_of(self.clock.now()))
    }

    fn next_step(&self) {
        self.clock.advance(Duration::seconds(totp::STEP_SECONDS));
    }

    async fn login(&self, code: Option<&str>) -> reqwest::Response {
        let mut body = json!({"username": "admin", "password": ADMIN_PASSWORD});
        if let Some(c) = code {
            body["totp"] = json!(c);
        }
        Client::new()
            .post(self.app.url("/api/v1/auth/login"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        Client::new()
            .post(self.app.url(path))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

async fn enrolled_admin() -> Enrolled {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let res = Client::new()
        .post(app.url("/api/v1/users/me/totp"))
        .bearer_auth(&token)
        .json(&json!({"current_password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: EnrolmentOut = typed(res.json().await.unwrap());
    let secret_b32 = body.secret.as_str();
    assert!(body.otpauth_uri.contains(&format!("secret={secret_b32}")));
    assert!(body.qr_svg.starts_with("<?xml") || body.qr_svg.contains("<svg"));
    let secret = base32_decode(secret_b32);
    assert_eq!(secret.len(), totp::SECRET_LEN);
    let mut e = Enrolled {
        app,
        clock,
        token,
        secret,
        recovery: Vec::new(),
    };

    let wrong = e
        .post("/api/v1/users/me/totp/confirm", json!({"code": "000000"}))
        .await;
    assert_eq!(wrong.status(), 401);
    let res = e
        .post("/api/v1/users/me/totp/confirm", json!({"code": e.code()}))
        .await;
    assert_eq!(res.status(), 200);
    let body: RecoveryCodesOut = typed(res.json().await.unwrap());
    e.recovery = body.recovery_codes;
    assert_eq!(e.recovery.len(), 10);
    e
}

#[tokio::test]
async fn login_needs_a_fresh_code_once_enrolled() {
    let e = enrolled_admin().await;
    // A missing or wrong code is answered like a wrong password.
    let res = e.login(None).await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "invalid_credentials"
    );
    // The code that confirmed enrolment was used: the same step is refused.
    let res = e.login(Some(&e.code())).await;
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "invalid_credentials"
    );
    e.next_step();
    assert_eq!(e.login(Some(&e.code())).await.status(), 200);
    assert_eq!(
        e.login(Some(&e.code())).await.status(),
        401,
        "a code is accepted once"
    );
    // Two minutes of drift is outside the window.
    let stale = e.code();
    e.clock.advance(Duration::minutes(2));
    assert_eq!(e.login(Some(&stale)).await.status(), 401);
    e.app.stop().await;
}

#[tokio::test]
async fn recovery_codes_work_once() {
    let e = enrolled_admin().await;
    let code = e.recovery[0].to_lowercase();
    assert_eq!(e.login(Some(&code)).await.status(), 200);
    assert_eq!(e.login(Some(&code)).await.status(), 401);
    assert_eq!(e.login(Some(&e.recovery[1])).await.status(), 200);
    e.app.stop().await;
}

#[tokio::test]
async fn sensitive_actions_ask_for_a_fresh_code_even_with_a_token() {
    let e = enrolled_admin().await;
    let res = e
        .post("/api/v1/users/me/totp/recovery-codes", json!({}))
        .await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "totp_required"
    );
    e.next_step();
    let code = e.code();
    let res = e
        .post(
            "/api/v1/users/me/totp/recovery-codes",
            json!({"totp": code}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let fresh: RecoveryCodesOut = typed(res.json().await.unwrap());
    assert_eq!(fresh.recovery_codes.len(), 10);
    let res = e
        .post(
            "/api/v1/users/me/totp/recovery-codes",
            json!({"totp": code}),
        )
        .await;
    assert_eq!(res.status(), 401, "a reused code is refused");
    let body = res.json::<Value>().await.unwrap();
    assert_eq!(error_code(&body), "totp_reused", "{body}");
    assert!(
        body.to_string()
            .contains("this code was just used; wait for the next code"),
        "{body}"
    );
    // A wrong code is still just not valid.
    let res = e
        .post(
            "/api/v1/users/me/totp/recovery-codes",
            json!({"totp": "000000"}),
        )
        .await;
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "invalid_totp"
    );
    // The old recovery codes were replaced.
    assert_eq!(e.login(Some(&e.recovery[2])).await.status(), 401);
    e.app.stop().await;
}

#[tokio::test]
async fn users_without_totp_cannot_perform_sensitive_actions() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let res = Client::new()
        .post(app.url("/api/v1/users/me/totp/recovery-codes"))
        .bearer_auth(&token)
        .json(&json!({"totp": "123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "mfa_not_enrolled"
    );
    app.stop().await;
}

#[tokio::test]
async fn basic_auth_alone_is_not_enough_for_a_user_with_totp() {
    let e = enrolled_admin().await;
    let basic = |path: &str| {
        Client::new()
            .get(e.app.url(path))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
    };
    let res = basic("/api/v1/users/me/tokens").send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "invalid_credentials",
        "answered like a wrong password: Basic does not confirm a password"
    );
    let create = |body: Value| {
        Client::new()
            .post(e.app.url("/api/v1/users/me/tokens"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&body)
            .send()
    };
    assert_eq!(create(json!({"name": "ci"})).await.unwrap().status(), 401);
    e.next_step();
    let res = create(json!({"name": "ci", "totp": e.code()}))
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    e.app.stop().await;
}

#[tokio::test]
async fn a_role_can_require_mfa() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let admin = app.admin_token().await;
    let res = Client::new()
        .put(app.url("/api/v1/roles/auditor/mfa"))
        .bearer_auth(&admin)
        .json(&json!({"require_mfa": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let created: CreatedUserOut = Client::new()
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(
            &json!({"username": "ayla", "roles": ["auditor"], "current_password": ADMIN_PASSWORD}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let temp = created.temporary_password.as_deref().unwrap();
    let pw = "Auditor-Passphrase-Long-9";
    let res = Client::new()
        .post(app.url("/api/v1/users/me/password"))
        .basic_auth("ayla", Some(temp))
        .json(&json!({"old_password": temp, "new_password": pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let c = Client::builder().cookie_store(true).build().unwrap();
    let res = c
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "ayla", "password": pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csrf = res.json::<LoginResponse>().await.unwrap().csrf_token;
    let res = c.get(app.url("/api/v1/audit")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "mfa_enrolment_required"
    );
    let res = csrf_post(
        &c,
        &app,
        &csrf,
        "/api/v1/users/me/totp",
        json!({"current_password": pw}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let secret = base32_decode(&typed::<EnrolmentOut>(res.json().await.unwrap()).secret);
    let code = totp::code_at(&secret, totp::step_of(Utc::now()));
    let res = csrf_post(
        &c,
        &app,
        &csrf,
        "/api/v1/users/me/totp/confirm",
        json!({"code": code}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        c.get(app.url("/api/v1/audit"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The role requires it: turning it off is refused, with the reason, before the code is
    // spent.
    let fresh = totp::code_at(&secret, totp::step_of(Utc::now()) + 1);
    let res = csrf_post(
        &c,
        &app,
        &csrf,
        "/api/v1/users/me/totp/disable",
        json!({"code": fresh}),
    )
    .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "mfa_required_by_role"
    );
    let status: TotpStatusOut = typed(
        c.get(app.url("/api/v1/users/me/totp"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap(),
    );
    assert!(status.enabled && status.required_by_role);
    app.stop().await;
}

#[tokio::test]
async fn wrong_codes_count_towards_lockout() {
    let e = enrolled_admin().await;
    for _ in 0..5 {
        let res = e.login(Some("000000")).await;
        assert_eq!(res.status(), 401);
    }
    e.next_step();
    let res = e.login(Some(&e.code())).await;
    assert_eq!(
        res.status(),
        401,
        "locked out after five wrong codes, even with the right password and code"
    );
    e.clock.advance(Duration::minutes(16));
    assert_eq!(e.login(Some(&e.code())).await.status(), 200);
    e.app.stop().await;
}

/// Hex SHA-256 of `text`.
fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

#[tokio::test]
async fn recovery_codes_are_long_and_stored_salted_and_slow_not_as_sha256() {
    let e = enrolled_admin().await;
    for code in &e.recovery {
        let normalized = totp::normalize_recovery_code(code);
        assert!(
            normalized.len() * 5 >= 100,
            "at least 100 bits in base32: {code}"
        );
    }
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&e.app.config.database_url())
        .await
        .unwrap();
    let stored: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM recovery_codes")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 10);
    for code in &e.recovery {
        let normalized = totp::normalize_recovery_code(code);
        for plain in [
            sha256_hex(&normalized),
            sha256_hex(&format!("recovery:{normalized}")),
        ] {
            assert!(
                !stored.iter().any(|s| s.contains(&plain)),
                "a plain SHA-256 of the code is stored"
            );
        }
        assert!(!stored.iter().any(|s| s.contains(&normalized[4..])));
    }
    assert!(
        stored.iter().all(|s| s.contains("$argon2id$")),
        "{stored:?}"
    );

    // A code logs in once.
    assert_eq!(e.login(Some(&e.recovery[3])).await.status(), 200);
    assert_eq!(e.login(Some(&e.recovery[3])).await.status(), 401);
    assert_eq!(
        e.login(Some("AAAAAA-AAAAAA-AAAAAA-AAAAAA")).await.status(),
        401,
        "a made-up code of the right shape is refused"
    );

    // A code issued before the change (its SHA-256 stored) keeps working, once.
    let user_id: String = sqlx::query_scalar("SELECT id FROM users WHERE username = 'admin'")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, used_at) VALUES ($1, $2, NULL)")
        .bind(&user_id)
        .bind(sha256_hex("recovery:ABCDE23456"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(e.login(Some("abcde-23456")).await.status(), 200);
    assert_eq!(e.login(Some("abcde-23456")).await.status(), 401);
    e.app.stop().await;
}

/// Posts `body` to `path` in session `c` with its CSRF token.
async fn csrf_post(
    c: &Client,
    app: &TestApp,
    csrf: &str,
    path: &str,
    body: Value,
) -> reqwest::Response {
    c.post(app.url(path))
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap()
}
