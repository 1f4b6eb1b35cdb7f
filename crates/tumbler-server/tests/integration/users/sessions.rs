//! Sessions are limited, listed and revocable, over the API and on the console's sessions page.

use super::super::support::{error_code, typed};
use super::{admin, call, user_with_roles, NEW_PASSWORD};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use tumbler_api_types::users::SessionOut;
use tumbler_api_types::Page;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};

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
        error_code(&sixth.json::<Value>().await.unwrap()),
        "session_limit_reached"
    );

    // Each session sees the list and which one it is; it can end another.
    let mine = sessions(&app, &clients[0]).await;
    assert_eq!(mine.total, 5);
    let current: Vec<_> = mine.items.iter().filter(|s| s.current).collect();
    assert_eq!(current.len(), 1);
    let other = mine.items.iter().find(|s| !s.current).unwrap().id.clone();
    let res = Client::new()
        .delete(app.url(&format!("/api/v1/users/me/sessions/{other}")))
        .basic_auth("sam", Some(NEW_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let mine = sessions(&app, &clients[0]).await;
    assert_eq!(mine.total, 4);

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
    assert_eq!(typed::<Page<SessionOut>>(sessions).total, 0);
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

/// The sessions of the user signed in on `client`.
async fn sessions(app: &TestApp, client: &Client) -> Page<SessionOut> {
    client
        .get(app.url("/api/v1/users/me/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
