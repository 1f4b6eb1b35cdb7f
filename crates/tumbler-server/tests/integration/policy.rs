//! The password policy over the API: each rule's refusal, history, the comma, the blocklist,
//! other sessions after a change, a tightened policy, expiry with its warning, lockout on a
//! wrong current password. Time comes from an injected clock.

mod console;
mod expiry;
mod rules;
mod sessions;

use super::support::typed;
use reqwest::Client;
use serde_json::{json, Value};
use tumbler_api_types::auth::LoginResponse;
use tumbler_api_types::settings::{PolicyBody, PolicyViolation};
use tumbler_api_types::ErrorAnswer;
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

/// The password policy as the caller reads it (an administrator: every field).
async fn get_policy(app: &TestApp, token: &str) -> PolicyBody {
    let res = Client::new()
        .get(app.url("/api/v1/settings/password-policy"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    typed(res.json().await.unwrap())
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
    if status == 204 {
        return (status, Vec::new());
    }
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let violations = typed::<ErrorAnswer>(body)
        .error
        .details
        .and_then(|d| d.more.get("violations").cloned());
    let codes = violations
        .map(|v| {
            typed::<Vec<PolicyViolation>>(v)
                .into_iter()
                .map(|v| v.code)
                .collect()
        })
        .unwrap_or_default();
    (status, codes)
}

async fn login(app: &TestApp, client: &Client, password: &str) -> LoginResponse {
    let res = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    typed(res.json().await.unwrap())
}
