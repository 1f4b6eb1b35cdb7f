//! Users and access: role boundaries on every kind of endpoint, temporary passwords, lockout
//! and unlock, throttling per address, session limits and revocation.

use chrono::{Duration, Utc};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

const NEW_PASSWORD: &str = "Another-Long-Passphrase-77";

async fn admin(app: &TestApp) -> String {
    app.activate_admin().await;
    app.admin_token().await
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Client::new()
        .request(method, app.url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Creates a user with `roles`, changes its temporary password, and returns (id, token).
async fn user_with_roles(
    app: &TestApp,
    admin_token: &str,
    name: &str,
    roles: &[&str],
) -> (String, String) {
    let (status, body) = call(
        app,
        admin_token,
        Method::POST,
        "/api/v1/users",
        Some(json!({"username": name, "roles": roles})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let temp = body["temporary_password"].as_str().unwrap().to_owned();
    let id = body["user"]["id"].as_str().unwrap().to_owned();
    let res = Client::new()
        .post(app.url("/api/v1/users/me/password"))
        .basic_auth(name, Some(&temp))
        .json(&json!({"old_password": temp, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res: Value = Client::new()
        .post(app.url("/api/v1/users/me/tokens"))
        .basic_auth(name, Some(NEW_PASSWORD))
        .json(&json!({"name": "t"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (id, res["token"].as_str().unwrap().to_owned())
}

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
            Some(json!({"username": "x-new"})),
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
                assert_eq!(answer["error"]["code"], "forbidden");
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
        Some(json!({"roles": ["auditor"]})),
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
        (status.as_u16(), body["error"]["code"].as_str()),
        (400, Some("unknown_role"))
    );
    app.stop().await;
}

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
        Some(json!({"username": "tina", "email": "tina@example.test", "roles": ["operator"]})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(body["user"]["password_status"], "temporary");
    assert_eq!(body["user"]["must_change_password"], true);
    let temp = body["temporary_password"].as_str().unwrap().to_owned();
    let (status, list) = call(&app, &admin_token, Method::GET, "/api/v1/users?q=tin", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 1);
    assert!(
        list["items"][0].get("temporary_password").is_none(),
        "shown once only"
    );

    let (status, dup) = call(
        &app,
        &admin_token,
        Method::POST,
        "/api/v1/users",
        Some(json!({"username": "tina"})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), dup["error"]["code"].as_str()),
        (409, Some("user_exists"))
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
        res.json::<Value>().await.unwrap()["error"]["code"],
        "temporary_password_expired"
    );
    let (_, user) = call(
        &app,
        &admin_token,
        Method::GET,
        &format!("/api/v1/users/{}", body["user"]["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(user["password_status"], "expired");
    app.stop().await;
}

#[tokio::test]
async fn an_administrator_unlocks_a_locked_out_user() {
    let app = TestApp::spawn().await;
    let admin_token = admin(&app).await;
    let (id, _) = user_with_roles(&app, &admin_token, "luke", &[]).await;
    for _ in 0..5 {
        let res = Client::new()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "luke", "password": "wrong-password-000000"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let (_, user) = call(
        &app,
        &admin_token,
        Method::GET,
        &format!("/api/v1/users/{id}"),
        None,
    )
    .await;
    assert_eq!(user["locked_out"], true);
    let login = || {
        Client::new()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "luke", "password": NEW_PASSWORD}))
            .send()
    };
    assert_eq!(login().await.unwrap().status(), 401);
    assert_eq!(
        call(
            &app,
            &admin_token,
            Method::POST,
            &format!("/api/v1/users/{id}/unlock"),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(login().await.unwrap().status(), 200);
    let (_, events) = call(
        &app,
        &admin_token,
        Method::GET,
        "/api/v1/audit?action=user.unlock",
        None,
    )
    .await;
    assert_eq!(events["total"], 1);
    assert_eq!(events["items"][0]["object_id"], id.as_str());
    app.stop().await;
}

#[tokio::test]
async fn one_address_is_throttled_after_many_failures_across_accounts() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    // 20 failures spread over unknown accounts (no account lockout involved).
    for i in 0..20 {
        let res = Client::new()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": format!("ghost{i}"), "password": "x-password-guess-1"}))
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
    assert_eq!(res.status(), 429);
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "rate_limited"
    );
    clock.advance(Duration::minutes(16));
    let res = Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn sessions_are_limited_listed_and_revocable() {
    let app = TestApp::spawn().await;
    let admin_token = admin(&app).await;
    let (id, _) = user_with_roles(&app, &admin_token, "sam", &[]).await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        let c = Client::builder().cookie_store(true).build().unwrap();
        let res = c
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "sam", "password": NEW_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        clients.push(c);
    }
    let sixth = Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "sam", "password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(sixth.status(), 409);
    assert_eq!(
        sixth.json::<Value>().await.unwrap()["error"]["code"],
        "session_limit_reached"
    );

    // Each session sees the list and which one it is; it can end another.
    let mine: Value = clients[0]
        .get(app.url("/api/v1/users/me/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 5);
    let current: Vec<_> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["current"] == true)
        .collect();
    assert_eq!(current.len(), 1);
    let other = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = Client::new()
        .delete(app.url(&format!("/api/v1/users/me/sessions/{other}")))
        .basic_auth("sam", Some(NEW_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let mine: Value = clients[0]
        .get(app.url("/api/v1/users/me/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 4);

    // Disabling the user ends every session at once.
    let (status, _) = call(
        &app,
        &admin_token,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(json!({"status": "disabled"})),
    )
    .await;
    assert_eq!(status, 200);
    for c in &clients {
        assert_eq!(
            c.get(app.url("/api/v1/users/me"))
                .send()
                .await
                .unwrap()
                .status(),
            401
        );
    }
    let (_, sessions) = call(
        &app,
        &admin_token,
        Method::GET,
        &format!("/api/v1/users/{id}/sessions"),
        None,
    )
    .await;
    assert_eq!(sessions["total"], 0);
    app.stop().await;
}

#[tokio::test]
async fn the_last_enabled_administrator_cannot_be_removed() {
    let app = TestApp::spawn().await;
    let admin_token = admin(&app).await;
    let (_, me) = call(&app, &admin_token, Method::GET, "/api/v1/users/me", None).await;
    let admin_id = me["id"].as_str().unwrap();
    let (status, body) = call(
        &app,
        &admin_token,
        Method::PATCH,
        &format!("/api/v1/users/{admin_id}"),
        Some(json!({"roles": ["auditor"]})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (403, Some("own_grants")),
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
        Some(json!({"roles": ["auditor"]})),
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

#[tokio::test]
async fn the_sessions_page_lists_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let url = app.url("/api/v1/auth/login");
    let mut clients = Vec::new();
    for _ in 0..2 {
        let c = Client::builder().cookie_store(true).build().unwrap();
        let res = c
            .post(&url)
            .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        clients.push(c);
    }
    let (other, me) = (&clients[0], &clients[1]);
    let page = me
        .get(app.url("/account/sessions"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("this session"));
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let action = page
        .split("action=\"/account/sessions/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    // Without the CSRF token the form is refused and nothing ends.
    let res = me
        .post(app.url(&format!("/account/sessions/{action}")))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        other
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let res = me
        .post(app.url(&format!("/account/sessions/{action}")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    assert_eq!(
        other
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        me.get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn the_console_edits_and_deletes_users() {
    let app = TestApp::spawn().await;
    let admin_token = admin(&app).await;
    let (id, token) = user_with_roles(&app, &admin_token, "eddy", &["operator"]).await;
    let console = Client::builder().cookie_store(true).build().unwrap();
    let res = console
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = console
        .get(app.url(&format!("/users/{id}/edit")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Edit eddy"));
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let form = [
        ("csrf", csrf.as_str()),
        ("display_name", "Eddy E"),
        ("email", ""),
        ("role", "auditor"),
        ("domain", "Default"),
    ];
    let res = console
        .post(app.url(&format!("/users/{id}/edit")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    let (_, user) = call(
        &app,
        &admin_token,
        Method::GET,
        &format!("/api/v1/users/{id}"),
        None,
    )
    .await;
    assert_eq!(
        (user["display_name"].as_str(), user["roles"].clone()),
        (Some("Eddy E"), json!(["auditor"]))
    );
    assert_eq!(
        call(&app, &token, Method::GET, "/api/v1/audit", None)
            .await
            .0,
        200,
        "the new role applies at once"
    );

    let forged = [("csrf", "nope")];
    let res = console
        .post(app.url(&format!("/users/{id}/delete")))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = console
        .post(app.url(&format!("/users/{id}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    assert_eq!(
        call(
            &app,
            &admin_token,
            Method::GET,
            &format!("/api/v1/users/{id}"),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        call(&app, &token, Method::GET, "/api/v1/users/me", None)
            .await
            .0,
        401,
        "a deleted user's tokens die with it"
    );
    app.stop().await;
}
