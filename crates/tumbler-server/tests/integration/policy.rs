//! The password policy over the API: each rule's refusal, history, the comma, the blocklist,
//! other sessions after a change, a tightened policy, expiry with its warning, lockout on a
//! wrong current password. Time comes from an injected clock.

use chrono::{Duration, Utc};
use reqwest::Client;
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_domain::{Clock, ManualClock};
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

/// Changes the given fields of the policy (a PATCH; a PUT needs every field).
async fn put_policy(app: &TestApp, token: &str, policy: Value) -> (u16, Value) {
    let res = Client::new()
        .patch(app.url("/api/v1/settings/password-policy"))
        .bearer_auth(token)
        .json(&policy)
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

async fn change(app: &TestApp, user: &str, old: &str, new: &str) -> (u16, Vec<String>) {
    let res = Client::new()
        .post(app.url("/api/v1/users/me/password"))
        .basic_auth(user, Some(old))
        .json(&json!({"old_password": old, "new_password": new}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let codes = body["error"]["details"]["violations"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|x| x["code"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (status, codes)
}

async fn login(app: &TestApp, client: &Client, password: &str) -> Value {
    let res = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn refusals_name_every_broken_rule() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let (status, policy) = Client::new()
        .get(app.url("/api/v1/settings/password-policy"))
        .bearer_auth(&token)
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 200);
    let policy: Value = policy.json().await.unwrap();
    assert_eq!(
        (
            policy["min_length"].as_u64(),
            policy["history"].as_u64(),
            policy["disallowed_chars"].as_str()
        ),
        (Some(15), Some(6), Some(","))
    );
    assert!(policy["rules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().contains("commas")));

    let (status, _) = put_policy(&app, &token, json!({"max_length": 64})).await;
    assert_eq!(status, 400, "a maximum below 128 would truncate");
    let (status, _) = put_policy(&app, &token, json!({"min_lenght": 3})).await;
    assert!(status == 400 || status == 422, "unknown fields are refused");
    let (status, saved) = put_policy(&app, &token, json!({"require_uppercase": true, "require_digit": true, "require_symbol": true, "custom_blocklist": ["Tumbler-Company-Secret"], "min_strength": 0})).await;
    assert_eq!(status, 200, "{saved}");
    assert!(saved["rules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().contains("uppercase")));

    let (status, codes) = change(&app, "admin", ADMIN_PASSWORD, "all lower, with comma").await;
    assert_eq!(status, 422);
    assert_eq!(
        codes,
        ["disallowed_character", "missing_uppercase", "missing_digit"]
    );
    let (_, codes) = change(&app, "admin", ADMIN_PASSWORD, "tumbler-company-secret").await;
    assert!(codes.contains(&"blocklisted".to_owned()), "{codes:?}");
    let (_, codes) = change(&app, "admin", ADMIN_PASSWORD, "ADMIN-IS-ME-1234!").await;
    assert!(codes.contains(&"contains_username".to_owned()), "{codes:?}");
    let (_, codes) = change(&app, "admin", ADMIN_PASSWORD, "Administrator-2026-Q!").await;
    assert!(
        codes.contains(&"contains_display_name".to_owned()),
        "{codes:?}"
    );

    // The built-in blocklist, with a shorter minimum so length is not what refuses it.
    let (status, _) = put_policy(&app, &token, json!({"min_length": 8, "min_strength": 0, "require_uppercase": false, "require_digit": false, "require_symbol": false})).await;
    assert_eq!(status, 200);
    let (_, codes) = change(&app, "admin", ADMIN_PASSWORD, "iloveyou").await;
    assert_eq!(codes, ["blocklisted"]);
    let (_, codes) = change(&app, "admin", ADMIN_PASSWORD, "aaaaaaaaaaaaaaaa").await;
    assert!(
        codes.is_empty() || !codes.contains(&"too_weak".to_owned()),
        "strength is off now: {codes:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn history_refuses_recent_passwords() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let pws = ["Second-Passphrase-Is-Long-1", "Third-Passphrase-Is-Long-2"];
    assert_eq!(change(&app, "admin", ADMIN_PASSWORD, pws[0]).await.0, 204);
    assert_eq!(change(&app, "admin", pws[0], pws[1]).await.0, 204);
    let (status, codes) = change(&app, "admin", pws[1], ADMIN_PASSWORD).await;
    assert_eq!((status, codes), (422, vec!["reused".to_owned()]));
    let (_, codes) = change(&app, "admin", pws[1], pws[1]).await;
    assert_eq!(codes, ["same_as_current"]);
    app.stop().await;
}

#[tokio::test]
async fn other_sessions_are_revoked_by_default_or_kept_until_the_next_login() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let other = Client::builder().cookie_store(true).build().unwrap();
    login(&app, &other, ADMIN_PASSWORD).await;
    let next = "Fresh-Passphrase-For-Revoke-9";
    assert_eq!(change(&app, "admin", ADMIN_PASSWORD, next).await.0, 204);
    assert_eq!(
        other
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "revoked at once"
    );

    // API tokens end with the password too; a new one is made with the new password.
    let (status, _) = put_policy(&app, &token, json!({"other_sessions": "revoke"})).await;
    assert_eq!(
        status, 401,
        "the token was revoked with the password change"
    );
    let token: Value = Client::new()
        .post(app.url("/api/v1/users/me/tokens"))
        .basic_auth("admin", Some(next))
        .json(&json!({"name": "after"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let (status, _) = put_policy(
        &app,
        &token,
        json!({"other_sessions": "keep_until_next_login"}),
    )
    .await;
    assert_eq!(status, 200);
    let other = Client::builder().cookie_store(true).build().unwrap();
    login(&app, &other, next).await;
    let last = "Fresh-Passphrase-For-Keeping-8";
    assert_eq!(change(&app, "admin", next, last).await.0, 204);
    assert_eq!(
        other
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "kept until the next login"
    );
    login(&app, &Client::new(), last).await;
    assert_eq!(
        other
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "ended by the next login"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_tightened_policy_forces_a_change_at_the_next_login() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let (status, _) = put_policy(&app, &token, json!({"min_length": 40})).await;
    assert_eq!(status, 200);
    let c = Client::builder().cookie_store(true).build().unwrap();
    let body = login(&app, &c, ADMIN_PASSWORD).await;
    assert_eq!(body["must_change_password"], true);
    let res = c
        .get(app.url("/api/v1/users/me/tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "password_change_required"
    );
    let long = "A-Much-Longer-Passphrase-That-Meets-Forty-Characters";
    assert_eq!(change(&app, "admin", ADMIN_PASSWORD, long).await.0, 204);
    assert_eq!(
        login(&app, &Client::new(), long).await["must_change_password"],
        false
    );
    app.stop().await;
}

#[tokio::test]
async fn passwords_expire_with_a_warning_period() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let (status, _) = put_policy(
        &app,
        &token,
        json!({"expiry_days": 30, "expiry_warning_days": 7}),
    )
    .await;
    assert_eq!(status, 200);
    let body = login(&app, &Client::new(), ADMIN_PASSWORD).await;
    let expires: chrono::DateTime<Utc> = body["password_expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (expires - (clock.now() + Duration::days(30)))
            .num_minutes()
            .abs()
            <= 1
    );
    clock.advance(Duration::days(29));
    assert_eq!(
        login(&app, &Client::new(), ADMIN_PASSWORD).await["must_change_password"],
        false,
        "warned, not yet expired"
    );
    clock.advance(Duration::days(2));
    assert_eq!(
        login(&app, &Client::new(), ADMIN_PASSWORD).await["must_change_password"],
        true
    );
    app.stop().await;
}

#[tokio::test]
async fn wrong_current_passwords_count_towards_lockout() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    for _ in 0..5 {
        let res = Client::new()
            .post(app.url("/api/v1/users/me/password"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&json!({"old_password": "not-the-current-one-12345", "new_password": "Whatever-New-Passphrase-77"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let res = Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "locked out");
    app.stop().await;
}

#[tokio::test]
async fn the_dashboard_warns_during_the_warning_period() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    assert_eq!(
        put_policy(
            &app,
            &token,
            json!({"expiry_days": 30, "expiry_warning_days": 7})
        )
        .await
        .0,
        200
    );
    let c = Client::builder().cookie_store(true).build().unwrap();
    login(&app, &c, ADMIN_PASSWORD).await;
    let page = c
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("dashboard-title") && !page.contains("password-expiry-warning"));
    clock.advance(Duration::days(24));
    let c = Client::builder().cookie_store(true).build().unwrap();
    login(&app, &c, ADMIN_PASSWORD).await;
    let page = c
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("password-expiry-warning"), "{page}");
    app.stop().await;
}

#[tokio::test]
async fn administrators_edit_the_policy_in_the_console() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let c = Client::builder().cookie_store(true).build().unwrap();
    login(&app, &c, ADMIN_PASSWORD).await;
    let page = c
        .get(app.url("/settings/password"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let form = |min: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("min_length", min.to_owned()),
            ("min_length_with_mfa", "8".to_owned()),
            ("max_length", "128".to_owned()),
            ("builtin_blocklist", "on".to_owned()),
            (
                "custom_blocklist",
                "one-bad-password\r\nanother-bad-one".to_owned(),
            ),
            ("min_strength", "2".to_owned()),
            ("disallowed_chars", ",;".to_owned()),
            ("history", "3".to_owned()),
            ("expiry_days", "".to_owned()),
            ("expiry_warning_days", "14".to_owned()),
            ("other_sessions", "revoke".to_owned()),
            ("max_failed_logins", "4".to_owned()),
            ("lockout_minutes", "10".to_owned()),
            ("session_idle_minutes", "20".to_owned()),
            ("session_absolute_hours", "8".to_owned()),
            ("max_sessions_per_user", "3".to_owned()),
        ]
    };
    let res = c
        .post(app.url("/settings/password"))
        .form(&form("20"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    let policy: Value = Client::new()
        .get(app.url("/api/v1/settings/password-policy"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            policy["min_length"].as_u64(),
            policy["history"].as_u64(),
            policy["disallowed_chars"].as_str()
        ),
        (Some(20), Some(3), Some(",;"))
    );
    assert_eq!(
        policy["custom_blocklist"],
        json!(["one-bad-password", "another-bad-one"])
    );
    let page = c
        .post(app.url("/settings/password"))
        .form(&form("lots"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("min length must be a number"),
        "a bad field is named"
    );
    let res = c
        .post(app.url("/settings/password"))
        .form(&[("csrf", "forged"), ("min_length", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn every_refusal_code_over_the_api() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let all_classes = json!({"require_lowercase": true, "require_uppercase": true, "require_digit": true, "require_symbol": true, "min_strength": 0, "builtin_blocklist": false, "custom_blocklist": ["Custom-Blocked-Passphrase-1!"]});
    assert_eq!(put_policy(&app, &token, all_classes).await.0, 200);
    let cases: Vec<(String, &str)> = vec![
        ("Sh0rt!".to_owned(), "too_short"),
        (format!("{}aA1!", "x".repeat(130)), "too_long"),
        (
            "Long-Enough,Passphrase-1".to_owned(),
            "disallowed_character",
        ),
        (
            "Long-Enough\u{1}Passphrase-1".to_owned(),
            "control_character",
        ),
        ("My-admin-Passphrase-Long-1".to_owned(), "contains_username"),
        (
            "Administrator-Passphrase-9!".to_owned(),
            "contains_display_name",
        ),
        (
            "ALL-UPPER-PASSPHRASE-LONG-1".to_owned(),
            "missing_lowercase",
        ),
        (
            "all-lower-passphrase-long-1".to_owned(),
            "missing_uppercase",
        ),
        ("No-Digits-In-This-Passphrase".to_owned(), "missing_digit"),
        ("NoSymbolsInThisPassphrase1".to_owned(), "missing_symbol"),
        ("custom-blocked-passphrase-1!".to_owned(), "blocklisted"),
        (ADMIN_PASSWORD.to_owned(), "same_as_current"),
    ];
    for (candidate, code) in &cases {
        let (status, codes) = change(&app, "admin", ADMIN_PASSWORD, candidate).await;
        assert_eq!(status, 422, "{code}");
        assert!(
            codes.iter().any(|c| c == code),
            "{code} expected, got {codes:?}"
        );
    }
    assert_eq!(
        put_policy(&app, &token, json!({"min_strength": 4})).await.0,
        200
    );
    let (_, codes) = change(&app, "admin", ADMIN_PASSWORD, "abcabcabcabcabcabcabc").await;
    assert!(codes.iter().any(|c| c == "too_weak"), "{codes:?}");

    // Only HTTP Basic may change it over REST: a token gets 401 with a reason.
    let res = Client::new()
        .post(app.url("/api/v1/users/me/password"))
        .bearer_auth(&token)
        .json(
            &json!({"old_password": ADMIN_PASSWORD, "new_password": "Whatever-Long-Passphrase-9"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "basic_auth_required");
    assert!(body["error"]["message"].as_str().unwrap().contains("Basic"));
    app.stop().await;
}

#[tokio::test]
async fn lockout_and_session_rules_follow_the_policy_at_once() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let rules = json!({"max_failed_logins": 2, "lockout_minutes": 5, "session_idle_minutes": 10, "max_sessions_per_user": 1});
    assert_eq!(put_policy(&app, &token, rules).await.0, 200);
    let c = Client::builder().cookie_store(true).build().unwrap();
    login(&app, &c, ADMIN_PASSWORD).await;
    let second = Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 409, "one session per user now");
    clock.advance(Duration::minutes(11));
    assert_eq!(
        c.get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "idle after 10 minutes"
    );
    for _ in 0..2 {
        let res = Client::new()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": "wrong-password-xyz-987"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let res = Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "locked after two failures");
    clock.advance(Duration::minutes(6));
    login(&app, &Client::new(), ADMIN_PASSWORD).await;
    app.stop().await;
}

#[tokio::test]
async fn only_administrators_read_the_custom_blocklist() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let (status, saved) = put_policy(
        &app,
        &token,
        json!({"custom_blocklist": ["Canary-Blocked-Acme-2026"]}),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    let operator = super::support::user(&app, &token, "op", &["operator"], &["Default"]).await;
    let read = |t: String| {
        let url = app.url("/api/v1/settings/password-policy");
        async move {
            let res = Client::new().get(url).bearer_auth(t).send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let theirs = read(operator).await;
    assert!(
        !theirs.to_string().contains("Canary-Blocked"),
        "an operator does not read the blocklist: {theirs}"
    );
    assert!(theirs.get("custom_blocklist").is_none(), "{theirs}");
    assert_eq!(theirs["min_length"], 15, "the rest of the policy is there");
    assert!(
        theirs["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("breached")),
        "the rules still say that some passwords are refused: {theirs}"
    );
    let mine = read(token).await;
    assert_eq!(
        mine["custom_blocklist"],
        json!(["Canary-Blocked-Acme-2026"])
    );
    app.stop().await;
}
