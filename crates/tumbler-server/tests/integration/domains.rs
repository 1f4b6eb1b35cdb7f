//! Domains: the default domain, assignment, the active domain per session, object visibility.

use super::support::{error_code, typed};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use tumbler_api_types::auth::{LoginResponse, MeOut};
use tumbler_api_types::domains::DomainOut;
use tumbler_api_types::users::CreatedUserOut;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};

async fn call(
    app: &TestApp,
    client: &Client,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client.request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn users_work_in_one_active_domain_or_all_of_theirs() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let admin = app.admin_token().await;
    let c = Client::new();
    let (_, me) = call(
        &app,
        &c,
        Some(&admin),
        Method::GET,
        "/api/v1/users/me",
        None,
    )
    .await;
    assert_eq!(
        typed::<MeOut>(me).domains,
        ["Default"],
        "the first administrator is in the default domain"
    );

    let (status, prod) = call(
        &app,
        &c,
        Some(&admin),
        Method::POST,
        "/api/v1/domains",
        Some(json!({"name": "Prod"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, dup) = call(
        &app,
        &c,
        Some(&admin),
        Method::POST,
        "/api/v1/domains",
        Some(json!({"name": "Prod"})),
    )
    .await;
    assert_eq!((status, error_code(&dup).as_str()), (409, "domain_exists"));
    let (status, bad) = call(
        &app,
        &c,
        Some(&admin),
        Method::POST,
        "/api/v1/users",
        Some(json!({"username": "x", "domains": ["Nope"]})),
    )
    .await;
    assert_eq!((status, error_code(&bad).as_str()), (400, "unknown_domain"));

    let (status, created) = call(
        &app,
        &c,
        Some(&admin),
        Method::POST,
        "/api/v1/users",
        Some(json!({"username": "dora", "roles": ["operator"], "domains": ["Prod", "Default"], "current_password": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, 201);
    let created: CreatedUserOut = typed(created);
    assert_eq!(created.user.domains, ["Default", "Prod"]);
    let temp = created.temporary_password.as_deref().unwrap();
    let pw = "Operator-Passphrase-Long-3";
    let res = c
        .post(app.url("/api/v1/users/me/password"))
        .basic_auth("dora", Some(temp))
        .json(&json!({"old_password": temp, "new_password": pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);

    let session = Client::builder().cookie_store(true).build().unwrap();
    let (status, login) = call(
        &app,
        &session,
        None,
        Method::POST,
        "/api/v1/auth/login",
        Some(json!({"username": "dora", "password": pw})),
    )
    .await;
    assert_eq!(status, 200);
    let csrf = typed::<LoginResponse>(login).csrf_token;
    let me = |s: &Client| {
        let s = s.clone();
        let url = app.url("/api/v1/users/me");
        async move {
            s.get(url)
                .send()
                .await
                .unwrap()
                .json::<MeOut>()
                .await
                .unwrap()
        }
    };
    let m = me(&session).await;
    assert_eq!(
        (m.active_domain.as_deref(), m.visible_domains),
        (Some("Default"), vec!["Default".to_owned()])
    );

    let put = |path: &'static str, body: Value| {
        session
            .put(app.url(path))
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };
    assert_eq!(
        put("/api/v1/users/me/active-domain", json!({"domain": "Prod"}))
            .await
            .unwrap()
            .status(),
        204
    );
    let m = me(&session).await;
    assert_eq!(
        (m.active_domain.as_deref(), m.visible_domains),
        (Some("Prod"), vec!["Prod".to_owned()])
    );
    let res = put(
        "/api/v1/users/me/active-domain",
        json!({"domain": "Elsewhere"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        put(
            "/api/v1/users/me/object-visibility",
            json!({"all_domains": true})
        )
        .await
        .unwrap()
        .status(),
        204
    );
    let m = me(&session).await;
    assert_eq!(m.visible_domains, ["Default", "Prod"]);

    // A domain with members cannot be deleted; an empty one can.
    let prod_id = typed::<DomainOut>(prod).id;
    let (status, _) = call(
        &app,
        &c,
        Some(&admin),
        Method::DELETE,
        &format!("/api/v1/domains/{prod_id}"),
        None,
    )
    .await;
    assert_eq!(status, 409);
    let (_, empty) = call(
        &app,
        &c,
        Some(&admin),
        Method::POST,
        "/api/v1/domains",
        Some(json!({"name": "Empty"})),
    )
    .await;
    let (status, _) = call(
        &app,
        &c,
        Some(&admin),
        Method::DELETE,
        &format!("/api/v1/domains/{}", typed::<DomainOut>(empty).id),
        None,
    )
    .await;
    assert_eq!(status, 204);
    app.stop().await;
}
