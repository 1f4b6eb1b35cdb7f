//! User managers grant only the roles and domains they hold, and never to themselves.

use super::super::change_secret::admin;
use super::super::support::{call, error_code, ok, ok_as, user, USER_PASSWORD};
use super::{audit_text, my_id};
use reqwest::Method;
use serde_json::json;
use tumbler_api_types::auth::MeOut;
use tumbler_api_types::domains::DomainOut;
use tumbler_api_types::users::CreatedUserOut;
use tumbler_api_types::Page;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};

/// The names of the domains `token` may list.
async fn domain_names(app: &TestApp, token: &str) -> Vec<String> {
    let page: Page<DomainOut> = ok_as(app, token, Method::GET, "/api/v1/domains", None, 200).await;
    page.items.into_iter().map(|d| d.name).collect()
}

#[tokio::test]
async fn user_managers_grant_only_what_they_hold_and_never_to_themselves() {
    let app = TestApp::spawn().await;
    let admin = admin(&app).await;
    ok(
        &app,
        &admin,
        Method::POST,
        "/api/v1/roles",
        Some(json!({"name": "usermgr", "description": "", "permissions": ["users_read", "users_manage"]})),
        201,
    )
    .await;
    // The administrator creates a domain and so belongs to it.
    ok(
        &app,
        &admin,
        Method::POST,
        "/api/v1/domains",
        Some(json!({"name": "Secret"})),
        201,
    )
    .await;
    let me: MeOut = ok_as(&app, &admin, Method::GET, "/api/v1/users/me", None, 200).await;
    assert_eq!(me.domains, ["Default", "Secret"]);
    let admin_id = me.user.id;
    let ursula = user(&app, &admin, "ursula", &["usermgr"], &["Default"]).await;
    let ursula_id = my_id(&app, &ursula).await;

    // Roles that allow more than she holds, and domains she is not in, are refused.
    for (roles, domains, code) in [
        (json!(["admin"]), json!(["Default"]), "role_not_held"),
        (json!(["operator"]), json!(["Default"]), "role_not_held"),
        (json!(["usermgr"]), json!(["Secret"]), "domain_not_held"),
    ] {
        let (status, body) = call(
            &app,
            &ursula,
            Method::POST,
            "/api/v1/users",
            Some(json!({"username": "mallory", "roles": roles, "domains": domains})),
        )
        .await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (403, code),
            "{roles} {domains}: {body}"
        );
    }
    let created: CreatedUserOut = ok_as(
        &app,
        &ursula,
        Method::POST,
        "/api/v1/users",
        Some(json!({"username": "mallory", "roles": ["usermgr"], "domains": ["Default"], "current_password": USER_PASSWORD})),
        201,
    )
    .await;
    let mallory_id = created.user.user.id;
    for body in [
        json!({"roles": ["admin"]}),
        json!({"roles": ["usermgr", "auditor"]}),
    ] {
        let (status, out) = call(
            &app,
            &ursula,
            Method::PATCH,
            &format!("/api/v1/users/{mallory_id}"),
            Some(body),
        )
        .await;
        assert_eq!((status, error_code(&out).as_str()), (403, "role_not_held"));
    }
    let (status, out) = call(
        &app,
        &ursula,
        Method::PATCH,
        &format!("/api/v1/users/{mallory_id}"),
        Some(json!({"domains": ["Default", "Secret"]})),
    )
    .await;
    assert_eq!(
        (status, error_code(&out).as_str()),
        (403, "domain_not_held")
    );
    // Nobody changes their own roles or domains, not even an administrator.
    for (token, id, body) in [
        (&ursula, &ursula_id, json!({"roles": ["admin"]})),
        (
            &ursula,
            &ursula_id,
            json!({"domains": ["Default", "Secret"]}),
        ),
        (&admin, &admin_id, json!({"domains": ["Default"]})),
        (&admin, &admin_id, json!({"roles": ["admin", "auditor"]})),
    ] {
        let (status, out) = call(
            &app,
            token,
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(body),
        )
        .await;
        assert_eq!((status, error_code(&out).as_str()), (403, "own_grants"));
    }
    // Unchanged roles and domains may be sent back with other changes.
    ok(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/users/{admin_id}"),
        Some(json!({"roles": ["admin"], "domains": ["Secret", "Default"]})),
        200,
    )
    .await;
    // The administrator may grant both; the audit names old and new.
    ok(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/users/{mallory_id}"),
        Some(json!({"roles": ["usermgr", "auditor"], "domains": ["Default", "Secret"], "current_password": ADMIN_PASSWORD})),
        200,
    )
    .await;
    let audit = audit_text(&app, &admin).await;
    assert!(
        audit.contains("roles=usermgr -> usermgr,auditor"),
        "{audit}"
    );
    assert!(
        audit.contains("domains=Default -> Default,Secret"),
        "{audit}"
    );

    // Domain names are not revealed to whoever may not manage users.
    let aldo = user(&app, &admin, "aldo", &["auditor"], &["Default"]).await;
    assert_eq!(domain_names(&app, &aldo).await, ["Default"]);
    let users = ok(
        &app,
        &aldo,
        Method::GET,
        "/api/v1/users?limit=100",
        None,
        200,
    )
    .await;
    // The raw answer: the name must appear in no field at all.
    assert!(!users.to_string().contains("Secret"), "{users}");
    assert_eq!(domain_names(&app, &ursula).await, ["Default", "Secret"]);
    for domains in [json!(["Secret"]), json!(["Nowhere"])] {
        let (status, out) = call(
            &app,
            &aldo,
            Method::PATCH,
            &format!("/api/v1/users/{mallory_id}"),
            Some(json!({"domains": domains})),
        )
        .await;
        assert_eq!(
            (status, error_code(&out).as_str()),
            (403, "forbidden"),
            "the same answer whether the domain exists or not"
        );
    }
    app.stop().await;
}
