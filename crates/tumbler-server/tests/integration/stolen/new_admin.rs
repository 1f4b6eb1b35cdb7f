//! A stolen administrator's session or token cannot turn into lasting access through a user:
//! creating a user (who would then log in with the temporary password shown), changing a
//! user's roles, adding a domain, or enabling a disabled user needs the current password or a
//! fresh code.

use super::super::support::{audit_events, call, error_code, ok, ok_as, typed};
use reqwest::Method;
use serde_json::{json, Value};
use tumbler_api_types::users::{CreatedUserOut, UserOut};
use tumbler_api_types::Page;
use tumbler_domain::user::UserStatus;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};

/// Users named `name` (exactly).
async fn named(app: &TestApp, token: &str, name: &str) -> Vec<UserOut> {
    let page: Page<UserOut> = ok_as(
        app,
        token,
        Method::GET,
        &format!("/api/v1/users?q={name}"),
        None,
        200,
    )
    .await;
    page.items
        .into_iter()
        .filter(|u| u.user.username == name)
        .collect()
}

#[tokio::test]
async fn a_stolen_session_or_token_cannot_create_an_administrator_without_reauthentication() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let (session, csrf) = super::session(&app, None).await;
    let new_admin = json!({"username": "mallory", "roles": ["admin"]});
    let created_before = audit_events(&app, &token, "user.create")
        .await
        .iter()
        .filter(|e| e.outcome == "success")
        .count();

    // The session cookie alone.
    let res = session
        .post(app.url("/api/v1/users"))
        .header("x-csrf-token", &csrf)
        .json(&new_admin)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (status, error_code(&body).as_str()),
        (403, "reauthentication_required"),
        "{body}"
    );
    // The token alone, or with a guessed password.
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/users",
        Some(new_admin.clone()),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (403, "reauthentication_required"),
        "{body}"
    );
    let mut guessed = new_admin.clone();
    guessed["current_password"] = json!("Guessed-Password-1");
    let (status, body) = call(&app, &token, Method::POST, "/api/v1/users", Some(guessed)).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (401, "wrong_current_password"),
        "{body}"
    );
    assert!(
        named(&app, &token, "mallory").await.is_empty(),
        "no user was created"
    );
    let creations = audit_events(&app, &token, "user.create").await;
    assert_eq!(
        creations.iter().filter(|e| e.outcome == "success").count(),
        created_before,
        "no creation is audited as done"
    );
    assert!(
        creations
            .iter()
            .any(|e| e.outcome == "failure" && e.detail.contains("wrong_current_password")),
        "the wrong password is audited"
    );

    // With the current password, the same session creates the user.
    let mut proven = new_admin.clone();
    proven["current_password"] = json!(ADMIN_PASSWORD);
    let res = session
        .post(app.url("/api/v1/users"))
        .header("x-csrf-token", &csrf)
        .json(&proven)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: CreatedUserOut = res.json().await.unwrap();
    assert_eq!(created.user.user.roles, ["admin"]);
    assert!(created.temporary_password.is_some());
    assert_eq!(named(&app, &token, "mallory").await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_fresh_code_stands_for_the_password_when_creating_a_user() {
    let (app, _clock, token, totp) = super::admin_with_totp(|_| {}).await;
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/users",
        Some(json!({"username": "olga", "roles": ["admin"], "totp": "000000"})),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert!(named(&app, &token, "olga").await.is_empty());
    ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/users",
        Some(json!({"username": "olga", "roles": ["admin"], "totp": totp.fresh_code()})),
        201,
    )
    .await;
    assert_eq!(named(&app, &token, "olga").await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_stolen_token_cannot_grant_roles_add_domains_or_enable_a_user_without_reauthentication() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/domains",
        Some(json!({"name": "Prod"})),
        201,
    )
    .await;
    let created: CreatedUserOut = typed(
        ok(
            &app,
            &token,
            Method::POST,
            "/api/v1/users",
            Some(json!({"username": "bob", "roles": ["operator"], "current_password": ADMIN_PASSWORD})),
            201,
        )
        .await,
    );
    let bob = format!("/api/v1/users/{}", created.user.user.id);
    let refused = |body: Value| {
        let app = &app;
        let token = &token;
        let bob = &bob;
        async move {
            let (status, answer) = call(app, token, Method::PATCH, bob, Some(body.clone())).await;
            assert_eq!(
                (status, error_code(&answer).as_str()),
                (403, "reauthentication_required"),
                "{body}: {answer}"
            );
        }
    };
    // Granting a role, removing one, adding a domain: refused without proof, nothing changed.
    refused(json!({"roles": ["operator", "admin"]})).await;
    refused(json!({"roles": []})).await;
    refused(json!({"domains": ["Default", "Prod"]})).await;
    let (status, answer) = call(
        &app,
        &token,
        Method::PATCH,
        &bob,
        Some(json!({"roles": ["admin"], "current_password": "Guessed-Password-1"})),
    )
    .await;
    assert_eq!(
        (status, error_code(&answer).as_str()),
        (401, "wrong_current_password")
    );
    let now: UserOut = ok_as(&app, &token, Method::GET, &bob, None, 200).await;
    assert_eq!(now.user.roles, ["operator"]);
    assert_eq!(now.domains, ["Default"]);

    // What gives no access needs no proof: a name, disabling.
    ok(
        &app,
        &token,
        Method::PATCH,
        &bob,
        Some(json!({"display_name": "Bob B", "status": "disabled"})),
        200,
    )
    .await;
    // Enabling a disabled user again gives access back: refused without proof.
    refused(json!({"status": "enabled"})).await;
    let now: UserOut = ok_as(&app, &token, Method::GET, &bob, None, 200).await;
    assert_eq!(now.user.status, UserStatus::Disabled);

    // With the current password, each goes through.
    let done: UserOut = ok_as(
        &app,
        &token,
        Method::PATCH,
        &bob,
        Some(json!({
            "roles": ["operator", "admin"],
            "domains": ["Default", "Prod"],
            "status": "enabled",
            "current_password": ADMIN_PASSWORD,
        })),
        200,
    )
    .await;
    let mut roles = done.user.roles.clone();
    roles.sort();
    assert_eq!(roles, ["admin", "operator"]);
    assert_eq!(done.domains, ["Default", "Prod"]);
    assert_eq!(done.user.status, UserStatus::Enabled);
    app.stop().await;
}
