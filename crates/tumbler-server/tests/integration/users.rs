//! Users and access: role boundaries on every kind of endpoint, temporary passwords, lockout
//! and unlock, throttling per address, session limits and revocation.

mod banner;
mod console;
mod filters;
mod last_admin;
mod lockout;
mod roles;
mod sessions;
mod temporary_passwords;

use super::support::typed;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use tumbler_api_types::users::{CreatedToken, CreatedUserOut};
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};

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
        Some(json!({"username": name, "roles": roles, "current_password": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let created: CreatedUserOut = typed(body);
    let temp = created.temporary_password.expect("a temporary password");
    let id = created.user.user.id;
    let res = Client::new()
        .post(app.url("/api/v1/users/me/password"))
        .basic_auth(name, Some(&temp))
        .json(&json!({"old_password": temp, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res: CreatedToken = Client::new()
        .post(app.url("/api/v1/users/me/tokens"))
        .basic_auth(name, Some(NEW_PASSWORD))
        .json(&json!({"name": "t"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (id, res.token)
}
