//! The password policy over the API: each rule's refusal, history, the comma, the blocklist,
//! other sessions after a change, a tightened policy, expiry with its warning, lockout on a
//! wrong current password. Time comes from an injected clock.

mod console;
mod expiry;
mod rules;
mod sessions;

use reqwest::Client;
use serde_json::{json, Value};
use tumbler_testkit::app::TestApp;

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
